/* bench/chain.c: per-node overhead of the engine on a chain of scalar ops.
 *
 * Builds y = ((x * a) + b) * a + b ... with N one-element nodes, then runs backward,
 * several times on one graph (reset between repeats: the steady state a training
 * loop sees), and prints the median ns per node for forward and backward, the arena
 * bytes per step and the tapegrad mallocs per steady step, then a RESULT line for
 * bench/run. bench/reference/chain.py does the same with PyTorch tensors of one element.
 *
 * usage: chain [nodes (default 1000000)] [repeats (default 5)] */
#include <stdio.h>
#include <stdlib.h>

#include <tapegrad.h>

#include "bench.h"

int main(int argc, char **argv) {
    long n = argc > 1 ? atol(argv[1]) : 1000000;
    int reps = argc > 2 ? atoi(argv[2]) : 5;
    if (n < 2 || reps < 1 || reps > 100) {
        fprintf(stderr, "usage: chain [nodes >= 2] [repeats 1..100]\n");
        return 2;
    }
    tg_set_num_threads(1);
    tg_graph *g = tg_graph_new();
    double fwd[100], bwd[100];
    size_t step_bytes = 0;
    uint64_t steady_mallocs = 0;
    for (int r = 0; r < reps + 1; r++) { /* the first run warms the arena up */
        tg_graph_reset(g);
        uint64_t m0 = tg_alloc_count();
        double t0 = bench_now();
        tg_tensor *x = tg_scalar(g, 1);
        tg_set_requires_grad(x, true);
        tg_tensor *a = tg_scalar(g, 1.0000001f), *b = tg_scalar(g, 1e-7f);
        tg_tensor *y = x;
        for (long i = 0; i < n; i += 2) y = tg_add(g, tg_mul(g, y, a), b);
        double t1 = bench_now();
        if (tg_backward(g, y) != 0) {
            fprintf(stderr, "chain: %s\n", tg_graph_error(g));
            return 1;
        }
        double t2 = bench_now();
        if (r > 0) {
            fwd[r - 1] = (t1 - t0) * 1e9 / (double)n;
            bwd[r - 1] = (t2 - t1) * 1e9 / (double)n;
            steady_mallocs += tg_alloc_count() - m0;
        }
        tg_stats st;
        tg_graph_stats(g, &st);
        step_bytes = st.arena_used;
    }
    const double f = bench_median(fwd, reps), b = bench_median(bwd, reps);
    printf("chain of %ld scalar nodes (%s, 1 thread), median of %d:\n", n, tg_precision(), reps);
    printf("  forward   %7.1f ns/node\n", f);
    printf("  backward  %7.1f ns/node\n", b);
    printf("  total     %7.1f ns/node\n", f + b);
    printf("  arena     %zu bytes per step (%.0f bytes/node)\n", step_bytes,
           (double)step_bytes / (double)n);
    printf("  mallocs   %.1f per steady step\n", (double)steady_mallocs / reps);
    printf("RESULT time=%.4e fwd_ns=%.1f bwd_ns=%.1f node_ns=%.1f bytes_per_node=%.0f "
           "steady_allocs=%.1f\n",
           (f + b) * 1e-9 * (double)n, f, b, f + b, (double)step_bytes / (double)n,
           (double)steady_mallocs / reps);
    tg_graph_free(g);
    return 0;
}
