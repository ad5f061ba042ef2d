/* sine_gru: a GRU forecasts a noisy sine wave one step ahead.
 *
 * Each sequence is s(t) = sin(2 pi t / P + phi) + noise, t = 0..T, with its own period
 * P (uniform in [12, 30] steps) and phase phi, and gaussian noise of standard deviation
 * 0.1 on every sample. The model reads the noisy values one at a time and, after each,
 * predicts the next one:
 *
 *     x [T, B, 1] -> GRU (1 -> 32) -> out [T, B, 32] -> linear (32 -> 1) -> pred [T, B, 1]
 *
 * and is trained with the mean squared error against the next noisy value, over every
 * step after a warm-up of 8 (before that the model has seen too little of the wave to
 * know its period), with Adam and the gradients' global norm clipped to 1
 * (tg_clip_grad_norm). Training sequences are drawn fresh at every step; the test set
 * is 256 fixed sequences. At the end it prints predicted against true values for the
 * last steps of one test sequence, and the test MSE of the GRU against the naive
 * forecast "the next value equals the last one" and against the noise floor (the
 * variance of the noise: what a perfect forecast of the clean wave would score).
 *
 *     sine_gru [--steps N] [--hidden H] [--seq T] [--batch B] [--lr X] [--seed N]
 *              [--threads N] [--log FILE.csv]
 *
 * Defaults: 600 steps, H 32, T 40, B 32, Adam lr 0.01, seed 42, 1 thread (the model is
 * small: threads would only wait for each other). --log writes "step, train_mse,
 * test_mse, naive_mse" every 50 steps. Exits 0 when the GRU's test MSE is below half
 * the naive forecast's, 1 otherwise or on an error, 2 for a bad command line.
 */
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <tapegrad.h>

#include "common.h"

#define WARMUP 8   /* predictions before this step are not scored */
#define NOISE  0.1 /* standard deviation of the noise */
#define N_TEST 256 /* test sequences */
#define REPORT 50  /* steps between reports */

static const double PI = 3.14159265358979323846;

typedef struct options {
    int steps, hidden, seq, batch, threads;
    double lr;
    unsigned long long seed;
    const char *log;
} options;

static void usage(FILE *out) {
    fprintf(out, "usage: sine_gru [--steps N] [--hidden H] [--seq T] [--batch B] [--lr X]\n"
                 "                [--seed N] [--threads N] [--log FILE.csv]\n"
                 "Trains a GRU to forecast noisy sine waves one step ahead.\n"
                 "Defaults: --steps 600 --hidden 32 --seq 40 --batch 32 --lr 0.01 --seed 42\n"
                 "--threads 1.\n");
}

/* B sequences of T + 1 samples, time first: noisy[t * B + b] and clean likewise. The
 * model reads samples 0..T-1 and predicts samples 1..T. */
static void make_waves(tg_rng *r, int T, int B, tg_real *noisy, tg_real *clean) {
    for (int b = 0; b < B; b++) {
        const double period = 12 + 18 * tg_rng_uniform(r), phase = 2 * PI * tg_rng_uniform(r);
        for (int t = 0; t <= T; t++) {
            const double s = sin(2 * PI * t / period + phase);
            clean[t * B + b] = (tg_real)s;
            noisy[t * B + b] = (tg_real)(s + NOISE * tg_rng_normal(r));
        }
    }
}

typedef struct model {
    tg_gru_cell gru;
    tg_linear_layer head;
} model;

/* Predictions [T - WARMUP, B, 1] of samples WARMUP+1..T from inputs 0..T-1. */
static tg_tensor *forecast(tg_graph *g, const model *m, tg_real *noisy, int T, int B) {
    tg_tensor *x = tg_tensor_wrap(g, 3, (int[]){T, B, 1}, noisy); /* samples 0..T-1 */
    tg_tensor *out = tg_gru_unroll(g, &m->gru, x, NULL, NULL);    /* [T,B,H] */
    tg_tensor *pred = tg_linear_layer_forward(g, &m->head, out);  /* [T,B,1] */
    return tg_slice(g, pred, 0, WARMUP, T, 1);
}

