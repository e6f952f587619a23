#!/usr/bin/python3
"""Generate the PyTorch reference fixtures in test/fixtures/.

Each fixture is one safetensors file, test/fixtures/<case>.safetensors, laid
out exactly like a checkpoint from ../shared/reference/charlm.py's
write_checkpoint (u64 LE header length, JSON header padded with spaces to a
multiple of 8, little-endian F32 tensors, metadata format/config/vocab), so
every fixture is also a valid rnnkit checkpoint. Besides the model tensors
each file holds extra F32 tensors prefixed "fixture.":

  fixture.ids           [B, T+1]  token ids (as float32); inputs ids[:, :-1],
                                  targets ids[:, 1:]
  fixture.logits        [B, T, V] logits of model(ids[:, :-1], state0)
  fixture.loss          [1]       mean cross-entropy (nats) over all B*T positions
  fixture.grad.<name>             d loss / d <name> for every model tensor
  fixture.h0, fixture.c0  [L, B, H]  initial state (cases with one; c0 for lstm)
  fixture.grad.h0, fixture.grad.c0   d loss / d initial state (same cases)
  fixture.hT, fixture.cT  [L, B, H]  final state (always; cT for lstm)

plus a metadata key "fixture" (JSON: case, batch, steps, has_initial_state,
torch_version, seed, cell and, for text cases, the text itself).

Everything is computed in float32 on the CPU with one thread, so reruns give
identical bytes. Run with the Debian system interpreter:

    /usr/bin/python3 scripts/make_fixtures.py     (or: npm run fixtures)
"""
import json
import os
import sys

sys.dont_write_bytecode = True  # no __pycache__ in scripts/ or ../shared/reference

from fixture_io import (REPO, checkpoint_metadata, encode, read_tensors, start,  # noqa: E402
                        seed_of, write_safetensors)

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from charlm import CharLM, read_checkpoint  # noqa: E402  (path set by fixture_io)

OUT_DIR = os.path.join(REPO, "test", "fixtures")

# name, cell, layers, embedding, hidden, steps, text offset
TEXT_CASES = [
    ("rnn_tanh_l1", "rnn_tanh", 1, 8, 16, 300, 0),
    ("rnn_relu_l2", "rnn_relu", 2, 8, 16, 200, 5000),
    ("lstm_l1", "lstm", 1, 10, 20, 400, 10000),
    ("lstm_l2", "lstm", 2, 12, 24, 300, 20000),
    ("lstm_l3", "lstm", 3, 8, 16, 250, 30000),
    ("gru_l1", "gru", 1, 10, 20, 400, 50000),
    ("gru_l2", "gru", 2, 12, 24, 300, 90000),
    ("gru_l3", "gru", 3, 8, 16, 250, 120000),
    ("rnn_tanh_l3", "rnn_tanh", 3, 8, 12, 200, 200000),
]

# name, cell, layers, embedding, hidden, batch, steps, vocab excerpt offset
BATCH_CASES = [
    ("lstm_l2_batch", "lstm", 2, 8, 16, 4, 120, 70000),
    ("gru_l2_batch", "gru", 2, 8, 16, 3, 100, 300000),
    ("rnn_tanh_l2_batch", "rnn_tanh", 2, 6, 12, 5, 80, 1000),
]
BATCH_VOCAB_CHARS = 300  # vocab of a batched case = sorted set of this many characters

# A BMP-and-beyond case: accented letters, a Greek letter and an emoji (U+1F642,
# one token although it is two UTF-16 code units).
UNICODE_CASE = ("lstm_unicode", "lstm", 1, 8, 16,
                "Café 🙂 naïve — déjà vu! Ωmega 🙂 crème brûlée.")


def write_fixture(path, model, vocab, extra, fixture_meta):
    """charlm.write_checkpoint's layout, with extra F32 tensors appended."""
    tensors = dict(model.state_dict())
    for k, v in extra.items():
        assert k.startswith("fixture.") and k not in tensors
        tensors[k] = v
    write_safetensors(path, tensors, checkpoint_metadata(model.config, vocab, fixture_meta))


def initial_state(cell, layers, batch, hidden):
    h0 = (torch.randn(layers, batch, hidden) * 0.5).requires_grad_(True)
    if cell == "lstm":
        c0 = (torch.randn(layers, batch, hidden) * 0.5).requires_grad_(True)
        return (h0, c0)
    return h0


