#!/usr/bin/python3
"""bench/reference/chain.py: PyTorch's side of bench/chain.c, per-node overhead.

y = ((x * a) + b) * a + b ... with N one-element tensors (N/2 multiplications and N/2
additions), then y.backward(); repeated, the median ns per node printed for forward
and backward, with the same RESULT line as the C program.

usage: chain.py [nodes (default 1000000)] [repeats (default 5)]
"""
import statistics
import sys
import time

import torch


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000000
    reps = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    torch.set_num_threads(1)
    fwd, bwd = [], []
    for r in range(reps + 1):  # the first run warms up
        t0 = time.perf_counter()
        x = torch.tensor(1.0, requires_grad=True)
        a, b = torch.tensor(1.0000001), torch.tensor(1e-7)
        y = x
        for _ in range(0, n, 2):
            y = y * a + b
        t1 = time.perf_counter()
        y.backward()
        t2 = time.perf_counter()
        del y
        if r > 0:
            fwd.append((t1 - t0) * 1e9 / n)
            bwd.append((t2 - t1) * 1e9 / n)
    f, b = statistics.median(fwd), statistics.median(bwd)
    print(f"chain of {n} scalar nodes (torch {torch.__version__}, 1 thread), median of {reps}:")
    print(f"  forward   {f:7.1f} ns/node\n  backward  {b:7.1f} ns/node\n  total     {f + b:7.1f} ns/node")
    print(f"RESULT time={(f + b) * 1e-9 * n:.4e} fwd_ns={f:.1f} bwd_ns={b:.1f} node_ns={f + b:.1f} "
          f"bytes_per_node=-1 steady_allocs=-1")


if __name__ == "__main__":
    main()
