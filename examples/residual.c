/* residual: a residual block built by composition, checked and trained.
 *
 * The block (He et al.'s basic block, one batch norm):
 *
 *     y = relu(x + conv2(bn(relu(conv1(x)))))      conv1, conv2: C -> C, 3x3, pad 1
 *
 * is a struct of library layers and a function over them with the shape of
 * tg_layer_fn, so it goes into a tg_sequential like any layer:
 *
 *     conv 1 -> 8, 3x3 -> relu -> residual block (8) -> global average pool
 *     -> linear 8 -> 4
 *
 * Nothing in it has a gradient rule of its own: backward goes through the ops, and
 * tg_gradcheck confirms it. The block is checked on gradcheck's tensors (its layers
 * are plain values: a copy pointing at other tensors is the same block on them), in
 * training mode, with batch statistics: the checked copy has no running statistics,
 * so the real ones are not touched by gradcheck's many evaluations.
 *
 * Then the model learns to tell four kinds of 12x12 pictures apart (a horizontal bar,
 * a vertical bar, a diagonal, a hollow square, each placed at random in noise) with
 * Adam for a few hundred steps, and is evaluated on new pictures in evaluation mode,
 * where batch norm uses its running statistics. Exits 0 when the gradient check
 * passes and the held-out accuracy reaches 90%. Runs in a second or two.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <tapegrad.h>

#define S       12 /* image side */
#define CLASSES 4
#define BATCH   32
#define STEPS   300
#define TEST_N  400

/* ---- the block ----------------------------------------------------------------------- */

typedef struct residual_block {
    tg_conv2d_layer conv1, conv2;
    tg_batch_norm_layer bn;
} residual_block;

/* Parameters "<prefix>.conv1.weight", ..., "<prefix>.bn.running_var" in p. */
static tg_status block_init(residual_block *b, tg_params *p, const char *prefix, int channels) {
    const tg_conv2d_layer_opts same = {.conv = {.padding = {1, 1}}};
    char name[64];
    tg_status st;
    snprintf(name, sizeof name, "%s.conv1", prefix);
    if ((st = tg_conv2d_layer_init(&b->conv1, p, name, channels, channels, 3, 3, &same)) != TG_OK)
        return st;
    snprintf(name, sizeof name, "%s.bn", prefix);
    if ((st = tg_batch_norm_layer_init(&b->bn, p, name, channels, NULL)) != TG_OK) return st;
    snprintf(name, sizeof name, "%s.conv2", prefix);
    return tg_conv2d_layer_init(&b->conv2, p, name, channels, channels, 3, 3, &same);
}

/* y = relu(x + conv2(bn(relu(conv1(x))))): x [N,C,H,W] -> [N,C,H,W]. */
static tg_tensor *block_forward(tg_graph *g, void *layer, tg_tensor *x) {
    const residual_block *b = layer;
    tg_tensor *h = tg_relu(g, tg_conv2d_layer_forward(g, &b->conv1, x));
    h = tg_conv2d_layer_forward(g, &b->conv2, tg_batch_norm_layer_forward(g, &b->bn, h));
    return tg_relu(g, tg_add(g, x, h));
}

/* ---- checking it with tg_gradcheck ---------------------------------------------------- */

enum { IX, IW1, IB1, IGAMMA, IBETA, IW2, IB2, IN_COUNT }; /* gradcheck's inputs */
#define GC_C 3

/* sum(block(x) * r) for a fixed r (the seed gradient): a scalar that weighs every output
 * differently, so no error can cancel out. */