/* The targets of forecast: samples WARMUP+1..T, [T - WARMUP, B, 1]. */
static tg_tensor *targets(tg_graph *g, tg_real *series, int T, int B) {
    return tg_tensor_wrap(g, 3, (int[]){T - WARMUP, B, 1}, series + (size_t)(WARMUP + 1) * B);
}

/* The naive forecast's MSE: sample t predicts sample t+1, over the scored steps. */
static double naive_mse(const tg_real *noisy, int T, int B) {
    double s = 0;
    for (int t = WARMUP; t < T; t++)
        for (int b = 0; b < B; b++) {
            const double d = (double)noisy[(t + 1) * B + b] - (double)noisy[t * B + b];
            s += d * d;
        }
    return s / ((double)(T - WARMUP) * B);
}

int main(int argc, char **argv) {
    options o = {
        .steps = 600, .hidden = 32, .seq = 40, .batch = 32, .threads = 1, .lr = 0.01, .seed = 42};
    const ex_flag flags[] = {EX_FLAG_INT("--steps", &o.steps, 1, 10000000),
                             EX_FLAG_INT("--hidden", &o.hidden, 1, 4096),
                             EX_FLAG_INT("--seq", &o.seq, WARMUP + 1, 100000),
                             EX_FLAG_INT("--batch", &o.batch, 1, 100000),
                             EX_FLAG_INT("--threads", &o.threads, 1, 4096),
                             EX_FLAG_STR("--log", &o.log),
                             EX_FLAG_REAL("--lr", &o.lr, DBL_TRUE_MIN, DBL_MAX),
                             EX_FLAG_SEED("--seed", &o.seed)};
    int rc = ex_parse("sine_gru", argc, argv, flags, 8, NULL);
    if (rc) {
        usage(rc < 0 ? stdout : stderr);
        return rc < 0 ? 0 : 2;
    }
    tg_set_num_threads(o.threads);
    const int T = o.seq, B = o.batch;
    tg_real *train_x = malloc((size_t)(T + 1) * B * sizeof *train_x);
    tg_real *train_c = malloc((size_t)(T + 1) * B * sizeof *train_c);
    tg_real *test_x = malloc((size_t)(T + 1) * N_TEST * sizeof *test_x);
    tg_real *test_c = malloc((size_t)(T + 1) * N_TEST * sizeof *test_c);
    tg_graph *g = tg_graph_new();
    tg_params *p = tg_params_new();
    tg_optim *opt = NULL;
    FILE *log = NULL;
    model m;
    rc = 1;
    if (!train_x || !train_c || !test_x || !test_c || !g || !p) goto fail;
    tg_rng data_rng, test_rng;
    tg_rng_seed(&data_rng, o.seed);
    tg_rng_seed(&test_rng, o.seed + 1000003);
    make_waves(&test_rng, T, N_TEST, test_x, test_c);
    const double naive = naive_mse(test_x, T, N_TEST);

    tg_params_seed(p, o.seed);
    if (tg_gru_cell_init(&m.gru, p, "gru", 1, o.hidden) != TG_OK ||
        tg_linear_layer_init(&m.head, p, "head", o.hidden, 1, NULL) != TG_OK)
        goto fail;
    tg_adam_opts ao = tg_adam_defaults(o.lr);
    if (!(opt = tg_adam_new(p, &ao))) goto fail;
    if (o.log) {
        if (!(log = fopen(o.log, "w"))) {
            fprintf(stderr, "sine_gru: cannot write %s: %s\n", o.log, strerror(errno));
            goto done;
        }
        fprintf(log, "step,train_mse,test_mse,naive_mse\n");
    }
    printf("sine_gru: noisy sine waves (period 12 to 30 steps, noise sd %.2g), %d steps each;\n"
           "GRU 1 -> %d, linear %d -> 1 (%lld parameters); MSE after a warm-up of %d steps;\n"
           "Adam lr %g, gradient norm clipped to 1, batches of %d fresh sequences\n",
           NOISE, T, o.hidden, o.hidden, (long long)tg_params_numel(p), WARMUP, o.lr, B);
    printf("test set: %d sequences; naive forecast (next = last) MSE %.4f, noise floor %.4f\n",
           N_TEST, naive, NOISE * NOISE);

    const double t0 = tg_time_now();
    double win = 0, test_mse = NAN;
    for (int step = 0; step <= o.steps; step++) {
        if (step > 0) { /* step 0 only reports the untrained model */
            tg_graph_reset(g);
            make_waves(&data_rng, T, B, train_x, train_c);
            tg_tensor *loss = tg_mse_loss(g, forecast(g, &m, train_x, T, B),
                                          targets(g, train_x, T, B), TG_REDUCE_MEAN);
            if (tg_backward(g, loss) != 0) goto fail;
            tg_clip_grad_norm(p, 1.0);
            if (tg_optim_step(opt) != TG_OK) goto fail;
            tg_optim_zero_grad(opt);
            win += tg_item(loss);
        }
        if (step % REPORT == 0 || step == o.steps) {
            const int n = step % REPORT ? step % REPORT : REPORT;
            tg_graph_reset(g);
            const bool was = tg_graph_set_grad_enabled(g, false);
            tg_tensor *tl = tg_mse_loss(g, forecast(g, &m, test_x, T, N_TEST),
                                        targets(g, test_x, T, N_TEST), TG_REDUCE_MEAN);
            tg_graph_set_grad_enabled(g, was);
            if (!tl) goto fail;
            test_mse = tg_item(tl);
            if (step == 0) {
                printf("step    0  train MSE   -     test MSE %.4f\n", test_mse);
                if (log) fprintf(log, "0,,%.6f,%.6f\n", test_mse, naive);
            } else {
                printf("step %4d  train MSE %.4f  test MSE %.4f  (%.1f s)\n", step, win / n,
                       test_mse, tg_time_now() - t0);
                if (log) fprintf(log, "%d,%.6f,%.6f,%.6f\n", step, win / n, test_mse, naive);
            }
            win = 0;
        }
    }
    const double seconds = tg_time_now() - t0;

    /* ---- one test sequence, its last steps: predicted against true -------------------- */
    tg_graph_reset(g);
    tg_graph_set_grad_enabled(g, false);
    tg_tensor *pred = forecast(g, &m, test_x, T, N_TEST); /* [T-WARMUP, N_TEST, 1] */
    if (!pred) goto fail;
    const tg_real *pv = tg_data(pred);
    const int b = 0, rows = T - WARMUP < 12 ? T - WARMUP : 12;
    printf("\ntest sequence %d, the last %d forecasts:\n", b, rows);
    printf("   t   GRU forecast   true (noisy)   clean   naive (the last input)\n");
    for (int t = T - rows; t < T; t++)
        printf("%4d %14.3f %14.3f %7.3f %8.3f\n", t + 1, (double)pv[(t - WARMUP) * N_TEST + b],
               (double)test_x[(t + 1) * N_TEST + b], (double)test_c[(t + 1) * N_TEST + b],
               (double)test_x[t * N_TEST + b]);
    printf("\ntrained %d steps in %.1f s\n", o.steps, seconds);
    printf("test MSE: GRU %.4f, naive forecast %.4f, noise floor %.4f\n", test_mse, naive,
           NOISE * NOISE);
    rc = test_mse < 0.5 * naive ? 0 : 1;
    if (rc) fprintf(stderr, "sine_gru: the GRU did not beat half the naive forecast's MSE\n");
    goto done;

fail:
    fprintf(stderr, "sine_gru: %s\n",
            g && tg_graph_error(g) ? tg_graph_error(g)
            : tg_last_error()      ? tg_last_error()
                                   : "out of memory");
done:
    if (log && fclose(log) != 0) {
        fprintf(stderr, "sine_gru: writing %s failed\n", o.log);
        rc = 1;
    }
    tg_optim_free(opt);
    tg_params_free(p);
    tg_graph_free(g);
    free(train_x), free(train_c), free(test_x), free(test_c);
    return rc;
}
