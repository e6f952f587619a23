"""Checks of the task-model fixtures that make_model_fixtures.py writes (test/fixtures/
README.md): their config and tensor layout, the inputs and the padding (logits and
attention exactly 0 there, targets -1, embedding-gradient rows of ids seen only at
padded positions exactly 0), and the independent float64 reference of
model_fixture_reference.py (per-sequence loops over hand-written cells, no packing, no nn
modules): the stored float32 results must be within MAX_F32_ERROR of it.
"""
import json
import os

import torch

from fixture_io import read_tensors, seed_of
from model_fixture_reference import max_rel_error, reference_results

CELLS = ("lstm", "gru", "rnn_tanh", "rnn_relu")
KINDS = ("classifier", "tagger", "generator", "seq2seq")
ATTENTIONS = ("none", "luong", "additive")
GARBAGE = 1e3        # padded float inputs: GARBAGE * N(0, 1)
UNK, BOS, EOS = 0, 1, 2  # token conventions of the generator and seq2seq cases
MAX_F32_ERROR = 1e-5  # max |float32 - float64| / max |float64| over every stored result


def padding_mask(lengths, T):
    """[T, B] bool, True at padded positions (t >= lengths[b])."""
    return torch.arange(T)[:, None] >= torch.tensor(lengths)[None, :]


# ---------------------------------------------------------------------------
# config and layout

def model_config(cfg):
    """The fixture metadata: every config value, in a fixed order."""
    keys = ["kind", "case", "seed", "cell", "input", "output", "attention", "pool",
            "vocab_size", "src_vocab_size", "tgt_vocab_size", "input_size", "embedding_size",
            "num_classes", "cond_size", "hidden_size", "num_layers", "bidirectional",
            "reverse_source", "dropout", "bos_id", "eos_id", "steps", "src_steps", "tgt_steps",
            "batch", "lengths", "src_lengths", "tgt_lengths", "garbage", "torch_version"]
    return {k: cfg[k] for k in keys if k in cfg}


def full_config(case):
    cfg = dict(case)
    assert cfg["kind"] in KINDS and cfg["cell"] in CELLS
    cfg["seed"] = seed_of(cfg["case"])
    cfg["dropout"] = 0.0
    cfg["torch_version"] = torch.__version__
    kind = cfg["kind"]
    if kind == "seq2seq":
        assert cfg["attention"] in ATTENTIONS
        cfg["reverse_source"] = False
        cfg["batch"] = len(cfg["src_lengths"])
        assert len(cfg["tgt_lengths"]) == cfg["batch"]
        assert all(1 <= m <= cfg["src_steps"] for m in cfg["src_lengths"])
        assert all(1 <= n <= cfg["tgt_steps"] for n in cfg["tgt_lengths"])
        assert max(cfg["src_vocab_size"], cfg["tgt_vocab_size"]) <= 12
        assert max(cfg["src_steps"], cfg["tgt_steps"]) <= 9
    else:
        cfg["batch"] = len(cfg["lengths"])
        assert all(1 <= n <= cfg["steps"] for n in cfg["lengths"]) and cfg["steps"] <= 9
        assert cfg.get("vocab_size", 0) <= 12 and cfg.get("num_classes", 0) <= 5
    if kind == "generator":
        cfg["bidirectional"] = False
    if kind in ("seq2seq",) or cfg.get("output") == "tokens":
        cfg["bos_id"], cfg["eos_id"] = BOS, EOS
    if cfg.get("input") == "float":
        cfg["garbage"] = GARBAGE
    assert cfg["hidden_size"] <= 8 and cfg.get("embedding_size", 0) <= 6 and cfg["batch"] <= 5
    return cfg


INPUT_NAMES = {
    ("classifier", "tokens"): ["ids", "labels"],
    ("classifier", "float"): ["x", "labels"],
    ("tagger", None): ["ids", "tags"],
    ("generator", "tokens"): ["cond", "inputs", "targets"],
    ("generator", "bernoulli"): ["cond", "inputs", "rows"],
    ("seq2seq", None): ["src", "tgt_in", "tgt_out"],
}


