"""PyTorch's exact one-stream evaluation of an rnnkit checkpoint, timed: the reference
read_checkpoint and text_loss (../shared/reference/charlm.py) over a text file, the loss
`rnnkit eval` computes. Prints one JSON line.

    .venv-torch/bin/python scripts/bench_eval_torch.py CKPT TEXT [--threads 2]
"""
import argparse
import json
import os
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "reference"))

p = argparse.ArgumentParser()
p.add_argument("checkpoint")
p.add_argument("text")
p.add_argument("--threads", type=int, default=2)
a = p.parse_args()

import torch  # noqa: E402
from charlm import read_checkpoint, text_loss  # noqa: E402

torch.set_num_threads(a.threads)
model, vocab = read_checkpoint(a.checkpoint)
model.eval()
with open(a.text, encoding="utf-8") as f:
    text = f.read()
with torch.no_grad():
    text_loss(model, text[:2000], vocab)  # warm-up: first-call allocations and kernel choice
    t0 = time.perf_counter()
    loss = text_loss(model, text, vocab).item()
    seconds = time.perf_counter() - t0
print(json.dumps({"loss_nats": loss, "seconds": round(seconds, 3), "predicted_chars": len(text) - 1,
                  "torch": torch.__version__, "threads": torch.get_num_threads()}))