static tg_tensor *checked_fn(tg_graph *g, tg_tensor *const *in, int n, void *user) {
    (void)n;
    const tg_conv_opts same = {.padding = {1, 1}};
    residual_block b = {
        .conv1 = {in[IW1], in[IB1], GC_C, GC_C, {3, 3}, same},
        .conv2 = {in[IW2], in[IB2], GC_C, GC_C, {3, 3}, same},
        /* no running statistics: batch statistics only (training mode) */
        .bn = {.weight = in[IGAMMA],
               .bias = in[IBETA],
               .features = GC_C,
               .momentum = 0.1,
               .eps = 1e-5},
    };
    tg_tensor *y = block_forward(g, &b, in[IX]);
    tg_tensor *r = tg_tensor_wrap(g, tg_ndim(y), tg_shape(y), user);
    return tg_sum(g, tg_mul(g, y, r), TG_ALL, false);
}

static int gradcheck_block(void) {
    tg_graph *scratch = tg_graph_new();
    tg_seed(scratch, 7);
    static const int shapes[IN_COUNT][4] = {{2, GC_C, 5, 5}, {GC_C, GC_C, 3, 3}, {GC_C}, {GC_C},
                                            {GC_C},          {GC_C, GC_C, 3, 3}, {GC_C}};
    static const int ndims[IN_COUNT] = {4, 4, 1, 1, 1, 4, 1};
    tg_gradcheck_input in[IN_COUNT];
    for (int i = 0; i < IN_COUNT; i++) {
        tg_tensor *v = i == IGAMMA ? tg_rand(scratch, 1, shapes[i], (tg_real)0.5, (tg_real)1.5)
                                   : tg_randn(scratch, ndims[i], shapes[i], 0, i == IX ? 1 : 0.5);
        in[i] = (tg_gradcheck_input){ndims[i], shapes[i], tg_data(v), true};
    }
    tg_tensor *r = tg_randn(scratch, 4, shapes[IX], 0, 1);
    tg_gradcheck_report rep;
    tg_status st = tg_gradcheck(checked_fn, IN_COUNT, in, tg_data(r), NULL, &rep);
    tg_graph_free(scratch);
    if (st != TG_OK && st != TG_ERR_NUMERIC) {
        fprintf(stderr, "residual: gradcheck: %s\n", tg_last_error());
        return 1;
    }
    printf("gradcheck of the residual block (x, both convs, batch norm): %s\n", rep.message);
    return rep.passed ? 0 : 1;
}

/* ---- synthetic pictures ------------------------------------------------------------------ */

/* One S x S picture of class c at a random place, in gaussian noise. */
static void picture(tg_rng *r, int c, tg_real *img) {
    for (int i = 0; i < S * S; i++) img[i] = (tg_real)(0.3 * tg_rng_normal(r));
    const int len = 5 + (int)(tg_rng_uniform(r) * 4);        /* 5..8 */
    const int y0 = (int)(tg_rng_uniform(r) * (S - len + 1)); /* the shape fits */
    const int x0 = (int)(tg_rng_uniform(r) * (S - len + 1));
    for (int k = 0; k < len; k++) {
        switch (c) {
        case 0:
            img[(y0 + len / 2) * S + x0 + k] += 1;
            break; /* horizontal bar */
        case 1:
            img[(y0 + k) * S + x0 + len / 2] += 1;
            break; /* vertical bar */
        case 2:
            img[(y0 + k) * S + x0 + k] += 1;
            break; /* diagonal */
        default:   /* hollow square */
            img[y0 * S + x0 + k] += 1, img[(y0 + len - 1) * S + x0 + k] += 1;
            if (k > 0 && k < len - 1)
                img[(y0 + k) * S + x0] += 1, img[(y0 + k) * S + x0 + len - 1] += 1;
        }
    }
}

static void make_batch(tg_rng *r, int n, tg_real *x, int32_t *labels) {
    for (int i = 0; i < n; i++) {
        labels[i] = (int32_t)(tg_rng_uniform(r) * CLASSES) % CLASSES;
        picture(r, labels[i], x + (size_t)i * S * S);
    }
}

/* ---- the model and its training ------------------------------------------------------------ */

static tg_real batch_x[TEST_N * S * S];
static int32_t batch_y[TEST_N];

