/* src/graph/gradcheck.c: tg_gradcheck, the analytic gradient against central differences.
 *
 * One private graph runs fn: once with gradients on and a backward pass (the analytic
 * gradient, copied out before the graph is reset), once more in no-grad mode at x
 * (for the one-sided slopes), then twice per checked element at x+eps and x-eps.
 * Every evaluation resets the graph and copies the inputs in afresh from a working
 * buffer, where one element at a time is perturbed and then restored.
 *
 * Steps. In a float build x+eps is rounded to a float, so the step actually taken is
 * (tg_real)(x+eps) - x, which can differ from eps by half an ulp of x (5e-5 relative
 * for x near 1 and eps 1e-3). Differences divide by the steps actually taken, computed
 * in double; where x+eps rounds back to x (|x| so large that eps is below an ulp) the
 * step is one ulp. Function values are read into doubles and differenced there.
 *
 * Kinks. The central difference (f(x+h)-f(x-h)) / 2h is the average of the two
 * one-sided slopes r = (f(x+h)-f(x))/h and l = (f(x)-f(x-h))/h. An element whose
 * analytic value the central test rejects, and whose one-sided slopes differ by more
 * than the tolerance, is judged by the kink rule of the contract: the analytic value
 * must lie in [min(l,r), max(l,r)] widened by atol + rtol*max(|l|,|r|), i.e. be a valid
 * subgradient. Elements the central test accepts are never counted as kinks, so
 * strong curvature (r - l is about f''(x) h for a smooth f) does not inflate the count. */
#include <float.h>
#include <math.h>
#include <stdlib.h>

#include "internal.h"

#define GC_MAX_INPUTS 64

#if TG_PRECISION_DOUBLE
#define GC_EPS       1e-6
#define GC_TOL       1e-6
#define GC_NEXTAFTER nextafter
#else
#define GC_EPS       1e-3
#define GC_TOL       1e-2
#define GC_NEXTAFTER nextafterf
#endif

typedef struct gc_run {
    tg_gradcheck_fn fn;
    void *user;
    int n;
    const tg_gradcheck_input *in;
    tg_real *x[GC_MAX_INPUTS]; /* working copy of each input (in one buffer) */
    int64_t numel[GC_MAX_INPUTS];
    tg_tensor *ts[GC_MAX_INPUTS]; /* this evaluation's input tensors */
    tg_graph *g;
    char fail[200]; /* why an evaluation failed, for the report */
} gc_run;

/* Evaluates fn at the working values: resets the graph, makes the inputs, runs fn and
 * checks its result. On success *out is fn's tensor and *value its value; otherwise
 * returns the status with tg_last_error set (fn's own graph error when there is one). */
static tg_status gc_eval(gc_run *r, bool grad, const char *where, tg_tensor **out, double *value) {
    char buf[TG_SHAPE_STR];
    tg_graph *g = r->g;
    tg_graph_reset(g);
    tg_graph_set_grad_enabled(g, grad);
    for (int i = 0; i < r->n; i++) {
        r->ts[i] = tg_tensor_from(g, r->in[i].ndim, r->in[i].shape, r->x[i]);
        if (r->ts[i] && r->in[i].check) tg_set_requires_grad(r->ts[i], true);
    }
    tg_tensor *y = tg_graph_status(g) == TG_OK ? r->fn(g, r->ts, r->n, r->user) : NULL;
    tg_status st = tg_graph_status(g);
    if (st != TG_OK) {
        /* fn's first error, kept word for word (fn may have failed elsewhere since). */
        tg__set_error(st, "%s", tg_graph_error(g));
        snprintf(r->fail, sizeof r->fail, "gradcheck: fn failed (%s): %.120s", where,
                 tg_graph_error(g));
        return st;
    }
    if (!y) {
        snprintf(r->fail, sizeof r->fail,
                 "gradcheck: fn returned NULL (%s) without recording an error", where);
        return tg__set_error(TG_ERR_NULL, "%s", r->fail);
    }
    if (tg_tensor_graph(y) != g) {
        snprintf(r->fail, sizeof r->fail, "gradcheck: fn returned a tensor of another graph (%s)",
                 where);
        return tg__set_error(TG_ERR_STATE, "%s", r->fail);
    }
    if (tg_numel(y) != 1) {
        snprintf(r->fail, sizeof r->fail,
                 "gradcheck: fn must return a one-element tensor, got shape %s (%lld elements)",
                 tg__shape_str(tg_ndim(y), tg_shape(y), buf), (long long)tg_numel(y));
        return tg__set_error(TG_ERR_SHAPE, "%s", r->fail);
    }
    *out = y;
    *value = (double)tg_item(y);
    return TG_OK;
}

