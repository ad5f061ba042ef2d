/* bench/elementwise.c: large elementwise ops and reductions against memory bandwidth.
 *
 * The yardstick is a plain copy loop (dst[i] = src[i], split across the same number
 * of threads) over arrays of N floats, far larger than the last-level cache; its
 * bandwidth counts the bytes read plus the bytes written. It runs beside every op,
 * repeat for repeat, and each op's fraction is taken against the copy's median over
 * its own repeats (the machine may be shared: both move together). Each op is then timed on
 * tensors of N elements (in the steady state: the graph is reset between repeats, so
 * outputs reuse arena memory) and its bandwidth counted the same way: every input
 * read once, the output written once. The ratio op/copy is the fraction of this
 * machine's bandwidth the op reaches.
 * bench/reference/elementwise.py times the same ops in PyTorch.
 *
 * usage: elementwise [--n N (default 2^25)] [--threads N] [--reps N]
 * Prints one RESULT line per op: RESULT name=add time=<s> gbs=<GB/s> frac=<of copy> */
#include <stdio.h>
#include <stdlib.h>

#include <tapegrad.h>

#include "bench.h"

static void copy_loop(float *restrict dst, const float *restrict src, long n, int threads) {
    const long chunk = 1L << 16, nch = (n + chunk - 1) / chunk;
    (void)threads;
#pragma omp parallel for schedule(static) num_threads(threads)
    for (long c = 0; c < nch; c++) {
        const long lo = c * chunk, hi = lo + chunk < n ? lo + chunk : n;
        for (long i = lo; i < hi; i++) dst[i] = src[i];
    }
}

enum { OP_ADD, OP_MUL, OP_ADD_ROW, OP_RELU, OP_EXP, OP_SUM, OP_SUM_ROWS, OP_SUM_COLS, OP_COUNT };
static const char *const names[OP_COUNT] = {"add", "mul", "add_bias", "relu",
                                            "exp", "sum", "sum_rows", "sum_cols"};
/* bytes moved per element: inputs read + output written */
static const double bytes_per[OP_COUNT] = {12, 12, 8, 8, 8, 4, 4, 4};

static tg_tensor *run_op(tg_graph *g, int op, tg_tensor *a, tg_tensor *b, tg_tensor *row) {
    switch (op) {
    case OP_ADD:
        return tg_add(g, a, b);
    case OP_MUL:
        return tg_mul(g, a, b);
    case OP_ADD_ROW:
        return tg_add(g, a, row);
    case OP_RELU:
        return tg_relu(g, a);
    case OP_EXP:
        return tg_exp(g, a);
    case OP_SUM:
        return tg_sum(g, a, TG_ALL, false);
    case OP_SUM_ROWS:
        return tg_sum(g, a, 1, false);
    default:
        return tg_sum(g, a, 0, false);
    }
}

int main(int argc, char **argv) {
    long n = 1L << 25;
    int threads = 1, reps = 7;
    const bench_flag flags[] = {
        {"--n", BENCH_LONG, &n}, {"--threads", BENCH_INT, &threads}, {"--reps", BENCH_INT, &reps}};
    if (!bench_parse(argc, argv, flags, 3, "elementwise [--n N] [--threads N] [--reps N]"))
        return 2;
    const int cols = 4096;
    n = (n + cols - 1) / cols * cols;
    if (n < cols || threads < 1 || reps < 1 || reps > 100) return 2;
    threads = tg_set_num_threads(threads);
    const int rows = (int)(n / cols);

    /* the copy loop, on its own buffers (kept: it runs again beside every op) */
    float *src = malloc((size_t)n * sizeof *src), *dst = malloc((size_t)n * sizeof *dst);
    if (!src || !dst) return 1;
    for (long i = 0; i < n; i++) src[i] = (float)(i & 1023), dst[i] = 0;
    copy_loop(dst, src, n, threads); /* first touch */

    /* inputs live outside the graph and are wrapped (not copied) after every reset */
    tg_real *ad = malloc((size_t)n * sizeof *ad), *bd = malloc((size_t)n * sizeof *bd);
    tg_real *rd = malloc((size_t)cols * sizeof *rd);
    if (!ad || !bd || !rd) return 1;
    tg_rng rng;
    tg_rng_seed(&rng, 1);
    for (long i = 0; i < n; i++) {
        ad[i] = (tg_real)(2 * tg_rng_uniform(&rng) - 1);
        bd[i] = (tg_real)(2 * tg_rng_uniform(&rng) - 1);
    }
    for (int i = 0; i < cols; i++) rd[i] = (tg_real)(2 * tg_rng_uniform(&rng) - 1);
    tg_graph *g = tg_graph_new();
    tg_graph_set_grad_enabled(g, false);
    /* Each op's repeats alternate with repeats of the copy loop, and its fraction is
     * its median bandwidth over the copy's median beside it: a change in what else the
     * machine is doing moves both. */
    double t[100], tc[100], all_copy[100 * OP_COUNT];
    int ncopy = 0;
    char lines[OP_COUNT][160];
    for (int op = 0; op < OP_COUNT; op++) {
        for (int r = 0; r < reps + 1; r++) {
            double c0 = bench_now();
            copy_loop(dst, src, n, threads);
            double c1 = bench_now();
            tg_graph_reset(g);
            tg_tensor *a = tg_tensor_wrap(g, 2, (int[]){rows, cols}, ad);
            tg_tensor *b = tg_tensor_wrap(g, 2, (int[]){rows, cols}, bd);
            tg_tensor *row = tg_tensor_wrap(g, 1, (int[]){cols}, rd);
            double t0 = bench_now();
            tg_tensor *y = run_op(g, op, a, b, row);
            double t1 = bench_now();
            if (!y) {
                fprintf(stderr, "elementwise: %s\n", tg_graph_error(g));
                return 1;
            }
            if (r > 0) t[r - 1] = t1 - t0, tc[r - 1] = all_copy[ncopy++] = c1 - c0;
        }
        const double med = bench_median(t, reps), gbs = bytes_per[op] * (double)n / med * 1e-9;
        const double copy_gbs = 8.0 * (double)n / bench_median(tc, reps) * 1e-9;
        snprintf(lines[op], sizeof lines[op],
                 "RESULT name=%s time=%.4e gbs=%.2f frac=%.3f threads=%d\n", names[op], med, gbs,
                 gbs / copy_gbs, threads);
    }
    const double copy_med = bench_median(all_copy, ncopy);
    printf("RESULT name=copy time=%.4e gbs=%.2f frac=1.000 threads=%d\n", copy_med,
           8.0 * (double)n / copy_med * 1e-9, threads);
    for (int op = 0; op < OP_COUNT; op++) fputs(lines[op], stdout);
    free(src);
    free(dst);
    tg_graph_free(g);
    free(ad);
    free(bd);
    free(rd);
    return 0;
}
