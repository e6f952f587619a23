"""Loads an rnnkit checkpoint with the PyTorch reference reader and prints the loss of a
text, to compare with `rnnkit eval <checkpoint> <text-file> --json`.

    /usr/bin/python3 scripts/check_interop.py checkpoints/demo/best.safetensors some.txt
"""
import json
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "reference"))
import torch  # noqa: E402
from charlm import read_checkpoint, text_loss  # noqa: E402

torch.set_num_threads(1)
model, vocab = read_checkpoint(sys.argv[1])
with open(sys.argv[2], encoding="utf-8") as f:
    text = f.read()
with torch.no_grad():
    loss = text_loss(model, text, vocab).item()
print(json.dumps({"loss_nats": loss, "predicted_chars": len(text) - 1, "torch": torch.__version__}))
