/* bench/conv.c: the convolutions of fashion_cnn, forward and backward, and one whole
 * training step of its model.
 *
 * Timed, each at batch B (64 by default, fashion_cnn's), one step = forward, then
 * backward from a fixed upstream gradient:
 *   conv1  x [B,1,28,28]  (no gradient: the input), w [32,1,3,3], pad 1 -> [B,32,28,28];
 *          backward dw, db
 *   conv2  x [B,32,14,14] (needs its gradient),     w [64,32,3,3], pad 1 -> [B,64,14,14];
 *          backward dx, dw, db
 *   model  fashion_cnn's whole network (conv-bn-relu-pool twice, flatten, linear 3136 ->
 *          128, relu, dropout 0.3, linear 128 -> 10) in training mode, cross-entropy on
 *          random labels, backward, gradients zeroed; no optimizer step
 * The arithmetic is counted as a direct convolution would do it: 2 N O OH OW C KH KW
 * per product (forward, dw, and dx when the input needs it); the model counts its
 * convolutions and linear layers, forward and backward. bench/reference/conv.py times
 * the same steps in PyTorch; bench/run puts them side by side.
 *
 * usage: conv [--batch N] [--threads N] [--reps N]
 * Prints one RESULT line per step:
 *   RESULT name=conv2 time=<s per step> gflops=<GFLOP/s> threads=<n> */
#include <stdio.h>
#include <stdlib.h>

#include <tapegrad.h>

#include "bench.h"

/* One convolution: its input, weight, bias, upstream gradient and whether x needs a
 * gradient. */
typedef struct conv_case {
    const char *name;
    int C, O, H; /* channels in, out; square input side */
    bool xgrad;
    tg_tensor *x, *w, *b, *dy;
} conv_case;

static const tg_conv_opts pad1 = {.padding = {1, 1}};

/* fashion_cnn's model (as examples/fashion_cnn.c builds it). */
typedef struct model {
    tg_conv2d_layer conv1, conv2;
    tg_batch_norm_layer bn1, bn2;
    tg_pool2d_layer pool;
    tg_linear_layer fc1, fc2;
    tg_sequential *seq;
} model;

static bool model_init(model *m, tg_params *p) {
    const tg_conv2d_layer_opts same = {.conv = pad1};
    m->pool = (tg_pool2d_layer){TG_POOL_MAX, {.kernel = {2, 2}}};
    tg_sequential *s = m->seq = tg_sequential_new();
    return s && tg_conv2d_layer_init(&m->conv1, p, "conv1", 1, 32, 3, 3, &same) == TG_OK &&
           tg_batch_norm_layer_init(&m->bn1, p, "bn1", 32, NULL) == TG_OK &&
           tg_conv2d_layer_init(&m->conv2, p, "conv2", 32, 64, 3, 3, &same) == TG_OK &&
           tg_batch_norm_layer_init(&m->bn2, p, "bn2", 64, NULL) == TG_OK &&
           tg_linear_layer_init(&m->fc1, p, "fc1", 3136, 128, NULL) == TG_OK &&
           tg_linear_layer_init(&m->fc2, p, "fc2", 128, 10, NULL) == TG_OK &&
           tg_sequential_add_conv2d(s, &m->conv1) == TG_OK &&
           tg_sequential_add_batch_norm(s, &m->bn1) == TG_OK &&
           tg_sequential_add_activation(s, TG_ACT_RELU) == TG_OK &&
           tg_sequential_add_pool2d(s, &m->pool) == TG_OK &&
           tg_sequential_add_conv2d(s, &m->conv2) == TG_OK &&
           tg_sequential_add_batch_norm(s, &m->bn2) == TG_OK &&
           tg_sequential_add_activation(s, TG_ACT_RELU) == TG_OK &&
           tg_sequential_add_pool2d(s, &m->pool) == TG_OK &&
           tg_sequential_add_flatten(s) == TG_OK && tg_sequential_add_linear(s, &m->fc1) == TG_OK &&
           tg_sequential_add_activation(s, TG_ACT_RELU) == TG_OK &&
           tg_sequential_add_dropout(s, 0.3) == TG_OK &&
           tg_sequential_add_linear(s, &m->fc2) == TG_OK;
}

/* bench_step_fn's context: a graph and what to run on it. */
typedef struct step_ctx {
    tg_graph *g;
    const conv_case *c;
    const model *m;
    tg_params *p;
    tg_tensor *x;
    const int32_t *labels;
} step_ctx;

static int conv_step(void *ctx) {
    const step_ctx *s = ctx;
    tg_graph *g = s->g;
    const conv_case *c = s->c;
    tg_graph_reset(g);
    tg_tensor *x = tg_tensor_wrap(g, 4, tg_shape(c->x), tg_data(c->x));
    if (x && c->xgrad) tg_set_requires_grad(x, true);
    tg_tensor *y = tg_conv2d(g, x, c->w, c->b, &pad1);
    return tg_backward_from(g, y, tg_data(c->dy));
}

