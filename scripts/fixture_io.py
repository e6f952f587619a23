"""Helpers shared by the fixture scripts (make_fixtures.py, make_train_fixtures.py,
make_ln_fixtures.py).

  * REPO and the sys.path entry for ../shared/reference (so `import charlm`
    works once this module is imported);
  * write_safetensors / read_tensors: the F32 safetensors layout of
    ../shared/reference/charlm.py's write_checkpoint (u64 LE header length,
    JSON header padded with spaces to a multiple of 8, little-endian F32
    tensors in insertion order);
  * checkpoint_metadata: the rnnkit/1 metadata (format, config, vocab) plus
    the fixture description;
  * start: deterministic torch, the output folder and the bundled corpus;
  * encode, seed_of.

Importers set sys.dont_write_bytecode = True before importing this module, so
that neither scripts/ nor ../shared/reference gets a __pycache__.
"""
import hashlib
import json
import os
import struct
import sys

sys.dont_write_bytecode = True  # keep ../shared/reference free of __pycache__

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
REFERENCE_DIR = os.path.join(HERE, "..", "..", "shared", "reference")
if REFERENCE_DIR not in sys.path:
    sys.path.insert(0, REFERENCE_DIR)

import torch  # noqa: E402


TEXT_PATH = os.path.join(REPO, "data", "tinyshakespeare.txt")


def start(out_dir):
    """Single-threaded deterministic torch, out_dir created; returns the corpus text."""
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    os.makedirs(out_dir, exist_ok=True)
    with open(TEXT_PATH, encoding="utf-8") as f:
        return f.read()


def seed_of(name):
    """Stable seed derived from a name (first 4 bytes of its SHA-256, little-endian)."""
    return int.from_bytes(hashlib.sha256(name.encode("utf-8")).digest()[:4], "little")


def encode(text, vocab):
    """Token ids (int64 tensor) of text under a character vocabulary."""
    index = {tok: i for i, tok in enumerate(vocab)}
    return torch.tensor([index[ch] for ch in text], dtype=torch.long)


def checkpoint_metadata(config, vocab, fixture_meta):
    """__metadata__ of an rnnkit/1 checkpoint, with the "fixture" JSON added."""
    return {"format": "rnnkit/1", "config": json.dumps(config),
            "vocab": json.dumps(list(vocab), ensure_ascii=False),
            "fixture": json.dumps(fixture_meta, ensure_ascii=False)}


def write_safetensors(path, tensors, metadata):
    """Write tensors (name -> tensor, stored as F32 in this order) and metadata
    (str -> str) in charlm.write_checkpoint's layout."""
    header, offset, blobs = {}, 0, []
    for name, t in tensors.items():
        data = t.detach().to(torch.float32).contiguous().numpy().astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        blobs.append(data)
    header["__metadata__"] = dict(metadata)
    head = json.dumps(header, ensure_ascii=False).encode("utf-8")
    head += b" " * (-len(head) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(head)))
        f.write(head)
        for b in blobs:
            f.write(b)


def read_tensors(path):
    """(name -> F32 tensor, metadata) of a file written by write_safetensors."""
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
        body = f.read()
    meta = header.pop("__metadata__")
    out = {}
    for name, info in header.items():
        assert info["dtype"] == "F32"
        a, b = info["data_offsets"]
        out[name] = torch.frombuffer(bytearray(body[a:b]), dtype=torch.float32).reshape(info["shape"])
    assert 8 + n + sum(t.numel() * 4 for t in out.values()) == os.path.getsize(path)
    assert n % 8 == 0
    return out, meta
