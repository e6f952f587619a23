#!/usr/bin/env python3
"""PyTorch side of scripts/bench-tasks.mjs: the same models, data and batches.

  mnist-rows  nn.LSTM(28, 128) over 28 rows of 28 pixels, h_n[-1] -> nn.Linear(128, 10)
  sentiment   nn.Embedding(V, 64) -> nn.LSTM(64, 128) over
              pack_padded_sequence(enforce_sorted=False) -> h_n[-1] -> nn.Linear(128, 2)

One epoch = for each batch of consecutive examples: forward, cross-entropy, backward,
clip_grad_norm_(5), Adam(lr 1e-3) step. Best epoch after the first. Prints one JSON
line, with the torch version, its build configuration and the thread count.

  python bench_tasks_torch.py --task mnist-rows|sentiment [--epochs 3] [--threads 2]
"""
import argparse
import gzip
import json
import os
import struct
import time

import torch
import torch.nn as nn
from torch.nn.utils.rnn import pack_padded_sequence

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def mnist_rows():
    with gzip.open(os.path.join(REPO, "data", "mnist", "train10k-images-idx3-ubyte.gz")) as f:
        _, n, r, c = struct.unpack(">IIII", f.read(16))
        pixels = torch.frombuffer(bytearray(f.read(n * r * c)), dtype=torch.uint8).reshape(n, r, c)
    with gzip.open(os.path.join(REPO, "data", "mnist", "train10k-labels-idx1-ubyte.gz")) as f:
        f.read(8)
        labels = torch.frombuffer(bytearray(f.read(n)), dtype=torch.uint8).long()
    x, labels = pixels[:9000].float() / 255, labels[:9000]
    return [(x[s:s + 64], labels[s:s + 64]) for s in range(0, 9000, 64)]


def sentiment():
    rows = [l.rstrip("\r\n").split("\t", 1) for l in open(os.path.join(REPO, "data", "sentiment", "train.tsv"), encoding="utf-8") if l.strip()]
    toks = [t.lower().split() for _, t in rows]
    vocab = ["<unk>"] + sorted({w for s in toks for w in s} - {"<unk>"})
    index = {w: i for i, w in enumerate(vocab)}
    data = [(torch.tensor([index[w] for w in s]), int(l)) for (l, _), s in zip(rows, toks)]
    batches = []
    for s in range(0, len(data), 32):
        b = data[s:s + 32]
        lengths = torch.tensor([len(x) for x, _ in b])
        ids = torch.zeros(len(b), int(lengths.max()), dtype=torch.long)
        for i, (x, _) in enumerate(b):
            ids[i, :len(x)] = x
        batches.append(((ids, lengths), torch.tensor([y for _, y in b])))
    return batches, len(vocab)


class RowsModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = nn.LSTM(28, 128, batch_first=True)
        self.head = nn.Linear(128, 10)

    def forward(self, x):
        _, (h, _) = self.rnn(x)
        return self.head(h[-1])


class TextModel(nn.Module):
    def __init__(self, V):
        super().__init__()
        self.embedding = nn.Embedding(V, 64)
        self.rnn = nn.LSTM(64, 128, batch_first=True)
        self.head = nn.Linear(128, 2)

    def forward(self, inp):
        ids, lengths = inp
        packed = pack_padded_sequence(self.embedding(ids), lengths, batch_first=True, enforce_sorted=False)
        _, (h, _) = self.rnn(packed)
        return self.head(h[-1])


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--task", required=True)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    if a.task == "mnist-rows":
        batches, model = mnist_rows(), RowsModel()
    elif a.task == "sentiment":
        batches, V = sentiment()
        model = TextModel(V)
    else:
        raise SystemExit(f"unknown task {a.task}")
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    n = sum(len(y) for _, y in batches)
    times, loss = [], 0.0
    for _ in range(a.epochs):
        t0 = time.perf_counter()
        loss = 0.0
        for x, y in batches:
            opt.zero_grad()
            l = nn.functional.cross_entropy(model(x), y)
            l.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 5)
            opt.step()
            loss += l.item() * len(y)
        times.append(time.perf_counter() - t0)
    best = min(times[1:] if a.epochs > 1 else times)
    print(json.dumps({"kind": "task", "impl": "pytorch", "task": a.task, "examples": n, "epochs": a.epochs, "epoch_s": best, "epoch_times": times,
                      "examples_per_s": n / best, "last_epoch_loss": loss / n, "torch_version": torch.__version__, "threads": torch.get_num_threads(),
                      "config": torch.__config__.show()}))


if __name__ == "__main__":
    main()
