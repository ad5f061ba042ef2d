/* bench/matmul.c: the matrix products of the MLP, through BLAS and through the
 * portable kernel.
 *
 * For each layer of fashion_mlp (784->512 and 512->10) at a batch size B, one training
 * step of the layer alone: y = x @ W^T + b (tg_linear), then backward from a fixed dy:
 *     layer 1 (x is the input, needs no gradient):  dW = dy^T @ x, db
 *     layer 2 (x is the hidden layer):               dW = dy^T @ h, dx = dy @ W, db
 * so exactly the products (shapes and transposes) one step of mlp_train makes. Timed:
 *   tapegrad  the layer step as tapegrad runs it by default (tg_use_blas(true): OpenBLAS,
 *             or the portable kernel on CPUs where that is the faster one)
 *   portable  the layer step with the portable kernel (tg_use_blas(false))
 *   openblas  the same two or three products alone, straight through cblas_?gemm with
 *             OpenBLAS on --threads threads (no bias, no graph): what OpenBLAS takes
 * The arithmetic is counted as 2*M*N*K per product.
 * bench/reference/matmul.py times the same layer steps in PyTorch.
 *
 * usage: matmul [--batch N] [--threads N] [--reps N]
 * Prints one RESULT line per layer and kind:
 *   RESULT name=fc1_b64_portable time=<s per step> gflops=<GFLOP/s> */
#include <stdio.h>
#include <stdlib.h>

#include <tapegrad.h>

#include "bench.h"
#ifdef BENCH_CBLAS
#include <cblas.h>
#if TG_PRECISION_DOUBLE
#define GEMM cblas_dgemm
#else
#define GEMM cblas_sgemm
#endif
#endif

/* One layer step: x [B,in] (xgrad: x needs its gradient), W [out,in], b [out], dy [B,out];
 * raw: through OpenBLAS alone (raw_step, into scratch), else through tapegrad. */
typedef struct layer_step {
    int B, in, out;
    tg_graph *g;
    tg_tensor *x, *w, *b, *dy;
    bool xgrad, raw;
    tg_real *scratch; /* raw: y [B,out], dW [out,in], dx [B,in] */
} layer_step;

/* The layer's products alone through OpenBLAS: y = x W^T (+ y), dW += dy^T x, and
 * dx += dy W when x needs a gradient. */
static void raw_step(int B, int in, int out, const tg_real *x, const tg_real *w, tg_real *y,
                     const tg_real *dy, tg_real *dw, tg_real *dx) {
#ifdef BENCH_CBLAS
    GEMM(CblasRowMajor, CblasNoTrans, CblasTrans, B, out, in, 1, x, in, w, in, 1, y, out);
    GEMM(CblasRowMajor, CblasTrans, CblasNoTrans, out, in, B, 1, dy, out, x, in, 1, dw, in);
    if (dx)
        GEMM(CblasRowMajor, CblasNoTrans, CblasNoTrans, B, in, out, 1, dy, out, w, in, 1, dx, in);
#else
    (void)B, (void)in, (void)out, (void)x, (void)w, (void)y, (void)dy, (void)dw, (void)dx;
#endif
}

/* One step as a bench_step_fn: forward, backward; 0, or -1 after a message. */
static int step(void *ctx) {
    const layer_step *s = ctx;
    if (s->raw) {
        tg_real *y = s->scratch, *dw = y + (size_t)s->B * s->out, *dx = dw + (size_t)s->out * s->in;
        raw_step(s->B, s->in, s->out, tg_data(s->x), tg_data(s->w), y, tg_data(s->dy), dw,
                 s->xgrad ? dx : NULL);
        return 0;
    }
    tg_graph *g = s->g;
    tg_graph_reset(g);
    tg_tensor *x = tg_tensor_wrap(g, 2, tg_shape(s->x), tg_data(s->x));
    if (x && s->xgrad) tg_set_requires_grad(x, true);
    tg_tensor *y = tg_linear(g, x, s->w, s->b);
    if (tg_backward_from(g, y, tg_data(s->dy)) == 0) return 0;
    fprintf(stderr, "matmul: %s\n", tg_graph_error(g));
    return -1;
}

int main(int argc, char **argv) {
    int batch = 64, threads = 1, reps = 7;
    const bench_flag flags[] = {{"--batch", BENCH_INT, &batch},
                                {"--threads", BENCH_INT, &threads},
                                {"--reps", BENCH_INT, &reps}};
    if (!bench_parse(argc, argv, flags, 3, "matmul [--batch N] [--threads N] [--reps N]")) return 2;
    if (batch < 1 || threads < 1 || reps < 1 || reps > 100) return 2;
    threads = tg_set_num_threads(threads);
    const int sizes[2][2] = {{784, 512}, {512, 10}};
    tg_params *p = tg_params_new();
    tg_graph *data = tg_graph_new(), *g = tg_graph_new();
    for (int l = 0; l < 2; l++) {
        const int in = sizes[l][0], out = sizes[l][1];
        char name[64];
        snprintf(name, sizeof name, "w%d", l);
        tg_tensor *w = tg_params_add(p, name, 2, (int[]){out, in});
        snprintf(name, sizeof name, "b%d", l);
        tg_tensor *b = tg_params_add(p, name, 1, (int[]){out});
        tg_init_tensor(w, TG_INIT_UNIFORM, -0.05, 0.05, tg_params_rng(p));
        tg_init_tensor(b, TG_INIT_UNIFORM, -0.05, 0.05, tg_params_rng(p));
        tg_tensor *x = tg_rand(data, 2, (int[]){batch, in}, -1, 1);
        tg_tensor *dy = tg_rand(data, 2, (int[]){batch, out}, -1, 1);
        if (!w || !b || !x || !dy) {
            fprintf(stderr, "matmul: %s\n", tg_last_error());
            return 1;
        }
        const bool xgrad = l == 1;
        const double flop = 2.0 * batch * in * out * (xgrad ? 3 : 2);
        /* enough iterations for ~20 ms per timing */
        int iters = (int)(2e-2 * 50e9 / flop);
        if (iters < 1) iters = 1;
        static const char *const kinds[3] = {"tapegrad", "portable", "openblas"};
        for (int k = 0; k < 3; k++) {
#ifndef BENCH_CBLAS
            if (k == 2) continue;
#endif
            tg_use_blas(k == 0);
            tg_real *scratch = NULL;
            if (k == 2) { /* y [B,out], dW [out,in], dx [B,in] */
#if defined(BENCH_CBLAS) && defined(OPENBLAS_VERSION)
                openblas_set_num_threads(threads);
#endif
                scratch = calloc((size_t)batch * out + (size_t)out * in + (size_t)batch * in,
                                 sizeof *scratch);
                if (!scratch) return 1;
            }
            layer_step ls = {batch, in, out, g, x, w, b, dy, xgrad, k == 2, scratch};
            const double med = bench_time_steps(reps, iters, step, &ls);
            free(scratch);
            if (med < 0) return 1;
            printf("RESULT name=fc%d_b%d_%s time=%.3e gflops=%.2f threads=%d\n", l + 1, batch,
                   kinds[k], med, flop / med * 1e-9, threads);
        }
    }
    tg_graph_free(g);
    tg_graph_free(data);
    tg_params_free(p);
    return 0;
}