/* Checks the arguments and fills r's element counts; TG_OK or an error status. */
static tg_status gc_validate(tg_gradcheck_fn fn, int n, const tg_gradcheck_input *in,
                             const tg_gradcheck_opts *o, gc_run *r, int64_t *total) {
    if (!fn) return tg__set_error(TG_ERR_NULL, "tg_gradcheck: fn is NULL");
    if (n < 0 || n > GC_MAX_INPUTS)
        return tg__set_error(TG_ERR_ARG, "tg_gradcheck: ninputs %d is outside 0..%d", n,
                             GC_MAX_INPUTS);
    if (n > 0 && !in)
        return tg__set_error(TG_ERR_NULL, "tg_gradcheck: inputs is NULL for ninputs %d", n);
    if (o) {
        if (!(o->eps >= 0) || !isfinite(o->eps))
            return tg__set_error(TG_ERR_ARG, "tg_gradcheck: eps %g must be positive (0 = default)",
                                 o->eps);
        if (!(o->atol >= 0) || !(o->rtol >= 0) || !isfinite(o->atol) || !isfinite(o->rtol))
            return tg__set_error(TG_ERR_ARG,
                                 "tg_gradcheck: tolerances must be finite and >= 0, got "
                                 "atol %g, rtol %g",
                                 o->atol, o->rtol);
    }
    const int64_t limit = (int64_t)((SIZE_MAX / 2) / (sizeof(double) + sizeof(tg_real)));
    *total = 0;
    for (int i = 0; i < n; i++) {
        const tg_gradcheck_input *t = &in[i];
        if (t->ndim < 0 || t->ndim > TG_MAX_DIMS)
            return tg__set_error(TG_ERR_SHAPE, "tg_gradcheck: input %d: ndim %d is outside 0..%d",
                                 i, t->ndim, TG_MAX_DIMS);
        if (t->ndim > 0 && !t->shape)
            return tg__set_error(TG_ERR_NULL, "tg_gradcheck: input %d: shape is NULL for ndim %d",
                                 i, t->ndim);
        if (!t->data) return tg__set_error(TG_ERR_NULL, "tg_gradcheck: input %d: data is NULL", i);
        int64_t numel = 1;
        for (int d = 0; d < t->ndim; d++) {
            char buf[TG_SHAPE_STR];
            if (t->shape[d] < 0)
                return tg__set_error(TG_ERR_SHAPE,
                                     "tg_gradcheck: input %d: negative dimension in shape %s", i,
                                     tg__shape_str(t->ndim, t->shape, buf));
            if (t->shape[d] > 0 && numel > (limit - *total) / t->shape[d])
                return tg__set_error(TG_ERR_NOMEM,
                                     "tg_gradcheck: input %d: shape %s has too many elements", i,
                                     tg__shape_str(t->ndim, t->shape, buf));
            numel *= t->shape[d];
        }
        r->numel[i] = numel;
        *total += numel;
    }
    return TG_OK;
}

/* "[1,2]", the multi-index of flat element k of an input, or "" for 0-d and 1-d. */
static void gc_index_str(const tg_gradcheck_input *t, int64_t k, char *buf, size_t size) {
    buf[0] = '\0';
    if (t->ndim < 2) return;
    int64_t idx[TG_MAX_DIMS];
    for (int d = t->ndim - 1; d >= 0; d--) {
        idx[d] = k % t->shape[d];
        k /= t->shape[d];
    }
    size_t len = 0;
    for (int d = 0; d < t->ndim && len < size; d++)
        len += (size_t)snprintf(buf + len, size - len, "%s%lld", d ? "," : " [", (long long)idx[d]);
    if (len < size) snprintf(buf + len, size - len, "]");
}

/* Copies src into dst[size], cut to fit. */
static void gc_copy(char *dst, size_t size, const char *src) {
    size_t n = src ? strlen(src) : 0;
    if (n >= size) n = size - 1;
    if (n) memcpy(dst, src, n);
    dst[n] = '\0';
}

