#!/usr/bin/python3
"""Generate the PyTorch training-step fixtures in test/fixtures/train/.

Each case trains a tiny reference CharLM (../shared/reference/charlm.py) for K
steps exactly the way rnnkit's Trainer does (src/train/trainer.ts) and stores
the result, so test/train-fixtures.test.ts can check rnnkit's batching,
truncated BPTT, loss, gradient clipping and optimizers against torch.optim:

  * batching (src/data/batches.ts): the text's ids are cut into B streams of
    S = floor((N-1)/B) tokens; stream b starts at b*S; chunk k feeds inputs
    ids[b*S + k*T + t] and targets ids[b*S + k*T + t + 1], t < T. There are
    floor(S/T) chunks per epoch; after the last one the streams wrap to chunk 0
    and the carried state is reset to zero.
  * the hidden state is carried from chunk to chunk and detached (truncated
    BPTT with k1 = k2 = T), starting from the zero state;
  * loss = mean cross-entropy over all B*T positions;
  * gradient clipping: torch.nn.utils.clip_grad_norm_ (max_norm small enough
    that it triggers on every step) or torch.nn.utils.clip_grad_value_;
  * one torch.optim step (SGD with momentum, Adagrad, RMSprop or Adam) per chunk.

The run is done twice from the same initial weights, in float32 and in
float64. Each file is laid out like a checkpoint from charlm.py's
write_checkpoint and holds the INITIAL weights under their state_dict names (so
it is also a valid rnnkit checkpoint of the untrained model), plus extra F32
tensors:

  fixture.losses            [K]  loss of each step (before its update)
  fixture.grad_norms        [K]  global L2 gradient norm of each step, before clipping
  fixture.final.<name>           every parameter after the K updates
  fixture.slot.<slot>.<name>     optimizer state after the K updates, under rnnkit's
                                 slot names (sgd: momentum = momentum_buffer;
                                 adagrad: sum; rmsprop: square_avg; adam: m = exp_avg,
                                 v = exp_avg_sq)
  fixture.f64.losses, fixture.f64.grad_norms, fixture.f64.slot.<slot>.<name>
                                 the same from the float64 run (rounded to float32)
  fixture.f64.update.<name>      float64 run: final minus initial parameters

and a metadata key "fixture" (JSON) with the text and every hyperparameter.
In float32, adaptive optimizers turn the rounding error of small gradient
entries into visible parameter differences; the float64 run lets the test check
the update formulas tightly.

Everything runs on the CPU with one thread; a rerun with the same
PyTorch build rewrites byte-identical files. After writing, the script reloads
each file with charlm.read_checkpoint, trains again and checks that the stored
results are reproduced exactly. Run with the Debian system interpreter:

    /usr/bin/python3 scripts/make_train_fixtures.py     (npm run fixtures runs it too)
"""
import copy
import json
import os
import sys

sys.dont_write_bytecode = True  # no __pycache__ in scripts/ or ../shared/reference

import fixture_io  # noqa: E402
from fixture_io import REPO, checkpoint_metadata, encode, read_tensors, start, write_safetensors  # noqa: E402

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from charlm import CharLM, read_checkpoint  # noqa: E402  (path set by fixture_io)

OUT_DIR = os.path.join(REPO, "test", "fixtures", "train")

B, T, K = 3, 10, 5
# S = floor((N-1)/B) = 53: 5 chunks per epoch, 3 tokens per stream unused, so a
# reader that assumed S = chunks*T would read the wrong characters.
TEXT_LEN = 3 * 53 + 2
# S = 25: 2 chunks per epoch, so K = 5 steps wrap twice (state reset at each wrap).
WRAP_TEXT_LEN = 3 * 25 + 2

