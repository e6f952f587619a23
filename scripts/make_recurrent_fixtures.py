#!/usr/bin/python3
"""Generate the PyTorch fixtures of the Recurrent layer in test/fixtures/recurrent/.

Each case builds one torch.nn.LSTM / nn.GRU / nn.RNN (nonlinearity tanh or
relu) with input_size D, hidden_size H, num_layers L, bidirectional or not,
dropout 0, batch_first=False and PyTorch's default initialisation under
torch.manual_seed(seed_of(case)), and runs it on a variable-length batch:

  packed = pack_padded_sequence(x, lengths, enforce_sorted=False)
  out_packed, state = rnn(packed, state0)        # state0: (h0, c0), h0 or None
  output, _ = pad_packed_sequence(out_packed, total_length=T)   # [T, B, dirs*H]
  loss = sum(output * dOutput) + sum(hN * dhN) (+ sum(cN * dcN) for the LSTM)
  loss.backward()

x is [T, B, D] with N(0, 1) entries at the valid positions (t < lengths[b])
and large garbage at the padded ones (GARBAGE * N(0, 1), 1e3 or 1e6), so that
a padded input read anywhere shows. lengths are unsorted and max(lengths) may
be below T. dOutput is random at every position, padded ones included (they
must be ignored: output there is the constant 0). Zero-length sequences are
not possible (pack_padded_sequence refuses them).

Each file, recurrent/<case>.safetensors, holds F32 tensors in this order: the
module's state_dict under its PyTorch names (weight_ih_l<k>, weight_hh_l<k>,
bias_ih_l<k>, bias_hh_l<k>, then the same with the suffix _reverse when
bidirectional, layer by layer), x, h0, c0 (cases with an initial state; c0 only
for the LSTM), dOutput, dhN, dcN (LSTM), output, hN, cN (LSTM),
grad.<parameter> for every parameter, grad.x, grad.h0, grad.c0 (cases with an
initial state). Metadata key "fixture": JSON {case, seed, cell, input_size,
hidden_size, num_layers, bidirectional, steps, batch, lengths, has_h0,
garbage, torch_version}.

Float32 on the CPU with one thread: reruns give identical bytes. After
writing, the script reloads every file, rebuilds the module from its tensors,
recomputes every tensor (must be equal), checks that output and grad.x are
exactly zero at padded positions and that hN is the output at each sequence's
last valid step (forward direction) and at t = 0 (reverse direction), and
prints how far the float32 results are from the same computation in float64.

    /usr/bin/python3 scripts/make_recurrent_fixtures.py           # write + check
    /usr/bin/python3 scripts/make_recurrent_fixtures.py --check   # check only
"""
import json
import os
import sys

sys.dont_write_bytecode = True

from fixture_io import REPO, read_tensors, seed_of, start, write_safetensors  # noqa: E402

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence  # noqa: E402

OUT_DIR = os.path.join(REPO, "test", "fixtures", "recurrent")
CELLS = ("lstm", "gru", "rnn_tanh", "rnn_relu")
MAX_F32_ERROR = 1e-5  # max |float32 - float64| / max |float64| over every stored result

