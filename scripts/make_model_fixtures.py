#!/usr/bin/python3
"""Generate the PyTorch fixtures of the task models in test/fixtures/models/.

The four model kinds of docs/models.md, written with torch.nn exactly as that
page specifies them: `classifier`, `tagger`, `generator` (tokens or bernoulli
rows) and `seq2seq` (attention none or luong). Every recurrent stack is an
nn.LSTM / nn.GRU / nn.RNN (dropout 0, batch_first=False) run on a packed
variable-length batch:

  packed = pack_padded_sequence(x, lengths, enforce_sorted=False)
  out_packed, state = rnn(packed, state0)
  out, _ = pad_packed_sequence(out_packed, total_length=T)

Weights: PyTorch's default initialisation (nn.Embedding N(0, 1), nn.Linear
kaiming-uniform, recurrent U(-1/sqrt(H), 1/sqrt(H))) under
torch.manual_seed(seed_of(case)); the inputs are drawn afterwards from the
same generator. One forward and one backward of the model's loss; the file
holds, in this order: the state_dict (docs/models.md's names), the inputs,
`loss` [1], `logits` (exactly 0 at padded positions), `attention` (luong
seq2seq only), then `grad.<name>` for every parameter. Token ids are stored
as float32 (exact small integers); padded id positions hold a valid random id
and padded float inputs hold 1e3 * N(0, 1), so that anything read from the
padding shows; targets are -1 at padding. Metadata: a single key `fixture`,
JSON with kind, case, seed, torch_version and every config value.

Float32 on the CPU with one thread: reruns give identical bytes. After
writing, the script reloads every file, rebuilds the model from its tensors,
recomputes every result (must be equal), checks the padding (logits and
attention exactly 0 there, targets -1, embedding-gradient rows of ids seen only
at padded positions exactly 0), and recomputes everything in float64 with an
independent implementation: explicit per-sequence loops over hand-written
cells (no packing, no nn modules), the attention as per-step loops over the
valid source positions, the loss as an explicit sum; the stored float32
results must be within MAX_F32_ERROR of it.

    /usr/bin/python3 scripts/make_model_fixtures.py           # write + check
    /usr/bin/python3 scripts/make_model_fixtures.py --check   # check only
"""
import json
import math
import os
import sys

sys.dont_write_bytecode = True

from fixture_io import REPO, read_tensors, seed_of, start, write_safetensors  # noqa: E402

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence  # noqa: E402

OUT_DIR = os.path.join(REPO, "test", "fixtures", "models")
CELLS = ("lstm", "gru", "rnn_tanh", "rnn_relu")
KINDS = ("classifier", "tagger", "generator", "seq2seq")
GARBAGE = 1e3        # padded float inputs: GARBAGE * N(0, 1)
UNK, BOS, EOS = 0, 1, 2  # token conventions of the generator and seq2seq cases
MAX_F32_ERROR = 1e-5  # max |float32 - float64| / max |float64| over every stored result

# ---------------------------------------------------------------------------
# cases (sizes: H <= 8, E <= 6, T <= 9, B <= 5, V <= 12, C <= 5)
# lengths: classifier / tagger: n_b; generator tokens: n_b + 1 (</s> appended);
# generator bernoulli: all T; seq2seq: src m_b, tgt n_b + 1.

