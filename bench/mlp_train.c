/* bench/mlp_train.c: fashion_mlp-equivalent training throughput, memory and accuracy.
 *
 * The model of examples/fashion_mlp.c, written with core ops: x [B,28,28] -> reshape
 * [B,784] -> linear 784->512 -> relu -> dropout 0.2 -> linear 512->10 -> cross-entropy
 * (mean) on the logits; Adam (lr 1e-3, PyTorch defaults); batches of B from the
 * 60,000 Fashion-MNIST training images, shuffled, the last short batch kept. Weights
 * start as fashion_mlp's (Keras's Dense: Glorot uniform), biases at zero.
 * bench/reference/mlp_train.py is the same program in PyTorch.
 *
 * Every epoch is timed from its first batch to its last optimizer step (loading the
 * files is not timed); the program prints one line per epoch and then a RESULT line
 * with the median epoch time (wall clock, and the process's CPU time), the arithmetic rate (98.2
 * GFLOP per epoch of 60,000 images), the process's peak resident memory (getrusage ru_maxrss: the
 * whole process, data included) and the heap allocations tapegrad made during the steady-state
 * steps (every step after the first).
 *
 * usage: mlp_train [--data DIR] [--batch N] [--threads N] [--epochs N] [--steps N]
 *                  [--eval] [--no-blas] [--seed N]
 *   --steps N  stop each epoch after N steps (quick runs; times are then per N steps)
 *   --eval     report the test-set accuracy after the last epoch */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include <tapegrad.h>

#include "bench.h"

typedef struct model {
    tg_tensor *w1, *b1, *w2, *b2;
} model;

/* logits [B,10] of images x [B,28,28] */
static tg_tensor *forward(tg_graph *g, const model *m, tg_tensor *x, int B) {
    tg_tensor *h = tg_reshape(g, x, 2, (int[]){B, 784});
    h = tg_linear(g, h, m->w1, m->b1);
    h = tg_relu(g, h);
    h = tg_dropout(g, h, 0.2f);
    return tg_linear(g, h, m->w2, m->b2);
}

static int fail(const char *what, tg_graph *g) {
    fprintf(stderr, "mlp_train: %s: %s\n", what,
            g && tg_graph_error(g) ? tg_graph_error(g) : tg_last_error());
    return 1;
}

