#!/usr/bin/python3
"""Generate the PyTorch fixtures of the task models in test/fixtures/models/.

The four model kinds of docs/models.md, written with torch.nn exactly as that
page specifies them: `classifier`, `tagger`, `generator` (tokens or bernoulli
rows) and `seq2seq` (attention none, luong or additive). Every recurrent stack
is an nn.LSTM / nn.GRU / nn.RNN (dropout 0, batch_first=False) run on a packed
variable-length batch:

  packed = pack_padded_sequence(x, lengths, enforce_sorted=False)
  out_packed, state = rnn(packed, state0)
  out, _ = pad_packed_sequence(out_packed, total_length=T)

Weights: PyTorch's default initialisation (nn.Embedding N(0, 1), nn.Linear
kaiming-uniform, recurrent U(-1/sqrt(H), 1/sqrt(H)); the additive attention's
vector v: U(-1/sqrt(H), 1/sqrt(H))) under torch.manual_seed(seed_of(case));
the inputs are drawn afterwards from the same generator. One forward and one
backward of the model's loss; the file holds, in this order: the state_dict
(docs/models.md's names), the inputs, `loss` [1], `logits` (exactly 0 at
padded positions), `attention` (luong and additive seq2seq only), then
`grad.<name>` for every parameter. Token ids are stored as float32 (exact
small integers); padded id positions hold a valid random id and padded float
inputs hold 1e3 * N(0, 1), so that anything read from the padding shows;
targets are -1 at padding. Metadata: a single key `fixture`,
JSON with kind, case, seed, torch_version and every config value. The cases
are in model_fixture_cases.py.

Float32 on the CPU with one thread: reruns give identical bytes. After
writing, the script checks every file (model_fixture_check.py): recomputed
results, tensor layout, padding, and an independent float64 per-sequence
reference.

    /usr/bin/python3 scripts/make_model_fixtures.py           # write + check
    /usr/bin/python3 scripts/make_model_fixtures.py --check   # check only
"""
import json
import math
import os
import sys

sys.dont_write_bytecode = True

from fixture_io import REPO, start, write_safetensors  # noqa: E402
from model_fixture_cases import CASES  # noqa: E402
from model_fixture_check import (BOS, EOS, GARBAGE, check, full_config,  # noqa: E402
                                 model_config, padding_mask)

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence  # noqa: E402

OUT_DIR = os.path.join(REPO, "test", "fixtures", "models")


# ---------------------------------------------------------------------------
# the models (torch.nn)

def build_rnn(cell, D, H, L, bidirectional):
    kw = dict(input_size=D, hidden_size=H, num_layers=L, bias=True, batch_first=False,
              dropout=0.0, bidirectional=bidirectional)
    if cell == "lstm":
        return nn.LSTM(**kw)
    if cell == "gru":
        return nn.GRU(**kw)
    return nn.RNN(nonlinearity=cell[4:], **kw)


def run_packed(rnn, x, lengths, state0=None):
    """out [T, B, dirs*H] (0 at padding) and the final state (h_n or (h_n, c_n))."""
    packed = pack_padded_sequence(x, lengths, batch_first=False, enforce_sorted=False)
    out_packed, state = rnn(packed, state0)
    out, _ = pad_packed_sequence(out_packed, batch_first=False, total_length=x.shape[0])
    return out, state


def token_ce(logits, targets):
    """Mean cross-entropy over the positions whose target is not -1."""
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1).long(),
                           ignore_index=-1, reduction="mean")


