/* examples/common.c: the command-line table and the Fashion-MNIST run that the examples
 * share (examples/common.h says what each function does). */
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

/* ---- the command line ------------------------------------------------------------------ */

/* The index of v among choices ("a|b|c"), or -1. */
static int choice_index(const char *choices, const char *v) {
    const size_t n = strlen(v);
    for (int k = 0; choices; k++) {
        const char *bar = strchr(choices, '|');
        const size_t len = bar ? (size_t)(bar - choices) : strlen(choices);
        if (len == n && !strncmp(choices, v, n)) return k;
        choices = bar ? bar + 1 : NULL;
    }
    return -1;
}

/* Sets f's destination from v; false for a bad value. */
static bool set_flag(const ex_flag *f, const char *v) {
    char *end;
    switch (f->kind) {
    case EX_STR:
        *(const char **)f->dst = v;
        return true;
    case EX_INT: {
        errno = 0;
        const long x = strtol(v, &end, 10);
        if (end == v || *end || errno || x < f->lo || x > f->hi) return false;
        *(int *)f->dst = (int)x;
        return true;
    }
    case EX_REAL: {
        const double x = strtod(v, &end);
        if (end == v || *end || !(x >= f->lo && x <= f->hi)) return false;
        *(double *)f->dst = x;
        return true;
    }
    case EX_SEED: {
        const unsigned long long x = strtoull(v, &end, 10);
        if (end == v || *end || v[0] == '-') return false;
        *(unsigned long long *)f->dst = x;
        return true;
    }
    case EX_CHOICE:
    case EX_SWITCH: {
        const int k = choice_index(f->choices, v);
        if (k < 0) return false;
        if (f->kind == EX_CHOICE)
            *(int *)f->dst = k;
        else
            *(bool *)f->dst = k == 0;
        return true;
    }
    }
    return false;
}

static const ex_flag *find_flag(const ex_flag *flags, int n, const char *name) {
    for (int k = 0; k < n; k++)
        if (!strcmp(flags[k].name, name)) return &flags[k];
    return NULL;
}

int ex_parse(const char *prog, int argc, char **argv, const ex_flag *flags, int n,
             const char **file) {
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) return -1;
        const bool is_flag = strncmp(a, "--", 2) == 0;
        if (!is_flag && file) {
            if (*file) {
                fprintf(stderr, "%s: one text file only, got '%s' and '%s'\n", prog, *file, a);
                return 1;
            }
            *file = a;
            continue;
        }
        if (i + 1 >= argc || !is_flag) {
            fprintf(stderr, "%s: %s '%s'\n", prog,
                    is_flag ? "missing value after" : "unexpected argument", a);
            return 1;
        }
        const char *v = argv[++i];
        const ex_flag *f = find_flag(flags, n, a);
        if (!f) {
            fprintf(stderr, "%s: unknown option '%s'\n", prog, a);
            return 1;
        }
        if (!set_flag(f, v)) {
            fprintf(stderr, "%s: bad value '%s' for %s\n", prog, v, a);
            return 1;
        }
    }
    const ex_flag *plot = find_flag(flags, n, "--plot"), *log = find_flag(flags, n, "--log");
    if (plot && log && *(const char **)plot->dst && !*(const char **)log->dst) {
        fprintf(stderr, "%s: --plot draws the CSV log: give --log FILE.csv too\n", prog);
        return 1;
    }
    return 0;
}

ex_opts ex_fashion_defaults(const char *prog, int epochs) {
    return (ex_opts){.prog = prog,
                     .data = "/usr/share/datasets/fashion-mnist",
                     .epochs = epochs,
                     .batch = 64,
                     .lr = 1e-3,
                     .seed = 42,
                     .cosine = true};
}

int ex_fashion_parse(int argc, char **argv, ex_opts *o, const ex_limits *lim, const ex_flag *own,
                     int n_own) {
    enum { COMMON = 13, OWN = 16 };
    ex_flag flags[COMMON + OWN] = {
        EX_FLAG_STR("--data", &o->data),
        EX_FLAG_STR("--save", &o->save),
        EX_FLAG_STR("--load", &o->load),
        EX_FLAG_STR("--log", &o->log),
        EX_FLAG_STR("--plot", &o->plot),
        EX_FLAG_STR("--graph", &o->graph),
        EX_FLAG_INT("--epochs", &o->epochs, 0, 100000),
        EX_FLAG_INT("--batch", &o->batch, 1, lim->max_batch),
        EX_FLAG_INT("--threads", &o->threads, 1, 4096),
        EX_FLAG_INT("--val", &o->val, 0, 59999),
        EX_FLAG_SWITCH("--schedule", &o->cosine, "cosine|constant"),
        EX_FLAG_SEED("--seed", &o->seed),
        EX_FLAG_REAL("--lr", &o->lr, lim->min_lr, lim->max_lr),
    };
    if (n_own < 0 || n_own > OWN) {
        fprintf(stderr, "%s: %d flags of its own, more than %d\n", o->prog, n_own, OWN);
        return 1;
    }
    if (n_own > 0) memcpy(flags + COMMON, own, (size_t)n_own * sizeof *own);
    return ex_parse(o->prog, argc, argv, flags, COMMON + n_own, NULL);
}