# name, cell, D, H, L, bidirectional, T, lengths (B entries), initial state, garbage scale
CASES = [
    # every cell, 1 layer, unidirectional, unsorted lengths
    ("lstm_l1", "lstm", 5, 7, 1, False, 8, [5, 8, 2, 6], False, 1e3),
    ("gru_l1", "gru", 6, 8, 1, False, 7, [3, 7, 5], True, 1e3),
    ("rnn_tanh_l1", "rnn_tanh", 4, 6, 1, False, 9, [9, 4, 1, 7, 3], True, 1e3),
    ("rnn_relu_l1", "rnn_relu", 6, 5, 1, False, 8, [2, 8, 5, 6], False, 1e3),
    # every cell, 1 layer, bidirectional
    ("lstm_bi_l1", "lstm", 5, 6, 1, True, 7, [4, 7, 1, 5], True, 1e3),
    ("gru_bi_l1", "gru", 7, 5, 1, True, 8, [6, 2, 8, 3, 5], False, 1e3),
    ("rnn_tanh_bi_l1", "rnn_tanh", 3, 8, 1, True, 6, [2, 6, 4], True, 1e3),
    ("rnn_relu_bi_l1", "rnn_relu", 6, 6, 1, True, 7, [5, 3, 7, 1], False, 1e3),  # D = H
    # deeper bidirectional stacks
    ("lstm_bi_l2", "lstm", 6, 8, 2, True, 9, [7, 9, 3, 5], True, 1e3),
    ("lstm_bi_l3", "lstm", 4, 6, 3, True, 8, [3, 8, 6, 2, 7], False, 1e3),
    ("gru_bi_l2", "gru", 5, 7, 2, True, 8, [4, 8, 6], False, 1e3),
    ("gru_bi_l3", "gru", 8, 6, 3, True, 7, [7, 2, 5, 4], True, 1e3),
    ("rnn_tanh_bi_l2", "rnn_tanh", 5, 6, 2, True, 8, [8, 3, 6, 5], True, 1e3),
    # uniform lengths (all = T): no padding at all
    ("lstm_uniform_bi_l1", "lstm", 6, 8, 1, True, 6, [6, 6, 6], True, 1e3),
    ("gru_uniform_l2", "gru", 5, 6, 2, False, 7, [7, 7, 7, 7], False, 1e3),
    # every sequence of length 1 (T = 3: two trailing all-padding steps)
    ("lstm_len1_bi_l2", "lstm", 4, 5, 2, True, 3, [1, 1, 1, 1], True, 1e3),
    # one sequence of length 1 among longer ones, bidirectional
    ("gru_one_short_bi_l2", "gru", 6, 7, 2, True, 9, [9, 1, 6, 4, 8], True, 1e3),
    # max(lengths) < T: trailing all-padding steps, huge garbage
    ("lstm_trailing_pad_bi_l1", "lstm", 5, 6, 1, True, 12, [5, 8, 3], True, 1e6),
    ("rnn_relu_trailing_pad_l2", "rnn_relu", 6, 8, 2, False, 10, [4, 7, 2, 6, 5, 3], False, 1e3),
    # B = 1
    ("lstm_b1_l2", "lstm", 7, 9, 2, False, 10, [8], True, 1e3),
    ("gru_b1_bi_l1", "gru", 4, 5, 1, True, 6, [6], False, 1e3),
    # D = 1, and the largest sizes allowed
    ("gru_d1_bi_l1", "gru", 1, 6, 1, True, 8, [5, 8, 2, 7], True, 1e3),
    ("lstm_big_bi_l2", "lstm", 12, 16, 2, True, 12, [12, 5, 9, 1, 11, 7], True, 1e3),
]


def build(cell, D, H, L, bidirectional):
    kw = dict(input_size=D, hidden_size=H, num_layers=L, bias=True, batch_first=False,
              dropout=0.0, bidirectional=bidirectional)
    if cell == "lstm":
        return nn.LSTM(**kw)
    if cell == "gru":
        return nn.GRU(**kw)
    return nn.RNN(nonlinearity=cell[4:], **kw)


def padding_mask(lengths, T):
    """[T, B] bool, True at padded positions (t >= lengths[b])."""
    return torch.arange(T)[:, None] >= torch.tensor(lengths)[None, :]


