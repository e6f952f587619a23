#!/usr/bin/env python3
"""PyTorch baseline for `rnnkit bench` (see BENCHMARKS.md).

Measures the reference CharLM (../shared/reference/charlm.py, relative to the repo
root) the way `rnnkit bench` measures rnnkit, and prints one JSON object per line:

  {"kind": "env", ...}     torch version, threads, which BLAS is loaded, sgemm GFLOP/s
  {"kind": "bench", ...}   per config: train_tokens_per_s, sample_chars_per_s, peak_rss_mb
  {"kind": "eval", ...}    --time-to-loss: one line per validation
  {"kind": "time_to_loss", ...}

Training step = forward, CrossEntropy, backward, clip_grad_norm_(5), Adam step, hidden
state detached and carried to the next chunk (B streams read in chunks of T, as
rnnkit's StreamBatches). Sampling = batch 1 under torch.no_grad(), one step at a time,
each drawn character fed back. Warm-up, then the median of several timing windows.

Baseline rules: PyTorch as users install it, the pip wheel (MKL + oneDNN) in a virtual
environment, 2 threads:
  python3 -m venv .venv-torch && .venv-torch/bin/pip install torch numpy
  .venv-torch/bin/python scripts/bench_torch.py ...
Run with Debian's python3-torch it is an extra reference only; there, if LD_LIBRARY_PATH
lacks libopenblas0-openmp's directory and it exists, the script re-executes itself with
it set. Without an optimized BLAS torch falls back
to the reference BLAS (~15x slower) and any comparison is void: the script checks which
BLAS library is loaded and times a 1024^3 sgemm, and refuses (exit 3) to report then.

  bench_torch.py --configs lstm-32-64-128-1,rnn-1-25-100-1 [--seconds 1 --windows 5]
  bench_torch.py --time-to-loss data/tinyshakespeare.txt --cell lstm --layers 1 \\
      --hidden 128 --embedding 32 --batch 32 --seq 64 --lr 0.003 --eval-every 100
  bench_torch.py --check-blas
"""
import argparse
import json
import math
import os
import resource
import statistics
import sys
import time

OPENMP_DIR = "/usr/lib/x86_64-linux-gnu/openblas-openmp"
THREADS_DEFAULT = 2
MIN_GFLOPS = 20.0  # OpenBLAS on 2 cores does 50-190 GFLOP/s here; the reference BLAS 1-3


def reexec_with_openblas():
    """Run under the baseline's environment (before torch is imported)."""
    if os.environ.get("RNNKIT_BENCH_NO_REEXEC"):
        return
    paths = [p for p in os.environ.get("LD_LIBRARY_PATH", "").split(":") if p]
    if os.path.isdir(OPENMP_DIR) and OPENMP_DIR not in paths:
        env = dict(os.environ, LD_LIBRARY_PATH=":".join([OPENMP_DIR] + paths), RNNKIT_BENCH_NO_REEXEC="1")
        env.setdefault("OMP_NUM_THREADS", str(THREADS_DEFAULT))
        os.execve(sys.executable, [sys.executable] + sys.argv, env)


REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REFERENCE = os.path.join(REPO, "..", "shared", "reference")


def emit(obj):
    print(json.dumps(obj), flush=True)


def parse_config(name, embedding, vocab):
    parts = name.split("-")
    if len(parts) != 5:
        raise SystemExit(f"bench_torch.py: config must look like cell-B-T-H-L, got '{name}'")
    cell = {"rnn": "rnn_tanh"}.get(parts[0], parts[0])
    b, t, h, l = (int(p) for p in parts[1:])
    return dict(name=name, cell=cell, batch=b, seq=t, hidden=h, layers=l, embedding=embedding, vocab=vocab)


# ---- BLAS check ---------------------------------------------------------------

def loaded_blas_libraries():
    libs = set()
    with open("/proc/self/maps") as f:
        for line in f:
            path = line.split()[-1] if len(line.split()) >= 6 else ""
            base = os.path.basename(path).lower()
            if any(k in base for k in ("blas", "lapack", "mkl", "blis", "atlas")):
                libs.add(os.path.realpath(path))
    return sorted(libs)


