/* src/nn/train.c: measuring and reporting training: predictions and accuracy, the
 * confusion matrix, the per-epoch line and the progress bar, the CSV log (its plot is
 * in plot.c).
 *
 * Nothing here builds graph nodes: tensors are only read. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h> /* isatty */

#include "../graph/internal.h"

TG_API double tg_time_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ---- predictions and accuracy ------------------------------------------------------ */

/* Rows and classes of a logits tensor: classes 1 means binary (logit > 0). */
static tg_status logits_dims(const tg_tensor *t, const char *fn, int64_t *rows, int64_t *cls) {
    if (!t) return tg__set_error(TG_ERR_NULL, "%s: logits is NULL", fn);
    if (t->ndim == 1 || t->ndim == 2) {
        *rows = t->shape[0];
        *cls = t->ndim == 2 ? t->shape[1] : 1;
        if (*cls >= 1 || *rows == 0) return TG_OK;
    }
    char buf[TG_SHAPE_STR];
    return tg__set_error(TG_ERR_SHAPE, "%s: logits must be [N, C] or [N], got %s", fn,
                         TG_SHAPE(t, buf));
}

/* The class of row i: the first largest value (NaN never wins), or logit > 0. */
static int32_t row_class(const tg_real *x, int64_t i, int64_t cls) {
    if (cls == 1) return x[i] > 0;
    const tg_real *r = x + i * cls;
    int32_t best = 0;
    tg_real v = r[0];
    for (int64_t j = 1; j < cls; j++)
        if (r[j] > v || (v != v && r[j] == r[j])) v = r[j], best = (int32_t)j;
    return best;
}

TG_API tg_status tg_predict(const tg_tensor *logits, int32_t *pred) {
    int64_t n = 0, c = 1;
    tg_status st = logits_dims(logits, "tg_predict", &n, &c);
    if (st != TG_OK) return st;
    if (!pred && n > 0) return tg__set_error(TG_ERR_NULL, "tg_predict: pred is NULL");
    for (int64_t i = 0; i < n; i++) pred[i] = row_class(logits->data, i, c);
    return TG_OK;
}

TG_API int64_t tg_count_correct(const tg_tensor *logits, const int32_t *labels) {
    int64_t n = 0, c = 1;
    if (logits_dims(logits, "tg_count_correct", &n, &c) != TG_OK) return -1;
    if (!labels && n > 0) {
        tg__set_error(TG_ERR_NULL, "tg_count_correct: labels is NULL");
        return -1;
    }
    int64_t ok = 0;
    for (int64_t i = 0; i < n; i++) ok += row_class(logits->data, i, c) == labels[i];
    return ok;
}

TG_API double tg_accuracy(const tg_tensor *logits, const int32_t *labels) {
    int64_t ok = tg_count_correct(logits, labels);
    if (ok < 0 || logits->shape[0] == 0) return NAN;
    return (double)ok / (double)logits->shape[0];
}

/* ---- confusion matrix ------------------------------------------------------------ */

struct tg_confusion {
    int k;
    int64_t total;
    int64_t counts[]; /* k * k, row = true class, column = predicted */
};

TG_API tg_confusion *tg_confusion_new(int num_classes) {
    if (num_classes < 2 || num_classes > 65536) {
        tg__set_error(TG_ERR_ARG, "tg_confusion_new: num_classes %d is outside 2..65536",
                      num_classes);
        return NULL;
    }
    size_t cells = (size_t)num_classes * (size_t)num_classes;
    tg_confusion *cm = tg__malloc(sizeof *cm + cells * sizeof(int64_t));
    if (!cm) {
        tg__set_error(TG_ERR_NOMEM, "tg_confusion_new: out of memory (%d classes)", num_classes);
        return NULL;
    }
    cm->k = num_classes;
    tg_confusion_clear(cm);
    return cm;
}

TG_API void tg_confusion_free(tg_confusion *cm) { tg__free(cm); }