def compute(model, cell, inputs, lengths):
    """Forward + backward on the packed batch; inputs: x, h0, c0 (optional),
    dOutput, dhN, dcN (LSTM). Returns output, hN, cN and every gradient."""
    lstm = cell == "lstm"
    dtype = next(model.parameters()).dtype
    model.zero_grad(set_to_none=True)
    x = inputs["x"].detach().to(dtype).clone().requires_grad_(True)
    leaves = {"x": x}
    state0 = None
    if "h0" in inputs:
        for k in ("h0", "c0") if lstm else ("h0",):
            leaves[k] = inputs[k].detach().to(dtype).clone().requires_grad_(True)
        state0 = (leaves["h0"], leaves["c0"]) if lstm else leaves["h0"]
    T = x.shape[0]
    packed = pack_padded_sequence(x, lengths, batch_first=False, enforce_sorted=False)
    out_packed, stateN = model(packed, state0)
    output, _ = pad_packed_sequence(out_packed, batch_first=False, total_length=T)
    hN, cN = stateN if lstm else (stateN, None)
    loss = (output * inputs["dOutput"].to(dtype)).sum() + (hN * inputs["dhN"].to(dtype)).sum()
    if lstm:
        loss = loss + (cN * inputs["dcN"].to(dtype)).sum()
    loss.backward()
    out = {"output": output, "hN": hN}
    if lstm:
        out["cN"] = cN
    for name, p in model.named_parameters():
        out[f"grad.{name}"] = p.grad
    for k, leaf in leaves.items():
        out[f"grad.{k}"] = leaf.grad
    return {k: v.detach() for k, v in out.items()}


def make_inputs(cell, D, H, L, bidirectional, T, lengths, with_state, garbage):
    """Random inputs, drawn after the weights from the same seeded generator."""
    B, dirs, lstm = len(lengths), 2 if bidirectional else 1, cell == "lstm"
    pad = padding_mask(lengths, T)[:, :, None]
    x = torch.where(pad, garbage * torch.randn(T, B, D), torch.randn(T, B, D))
    inputs = {"x": x}
    if with_state:
        inputs["h0"] = 0.5 * torch.randn(L * dirs, B, H)
        if lstm:
            inputs["c0"] = 0.5 * torch.randn(L * dirs, B, H)
    inputs["dOutput"] = torch.randn(T, B, dirs * H)
    inputs["dhN"] = torch.randn(L * dirs, B, H)
    if lstm:
        inputs["dcN"] = torch.randn(L * dirs, B, H)
    return inputs


def max_rel_error(a, b):
    """max |a - b| / max |b| over tensors (b in float64)."""
    return max(((a[k].double() - v).abs().max() / v.abs().max().clamp_min(1e-30)).item()
               for k, v in b.items())


def make_case(case):
    name, cell, D, H, L, bidirectional, T, lengths, with_state, garbage = case
    assert cell in CELLS and H <= 16 and D <= 12 and T <= 12 and len(lengths) <= 6
    assert all(1 <= n <= T for n in lengths)
    seed = seed_of(name)
    torch.manual_seed(seed)
    model = build(cell, D, H, L, bidirectional)
    inputs = make_inputs(cell, D, H, L, bidirectional, T, lengths, with_state, garbage)
    out = compute(model, cell, inputs, lengths)
    tensors = {k: v.detach().clone() for k, v in model.state_dict().items()}
    assert list(tensors) == [n for n, _ in model.named_parameters()]
    tensors.update(inputs)
    tensors.update(out)
    meta = {"case": name, "seed": seed, "cell": cell, "input_size": D, "hidden_size": H,
            "num_layers": L, "bidirectional": bidirectional, "steps": T, "batch": len(lengths),
            "lengths": lengths, "has_h0": with_state, "garbage": garbage,
            "torch_version": torch.__version__}
    path = os.path.join(OUT_DIR, f"{name}.safetensors")
    write_safetensors(path, tensors, {"fixture": json.dumps(meta)})
    return path