/* ---- the data -------------------------------------------------------------------------- */

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

static bool holds_images(const tg_dataset *d, bool need_2d) {
    return (!need_2d || tg_dataset_sample_ndim(d) == 2) && tg_dataset_sample_numel(d) == 784 &&
           tg_dataset_labels(d) && tg_dataset_num_classes(d) <= 10;
}

bool ex_data_load(ex_run *r, bool need_2d, double mean, double std) {
    const ex_opts *o = r->o;
    static const char *const files[4] = {"train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                                         "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"};
    char path[4][4096];
    for (int i = 0; i < 4; i++)
        if (!find_file(o->data, files[i], path[i], sizeof path[i])) {
            fprintf(stderr,
                    "%s: Fashion-MNIST was not found in %s (no %s or %s.gz there).\n"
                    "Install Debian's package dataset-fashion-mnist "
                    "(sudo apt-get install dataset-fashion-mnist),\n"
                    "or give --data DIR, a directory holding train-images-idx3-ubyte, "
                    "train-labels-idx1-ubyte,\nt10k-images-idx3-ubyte and "
                    "t10k-labels-idx1-ubyte (plain or .gz).\n",
                    o->prog, o->data, files[i], files[i]);
            return false;
        }
    tg_dataset *train = tg_dataset_load_idx(path[0], path[1]);
    tg_dataset *test = train ? tg_dataset_load_idx(path[2], path[3]) : NULL, *val = NULL;
    if (!train || !test) {
        fprintf(stderr, "%s: %s\n", o->prog, tg_last_error());
        tg_dataset_free(train);
        return false;
    }
    if (!holds_images(train, need_2d) || !holds_images(test, need_2d)) {
        fprintf(stderr, "%s: %s does not hold 28x28 images in 10 classes\n", o->prog, o->data);
        tg_dataset_free(train);
        tg_dataset_free(test);
        return false;
    }
    if (o->val > 0) { /* hold out the last --val training images for validation */
        tg_dataset *fit = NULL;
        if (tg_dataset_split(train, tg_dataset_len(train) - o->val, &fit, &val) != TG_OK) {
            fprintf(stderr, "%s: --val: %s\n", o->prog, tg_last_error());
            tg_dataset_free(train);
            tg_dataset_free(test);
            return false;
        }
        tg_dataset_free(train);
        train = fit;
    }
    /* pixels / 255, then standardised (with the training set's mean and std) */
    tg_dataset_set_normalize(train, 1.0 / 255, mean, std);
    tg_dataset_set_normalize(test, 1.0 / 255, mean, std);
    if (val) tg_dataset_set_normalize(val, 1.0 / 255, mean, std);
    r->train = train, r->test = test, r->val = val;
    return true;
}

/* ---- the run --------------------------------------------------------------------------- */

void ex_hello(const ex_run *r, const char *image_size) {
    if (r->o->threads > 0) tg_set_num_threads(r->o->threads);
    const int threads = tg_get_num_threads();
    printf("%s: tapegrad %s (%s), %d thread%s, %s; %lld training and %lld test images of %s\n",
           r->o->prog, tg_version(), tg_precision(), threads, threads == 1 ? "" : "s",
           tg_has_blas() ? "OpenBLAS" : "portable matmul", (long long)tg_dataset_len(r->train),
           (long long)tg_dataset_len(r->test), image_size);
}

bool ex_run_begin(ex_run *r) {
    r->g = tg_graph_new();
    r->p = tg_params_new();
    r->cm = tg_confusion_new(10);
    if (!r->g || !r->p || !r->cm) return false;
    tg_seed(r->g, r->o->seed);        /* dropout masks */
    tg_params_seed(r->p, r->o->seed); /* initial weights */
    return true;
}

bool ex_load_params(ex_run *r) {
    if (!r->o->load) return true;
    if (tg_params_load(r->p, r->o->load) != TG_OK) return false;
    printf("loaded %s\n", r->o->load);
    return true;
}

bool ex_make_batches(ex_run *r, int eval_batch) {
    const ex_opts *o = r->o;
    r->train_b = tg_batcher_new(r->train, o->batch, true, false, o->seed);
    r->test_b = tg_batcher_new(r->test, eval_batch, false, false, 0);
    if (r->val) r->val_b = tg_batcher_new(r->val, eval_batch, false, false, 0);
    if (!r->opt || !r->train_b || !r->test_b || (r->val && !r->val_b)) return false;
    if (o->load && o->epochs > 0) {
        char optim_path[4096];
        snprintf(optim_path, sizeof optim_path, "%s.optim", o->load);
        FILE *f = fopen(optim_path, "rb");
        if (f) {
            fclose(f);
            if (tg_optim_load(r->opt, optim_path) != TG_OK) return false;
            tg_optim_set_lr(r->opt, o->lr); /* the loaded one may have decayed: --lr rules */
            printf("loaded %s: training resumes where it stopped\n", optim_path);
        }
    }
    return true;
}

/* Accuracy on a whole dataset, in evaluation mode (batch norm on its running
 * statistics, dropout off) without recording a tape; adds to cm when it is not NULL.
 * NaN on error. */
static double evaluate(const ex_run *r, tg_batcher *b, tg_confusion *cm) {
    tg_graph *g = r->g;
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
        tg_tensor *logits = r->forward(g, r->model, x);
        int64_t ok = tg_count_correct(logits, labels);
        if (ok < 0 || (cm && tg_confusion_add(cm, logits, labels) != TG_OK)) {
            n = -1;
            break;
        }
        correct += ok;
        total += n;
    }
    if (n < 0)
        fprintf(stderr, "%s: evaluating: %s\n", r->o->prog,
                tg_graph_error(g) ? tg_graph_error(g) : tg_last_error());
    tg_graph_set_grad_enabled(g, was_grad);
    tg_graph_set_training(g, was_training);
    return n < 0 || total == 0 ? NAN : (double)correct / (double)total;
}