def input_names(cfg):
    return INPUT_NAMES[(cfg["kind"], cfg.get("input", cfg.get("output")))]


def expected_shapes(fx, pnames):
    """The shape of every stored tensor (docs/models.md)."""
    kind, cell, H, L = fx["kind"], fx["cell"], fx["hidden_size"], fx["num_layers"]
    G = {"lstm": 4, "gru": 3}.get(cell, 1)
    B = fx["batch"]

    def rnn(prefix, D, bi):
        out, dirs = {}, 2 if bi else 1
        for l in range(L):
            for sfx in ("", "_reverse")[:dirs]:
                out[f"{prefix}weight_ih_l{l}{sfx}"] = (G * H, D if l == 0 else dirs * H)
                out[f"{prefix}weight_hh_l{l}{sfx}"] = (G * H, H)
                out[f"{prefix}bias_ih_l{l}{sfx}"] = (G * H,)
                out[f"{prefix}bias_hh_l{l}{sfx}"] = (G * H,)
        return out

    s = {}
    if kind in ("classifier", "tagger"):
        T, C, W = fx["steps"], fx["num_classes"], (2 if fx["bidirectional"] else 1) * H
        if fx.get("input", "tokens") == "tokens":
            s["embedding.weight"] = (fx["vocab_size"], fx["embedding_size"])
            D = fx["embedding_size"]
        else:
            D = fx["input_size"]
        s.update(rnn("rnn.", D, fx["bidirectional"]))
        s.update({"head.weight": (C, W), "head.bias": (C,)})
        if kind == "classifier":
            s.update({"ids": (T, B), "x": (T, B, D), "labels": (B,), "logits": (B, C)})
        else:
            s.update({"ids": (T, B), "tags": (T, B), "logits": (T, B, C)})
    elif kind == "generator":
        T, K = fx["steps"], fx["cond_size"]
        s.update({"init.weight": (L * H, K), "init.bias": (L * H,),
                  "init_c.weight": (L * H, K), "init_c.bias": (L * H,)})
        if fx["output"] == "tokens":
            V, E = fx["vocab_size"], fx["embedding_size"]
            s["embedding.weight"] = (V, E)
            s.update(rnn("rnn.", E, False))
            s.update({"inputs": (T, B), "targets": (T, B)})
        else:
            V = fx["input_size"]
            s.update(rnn("rnn.", V, False))
            s.update({"inputs": (T, B, V), "rows": (T, B, V)})
        s.update({"head.weight": (V, H), "head.bias": (V,), "cond": (B, K), "logits": (T, B, V)})
    else:
        Ts, Td, E, Vt = fx["src_steps"], fx["tgt_steps"], fx["embedding_size"], fx["tgt_vocab_size"]
        W_enc = (2 if fx["bidirectional"] else 1) * H
        s["encoder.embedding.weight"] = (fx["src_vocab_size"], E)
        s.update(rnn("encoder.rnn.", E, fx["bidirectional"]))
        s.update({"bridge.weight": (H, 2 * H), "bridge.bias": (H,),
                  "bridge_c.weight": (H, 2 * H), "bridge_c.bias": (H,)})
        s["decoder.embedding.weight"] = (Vt, E)
        s.update(rnn("decoder.rnn.", E, False))
        s.update({"attention.weight": (H, W_enc), "attention.combine.weight": (H, W_enc + H),
                  "attention.v": (H,), "attention.query.weight": (H, H),
                  "attention.key.weight": (H, W_enc)})
        s.update({"head.weight": (Vt, H), "head.bias": (Vt,), "src": (Ts, B), "tgt_in": (Td, B),
                  "tgt_out": (Td, B), "logits": (Td, B, Vt), "attention": (Td, B, Ts)})
    s["loss"] = (1,)
    for n in pnames:
        s[f"grad.{n}"] = s[n]
    return s


