/* tapegrad/train.h: the training experience: accuracy, a confusion matrix, a progress
 * reporter, a CSV log of the training curve and its plot.
 *
 * Nothing here trains: you write the loop (tg_graph_reset, a batch, forward, loss,
 * tg_backward, tg_optim_step), and these helpers measure and report it. None of them
 * touches a graph; they read tensors' values. Functions return a tg_status (or NULL,
 * NaN, -1 where they return a value) and leave a message for tg_last_error(); none
 * aborts.
 *
 * A typical epoch:
 *     tg_progress_begin_epoch(pr, epoch);
 *     for (tg_graph_reset(g); (n = tg_batcher_next(b, g, &x, &labels)) > 0; tg_graph_reset(g)) {
 *         ... logits = forward, loss, tg_backward, tg_optim_step ...
 *         tg_progress_step(pr, n, tg_item(loss), tg_count_correct(logits, labels));
 *     }
 *     tg_progress_end_epoch(pr, test_accuracy, &stats);   // prints the epoch line
 */
#ifndef TAPEGRAD_TRAIN_H
#define TAPEGRAD_TRAIN_H

#include "tapegrad/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Seconds from a monotonic clock (an arbitrary origin): subtract two readings. */
TG_API double tg_time_now(void);

/* ---- accuracy ------------------------------------------------------------------- */

/* Predictions from logits (or probabilities, or scores): for [N, C] with C >= 2 the
 * index of each row's largest value (the first on ties; NaN never wins); for [N] or
 * [N, 1] the binary decision logit > 0 (class 1, else 0; for probabilities compare
 * with 0.5 yourself). pred receives N class indices. Returns TG_OK, TG_ERR_NULL or
 * TG_ERR_SHAPE (logits of another rank). */
TG_API tg_status tg_predict(const tg_tensor *logits, int32_t *pred);

/* How many of the N predictions (as tg_predict) equal labels[i]. Returns -1 on
 * error (NULL, a bad shape), with tg_last_error set. */
TG_API int64_t tg_count_correct(const tg_tensor *logits, const int32_t *labels);
/* The fraction correct, tg_count_correct / N, in [0, 1]; NaN on error or when N = 0. */
TG_API double tg_accuracy(const tg_tensor *logits, const int32_t *labels);

/* ---- confusion matrix ----------------------------------------------------------- */

/* Counts of (true class, predicted class) pairs over any number of batches. */
typedef struct tg_confusion tg_confusion;

/* A zeroed matrix for classes 0..num_classes-1 (2 to 65536), or NULL (tg_last_error)
 * for a bad count or no memory. Free with tg_confusion_free (NULL is a no-op). */
TG_API tg_confusion *tg_confusion_new(int num_classes);
TG_API void tg_confusion_free(tg_confusion *cm);
/* Sets every count to 0. */
TG_API void tg_confusion_clear(tg_confusion *cm);
/* Adds one batch: predictions from logits as tg_predict. Every label must lie in
 * 0..num_classes-1 (and so must every prediction: logits [N, C] need C equal to
 * num_classes; binary logits need num_classes 2). On error (TG_ERR_NULL,
 * TG_ERR_SHAPE, TG_ERR_ARG) nothing is added. */
TG_API tg_status tg_confusion_add(tg_confusion *cm, const tg_tensor *logits, const int32_t *labels);
/* The same from n predicted classes you computed yourself. */
TG_API tg_status tg_confusion_add_preds(tg_confusion *cm, int64_t n, const int32_t *pred,
                                        const int32_t *labels);
TG_API int tg_confusion_classes(const tg_confusion *cm);
/* Samples of true class `label` predicted as `pred` (0 for NULL or out of range). */
TG_API int64_t tg_confusion_count(const tg_confusion *cm, int label, int pred);
TG_API int64_t tg_confusion_total(const tg_confusion *cm);
/* Correct / total; NaN when empty. */
TG_API double tg_confusion_accuracy(const tg_confusion *cm);
/* Recall of class c: correct c / samples whose label is c. Precision: correct c /
 * samples predicted as c. NaN when the denominator is 0 or c is out of range. */