def check_blas(torch, threads):
    a, b = torch.randn(1024, 1024), torch.randn(1024, 1024)
    a @ b  # loads the BLAS and starts its threads
    best = 0.0
    for _ in range(3):
        t0, n = time.perf_counter(), 0
        while True:
            a @ b
            n += 1
            dt = time.perf_counter() - t0
            if dt >= 0.3:
                break
        best = max(best, 2 * 1024 ** 3 * n / dt / 1e9)
    libs = loaded_blas_libraries()
    info = [l.strip() for l in torch.__config__.show().splitlines() if "BLAS" in l]
    blas_info = ""
    for l in info:
        for part in l.split(","):
            if "BLAS_INFO" in part:
                blas_info = part.split("=", 1)[-1].strip()
    # sgemm_ comes from the library loaded as libblas.so.3 (Debian's alternatives);
    # OpenBLAS's liblapack also maps libopenblas, so look at the libblas one first
    blas_libs = [l for l in libs if os.path.basename(l).startswith("libblas")] or libs
    optimized = [l for l in blas_libs if any(k in l.lower() for k in ("openblas", "mkl", "blis", "atlas"))]
    if blas_info.lower() == "mkl" and not optimized:
        optimized = ["MKL, linked into libtorch_cpu"]  # the pip wheel: no separate BLAS library
    variant = ("mkl" if blas_info.lower() == "mkl"
               else "openblas-openmp" if any("openblas-openmp" in l for l in optimized)
               else "openblas-pthread" if any("openblas-pthread" in l for l in optimized)
               else os.path.basename(optimized[0]) if optimized
               else f"reference BLAS ({blas_libs[0]})" if blas_libs else "none found")
    try:
        capability = torch.backends.cpu.get_cpu_capability()
    except AttributeError:  # torch < 2.0
        capability = None
    pip_wheel = "+cpu" in torch.__version__ or not torch.__file__.startswith("/usr/lib/")
    void_reason = None
    if not optimized:
        void_reason = f"torch's BLAS is not an optimized one ({variant}; loaded: {', '.join(libs) or 'none'})"
    elif best < MIN_GFLOPS:
        void_reason = f"1024^3 sgemm runs at {best:.1f} GFLOP/s (< {MIN_GFLOPS}): reference-BLAS speed"
    return dict(
        kind="env", torch=torch.__version__, python=sys.version.split()[0], threads=torch.get_num_threads(),
        requested_threads=threads, blas=variant, blas_libraries=libs, torch_blas_info=blas_info,
        sgemm_1024_gflops=round(best, 1), ld_library_path=os.environ.get("LD_LIBRARY_PATH", ""),
        cpu_capability=capability, mkldnn=torch.backends.mkldnn.is_available(), pip_wheel=pip_wheel,
        # the baseline is PyTorch as users install it: the pip wheel (MKL + oneDNN), 2 threads
        baseline_rules=(pip_wheel and variant == "mkl" and torch.get_num_threads() == THREADS_DEFAULT),
        valid=void_reason is None, void_reason=void_reason, config=torch.__config__.show(),
    )


# ---- speed --------------------------------------------------------------------

def measure(work, warmup, seconds, windows, min_calls=2):
    t0, calls = time.perf_counter(), 0
    while calls < min_calls or time.perf_counter() - t0 < warmup:
        work()
        calls += 1
    rates, per_call = [], []
    for _ in range(windows):
        units, n = 0, 0
        t0 = time.perf_counter()
        while True:
            units += work()
            n += 1
            t = time.perf_counter()
            if t - t0 >= seconds:
                break
        rates.append(units / (t - t0))
        per_call.append((t - t0) / n)
    return rates, per_call


def detach(state):
    if state is None:
        return None
    return tuple(s.detach() for s in state) if isinstance(state, tuple) else state.detach()


