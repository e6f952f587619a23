#!/usr/bin/python3
"""Generate the PyTorch fixtures of layer-normalised cells in test/fixtures/ln/.

The model is rnnkit's CharLM with config layer_norm = true (Ba, Kiros & Hinton
2016), written here with explicit time loops and torch.nn.functional.layer_norm
(LN over the last dimension, biased variance, eps 1e-5):

  a_t = LN(W_ih x_t; g_ih, b_ih') + b_ih + LN(W_hh h_{t-1}; g_hh, b_hh') + b_hh
  rnn_tanh / rnn_relu:  h_t = f(a_t)
  lstm (gates i, f, g, o):  c_t = f * c_{t-1} + i * g;  h_t = o * tanh(LN(c_t; g_c, b_c'))
  gru (PyTorch's form, r, z, n):  gi = LN(W_ih x) + b_ih, gh = LN(W_hh h) + b_hh;
      r, z = sigmoid(gi + gh) (first two thirds); n = tanh(gi_n + r * gh_n);
      h_t = (1 - z) * n + z * h_{t-1}

embedding -> L such layers -> linear head, mean cross-entropy. Parameter names
are rnnkit's: the reference names (embedding.weight, rnn.weight_ih_l<k>,
rnn.weight_hh_l<k>, rnn.bias_ih_l<k>, rnn.bias_hh_l<k>, head.weight,
head.bias) plus rnn.ln_ih_weight_l<k>, rnn.ln_ih_bias_l<k>,
rnn.ln_hh_weight_l<k>, rnn.ln_hh_bias_l<k> (G*H each) and, for the LSTM,
rnn.ln_c_weight_l<k>, rnn.ln_c_bias_l<k> (H each).

Weights: PyTorch's default initialisation of the reference CharLM (embedding
N(0, 1), recurrent weights and biases U(-1/sqrt(H), 1/sqrt(H)), nn.Linear's
head) under torch.manual_seed(seed), then the layer-norm gains 0.7 + 0.1 N(0, 1)
and biases 0.1 N(0, 1), so that gains and biases are not the identity.

Why gains below 1: LN rescales W_hh h to unit variance whatever the size of h,
which makes these randomly initialised recurrences sensitive to rounding. With
gains around 1, PyTorch's own float32 results were up to 2e-4 (relative to
each tensor's largest magnitude) away from the same computation in float64 on
some seeds (LSTM, 150 steps), ten times the tolerance a float32
reimplementation is tested at; around 0.7 they stay within 5e-6. The script
reruns every case in float64 and refuses to write a case whose float32 results
are further than MAX_F32_ERROR from it.

Each file has make_fixtures.py's layout (tensors fixture.ids, fixture.logits,
fixture.loss, fixture.grad.<name>, fixture.h0/c0 and their gradients where the
case has an initial state, fixture.hT/cT), metadata config with
"layer_norm": true. Float32 on the CPU with one thread: reruns give identical
bytes. The script also reruns every case in float64 and prints how far the
float32 results are from it. Run with the Debian system interpreter:

    /usr/bin/python3 scripts/make_ln_fixtures.py     (or: npm run fixtures)
"""
import json
import os
import sys

sys.dont_write_bytecode = True

from fixture_io import (REPO, checkpoint_metadata, encode, read_tensors, start,  # noqa: E402
                        seed_of, write_safetensors)

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

OUT_DIR = os.path.join(REPO, "test", "fixtures", "ln")
GATES = {"rnn_tanh": 1, "rnn_relu": 1, "lstm": 4, "gru": 3}
EPS = 1e-5

# name, cell, layers, embedding, hidden, batch, steps, text offset, initial state.
# B = 1 cases read a text excerpt (vocab = its characters); batched ones draw ids
# from the vocab of a 200-character excerpt. T*B >= V takes rnnkit's token-table
# path for layer 0, T*B < V the direct projection (the *_short cases).
CASES = [
    ("ln_rnn_tanh_l1", "rnn_tanh", 1, 8, 16, 1, 150, 0, False),
    ("ln_rnn_relu_l2", "rnn_relu", 2, 6, 12, 2, 40, 5000, True),
    ("ln_lstm_l1", "lstm", 1, 8, 16, 1, 150, 10000, False),
    ("ln_lstm_l2", "lstm", 2, 8, 12, 3, 40, 20000, True),
    ("ln_gru_l1", "gru", 1, 8, 16, 1, 150, 50000, False),
    ("ln_gru_l2", "gru", 2, 8, 12, 3, 40, 90000, True),
    ("ln_lstm_l2_short", "lstm", 2, 6, 8, 2, 6, 30000, True),
    ("ln_gru_l2_short", "gru", 2, 6, 8, 2, 6, 40000, True),
]
BATCH_VOCAB_CHARS = 200
MAX_F32_ERROR = 5e-6  # max |float32 - float64| / max |float64| over every fixture tensor