TG_API void tg_confusion_clear(tg_confusion *cm) {
    if (!cm) return;
    cm->total = 0;
    memset(cm->counts, 0, (size_t)cm->k * (size_t)cm->k * sizeof(int64_t));
}

static tg_status check_labels(const tg_confusion *cm, int64_t n, const int32_t *labels,
                              const char *fn) {
    for (int64_t i = 0; i < n; i++)
        if (labels[i] < 0 || labels[i] >= cm->k)
            return tg__set_error(TG_ERR_ARG, "%s: labels[%lld] = %d is outside 0..%d", fn,
                                 (long long)i, (int)labels[i], cm->k - 1);
    return TG_OK;
}

TG_API tg_status tg_confusion_add(tg_confusion *cm, const tg_tensor *logits,
                                  const int32_t *labels) {
    const char *fn = "tg_confusion_add";
    if (!cm) return tg__set_error(TG_ERR_NULL, "%s: matrix is NULL", fn);
    int64_t n = 0, c = 1;
    tg_status st = logits_dims(logits, fn, &n, &c);
    if (st != TG_OK) return st;
    if (!labels && n > 0) return tg__set_error(TG_ERR_NULL, "%s: labels is NULL", fn);
    if ((c == 1 && cm->k != 2) || (c > 1 && c != cm->k)) {
        char buf[TG_SHAPE_STR];
        return tg__set_error(TG_ERR_SHAPE, "%s: logits %s do not fit a matrix of %d classes", fn,
                             TG_SHAPE(logits, buf), cm->k);
    }
    if ((st = check_labels(cm, n, labels, fn)) != TG_OK) return st;
    for (int64_t i = 0; i < n; i++)
        cm->counts[(int64_t)labels[i] * cm->k + row_class(logits->data, i, c)]++;
    cm->total += n;
    return TG_OK;
}

TG_API tg_status tg_confusion_add_preds(tg_confusion *cm, int64_t n, const int32_t *pred,
                                        const int32_t *labels) {
    const char *fn = "tg_confusion_add_preds";
    if (!cm || ((!pred || !labels) && n > 0))
        return tg__set_error(TG_ERR_NULL, "%s: %s is NULL", fn,
                             !cm     ? "matrix"
                             : !pred ? "pred"
                                     : "labels");
    if (n < 0) return tg__set_error(TG_ERR_ARG, "%s: n is negative (%lld)", fn, (long long)n);
    tg_status st = check_labels(cm, n, labels, fn);
    if (st != TG_OK) return st;
    for (int64_t i = 0; i < n; i++)
        if (pred[i] < 0 || pred[i] >= cm->k)
            return tg__set_error(TG_ERR_ARG, "%s: pred[%lld] = %d is outside 0..%d", fn,
                                 (long long)i, (int)pred[i], cm->k - 1);
    for (int64_t i = 0; i < n; i++) cm->counts[(int64_t)labels[i] * cm->k + pred[i]]++;
    cm->total += n;
    return TG_OK;
}

TG_API int tg_confusion_classes(const tg_confusion *cm) { return cm ? cm->k : 0; }

TG_API int64_t tg_confusion_count(const tg_confusion *cm, int label, int pred) {
    if (!cm || label < 0 || label >= cm->k || pred < 0 || pred >= cm->k) return 0;
    return cm->counts[(int64_t)label * cm->k + pred];
}

TG_API int64_t tg_confusion_total(const tg_confusion *cm) { return cm ? cm->total : 0; }

TG_API double tg_confusion_accuracy(const tg_confusion *cm) {
    if (!cm || cm->total == 0) return NAN;
    int64_t ok = 0;
    for (int c = 0; c < cm->k; c++) ok += cm->counts[(int64_t)c * cm->k + c];
    return (double)ok / (double)cm->total;
}

