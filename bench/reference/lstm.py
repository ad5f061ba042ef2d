#!/usr/bin/python3
"""bench/reference/lstm.py: PyTorch's side of bench/lstm.c, the same work.

One LSTM layer: x [T, B, I] (requiring its gradient) -> out [T, B, H] from zero states;
loss = sum(out * up) for a fixed random up; backward into x and the four parameters.
Each iteration zeroes the gradients first; the first --warmup iterations are not timed.
Two ways a PyTorch user writes it, each printing a RESULT line:
  name=lstm       torch.nn.LSTM (aten's native LSTM: one input product for all steps)
  name=lstm_cell  a Python loop over torch.nn.LSTMCell (one step at a time)
Thread count: --threads N sets torch.set_num_threads(N); run it with OMP_NUM_THREADS
and OPENBLAS_NUM_THREADS set to N as well (bench/run does).

usage: lstm.py [--seq T] [--batch B] [--input I] [--hidden H] [--threads N] [--iters N]
               [--warmup N] [--seed N]
"""
import argparse
import resource
import statistics
import time

import torch


def bench(step, iters, warmup):
    """Median (total, cpu, forward, backward) seconds of step(), which returns
    (t0, t1, t2, loss); cpu is the process's CPU time of the whole step."""
    tot, cpu, fwd, bwd, loss = [], [], [], [], 0.0
    for it in range(warmup + iters):
        c0 = time.process_time()
        t0, t1, t2, loss = step()
        c2 = time.process_time()
        if it >= warmup:
            tot.append(t2 - t0)
            cpu.append(c2 - c0)
            fwd.append(t1 - t0)
            bwd.append(t2 - t1)
    return (statistics.median(tot), statistics.median(cpu), statistics.median(fwd),
            statistics.median(bwd), loss)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seq", type=int, default=64)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--input", type=int, default=64)
    ap.add_argument("--hidden", type=int, default=128)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--iters", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--seed", type=int, default=42)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    T, B, I, H = a.seq, a.batch, a.input, a.hidden
    xdata = torch.randn(T, B, I)
    up = torch.rand(T, B, H) * 2 - 1
    gflop = 3.0 * 2.0 * T * B * (I + H) * 4.0 * H * 1e-9

    lstm = torch.nn.LSTM(I, H)

    def step_lstm():
        t0 = time.perf_counter()
        lstm.zero_grad(set_to_none=False)
        x = xdata.clone().requires_grad_(True)
        out, _ = lstm(x)
        loss = (out * up).sum()
        t1 = time.perf_counter()
        loss.backward()
        t2 = time.perf_counter()
        return t0, t1, t2, loss.item()

    cell = torch.nn.LSTMCell(I, H)

    def step_cell():
        t0 = time.perf_counter()
        cell.zero_grad(set_to_none=False)
        x = xdata.clone().requires_grad_(True)
        h = c = torch.zeros(B, H)
        outs = []
        for t in range(T):
            h, c = cell(x[t], (h, c))
            outs.append(h)
        loss = (torch.stack(outs) * up).sum()
        t1 = time.perf_counter()
        loss.backward()
        t2 = time.perf_counter()
        return t0, t1, t2, loss.item()

    print(f"LSTM T={T} B={B} I={I} H={H}, forward+backward, torch {torch.__version__}, "
          f"{torch.get_num_threads()} thread(s), median of {a.iters}:")
    for name, step in (("lstm", step_lstm), ("lstm_cell", step_cell)):
        t, c, f, b, loss = bench(step, a.iters, a.warmup)
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
        print(f"  {name:9s} forward {f * 1e3:.2f} ms, backward {b * 1e3:.2f} ms, "
              f"total {t * 1e3:.2f} ms ({gflop / t:.1f} GFLOP/s)")
        print(f"RESULT name={name} time={t:.6f} cpu={c:.6f} fwd={f:.6f} bwd={b:.6f} gflops={gflop / t:.2f} "
              f"maxrss_mib={rss:.1f} steady_allocs=-1 arena_mib=0 threads={torch.get_num_threads()} "
              f"seq={T} batch={B} input={I} hidden={H} loss={loss:.6g}")


if __name__ == "__main__":
    main()
