/* src/data/csv.c: numeric CSV files.
 *
 * The file is read whole (plain or gzip), then walked line by line in place: each
 * field is cut out of the buffer and parsed with strtod. The first data row fixes the
 * column count (or the header does); features go to one float array sized by the
 * number of lines, shrunk to fit at the end. Messages count lines and columns from 1,
 * as an editor does. */
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>

#include "data_internal.h"

static const char who[] = "tg_dataset_load_csv";

/* How much of a bad field a message shows. */
#define SHOW_MAX 40

static bool is_blank(char c) { return c == ' ' || c == '\t'; }

/* The field starting at *p on a line ending at e: sets [*fs, *fe) to its content
 * (trimmed, quotes removed), *p past it and its comma, and *more to whether a comma
 * followed (so another field, perhaps empty, comes next). Returns NULL, or why the
 * field is malformed. */
static const char *next_field(char **p, char *e, char **fs, char **fe, bool *more) {
    char *s = *p, *c;
    while (s < e && is_blank(*s)) s++;
    if (s < e && *s == '"') {
        char *q = s + 1;
        while (q < e && *q != '"') q++;
        if (q == e) return "unterminated quote";
        *fs = s + 1;
        *fe = q;
        c = q + 1;
        while (c < e && is_blank(*c)) c++;
        if (c < e && *c != ',') return "text after a closing quote";
    } else {
        c = s;
        while (c < e && *c != ',') c++;
        char *t = c;
        while (t > s && is_blank(t[-1])) t--;
        *fs = s;
        *fe = t;
    }
    *more = c < e;
    *p = *more ? c + 1 : e;
    return NULL;
}

/* Counts the fields of the line [s, e), or -1 after reporting a malformed one. */
static int count_fields(const char *path, int64_t line, char *s, char *e) {
    int n = 0;
    char *p = s, *fs, *fe;
    bool more = true;
    while (more) {
        const char *bad = next_field(&p, e, &fs, &fe, &more);
        if (bad || n == INT_MAX) {
            tg__set_error(TG_ERR_FORMAT, "%s: %s:%lld: column %d: %s", who, path, (long long)line,
                          n + 1, bad ? bad : "too many columns");
            return -1;
        }
        n++;
    }
    return n;
}

/* Parses [fs, fe) as a finite number into *v (the buffer is ours: a NUL is put after
 * the field for strtod and taken away again). Returns NULL or what is wrong. */
static const char *parse_number(char *fs, char *fe, double *v) {
    if (fs == fe) return "empty field"; /* (the others are followed by the field) */
    char saved = *fe;
    *fe = '\0';
    char *end = NULL;
    *v = strtod(fs, &end);
    *fe = saved;
    if (end != fe) return "not a number ";
    if (!isfinite(*v)) return "not a finite number ";
    return NULL;
}

/* "<who>: <path>:<line>: column <col>: <before>'<field>'<after>" */
static tg_status field_error(const char *path, int64_t line, int col, const char *before,
                             const char *fs, const char *fe, const char *after) {
    int len = (int)(fe - fs);
    return tg__set_error(TG_ERR_FORMAT, "%s: %s:%lld: column %d: %s'%.*s%s'%s", who, path,
                         (long long)line, col, before, len > SHOW_MAX ? SHOW_MAX : len, fs,
                         len > SHOW_MAX ? "..." : "", after);
}

