#!/usr/bin/python3
"""The fashion-ae training step of `kiln bench fashion-ae-step`, timed in PyTorch on the CPU for comparison.

Same network (engine/Models/FashionAutoencoder.cs), MSE loss, Adam lr 1e-3, random inputs and targets in [0, 1).
A step is: copy a batch into the input tensors, forward, loss, backward, Adam update (zero_grad included).
Prints the median wall milliseconds per step over --iters steps after warm-up; --json FILE writes it too.

    /usr/bin/python3 demos/peers/fashion_ae_step.py [--batch 128] [--iters 50] [--threads 2] [--json FILE]
"""
import argparse
import json
import statistics
import time

import torch
from torch import nn


def build(latent=32):
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, stride=2, padding=1), nn.ReLU(),
        nn.Conv2d(16, 32, 3, stride=2, padding=1), nn.ReLU(),
        nn.Flatten(),
        nn.Linear(32 * 7 * 7, latent),
        nn.Linear(latent, 32 * 7 * 7), nn.ReLU(),
        nn.Unflatten(1, (32, 7, 7)),
        nn.ConvTranspose2d(32, 16, 3, stride=2, padding=1, output_padding=1), nn.ReLU(),
        nn.ConvTranspose2d(16, 1, 3, stride=2, padding=1, output_padding=1), nn.Sigmoid())


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--iters", type=int, default=50)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    net = build()
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    loss_fn = nn.MSELoss()
    batches = [(torch.rand(a.batch, 1, 28, 28), torch.rand(a.batch, 1, 28, 28)) for _ in range(2)]
    x = torch.empty(a.batch, 1, 28, 28)
    t = torch.empty(a.batch, 1, 28, 28)
    times = []
    warmup = 5
    for i in range(a.iters + warmup):
        start = time.perf_counter()
        x.copy_(batches[i % 2][0])
        t.copy_(batches[i % 2][1])
        opt.zero_grad()
        loss = loss_fn(net(x), t)
        loss.backward()
        opt.step()
        ms = (time.perf_counter() - start) * 1000
        if i >= warmup:
            times.append(ms)
    med = statistics.median(times)
    print(f"pytorch {torch.__version__} fashion-ae training step, batch {a.batch}, {a.threads} threads: "
          f"{med:.2f} ms/step (median of {a.iters}; min {min(times):.2f}, max {max(times):.2f}); "
          f"5 epochs of 468 steps: {med * 468 * 5 / 1000:.1f} s (training steps only)")
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"workload": f"fashion_ae_step_b{a.batch}", "framework": f"pytorch {torch.__version__}",
                       "threads": a.threads, "step_wall_ms": med, "iters": a.iters}, f, indent=2)


if __name__ == "__main__":
    main()
