#!/usr/bin/python3
"""bench/reference/elementwise.py: PyTorch's side of bench/elementwise.c.

The same ops on the same sizes ([N/4096, 4096] float32, N = 2^25 by default), each
timed alone, median of the repeats, bandwidth counted as in the C program (inputs read
once, output written once), against the C program's copy loop: bench/run divides by
the copy bandwidth that program measured in the same run. Prints RESULT lines with
frac=-1 (bench/run fills it in).

usage: elementwise.py [--n N] [--threads N] [--reps N]
"""
import argparse
import time

import torch

OPS = [
    ("add", 12, lambda a, b, r: torch.add(a, b)),
    ("mul", 12, lambda a, b, r: torch.mul(a, b)),
    ("add_bias", 8, lambda a, b, r: torch.add(a, r)),
    ("relu", 8, lambda a, b, r: torch.relu(a)),
    ("exp", 8, lambda a, b, r: torch.exp(a)),
    ("sum", 4, lambda a, b, r: torch.sum(a)),
    ("sum_rows", 4, lambda a, b, r: torch.sum(a, 1)),
    ("sum_cols", 4, lambda a, b, r: torch.sum(a, 0)),
]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1 << 25)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--reps", type=int, default=7)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    cols = 4096
    rows = (a.n + cols - 1) // cols
    n = rows * cols
    x = torch.rand(rows, cols) * 2 - 1
    y = torch.rand(rows, cols) * 2 - 1
    r = torch.rand(cols) * 2 - 1
    for name, nbytes, f in OPS:
        ts = []
        for k in range(a.reps + 1):
            t0 = time.perf_counter()
            out = f(x, y, r)
            t1 = time.perf_counter()
            del out
            if k > 0:
                ts.append(t1 - t0)
        ts.sort()
        med = ts[len(ts) // 2]
        print(f"RESULT name={name} time={med:.4e} gbs={nbytes * n / med * 1e-9:.2f} frac=-1 "
              f"threads={torch.get_num_threads()}")


if __name__ == "__main__":
    main()
