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
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <tapegrad.h>

#define LOG_EVERY  100 /* steps between rows of the CSV log */
#define EVAL_BATCH 250 /* images per evaluation batch (bounds the arena: ~90 MB) */

/* The CSV log's rows hold means over the steps since the previous row. */
typedef struct window {
    double loss_sum; /* loss * batch size */
    int64_t correct, samples;
} window;

static bool log_row(tg_csv_log *log, window *w, int epoch, int64_t step, double held, double lr,
                    double seconds) {
    const double n = (double)w->samples;
    tg_log_row row = {.epoch = epoch,
                      .step = step,
                      .loss = n > 0 ? w->loss_sum / n : NAN,
                      .accuracy = n > 0 ? (double)w->correct / n : NAN,
                      .val_accuracy = held,
                      .lr = lr,
                      .seconds = seconds};
    *w = (window){0};
    return tg_csv_log_write(log, &row) == TG_OK;
}

static const char *const class_names[10] = {
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot",
};

typedef struct options {
    const char *data, *save, *load, *log, *plot, *graph;
    int epochs, batch, threads, val, shift;
    bool flip, cosine;
    double lr, dropout, wd;
    unsigned long long seed;
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

static bool parse_int(const char *s, long lo, long hi, int *out) {
    char *end;
    long v = strtol(s, &end, 10);
    if (end == s || *end || v < lo || v > hi) return false;
    *out = (int)v;
    return true;
}

static bool parse_real(const char *s, double lo, double hi, double *out) {
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end || !(v >= lo && v <= hi)) return false;
    *out = v;
    return true;
}

/* Returns 0 to go on, 1 for a bad command line (after a message), -1 for --help. */
static int parse(int argc, char **argv, options *o) {
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) return -1;
        if (i + 1 >= argc || strncmp(a, "--", 2) != 0) {
            fprintf(stderr, "fashion_cnn: %s '%s'\n",
                    strncmp(a, "--", 2) ? "unexpected argument" : "missing value after", a);
            return 1;
        }
        const char *v = argv[++i];
        bool ok = true;
        if (!strcmp(a, "--data"))
            o->data = v;
        else if (!strcmp(a, "--save"))
            o->save = v;
        else if (!strcmp(a, "--load"))
            o->load = v;
        else if (!strcmp(a, "--log"))
            o->log = v;
        else if (!strcmp(a, "--plot"))
            o->plot = v;
        else if (!strcmp(a, "--graph"))
            o->graph = v;
        else if (!strcmp(a, "--epochs"))
            ok = parse_int(v, 0, 100000, &o->epochs);
        else if (!strcmp(a, "--batch"))
            ok = parse_int(v, 1, 1 << 16, &o->batch);
        else if (!strcmp(a, "--threads"))
            ok = parse_int(v, 1, 4096, &o->threads);
        else if (!strcmp(a, "--val"))
            ok = parse_int(v, 0, 59999, &o->val);
        else if (!strcmp(a, "--shift"))
            ok = parse_int(v, 0, 27, &o->shift);
        else if (!strcmp(a, "--flip")) {
            ok = !strcmp(v, "on") || !strcmp(v, "off");
            o->flip = !strcmp(v, "on");
        } else if (!strcmp(a, "--schedule")) {
            ok = !strcmp(v, "constant") || !strcmp(v, "cosine");
            o->cosine = !strcmp(v, "cosine");
        } else if (!strcmp(a, "--seed")) {
            char *end;
            o->seed = strtoull(v, &end, 10);
            ok = end != v && !*end && v[0] != '-';
        } else if (!strcmp(a, "--lr"))
            ok = parse_real(v, 1e-12, 1e3, &o->lr);
        else if (!strcmp(a, "--dropout"))
            ok = parse_real(v, 0, 0.99, &o->dropout);
        else if (!strcmp(a, "--wd"))
            ok = parse_real(v, 0, 1, &o->wd);
        else {
            fprintf(stderr, "fashion_cnn: unknown option '%s'\n", a);
            return 1;
        }
        if (!ok) {
            fprintf(stderr, "fashion_cnn: bad value '%s' for %s\n", v, a);
            return 1;
        }
    }
    if (o->plot && !o->log) {
        fprintf(stderr, "fashion_cnn: --plot draws the CSV log: give --log FILE.csv too\n");
        return 1;
    }
    return 0;
}