TG_API double tg_confusion_recall(const tg_confusion *cm, int c);
TG_API double tg_confusion_precision(const tg_confusion *cm, int c);
/* Prints the matrix as a table: one row per true class (labelled with names[c] when
 * names is not NULL: num_classes strings), one column per predicted class, each row
 * ending with that class's recall; then a row of precisions and the accuracy.
 * Returns TG_OK, TG_ERR_NULL or TG_ERR_IO. */
TG_API tg_status tg_confusion_print(const tg_confusion *cm, FILE *out, const char *const *names);

/* ---- one epoch in one line ------------------------------------------------------ */

typedef struct tg_epoch_stats {
    int epoch, epochs;    /* 1-based; epochs 0 = unknown ("epoch 3") */
    int64_t steps;        /* batches this epoch */
    int64_t samples;      /* samples this epoch */
    double loss;          /* mean loss over the epoch, each batch weighted by its size */
    double accuracy;      /* fraction of correct training predictions, NaN = not counted */
    double val_accuracy;  /* a held-out accuracy (validation or test), NaN = none */
    const char *val_name; /* what to call it: "test accuracy"; NULL = "val accuracy" */
    double seconds;       /* training time of the epoch (evaluation not counted) */
} tg_epoch_stats;

/* Writes the line (no newline) into buf:
 *     epoch 2/5: loss 0.3581, accuracy 86.93%, test accuracy 86.02% (3.12 s, 19231 samples/s)
 * It always ends with "(X.XX s, N samples/s)"; parts that are NaN are left out.
 * Returns what snprintf returns (the length it wanted), or -1 for NULL arguments. */
TG_API int tg_epoch_format(char *buf, size_t size, const tg_epoch_stats *s);

/* ---- progress ------------------------------------------------------------------- */

/* Reports training as it goes. On a terminal (isatty on the stream) it redraws one
 * line, at most 10 times a second:
 *     epoch 2/5 [=========>          ] 412/938  loss 0.3712  acc 86.51%  19012 samples/s  ETA 2s
 * and replaces it with the epoch line (tg_epoch_format) when the epoch ends. Elsewhere
 * (a file, a pipe, a log) it prints only the epoch lines, one per epoch. */
typedef struct tg_progress tg_progress;

/* A reporter writing to out (not closed by it), for `epochs` epochs (0 = unknown) of
 * steps_per_epoch steps (0 = unknown: no bar, no ETA). NULL on bad arguments or no
 * memory (tg_last_error). Free with tg_progress_free (NULL is a no-op). */
TG_API tg_progress *tg_progress_new(FILE *out, int epochs, int64_t steps_per_epoch);
TG_API void tg_progress_free(tg_progress *p);
/* Overrides the terminal detection (for tests, or to force one mode). */
TG_API void tg_progress_set_tty(tg_progress *p, bool tty);
/* What the held-out accuracy is called in the epoch line (copied, 31 bytes at most);
 * default "val accuracy". */
TG_API void tg_progress_set_val_name(tg_progress *p, const char *name);
/* Starts epoch `epoch` (1-based): clears the running sums and starts the clock. */
TG_API void tg_progress_begin_epoch(tg_progress *p, int epoch);
/* One step of `batch` samples with its mean loss and how many it predicted correctly
 * (correct < 0: not counted; the accuracy is then left out). Cheap: call it every step. */
TG_API void tg_progress_step(tg_progress *p, int64_t batch, double loss, int64_t correct);
/* The running statistics of the epoch so far (val_accuracy NaN). */
TG_API tg_status tg_progress_stats(const tg_progress *p, tg_epoch_stats *out);
/* Ends the epoch: prints its line (with val_accuracy unless NaN) and a newline, and
 * fills *out (may be NULL) with its statistics. The epoch's time runs from
 * tg_progress_begin_epoch to its last step, so evaluation done before this call is not
 * counted. Returns TG_OK, TG_ERR_NULL, TG_ERR_STATE (no epoch begun) or TG_ERR_IO. */