# Every case: name, cell, layers, embedding, hidden, text offset, text length,
# optimizer, hyperparameters. eps is passed explicitly (rnnkit has one eps for
# adagrad/rmsprop/adam; torch's Adagrad default is 1e-10, RMSprop/Adam 1e-8).
CASES = [
    dict(case="sgd", cell="lstm", layers=1, emb=6, hidden=8, offset=0, length=TEXT_LEN,
         optimizer="sgd", lr=0.5, momentum=0.9, clip=0.1, clip_value=0.0),
    dict(case="sgd_clip_value", cell="lstm", layers=1, emb=6, hidden=8, offset=0, length=TEXT_LEN,
         optimizer="sgd", lr=0.5, momentum=0.9, clip=0.0, clip_value=0.01),
    dict(case="adagrad", cell="gru", layers=1, emb=6, hidden=8, offset=1000, length=TEXT_LEN,
         optimizer="adagrad", lr=0.05, eps=1e-10, clip=0.1, clip_value=0.0),
    dict(case="rmsprop", cell="rnn_tanh", layers=1, emb=6, hidden=8, offset=2000, length=TEXT_LEN,
         optimizer="rmsprop", lr=0.002, alpha=0.99, eps=1e-8, clip=0.1, clip_value=0.0),
    dict(case="adam", cell="lstm", layers=2, emb=6, hidden=8, offset=3000, length=TEXT_LEN,
         optimizer="adam", lr=0.01, beta1=0.9, beta2=0.999, eps=1e-8, clip=0.1, clip_value=0.0),
    dict(case="adam_epoch_wrap", cell="lstm", layers=1, emb=6, hidden=8, offset=4000, length=WRAP_TEXT_LEN,
         optimizer="adam", lr=0.01, beta1=0.9, beta2=0.999, eps=1e-8, clip=0.1, clip_value=0.0),
]

# torch state key -> rnnkit slot name
SLOTS = {
    "sgd": [("momentum_buffer", "momentum")],
    "adagrad": [("sum", "sum")],
    "rmsprop": [("square_avg", "square_avg")],
    "adam": [("exp_avg", "m"), ("exp_avg_sq", "v")],
}


def seed_of(name):
    """Stable per-case seed derived from the case name ("train/" keeps it apart
    from make_fixtures.py's seeds)."""
    return fixture_io.seed_of("train/" + name)


def make_optimizer(c, params):
    name = c["optimizer"]
    if name == "sgd":
        return torch.optim.SGD(params, lr=c["lr"], momentum=c["momentum"])
    if name == "adagrad":
        return torch.optim.Adagrad(params, lr=c["lr"], eps=c["eps"])
    if name == "rmsprop":
        return torch.optim.RMSprop(params, lr=c["lr"], alpha=c["alpha"], eps=c["eps"])
    if name == "adam":
        return torch.optim.Adam(params, lr=c["lr"], betas=(c["beta1"], c["beta2"]), eps=c["eps"])
    raise ValueError(name)


def detach(state):
    if isinstance(state, tuple):
        return tuple(s.detach() for s in state)
    return state.detach()


def train(model, ids, c):
    """K steps of rnnkit's Trainer.trainStep; returns losses, grad norms, optimizer."""
    N = ids.numel()
    S = (N - 1) // B
    chunks = S // T
    assert chunks >= 1
    params = list(model.parameters())
    opt = make_optimizer(c, params)
    state = None  # zero state
    losses, norms = [], []
    chunk = 0
    starts = torch.arange(B) * S
    for _ in range(K):
        pos = starts[:, None] + chunk * T + torch.arange(T)[None, :]  # [B, T]
        x, y = ids[pos], ids[pos + 1]
        opt.zero_grad(set_to_none=True)
        logits, state = model(x, state)
        V = logits.shape[-1]
        loss = F.cross_entropy(logits.reshape(-1, V), y.reshape(-1))
        loss.backward()
        if c["clip_value"] > 0:
            norm = torch.norm(torch.stack([torch.norm(p.grad.detach(), 2) for p in params]), 2)
            assert max(p.grad.abs().max().item() for p in params) > c["clip_value"], "clipping should trigger"
            torch.nn.utils.clip_grad_value_(params, c["clip_value"])
        elif c["clip"] > 0:
            norm = torch.nn.utils.clip_grad_norm_(params, c["clip"])
            assert norm.item() > c["clip"], "clipping should trigger"
        else:
            norm = torch.norm(torch.stack([torch.norm(p.grad.detach(), 2) for p in params]), 2)
        opt.step()
        losses.append(loss.detach().reshape(()))
        norms.append(norm.detach().reshape(()))
        state = detach(state)
        chunk += 1
        if chunk == chunks:  # wrap: the carried state means nothing at the stream starts
            chunk = 0
            state = None
    return torch.stack(losses), torch.stack(norms), opt


