#!/usr/bin/env python3
"""PyTorch's usual recipe for the corpus-scale measurement (scripts/corpus-scale.mjs).

  corpus_scale_torch.py text FILE   char-rnn style: read the file, sorted(set(text)),
                                    a long tensor of every character's id, the 90/5/5
                                    split, a 2x256 LSTM (embedding 64), one Adam step on
                                    B=32 streams of T=64
  corpus_scale_torch.py tsv FILE    label<TAB>text lines: split, hold out 10%, a word
                                    vocabulary (min count 2) from a Counter, every text as a
                                    list of ids, an embedding-16 LSTM-64 mean-pooled
                                    classifier, one Adam step on a batch of 32

Prints "step 1" once the first optimizer step is done (the harness timestamps that line
and reads the process's peak RSS then). 2 threads, as rnnkit's measurements.
"""
import random
import sys
from collections import Counter

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.set_num_threads(2)
torch.manual_seed(1)


class CharLSTM(nn.Module):
    def __init__(self, vocab, emb=64, hidden=256, layers=2):
        super().__init__()
        self.emb = nn.Embedding(vocab, emb)
        self.rnn = nn.LSTM(emb, hidden, layers)
        self.head = nn.Linear(hidden, vocab)

    def forward(self, x, state=None):
        y, state = self.rnn(self.emb(x), state)
        return self.head(y), state


def text_step(path, B=32, T=64):
    text = open(path, "r", encoding="utf-8").read()
    chars = sorted(set(text))
    stoi = {c: i for i, c in enumerate(chars)}
    data = torch.tensor([stoi[c] for c in text], dtype=torch.long)
    n = len(data)
    train, val = data[: int(0.9 * n)], data[int(0.9 * n): int(0.95 * n)]
    L = (len(train) - 1) // B
    x = train[: B * L].view(B, L)[:, :T].t().contiguous()
    y = train[1: B * L + 1].view(B, L)[:, :T].t().contiguous()
    model = CharLSTM(len(chars))
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    logits, _ = model(x)
    loss = F.cross_entropy(logits.reshape(-1, len(chars)), y.reshape(-1))
    opt.zero_grad()
    loss.backward()
    nn.utils.clip_grad_norm_(model.parameters(), 5.0)
    opt.step()
    return len(val)


class Classifier(nn.Module):
    def __init__(self, vocab, classes, emb=16, hidden=64):
        super().__init__()
        self.emb = nn.Embedding(vocab, emb)
        self.rnn = nn.LSTM(emb, hidden, batch_first=True)
        self.drop = nn.Dropout(0.5)
        self.head = nn.Linear(hidden, classes)

    def forward(self, seqs):
        lengths = torch.tensor([len(s) for s in seqs])
        padded = nn.utils.rnn.pad_sequence([torch.tensor(s) for s in seqs], batch_first=True)
        packed = nn.utils.rnn.pack_padded_sequence(self.emb(padded), lengths, batch_first=True, enforce_sorted=False)
        out, _ = self.rnn(packed)
        out, _ = nn.utils.rnn.pad_packed_sequence(out, batch_first=True)
        pooled = out.sum(1) / lengths.unsqueeze(1)
        return self.head(self.drop(pooled))


def tsv_step(path, B=32):
    rows = []
    for line in open(path, "r", encoding="utf-8").read().splitlines():
        if line.strip():
            label, text = line.split("\t", 1)
            rows.append((label.strip(), text.split()))
    random.seed(1)
    random.shuffle(rows)
    k = len(rows) // 10
    val, train = rows[:k], rows[k:]
    counts = Counter(w for _, ws in train for w in ws)
    itos = ["<unk>"] + sorted(w for w, c in counts.items() if c >= 2)
    stoi = {w: i for i, w in enumerate(itos)}
    labels = sorted({l for l, _ in train})
    ltoi = {l: i for i, l in enumerate(labels)}
    train_x = [[stoi.get(w, 0) for w in ws] for _, ws in train]
    train_y = [ltoi[l] for l, _ in train]
    val_x = [[stoi.get(w, 0) for w in ws] for _, ws in val]
    model = Classifier(len(itos), len(labels))
    opt = torch.optim.Adam(model.parameters(), lr=5e-3)
    order = list(range(len(train_x)))
    random.shuffle(order)
    batch = order[:B]
    loss = F.cross_entropy(model([train_x[i] for i in batch]), torch.tensor([train_y[i] for i in batch]))
    opt.zero_grad()
    loss.backward()
    nn.utils.clip_grad_norm_(model.parameters(), 5.0)
    opt.step()
    return len(val_x)


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("text", "tsv"):
        sys.exit(__doc__)
    (text_step if sys.argv[1] == "text" else tsv_step)(sys.argv[2])
    print("step 1", flush=True)