/* The value one step above (dir > 0) or below x, as the element type holds it. */
static tg_real gc_step(tg_real x, double eps, int dir) {
    tg_real y = (tg_real)((double)x + dir * eps);
    if (y == x) y = GC_NEXTAFTER(x, dir > 0 ? (tg_real)INFINITY : (tg_real)-INFINITY);
    return y;
}

typedef struct gc_worst {
    double score; /* error / tolerance */
    int input;
    int64_t index;
    double analytic, numeric, abs_err, rel_err, lo, hi;
    bool kink;
} gc_worst;

TG_API tg_status tg_gradcheck(tg_gradcheck_fn fn, int ninputs, const tg_gradcheck_input *inputs,
                              void *user, const tg_gradcheck_opts *opts,
                              tg_gradcheck_report *report) {
    if (report) {
        memset(report, 0, sizeof *report);
        report->worst_input = -1;
        report->worst_index = -1;
    }
    gc_run r;
    memset(&r, 0, sizeof r);
    int64_t total = 0;
    tg_status st = gc_validate(fn, ninputs, inputs, opts, &r, &total);
    if (st != TG_OK) {
        if (report) gc_copy(report->message, sizeof report->message, tg_last_error());
        return st;
    }
    double eps = opts && opts->eps > 0 ? opts->eps : GC_EPS;
    double atol = GC_TOL, rtol = GC_TOL;
    if (opts && (opts->atol > 0 || opts->rtol > 0)) atol = opts->atol, rtol = opts->rtol;

    int64_t nchecked = 0;
    for (int i = 0; i < ninputs; i++)
        if (inputs[i].check) nchecked += r.numel[i];

    /* One buffer: the analytic gradients (double) first, then the working inputs. */
    double *analytic =
        tg__malloc((size_t)nchecked * sizeof(double) + (size_t)total * sizeof(tg_real));
    r.g = tg_graph_new();
    if (!analytic || !r.g) {
        tg__free(analytic);
        tg_graph_free(r.g);
        st = tg__set_error(TG_ERR_NOMEM, "tg_gradcheck: out of memory");
        if (report) gc_copy(report->message, sizeof report->message, tg_last_error());
        return st;
    }
    tg_real *work = (tg_real *)(analytic + nchecked);
    r.fn = fn, r.user = user, r.n = ninputs, r.in = inputs;
    for (int i = 0; i < ninputs; i++) {
        r.x[i] = work;
        if (r.numel[i]) memcpy(work, inputs[i].data, (size_t)r.numel[i] * sizeof(tg_real));
        work += r.numel[i];
    }

    /* The analytic pass. An output that requires no gradient does not depend on any
     * checked input through the tape: its analytic gradient is zero. */
    tg_tensor *y = NULL;
    double f0 = 0;
    st = gc_eval(&r, true, "analytic pass", &y, &f0);
    if (st == TG_OK && nchecked > 0 && tg_requires_grad(y) && tg_backward(r.g, y) != 0) {
        st = tg_graph_status(r.g);
        snprintf(r.fail, sizeof r.fail, "gradcheck: backward failed: %.150s", tg_graph_error(r.g));
    }
    if (st == TG_OK) {
        double *a = analytic;
        for (int i = 0; i < ninputs; i++) {
            if (!inputs[i].check) continue;
            const tg_real *gr = tg_grad(r.ts[i]);
            for (int64_t k = 0; k < r.numel[i]; k++) a[k] = gr ? (double)gr[k] : 0.0;
            a += r.numel[i];
        }
        st = gc_eval(&r, false, "at x", &y, &f0);
    }

    /* The numeric pass, element by element. */
    gc_worst w = {.score = -1, .input = -1, .index = -1};
    int64_t checked = 0, kinks = 0, failed = 0;
    double worst_abs = 0;
    const double *a = analytic;
    for (int i = 0; i < ninputs && st == TG_OK; i++) {
        if (!inputs[i].check) continue;
        for (int64_t k = 0; k < r.numel[i] && st == TG_OK; k++) {
            const tg_real x = r.x[i][k];
            const tg_real xp = gc_step(x, eps, +1), xm = gc_step(x, eps, -1);
            double fp = 0, fm = 0;
            r.x[i][k] = xp;
            st = gc_eval(&r, false, "at x+eps", &y, &fp);
            if (st == TG_OK) {
                r.x[i][k] = xm;
                st = gc_eval(&r, false, "at x-eps", &y, &fm);
            }
            r.x[i][k] = x;
            if (st != TG_OK) break;

            const double hp = (double)xp - (double)x, hm = (double)x - (double)xm;
            const double num = (fp - fm) / (hp + hm);
            const double right = (fp - f0) / hp, left = (f0 - fm) / hm;
            const double an = a[k];
            const double big = fmax(fabs(left), fabs(right));
            double err = fabs(an - num), tol = atol + rtol * fabs(num);
            double rel = num != 0 ? err / fabs(num) : (err > 0 ? INFINITY : 0.0);
            /* Only an element the central test rejects is judged as a kink, so smooth
             * points with strong curvature are never counted as kinks. */
            const bool kink = !(err <= tol) && fabs(right - left) > atol + rtol * big;
            if (kink) { /* a subgradient: between the one-sided slopes */
                const double lo = fmin(left, right), hi = fmax(left, right);
                err = an < lo ? lo - an : an > hi ? an - hi : 0.0;
                if (isnan(an)) err = NAN;
                tol = atol + rtol * big;
                rel = big > 0 ? err / big : (err > 0 ? INFINITY : 0.0);
                kinks++;
            }
            const bool ok = err <= tol; /* false for NaN */
            double score = tol > 0 ? err / tol : (err > 0 ? INFINITY : 0.0);
            if (isnan(score) || isnan(num)) score = INFINITY;
            checked++;
            if (!ok) failed++;
            if (!isnan(err) && err > worst_abs) worst_abs = err;
            if (score > w.score) {
                w = (gc_worst){score, i, k, an, num, err, rel, fmin(left, right), fmax(left, right),
                               kink};
            }
        }
        a += r.numel[i];
    }

    if (st == TG_OK && failed > 0) {
        char idx[64];
        gc_index_str(&inputs[w.input], w.index, idx, sizeof idx);
        char msg[512]; /* room for any numbers; the report keeps the first 255 chars */
        if (w.kink)
            snprintf(msg, sizeof msg,
                     "gradcheck: input %d element %lld%s: analytic %.6g outside the one-sided "
                     "slopes [%.6g, %.6g] at a kink (by %.3g) beyond atol %g + rtol %g; "
                     "%lld of %lld elements failed",
                     w.input, (long long)w.index, idx, w.analytic, w.lo, w.hi, w.abs_err, atol,
                     rtol, (long long)failed, (long long)checked);
        else
            snprintf(msg, sizeof msg,
                     "gradcheck: input %d element %lld%s: analytic %.6g vs numeric %.6g "
                     "(abs %.3g, rel %.3g) exceeds atol %g + rtol %g; %lld of %lld elements "
                     "failed",
                     w.input, (long long)w.index, idx, w.analytic, w.numeric, w.abs_err, w.rel_err,
                     atol, rtol, (long long)failed, (long long)checked);
        st = tg__set_error(TG_ERR_NUMERIC, "%s", msg);
    }

    if (report) {
        report->passed = st == TG_OK;
        report->checked = checked;
        report->kinks = kinks;
        if (w.input >= 0) {
            report->worst_input = w.input;
            report->worst_index = w.index;
            report->analytic = w.analytic;
            report->numeric = w.numeric;
            report->abs_err = w.abs_err;
            report->rel_err = w.rel_err;
        }
        if (st == TG_ERR_NUMERIC)
            gc_copy(report->message, sizeof report->message, tg_last_error());
        else if (st != TG_OK)
            gc_copy(report->message, sizeof report->message, r.fail);
        else if (checked == 0)
            snprintf(report->message, sizeof report->message,
                     "gradcheck: no input has check set: nothing compared");
        else if (kinks > 0)
            snprintf(report->message, sizeof report->message,
                     "gradcheck: %lld elements passed (%lld at kinks), worst abs err %.3g",
                     (long long)checked, (long long)kinks, worst_abs);
        else
            snprintf(report->message, sizeof report->message,
                     "gradcheck: %lld elements passed, worst abs err %.3g", (long long)checked,
                     worst_abs);
    }
    tg_graph_free(r.g);
    tg__free(analytic);
    return st;
}
