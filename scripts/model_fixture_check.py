"""Checks of the task-model fixtures that make_model_fixtures.py writes (test/fixtures/
README.md): their config and tensor layout, the inputs and the padding (logits and
attention exactly 0 there, targets -1, embedding-gradient rows of ids seen only at
padded positions exactly 0), and an independent float64 reference: per-sequence loops
over hand-written cells (no packing, no nn modules), the attention as loops over the
valid source positions, the loss as an explicit sum; the stored float32 results must
be within MAX_F32_ERROR of it.
"""
import json
import os

import torch

from fixture_io import read_tensors, seed_of

CELLS = ("lstm", "gru", "rnn_tanh", "rnn_relu")
KINDS = ("classifier", "tagger", "generator", "seq2seq")
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
        s.update({"attention.weight": (H, W_enc), "attention.combine.weight": (H, W_enc + H)})
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
    attn = ["attention.weight", "attention.combine.weight"] if fx["attention"] == "luong" else []
    return (["encoder.embedding.weight"] + rnn("encoder.rnn.", bi) + bridge
            + ["decoder.embedding.weight"] + rnn("decoder.rnn.", False) + attn + head)


# ---------------------------------------------------------------------------
# the independent float64 reference: per-sequence loops, hand-written cells

def ref_cell(cell, W, name, x, h, c):
    """One step of one direction; name = (prefix, suffix), e.g. ("rnn.", "l0_reverse").
    PyTorch's gate orders: LSTM i, f, g, o; GRU r, z, n."""
    prefix, suffix = name
    gi = W[f"{prefix}weight_ih_{suffix}"] @ x + W[f"{prefix}bias_ih_{suffix}"]
    gh = W[f"{prefix}weight_hh_{suffix}"] @ h + W[f"{prefix}bias_hh_{suffix}"]
    if cell == "lstm":
        i, f, g, o = (gi + gh).chunk(4)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        return torch.sigmoid(o) * torch.tanh(c), c
    if cell == "gru":
        ir, iz, in_ = gi.chunk(3)
        hr, hz, hn = gh.chunk(3)
        r, z = torch.sigmoid(ir + hr), torch.sigmoid(iz + hz)
        n = torch.tanh(in_ + r * hn)
        return (1 - z) * n + z * h, None
    a = gi + gh
    return (torch.tanh(a) if cell == "rnn_tanh" else torch.relu(a)), None


def ref_stack(cell, W, prefix, xs, H, L, bidirectional, h0=None, c0=None):
    """One sequence xs (list of vectors) through the stack; returns the top layer's
    outputs (list) and the final states hN, cN (lists indexed l*dirs + d)."""
    dirs = 2 if bidirectional else 1
    n = len(xs)
    hN, cN = [], []
    for l in range(L):
        halves = []
        for d in range(dirs):
            k = l * dirs + d
            h = h0[k] if h0 is not None else torch.zeros(H, dtype=torch.float64)
            c = c0[k] if c0 is not None else torch.zeros(H, dtype=torch.float64)
            outs = [None] * n
            for t in (range(n) if d == 0 else reversed(range(n))):
                h, c = ref_cell(cell, W, (prefix, f"l{l}" + ("_reverse" if d else "")), xs[t], h, c)
                outs[t] = h
            halves.append(outs)
            hN.append(h)
            cN.append(c)
        xs = [torch.cat([half[t] for half in halves]) for t in range(n)]
    return xs, hN, cN


def ref_ce(logits, target):
    return -torch.log_softmax(logits, 0)[target]


def padded(rows, T, width):
    """Stack a list of row vectors and pad with zero rows to T: [T, width]."""
    zero = torch.zeros(width, dtype=torch.float64)
    return torch.stack(list(rows) + [zero] * (T - len(rows)))