def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def bench_config(torch, CharLM, c, args):
    import torch.nn.functional as F
    torch.manual_seed(args.seed)
    B, T, V = c["batch"], c["seq"], c["vocab"]
    model = CharLM(V, c["embedding"], c["hidden"], c["layers"], c["cell"])
    out = dict(kind="bench", config=c, backend="pytorch", parameters=sum(p.numel() for p in model.parameters()),
               train_tokens_per_s=None, sample_chars_per_s=None, train_peak_rss_mb=None, train_step_ms=None,
               train_windows=[], sample_windows=[], window_s=args.seconds, warmup_s=args.warmup,
               threads=torch.get_num_threads(), torch=torch.__version__)
    if args.only != "sample":
        chunks = 64
        g = torch.Generator().manual_seed(args.seed + 1)
        ids = torch.randint(0, V, (B * T * chunks + 1,), generator=g)
        stream = (ids.numel() - 1) // B
        x_all = ids[: B * stream].view(B, stream)
        y_all = ids[1: B * stream + 1].view(B, stream)
        opt = torch.optim.Adam(model.parameters(), lr=2e-3)
        st = {"state": None, "k": 0}
        model.train()

        def step():
            k = st["k"]
            x, y = x_all[:, k * T:(k + 1) * T], y_all[:, k * T:(k + 1) * T]
            logits, state = model(x, st["state"])
            loss = F.cross_entropy(logits.reshape(-1, V), y.reshape(-1))
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
            opt.step()
            st["k"] = (k + 1) % chunks
            st["state"] = None if st["k"] == 0 else detach(state)
            return B * T

        rates, per_call = measure(step, args.warmup, args.seconds, args.windows)
        out.update(train_tokens_per_s=round(statistics.median(rates), 2), train_windows=[round(r, 2) for r in rates],
                   train_step_ms=round(statistics.median(per_call) * 1000, 3), train_peak_rss_mb=round(peak_rss_mb(), 2))
    if args.only != "train":
        model.eval()
        g = torch.Generator().manual_seed(args.seed)
        st = {"x": torch.zeros(1, 1, dtype=torch.long), "state": None}
        burst = 16

        def sample():
            with torch.no_grad():
                for _ in range(burst):
                    logits, st["state"] = model(st["x"], st["state"])
                    probs = torch.softmax(logits[0, -1], dim=-1)
                    st["x"][0, 0] = torch.multinomial(probs, 1, generator=g).item()
            return burst

        rates, _ = measure(sample, args.warmup, args.seconds, args.windows)
        out.update(sample_chars_per_s=round(statistics.median(rates), 2), sample_windows=[round(r, 2) for r in rates])
    out["peak_rss_mb"] = round(peak_rss_mb(), 2)
    ru = resource.getrusage(resource.RUSAGE_SELF)
    out["cpu_s"] = round(ru.ru_utime + ru.ru_stime, 2)  # whole process; above wall time = threads busy (or spinning)
    return out


# ---- time to a validation loss ------------------------------------------------

def stream_loss(torch, model, ids, B, T):
    """rnnkit's streamLoss (src/train/evaluate.ts): B contiguous streams from the zero
    state, state carried over chunks of T, mean cross-entropy over every prediction."""
    import torch.nn.functional as F
    B = max(1, min(B, (ids.numel() - 1) // T))
    n = (ids.numel() - 1) // B
    if n < 1:
        return float("nan")
    x_all = torch.stack([ids[b * n: b * n + n] for b in range(B)])
    y_all = torch.stack([ids[b * n + 1: b * n + n + 1] for b in range(B)])
    state, total, count = None, 0.0, 0
    with torch.no_grad():
        for s in range(0, n, T):
            x, y = x_all[:, s:s + T], y_all[:, s:s + T]
            logits, state = model(x, state)
            total += F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1), reduction="sum").item()
            count += y.numel()
    return total / count


