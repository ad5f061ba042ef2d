/* bench/lstm.c: one LSTM layer, forward and backward over T steps (char_rnn's shapes).
 *
 * x [T, B, I] (requiring its gradient, as an embedding's output does) -> tg_lstm_unroll
 * from zero states -> out [T, B, H]; loss = sum(out * up) for a fixed random up; then
 * backward, which fills the gradients of x and of the four parameters. No optimizer
 * step: this is the layer's cost alone. Each iteration resets the graph and zeroes the
 * gradients, as a training step does; the first --warmup iterations are not timed.
 * bench/reference/lstm.py does the same with torch.nn.LSTM (and, for comparison, a
 * Python loop of nn.LSTMCell).
 *
 * Prints the median time per iteration (wall clock, and the process's CPU time), split
 * into forward and backward, the
 * arithmetic rate of the matrix products (forward 2 T B (I + H) 4H flops, backward
 * twice that), the peak resident memory and the heap allocations tapegrad made in the
 * timed iterations, as a RESULT line for bench/run:
 *     RESULT name=lstm time=... cpu=... fwd=... bwd=... gflops=... maxrss_mib=... steady_allocs=...
 *
 * usage: lstm [--seq T] [--batch B] [--input I] [--hidden H] [--threads N] [--iters N]
 *             [--warmup N] [--seed N]
 * Defaults: T 64, B 32, I 64, H 128 (examples/char_rnn.c's defaults), 1 thread,
 * 20 timed iterations after 3 warm-up ones. */
#include <stdio.h>
#include <stdlib.h>

#include <tapegrad.h>

#include "bench.h"

int main(int argc, char **argv) {
    int T = 64, B = 32, I = 64, H = 128, threads = 1, iters = 20, warmup = 3;
    unsigned long long seed = 42;
    const bench_flag flags[] = {{"--seq", BENCH_INT, &T},           {"--batch", BENCH_INT, &B},
                                {"--input", BENCH_INT, &I},         {"--hidden", BENCH_INT, &H},
                                {"--threads", BENCH_INT, &threads}, {"--iters", BENCH_INT, &iters},
                                {"--warmup", BENCH_INT, &warmup},   {"--seed", BENCH_U64, &seed}};
    if (!bench_parse(argc, argv, flags, 8,
                     "lstm [--seq T] [--batch B] [--input I] [--hidden H] "
                     "[--threads N] [--iters N] [--warmup N] [--seed N]"))
        return 2;
    if (T < 1 || B < 1 || I < 1 || H < 1 || threads < 1 || iters < 1 || iters > 10000 ||
        warmup < 0) {
        fprintf(stderr, "lstm: every size, --threads and --iters (<= 10000) must be >= 1\n");
        return 2;
    }
    threads = tg_set_num_threads(threads);

    tg_params *p = tg_params_new();
    tg_graph *g = tg_graph_new();
    tg_lstm_cell cell;
    if (!p || !g) return 1;
    tg_params_seed(p, seed);
    tg_seed(g, seed);
    if (tg_lstm_cell_init(&cell, p, "lstm", I, H) != TG_OK) {
        fprintf(stderr, "lstm: %s\n", tg_last_error());
        return 1;
    }
    /* the input and the upstream gradient: fixed, outside the graph */
    const size_t nx = (size_t)T * B * I, nout = (size_t)T * B * H;
    tg_real *xdata = malloc(nx * sizeof *xdata), *updata = malloc(nout * sizeof *updata);
    double *fwd = malloc((size_t)iters * sizeof *fwd), *bwd = malloc((size_t)iters * sizeof *bwd);
    double *tot = malloc((size_t)iters * sizeof *tot), *cpu = malloc((size_t)iters * sizeof *cpu);
    if (!xdata || !updata || !fwd || !bwd || !tot || !cpu) return 1;
    tg_rng r;
    tg_rng_seed(&r, seed);
    for (size_t i = 0; i < nx; i++) xdata[i] = (tg_real)tg_rng_normal(&r);
    for (size_t i = 0; i < nout; i++) updata[i] = (tg_real)(tg_rng_uniform(&r) * 2 - 1);

    uint64_t allocs = 0;
    double loss_value = 0;
    for (int it = 0; it < warmup + iters; it++) {
        const uint64_t a0 = tg_alloc_count();
        const double t0 = bench_now(), c0 = bench_cpu_now();
        tg_graph_reset(g);
        tg_params_zero_grad(p);
        tg_tensor *x = tg_tensor_wrap(g, 3, (int[]){T, B, I}, xdata);
        tg_set_requires_grad(x, true);
        tg_tensor *out = tg_lstm_unroll(g, &cell, x, NULL, NULL, NULL, NULL);
        tg_tensor *up = tg_tensor_wrap(g, 3, (int[]){T, B, H}, updata);
        tg_tensor *loss = tg_sum(g, tg_mul(g, out, up), TG_ALL, false);
        if (!loss) {
            fprintf(stderr, "lstm: %s\n", tg_graph_error(g));
            return 1;
        }
        const double t1 = bench_now();
        if (tg_backward(g, loss) != 0) {
            fprintf(stderr, "lstm: %s\n", tg_graph_error(g));
            return 1;
        }
        const double t2 = bench_now(), c2 = bench_cpu_now();
        loss_value = tg_item(loss);
        if (it >= warmup) {
            fwd[it - warmup] = t1 - t0;
            bwd[it - warmup] = t2 - t1;
            tot[it - warmup] = t2 - t0;
            cpu[it - warmup] = c2 - c0;
            allocs += tg_alloc_count() - a0;
        }
    }
    tg_stats st;
    tg_graph_stats(g, &st);
    const double t = bench_median_mean(tot, iters), f = bench_median_mean(fwd, iters);
    const double b = bench_median_mean(bwd, iters);
    const double c = bench_median_mean(cpu, iters);
    const double gflop = 3.0 * 2.0 * T * B * (double)(I + H) * 4.0 * H * 1e-9;
    printf("LSTM T=%d B=%d I=%d H=%d, forward+backward, %d thread%s, %s, median of %d:\n", T, B, I,
           H, threads, threads == 1 ? "" : "s", tg_has_blas() ? "OpenBLAS" : "portable matmul",
           iters);
    printf("  forward %.2f ms, backward %.2f ms, total %.2f ms (%.1f GFLOP/s); %lld nodes\n",
           f * 1e3, b * 1e3, t * 1e3, gflop / t, (long long)st.nodes);
    printf("RESULT name=lstm time=%.6f cpu=%.6f fwd=%.6f bwd=%.6f gflops=%.2f maxrss_mib=%.1f "
           "steady_allocs=%llu arena_mib=%.2f threads=%d seq=%d batch=%d input=%d hidden=%d "
           "loss=%.6g\n",
           t, c, f, b, gflop / t, bench_maxrss_mib(), (unsigned long long)allocs,
           (double)st.arena_reserved / (1024.0 * 1024.0), threads, T, B, I, H, loss_value);
    free(xdata);
    free(updata);
    free(fwd);
    free(bwd);
    free(tot);
    free(cpu);
    tg_graph_free(g);
    tg_params_free(p);
    return 0;
}
