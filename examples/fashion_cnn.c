/* fashion_cnn: a small convolutional network on Fashion-MNIST.
 *
 *     conv 1 -> 32, 3x3, pad 1 -> batch norm -> relu -> max pool 2      [B,32,14,14]
 *     conv 32 -> 64, 3x3, pad 1 -> batch norm -> relu -> max pool 2     [B,64,7,7]
 *     flatten -> linear 3136 -> 128 -> relu -> dropout -> linear 128 -> 10 (logits)
 *
 * trained with Adam and cross-entropy on batches of 64 augmented images (each mirrored
 * left-right with probability 1/2: Fashion-MNIST's items are roughly symmetric; random
 * shifts are available with --shift but cost accuracy at this epoch budget), the
 * learning rate decaying along a cosine to 0 over the run. Layers start as PyTorch's do. The model
 * is a tg_sequential of library layers; the batch-norm layers' running statistics are frozen
 * parameters in the same store, so --save keeps them and --load brings them back. Evaluation runs
 * in evaluation mode (batch norm uses the running statistics, dropout is off) without a tape.
 *
 * The defaults (epochs, dropout, augmentation, schedule) were chosen on a validation
 * split of the training set (--val 10000), never on the test set: docs/cnn.md has the
 * runs.
 *
 *     fashion_cnn [--data DIR] [--epochs N] [--batch N] [--lr X] [--threads N]
 *                 [--seed N] [--save FILE] [--load FILE] [--log FILE.csv]
 *                 [--plot FILE.svg|.png] [--graph FILE.svg|.dot] [--val N]
 *                 [--schedule cosine|constant] [--dropout P] [--shift N]
 *                 [--flip on|off] [--wd X]
 *
 * Output as fashion_mlp's: one line per epoch ending in `(X.XX s, N samples/s)`, the
 * test set's confusion matrix, and `test accuracy: NN.NN%` as the last line. Without
 * the data it says to install dataset-fashion-mnist or to pass --data, and exits 1.
 * What is not the model is examples/common.c, shared with fashion_mlp.
 */
#include <stdio.h>
#include <tapegrad.h>

#include "common.h"

#define EVAL_BATCH 250 /* images per evaluation batch (bounds the arena: ~90 MB) */

typedef struct options {
    ex_opts c; /* the flags of every Fashion-MNIST program */
    int shift;
    bool flip;
    double dropout, wd;
} options;

static void usage(FILE *out) {
    fprintf(out,
            "usage: fashion_cnn [--data DIR] [--epochs N] [--batch N] [--lr X] [--threads N]\n"
            "                   [--seed N] [--save FILE] [--load FILE] [--log FILE.csv]\n"
            "                   [--plot FILE.svg|.png] [--graph FILE.svg|.dot] [--val N]\n"
            "                   [--schedule cosine|constant] [--dropout P] [--shift N]\n"
            "                   [--flip on|off] [--wd X]\n"
            "Trains conv(32)-bn-relu-pool, conv(64)-bn-relu-pool, dense 128, dense 10 on\n"
            "Fashion-MNIST with Adam, augmentation and cross-entropy, then evaluates it on the\n"
            "10000 test images. Defaults: --data /usr/share/datasets/fashion-mnist --epochs 10\n"
            "--batch 64 --lr 0.001 --schedule cosine --dropout 0.3 --shift 0 --flip on --wd 0\n"
            "--seed 42, threads: every core. --load FILE --epochs 0 evaluates a saved model.\n");
}

/* ---- the model ------------------------------------------------------------------------- */

typedef struct model {
    tg_conv2d_layer conv1, conv2;
    tg_batch_norm_layer bn1, bn2;
    tg_pool2d_layer pool;
    tg_linear_layer fc1, fc2;
    tg_sequential *seq;
} model;

