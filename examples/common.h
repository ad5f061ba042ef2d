/* examples/common.h: what the example programs share.
 *
 * - ex_parse: a command line of --name value flags, described by a table (every
 *   example but the smallest ones);
 * - ex_run and its steps: the whole of a Fashion-MNIST program but its model (the
 *   data, the batches, the training loop with its progress and CSV log, saving, the
 *   test set), shared by fashion_mlp and fashion_cnn.
 *
 * examples/common.c is compiled into each program that includes this (see
 * examples/meson.build); like the examples it uses only the public API. Every function
 * prints its own messages on stderr, prefixed with the program's name, and reports
 * failure by what it returns: none exits or aborts. */
#ifndef EXAMPLES_COMMON_H
#define EXAMPLES_COMMON_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <tapegrad.h>

/* ---- the command line ------------------------------------------------------------------ */

typedef enum ex_kind {
    EX_STR,    /* dst const char **: the value itself */
    EX_INT,    /* dst int *: a whole number in [lo, hi] */
    EX_REAL,   /* dst double *: a number in [lo, hi] (NaN never is) */
    EX_SEED,   /* dst unsigned long long *: a whole number >= 0 */
    EX_CHOICE, /* dst int *: the index of the value in choices, "keras|torch|he" */
    EX_SWITCH, /* dst bool *: choices "on|off": true for the first word, false for the second */
} ex_kind;

/* One flag: it always takes a value (`--epochs 5`). */
typedef struct ex_flag {
    const char *name; /* "--epochs" */
    ex_kind kind;
    void *dst;
    double lo, hi;       /* EX_INT, EX_REAL: the range accepted */
    const char *choices; /* EX_CHOICE, EX_SWITCH: the words accepted, '|' between them */
} ex_flag;

/* Table entries, with the type of dst checked: EX_FLAG_INT("--epochs", &o.epochs, 0, 1000). */
#define EX_FLAG_STR(name, dst)                                                                     \
    { name, EX_STR, (void *)(1 ? (dst) : (const char **)0), 0, 0, 0 }
#define EX_FLAG_INT(name, dst, lo, hi)                                                             \
    { name, EX_INT, (void *)(1 ? (dst) : (int *)0), lo, hi, 0 }
#define EX_FLAG_REAL(name, dst, lo, hi)                                                            \
    { name, EX_REAL, (void *)(1 ? (dst) : (double *)0), lo, hi, 0 }
#define EX_FLAG_SEED(name, dst)                                                                    \
    { name, EX_SEED, (void *)(1 ? (dst) : (unsigned long long *)0), 0, 0, 0 }
#define EX_FLAG_CHOICE(name, dst, choices)                                                         \
    { name, EX_CHOICE, (void *)(1 ? (dst) : (int *)0), 0, 0, choices }
#define EX_FLAG_SWITCH(name, dst, choices)                                                         \
    { name, EX_SWITCH, (void *)(1 ? (dst) : (bool *)0), 0, 0, choices }

/* Reads argv[1..argc-1] into the destinations of flags[0..n-1] (what is not on the
 * command line keeps its value). -h or --help anywhere stops it. A word that is not a
 * flag is the program's one FILE when file is not NULL (*file: NULL until then), an
 * error otherwise. A table with both --plot and --log refuses --plot without --log.
 * Returns 0 to go on, -1 for --help, 1 for a bad command line (after a message
 * "prog: ..." on stderr). */
int ex_parse(const char *prog, int argc, char **argv, const ex_flag *flags, int n,
             const char **file);

/* ---- a Fashion-MNIST program -------------------------------------------------------------- */

/* The flags every Fashion-MNIST program takes (see ex_fashion_parse). */
typedef struct ex_opts {
    const char *prog; /* "fashion_mlp": for messages */
    const char *data, *save, *load, *log, *plot, *graph;
    int epochs, batch, threads, val;
    bool cosine; /* --schedule cosine: lr decays to 0 along a cosine, per step */
    double lr;
    unsigned long long seed;
} ex_opts;

/* prog's defaults: --data /usr/share/datasets/fashion-mnist (Debian's
 * dataset-fashion-mnist), --batch 64, --lr 0.001, --schedule cosine, --seed 42, threads:
 * every core; and `epochs` epochs. */
ex_opts ex_fashion_defaults(const char *prog, int epochs);

/* The limits that differ from one program to the next. */
typedef struct ex_limits {
    int max_batch;
    double min_lr, max_lr;
} ex_limits;

/* ex_parse with the flags of ex_opts (--data --save --load --log --plot --graph
 * --epochs --batch --threads --val --schedule --seed --lr) and the program's own,
 * own[0..n_own-1] (at most 16). Returns as ex_parse. */
int ex_fashion_parse(int argc, char **argv, ex_opts *o, const ex_limits *lim, const ex_flag *own,
                     int n_own);

/* Logits [B,10] of a batch of images x [B,28,28] (NULL on error: the graph's). */
typedef tg_tensor *(*ex_forward_fn)(tg_graph *g, const void *model, tg_tensor *x);

/* One run of a program: set o, forward and model, then call the steps below in order.
 * Every step returns false on failure, after a message where it has more to say than
 * tg_last_error(); end with ex_run_end whatever happened. */
typedef struct ex_run {
    const ex_opts *o;
    ex_forward_fn forward;
    const void *model;
    tg_dataset *train, *test, *val; /* val: NULL without --val */
    tg_graph *g;
    tg_params *p;
    tg_optim *opt; /* made by the program, with its options, after ex_run_begin */
    tg_batcher *train_b, *test_b, *val_b;
    tg_csv_log *log;
    tg_confusion *cm;
    int64_t steps; /* training steps taken */
} ex_run;

/* Loads o->data's four IDX files (plain or .gz), checks that they hold 28x28 images
 * (as [28,28] samples when need_2d, else any 784 values) in 10 classes, holds the last
 * o->val training images out as r->val, and normalises every set to
 * (pixel / 255 - mean) / std. On failure it says why (without the files: what to
 * install) and leaves nothing to free. */
bool ex_data_load(ex_run *r, bool need_2d, double mean, double std);

/* Sets the thread count (--threads; default every core) and prints the first line:
 * "prog: tapegrad VERSION (float), N threads, OpenBLAS; N training and N test images
 * of <image_size>". */
void ex_hello(const ex_run *r, const char *image_size);

/* The graph, the parameter store and the confusion matrix, seeded with o->seed. */
bool ex_run_begin(ex_run *r);

/* With --load: the parameters from that file (call it once the model is made). */
bool ex_load_params(ex_run *r);

/* The batches (eval_batch images for evaluation), and with --load and epochs to train,
 * the optimizer's state from FILE.optim when that exists (--lr overrides its lr). */
bool ex_make_batches(ex_run *r, int eval_batch);

/* Trains o->epochs epochs: the CSV log (--log), the cosine schedule, the line
 * "training N epochs of S steps (batch B, Adam lr X<schedule><what>)", an epoch line
 * each with the held-out accuracy (--val's images, else the test set's), the graph of
 * the first step (--graph), and "trained in ...". */
bool ex_train(ex_run *r, const char *what);

/* With --save: "saved <what> to FILE and the optimizer to FILE.optim". */
bool ex_save(ex_run *r, const char *what);

/* Closes the log and plots it (--plot, titled title), then evaluates the test set and
 * prints its confusion matrix and, last, "test accuracy: NN.NN%". */
bool ex_finish(ex_run *r, const char *title);

/* Frees everything the run holds; failed: first print "prog: <the last error>". */
void ex_run_end(ex_run *r, bool failed);

#endif