#define LOG_EVERY 100 /* steps between rows of the CSV log */

/* The CSV log's rows hold means over the steps since the previous row. */
typedef struct window {
    double loss_sum; /* loss * batch size */
    int64_t correct, samples;
} window;

/* Writes a row for the window (loss and accuracy NaN, i.e. empty, when it is empty)
 * and empties it. held: the held-out accuracy, NaN for none. */
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

/* One epoch: its steps, the held-out accuracy, the epoch line and the log's row; its
 * training time into *seconds. False on failure. */
static bool train_epoch(ex_run *r, tg_progress *pr, tg_sched *sched, int epoch, double t_start,
                        double *seconds) {
    const ex_opts *o = r->o;
    tg_graph *g = r->g;
    window win = {0};
    tg_graph_set_training(g, true); /* batch statistics, dropout drops */
    tg_batcher_reset(r->train_b);
    for (;;) {
        tg_tensor *x;
        const int32_t *labels;
        tg_graph_reset(g); /* drop the last step's tensors, keep the memory */
        int n = tg_batcher_next(r->train_b, g, &x, &labels); /* x [B,28,28], labels [B] */
        if (n == 0) break;
        tg_tensor *logits = r->forward(g, r->model, x);                                /* [B,10] */
        tg_tensor *loss = tg_cross_entropy_loss(g, logits, labels, TG_REDUCE_MEAN, 0); /* 0-d */
        if (n < 0 || tg_backward(g, loss) != 0) {
            fprintf(stderr, "\n%s: step %lld: %s\n", o->prog, (long long)r->steps + 1,
                    tg_graph_error(g) ? tg_graph_error(g) : tg_last_error());
            return false;
        }
        if (r->steps == 0 && o->graph) {
            tg_status st = tg_dot_save(g, loss, o->graph);
            if (st != TG_OK) fprintf(stderr, "%s: --graph: %s\n", o->prog, tg_last_error());
        }
        if (tg_optim_step(r->opt) != TG_OK) return false;
        tg_optim_zero_grad(r->opt);
        tg_sched_step(sched); /* NULL: constant lr */
        r->steps++;
        const double l = tg_item(loss);
        const int64_t ok = tg_count_correct(logits, labels);
        tg_progress_step(pr, n, l, ok);
        win.loss_sum += l * n, win.correct += ok, win.samples += n;
        if (r->log && r->steps % LOG_EVERY == 0 &&
            !log_row(r->log, &win, epoch, r->steps, NAN, tg_optim_lr(r->opt),
                     tg_time_now() - t_start))
            return false;
    }
    /* the held-out accuracy of the epoch line: --val's images, or the test set */
    const double held_acc = evaluate(r, r->val_b ? r->val_b : r->test_b, NULL);
    tg_epoch_stats s;
    if (held_acc != held_acc || tg_progress_end_epoch(pr, held_acc, &s) != TG_OK) return false;
    *seconds = s.seconds;
    return !r->log || log_row(r->log, &win, epoch, r->steps, held_acc, tg_optim_lr(r->opt),
                              tg_time_now() - t_start);
}