int main(int argc, char **argv) {
    const char *dir = "/usr/share/datasets/fashion-mnist";
    int batch = 64, threads = 1, epochs = 1;
    long max_steps = 0;
    bool eval = false, blas = true;
    unsigned long long seed = 42;
    const bench_flag flags[] = {
        {"--data", BENCH_STR, &dir},         {"--batch", BENCH_INT, &batch},
        {"--threads", BENCH_INT, &threads},  {"--epochs", BENCH_INT, &epochs},
        {"--steps", BENCH_LONG, &max_steps}, {"--seed", BENCH_U64, &seed},
        {"--eval", BENCH_SET, &eval},        {"--no-blas", BENCH_CLEAR, &blas}};
    if (!bench_parse(argc, argv, flags, 8,
                     "mlp_train [--data DIR] [--batch N] [--threads N] "
                     "[--epochs N] [--steps N] [--eval] [--no-blas] [--seed N]"))
        return 2;
    if (batch < 1 || threads < 1 || epochs < 1 || epochs > 100) {
        fprintf(stderr, "mlp_train: bad --batch, --threads or --epochs\n");
        return 2;
    }
    threads = tg_set_num_threads(threads);
    tg_use_blas(blas);

    char path[4][1024];
    const char *files[4] = {"train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
                            "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"};
    for (int i = 0; i < 4; i++) snprintf(path[i], sizeof path[i], "%s/%s", dir, files[i]);
    tg_dataset *train = tg_dataset_load_idx(path[0], path[1]);
    tg_dataset *test = eval && train ? tg_dataset_load_idx(path[2], path[3]) : NULL;
    if (!train || (eval && !test)) return fail("loading data", NULL);
    tg_dataset_set_normalize(train, 1.0 / 255, 0.2860, 0.3530);
    if (test) tg_dataset_set_normalize(test, 1.0 / 255, 0.2860, 0.3530);

    tg_params *p = tg_params_new();
    tg_graph *g = tg_graph_new();
    model m = {tg_params_add(p, "fc1.weight", 2, (int[]){512, 784}),
               tg_params_add(p, "fc1.bias", 1, (int[]){512}),
               tg_params_add(p, "fc2.weight", 2, (int[]){10, 512}),
               tg_params_add(p, "fc2.bias", 1, (int[]){10})};
    if (!p || !g || !m.w1 || !m.b1 || !m.w2 || !m.b2) return fail("making the model", NULL);
    tg_params_seed(p, seed);
    tg_seed(g, seed);
    tg_init_tensor(m.w1, TG_INIT_XAVIER_UNIFORM, 1, 0, tg_params_rng(p));
    tg_init_tensor(m.w2, TG_INIT_XAVIER_UNIFORM, 1, 0, tg_params_rng(p));
    tg_adam_opts ao = tg_adam_defaults(1e-3);
    tg_optim *opt = tg_adam_new(p, &ao);
    tg_batcher *tb = tg_batcher_new(train, batch, true, false, seed);
    if (!opt || !tb) return fail("making the optimizer", NULL);

    double times[100], cpu[100];
    long steps_done = 0;
    uint64_t steady_allocs = 0;
    double last_loss = 0;
    for (int e = 0; e < epochs; e++) {
        if (e > 0) tg_batcher_reset(tb);
        double t0 = bench_now(), c0 = bench_cpu_now(), loss_sum = 0;
        long steps = 0;
        for (;;) {
            if (max_steps > 0 && steps >= max_steps) break;
            const uint64_t a0 = tg_alloc_count();
            tg_graph_reset(g);
            tg_tensor *x;
            const int32_t *labels;
            const int B = tg_batcher_next(tb, g, &x, &labels);
            if (B < 0) return fail("batch", g);
            if (B == 0) break;
            tg_optim_zero_grad(opt);
            tg_tensor *logits = forward(g, &m, x, B);
            tg_tensor *loss = tg_cross_entropy_loss(g, logits, labels, TG_REDUCE_MEAN, 0);
            if (!loss || tg_backward(g, loss) != 0) return fail("step", g);
            tg_optim_step(opt);
            loss_sum += tg_item(loss);
            if (steps_done > 0) steady_allocs += tg_alloc_count() - a0;
            steps++, steps_done++;
        }
        times[e] = bench_now() - t0;
        cpu[e] = bench_cpu_now() - c0;
        last_loss = loss_sum / (double)(steps ? steps : 1);
        printf("epoch %d: %.3f s (cpu %.3f s), %ld steps, mean loss %.4f\n", e + 1, times[e],
               cpu[e], steps, last_loss);
        fflush(stdout);
    }

    double acc = -1;
    if (test) {
        tg_batcher *eb = tg_batcher_new(test, 1000, false, false, 0);
        tg_graph_set_training(g, false);
        tg_graph_set_grad_enabled(g, false);
        long correct = 0, total = 0;
        for (;;) {
            tg_graph_reset(g);
            tg_tensor *x;
            const int32_t *labels;
            const int B = tg_batcher_next(eb, g, &x, &labels);
            if (B <= 0) break;
            tg_tensor *logits = forward(g, &m, x, B);
            if (!logits) return fail("evaluating", g);
            const tg_real *l = tg_data(logits);
            for (int i = 0; i < B; i++) {
                int best = 0;
                for (int k = 1; k < 10; k++)
                    if (l[i * 10 + k] > l[i * 10 + best]) best = k;
                correct += best == labels[i];
            }
            total += B;
        }
        acc = 100.0 * (double)correct / (double)total;
        tg_batcher_free(eb);
    }

    const double med = bench_median(times, epochs), cpu_med = bench_median(cpu, epochs);
    const double gflop = 98.2 * (max_steps > 0 ? (double)(max_steps * batch) / 60000.0 : 1.0);
    tg_stats st;
    tg_graph_stats(g, &st);
    printf(
        "RESULT time=%.4f cpu=%.4f gflops=%.2f maxrss_mib=%.1f steady_allocs=%llu arena_mib=%.2f "
        "threads=%d batch=%d blas=%d loss=%.4f acc=%.2f\n",
        med, cpu_med, gflop / med, bench_maxrss_mib(), (unsigned long long)steady_allocs,
        (double)st.arena_reserved / (1024.0 * 1024.0), threads, batch, blas ? 1 : 0, last_loss,
        acc);
    tg_batcher_free(tb);
    tg_optim_free(opt);
    tg_graph_free(g);
    tg_params_free(p);
    tg_dataset_free(train);
    tg_dataset_free(test);
    return 0;
}
