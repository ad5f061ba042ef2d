/* src/graph/error.c: status strings, the sticky graph error, the thread's last error. */
#include <stdio.h>

#include "internal.h"

static _Thread_local char last_error[512];
static _Thread_local bool have_last_error;

static const char *const status_names[TG_STATUS_COUNT] = {
    [TG_OK] = "ok",
    [TG_ERR_NULL] = "NULL argument",
    [TG_ERR_SHAPE] = "invalid or mismatched shape",
    [TG_ERR_AXIS] = "axis out of range",
    [TG_ERR_ARG] = "argument out of range",
    [TG_ERR_NOMEM] = "out of memory",
    [TG_ERR_STATE] = "invalid state",
    [TG_ERR_IO] = "input/output error",
    [TG_ERR_FORMAT] = "malformed data",
    [TG_ERR_UNSUPPORTED] = "not supported",
    [TG_ERR_NUMERIC] = "numeric check failed",
};

TG_API const char *tg_status_str(tg_status s) {
    if ((int)s < 0 || s >= TG_STATUS_COUNT) return "unknown status";
    return status_names[s];
}

TG_API const char *tg_last_error(void) { return have_last_error ? last_error : NULL; }

TG_API void tg_clear_last_error(void) {
    have_last_error = false;
    last_error[0] = '\0';
}

tg_status tg__vset_error(tg_status st, const char *fmt, va_list ap) {
    vsnprintf(last_error, sizeof last_error, fmt, ap);
    have_last_error = true;
    return st;
}

tg_status tg__set_error(tg_status st, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    tg__vset_error(st, fmt, ap);
    va_end(ap);
    return st;
}

void tg__fail(tg_graph *g, tg_status st, const char *fmt, ...) {
    va_list ap;
    if (g == NULL) {
        va_start(ap, fmt);
        tg__vset_error(st, fmt, ap);
        va_end(ap);
        return;
    }
    if (g->status != TG_OK) return; /* the first error is the one that explains */
    g->status = st;
    va_start(ap, fmt);
    vsnprintf(g->error, sizeof g->error, fmt, ap);
    va_end(ap);
    tg__set_error(st, "%s", g->error);
}

char *tg__shape_str(int ndim, const int *shape, char *buf) {
    size_t n = 0;
    int i = 0;
    buf[n++] = '[';
    for (; i < ndim && n < TG_SHAPE_STR - 16; i++)
        n += (size_t)snprintf(buf + n, TG_SHAPE_STR - n, i ? ",%d" : "%d", shape[i]);
    if (i < ndim) { /* cut: say so rather than show a shorter shape (n <= 91 here) */
        memcpy(buf + n, "...", 3);
        n += 3;
    }
    buf[n++] = ']';
    buf[n] = '\0';
    return buf;
}