/* Recall (by_row) or precision of class c. */
static double ratio(const tg_confusion *cm, int c, bool by_row) {
    if (!cm || c < 0 || c >= cm->k) return NAN;
    int64_t sum = 0;
    for (int j = 0; j < cm->k; j++)
        sum += by_row ? cm->counts[(int64_t)c * cm->k + j] : cm->counts[(int64_t)j * cm->k + c];
    return sum ? (double)cm->counts[(int64_t)c * cm->k + c] / (double)sum : NAN;
}
TG_API double tg_confusion_recall(const tg_confusion *cm, int c) { return ratio(cm, c, true); }
TG_API double tg_confusion_precision(const tg_confusion *cm, int c) { return ratio(cm, c, false); }

static void put_pct(FILE *out, double v) {
    if (v == v)
        fprintf(out, " %6.1f%%", 100 * v);
    else
        fprintf(out, " %7s", "-");
}

TG_API tg_status tg_confusion_print(const tg_confusion *cm, FILE *out, const char *const *names) {
    if (!cm || !out)
        return tg__set_error(TG_ERR_NULL, "tg_confusion_print: %s is NULL",
                             cm ? "stream" : "matrix");
    int64_t most = 9999; /* columns at least 5 wide */
    for (int64_t i = 0; i < (int64_t)cm->k * cm->k; i++)
        if (cm->counts[i] > most) most = cm->counts[i];
    int w = snprintf(NULL, 0, "%lld", (long long)most) + 1;
    int lw = snprintf(NULL, 0, "%d", cm->k - 1);
    for (int c = 0; names && c < cm->k; c++) {
        int l = snprintf(NULL, 0, "%d %s", c, names[c] ? names[c] : "");
        if (l > lw) lw = l;
    }
    if (lw < 9) lw = 9;
    if (lw > 24) lw = 24;
    fprintf(out, "confusion matrix: rows are true classes, columns predicted ones\n");
    fprintf(out, "%-*s", lw, "");
    for (int c = 0; c < cm->k; c++) fprintf(out, "%*d", w, c);
    fprintf(out, " %7s\n", "recall");
    char label[64];
    for (int r = 0; r < cm->k; r++) {
        if (names && names[r])
            snprintf(label, sizeof label, "%d %s", r, names[r]);
        else
            snprintf(label, sizeof label, "%d", r);
        fprintf(out, "%-*.*s", lw, lw, label);
        for (int c = 0; c < cm->k; c++)
            fprintf(out, "%*lld", w, (long long)cm->counts[(int64_t)r * cm->k + c]);
        put_pct(out, tg_confusion_recall(cm, r));
        fputc('\n', out);
    }
    fprintf(out, "%-*s", lw, "precision");
    for (int c = 0; c < cm->k; c++) {
        double p = tg_confusion_precision(cm, c);
        if (p == p)
            fprintf(out, "%*.1f", w, 100 * p);
        else
            fprintf(out, "%*s", w, "-");
    }
    fputc('\n', out);
    double acc = tg_confusion_accuracy(cm);
    int64_t ok = 0;
    for (int c = 0; c < cm->k; c++) ok += cm->counts[(int64_t)c * cm->k + c];
    if (acc == acc)
        fprintf(out, "accuracy %.2f%% (%lld of %lld)\n", 100 * acc, (long long)ok,
                (long long)cm->total);
    else
        fprintf(out, "accuracy - (no samples)\n");
    if (ferror(out)) return tg__set_error(TG_ERR_IO, "tg_confusion_print: write failed");
    return TG_OK;
}

/* ---- the epoch line --------------------------------------------------------------- */