bool ex_train(ex_run *r, const char *what) {
    const ex_opts *o = r->o;
    if (o->log && !(r->log = tg_csv_log_open(o->log))) return false;
    const int64_t steps_per_epoch = tg_batcher_batches(r->train_b);
    tg_sched *sched = NULL;
    tg_progress *pr = NULL;
    bool ok = false;
    if (o->cosine && o->epochs > 0 &&
        !(sched = tg_sched_cosine_new(r->opt, (int)(o->epochs * steps_per_epoch), 0)))
        goto done;
    if (o->epochs > 0) {
        printf("training %d epoch%s of %lld steps (batch %d, Adam lr %g%s%s)\n", o->epochs,
               o->epochs == 1 ? "" : "s", (long long)steps_per_epoch, o->batch, o->lr,
               o->cosine ? " with a cosine decay to 0" : ", constant", what);
        pr = tg_progress_new(stdout, o->epochs, steps_per_epoch);
        if (!pr) goto done;
        tg_progress_set_val_name(pr, r->val_b ? "val accuracy" : "test accuracy");
    }
    fflush(stdout);
    const double t_start = tg_time_now();
    double train_seconds = 0;
    for (int epoch = 1; epoch <= o->epochs; epoch++) {
        tg_progress_begin_epoch(pr, epoch);
        double seconds;
        if (!train_epoch(r, pr, sched, epoch, t_start, &seconds)) goto done;
        train_seconds += seconds;
    }
    if (o->epochs > 0)
        printf("trained in %.2f s (%.2f s per epoch)\n", train_seconds, train_seconds / o->epochs);
    ok = true;
done:
    tg_progress_free(pr);
    tg_sched_free(sched);
    return ok;
}

bool ex_save(ex_run *r, const char *what) {
    const char *path = r->o->save;
    if (!path) return true;
    char optim_path[4096];
    snprintf(optim_path, sizeof optim_path, "%s.optim", path);
    if (tg_params_save(r->p, path) != TG_OK || tg_optim_save(r->opt, optim_path) != TG_OK)
        return false;
    printf("saved %s to %s and the optimizer to %s\n", what, path, optim_path);
    return true;
}

static const char *const class_names[10] = {
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot",
};

bool ex_finish(ex_run *r, const char *title) {
    const ex_opts *o = r->o;
    if (r->log) {
        tg_status st = tg_csv_log_close(r->log);
        r->log = NULL;
        if (st != TG_OK) return false;
        printf("training curve: %s\n", o->log);
        if (o->plot) {
            st = tg_csv_log_plot(o->log, o->plot, title);
            if (st == TG_OK)
                printf("plot: %s\n", o->plot);
            else
                fprintf(stderr, "%s: no plot: %s\n", o->prog, tg_last_error());
        }
    }
    if (o->graph && r->steps > 0) printf("graph of one training step: %s\n", o->graph);

    const double acc = evaluate(r, r->test_b, r->cm);
    if (acc != acc) return false;
    printf("\n");
    tg_confusion_print(r->cm, stdout, class_names);
    printf("test accuracy: %.2f%%\n", 100 * acc);
    return true;
}

void ex_run_end(ex_run *r, bool failed) {
    if (failed) {
        const char *e = tg_last_error();
        fprintf(stderr, "%s: %s\n", r->o->prog, e ? e : "out of memory");
    }
    tg_csv_log_close(r->log);
    tg_batcher_free(r->train_b);
    tg_batcher_free(r->test_b);
    tg_batcher_free(r->val_b);
    tg_optim_free(r->opt);
    tg_params_free(r->p);
    tg_confusion_free(r->cm);
    tg_graph_free(r->g);
    tg_dataset_free(r->train);
    tg_dataset_free(r->test);
    tg_dataset_free(r->val);
    *r = (ex_run){.o = r->o};
}