CASES = [
    # classifier, tokens
    dict(kind="classifier", case="classifier_lstm_last", cell="lstm", input="tokens",
         vocab_size=10, embedding_size=5, hidden_size=7, num_layers=1, bidirectional=False,
         pool="last", num_classes=4, steps=8, lengths=[5, 8, 1, 6]),
    dict(kind="classifier", case="classifier_gru_last_bi", cell="gru", input="tokens",
         vocab_size=11, embedding_size=6, hidden_size=6, num_layers=1, bidirectional=True,
         pool="last", num_classes=3, steps=7, lengths=[4, 7, 2, 5, 3]),
    dict(kind="classifier", case="classifier_lstm_mean_bi_l2", cell="lstm", input="tokens",
         vocab_size=12, embedding_size=4, hidden_size=5, num_layers=2, bidirectional=True,
         pool="mean", num_classes=5, steps=9, lengths=[6, 3, 7, 2]),
    dict(kind="classifier", case="classifier_rnn_tanh_max", cell="rnn_tanh", input="tokens",
         vocab_size=9, embedding_size=5, hidden_size=8, num_layers=1, bidirectional=False,
         pool="max", num_classes=4, steps=6, lengths=[6, 1, 4]),
    # classifier, float vectors
    dict(kind="classifier", case="classifier_lstm_last_float", cell="lstm", input="float",
         input_size=4, hidden_size=6, num_layers=1, bidirectional=False,
         pool="last", num_classes=3, steps=8, lengths=[3, 8, 5, 6]),
    dict(kind="classifier", case="classifier_gru_max_bi_float", cell="gru", input="float",
         input_size=5, hidden_size=5, num_layers=2, bidirectional=True,
         pool="max", num_classes=4, steps=7, lengths=[2, 6, 4, 1, 5]),
    # tagger
    dict(kind="tagger", case="tagger_lstm_bi", cell="lstm",
         vocab_size=10, embedding_size=5, hidden_size=6, num_layers=1, bidirectional=True,
         num_classes=5, steps=8, lengths=[8, 3, 6, 1]),
    dict(kind="tagger", case="tagger_gru_l2", cell="gru",
         vocab_size=12, embedding_size=6, hidden_size=7, num_layers=2, bidirectional=False,
         num_classes=4, steps=9, lengths=[5, 8, 2, 7, 4]),
    # generator, tokens (lengths = n_b + 1; 1 = the empty sequence, <s> -> </s>)
    dict(kind="generator", case="generator_lstm_tokens_l2", cell="lstm", output="tokens",
         vocab_size=10, embedding_size=5, hidden_size=6, num_layers=2, cond_size=3,
         steps=8, lengths=[5, 7, 1, 4]),
    dict(kind="generator", case="generator_gru_tokens", cell="gru", output="tokens",
         vocab_size=12, embedding_size=4, hidden_size=8, num_layers=1, cond_size=4,
         steps=8, lengths=[6, 3, 8, 4, 5]),
    # generator, bernoulli rows (uniform length T)
    dict(kind="generator", case="generator_lstm_bernoulli", cell="lstm", output="bernoulli",
         input_size=6, hidden_size=7, num_layers=1, cond_size=3, steps=6, lengths=[6, 6, 6]),
    dict(kind="generator", case="generator_gru_bernoulli_l2", cell="gru", output="bernoulli",
         input_size=5, hidden_size=6, num_layers=2, cond_size=4, steps=7, lengths=[7, 7, 7, 7]),
    # seq2seq
    dict(kind="seq2seq", case="seq2seq_lstm_none", cell="lstm", attention="none",
         src_vocab_size=10, tgt_vocab_size=9, embedding_size=5, hidden_size=6, num_layers=1,
         bidirectional=False, src_steps=7, tgt_steps=6,
         src_lengths=[5, 7, 2, 4], tgt_lengths=[3, 6, 1, 5]),
    dict(kind="seq2seq", case="seq2seq_gru_luong_l2", cell="gru", attention="luong",
         src_vocab_size=11, tgt_vocab_size=12, embedding_size=6, hidden_size=7, num_layers=2,
         bidirectional=False, src_steps=9, tgt_steps=8,
         src_lengths=[8, 3, 6, 1, 5], tgt_lengths=[4, 7, 2, 5, 3]),
    dict(kind="seq2seq", case="seq2seq_lstm_luong_bi", cell="lstm", attention="luong",
         src_vocab_size=12, tgt_vocab_size=10, embedding_size=4, hidden_size=5, num_layers=1,
         bidirectional=True, src_steps=9, tgt_steps=7,
         src_lengths=[6, 9, 3, 7], tgt_lengths=[5, 2, 7, 4]),
    dict(kind="seq2seq", case="seq2seq_gru_none_bi_l2", cell="gru", attention="none",
         src_vocab_size=9, tgt_vocab_size=11, embedding_size=5, hidden_size=6, num_layers=2,
         bidirectional=True, src_steps=7, tgt_steps=8,
         src_lengths=[4, 6, 2, 5, 3], tgt_lengths=[6, 3, 7, 1, 5]),
]


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


def padding_mask(lengths, T):
    """[T, B] bool, True at padded positions (t >= lengths[b])."""
    return torch.arange(T)[:, None] >= torch.tensor(lengths)[None, :]


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
# write and check

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


def check(path):
    """Reload a file, recompute it, check the layout and the padding; returns the
    fixture metadata, the max relative distance of the stored results from the
    float64 reference, and the number of ids seen only at padded positions."""
    tensors, meta = read_tensors(path)
    assert set(meta) == {"fixture"}, path
    fx = json.loads(meta["fixture"])
    case = next(c for c in CASES if c["case"] == fx["case"])
    cfg = full_config(case)
    assert fx == model_config(cfg) | {"torch_version": fx["torch_version"]}, path
    assert fx["case"] == os.path.basename(path)[:-len(".safetensors")]
    kind = fx["kind"]
    model = MODELS[kind](cfg)
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
        fx, err, only_pad = check(path)
        size = os.path.getsize(path)
        total += size
        print(f"{os.path.relpath(path, REPO)}  {size:6d} bytes  {describe(fx)}  "
              f"ids only at padding: {only_pad}  max rel |float32 - float64 ref| {err:.1e}")
    print(f"{len(names)} files, total {total} bytes, torch {torch.__version__}: "
          f"{'checked' if only_check else 'written and checked'}")


if __name__ == "__main__":
    main()