TG_API int tg_epoch_format(char *buf, size_t size, const tg_epoch_stats *s) {
    if (!s || (!buf && size > 0)) {
        tg__set_error(TG_ERR_NULL, "tg_epoch_format: %s is NULL", s ? "buf" : "stats");
        return -1;
    }
    char ep[48], loss[32] = "", acc[40] = "", val[64] = "";
    if (s->epochs > 0)
        snprintf(ep, sizeof ep, "epoch %d/%d", s->epoch, s->epochs);
    else
        snprintf(ep, sizeof ep, "epoch %d", s->epoch);
    if (s->loss == s->loss) snprintf(loss, sizeof loss, " loss %.4f,", s->loss);
    if (s->accuracy == s->accuracy)
        snprintf(acc, sizeof acc, " accuracy %.2f%%,", 100 * s->accuracy);
    if (s->val_accuracy == s->val_accuracy)
        snprintf(val, sizeof val, " %.40s %.2f%%,", s->val_name ? s->val_name : "val accuracy",
                 100 * s->val_accuracy);
    const double rate = s->seconds > 0 ? (double)s->samples / s->seconds : 0;
    /* "epoch 1/5: loss 0.5, accuracy 80.00%, test accuracy 84.00%," minus the last comma */
    char body[192];
    int n = snprintf(body, sizeof body, "%s:%s%s%s", ep, loss, acc, val);
    if (n > 0 && (size_t)n < sizeof body && body[n - 1] == ',') body[n - 1] = '\0';
    return snprintf(buf, size, "%s (%.2f s, %.0f samples/s)", body, s->seconds, rate);
}

/* ---- progress ----------------------------------------------------------------------- */

struct tg_progress {
    FILE *out;
    int epochs;
    int64_t steps_per_epoch;
    bool tty, in_epoch, drawn;
    int epoch;
    int64_t steps, samples, counted, correct; /* counted: samples with a correct count */
    double loss_sum;                          /* sum of loss * batch */
    double t_begin, t_last, t_drawn;
    char val_name[32];
};

TG_API tg_progress *tg_progress_new(FILE *out, int epochs, int64_t steps_per_epoch) {
    if (!out) {
        tg__set_error(TG_ERR_NULL, "tg_progress_new: stream is NULL");
        return NULL;
    }
    if (epochs < 0 || steps_per_epoch < 0) {
        tg__set_error(TG_ERR_ARG, "tg_progress_new: negative epochs (%d) or steps (%lld)", epochs,
                      (long long)steps_per_epoch);
        return NULL;
    }
    tg_progress *p = tg__malloc(sizeof *p);
    if (!p) {
        tg__set_error(TG_ERR_NOMEM, "tg_progress_new: out of memory");
        return NULL;
    }
    memset(p, 0, sizeof *p);
    p->out = out;
    p->epochs = epochs;
    p->steps_per_epoch = steps_per_epoch;
    p->tty = isatty(fileno(out)) == 1;
    snprintf(p->val_name, sizeof p->val_name, "val accuracy");
    return p;
}

TG_API void tg_progress_free(tg_progress *p) { tg__free(p); }

TG_API void tg_progress_set_tty(tg_progress *p, bool tty) {
    if (p) p->tty = tty;
}

TG_API void tg_progress_set_val_name(tg_progress *p, const char *name) {
    if (p && name) snprintf(p->val_name, sizeof p->val_name, "%s", name);
}

TG_API void tg_progress_begin_epoch(tg_progress *p, int epoch) {
    if (!p) return;
    p->epoch = epoch;
    p->in_epoch = true;
    p->drawn = false;
    p->steps = p->samples = p->counted = p->correct = 0;
    p->loss_sum = 0;
    p->t_begin = p->t_last = tg_time_now();
    p->t_drawn = 0;
}

TG_API tg_status tg_progress_stats(const tg_progress *p, tg_epoch_stats *out) {
    if (!p || !out)
        return tg__set_error(TG_ERR_NULL, "tg_progress_stats: %s is NULL", p ? "out" : "reporter");
    *out = (tg_epoch_stats){
        .epoch = p->epoch,
        .epochs = p->epochs,
        .steps = p->steps,
        .samples = p->samples,
        .loss = p->samples ? p->loss_sum / (double)p->samples : NAN,
        .accuracy = p->counted ? (double)p->correct / (double)p->counted : NAN,
        .val_accuracy = NAN,
        .val_name = p->val_name,
        .seconds = (p->steps ? p->t_last : tg_time_now()) - p->t_begin,
    };
    return TG_OK;
}