class LNCharLM(nn.Module):
    """CharLM with layer-normalised cells, parameters named as in rnnkit."""

    def __init__(self, vocab_size, embedding_size, hidden_size, num_layers, cell):
        super().__init__()
        self.config = dict(cell=cell, vocab_size=vocab_size, embedding_size=embedding_size,
                           hidden_size=hidden_size, num_layers=num_layers, layer_norm=True)
        self.cell, self.L, self.H = cell, num_layers, hidden_size
        GH = GATES[cell] * hidden_size
        self.embedding = nn.Embedding(vocab_size, embedding_size)
        self.rnn = nn.Module()
        k = hidden_size ** -0.5
        for l in range(num_layers):
            D = embedding_size if l == 0 else hidden_size
            for name, shape in (("weight_ih", (GH, D)), ("weight_hh", (GH, hidden_size)),
                                ("bias_ih", (GH,)), ("bias_hh", (GH,))):
                self.rnn.register_parameter(f"{name}_l{l}", nn.Parameter(torch.empty(shape).uniform_(-k, k)))
        self.head = nn.Linear(hidden_size, vocab_size)
        # after every reference tensor, so those draw the same numbers as charlm.CharLM would
        for l in range(num_layers):
            sizes = [("ih", GH), ("hh", GH)] + ([("c", hidden_size)] if cell == "lstm" else [])
            for part, n in sizes:
                self.rnn.register_parameter(f"ln_{part}_weight_l{l}", nn.Parameter(0.7 + 0.1 * torch.randn(n)))
                self.rnn.register_parameter(f"ln_{part}_bias_l{l}", nn.Parameter(0.1 * torch.randn(n)))

    def p(self, name, l):
        return getattr(self.rnn, f"{name}_l{l}")

    def layer(self, l, x, h, c):
        """x [B, T, D], state h, c [B, H] -> outputs [B, T, H], h_T, c_T."""
        H, cell, P = self.H, self.cell, lambda n: self.p(n, l)

        def ln(v, part):
            return F.layer_norm(v, (v.shape[-1],), P(f"ln_{part}_weight"), P(f"ln_{part}_bias"), EPS)

        gi = ln(x @ P("weight_ih").T, "ih") + P("bias_ih")  # every step at once
        outs = []
        for t in range(x.shape[1]):
            gh = ln(h @ P("weight_hh").T, "hh") + P("bias_hh")
            if cell == "lstm":
                i, f, g, o = (gi[:, t] + gh).chunk(4, dim=1)
                c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
                h = torch.sigmoid(o) * torch.tanh(ln(c, "c"))
            elif cell == "gru":
                xr, xz, xn = gi[:, t].chunk(3, dim=1)
                hr, hz, hn = gh.chunk(3, dim=1)
                r, z = torch.sigmoid(xr + hr), torch.sigmoid(xz + hz)
                n = torch.tanh(xn + r * hn)
                h = (1 - z) * n + z * h
            else:
                a = gi[:, t] + gh
                h = torch.tanh(a) if cell == "rnn_tanh" else torch.relu(a)
            outs.append(h)
        return torch.stack(outs, dim=1), h, c

    def forward(self, ids, state=None):
        """ids [B, T] -> logits [B, T, V], final state (h [L, B, H], c too for lstm)."""
        B, lstm = ids.shape[0], self.cell == "lstm"
        dtype = self.embedding.weight.dtype
        if state is None:
            zeros = torch.zeros(self.L, B, self.H, dtype=dtype)
            state = (zeros, zeros) if lstm else zeros
        h0, c0 = state if lstm else (state, None)
        x, hT, cT = self.embedding(ids), [], []
        for l in range(self.L):
            x, h, c = self.layer(l, x, h0[l], c0[l] if lstm else None)
            hT.append(h)
            cT.append(c)
        hT = torch.stack(hT)
        return self.head(x), ((hT, torch.stack(cT)) if lstm else hT)


def compute(model, ids, state0):
    """Forward + backward; the fixture.* tensors (as make_fixtures.py's compute)."""
    lstm = model.cell == "lstm"
    model.zero_grad(set_to_none=True)
    logits, stateT = model(ids[:, :-1], state0)
    V = logits.shape[-1]
    loss = F.cross_entropy(logits.reshape(-1, V), ids[:, 1:].reshape(-1))
    loss.backward()
    out = {"fixture.ids": ids.to(torch.float32), "fixture.logits": logits, "fixture.loss": loss.reshape(1)}
    for name, p in model.named_parameters():
        out[f"fixture.grad.{name}"] = p.grad
    if state0 is not None:
        h0, c0 = state0 if lstm else (state0, None)
        out["fixture.h0"], out["fixture.grad.h0"] = h0, h0.grad
        if lstm:
            out["fixture.c0"], out["fixture.grad.c0"] = c0, c0.grad
    hT, cT = stateT if lstm else (stateT, None)
    out["fixture.hT"] = hT
    if lstm:
        out["fixture.cT"] = cT
    return {k: v.detach() for k, v in out.items()}


