/* tests/test_train.c: accuracy, the confusion matrix, the epoch line, the progress
 * reporter (non-terminal and forced-terminal output), the CSV log and its plot. */
#include <check.h>
#include <math.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <tapegrad.h>

#include "tg_test.h"

static tg_graph *g;
static char dir[64]; /* a fresh temporary directory per test */

static void setup(void) {
    g = tg_graph_new();
    snprintf(dir, sizeof dir, "/tmp/tg_train_XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void teardown(void) {
    tg_graph_free(g);
    rmdir(dir); /* only succeeds when the test removed what it made */
}

static char *path_in(const char *name) {
    static char buf[4][128];
    static int k;
    char *b = buf[k++ % 4];
    snprintf(b, sizeof buf[0], "%s/%s", dir, name);
    return b;
}

/* The whole of a stream or file as a string (static buffer). */
static const char *slurp(FILE *f) {
    static char text[1 << 20];
    rewind(f);
    size_t n = fread(text, 1, sizeof text - 1, f);
    text[n] = '\0';
    return text;
}

static const char *slurp_path(const char *path) {
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    const char *t = slurp(f);
    fclose(f);
    return t;
}

static tg_tensor *mat(int rows, int cols, const tg_real *v) {
    return tg_tensor_from(g, 2, (int[]){rows, cols}, v);
}

/* ---- accuracy ------------------------------------------------------------------------ */

START_TEST(predict_and_accuracy) {
    tg_tensor *logits = mat(5, 3,
                            (tg_real[]){
                                1, 2, 3,    /* 2 */
                                5, 0, 0,    /* 0 */
                                0, 7, 7,    /* tie: the first, 1 */
                                -1, -2, -3, /* 0 */
                                NAN, 1, 0,  /* NaN never wins: 1 */
                            });
    int32_t pred[5];
    ck_assert_int_eq(tg_predict(logits, pred), TG_OK);
    const int32_t want[5] = {2, 0, 1, 0, 1};
    for (int i = 0; i < 5; i++) ck_assert_int_eq(pred[i], want[i]);
    const int32_t labels[5] = {2, 0, 2, 1, 1};
    ck_assert_int_eq(tg_count_correct(logits, labels), 3);
    ck_assert_double_eq_tol(tg_accuracy(logits, labels), 0.6, 1e-12);
    /* binary: [N] and [N, 1] logits decide by logit > 0 */
    tg_tensor *b1 = tg_tensor_from(g, 1, (int[]){4}, (tg_real[]){-1, 2, 0, 0.5});
    tg_tensor *b2 = mat(4, 1, (tg_real[]){-1, 2, 0, 0.5});
    const int32_t bl[4] = {0, 1, 1, 1};
    ck_assert_int_eq(tg_count_correct(b1, bl), 3);
    ck_assert_int_eq(tg_count_correct(b2, bl), 3);
    ck_assert_int_eq(tg_predict(b2, pred), TG_OK);
    ck_assert_int_eq(pred[2], 0);
    /* empty batch */
    tg_tensor *e = tg_zeros(g, 2, (int[]){0, 3});
    ck_assert_int_eq(tg_count_correct(e, NULL), 0);
    ck_assert(isnan(tg_accuracy(e, NULL)));
}
END_TEST

START_TEST(accuracy_errors) {
    const int32_t labels[2] = {0, 1};
    ck_assert_int_eq(tg_count_correct(NULL, labels), -1);
    ck_assert_int_eq(tg_predict(NULL, (int32_t[2]){0}), TG_ERR_NULL);
    tg_tensor *t3 = tg_zeros(g, 3, (int[]){2, 2, 2});
    ck_assert_int_eq(tg_count_correct(t3, labels), -1);
    ck_assert_ptr_nonnull(strstr(tg_last_error(), "[2,2,2]"));
    ck_assert(isnan(tg_accuracy(t3, labels)));
    ck_assert_int_eq(tg_predict(tg_scalar(g, 1), (int32_t[1]){0}), TG_ERR_SHAPE);
    tg_tensor *ok = tg_zeros(g, 2, (int[]){2, 2});
    ck_assert_int_eq(tg_count_correct(ok, NULL), -1);
    ck_assert_int_eq(tg_predict(ok, NULL), TG_ERR_NULL);
    ck_assert(isnan(tg_accuracy(NULL, labels)));
}
END_TEST

/* ---- confusion matrix ------------------------------------------------------------------- */

START_TEST(confusion_counts) {
    tg_confusion *cm = tg_confusion_new(3);
    ck_assert_ptr_nonnull(cm);
    ck_assert_int_eq(tg_confusion_classes(cm), 3);
    ck_assert(isnan(tg_confusion_accuracy(cm)));
    const int32_t labels[6] = {0, 0, 1, 1, 2, 2};
    const int32_t pred[6] = {0, 1, 1, 1, 0, 2};
    ck_assert_int_eq(tg_confusion_add_preds(cm, 6, pred, labels), TG_OK);
    /* the same again from logits */
    tg_tensor *logits =
        mat(6, 3, (tg_real[]){9, 0, 0, 0, 9, 0, 0, 9, 0, 0, 9, 0, 9, 0, 0, 0, 0, 9});
    ck_assert_int_eq(tg_confusion_add(cm, logits, labels), TG_OK);
    ck_assert_int_eq(tg_confusion_total(cm), 12);
    ck_assert_int_eq(tg_confusion_count(cm, 0, 0), 2);
    ck_assert_int_eq(tg_confusion_count(cm, 0, 1), 2);
    ck_assert_int_eq(tg_confusion_count(cm, 1, 1), 4);
    ck_assert_int_eq(tg_confusion_count(cm, 2, 0), 2);
    ck_assert_int_eq(tg_confusion_count(cm, 2, 2), 2);
    ck_assert_int_eq(tg_confusion_count(cm, 2, 1), 0);
    ck_assert_int_eq(tg_confusion_count(cm, 3, 0), 0); /* out of range */
    ck_assert_double_eq_tol(tg_confusion_accuracy(cm), 8.0 / 12, 1e-12);
    ck_assert_double_eq_tol(tg_confusion_recall(cm, 0), 0.5, 1e-12);
    ck_assert_double_eq_tol(tg_confusion_recall(cm, 1), 1.0, 1e-12);
    ck_assert_double_eq_tol(tg_confusion_precision(cm, 0), 0.5, 1e-12);
    ck_assert_double_eq_tol(tg_confusion_precision(cm, 1), 4.0 / 6, 1e-12);
    ck_assert_double_eq_tol(tg_confusion_precision(cm, 2), 1.0, 1e-12);
    ck_assert(isnan(tg_confusion_recall(cm, 7)));

    FILE *f = tmpfile();
    const char *names[3] = {"cat", "dog", "bird"};
    ck_assert_int_eq(tg_confusion_print(cm, f, names), TG_OK);
    const char *text = slurp(f);
    fclose(f);
    ck_assert_ptr_nonnull(strstr(text, "recall"));
    ck_assert_ptr_nonnull(strstr(text, "0 cat"));
    ck_assert_ptr_nonnull(strstr(text, "2 bird"));
    ck_assert_ptr_nonnull(strstr(text, "50.0%"));  /* recall of cat */
    ck_assert_ptr_nonnull(strstr(text, "100.0%")); /* recall of dog */
    ck_assert_ptr_nonnull(strstr(text, "precision"));
    ck_assert_ptr_nonnull(strstr(text, "accuracy 66.67% (8 of 12)"));

    tg_confusion_clear(cm);
    ck_assert_int_eq(tg_confusion_total(cm), 0);
    ck_assert_int_eq(tg_confusion_count(cm, 1, 1), 0);
    tg_confusion_free(cm);
}
END_TEST

START_TEST(confusion_errors_add_nothing) {
    ck_assert_ptr_null(tg_confusion_new(1));
    ck_assert_ptr_null(tg_confusion_new(-3));
    tg_confusion *cm = tg_confusion_new(2);
    ck_assert_int_eq(tg_confusion_add_preds(cm, 2, (int32_t[]){0, 1}, (int32_t[]){0, 2}),
                     TG_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(tg_last_error(), "labels[1] = 2"));
    ck_assert_int_eq(tg_confusion_add_preds(cm, 2, (int32_t[]){0, -1}, (int32_t[]){0, 1}),
                     TG_ERR_ARG);
    ck_assert_int_eq(tg_confusion_add_preds(cm, 1, NULL, (int32_t[]){0}), TG_ERR_NULL);
    ck_assert_int_eq(tg_confusion_add_preds(NULL, 1, (int32_t[]){0}, (int32_t[]){0}), TG_ERR_NULL);
    ck_assert_int_eq(tg_confusion_add_preds(cm, -1, NULL, NULL), TG_ERR_ARG);
    /* logits of 3 classes into a 2-class matrix; binary logits are fine */
    ck_assert_int_eq(tg_confusion_add(cm, tg_zeros(g, 2, (int[]){2, 3}), (int32_t[]){0, 1}),
                     TG_ERR_SHAPE);
    ck_assert_int_eq(tg_confusion_add(cm, tg_zeros(g, 2, (int[]){2, 2}), (int32_t[]){0, 5}),
                     TG_ERR_ARG);
    ck_assert_int_eq(tg_confusion_add(cm, NULL, (int32_t[]){0}), TG_ERR_NULL);
    ck_assert_int_eq(tg_confusion_total(cm), 0);
    tg_tensor *bin = tg_tensor_from(g, 1, (int[]){3}, (tg_real[]){1, -1, 2});
    ck_assert_int_eq(tg_confusion_add(cm, bin, (int32_t[]){1, 0, 0}), TG_OK);
    ck_assert_int_eq(tg_confusion_count(cm, 0, 1), 1);
    ck_assert_int_eq(tg_confusion_print(NULL, stdout, NULL), TG_ERR_NULL);
    ck_assert_int_eq(tg_confusion_print(cm, NULL, NULL), TG_ERR_NULL);
    ck_assert_int_eq(tg_confusion_total(NULL), 0);
    tg_confusion_free(cm);
    tg_confusion_free(NULL);
}
END_TEST

/* ---- the epoch line ----------------------------------------------------------------- */

START_TEST(epoch_line_format) {
    char buf[256];
    tg_epoch_stats s = {.epoch = 2,
                        .epochs = 5,
                        .steps = 10,
                        .samples = 40000,
                        .loss = 0.35812,
                        .accuracy = 0.86934,
                        .val_accuracy = 0.8602,
                        .val_name = "test accuracy",
                        .seconds = 3.125};
    tg_epoch_format(buf, sizeof buf, &s);
    ck_assert_str_eq(buf, "epoch 2/5: loss 0.3581, accuracy 86.93%, test accuracy 86.02% "
                          "(3.12 s, 12800 samples/s)");
    s.val_accuracy = NAN;
    s.accuracy = NAN;
    s.epochs = 0;
    s.val_name = NULL;
    tg_epoch_format(buf, sizeof buf, &s);
    ck_assert_str_eq(buf, "epoch 2: loss 0.3581 (3.12 s, 12800 samples/s)");
    s.accuracy = 0.5;
    s.val_accuracy = 0.25;
    tg_epoch_format(buf, sizeof buf, &s);
    ck_assert_str_eq(buf, "epoch 2: loss 0.3581, accuracy 50.00%, val accuracy 25.00% "
                          "(3.12 s, 12800 samples/s)");
    ck_assert_int_eq(tg_epoch_format(buf, sizeof buf, NULL), -1);
    ck_assert_int_eq(tg_epoch_format(NULL, 8, &s), -1);
    ck_assert_int_gt(tg_epoch_format(NULL, 0, &s), 0); /* the length it needs */
}
END_TEST

/* ---- progress --------------------------------------------------------------------------- */

START_TEST(progress_plain_one_line_per_epoch) {
    FILE *f = tmpfile();
    tg_progress *p = tg_progress_new(f, 3, 4);
    ck_assert_ptr_nonnull(p);
    tg_progress_set_tty(p, false); /* a file is not a terminal anyway */
    tg_progress_set_val_name(p, "test accuracy");
    tg_epoch_stats s;
    for (int e = 1; e <= 3; e++) {
        tg_progress_begin_epoch(p, e);
        for (int k = 0; k < 4; k++) tg_progress_step(p, k < 3 ? 32 : 16, 1.0 + k, k < 3 ? 16 : 16);
        ck_assert_int_eq(tg_progress_end_epoch(p, e == 2 ? NAN : 0.5, &s), TG_OK);
    }
    ck_assert_int_eq(s.epoch, 3);
    ck_assert_int_eq(s.steps, 4);
    ck_assert_int_eq(s.samples, 112);
    ck_assert_double_eq_tol(s.loss, (32 * (1 + 2 + 3) + 16 * 4.0) / 112, 1e-12);
    ck_assert_double_eq_tol(s.accuracy, 64.0 / 112, 1e-12);
    ck_assert(s.val_accuracy == 0.5);
    ck_assert_double_ge(s.seconds, 0);
    const char *text = slurp(f);
    fclose(f);
    tg_progress_free(p);

    regex_t re;
    ck_assert_int_eq(regcomp(&re,
                             "^epoch [1-3]/3: loss 2\\.2857, accuracy 57\\.14%(, test accuracy "
                             "50\\.00%)? \\([0-9]+\\.[0-9][0-9] s, [0-9]+ samples/s\\)$",
                             REG_EXTENDED | REG_NOSUB),
                     0);
    int lines = 0;
    static char copy[4096];
    ck_assert_uint_lt(strlen(text), sizeof copy);
    memcpy(copy, text, strlen(text) + 1);
    ck_assert_ptr_null(strchr(copy, '\r')); /* no redrawing off a terminal */
    for (char *save, *line = strtok_r(copy, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        ck_assert_msg(regexec(&re, line, 0, NULL, 0) == 0, "unexpected line '%s'", line);
        lines++;
    }
    regfree(&re);
    ck_assert_int_eq(lines, 3);
    ck_assert_ptr_nonnull(strstr(text, "epoch 2/3: loss 2.2857, accuracy 57.14% ("));
}
END_TEST

START_TEST(progress_terminal_redraws_one_line) {
    FILE *f = tmpfile();
    tg_progress *p = tg_progress_new(f, 0, 3);
    tg_progress_set_tty(p, true);
    tg_progress_begin_epoch(p, 1);
    for (int k = 0; k < 3; k++) tg_progress_step(p, 10, 0.5, -1); /* accuracy not counted */
    tg_epoch_stats s;
    ck_assert_int_eq(tg_progress_stats(p, &s), TG_OK);
    ck_assert(isnan(s.accuracy));
    ck_assert_int_eq(tg_progress_end_epoch(p, NAN, NULL), TG_OK);
    const char *text = slurp(f);
    fclose(f);
    tg_progress_free(p);
    /* the bar at the last step (always drawn), then the epoch line in its place */
    ck_assert_ptr_nonnull(strstr(text, "\repoch 1 [========================] 3/3  loss 0.5000"));
    ck_assert_ptr_nonnull(strstr(text, "ETA 0s\033[K"));
    ck_assert_ptr_nonnull(strstr(text, "\r\033[Kepoch 1: loss 0.5000 ("));
    ck_assert_ptr_null(strstr(text, "acc "));
    size_t n = strlen(text);
    ck_assert(n > 0 && text[n - 1] == '\n');
    ck_assert_ptr_eq(strchr(text, '\n'), text + n - 1); /* one line */
}
END_TEST

START_TEST(progress_errors) {
    ck_assert_ptr_null(tg_progress_new(NULL, 1, 1));
    ck_assert_ptr_null(tg_progress_new(stdout, -1, 1));
    ck_assert_ptr_null(tg_progress_new(stdout, 1, -1));
    FILE *f = tmpfile();
    tg_progress *p = tg_progress_new(f, 1, 1);
    ck_assert_int_eq(tg_progress_end_epoch(p, NAN, NULL), TG_ERR_STATE);
    tg_progress_step(p, 5, 1, 1); /* before an epoch: ignored */
    tg_progress_begin_epoch(p, 1);
    ck_assert_int_eq(tg_progress_end_epoch(p, NAN, NULL), TG_OK);
    ck_assert_int_eq(tg_progress_end_epoch(p, NAN, NULL), TG_ERR_STATE); /* ended already */
    ck_assert_int_eq(tg_progress_end_epoch(NULL, NAN, NULL), TG_ERR_NULL);
    ck_assert_int_eq(tg_progress_stats(p, NULL), TG_ERR_NULL);
    /* NULL is a no-op everywhere else */
    tg_progress_begin_epoch(NULL, 1);
    tg_progress_step(NULL, 1, 1, 1);
    tg_progress_set_tty(NULL, true);
    tg_progress_set_val_name(NULL, "x");
    tg_progress_free(NULL);
    tg_progress_free(p);
    fclose(f);
}
END_TEST

/* ---- CSV log and plot ------------------------------------------------------------------ */

/* Three rows; their val_loss (0.75, NaN, 0.5) reaches the file only when the log was
 * opened with TG_CSV_LOG_VAL_LOSS. */
static void write_log_with(const char *path, unsigned columns) {
    tg_csv_log *log = tg_csv_log_open_with(path, columns);
    ck_assert_ptr_nonnull(log);
    ck_assert_int_eq(
        tg_csv_log_write(log, &(tg_log_row){1, 100, 0.5, 0.8125, NAN, 0.001, 1.5, 0.75}), TG_OK);
    ck_assert_int_eq(
        tg_csv_log_write(log, &(tg_log_row){1, 200, 0.25, 0.875, 0.86, 0.001, 3.25, NAN}), TG_OK);
    ck_assert_int_eq(tg_csv_log_write(log, &(tg_log_row){2, 400, 0.125, 0.9, 0.88, 5e-4, 6, 0.5}),
                     TG_OK);
    ck_assert_int_eq(tg_csv_log_close(log), TG_OK);
}

static void write_log(const char *path) { write_log_with(path, 0); }

static void write_text(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    ck_assert_int_eq(fclose(f), 0);
}

START_TEST(csv_log_contents) {
    const char *path = path_in("log.csv");
    write_log(path);
    ck_assert_str_eq(slurp_path(path), "epoch,step,loss,accuracy,val_accuracy,lr,seconds\n"
                                       "1,100,0.5,0.8125,,0.001,1.500\n"
                                       "1,200,0.25,0.875,0.86,0.001,3.250\n"
                                       "2,400,0.125,0.9,0.88,0.0005,6.000\n");
    /* each row is on disk as soon as it is written */
    tg_csv_log *log = tg_csv_log_open(path);
    ck_assert_int_eq(tg_csv_log_write(log, &(tg_log_row){3, 1, NAN, NAN, NAN, NAN, NAN, NAN}),
                     TG_OK);
    ck_assert_str_eq(slurp_path(path), TG_CSV_LOG_HEADER "\n3,1,,,,,\n");
    ck_assert_int_eq(tg_csv_log_write(log, NULL), TG_ERR_NULL);
    ck_assert_int_eq(tg_csv_log_close(log), TG_OK);
    ck_assert_int_eq(tg_csv_log_close(NULL), TG_OK);
    ck_assert_int_eq(tg_csv_log_write(NULL, &(tg_log_row){0}), TG_ERR_NULL);
    ck_assert_ptr_null(tg_csv_log_open(NULL));
    ck_assert_ptr_null(tg_csv_log_open(path_in("no/such/dir/log.csv")));
    ck_assert_ptr_nonnull(strstr(tg_last_error(), "no/such/dir"));
    unlink(path);
}
END_TEST

/* A held-out loss: the column comes last, so readers of the first seven are unchanged. */
START_TEST(csv_log_val_loss_column) {
    const char *path = path_in("log.csv");
    write_log_with(path, TG_CSV_LOG_VAL_LOSS);
    ck_assert_str_eq(slurp_path(path), TG_CSV_LOG_HEADER ",val_loss\n"
                                                         "1,100,0.5,0.8125,,0.001,1.500,0.75\n"
                                                         "1,200,0.25,0.875,0.86,0.001,3.250,\n"
                                                         "2,400,0.125,0.9,0.88,0.0005,6.000,0.5\n");
    ck_assert_str_eq(TG_CSV_LOG_HEADER ",val_loss",
                     "epoch,step,loss,accuracy,val_accuracy,lr,seconds,val_loss");
    /* code written before the column (designated fields, val_loss left 0) is unaffected */
    tg_csv_log *log = tg_csv_log_open_with(path, 0);
    ck_assert_int_eq(tg_csv_log_write(log, &(tg_log_row){.epoch = 1,
                                                         .step = 2,
                                                         .loss = 0.5,
                                                         .accuracy = NAN,
                                                         .val_accuracy = NAN,
                                                         .lr = NAN,
                                                         .seconds = NAN}),
                     TG_OK);
    ck_assert_int_eq(tg_csv_log_close(log), TG_OK);
    ck_assert_str_eq(slurp_path(path), TG_CSV_LOG_HEADER "\n1,2,0.5,,,,\n");
    /* an unknown column is refused before anything is created */
    unlink(path);
    ck_assert_ptr_null(tg_csv_log_open_with(path, 2));
    ck_assert_ptr_nonnull(strstr(tg_last_error(), "unknown columns"));
    ck_assert_int_ne(access(path, F_OK), 0);
    ck_assert_ptr_null(tg_csv_log_open_with(NULL, TG_CSV_LOG_VAL_LOSS));
}
END_TEST

START_TEST(plot_without_gnuplot_is_unsupported) {
    const char *csv = path_in("log.csv"), *svg = path_in("curve.svg");
    write_log(csv);
    char *old = getenv("PATH") ? strdup(getenv("PATH")) : NULL;
    ck_assert_int_eq(mkdir(path_in("empty"), 0700), 0);
    setenv("PATH", path_in("empty"), 1);
    tg_status st = tg_csv_log_plot(csv, svg, "t");
    const char *msg = tg_last_error();
    /* a log of the loss alone: the same answer */
    write_text(csv, "epoch,step,loss\n1,1,0.5\n");
    const tg_status st_loss = tg_csv_log_plot(csv, svg, "t");
    if (old) {
        setenv("PATH", old, 1);
        free(old);
    } else {
        unsetenv("PATH");
    }
    ck_assert_int_eq(st, TG_ERR_UNSUPPORTED);
    ck_assert_int_eq(st_loss, TG_ERR_UNSUPPORTED);
    ck_assert_ptr_nonnull(strstr(msg, "gnuplot"));
    ck_assert_int_ne(access(svg, F_OK), 0); /* nothing written */
    /* csv first: path_in reuses its buffer */
    unlink(csv);
    rmdir(path_in("empty"));
}
END_TEST

static bool have_gnuplot(void) {
    const char *p = getenv("PATH");
    char buf[512];
    while (p && *p) {
        const char *end = strchr(p, ':');
        int len = end ? (int)(end - p) : (int)strlen(p);
        snprintf(buf, sizeof buf, "%.*s/gnuplot", len, p);
        if (access(buf, X_OK) == 0) return true;
        p = end ? end + 1 : NULL;
    }
    return false;
}

START_TEST(plot_argument_errors) {
    ck_assert_int_eq(tg_csv_log_plot(NULL, "a.svg", NULL), TG_ERR_NULL);
    ck_assert_int_eq(tg_csv_log_plot("a.csv", NULL, NULL), TG_ERR_NULL);
    ck_assert_int_eq(tg_csv_log_plot("a.csv", "a.pdf", NULL), TG_ERR_ARG);
    ck_assert_int_eq(tg_csv_log_plot("a.csv", "svg", NULL), TG_ERR_ARG);
    ck_assert_int_eq(tg_csv_log_plot("a\ncsv", "a.svg", NULL), TG_ERR_ARG);
    if (!have_gnuplot()) return;
    /* a missing CSV, and one without rows: clear errors, no file, no temporaries */
    ck_assert_int_eq(tg_csv_log_plot(path_in("none.csv"), path_in("x.svg"), NULL), TG_ERR_IO);
    const char *csv = path_in("empty.csv");
    tg_csv_log_close(tg_csv_log_open(csv));
    ck_assert_int_eq(tg_csv_log_plot(csv, path_in("x.svg"), NULL), TG_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(tg_last_error(), "nothing to plot"));
    /* rows without a number to draw, and a CSV that is not a log */
    write_text(csv, TG_CSV_LOG_HEADER "\n1,100,,,,0.1,1.0\n1,200,nan,,,0.1,2.0\n");
    ck_assert_int_eq(tg_csv_log_plot(csv, path_in("x.svg"), NULL), TG_ERR_FORMAT);
    write_text(csv, "a,b\n1,2\n");
    ck_assert_int_eq(tg_csv_log_plot(csv, path_in("x.svg"), NULL), TG_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(tg_last_error(), "no step column"));
    unlink(csv);
    ck_assert_int_eq(rmdir(dir), 0); /* empty: nothing was left behind */
    ck_assert_int_eq(mkdir(dir, 0700), 0);
}
END_TEST

START_TEST(plot_renders_svg_and_png) {
    if (!have_gnuplot()) return; /* covered by plot_without_gnuplot_is_unsupported */
    const char *csv = path_in("log's.csv"), *svg = path_in("curve.svg"), *png = path_in("c.PNG");
    write_log(csv);
    ck_assert_int_eq(tg_csv_log_plot(csv, svg, "it's a title"), TG_OK);
    const char *text = slurp_path(svg);
    ck_assert_ptr_nonnull(strstr(text, "<svg"));
    ck_assert_ptr_nonnull(strstr(text, "training loss"));
    ck_assert_ptr_nonnull(strstr(text, "it's a title"));
    ck_assert_int_eq(tg_csv_log_plot(csv, png, NULL), TG_OK);
    FILE *f = fopen(png, "rb");
    unsigned char magic[4] = {0};
    ck_assert_uint_eq(fread(magic, 1, 4, f), 4);
    fclose(f);
    ck_assert(magic[1] == 'P' && magic[2] == 'N' && magic[3] == 'G');
    unlink(svg);
    unlink(png);
    unlink(csv);
}
END_TEST

/* Only the curves the log has are drawn: a regression's log has a loss and no
 * accuracy; a held-out loss has its own curve. */
START_TEST(plot_draws_the_columns_there_are) {
    const char *csv = path_in("loss.csv"), *svg = path_in("loss.svg");
    tg_csv_log *log = tg_csv_log_open_with(csv, TG_CSV_LOG_VAL_LOSS);
    for (int i = 1; i <= 4; i++)
        ck_assert_int_eq(tg_csv_log_write(log, &(tg_log_row){.epoch = 1,
                                                             .step = 10 * i,
                                                             .loss = 1.0 / i,
                                                             .accuracy = NAN,
                                                             .val_accuracy = NAN,
                                                             .lr = 0.01,
                                                             .seconds = i,
                                                             .val_loss = i % 2 ? NAN : 1.5 / i}),
                         TG_OK);
    ck_assert_int_eq(tg_csv_log_close(log), TG_OK);
    tg_status st = tg_csv_log_plot(csv, svg, "a regression");
    if (!have_gnuplot()) { /* then the only error: gnuplot is missing */
        ck_assert_int_eq(st, TG_ERR_UNSUPPORTED);
        ck_assert_ptr_nonnull(strstr(tg_last_error(), "gnuplot"));
        unlink(csv);
        return;
    }
    ck_assert_msg(st == TG_OK, "%s", tg_last_error());
    const char *text = slurp_path(svg);
    ck_assert_ptr_nonnull(strstr(text, "training loss"));
    ck_assert_ptr_nonnull(strstr(text, "held-out loss"));
    ck_assert_ptr_null(strstr(text, "accuracy"));
    /* a CSV of its own with the loss alone, columns in another order */
    write_text(csv, "loss,step\n0.9,1\n0.5,2\n0.25,3\n");
    ck_assert_int_eq(tg_csv_log_plot(csv, svg, NULL), TG_OK);
    text = slurp_path(svg);
    ck_assert_ptr_nonnull(strstr(text, "training loss"));
    ck_assert_ptr_null(strstr(text, "held-out"));
    /* accuracies alone, on the left axis */
    write_text(csv, TG_CSV_LOG_HEADER "\n1,1,,0.5,,,\n1,2,,0.75,0.7,,\n");
    ck_assert_int_eq(tg_csv_log_plot(csv, svg, NULL), TG_OK);
    text = slurp_path(svg);
    ck_assert_ptr_nonnull(strstr(text, "training accuracy"));
    ck_assert_ptr_nonnull(strstr(text, "held-out accuracy"));
    ck_assert_ptr_null(strstr(text, "training loss"));
    unlink(svg);
    unlink(csv);
}
END_TEST

START_TEST(time_moves_forward) {
    double a = tg_time_now(), b = tg_time_now();
    ck_assert_double_ge(b, a);
    ck_assert_double_gt(a, 0);
}
END_TEST

static Suite *train_suite(void) {
    Suite *s = suite_create("train");
    TCase *t = tcase_create("train");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_add_test(t, predict_and_accuracy);
    tcase_add_test(t, accuracy_errors);
    tcase_add_test(t, confusion_counts);
    tcase_add_test(t, confusion_errors_add_nothing);
    tcase_add_test(t, epoch_line_format);
    tcase_add_test(t, progress_plain_one_line_per_epoch);
    tcase_add_test(t, progress_terminal_redraws_one_line);
    tcase_add_test(t, progress_errors);
    tcase_add_test(t, csv_log_contents);
    tcase_add_test(t, csv_log_val_loss_column);
    tcase_add_test(t, plot_without_gnuplot_is_unsupported);
    tcase_add_test(t, plot_argument_errors);
    tcase_add_test(t, plot_renders_svg_and_png);
    tcase_add_test(t, plot_draws_the_columns_there_are);
    tcase_add_test(t, time_moves_forward);
    suite_add_tcase(s, t);
    return s;
}

int main(void) {
    return tg_test_run(train_suite());
}