static void fmt_eta(char *buf, size_t n, double s) {
    if (!(s >= 0) || s > 359999) s = 0;
    const long t = (long)(s + 0.5);
    if (t >= 3600)
        snprintf(buf, n, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
    else if (t >= 60)
        snprintf(buf, n, "%ld:%02ld", t / 60, t % 60);
    else
        snprintf(buf, n, "%lds", t);
}

/* The live line: epoch, bar, step/steps, loss, accuracy, samples/s, ETA. */
static void draw(tg_progress *p, double now) {
    tg_epoch_stats s;
    tg_progress_stats(p, &s);
    char ep[32], bar[40] = "", count[48], acc[24] = "", eta[32] = "";
    if (p->epochs > 0)
        snprintf(ep, sizeof ep, "epoch %d/%d", p->epoch, p->epochs);
    else
        snprintf(ep, sizeof ep, "epoch %d", p->epoch);
    const double elapsed = now - p->t_begin;
    if (p->steps_per_epoch > 0) {
        enum { W = 24 };
        int64_t fill = p->steps >= p->steps_per_epoch ? W : p->steps * W / p->steps_per_epoch;
        bar[0] = ' ', bar[1] = '[';
        for (int i = 0; i < W; i++) bar[2 + i] = i < fill ? '=' : i == fill ? '>' : ' ';
        bar[2 + W] = ']', bar[3 + W] = '\0';
        snprintf(count, sizeof count, "%lld/%lld", (long long)p->steps,
                 (long long)p->steps_per_epoch);
        double left = p->steps > 0 && p->steps < p->steps_per_epoch
                          ? elapsed / (double)p->steps * (double)(p->steps_per_epoch - p->steps)
                          : 0;
        char t[24];
        fmt_eta(t, sizeof t, left);
        snprintf(eta, sizeof eta, "  ETA %s", t);
    } else {
        snprintf(count, sizeof count, "step %lld", (long long)p->steps);
    }
    if (s.accuracy == s.accuracy) snprintf(acc, sizeof acc, "  acc %.2f%%", 100 * s.accuracy);
    fprintf(p->out, "\r%s%s %s  loss %.4f%s  %.0f samples/s%s\033[K", ep, bar, count, s.loss, acc,
            elapsed > 0 ? (double)p->samples / elapsed : 0.0, eta);
    fflush(p->out);
    p->drawn = true;
    p->t_drawn = now;
}

TG_API void tg_progress_step(tg_progress *p, int64_t batch, double loss, int64_t correct) {
    if (!p || !p->in_epoch || batch < 0) return;
    const double now = tg_time_now();
    p->steps++;
    p->samples += batch;
    p->loss_sum += loss * (double)batch;
    if (correct >= 0) {
        p->counted += batch;
        p->correct += correct;
    }
    p->t_last = now;
    if (p->tty && (now - p->t_drawn >= 0.1 || p->steps == p->steps_per_epoch)) draw(p, now);
}

TG_API tg_status tg_progress_end_epoch(tg_progress *p, double val_accuracy, tg_epoch_stats *out) {
    if (!p) return tg__set_error(TG_ERR_NULL, "tg_progress_end_epoch: reporter is NULL");
    if (!p->in_epoch)
        return tg__set_error(TG_ERR_STATE,
                             "tg_progress_end_epoch: no epoch begun (tg_progress_begin_epoch)");
    tg_epoch_stats s;
    tg_progress_stats(p, &s);
    s.val_accuracy = val_accuracy;
    char line[256];
    tg_epoch_format(line, sizeof line, &s);
    fprintf(p->out, "%s%s\n", p->tty && p->drawn ? "\r\033[K" : "", line);
    fflush(p->out);
    p->in_epoch = false;
    if (out) *out = s;
    if (ferror(p->out)) return tg__set_error(TG_ERR_IO, "tg_progress_end_epoch: write failed");
    return TG_OK;
}

/* ---- CSV log ------------------------------------------------------------------------- */

struct tg_csv_log {
    FILE *f;
    unsigned columns; /* TG_CSV_LOG_VAL_LOSS, ... */
    bool failed;
};

static tg_csv_log *log_open(const char *fn, const char *path, unsigned columns) {
    if (!path) {
        tg__set_error(TG_ERR_NULL, "%s: path is NULL", fn);
        return NULL;
    }
    if (columns & ~(unsigned)TG_CSV_LOG_VAL_LOSS) {
        tg__set_error(TG_ERR_ARG, "%s: unknown columns 0x%x (TG_CSV_LOG_VAL_LOSS is 0x%x)", fn,
                      columns, (unsigned)TG_CSV_LOG_VAL_LOSS);
        return NULL;
    }
    tg_csv_log *log = tg__malloc(sizeof *log);
    if (!log) {
        tg__set_error(TG_ERR_NOMEM, "%s: out of memory", fn);
        return NULL;
    }
    log->failed = false;
    log->columns = columns;
    log->f = fopen(path, "w");
    if (!log->f ||
        fprintf(log->f, "%s%s\n", TG_CSV_LOG_HEADER,
                columns & TG_CSV_LOG_VAL_LOSS ? ",val_loss" : "") < 0 ||
        fflush(log->f) != 0) {
        tg__set_error(TG_ERR_IO, "%s: cannot write %s: %s", fn, path, strerror(errno));
        if (log->f) fclose(log->f);
        tg__free(log);
        return NULL;
    }
    return log;
}

TG_API tg_csv_log *tg_csv_log_open(const char *path) {
    return log_open("tg_csv_log_open", path, 0);
}

TG_API tg_csv_log *tg_csv_log_open_with(const char *path, unsigned columns) {
    return log_open("tg_csv_log_open_with", path, columns);
}

/* A value or an empty field for NaN. */
static void csv_num(char *buf, size_t n, const char *fmt, double v) {
    if (v == v)
        snprintf(buf, n, fmt, v);
    else
        buf[0] = '\0';
}

TG_API tg_status tg_csv_log_write(tg_csv_log *log, const tg_log_row *r) {
    if (!log || !r)
        return tg__set_error(TG_ERR_NULL, "tg_csv_log_write: %s is NULL", log ? "row" : "log");
    char loss[32], acc[32], val[32], lr[32], sec[32], val_loss[33] = "";
    csv_num(loss, sizeof loss, "%.6g", r->loss);
    csv_num(acc, sizeof acc, "%.6g", r->accuracy);
    csv_num(val, sizeof val, "%.6g", r->val_accuracy);
    csv_num(lr, sizeof lr, "%.6g", r->lr);
    csv_num(sec, sizeof sec, "%.3f", r->seconds);
    if (log->columns & TG_CSV_LOG_VAL_LOSS) { /* ",<value>", or "," for NaN */
        val_loss[0] = ',';
        csv_num(val_loss + 1, sizeof val_loss - 1, "%.6g", r->val_loss);
    }
    if (fprintf(log->f, "%d,%lld,%s,%s,%s,%s,%s%s\n", r->epoch, (long long)r->step, loss, acc, val,
                lr, sec, val_loss) < 0 ||
        fflush(log->f) != 0) {
        log->failed = true;
        return tg__set_error(TG_ERR_IO, "tg_csv_log_write: %s", strerror(errno));
    }
    return TG_OK;
}

TG_API tg_status tg_csv_log_close(tg_csv_log *log) {
    if (!log) return TG_OK;
    bool bad = log->failed || ferror(log->f);
    if (fclose(log->f) != 0) bad = true;
    tg__free(log);
    return bad ? tg__set_error(TG_ERR_IO, "tg_csv_log_close: the log could not be written whole")
               : TG_OK;
}