def check(path):
    """Reload a file, recompute it, check the padding and the final state; returns
    the max relative distance of the stored results from a float64 recomputation."""
    tensors, meta = read_tensors(path)
    fx = json.loads(meta["fixture"])
    assert set(meta) == {"fixture"}, path
    cell, D, H, L = fx["cell"], fx["input_size"], fx["hidden_size"], fx["num_layers"]
    T, B, lengths, bi = fx["steps"], fx["batch"], fx["lengths"], fx["bidirectional"]
    dirs, lstm = 2 if bi else 1, cell == "lstm"
    assert fx["case"] == os.path.basename(path)[:-len(".safetensors")]
    assert fx["seed"] == seed_of(fx["case"]) and len(lengths) == B
    model = build(cell, D, H, L, bi)
    pnames = [n for n, _ in model.named_parameters()]
    model.load_state_dict({n: tensors[n] for n in pnames})
    input_names = ["x"] + (["h0", "c0"] if lstm else ["h0"]) * fx["has_h0"] \
        + ["dOutput", "dhN"] + (["dcN"] if lstm else [])
    result_names = ["output", "hN"] + (["cN"] if lstm else []) + [f"grad.{n}" for n in pnames] \
        + ["grad.x"] + (["grad.h0", "grad.c0"] if lstm else ["grad.h0"]) * fx["has_h0"]
    assert list(tensors) == pnames + input_names + result_names, (path, list(tensors))
    state = (L * dirs, B, H)
    shapes = {"x": (T, B, D), "h0": state, "c0": state, "dOutput": (T, B, dirs * H),
              "dhN": state, "dcN": state, "output": (T, B, dirs * H), "hN": state, "cN": state,
              "grad.x": (T, B, D), "grad.h0": state, "grad.c0": state}
    for k, shape in shapes.items():
        if k in tensors:
            assert tuple(tensors[k].shape) == shape, (path, k, tensors[k].shape)
    for n in pnames:
        assert tensors[f"grad.{n}"].shape == tensors[n].shape
    inputs = {k: tensors[k] for k in input_names}
    again = compute(model, cell, inputs, lengths)
    assert list(again) == result_names
    for k, v in again.items():
        assert torch.equal(v, tensors[k]), (path, k)
    # padding: output and grad.x exactly 0 there; garbage in x and random dOutput there
    pad = padding_mask(lengths, T)
    assert torch.all(tensors["output"][pad] == 0), path
    assert torch.all(tensors["grad.x"][pad] == 0), path
    assert torch.all(torch.isfinite(tensors["x"])), path
    if pad.any():
        assert tensors["x"][pad].abs().max() > 0.1 * fx["garbage"], path
        assert torch.all(tensors["dOutput"][pad] != 0), path
    # hN of the last layer: output at t = lengths[b] - 1 (forward), at t = 0 (reverse)
    out, hN = tensors["output"], tensors["hN"]
    for b, n in enumerate(lengths):
        assert torch.equal(hN[(L - 1) * dirs, b], out[n - 1, b, :H]), (path, b)
        if bi:
            assert torch.equal(hN[(L - 1) * dirs + 1, b], out[0, b, H:]), (path, b)
    # float32 against float64
    m64 = build(cell, D, H, L, bi).double()
    m64.load_state_dict({n: tensors[n].double() for n in pnames})
    err = max_rel_error(again, compute(m64, cell, inputs, lengths))
    assert err <= MAX_F32_ERROR, (path, err)
    return fx, err


def main():
    only_check = "--check" in sys.argv[1:]
    start(OUT_DIR)
    names = [case[0] for case in CASES]
    assert len(set(names)) == len(names)
    if not only_check:
        for case in CASES:
            make_case(case)
    present = sorted(f for f in os.listdir(OUT_DIR) if f.endswith(".safetensors"))
    assert present == sorted(f"{n}.safetensors" for n in names), present
    total = 0
    for name in names:
        path = os.path.join(OUT_DIR, f"{name}.safetensors")
        fx, err = check(path)
        size = os.path.getsize(path)
        total += size
        print(f"{os.path.relpath(path, REPO)}  {size:6d} bytes  {fx['cell']:8s} "
              f"D={fx['input_size']:2d} H={fx['hidden_size']:2d} L={fx['num_layers']} "
              f"bi={int(fx['bidirectional'])} T={fx['steps']:2d} lengths={fx['lengths']} "
              f"h0={int(fx['has_h0'])}  max rel |float32 - float64| {err:.1e}")
    print(f"{len(names)} files, total {total} bytes, torch {torch.__version__}: "
          f"{'checked' if only_check else 'written and checked'}")


if __name__ == "__main__":
    main()