def reference(cfg, W, inputs):
    """loss, logits (and attention) of one case in float64, written from docs/models.md
    without nn modules or packing; W: name -> float64 leaf tensor."""
    kind, cell, H, L = cfg["kind"], cfg["cell"], cfg["hidden_size"], cfg["num_layers"]
    lstm = cell == "lstm"
    lin = lambda name, v: W[f"{name}.weight"] @ v + W[f"{name}.bias"]  # noqa: E731
    out = {}
    if kind in ("classifier", "tagger"):
        bi = cfg["bidirectional"]
        T, C = cfg["steps"], cfg["num_classes"]
        losses, count, rows = [], 0, []
        for b, n in enumerate(cfg["lengths"]):
            if "x" in inputs:
                xs = [inputs["x"][t, b] for t in range(n)]
            else:
                xs = [W["embedding.weight"][int(inputs["ids"][t, b])] for t in range(n)]
            outs, hN, _ = ref_stack(cell, W, "rnn.", xs, H, L, bi)
            if kind == "tagger":
                logits_b = [lin("head", o) for o in outs]
                losses += [ref_ce(z, int(inputs["tags"][t, b])) for t, z in enumerate(logits_b)]
                rows.append(padded(logits_b, T, C))
                continue
            if cfg["pool"] == "last":
                f = torch.cat([hN[-2], hN[-1]]) if bi else hN[-1]
            elif cfg["pool"] == "mean":
                f = sum(outs) / n
            else:
                f = torch.stack(outs).max(0).values
            z = lin("head", f)
            losses.append(ref_ce(z, int(inputs["labels"][b])))
            rows.append(z)
        out["logits"] = torch.stack(rows, 1 if kind == "tagger" else 0)
        return sum(losses) / len(losses), out
    if kind == "generator":
        T, tokens = cfg["steps"], cfg["output"] == "tokens"
        V = cfg["vocab_size"] if tokens else cfg["input_size"]
        losses, rows = [], []
        for b, n in enumerate(cfg["lengths"]):
            c = inputs["cond"][b]
            h_all = torch.tanh(lin("init", c))
            h0 = [h_all[l * H:(l + 1) * H] for l in range(L)]
            c0 = None
            if lstm:
                c_all = torch.tanh(lin("init_c", c))
                c0 = [c_all[l * H:(l + 1) * H] for l in range(L)]
            if tokens:
                xs = [W["embedding.weight"][int(inputs["inputs"][t, b])] for t in range(n)]
            else:
                xs = [inputs["inputs"][t, b] for t in range(n)]
            outs, _, _ = ref_stack(cell, W, "rnn.", xs, H, L, False, h0, c0)
            logits_b = [lin("head", o) for o in outs]
            for t, z in enumerate(logits_b):
                if tokens:
                    losses.append(ref_ce(z, int(inputs["targets"][t, b])))
                else:
                    r, p = inputs["rows"][t, b], torch.sigmoid(z)
                    losses.append(-(r * torch.log(p) + (1 - r) * torch.log(1 - p)).sum())
            rows.append(padded(logits_b, T, V))
        out["logits"] = torch.stack(rows, 1)
        return sum(losses) / len(losses), out
    # seq2seq
    bi, luong = cfg["bidirectional"], cfg["attention"] == "luong"
    Ts, Td, V = cfg["src_steps"], cfg["tgt_steps"], cfg["tgt_vocab_size"]
    losses, rows, alphas = [], [], []
    for b, (m, n) in enumerate(zip(cfg["src_lengths"], cfg["tgt_lengths"])):
        xs = [W["encoder.embedding.weight"][int(inputs["src"][j, b])] for j in range(m)]
        enc, hN, cN = ref_stack(cell, W, "encoder.rnn.", xs, H, L, bi)
        if bi:
            h0 = [torch.tanh(lin("bridge", torch.cat([hN[2 * l], hN[2 * l + 1]]))) for l in range(L)]
            c0 = [torch.tanh(lin("bridge_c", torch.cat([cN[2 * l], cN[2 * l + 1]])))
                  for l in range(L)] if lstm else None
        else:
            h0, c0 = hN, (cN if lstm else None)
        ys = [W["decoder.embedding.weight"][int(inputs["tgt_in"][t, b])] for t in range(n)]
        ss, _, _ = ref_stack(cell, W, "decoder.rnn.", ys, H, L, False, h0, c0)
        logits_b, alpha_b = [], []
        for t, s in enumerate(ss):
            if luong:
                scores = torch.stack([s @ (W["attention.weight"] @ enc[j]) for j in range(m)])
                e = torch.exp(scores - scores.max())
                a = e / e.sum()
                ctx = sum(a[j] * enc[j] for j in range(m))
                s = torch.tanh(W["attention.combine.weight"] @ torch.cat([ctx, s]))
                alpha_b.append(torch.cat([a, torch.zeros(Ts - m, dtype=torch.float64)]))
            z = lin("head", s)
            logits_b.append(z)
            losses.append(ref_ce(z, int(inputs["tgt_out"][t, b])))
        rows.append(padded(logits_b, Td, V))
        if luong:
            alphas.append(padded(alpha_b, Td, Ts))
    out["logits"] = torch.stack(rows, 1)
    if luong:
        out["attention"] = torch.stack(alphas, 1)
    return sum(losses) / len(losses), out


def reference_results(cfg, params, inputs):
    """The reference's loss, logits (attention) and gradients, float64."""
    W = {k: v.detach().double().clone().requires_grad_(True) for k, v in params.items()}
    loss, out = reference(cfg, W, {k: v.double() for k, v in inputs.items()})
    loss.backward()
    res = {"loss": loss.reshape(1)}
    res.update(out)
    for k, w in W.items():
        res[f"grad.{k}"] = w.grad if w.grad is not None else torch.zeros_like(w)
    return {k: v.detach() for k, v in res.items()}


def max_rel_error(a, b):
    """max over tensors of max |a - b| / max |b|."""
    return max(((a[k].double() - v).abs().max() / v.abs().max().clamp_min(1e-30)).item()
               for k, v in b.items())


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
    rnames = ["loss", "logits"] + (["attention"] if cfg.get("attention") == "luong" else []) \
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