def time_to_loss(torch, CharLM, args):
    import torch.nn.functional as F
    with open(args.time_to_loss, encoding="utf-8") as f:
        text = f.read()
    vocab = sorted(set(text))  # code points, as rnnkit's Vocab.fromText
    index = {ch: i for i, ch in enumerate(vocab)}
    ids = torch.tensor([index[ch] for ch in text], dtype=torch.long)
    n = ids.numel()
    train, val = ids[: int(0.9 * n)], ids[int(0.9 * n): int(0.95 * n)]  # rnnkit splitText
    B, T, V = args.batch, args.seq, len(vocab)
    stream = (train.numel() - 1) // B
    chunks = stream // T
    x_all = train[: B * stream].view(B, stream)
    y_all = train[1: B * stream + 1].view(B, stream)

    torch.manual_seed(args.seed)
    model = CharLM(V, args.embedding, args.hidden, args.layers, args.cell)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    state, k, step = None, 0, 0
    reached, evals = None, []
    t0 = time.perf_counter()
    while step < args.steps:
        model.train()
        x, y = x_all[:, k * T:(k + 1) * T], y_all[:, k * T:(k + 1) * T]
        logits, state = model(x, state)
        loss = F.cross_entropy(logits.reshape(-1, V), y.reshape(-1))
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), args.clip)
        opt.step()
        step += 1
        k += 1
        if k == chunks:  # streams wrap to their start: the carried state means nothing there
            k, state = 0, None
        else:
            state = detach(state)
        elapsed = time.perf_counter() - t0
        if step % args.eval_every == 0 or step == args.steps or elapsed >= args.cap:
            model.eval()
            v = stream_loss(torch, model, val, B, T)
            elapsed = time.perf_counter() - t0
            evals.append(dict(step=step, seconds=round(elapsed, 2), val_loss=round(v, 4)))
            emit(dict(kind="eval", step=step, epoch=round(step / chunks, 3), seconds=round(elapsed, 2), val_loss=round(v, 4)))
            if v <= args.target:
                reached = dict(step=step, seconds=round(elapsed, 2), val_loss=round(v, 4))
                break
            if elapsed >= args.cap:
                break
    return dict(kind="time_to_loss", backend="pytorch", target=args.target, reached=reached is not None,
                seconds=reached["seconds"] if reached else None, step=reached["step"] if reached else None,
                best_val_loss=min(e["val_loss"] for e in evals) if evals else None,
                steps_run=step, wall_s=round(time.perf_counter() - t0, 2), evals=len(evals),
                recipe=dict(cell=args.cell, layers=args.layers, hidden=args.hidden, embedding=args.embedding,
                            batch=B, seq=T, lr=args.lr, clip=args.clip, optimizer="adam", eval_every=args.eval_every),
                threads=torch.get_num_threads(), torch=torch.__version__)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--configs", default="lstm-32-64-128-1,lstm-32-64-256-2,gru-32-64-256-2,lstm-64-100-512-2,rnn-1-25-100-1",
                   help="comma-separated cell-B-T-H-L")
    p.add_argument("--embedding", type=int, default=64)
    p.add_argument("--vocab", type=int, default=65)
    p.add_argument("--only", choices=("train", "sample", "both"), default="both")
    p.add_argument("--seconds", type=float, default=1.0, help="minimum length of one timing window")
    p.add_argument("--windows", type=int, default=5)
    p.add_argument("--warmup", type=float, default=1.0)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--threads", type=int, default=THREADS_DEFAULT)
    p.add_argument("--check-blas", action="store_true", help="only print the BLAS check")
    p.add_argument("--allow-void", action="store_true", help="report even with a reference BLAS (marked void)")
    t = p.add_argument_group("time to a validation loss")
    t.add_argument("--time-to-loss", metavar="TEXT_FILE")
    t.add_argument("--target", type=float, default=1.6)
    t.add_argument("--steps", type=int, default=1_000_000)
    t.add_argument("--eval-every", type=int, default=100)
    t.add_argument("--cap", type=float, default=1200.0, help="seconds")
    t.add_argument("--cell", default="lstm")
    t.add_argument("--layers", type=int, default=1)
    t.add_argument("--hidden", type=int, default=128)
    t.add_argument("--batch", type=int, default=32)
    t.add_argument("--seq", type=int, default=64)
    t.add_argument("--lr", type=float, default=0.003)
    t.add_argument("--clip", type=float, default=5.0)
    args = p.parse_args()
    if args.time_to_loss and "--embedding" not in sys.argv:
        args.embedding = 32  # the demo preset's

    reexec_with_openblas()
    import torch
    sys.path.insert(0, REFERENCE)
    from charlm import CharLM  # noqa: E402  (../shared/reference/charlm.py)

    torch.set_num_threads(args.threads)
    env = check_blas(torch, args.threads)
    emit(env)
    if not env["valid"]:
        print(f"bench_torch.py: refusing to report: {env['void_reason']}. Use the pip wheel (python3 -m venv .venv-torch && "
              f".venv-torch/bin/pip install torch numpy), or for Debian's torch install libopenblas0-openmp "
              f"(LD_LIBRARY_PATH={OPENMP_DIR}).", file=sys.stderr)
        if not args.allow_void:
            sys.exit(3)
    if args.check_blas:
        return
    if args.time_to_loss:
        emit(time_to_loss(torch, CharLM, args))
        return
    for name in args.configs.split(","):
        r = bench_config(torch, CharLM, parse_config(name.strip(), args.embedding, args.vocab), args)
        r["blas"] = env["blas"]
        r["void"] = not env["valid"]
        emit(r)


if __name__ == "__main__":
    main()