def expected_params(fx):
    """The parameter names, in state_dict order (docs/models.md's names)."""
    kind, lstm, L = fx["kind"], fx["cell"] == "lstm", fx["num_layers"]

    def rnn(prefix, bi):
        return [f"{prefix}{w}_l{l}{sfx}" for l in range(L) for sfx in ("", "_reverse")[:1 + bi]
                for w in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]

    head = ["head.weight", "head.bias"]
    if kind in ("classifier", "tagger"):
        emb = ["embedding.weight"] if fx.get("input", "tokens") == "tokens" else []
        return emb + rnn("rnn.", fx["bidirectional"]) + head
    if kind == "generator":
        init = ["init.weight", "init.bias"] + (["init_c.weight", "init_c.bias"] if lstm else [])
        emb = ["embedding.weight"] if fx["output"] == "tokens" else []
        return init + emb + rnn("rnn.", False) + head
    bi = fx["bidirectional"]
    bridge = (["bridge.weight", "bridge.bias"] + (["bridge_c.weight", "bridge_c.bias"] if lstm else [])
              if bi else [])
    attn = {"none": [], "luong": ["attention.weight", "attention.combine.weight"],
            "additive": ["attention.v", "attention.query.weight", "attention.key.weight",
                         "attention.combine.weight"]}[fx["attention"]]
    return (["encoder.embedding.weight"] + rnn("encoder.rnn.", bi) + bridge
            + ["decoder.embedding.weight"] + rnn("decoder.rnn.", False) + attn + head)


# ---------------------------------------------------------------------------
# the check of a written file

def check_ids(ids, V, pad, low_valid=0):
    assert torch.equal(ids, ids.round()) and ids.min() >= 0 and ids.max() < V
    if (~pad).any():
        assert ids[~pad].min() >= low_valid


def check_unused_rows(tensors, emb, ids, pad):
    """Embedding rows of ids that occur only at padded positions get exactly 0
    gradient; returns how many such ids there are."""
    used = set(int(i) for i in ids[~pad].tolist())
    only_pad = set(int(i) for i in ids[pad].tolist()) - used
    g = tensors[f"grad.{emb}"]
    for i in range(g.shape[0]):
        if i not in used:
            assert torch.all(g[i] == 0), (emb, i)
    return len(only_pad)