TG_API tg_dataset *tg_dataset_load_csv(const char *path, bool header, int label_column) {
    if (!path) {
        tg__set_error(TG_ERR_NULL, "%s: path is NULL", who);
        return NULL;
    }
    if (label_column < -1) {
        tg__set_error(TG_ERR_ARG, "%s: label_column %d: use -1 for none or a column index >= 0",
                      who, label_column);
        return NULL;
    }
    char *buf = NULL;
    size_t len = 0;
    if (tg__file_slurp(who, path, &buf, &len) != TG_OK) return NULL;

    int64_t max_rows = 1; /* lines bound the rows */
    for (size_t i = 0; i < len; i++) max_rows += buf[i] == '\n';

    float *feat = NULL;
    int32_t *labels = NULL;
    tg_dataset *d = NULL;
    int ncols = -1, nfeat = 0;
    int64_t rows = 0, line = 0, header_line = 0;
    char *p = buf, *end = buf + len;
    if (len >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0) p += 3; /* a UTF-8 byte order mark */

    while (p < end) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        char *s = p, *e = nl ? nl : end;
        p = nl ? nl + 1 : end;
        line++;
        if (e > s && e[-1] == '\r') e--;
        char *t = s;
        while (t < e && is_blank(*t)) t++;
        if (t == e) continue; /* blank line */

        int n = count_fields(path, line, s, e);
        if (n < 0) goto done;
        if (ncols < 0) {
            ncols = n;
            if (label_column >= ncols) {
                tg__set_error(TG_ERR_ARG,
                              "%s: %s:%lld: label_column %d, but the rows have %d "
                              "columns (0..%d)",
                              who, path, (long long)line, label_column, ncols, ncols - 1);
                goto done;
            }
            nfeat = ncols - (label_column >= 0);
            if (nfeat == 0) {
                tg__set_error(TG_ERR_FORMAT, "%s: %s:%lld: no feature columns besides the label",
                              who, path, (long long)line);
                goto done;
            }
            if (max_rows > (int64_t)(SIZE_MAX / 4 / sizeof(float)) / nfeat) {
                tg__set_error(TG_ERR_NOMEM, "%s: %s: too large", who, path);
                goto done;
            }
            feat = tg__malloc((size_t)(max_rows * nfeat) * sizeof *feat);
            labels = label_column >= 0 ? tg__malloc((size_t)max_rows * sizeof *labels) : NULL;
            if (!feat || (label_column >= 0 && !labels)) {
                tg__set_error(TG_ERR_NOMEM, "%s: %s: out of memory for %lld rows of %d columns",
                              who, path, (long long)max_rows, ncols);
                goto done;
            }
            if (header) {
                header_line = line;
                continue;
            }
        }
        if (n != ncols) {
            if (header_line)
                tg__set_error(TG_ERR_FORMAT,
                              "%s: %s:%lld: %d columns, expected %d (as in the "
                              "header on line %lld)",
                              who, path, (long long)line, n, ncols, (long long)header_line);
            else
                tg__set_error(TG_ERR_FORMAT, "%s: %s:%lld: %d columns, expected %d", who, path,
                              (long long)line, n, ncols);
            goto done;
        }
        float *row = feat + rows * nfeat;
        char *q = s, *fs, *fe;
        bool more;
        for (int c = 0, j = 0; c < ncols; c++) {
            (void)next_field(&q, e, &fs, &fe, &more); /* count_fields checked the form */
            double v;
            const char *bad = parse_number(fs, fe, &v);
            if (bad) {
                if (fs == fe) /* nothing to quote */
                    tg__set_error(TG_ERR_FORMAT, "%s: %s:%lld: column %d: %s", who, path,
                                  (long long)line, c + 1, bad);
                else
                    field_error(path, line, c + 1, bad, fs, fe, "");
                goto done;
            }
            if (c == label_column) {
                if (v < 0 || v != floor(v) || v >= (double)INT32_MAX) {
                    field_error(path, line, c + 1, "label ", fs, fe,
                                v < 0 || v != floor(v) ? " is not an integer >= 0"
                                                       : " is too large");
                    goto done;
                }
                labels[rows] = (int32_t)v;
            } else {
                if (fabs(v) > FLT_MAX) {
                    field_error(path, line, c + 1, "out of range for float ", fs, fe, "");
                    goto done;
                }
                row[j++] = (float)v;
            }
        }
        rows++;
    }
    if (rows == 0) {
        if (len == 0)
            tg__set_error(TG_ERR_FORMAT, "%s: %s: empty file (no data rows)", who, path);
        else
            tg__set_error(TG_ERR_FORMAT, "%s: %s: no data rows%s", who, path,
                          header_line ? " after the header" : "");
        goto done;
    }
    if (rows < max_rows) { /* give back what blank lines and the header reserved */
        float *f = tg__realloc(feat, (size_t)(rows * nfeat) * sizeof *feat);
        if (f) feat = f;
        if (labels) {
            int32_t *l = tg__realloc(labels, (size_t)rows * sizeof *labels);
            if (l) labels = l;
        }
    }
    d = tg__dataset_adopt(who, rows, 1, &nfeat, NULL, feat, labels);
    feat = NULL;
    labels = NULL;
done:
    tg__free(buf);
    tg__free(feat);
    tg__free(labels);
    return d;
}
