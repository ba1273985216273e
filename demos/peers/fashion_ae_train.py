#!/usr/bin/python3
"""The fashion-ae and fashion-dae presets of `kiln train`, trained in PyTorch on the CPU: the reference of MODELS.md.

Same data (Debian's dataset-fashion-mnist, pixels / 255), network (fashion_ae_step.build), recipe (MSE, Adam lr 1e-3,
batch 128, shuffled each epoch, last partial batch dropped as Kiln's trainer does) and evaluation (test MSE over the
whole test set against the clean image). Prints one line per epoch and the total wall seconds; --json FILE writes
them too. For the wall-time comparison run it right after `kiln train` on the same, otherwise idle, machine.

    /usr/bin/python3 demos/peers/fashion_ae_train.py [--epochs 5] [--latent 32] [--noise 0.3] [--threads 2] [--json FILE]
"""
import argparse
import gzip
import json
import os
import time

import numpy as np
import torch
from torch import nn

from fashion_ae_step import build


def idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--latent", type=int, default=32)
    ap.add_argument("--noise", type=float, default=0.0, help="Gaussian sigma of fashion-dae's input (0: fashion-ae)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    train = torch.from_numpy(idx(os.path.join(a.data, "train-images-idx3-ubyte.gz")).astype(np.float32) / 255).unsqueeze(1)
    test = torch.from_numpy(idx(os.path.join(a.data, "t10k-images-idx3-ubyte.gz")).astype(np.float32) / 255).unsqueeze(1)
    noisy = lambda x: (x + a.noise * torch.randn_like(x)).clamp(0, 1) if a.noise > 0 else x
    net = build(a.latent)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    mse = nn.MSELoss()
    epochs = []
    start = time.perf_counter()
    for epoch in range(1, a.epochs + 1):
        t0 = time.perf_counter()
        net.train()
        order = torch.randperm(len(train))
        total, steps = 0.0, 0
        for b in range(len(train) // a.batch):
            target = train[order[b * a.batch:(b + 1) * a.batch]]
            opt.zero_grad()
            loss = mse(net(noisy(target)), target)
            loss.backward()
            opt.step()
            total += loss.item()
            steps += 1
        net.eval()
        with torch.no_grad():
            sq = sum(((net(noisy(test[i:i + 1000])) - test[i:i + 1000]) ** 2).sum().item() for i in range(0, len(test), 1000))
        test_loss = sq / test.numel()
        row = {"epoch": epoch, "train_loss": total / steps, "test_loss": test_loss,
               "test_psnr_db": float(10 * np.log10(1 / test_loss)), "seconds": time.perf_counter() - t0}
        epochs.append(row)
        print(json.dumps(row), flush=True)
    seconds = time.perf_counter() - start
    print(f"pytorch {torch.__version__}, {a.threads} threads: {a.epochs} epochs in {seconds:.1f} s, "
          f"test MSE {epochs[-1]['test_loss']:.5f}")
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"torch": torch.__version__, "threads": a.threads, "seconds": seconds, "epochs": epochs}, f, indent=1)


if __name__ == "__main__":
    main()