def check(path, cases, build, compute):
    """Reload a file, recompute it, check the layout and the padding; returns the
    fixture metadata, the max relative distance of the stored results from the
    float64 reference, and the number of ids seen only at padded positions. The writer's
    side: its cases, build(cfg) its torch.nn model, compute(model, inputs) its results."""
    tensors, meta = read_tensors(path)
    assert set(meta) == {"fixture"}, path
    fx = json.loads(meta["fixture"])
    case = next(c for c in cases if c["case"] == fx["case"])
    cfg = full_config(case)
    assert fx == model_config(cfg) | {"torch_version": fx["torch_version"]}, path
    assert fx["case"] == os.path.basename(path)[:-len(".safetensors")]
    kind = fx["kind"]
    model = build(cfg)
    pnames = [n for n, _ in model.named_parameters()]
    assert pnames == expected_params(fx), (path, pnames)
    model.load_state_dict({n: tensors[n] for n in pnames})
    inames = input_names(cfg)
    attention = cfg.get("attention", "none") != "none"
    rnames = ["loss", "logits"] + (["attention"] if attention else []) \
        + [f"grad.{n}" for n in pnames]
    assert list(tensors) == pnames + inames + rnames, (path, list(tensors))
    shapes = expected_shapes(fx, pnames)
    for k, v in tensors.items():
        assert tuple(v.shape) == shapes[k], (path, k, tuple(v.shape), shapes[k])
        assert torch.all(torch.isfinite(v)), (path, k)
    inputs = {k: tensors[k] for k in inames}
    again = compute(model, inputs)
    assert list(again) == rnames
    for k, v in again.items():
        assert torch.equal(v, tensors[k]), (path, k)

    # inputs and padding
    only_pad = 0
    if kind in ("classifier", "tagger"):
        pad = padding_mask(fx["lengths"], fx["steps"])
        if "ids" in tensors:
            check_ids(tensors["ids"], fx["vocab_size"], pad)
            only_pad = check_unused_rows(tensors, "embedding.weight", tensors["ids"], pad)
        else:
            assert torch.all(tensors["x"][~pad].abs() < 10)
            assert tensors["x"][pad].abs().max() > 0.1 * GARBAGE
        if kind == "classifier":
            check_ids(tensors["labels"], fx["num_classes"], torch.zeros(fx["batch"], dtype=bool))
        else:
            assert torch.all(tensors["tags"][pad] == -1)
            check_ids(tensors["tags"][~pad], fx["num_classes"], torch.zeros(0, dtype=bool))
            assert torch.all(tensors["logits"][pad] == 0)
    elif kind == "generator":
        T, lengths = fx["steps"], fx["lengths"]
        pad = padding_mask(lengths, T)
        assert torch.all(tensors["logits"][pad] == 0)
        if fx["output"] == "tokens":
            inp, tgt, V = tensors["inputs"], tensors["targets"], fx["vocab_size"]
            check_ids(inp, V, pad)
            assert torch.all(inp[0] == BOS) and torch.all(tgt[pad] == -1)
            for b, n in enumerate(lengths):
                assert tgt[n - 1, b] == EOS and torch.equal(inp[1:n, b], tgt[:n - 1, b])
                assert torch.all((tgt[:n - 1, b] >= 3) & (tgt[:n - 1, b] < V))
            only_pad = check_unused_rows(tensors, "embedding.weight", inp, pad)
        else:
            rows, inp = tensors["rows"], tensors["inputs"]
            assert all(n == T for n in lengths)
            assert torch.all((rows >= 0) & (rows <= 1))
            assert torch.all(inp[0] == 0) and torch.equal(inp[1:], rows[:-1])
            frac = (rows > 0) & (rows < 1)
            assert frac.any() and (~frac).any()
    else:
        Ts, Td = fx["src_steps"], fx["tgt_steps"]
        src_pad = padding_mask(fx["src_lengths"], Ts)
        tgt_pad = padding_mask(fx["tgt_lengths"], Td)
        check_ids(tensors["src"], fx["src_vocab_size"], src_pad, low_valid=3)
        inp, tgt = tensors["tgt_in"], tensors["tgt_out"]
        check_ids(inp, fx["tgt_vocab_size"], tgt_pad)
        assert torch.all(inp[0] == BOS) and torch.all(tgt[tgt_pad] == -1)
        for b, n in enumerate(fx["tgt_lengths"]):
            assert tgt[n - 1, b] == EOS and torch.equal(inp[1:n, b], tgt[:n - 1, b])
        assert torch.all(tensors["logits"][tgt_pad] == 0)
        only_pad = check_unused_rows(tensors, "encoder.embedding.weight", tensors["src"], src_pad) \
            + check_unused_rows(tensors, "decoder.embedding.weight", inp, tgt_pad)
        if "attention" in tensors:
            a = tensors["attention"]                                  # [Td, B, Ts]
            assert torch.all(a[tgt_pad] == 0)
            assert torch.all(a.permute(1, 0, 2)[src_pad.t()[:, None, :].expand(-1, Td, -1)] == 0)
            sums = a.sum(-1)
            assert torch.allclose(sums[~tgt_pad], torch.ones(()), atol=1e-6)
            for b, m in enumerate(fx["src_lengths"]):
                if m == 1:   # a single source position: all the weight on it
                    assert torch.all(a[~tgt_pad[:, b], b, 0] == 1)

    # the independent float64 reference
    ref = reference_results(cfg, {n: tensors[n] for n in pnames}, inputs)
    assert list(ref) == rnames
    err = max_rel_error(again, ref)
    assert err <= MAX_F32_ERROR, (path, err)
    return fx, err, only_pad