static bool model_init(model *m, tg_params *p, double dropout) {
    const tg_conv2d_layer_opts same = {.conv = {.padding = {1, 1}}}; /* 3x3, pad 1: same size */
    m->pool = (tg_pool2d_layer){TG_POOL_MAX, {.kernel = {2, 2}}};    /* stride = kernel */
    tg_sequential *s = m->seq = tg_sequential_new();
    return s && tg_conv2d_layer_init(&m->conv1, p, "conv1", 1, 32, 3, 3, &same) == TG_OK &&
           tg_batch_norm_layer_init(&m->bn1, p, "bn1", 32, NULL) == TG_OK &&
           tg_conv2d_layer_init(&m->conv2, p, "conv2", 32, 64, 3, 3, &same) == TG_OK &&
           tg_batch_norm_layer_init(&m->bn2, p, "bn2", 64, NULL) == TG_OK &&
           tg_linear_layer_init(&m->fc1, p, "fc1", 64 * 7 * 7, 128, NULL) == TG_OK &&
           tg_linear_layer_init(&m->fc2, p, "fc2", 128, 10, NULL) == TG_OK &&
           tg_sequential_add_conv2d(s, &m->conv1) == TG_OK && /* [B,32,28,28] */
           tg_sequential_add_batch_norm(s, &m->bn1) == TG_OK &&
           tg_sequential_add_activation(s, TG_ACT_RELU) == TG_OK &&
           tg_sequential_add_pool2d(s, &m->pool) == TG_OK &&  /* [B,32,14,14] */
           tg_sequential_add_conv2d(s, &m->conv2) == TG_OK && /* [B,64,14,14] */
           tg_sequential_add_batch_norm(s, &m->bn2) == TG_OK &&
           tg_sequential_add_activation(s, TG_ACT_RELU) == TG_OK &&
           tg_sequential_add_pool2d(s, &m->pool) == TG_OK && /* [B,64,7,7] */
           tg_sequential_add_flatten(s) == TG_OK &&          /* [B,3136] */
           tg_sequential_add_linear(s, &m->fc1) == TG_OK &&  /* [B,128] */
           tg_sequential_add_activation(s, TG_ACT_RELU) == TG_OK &&
           (dropout == 0 || tg_sequential_add_dropout(s, dropout) == TG_OK) &&
           tg_sequential_add_linear(s, &m->fc2) == TG_OK; /* [B,10] logits */
}

/* [B,28,28] batches -> [B,1,28,28], then the model: [B,10] logits (an ex_forward_fn). */
static tg_tensor *forward(tg_graph *g, const void *m, tg_tensor *x) {
    const int b = x ? tg_shape(x)[0] : 0;
    return tg_sequential_forward(g, ((const model *)m)->seq,
                                 tg_reshape(g, x, 4, (int[]){b, 1, 28, 28}));
}

/* Trainable elements (running statistics not counted). */
static int64_t trainable(const tg_params *p) {
    int64_t n = 0;
    for (int i = 0; i < tg_params_count(p); i++)
        if (tg_requires_grad(tg_params_at(p, i))) n += tg_numel(tg_params_at(p, i));
    return n;
}

int main(int argc, char **argv) {
    options o = {
        .c = ex_fashion_defaults("fashion_cnn", 10), .dropout = 0.3, .shift = 0, .flip = true};
    const ex_flag own[] = {
        EX_FLAG_INT("--shift", &o.shift, 0, 27), EX_FLAG_SWITCH("--flip", &o.flip, "on|off"),
        EX_FLAG_REAL("--dropout", &o.dropout, 0, 0.99), EX_FLAG_REAL("--wd", &o.wd, 0, 1)};
    const ex_limits lim = {.max_batch = 1 << 16, .min_lr = 1e-12, .max_lr = 1e3};
    int rc = ex_fashion_parse(argc, argv, &o.c, &lim, own, 4);
    if (rc) {
        usage(rc < 0 ? stdout : stderr);
        return rc < 0 ? 0 : 2;
    }

    /* ---- the data: pixels / 255, standardised with the training set's mean and std ---- */
    model m = {0};
    ex_run r = {.o = &o.c, .forward = forward, .model = &m};
    if (!ex_data_load(&r, true, 0.2860, 0.3530)) return 1;
    ex_hello(&r, "28x28");

    /* ---- the model, the optimizer, the batches ----------------------------------------- */
    rc = 1;
    /* --load: the running statistics come back too */
    if (!ex_run_begin(&r) || !model_init(&m, r.p, o.dropout) || !ex_load_params(&r)) goto fail;
    tg_adam_opts ao = tg_adam_defaults(o.c.lr);
    ao.weight_decay = o.wd;
    r.opt = tg_adam_new(r.p, &ao); /* steps the trainable parameters; the statistics are frozen */
    if (!ex_make_batches(&r, EVAL_BATCH)) goto fail;
    if (o.shift > 0 || o.flip)
        tg_batcher_set_augment(r.train_b, &(tg_augment){.max_shift = o.shift, .hflip = o.flip});
    printf("model: %lld trainable parameters, %lld running statistics\n", (long long)trainable(r.p),
           (long long)(tg_params_numel(r.p) - trainable(r.p)));
    tg_sequential_print(m.seq, stdout);

    /* ---- training, saving, the curve, the test set -------------------------------------- */
    char what[128], aug[64];
    snprintf(aug, sizeof aug, "%s%s", o.flip ? "left-right flips" : "",
             o.shift ? (o.flip ? ", shifts" : "shifts") : (o.flip ? "" : "none"));
    snprintf(what, sizeof what, "%s; augmentation: %s; dropout %g", o.wd > 0 ? ", L2" : "", aug,
             o.dropout);
    if (!ex_train(&r, what) || !ex_save(&r, "the parameters (running statistics included)") ||
        !ex_finish(&r, "fashion_cnn: Fashion-MNIST, a small CNN"))
        goto fail;
    rc = 0;

fail:
    tg_sequential_free(m.seq);
    ex_run_end(&r, rc != 0);
    return rc;
}