class Classifier(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        H, dirs = cfg["hidden_size"], 2 if cfg["bidirectional"] else 1
        if cfg["input"] == "tokens":
            self.embedding = nn.Embedding(cfg["vocab_size"], cfg["embedding_size"])
            D = cfg["embedding_size"]
        else:
            D = cfg["input_size"]
        self.rnn = build_rnn(cfg["cell"], D, H, cfg["num_layers"], cfg["bidirectional"])
        self.head = nn.Linear(dirs * H, cfg["num_classes"])

    def forward(self, inputs):
        cfg, lengths = self.cfg, self.cfg["lengths"]
        x = self.embedding(inputs["ids"].long()) if cfg["input"] == "tokens" else inputs["x"]
        out, state = run_packed(self.rnn, x, lengths)
        h_n = state[0] if cfg["cell"] == "lstm" else state
        if cfg["pool"] == "last":
            f = torch.cat([h_n[-2], h_n[-1]], 1) if cfg["bidirectional"] else h_n[-1]
        elif cfg["pool"] == "mean":
            f = out.sum(0) / torch.tensor(lengths, dtype=out.dtype)[:, None]
        else:  # max over the valid steps only
            pad = padding_mask(lengths, x.shape[0])[:, :, None]
            f = out.masked_fill(pad, -math.inf).max(0).values
        logits = self.head(f)                                   # [B, C]
        return {"logits": logits}, F.cross_entropy(logits, inputs["labels"].long())


class Tagger(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        H, dirs = cfg["hidden_size"], 2 if cfg["bidirectional"] else 1
        self.embedding = nn.Embedding(cfg["vocab_size"], cfg["embedding_size"])
        self.rnn = build_rnn(cfg["cell"], cfg["embedding_size"], H, cfg["num_layers"],
                             cfg["bidirectional"])
        self.head = nn.Linear(dirs * H, cfg["num_classes"])

    def forward(self, inputs):
        lengths = self.cfg["lengths"]
        ids = inputs["ids"]
        out, _ = run_packed(self.rnn, self.embedding(ids.long()), lengths)
        pad = padding_mask(lengths, ids.shape[0])[:, :, None]
        logits = self.head(out).masked_fill(pad, 0.0)            # [T, B, C]
        return {"logits": logits}, token_ce(logits, inputs["tags"])


class Generator(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        H, L, K = cfg["hidden_size"], cfg["num_layers"], cfg["cond_size"]
        self.init = nn.Linear(K, L * H)
        if cfg["cell"] == "lstm":
            self.init_c = nn.Linear(K, L * H)
        if cfg["output"] == "tokens":
            self.embedding = nn.Embedding(cfg["vocab_size"], cfg["embedding_size"])
            D, V = cfg["embedding_size"], cfg["vocab_size"]
        else:
            D = V = cfg["input_size"]
        self.rnn = build_rnn(cfg["cell"], D, H, L, False)
        self.head = nn.Linear(H, V)

    def initial(self, linear, cond):
        """tanh(W c + b), [B, L*H] -> [L, B, H] (layer l: columns [l*H, (l+1)*H))."""
        B, L, H = cond.shape[0], self.cfg["num_layers"], self.cfg["hidden_size"]
        return torch.tanh(linear(cond)).reshape(B, L, H).transpose(0, 1).contiguous()

    def forward(self, inputs):
        cfg, lengths = self.cfg, self.cfg["lengths"]
        h0 = self.initial(self.init, inputs["cond"])
        state0 = (h0, self.initial(self.init_c, inputs["cond"])) if cfg["cell"] == "lstm" else h0
        tokens = cfg["output"] == "tokens"
        x = self.embedding(inputs["inputs"].long()) if tokens else inputs["inputs"]
        out, _ = run_packed(self.rnn, x, lengths, state0)
        pad = padding_mask(lengths, x.shape[0])[:, :, None]
        logits = self.head(out).masked_fill(pad, 0.0)            # [T, B, V or D]
        if tokens:
            return {"logits": logits}, token_ce(logits, inputs["targets"])
        bce = F.binary_cross_entropy_with_logits(logits, inputs["rows"], reduction="none")
        loss = bce.masked_fill(pad, 0.0).sum() / sum(lengths)    # summed over D, mean per row
        return {"logits": logits}, loss


class Encoder(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.embedding = nn.Embedding(cfg["src_vocab_size"], cfg["embedding_size"])
        self.rnn = build_rnn(cfg["cell"], cfg["embedding_size"], cfg["hidden_size"],
                             cfg["num_layers"], cfg["bidirectional"])


class Decoder(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.embedding = nn.Embedding(cfg["tgt_vocab_size"], cfg["embedding_size"])
        self.rnn = build_rnn(cfg["cell"], cfg["embedding_size"], cfg["hidden_size"],
                             cfg["num_layers"], False)


class LuongAttention(nn.Linear):
    """`weight` [H, W_enc] (the "general" score s^T W_a h) and `combine` [H, W_enc + H],
    no biases; nn.Linear's default initialisation for both."""

    def __init__(self, W_enc, H):
        super().__init__(W_enc, H, bias=False)
        self.combine = nn.Linear(W_enc + H, H, bias=False)


class AdditiveAttention(nn.Module):
    """Bahdanau's score v^T tanh(W_q s + W_k h): `query` [H, H], `key` [H, W_enc], `v` [H]
    and `combine` [H, W_enc + H] as Luong's, no biases. Drawn in that order: the three
    matrices with nn.Linear's default (U(+-1/sqrt(fan_in))), v from U(+-1/sqrt(H)). The
    module's own `v` comes first in its state_dict (PyTorch lists a module's parameters
    before its submodules')."""

    def __init__(self, W_enc, H):
        super().__init__()
        self.query = nn.Linear(H, H, bias=False)
        self.key = nn.Linear(W_enc, H, bias=False)
        self.v = nn.Parameter(torch.empty(H).uniform_(-1 / math.sqrt(H), 1 / math.sqrt(H)))
        self.combine = nn.Linear(W_enc + H, H, bias=False)


class Seq2Seq(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        H, dirs = cfg["hidden_size"], 2 if cfg["bidirectional"] else 1
        self.encoder = Encoder(cfg)
        if cfg["bidirectional"]:
            self.bridge = nn.Linear(2 * H, H)
            if cfg["cell"] == "lstm":
                self.bridge_c = nn.Linear(2 * H, H)
        self.decoder = Decoder(cfg)
        if cfg["attention"] == "luong":
            self.attention = LuongAttention(dirs * H, H)
        elif cfg["attention"] == "additive":
            self.attention = AdditiveAttention(dirs * H, H)
        self.head = nn.Linear(H, cfg["tgt_vocab_size"])

    def bridged(self, linear, sN):
        """[L*2, B, H] -> [L, B, H]: layer l = tanh(W [s[2l] | s[2l+1]] + b)."""
        L = self.cfg["num_layers"]
        return torch.stack([torch.tanh(linear(torch.cat([sN[2 * l], sN[2 * l + 1]], 1)))
                            for l in range(L)])

    def forward(self, inputs):
        cfg, lstm = self.cfg, self.cfg["cell"] == "lstm"
        src, tgt_in = inputs["src"], inputs["tgt_in"]
        Ts, Td = src.shape[0], tgt_in.shape[0]
        enc_out, stateN = run_packed(self.encoder.rnn, self.encoder.embedding(src.long()),
                                     cfg["src_lengths"])
        hN, cN = stateN if lstm else (stateN, None)
        if cfg["bidirectional"]:
            h0 = self.bridged(self.bridge, hN)
            c0 = self.bridged(self.bridge_c, cN) if lstm else None
        else:
            h0, c0 = hN, cN
        s, _ = run_packed(self.decoder.rnn, self.decoder.embedding(tgt_in.long()),
                          cfg["tgt_lengths"], (h0, c0) if lstm else h0)   # [Td, B, H]
        tgt_pad = padding_mask(cfg["tgt_lengths"], Td)[:, :, None]
        out = {}
        if cfg["attention"] == "luong":
            keys = F.linear(enc_out, self.attention.weight)              # W_a h_j: [Ts, B, H]
            score = torch.einsum("tbh,jbh->tbj", s, keys)                # [Td, B, Ts]
        elif cfg["attention"] == "additive":
            q = self.attention.query(s)                                  # W_q s_t: [Td, B, H]
            k = self.attention.key(enc_out).transpose(0, 1)              # W_k h_j: [B, Ts, H]
            score = torch.tanh(q[:, :, None, :] + k[None]) @ self.attention.v  # [Td, B, Ts]
        if cfg["attention"] != "none":
            src_pad = padding_mask(cfg["src_lengths"], Ts).t()[None]     # [1, B, Ts]
            alpha = torch.softmax(score.masked_fill(src_pad, -math.inf), -1)
            alpha = alpha.masked_fill(tgt_pad, 0.0)
            context = torch.einsum("tbj,jbw->tbw", alpha, enc_out)       # [Td, B, W_enc]
            s = torch.tanh(self.attention.combine(torch.cat([context, s], -1)))
            out["attention"] = alpha
        logits = self.head(s).masked_fill(tgt_pad, 0.0)                  # [Td, B, V_tgt]
        return dict(logits=logits, **out), token_ce(logits, inputs["tgt_out"])


MODELS = {"classifier": Classifier, "tagger": Tagger, "generator": Generator, "seq2seq": Seq2Seq}


# ---------------------------------------------------------------------------
# inputs

def random_ids(shape, V, low=0):
    return torch.randint(low, V, shape).to(torch.float32)


def make_inputs(cfg):
    """Random inputs, drawn after the weights from the same seeded generator."""
    kind = cfg["kind"]
    if kind in ("classifier", "tagger"):
        T, lengths = cfg["steps"], cfg["lengths"]
        B, pad = len(lengths), padding_mask(cfg["lengths"], cfg["steps"])
        inputs = {}
        if kind == "classifier" and cfg["input"] == "float":
            D = cfg["input_size"]
            inputs["x"] = torch.where(pad[:, :, None], GARBAGE * torch.randn(T, B, D),
                                      torch.randn(T, B, D))
        else:
            inputs["ids"] = random_ids((T, B), cfg["vocab_size"])   # padded: valid ids too
        if kind == "classifier":
            inputs["labels"] = random_ids((B,), cfg["num_classes"])
        else:
            inputs["tags"] = random_ids((T, B), cfg["num_classes"]).masked_fill(pad, -1.0)
        return inputs
    if kind == "generator":
        T, lengths = cfg["steps"], cfg["lengths"]
        B, pad = len(lengths), padding_mask(lengths, T)
        inputs = {"cond": torch.randn(B, cfg["cond_size"])}
        if cfg["output"] == "tokens":
            V = cfg["vocab_size"]
            y = random_ids((T, B), V, low=3)                # content tokens y_1 .. y_n
            garbage = random_ids((T, B), V)                 # padded input ids: any valid id
            inp = torch.cat([torch.full((1, B), float(BOS)), y[:-1]])
            tgt = y.clone()
            for b, n in enumerate(lengths):
                tgt[n - 1, b] = EOS
            inputs["inputs"] = torch.where(pad, garbage, inp)
            inputs["targets"] = tgt.masked_fill(pad, -1.0)
        else:
            assert all(n == T for n in lengths)
            D = cfg["input_size"]
            binary = torch.bernoulli(torch.full((T, B, D), 0.5))
            fractional = torch.rand(T, B, D) < 0.3
            rows = torch.where(fractional, torch.rand(T, B, D), binary)
            inputs["inputs"] = torch.cat([torch.zeros(1, B, D), rows[:-1]])
            inputs["rows"] = rows
        return inputs
    # seq2seq
    Ts, Td = cfg["src_steps"], cfg["tgt_steps"]
    B = len(cfg["src_lengths"])
    Vs, Vt = cfg["src_vocab_size"], cfg["tgt_vocab_size"]
    src = random_ids((Ts, B), Vs, low=3)
    src = torch.where(padding_mask(cfg["src_lengths"], Ts), random_ids((Ts, B), Vs), src)
    tgt_pad = padding_mask(cfg["tgt_lengths"], Td)
    y = random_ids((Td, B), Vt, low=3)
    tgt_in = torch.cat([torch.full((1, B), float(BOS)), y[:-1]])
    tgt_in = torch.where(tgt_pad, random_ids((Td, B), Vt), tgt_in)
    tgt_out = y.clone()
    for b, n in enumerate(cfg["tgt_lengths"]):
        tgt_out[n - 1, b] = EOS
    return {"src": src, "tgt_in": tgt_in, "tgt_out": tgt_out.masked_fill(tgt_pad, -1.0)}


def compute(model, inputs):
    """Forward + backward; returns loss [1], logits (and attention), grad.<name>."""
    model.zero_grad(set_to_none=True)
    dtype = next(model.parameters()).dtype
    outs, loss = model({k: v.to(dtype) for k, v in inputs.items()})
    loss.backward()
    res = {"loss": loss.reshape(1)}
    res.update(outs)
    for name, p in model.named_parameters():
        res[f"grad.{name}"] = p.grad
    return {k: v.detach() for k, v in res.items()}


# ---------------------------------------------------------------------------
# write and check

def make_case(case):
    cfg = full_config(case)
    torch.manual_seed(cfg["seed"])
    model = MODELS[cfg["kind"]](cfg)
    inputs = make_inputs(cfg)
    res = compute(model, inputs)
    tensors = {k: v.detach().clone() for k, v in model.state_dict().items()}
    assert list(tensors) == [n for n, _ in model.named_parameters()]
    tensors.update(inputs)
    tensors.update(res)
    path = os.path.join(OUT_DIR, f"{cfg['case']}.safetensors")
    write_safetensors(path, tensors, {"fixture": json.dumps(model_config(cfg))})
    return path


def describe(fx):
    k = fx["kind"]
    bits = [f"{k:10s}", f"{fx['cell']:8s}", f"H={fx['hidden_size']}", f"L={fx['num_layers']}"]
    if k == "classifier":
        bits += [f"{fx['input']}", f"pool={fx['pool']}", f"bi={int(fx['bidirectional'])}"]
    elif k == "tagger":
        bits += [f"bi={int(fx['bidirectional'])}"]
    elif k == "generator":
        bits += [fx["output"]]
    else:
        bits += [f"attention={fx['attention']}", f"bi={int(fx['bidirectional'])}"]
    if k == "seq2seq":
        bits += [f"src={fx['src_lengths']}/{fx['src_steps']}", f"tgt={fx['tgt_lengths']}/{fx['tgt_steps']}"]
    else:
        bits += [f"lengths={fx['lengths']}/{fx['steps']}"]
    return " ".join(bits)


def main():
    only_check = "--check" in sys.argv[1:]
    start(OUT_DIR)
    names = [c["case"] for c in CASES]
    assert len(set(names)) == len(names)
    if not only_check:
        for case in CASES:
            make_case(case)
    present = sorted(f for f in os.listdir(OUT_DIR) if f.endswith(".safetensors"))
    assert present == sorted(f"{n}.safetensors" for n in names), present
    total = 0
    for name in names:
        path = os.path.join(OUT_DIR, f"{name}.safetensors")
        fx, err, only_pad = check(path, CASES, lambda cfg: MODELS[cfg["kind"]](cfg), compute)
        size = os.path.getsize(path)
        total += size
        print(f"{os.path.relpath(path, REPO)}  {size:6d} bytes  {describe(fx)}  "
              f"ids only at padding: {only_pad}  max rel |float32 - float64 ref| {err:.1e}")
    print(f"{len(names)} files, total {total} bytes, torch {torch.__version__}: "
          f"{'checked' if only_check else 'written and checked'}")


if __name__ == "__main__":
    main()
