#!/usr/bin/python3
"""bench/reference/conv.py: PyTorch's side of bench/conv.c.

At batch B: conv1 (x [B,1,28,28], no input gradient, w [32,1,3,3], pad 1) and conv2
(x [B,32,14,14] with its gradient, w [64,32,3,3], pad 1), each F.conv2d(...).backward(dy);
then fashion_cnn's whole model in training mode, cross-entropy on fixed labels,
backward, gradients zeroed (no optimizer step). Prints RESULT lines named like the C
program's, with the same FLOP counts.

usage: conv.py [--batch N] [--threads N] [--reps N]
"""
import argparse
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def timed(step, reps, iters):
    ts = []
    for r in range(reps + 1):
        t0 = time.perf_counter()
        for _ in range(iters):
            step()
        if r > 0:
            ts.append((time.perf_counter() - t0) / iters)
    ts.sort()
    return ts[len(ts) // 2]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--reps", type=int, default=5)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    B = a.batch
    for name, C, O, H, xgrad in (("conv1", 1, 32, 28, False), ("conv2", 32, 64, 14, True)):
        w = (torch.rand(O, C, 3, 3) * 0.2 - 0.1).requires_grad_()
        b = (torch.rand(O) * 0.2 - 0.1).requires_grad_()
        x = torch.rand(B, C, H, H) * 2 - 1
        dy = torch.rand(B, O, H, H) * 2 - 1
        if xgrad:
            x.requires_grad_()
        flop = 2.0 * B * O * H * H * C * 9 * (3 if xgrad else 2)
        iters = max(1, int(0.1 * 30e9 / flop))
        t = timed(lambda: F.conv2d(x, w, b, padding=1).backward(dy), a.reps, iters)
        print(f"RESULT name={name} time={t:.4e} gflops={flop / t * 1e-9:.2f} "
              f"threads={torch.get_num_threads()} batch={B}", flush=True)

    model = nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(3136, 128), nn.ReLU(), nn.Dropout(0.3), nn.Linear(128, 10))
    model.train()
    x = torch.randn(B, 1, 28, 28)
    labels = torch.tensor([(i * 7) % 10 for i in range(B)])

    def step():
        loss = F.cross_entropy(model(x), labels)
        loss.backward()
        model.zero_grad(set_to_none=False)

    flop = 2.0 * B * (32 * 28 * 28 * 9.0 * 2 + 64 * 14 * 14 * 32 * 9.0 * 3 + 3136 * 128.0 * 3
                      + 128 * 10.0 * 3)
    t = timed(step, a.reps, 3)
    print(f"RESULT name=model time={t:.4e} gflops={flop / t * 1e-9:.2f} "
          f"threads={torch.get_num_threads()} batch={B}")


if __name__ == "__main__":
    main()