/* DIR/name or DIR/name.gz, whichever can be opened, into buf; false if neither. */
static bool find_file(const char *dir, const char *name, char *buf, size_t n) {
    for (int gz = 0; gz < 2; gz++) {
        snprintf(buf, n, "%s/%s%s", dir, name, gz ? ".gz" : "");
        FILE *f = fopen(buf, "rb");
        if (f) {
            fclose(f);
            return true;
        }
    }
    return false;
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

/* [B,28,28] batches -> [B,1,28,28], then the model. */
static tg_tensor *forward(tg_graph *g, const model *m, tg_tensor *x) {
    const int b = x ? tg_shape(x)[0] : 0;
    return tg_sequential_forward(g, m->seq, tg_reshape(g, x, 4, (int[]){b, 1, 28, 28}));
}

/* Accuracy on a whole dataset, in evaluation mode without a tape; adds to cm when it
 * is not NULL. NaN on error. */
static double evaluate(tg_graph *g, const model *m, tg_batcher *b, tg_confusion *cm) {
    const bool was_training = tg_graph_set_training(g, false);
    const bool was_grad = tg_graph_set_grad_enabled(g, false);
    int64_t correct = 0, total = 0;
    tg_tensor *x;
    const int32_t *labels;
    int n;
    tg_batcher_reset(b);
    for (;;) {
        tg_graph_reset(g);
        if ((n = tg_batcher_next(b, g, &x, &labels)) <= 0) break;
        tg_tensor *logits = forward(g, m, x);
        int64_t ok = tg_count_correct(logits, labels);
        if (ok < 0 || (cm && tg_confusion_add(cm, logits, labels) != TG_OK)) {
            n = -1;
            break;
        }
        correct += ok;
        total += n;
    }
    if (n < 0)
        fprintf(stderr, "fashion_cnn: evaluating: %s\n",
                tg_graph_error(g) ? tg_graph_error(g) : tg_last_error());
    tg_graph_set_grad_enabled(g, was_grad);
    tg_graph_set_training(g, was_training);
    return n < 0 || total == 0 ? NAN : (double)correct / (double)total;
}

/* Trainable elements (running statistics not counted). */
static int64_t trainable(const tg_params *p) {
    int64_t n = 0;
    for (int i = 0; i < tg_params_count(p); i++)
        if (tg_requires_grad(tg_params_at(p, i))) n += tg_numel(tg_params_at(p, i));
    return n;
}

int main(int argc, char **argv) {
    options o = {.data = "/usr/share/datasets/fashion-mnist",
                 .epochs = 10,
                 .batch = 64,
                 .lr = 1e-3,
                 .dropout = 0.3,
                 .shift = 0,
                 .flip = true,
                 .seed = 42,
                 .cosine = true};
    int rc = parse(argc, argv, &o);
    if (rc) {
        usage(rc < 0 ? stdout : stderr);
        return rc < 0 ? 0 : 2;
    }

    /* ---- the data ------------------------------------------------------------------ */
    static const char *const files[4] = {"train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                                         "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"};
    char path[4][4096];
    for (int i = 0; i < 4; i++)
        if (!find_file(o.data, files[i], path[i], sizeof path[i])) {
            fprintf(stderr,
                    "fashion_cnn: Fashion-MNIST was not found in %s (no %s or %s.gz there).\n"
                    "Install Debian's package dataset-fashion-mnist "
                    "(sudo apt-get install dataset-fashion-mnist),\n"
                    "or give --data DIR, a directory holding train-images-idx3-ubyte, "
                    "train-labels-idx1-ubyte,\nt10k-images-idx3-ubyte and "
                    "t10k-labels-idx1-ubyte (plain or .gz).\n",
                    o.data, files[i], files[i]);
            return 1;
        }
    tg_dataset *train = tg_dataset_load_idx(path[0], path[1]);
    tg_dataset *test = train ? tg_dataset_load_idx(path[2], path[3]) : NULL, *val = NULL;
    if (!train || !test) {
        fprintf(stderr, "fashion_cnn: %s\n", tg_last_error());
        tg_dataset_free(train);
        return 1;
    }
    if (tg_dataset_sample_ndim(train) != 2 || tg_dataset_sample_numel(train) != 784 ||
        tg_dataset_sample_numel(test) != 784 || tg_dataset_sample_ndim(test) != 2 ||
        !tg_dataset_labels(train) || !tg_dataset_labels(test) ||
        tg_dataset_num_classes(train) > 10 || tg_dataset_num_classes(test) > 10) {
        fprintf(stderr, "fashion_cnn: %s does not hold 28x28 images in 10 classes\n", o.data);
        tg_dataset_free(train);
        tg_dataset_free(test);
        return 1;
    }
    if (o.val > 0) { /* hold out the last --val training images for validation */
        tg_dataset *fit = NULL, *held = NULL;
        if (tg_dataset_split(train, tg_dataset_len(train) - o.val, &fit, &held) != TG_OK) {
            fprintf(stderr, "fashion_cnn: --val: %s\n", tg_last_error());
            tg_dataset_free(train);
            tg_dataset_free(test);
            return 1;
        }
        tg_dataset_free(train);
        train = fit;
        val = held;
    }
    /* pixels / 255, standardised with the training set's mean and std */
    tg_dataset_set_normalize(train, 1.0 / 255, 0.2860, 0.3530);
    tg_dataset_set_normalize(test, 1.0 / 255, 0.2860, 0.3530);
    if (val) tg_dataset_set_normalize(val, 1.0 / 255, 0.2860, 0.3530);

    if (o.threads > 0) tg_set_num_threads(o.threads);
    printf("fashion_cnn: tapegrad %s (%s), %d thread%s, %s; %lld training and %lld test "
           "images of 28x28\n",
           tg_version(), tg_precision(), tg_get_num_threads(), tg_get_num_threads() == 1 ? "" : "s",
           tg_has_blas() ? "OpenBLAS" : "portable matmul", (long long)tg_dataset_len(train),
           (long long)tg_dataset_len(test));

    /* ---- the model, the optimizer, the batches ----------------------------------------- */
    tg_graph *g = tg_graph_new();
    tg_params *p = tg_params_new();
    model m = {0};
    tg_optim *opt = NULL;
    tg_batcher *train_b = NULL, *test_b = NULL, *val_b = NULL;
    tg_progress *pr = NULL;
    tg_sched *sched = NULL;
    tg_csv_log *log = NULL;
    tg_confusion *cm = tg_confusion_new(10);
    rc = 1;
    if (!g || !p || !cm) goto fail;
    tg_seed(g, o.seed);        /* dropout masks */
    tg_params_seed(p, o.seed); /* initial weights */
    if (!model_init(&m, p, o.dropout)) goto fail;
    if (o.load) {
        if (tg_params_load(p, o.load) != TG_OK) goto fail; /* running statistics included */
        printf("loaded %s\n", o.load);
    }
    tg_adam_opts ao = tg_adam_defaults(o.lr);
    ao.weight_decay = o.wd;
    opt = tg_adam_new(p, &ao); /* steps the trainable parameters; the statistics are frozen */
    train_b = tg_batcher_new(train, o.batch, true, false, o.seed);
    test_b = tg_batcher_new(test, EVAL_BATCH, false, false, 0);
    if (val) val_b = tg_batcher_new(val, EVAL_BATCH, false, false, 0);
    if (!opt || !train_b || !test_b || (val && !val_b)) goto fail;
    if (o.shift > 0 || o.flip)
        tg_batcher_set_augment(train_b, &(tg_augment){.max_shift = o.shift, .hflip = o.flip});
    if (o.load && o.epochs > 0) {
        char optim_path[4096];
        snprintf(optim_path, sizeof optim_path, "%s.optim", o.load);
        FILE *f = fopen(optim_path, "rb");
        if (f) {
            fclose(f);
            if (tg_optim_load(opt, optim_path) != TG_OK) goto fail;
            tg_optim_set_lr(opt, o.lr); /* the loaded one may have decayed: --lr rules */
            printf("loaded %s: training resumes where it stopped\n", optim_path);
        }
    }
    printf("model: %lld trainable parameters, %lld running statistics\n", (long long)trainable(p),
           (long long)(tg_params_numel(p) - trainable(p)));
    tg_sequential_print(m.seq, stdout);
    if (o.log && !(log = tg_csv_log_open(o.log))) goto fail;

    /* ---- training ---------------------------------------------------------------------- */
    const int64_t steps_per_epoch = tg_batcher_batches(train_b);
    if (o.cosine && o.epochs > 0 &&
        !(sched = tg_sched_cosine_new(opt, (int)(o.epochs * steps_per_epoch), 0)))
        goto fail;
    if (o.epochs > 0) {
        char aug[64];
        snprintf(aug, sizeof aug, "%s%s", o.flip ? "left-right flips" : "",
                 o.shift ? (o.flip ? ", shifts" : "shifts") : (o.flip ? "" : "none"));
        printf("training %d epoch%s of %lld steps (batch %d, Adam lr %g%s%s; augmentation: "
               "%s; dropout %g)\n",
               o.epochs, o.epochs == 1 ? "" : "s", (long long)steps_per_epoch, o.batch, o.lr,
               o.cosine ? " with a cosine decay to 0" : ", constant", o.wd > 0 ? ", L2" : "", aug,
               o.dropout);
        pr = tg_progress_new(stdout, o.epochs, steps_per_epoch);
        if (!pr) goto fail;
        tg_progress_set_val_name(pr, val_b ? "val accuracy" : "test accuracy");
    }
    fflush(stdout);
    const double t_start = tg_time_now();
    double train_seconds = 0;
    int64_t step = 0;
    window win = {0};
    for (int epoch = 1; epoch <= o.epochs; epoch++) {
        tg_progress_begin_epoch(pr, epoch);
        tg_graph_set_training(g, true); /* batch statistics, dropout */
        tg_batcher_reset(train_b);
        for (;;) {
            tg_tensor *x;
            const int32_t *labels;
            tg_graph_reset(g);
            int n = tg_batcher_next(train_b, g, &x, &labels); /* x [B,28,28], labels [B] */
            if (n == 0) break;
            tg_tensor *logits = forward(g, &m, x); /* [B,10] */
            tg_tensor *loss = tg_cross_entropy_loss(g, logits, labels, TG_REDUCE_MEAN, 0);
            if (n < 0 || tg_backward(g, loss) != 0) {
                fprintf(stderr, "\nfashion_cnn: step %lld: %s\n", (long long)step + 1,
                        tg_graph_error(g) ? tg_graph_error(g) : tg_last_error());
                goto fail;
            }
            if (step == 0 && o.graph) {
                tg_status st = tg_dot_save(g, loss, o.graph);
                if (st != TG_OK) fprintf(stderr, "fashion_cnn: --graph: %s\n", tg_last_error());
            }
            if (tg_optim_step(opt) != TG_OK) goto fail;
            tg_optim_zero_grad(opt);
            tg_sched_step(sched); /* NULL: constant lr */
            step++;
            const double l = tg_item(loss);
            const int64_t ok = tg_count_correct(logits, labels);
            tg_progress_step(pr, n, l, ok);
            win.loss_sum += l * n, win.correct += ok, win.samples += n;
            if (log && step % LOG_EVERY == 0 &&
                !log_row(log, &win, epoch, step, NAN, tg_optim_lr(opt), tg_time_now() - t_start))
                goto fail;
        }
        const double held_acc = evaluate(g, &m, val_b ? val_b : test_b, NULL);
        tg_epoch_stats s;
        if (held_acc != held_acc || tg_progress_end_epoch(pr, held_acc, &s) != TG_OK) goto fail;
        fflush(stdout);
        train_seconds += s.seconds;
        if (log &&
            !log_row(log, &win, epoch, step, held_acc, tg_optim_lr(opt), tg_time_now() - t_start))
            goto fail;
    }
    if (o.epochs > 0)
        printf("trained in %.2f s (%.2f s per epoch)\n", train_seconds, train_seconds / o.epochs);

    /* ---- saving, the curve -------------------------------------------------------------- */
    if (o.save) {
        char optim_path[4096];
        snprintf(optim_path, sizeof optim_path, "%s.optim", o.save);
        if (tg_params_save(p, o.save) != TG_OK || tg_optim_save(opt, optim_path) != TG_OK)
            goto fail;
        printf("saved the parameters (running statistics included) to %s and the optimizer "
               "to %s\n",
               o.save, optim_path);
    }
    if (log) {
        tg_status st = tg_csv_log_close(log);
        log = NULL;
        if (st != TG_OK) goto fail;
        printf("training curve: %s\n", o.log);
        if (o.plot) {
            st = tg_csv_log_plot(o.log, o.plot, "fashion_cnn: Fashion-MNIST, a small CNN");
            if (st == TG_OK)
                printf("plot: %s\n", o.plot);
            else
                fprintf(stderr, "fashion_cnn: no plot: %s\n", tg_last_error());
        }
    }
    if (o.graph && step > 0) printf("graph of one training step: %s\n", o.graph);

    /* ---- the test set ------------------------------------------------------------------- */
    const double acc = evaluate(g, &m, test_b, cm);
    if (acc != acc) goto fail;
    printf("\n");
    tg_confusion_print(cm, stdout, class_names);
    printf("test accuracy: %.2f%%\n", 100 * acc);
    rc = 0;

fail:
    if (rc) {
        const char *e = tg_last_error();
        fprintf(stderr, "fashion_cnn: %s\n", e ? e : "out of memory");
    }
    tg_csv_log_close(log);
    tg_progress_free(pr);
    tg_sched_free(sched);
    tg_batcher_free(train_b);
    tg_batcher_free(test_b);
    tg_batcher_free(val_b);
    tg_optim_free(opt);
    tg_sequential_free(m.seq);
    tg_params_free(p);
    tg_confusion_free(cm);
    tg_graph_free(g);
    tg_dataset_free(train);
    tg_dataset_free(test);
    tg_dataset_free(val);
    return rc;
}