def initial_state(cell, layers, batch, hidden, dtype=torch.float32):
    def leaf(t):
        return t.to(dtype).requires_grad_(True)
    h0 = torch.randn(layers, batch, hidden) * 0.5
    if cell == "lstm":
        return (leaf(h0), leaf(torch.randn(layers, batch, hidden) * 0.5))
    return leaf(h0)


def detached(state, dtype):
    """A fresh leaf copy of a state in dtype (for the float64 rerun and the verify pass)."""
    if state is None:
        return None
    if isinstance(state, tuple):
        return tuple(s.detach().to(dtype).requires_grad_(True) for s in state)
    return state.detach().to(dtype).requires_grad_(True)


def make_case(case, corpus):
    name, cell, layers, emb, hidden, batch, steps, off, with_state = case
    seed = seed_of(name)
    torch.manual_seed(seed)
    if batch == 1:
        text = corpus[off:off + steps + 1]
        vocab = sorted(set(text), key=ord)
    else:
        text, vocab = None, sorted(set(corpus[off:off + BATCH_VOCAB_CHARS]), key=ord)
    model = LNCharLM(len(vocab), emb, hidden, layers, cell)
    # ids and state come after the weights, from the same seeded generator
    ids = encode(text, vocab)[None] if text is not None else torch.randint(0, len(vocab), (batch, steps + 1))
    assert ids.shape == (batch, steps + 1)
    state0 = initial_state(cell, layers, batch, hidden) if with_state else None
    out = compute(model, ids, state0)
    meta = {"case": name, "batch": batch, "steps": steps, "has_initial_state": with_state,
            "torch_version": torch.__version__, "seed": seed, "cell": cell, "layer_norm": True}
    if text is not None:
        meta["text"] = text
    tensors = {k: v.detach() for k, v in model.state_dict().items()}
    tensors.update(out)
    path = os.path.join(OUT_DIR, f"{name}.safetensors")
    write_safetensors(path, tensors, checkpoint_metadata(model.config, vocab, meta))
    # how far float32 is from float64, per tensor relative to its largest magnitude
    m64 = LNCharLM(len(vocab), emb, hidden, layers, cell).double()
    m64.load_state_dict({k: v.double() for k, v in model.state_dict().items()})
    out64 = compute(m64, ids, detached(state0, torch.float64))
    f64 = max(((out[k].double() - v).abs().max() / v.abs().max().clamp_min(1e-30)).item()
              for k, v in out64.items() if k != "fixture.ids")
    if f64 > MAX_F32_ERROR:
        os.remove(path)
        raise SystemExit(f"{name}: float32 is {f64:.1e} from float64, more than {MAX_F32_ERROR}")
    return path, f64


def verify(path):
    """Reload the file, rebuild the model from its tensors and recompute every fixture tensor."""
    tensors, meta = read_tensors(path)
    config, fx = json.loads(meta["config"]), json.loads(meta["fixture"])
    assert config["layer_norm"] is True and meta["format"] == "rnnkit/1"
    model = LNCharLM(config["vocab_size"], config["embedding_size"], config["hidden_size"],
                     config["num_layers"], config["cell"])
    model.load_state_dict({k: v for k, v in tensors.items() if not k.startswith("fixture.")})
    ids = tensors["fixture.ids"].to(torch.long)
    if "text" in fx:
        assert torch.equal(encode(fx["text"], json.loads(meta["vocab"]))[None], ids)
    state0 = None
    if fx["has_initial_state"]:
        h0 = tensors["fixture.h0"]
        state0 = (h0, tensors["fixture.c0"]) if config["cell"] == "lstm" else h0
    again = compute(model, ids, detached(state0, torch.float32))
    assert set(again) == {k for k in tensors if k.startswith("fixture.")}, path
    for k, v in again.items():
        assert torch.equal(v, tensors[k]), (path, k)
    return tensors["fixture.loss"].item()


def main():
    corpus = start(OUT_DIR)
    total = 0
    for case in CASES:
        path, f64 = make_case(case, corpus)
        loss = verify(path)
        size = os.path.getsize(path)
        total += size
        print(f"{os.path.relpath(path, REPO)}  {size:6d} bytes  loss {loss:.6f}  "
              f"max rel |float32 - float64| {f64:.1e}")
    print(f"total {total} bytes, torch {torch.__version__}")


if __name__ == "__main__":
    main()