int main(void) {
    tg_graph *g = tg_graph_new();
    tg_params *p = tg_params_new();
    tg_sequential *model = tg_sequential_new();
    tg_conv2d_layer stem;
    residual_block block;
    tg_pool2d_layer gap = {.kind = TG_POOL_GLOBAL_AVG};
    tg_linear_layer head;
    tg_optim *opt = NULL;
    int rc = 1;
    tg_params_seed(p, 1);
    tg_seed(g, 1);
    const tg_conv2d_layer_opts same = {.conv = {.padding = {1, 1}}};
    tg_adam_opts ao = tg_adam_defaults(0.01);
    if (!g || !p || !model || tg_conv2d_layer_init(&stem, p, "stem", 1, 8, 3, 3, &same) != TG_OK ||
        block_init(&block, p, "block", 8) != TG_OK ||
        tg_linear_layer_init(&head, p, "head", 8, CLASSES, NULL) != TG_OK ||
        tg_sequential_add_conv2d(model, &stem) != TG_OK ||
        tg_sequential_add_activation(model, TG_ACT_RELU) != TG_OK ||
        tg_sequential_add(model, "residual block 8", block_forward, &block) != TG_OK ||
        tg_sequential_add_pool2d(model, &gap) != TG_OK ||
        tg_sequential_add_linear(model, &head) != TG_OK || !(opt = tg_adam_new(p, &ao))) {
        fprintf(stderr, "residual: %s\n", tg_last_error());
        goto done;
    }
    printf("model:\n");
    tg_sequential_print(model, stdout);
    printf("parameters in the store (%d tensors, %lld values):\n", tg_params_count(p),
           (long long)tg_params_numel(p));
    for (int i = 0; i < tg_params_count(p); i++) {
        tg_tensor *t = tg_params_at(p, i);
        printf("  %-24s %6lld%s\n", tg_params_name(p, i), (long long)tg_numel(t),
               tg_requires_grad(t) ? "" : "  (frozen: running statistic)");
    }

    if (gradcheck_block() != 0) goto done;

    tg_rng data;
    tg_rng_seed(&data, 2);
    const int shape[4] = {BATCH, 1, S, S};
    for (int step = 1; step <= STEPS; step++) {
        tg_graph_reset(g);
        make_batch(&data, BATCH, batch_x, batch_y);
        tg_tensor *x = tg_tensor_wrap(g, 4, shape, batch_x);
        tg_tensor *logits = tg_sequential_forward(g, model, x); /* [32,4] */
        tg_tensor *loss = tg_cross_entropy_loss(g, logits, batch_y, TG_REDUCE_MEAN, 0);
        if (tg_backward(g, loss) != 0) {
            fprintf(stderr, "residual: %s\n", tg_graph_error(g));
            goto done;
        }
        tg_optim_step(opt);
        tg_optim_zero_grad(opt);
        if (step % 50 == 0)
            printf("step %3d  loss %.4f  batch accuracy %5.1f%%\n", step, tg_item(loss),
                   100 * tg_accuracy(logits, batch_y));
    }

    /* new pictures, evaluation mode (running statistics), no tape */
    tg_graph_set_training(g, false);
    tg_graph_set_grad_enabled(g, false);
    tg_graph_reset(g);
    make_batch(&data, TEST_N, batch_x, batch_y);
    tg_tensor *logits =
        tg_sequential_forward(g, model, tg_tensor_wrap(g, 4, (int[]){TEST_N, 1, S, S}, batch_x));
    const double acc = tg_accuracy(logits, batch_y);
    if (acc != acc) {
        fprintf(stderr, "residual: %s\n", tg_last_error());
        goto done;
    }
    printf("held-out accuracy on %d new pictures: %.1f%%\n", TEST_N, 100 * acc);
    rc = acc >= 0.9 ? 0 : 1;
done:
    tg_optim_free(opt);
    tg_sequential_free(model);
    tg_params_free(p);
    tg_graph_free(g);
    return rc;
}
