#!/usr/bin/python3
"""bench/reference/matmul.py: PyTorch's side of bench/matmul.c.

One training step of each fashion_mlp layer alone at batch B: y = F.linear(x, W, b),
then y.backward(dy); layer 1's input needs no gradient (dW, db), layer 2's does
(dW, dx, db). Prints RESULT lines named like the C program's, kernel "torch".

usage: matmul.py [--batch N] [--threads N] [--reps N]
"""
import argparse
import time

import torch
import torch.nn.functional as F


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--reps", type=int, default=7)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    for l, (fin, fout) in enumerate([(784, 512), (512, 10)]):
        w = (torch.rand(fout, fin) * 0.1 - 0.05).requires_grad_()
        b = (torch.rand(fout) * 0.1 - 0.05).requires_grad_()
        x = torch.rand(a.batch, fin) * 2 - 1
        dy = torch.rand(a.batch, fout) * 2 - 1
        xgrad = l == 1
        if xgrad:
            x.requires_grad_()
        flop = 2.0 * a.batch * fin * fout * (3 if xgrad else 2)
        iters = max(1, int(2e-2 * 50e9 / flop))
        ts = []
        for r in range(a.reps + 1):
            t0 = time.perf_counter()
            for _ in range(iters):
                F.linear(x, w, b).backward(dy)
            if r > 0:
                ts.append((time.perf_counter() - t0) / iters)
        ts.sort()
        med = ts[len(ts) // 2]
        print(f"RESULT name=fc{l + 1}_b{a.batch}_torch time={med:.3e} "
              f"gflops={flop / med * 1e-9:.2f} threads={torch.get_num_threads()}")


if __name__ == "__main__":
    main()
