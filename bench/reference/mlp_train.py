#!/usr/bin/python3
"""bench/reference/mlp_train.py: PyTorch's side of bench/mlp_train.c, the same work.

784-512 ReLU, Dropout 0.2, 10 logits, cross-entropy (mean), Adam lr 1e-3, weights
Glorot uniform and biases zero (as fashion_mlp, after Keras); batches of B
from the 60,000 Fashion-MNIST training images, shuffled, the last short batch kept;
images kept as uint8 and converted per batch ((x / 255 - 0.2860) / 0.3530). Each epoch
is timed from its first batch to its last optimizer step. Prints the same RESULT line
as the C program. Thread count: --threads N sets torch.set_num_threads(N); run it
with OMP_NUM_THREADS and OPENBLAS_NUM_THREADS set to N as well (bench/run does).

usage: mlp_train.py [--data DIR] [--batch N] [--threads N] [--epochs N] [--steps N]
                    [--eval] [--seed N]
"""
import argparse
import gzip
import resource
import time

import numpy as np
import torch
import torch.nn.functional as F


def load_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--steps", type=int, default=0)
    ap.add_argument("--eval", action="store_true")
    ap.add_argument("--seed", type=int, default=42)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)

    xs = torch.from_numpy(load_idx(a.data + "/train-images-idx3-ubyte.gz").copy())
    ys = torch.from_numpy(load_idx(a.data + "/train-labels-idx1-ubyte.gz").astype(np.int64))
    n = xs.shape[0]
    fc1 = torch.nn.Linear(784, 512)
    fc2 = torch.nn.Linear(512, 10)
    for fc in (fc1, fc2):  # as fashion_mlp (Keras's Dense): Glorot uniform, zero bias
        torch.nn.init.xavier_uniform_(fc.weight)
        torch.nn.init.zeros_(fc.bias)
    params = list(fc1.parameters()) + list(fc2.parameters())
    opt = torch.optim.Adam(params, lr=1e-3)
    mean, std = 0.2860, 0.3530

    def forward(x, training):
        h = x.reshape(x.shape[0], 784).float().div_(255).sub_(mean).div_(std)
        h = F.relu(fc1(h))
        h = F.dropout(h, 0.2, training)
        return fc2(h)

    times, cpus, last_loss = [], [], 0.0
    for e in range(a.epochs):
        t0, c0 = time.perf_counter(), time.process_time()
        order = torch.randperm(n)
        loss_sum, steps = 0.0, 0
        for s in range(0, n, a.batch):
            if a.steps and steps >= a.steps:
                break
            idx = order[s:s + a.batch]
            x, y = xs[idx], ys[idx]
            opt.zero_grad()
            loss = F.cross_entropy(forward(x, True), y)
            loss.backward()
            opt.step()
            loss_sum += loss.item()
            steps += 1
        times.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
        last_loss = loss_sum / max(steps, 1)
        print(f"epoch {e + 1}: {times[-1]:.3f} s (cpu {cpus[-1]:.3f} s), {steps} steps, "
              f"mean loss {last_loss:.4f}", flush=True)

    acc = -1.0
    if a.eval:
        tx = torch.from_numpy(load_idx(a.data + "/t10k-images-idx3-ubyte.gz").copy())
        ty = torch.from_numpy(load_idx(a.data + "/t10k-labels-idx1-ubyte.gz").astype(np.int64))
        with torch.no_grad():
            pred = forward(tx, False).argmax(1)
        acc = 100.0 * (pred == ty).float().mean().item()

    times.sort()
    cpus.sort()
    med, cpu = times[len(times) // 2], cpus[len(cpus) // 2]  # as the C program's median
    gflop = 98.2 * (a.steps * a.batch / 60000.0 if a.steps else 1.0)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(f"RESULT time={med:.4f} cpu={cpu:.4f} gflops={gflop / med:.2f} maxrss_mib={rss:.1f} "
          f"steady_allocs=-1 arena_mib=0 threads={torch.get_num_threads()} batch={a.batch} "
          f"blas=1 loss={last_loss:.4f} acc={acc:.2f}")


if __name__ == "__main__":
    main()