def compute(model, cell, ids, state0):
    """Forward + backward in float32; returns the fixture.* tensors."""
    model.zero_grad(set_to_none=True)
    logits, stateT = model(ids[:, :-1], state0)
    V = logits.shape[-1]
    loss = F.cross_entropy(logits.reshape(-1, V), ids[:, 1:].reshape(-1))
    loss.backward()
    out = {
        "fixture.ids": ids.to(torch.float32),
        "fixture.logits": logits,
        "fixture.loss": loss.reshape(1),
    }
    for name, p in model.named_parameters():
        out[f"fixture.grad.{name}"] = p.grad if p.grad is not None else torch.zeros_like(p)
    if state0 is not None:
        if cell == "lstm":
            h0, c0 = state0
            out["fixture.h0"], out["fixture.c0"] = h0, c0
            out["fixture.grad.h0"], out["fixture.grad.c0"] = h0.grad, c0.grad
        else:
            out["fixture.h0"] = state0
            out["fixture.grad.h0"] = state0.grad
    if cell == "lstm":
        out["fixture.hT"], out["fixture.cT"] = stateT
    else:
        out["fixture.hT"] = stateT
    return out


def make_case(name, cell, layers, emb, hidden, vocab, ids_fn, batch, steps, with_state, text=None):
    seed = seed_of(name)
    torch.manual_seed(seed)
    model = CharLM(len(vocab), emb, hidden, layers, cell)
    ids = ids_fn()
    assert ids.shape == (batch, steps + 1) and ids.dtype == torch.long
    state0 = initial_state(cell, layers, batch, hidden) if with_state else None
    extra = compute(model, cell, ids, state0)
    meta = {"case": name, "batch": batch, "steps": steps, "has_initial_state": with_state,
            "torch_version": torch.__version__, "seed": seed, "cell": cell}
    if text is not None:
        meta["text"] = text
    path = os.path.join(OUT_DIR, f"{name}.safetensors")
    write_fixture(path, model, vocab, extra, meta)
    return path


def verify(path):
    """Reload with charlm.read_checkpoint and recompute logits, loss, state and grads."""
    model, vocab = read_checkpoint(path)
    tensors, meta = read_tensors(path)
    fx = json.loads(meta["fixture"])
    cell = model.config["cell"]
    assert json.loads(meta["config"]) == model.config and meta["format"] == "rnnkit/1"
    assert list(vocab) == sorted(vocab, key=ord) and len(set(vocab)) == len(vocab)
    assert all(len(tok) == 1 for tok in vocab)
    ids = tensors["fixture.ids"].to(torch.long)
    assert torch.equal(ids.to(torch.float32), tensors["fixture.ids"])
    assert ids.shape == (fx["batch"], fx["steps"] + 1)
    if "text" in fx:
        assert torch.equal(encode(fx["text"], vocab)[None], ids)
    state0 = None
    if fx["has_initial_state"]:
        h0 = tensors["fixture.h0"].clone().requires_grad_(True)
        state0 = (h0, tensors["fixture.c0"].clone().requires_grad_(True)) if cell == "lstm" else h0
    else:
        assert "fixture.h0" not in tensors and "fixture.c0" not in tensors
    again = compute(model, cell, ids, state0)
    assert set(again) == {k for k in tensors if k.startswith("fixture.")}, path
    worst = 0.0
    for k, v in again.items():
        ref = tensors[k]
        assert ref.shape == v.shape, (path, k)
        worst = max(worst, (v.detach() - ref).abs().max().item())
    return again["fixture.loss"].item(), tensors["fixture.loss"].item(), worst


def main():
    corpus = start(OUT_DIR)

    paths = []
    for name, cell, layers, emb, hidden, steps, off in TEXT_CASES:
        text = corpus[off:off + steps + 1]
        vocab = sorted(set(text), key=ord)
        paths.append(make_case(name, cell, layers, emb, hidden, vocab,
                               lambda: encode(text, vocab)[None], 1, steps, False, text))

    for name, cell, layers, emb, hidden, batch, steps, off in BATCH_CASES:
        vocab = sorted(set(corpus[off:off + BATCH_VOCAB_CHARS]), key=ord)
        # ids are drawn after the model's init, from the same seeded generator
        paths.append(make_case(name, cell, layers, emb, hidden, vocab,
                               lambda: torch.randint(0, len(vocab), (batch, steps + 1)),
                               batch, steps, True))

    name, cell, layers, emb, hidden, text = UNICODE_CASE
    vocab = sorted(set(text), key=ord)
    assert any(ord(ch) > 0xFFFF for ch in vocab)
    paths.append(make_case(name, cell, layers, emb, hidden, vocab,
                           lambda: encode(text, vocab)[None], 1, len(text) - 1, False, text))

    total = 0
    for path in paths:
        recomputed, stored, worst = verify(path)
        assert recomputed == stored, (path, recomputed, stored)
        size = os.path.getsize(path)
        total += size
        print(f"{os.path.relpath(path, REPO)}  {size:7d} bytes  loss {stored:.6f}  "
              f"max |recomputed - stored| {worst:.1e}")
    print(f"total {total} bytes, torch {torch.__version__}")


if __name__ == "__main__":
    main()
