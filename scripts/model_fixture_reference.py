"""The independent float64 reference of the task-model fixtures (model_fixture_check.py):
each model of docs/models.md written again without nn modules or packing, per-sequence
loops over hand-written LSTM / GRU / RNN cells, the attention as loops over the valid
source positions, the loss as an explicit sum; gradients by autograd through it.
"""
import torch


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


def ref_score(attention, W, s, h):
    """score(s_t, h_j): luong s^T W_a h ("general"), additive v^T tanh(W_q s + W_k h)."""
    if attention == "luong":
        return s @ (W["attention.weight"] @ h)
    q, k = W["attention.query.weight"] @ s, W["attention.key.weight"] @ h
    return W["attention.v"] @ torch.tanh(q + k)


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
    bi, attention = cfg["bidirectional"], cfg["attention"]
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
            if attention != "none":
                scores = torch.stack([ref_score(attention, W, s, enc[j]) for j in range(m)])
                e = torch.exp(scores - scores.max())
                a = e / e.sum()
                ctx = sum(a[j] * enc[j] for j in range(m))
                s = torch.tanh(W["attention.combine.weight"] @ torch.cat([ctx, s]))
                alpha_b.append(torch.cat([a, torch.zeros(Ts - m, dtype=torch.float64)]))
            z = lin("head", s)
            logits_b.append(z)
            losses.append(ref_ce(z, int(inputs["tgt_out"][t, b])))
        rows.append(padded(logits_b, Td, V))
        if attention != "none":
            alphas.append(padded(alpha_b, Td, Ts))
    out["logits"] = torch.stack(rows, 1)
    if attention != "none":
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