def results(model, ids, c):
    """fixture.* tensors of a float32 run of model (trained in place)."""
    losses, norms, opt = train(model, ids, c)
    out = {"fixture.losses": losses, "fixture.grad_norms": norms}
    for name, p in model.named_parameters():
        out[f"fixture.final.{name}"] = p.detach().clone()
    for name, p in model.named_parameters():
        for key, slot in SLOTS[c["optimizer"]]:
            out[f"fixture.slot.{slot}.{name}"] = opt.state[p][key].detach().clone()
    return out


def results_f64(model, ids, c):
    """fixture.f64.* tensors: the same run in float64 from the same initial weights."""
    model = copy.deepcopy(model).double()
    initial = {k: v.detach().clone() for k, v in model.state_dict().items()}
    losses, norms, opt = train(model, ids, c)
    out = {"fixture.f64.losses": losses, "fixture.f64.grad_norms": norms}
    for name, p in model.named_parameters():
        out[f"fixture.f64.update.{name}"] = p.detach() - initial[name]
    for name, p in model.named_parameters():
        for key, slot in SLOTS[c["optimizer"]]:
            out[f"fixture.f64.slot.{slot}.{name}"] = opt.state[p][key].detach().clone()
    # stored as F32: round here so that verify() can compare exactly
    return {k: v.to(torch.float32) for k, v in out.items()}


def write_fixture(path, initial, config, vocab, extra, fixture_meta):
    """charlm.write_checkpoint's layout, with extra F32 tensors appended."""
    tensors = dict(initial)
    for k, v in extra.items():
        assert k.startswith("fixture.") and k not in tensors
        tensors[k] = v
    write_safetensors(path, tensors, checkpoint_metadata(config, vocab, fixture_meta))


def make_case(c, corpus):
    text = corpus[c["offset"]:c["offset"] + c["length"]]
    assert len(text) == c["length"]
    vocab = sorted(set(text), key=ord)
    seed = seed_of(c["case"])
    torch.manual_seed(seed)
    model = CharLM(len(vocab), c["emb"], c["hidden"], c["layers"], c["cell"])
    initial = {k: v.detach().clone() for k, v in model.state_dict().items()}
    ids = encode(text, vocab)
    extra = results_f64(model, ids, c)  # first: results() trains model in place
    extra.update(results(model, ids, c))
    meta = {k: v for k, v in c.items() if k not in ("offset", "length", "emb", "hidden", "layers")}
    meta.update(batch=B, seq=T, steps=K, text=text, seed=seed, torch_version=torch.__version__)
    path = os.path.join(OUT_DIR, f"{c['case']}.safetensors")
    write_fixture(path, initial, model.config, vocab, extra, meta)
    return path


def verify(path, c):
    """Reload with charlm.read_checkpoint, train again, compare exactly."""
    model, vocab = read_checkpoint(path)
    tensors, meta = read_tensors(path)
    fx = json.loads(meta["fixture"])
    assert fx["case"] == c["case"] and (fx["batch"], fx["seq"], fx["steps"]) == (B, T, K)
    ids = encode(fx["text"], vocab)
    again = results_f64(model, ids, c)
    again.update(results(model, ids, c))
    assert set(again) == {k for k in tensors if k.startswith("fixture.")}, path
    for k, v in again.items():
        assert torch.equal(v, tensors[k]), (path, k)
    moved = max((tensors[f"fixture.final.{n}"] - tensors[n]).abs().max().item()
                for n in model.state_dict())
    return tensors["fixture.losses"], tensors["fixture.grad_norms"], moved


def main():
    corpus = start(OUT_DIR)
    total = 0
    for c in CASES:
        path = make_case(c, corpus)
        losses, norms, moved = verify(path, c)
        size = os.path.getsize(path)
        total += size
        print(f"{os.path.relpath(path, REPO)}  {size:6d} bytes  "
              f"losses {' '.join(f'{x:.4f}' for x in losses.tolist())}  "
              f"norms {' '.join(f'{x:.3f}' for x in norms.tolist())}  max |update| {moved:.2e}")
    print(f"total {total} bytes, torch {torch.__version__}")


if __name__ == "__main__":
    main()