TG_API tg_status tg_progress_end_epoch(tg_progress *p, double val_accuracy, tg_epoch_stats *out);

/* ---- the training curve: a CSV log and its plot ----------------------------------- */

/* One row of the log. NaN fields are written empty. */
typedef struct tg_log_row {
    int epoch;           /* 1-based */
    int64_t step;        /* global step (batches since training began) */
    double loss;         /* the training loss (e.g. the epoch's running mean) */
    double accuracy;     /* training accuracy, a fraction in [0, 1] */
    double val_accuracy; /* held-out accuracy, a fraction; NaN on rows without one */
    double lr;           /* the learning rate */
    double seconds;      /* wall time since training began */
    double val_loss;     /* held-out loss, NaN on rows without one; written only by a log
                            opened with TG_CSV_LOG_VAL_LOSS (a log without that column
                            ignores it, so older code that leaves it 0 is unaffected) */
} tg_log_row;

/* The log's first line. */
#define TG_CSV_LOG_HEADER "epoch,step,loss,accuracy,val_accuracy,lr,seconds"

/* Columns a log can have after those of TG_CSV_LOG_HEADER, for tg_csv_log_open_with;
 * or them together. They come in this order. */
enum {
    TG_CSV_LOG_VAL_LOSS = 1 << 0, /* ",val_loss": the row's val_loss */
};

typedef struct tg_csv_log tg_csv_log;

/* Creates (or truncates) path and writes the header line. Each row is flushed as it
 * is written, so the file is a valid CSV at any moment and after a crash. Returns the
 * log (close it with tg_csv_log_close), or NULL with tg_last_error set. */
TG_API tg_csv_log *tg_csv_log_open(const char *path);
/* The same with more columns: columns is 0 (tg_csv_log_open) or TG_CSV_LOG_VAL_LOSS,
 * whose header is TG_CSV_LOG_HEADER ",val_loss". NULL with TG_ERR_ARG for an unknown
 * column bit (nothing is created), else as tg_csv_log_open. */
TG_API tg_csv_log *tg_csv_log_open_with(const char *path, unsigned columns);
/* Appends a row. Returns TG_OK, TG_ERR_NULL or TG_ERR_IO. */
TG_API tg_status tg_csv_log_write(tg_csv_log *log, const tg_log_row *row);
/* Closes the file and frees the log (NULL: TG_OK). TG_ERR_IO if any write failed. */
TG_API tg_status tg_csv_log_close(tg_csv_log *log);

/* Renders a log written by tg_csv_log (any CSV whose first line names its columns, with
 * a "step" column) to a plot against step: the columns "loss" and "val_loss" on the
 * left axis, "accuracy" and "val_accuracy" (in %) on the right. Only the columns the
 * file has, and that hold at least one number, are drawn: a log of the loss alone is a
 * plot of the loss. The format follows out_path's extension, ".svg" or ".png". It runs
 * the gnuplot program found on PATH, without a shell; the file is written whole or not
 * at all. title may be NULL. Returns TG_OK; TG_ERR_UNSUPPORTED when gnuplot is not
 * installed (the message says so: install Debian's gnuplot-nox, or plot the CSV
 * yourself); TG_ERR_ARG for another extension; TG_ERR_NULL; TG_ERR_IO when the CSV
 * cannot be read or gnuplot fails (the message carries what it said); TG_ERR_FORMAT
 * for a CSV without a step column or without a number to draw. */
TG_API tg_status tg_csv_log_plot(const char *csv_path, const char *out_path, const char *title);

#ifdef __cplusplus
}
#endif
#endif