static int model_step(void *ctx) {
    const step_ctx *s = ctx;
    tg_graph *g = s->g;
    tg_graph_reset(g);
    tg_tensor *x = tg_tensor_wrap(g, 4, tg_shape(s->x), tg_data(s->x));
    tg_tensor *loss = tg_cross_entropy_loss(g, tg_sequential_forward(g, s->m->seq, x), s->labels,
                                            TG_REDUCE_MEAN, 0);
    int rc = tg_backward(g, loss);
    tg_params_zero_grad(s->p);
    return rc;
}

int main(int argc, char **argv) {
    int batch = 64, threads = 1, reps = 5;
    const bench_flag flags[] = {{"--batch", BENCH_INT, &batch},
                                {"--threads", BENCH_INT, &threads},
                                {"--reps", BENCH_INT, &reps}};
    if (!bench_parse(argc, argv, flags, 3, "conv [--batch N] [--threads N] [--reps N]")) return 2;
    if (batch < 1 || threads < 1 || reps < 1 || reps > 100) return 2;
    threads = tg_set_num_threads(threads);
    tg_params *p = tg_params_new(), *mp = tg_params_new();
    tg_graph *data = tg_graph_new(), *g = tg_graph_new();
    conv_case cases[2] = {{"conv1", 1, 32, 28, false, NULL, NULL, NULL, NULL},
                          {"conv2", 32, 64, 14, true, NULL, NULL, NULL, NULL}};
    for (int k = 0; k < 2; k++) {
        conv_case *c = &cases[k];
        char name[32];
        snprintf(name, sizeof name, "%s.weight", c->name);
        c->w = tg_params_add(p, name, 4, (int[]){c->O, c->C, 3, 3});
        snprintf(name, sizeof name, "%s.bias", c->name);
        c->b = tg_params_add(p, name, 1, (int[]){c->O});
        c->x = tg_rand(data, 4, (int[]){batch, c->C, c->H, c->H}, -1, 1);
        c->dy = tg_rand(data, 4, (int[]){batch, c->O, c->H, c->H}, -1, 1);
    }
    for (int k = 0; k < 2; k++) {
        tg_init_tensor(cases[k].w, TG_INIT_UNIFORM, -0.1, 0.1, tg_params_rng(p));
        tg_init_tensor(cases[k].b, TG_INIT_UNIFORM, -0.1, 0.1, tg_params_rng(p));
    }
    for (int k = 0; k < 2; k++) {
        const conv_case *c = &cases[k];
        if (!c->w || !c->b || !c->x || !c->dy) goto failed;
        const double flop = 2.0 * batch * c->O * c->H * c->H * c->C * 9 * (c->xgrad ? 3 : 2);
        int iters = (int)(0.1 * 30e9 / flop); /* ~0.1 s per timing at 30 GFLOP/s */
        if (iters < 1) iters = 1;
        const double t = bench_time_steps(reps, iters, conv_step, &(step_ctx){.g = g, .c = c});
        if (t < 0) goto failed;
        printf("RESULT name=%s time=%.4e gflops=%.2f threads=%d batch=%d\n", c->name, t,
               flop / t * 1e-9, threads, batch);
        fflush(stdout);
    }

    /* the whole model */
    model m = {0};
    tg_params_seed(mp, 1);
    tg_seed(g, 1);
    if (!model_init(&m, mp)) goto failed;
    tg_tensor *x = tg_randn(data, 4, (int[]){batch, 1, 28, 28}, 0, 1);
    int32_t *labels = malloc((size_t)batch * sizeof *labels);
    if (!x || !labels) goto failed;
    for (int i = 0; i < batch; i++) labels[i] = (int32_t)((i * 7) % 10);
    /* forward + backward: conv1 (fwd, dw), conv2 (fwd, dw, dx), fc1 (fwd, dw, dx),
     * fc2 (fwd, dw, dx) */
    const double flop =
        2.0 * batch *
        (32 * 28 * 28 * 9.0 * 2 + 64 * 14 * 14 * 32 * 9.0 * 3 + 3136 * 128.0 * 3 + 128 * 10.0 * 3);
    step_ctx ms = {.g = g, .m = &m, .p = mp, .x = x, .labels = labels};
    const double t = bench_time_steps(reps, 3, model_step, &ms);
    if (t < 0) goto failed;
    printf("RESULT name=model time=%.4e gflops=%.2f threads=%d batch=%d\n", t, flop / t * 1e-9,
           threads, batch);
    free(labels);
    tg_sequential_free(m.seq);
    tg_graph_free(g);
    tg_graph_free(data);
    tg_params_free(p);
    tg_params_free(mp);
    return 0;
failed:
    fprintf(stderr, "conv: %s\n", tg_graph_error(g) ? tg_graph_error(g) : tg_last_error());
    return 1;
}
