"""Loads a Kiln checkpoint into the same network built in PyTorch, and writes one back.

usage: torch_checkpoint.py CHECKPOINT INPUT OUT_DIR

Reads CHECKPOINT (safetensors, read by hand: no safetensors package needed), rebuilds the network from its
__metadata__ (preset and arguments), loads the parameters with load_state_dict(strict=True) after dropping
the optimizer entries, runs it on the tensor "x" of INPUT and writes OUT_DIR/torch_out.safetensors ("y").
Then it changes every parameter (one SGD step on the sum of the outputs, lr 1e-3), saves the state dict as
OUT_DIR/torch_params.safetensors and the new outputs as OUT_DIR/torch_out2.safetensors, for Kiln to load back.
"""
import json
import struct
import sys

import numpy as np
import torch
from torch import nn


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n])
    meta = header.pop("__metadata__", {})
    base = 8 + n
    tensors = {}
    for name, t in header.items():
        assert t["dtype"] == "F32", (name, t["dtype"])
        begin, end = t["data_offsets"]
        arr = np.frombuffer(data[base + begin : base + end], dtype="<f4").reshape(t["shape"])
        tensors[name] = torch.from_numpy(arr.copy())
    return tensors, meta


def write_safetensors(path, tensors, meta=None):
    header, offset, blobs = {}, 0, []
    if meta:
        header["__metadata__"] = meta
    for name, t in tensors.items():
        b = t.detach().contiguous().numpy().astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + len(b)]}
        offset += len(b)
        blobs.append(b)
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


class FashionAutoencoder(nn.Module):
    def __init__(self, latent):
        super().__init__()
        self.encoder = nn.Sequential(
            nn.Conv2d(1, 16, 3, 2, 1), nn.ReLU(), nn.Conv2d(16, 32, 3, 2, 1), nn.ReLU(), nn.Flatten(), nn.Linear(1568, latent))
        self.decoder = nn.Sequential(
            nn.Linear(latent, 1568), nn.ReLU(), nn.Unflatten(1, (32, 7, 7)),
            nn.ConvTranspose2d(32, 16, 3, 2, 1, 1), nn.ReLU(), nn.ConvTranspose2d(16, 1, 3, 2, 1, 1), nn.Sigmoid())

    def forward(self, x):
        return self.decoder(self.encoder(x))


def playground(args):
    hidden = [int(h) for h in args["hidden"].split(",")]
    act = {"tanh": nn.Tanh, "relu": nn.ReLU, "sigmoid": nn.Sigmoid}[args.get("activation", "tanh")]
    layers, width = [], 2
    for h in hidden:
        layers += [nn.Linear(width, h), act()]
        width = h
    layers.append(nn.Linear(width, 1))
    return nn.Sequential(*layers)


def build(meta):
    preset, args = meta["preset"], json.loads(meta.get("preset_arguments", "{}"))
    if preset.startswith("fashion-"):
        return FashionAutoencoder(int(args["latent"]))
    if preset.startswith("playground-"):
        return playground(args)
    raise SystemExit(f"no PyTorch network for preset {preset}")


def main():
    checkpoint, input_path, out = sys.argv[1:4]
    tensors, meta = read_safetensors(checkpoint)
    model = build(meta)
    state = {k: v for k, v in tensors.items() if not k.startswith("optimizer.")}
    model.load_state_dict(state, strict=True)
    x = read_safetensors(input_path)[0]["x"]
    with torch.no_grad():
        y = model(x)
    write_safetensors(f"{out}/torch_out.safetensors", {"y": y})
    opt = torch.optim.SGD(model.parameters(), lr=1e-3)
    model(x).sum().backward()
    opt.step()
    with torch.no_grad():
        y2 = model(x)
    write_safetensors(f"{out}/torch_params.safetensors", model.state_dict(), meta)
    write_safetensors(f"{out}/torch_out2.safetensors", {"y": y2})


if __name__ == "__main__":
    main()
