/* src/optim/optim.c: SGD, Adam, AdamW, RMSProp and Adagrad over a parameter store.
 *
 * Each optimizer is one kernel: a single fused pass over one parameter's elements that
 * reads the gradient, updates the state buffers and writes the value, in tg_real with
 * coefficients computed once per parameter in double (bias corrections). The pass runs
 * per parameter range [offset, offset + numel) of the flat buffers, skipping frozen
 * parameters and the zero padding between parameters (with eps = 0 an update of a zero
 * gradient is 0/0, which must not reach the padding). State buffers have the store's
 * flat layout and are allocated when the optimizer is made; a step allocates nothing.
 * The update rules are PyTorch 1.13's single-tensor implementations, operation for
 * operation: see docs/optim.md. Parameters only: nothing here touches a graph. */
#include <limits.h>
#include <math.h>

#include "../graph/internal.h"
#include "../nn/ckpt.h"

#if TG_PRECISION_DOUBLE
#define SQRT sqrt
#else
#define SQRT sqrtf
#endif

enum { K_SGD, K_ADAM, K_ADAMW, K_RMSPROP, K_ADAGRAD, K_COUNT };
static const char *const kind_names[K_COUNT] = {
    [K_SGD] = "sgd",         [K_ADAM] = "adam",       [K_ADAMW] = "adamw",
    [K_RMSPROP] = "rmsprop", [K_ADAGRAD] = "adagrad",
};

#define MAX_BUF 3

/* What one parameter's pass needs, in the element type. */
typedef struct coef {
    tg_real lr, wd;          /* step scale (Adam: the bias-corrected step size), L2 decay */
    tg_real decay;           /* AdamW: 1 - lr * weight_decay */
    tg_real b1, omb1;        /* beta1, 1 - beta1 (SGD: momentum, 1 - dampening) */
    tg_real b2, omb2;        /* beta2, 1 - beta2 (RMSProp: alpha, 1 - alpha) */
    tg_real bc2s, eps;       /* Adam: sqrt(1 - beta2^t) */
    tg_real mom;             /* RMSProp momentum */
    bool wd_on, first, flag; /* weight decay on; first SGD step; flag: nesterov */
} coef;

typedef void kernel_fn(const coef *c, tg_real *restrict w, const tg_real *restrict g,
                       tg_real *restrict s0, tg_real *restrict s1, tg_real *restrict s2, int64_t n);

struct tg_optim {
    int kind;
    tg_params *p;
    int count;   /* parameters in the store when made */
    int64_t len; /* tg_params_flat_len when made */
    double lr;
    int64_t steps;
    int64_t *psteps; /* each parameter's own step counter (PyTorch's state["step"]) */
    union {
        tg_sgd_opts sgd;
        tg_adam_opts adam;
        tg_rmsprop_opts rms;
        tg_adagrad_opts ada;
    } opt;
    int nbuf;
    tg_real *buf[MAX_BUF];
    const char *buf_name[MAX_BUF];
};

/* ---- defaults ------------------------------------------------------------------------ */

TG_API tg_sgd_opts tg_sgd_defaults(double lr) {
    return (tg_sgd_opts){
        .lr = lr, .momentum = 0, .dampening = 0, .weight_decay = 0, .nesterov = false};
}
TG_API tg_adam_opts tg_adam_defaults(double lr) {
    return (tg_adam_opts){
        .lr = lr, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8, .weight_decay = 0, .amsgrad = false};
}
TG_API tg_adam_opts tg_adamw_defaults(double lr) {
    tg_adam_opts o = tg_adam_defaults(lr);
    o.weight_decay = 0.01;
    return o;
}
TG_API tg_rmsprop_opts tg_rmsprop_defaults(double lr) {
    return (tg_rmsprop_opts){
        .lr = lr, .alpha = 0.99, .eps = 1e-8, .weight_decay = 0, .momentum = 0, .centered = false};
}
TG_API tg_adagrad_opts tg_adagrad_defaults(double lr) {
    return (tg_adagrad_opts){
        .lr = lr, .lr_decay = 0, .weight_decay = 0, .initial_accumulator_value = 0, .eps = 1e-10};
}

/* ---- making ---------------------------------------------------------------------------- */

/* False (and the error set) unless v is finite and >= 0. */
static bool check_nonneg(const char *fn, const char *what, double v) {
    if (isfinite(v) && v >= 0) return true;
    tg__set_error(TG_ERR_ARG, "%s: %s must be finite and >= 0, got %g", fn, what, v);
    return false;
}
/* False (and the error set) unless v is in [0, 1). */
static bool check_beta(const char *fn, const char *what, double v) {
    if (v >= 0 && v < 1) return true;
    tg__set_error(TG_ERR_ARG, "%s: %s must be in [0, 1), got %g", fn, what, v);
    return false;
}

/* False (and the error set) if the store p or the options o is NULL. */
static bool have_args(const char *fn, const tg_params *p, const void *o) {
    if (p && o) return true;
    tg__set_error(TG_ERR_NULL, "%s: %s is NULL", fn, p ? "options" : "store");
    return false;
}

/* The common part of every constructor: checks p, allocates the optimizer and nbuf
 * zeroed state buffers named by names. NULL (error set) on failure. */
static tg_optim *optim_make(const char *fn, int kind, tg_params *p, int nbuf,
                            const char *const *names) {
    if (tg_params_count(p) == 0) {
        tg__set_error(TG_ERR_ARG, "%s: the parameter store is empty", fn);
        return NULL;
    }
    tg_optim *o = tg__malloc(sizeof *o);
    if (!o) goto oom;
    memset(o, 0, sizeof *o);
    o->kind = kind;
    o->p = p;
    o->count = tg_params_count(p);
    o->len = tg_params_flat_len(p);
    o->psteps = tg__malloc((size_t)o->count * sizeof *o->psteps);
    if (!o->psteps) goto oom;
    memset(o->psteps, 0, (size_t)o->count * sizeof *o->psteps);
    if ((uint64_t)o->len > SIZE_MAX / sizeof(tg_real)) goto oom;
    const size_t bytes = (size_t)o->len * sizeof(tg_real);
    for (int b = 0; b < nbuf; b++) {
        o->buf[b] = tg__aligned_alloc(bytes);
        if (!o->buf[b]) goto oom;
        memset(o->buf[b], 0, bytes);
        o->buf_name[b] = names[b];
        o->nbuf = b + 1;
    }
    return o;
oom:
    tg_optim_free(o);
    tg__set_error(TG_ERR_NOMEM, "%s: out of memory", fn);
    return NULL;
}

TG_API tg_optim *tg_sgd_new(tg_params *p, const tg_sgd_opts *o) {
    static const char *const names[] = {"momentum_buffer"};
    const char *fn = "tg_sgd_new";
    if (!have_args(fn, p, o)) return NULL;
    if (!check_nonneg(fn, "lr", o->lr) || !check_nonneg(fn, "momentum", o->momentum) ||
        !check_nonneg(fn, "weight_decay", o->weight_decay))
        return NULL;
    if (!isfinite(o->dampening)) {
        tg__set_error(TG_ERR_ARG, "%s: dampening must be finite, got %g", fn, o->dampening);
        return NULL;
    }
    if (o->nesterov && (o->momentum <= 0 || o->dampening != 0)) {
        tg__set_error(TG_ERR_ARG,
                      "%s: nesterov momentum requires a momentum > 0 and zero "
                      "dampening (momentum %g, dampening %g)",
                      fn, o->momentum, o->dampening);
        return NULL;
    }
    tg_optim *s = optim_make(fn, K_SGD, p, o->momentum != 0 ? 1 : 0, names);
    if (s) s->opt.sgd = *o, s->lr = o->lr;
    return s;
}

static tg_optim *adam_new(const char *fn, int kind, tg_params *p, const tg_adam_opts *o) {
    static const char *const names[] = {"exp_avg", "exp_avg_sq", "max_exp_avg_sq"};
    if (!have_args(fn, p, o)) return NULL;
    if (!check_nonneg(fn, "lr", o->lr) || !check_nonneg(fn, "eps", o->eps) ||
        !check_beta(fn, "beta1", o->beta1) || !check_beta(fn, "beta2", o->beta2) ||
        !check_nonneg(fn, "weight_decay", o->weight_decay))
        return NULL;
    tg_optim *s = optim_make(fn, kind, p, o->amsgrad ? 3 : 2, names);
    if (s) s->opt.adam = *o, s->lr = o->lr;
    return s;
}
TG_API tg_optim *tg_adam_new(tg_params *p, const tg_adam_opts *o) {
    return adam_new("tg_adam_new", K_ADAM, p, o);
}
TG_API tg_optim *tg_adamw_new(tg_params *p, const tg_adam_opts *o) {
    return adam_new("tg_adamw_new", K_ADAMW, p, o);
}

TG_API tg_optim *tg_rmsprop_new(tg_params *p, const tg_rmsprop_opts *o) {
    const char *fn = "tg_rmsprop_new";
    if (!have_args(fn, p, o)) return NULL;
    if (!check_nonneg(fn, "lr", o->lr) || !check_nonneg(fn, "eps", o->eps) ||
        !check_nonneg(fn, "momentum", o->momentum) ||
        !check_nonneg(fn, "weight_decay", o->weight_decay) || !check_nonneg(fn, "alpha", o->alpha))
        return NULL;
    /* buffers in a fixed order: square_avg, then momentum_buffer, then grad_avg */
    const char *names[MAX_BUF] = {"square_avg", NULL, NULL};
    int n = 1;
    if (o->momentum > 0) names[n++] = "momentum_buffer";
    if (o->centered) names[n++] = "grad_avg";
    tg_optim *s = optim_make(fn, K_RMSPROP, p, n, names);
    if (s) s->opt.rms = *o, s->lr = o->lr;
    return s;
}

TG_API tg_optim *tg_adagrad_new(tg_params *p, const tg_adagrad_opts *o) {
    static const char *const names[] = {"sum"};
    const char *fn = "tg_adagrad_new";
    if (!have_args(fn, p, o)) return NULL;
    if (!check_nonneg(fn, "lr", o->lr) || !check_nonneg(fn, "lr_decay", o->lr_decay) ||
        !check_nonneg(fn, "weight_decay", o->weight_decay) ||
        !check_nonneg(fn, "initial_accumulator_value", o->initial_accumulator_value) ||
        !check_nonneg(fn, "eps", o->eps))
        return NULL;
    tg_optim *s = optim_make(fn, K_ADAGRAD, p, 1, names);
    if (!s) return NULL;
    s->opt.ada = *o;
    s->lr = o->lr;
    /* the sum starts at initial_accumulator_value over each parameter (padding stays 0) */
    const tg_real init = (tg_real)o->initial_accumulator_value;
    const tg_real *values = tg_params_values(p);
    for (int i = 0; i < s->count; i++) {
        tg_tensor *t = tg_params_at(p, i);
        tg_real *sum = s->buf[0] + (tg_data(t) - values);
        const int64_t n = tg_numel(t);
        for (int64_t k = 0; k < n; k++) sum[k] = init;
    }
    return s;
}

TG_API void tg_optim_free(tg_optim *o) {
    if (!o) return;
    for (int b = 0; b < o->nbuf; b++) tg__free(o->buf[b]);
    tg__free(o->psteps);
    tg__free(o);
}

/* ---- the kernels ------------------------------------------------------------------------
 * One parameter's elements (or a chunk of them); w values, g gradients, s0..s2 state.
 * The comments give PyTorch's single-tensor code each line reproduces. */

/* d = g + wd w; buf = first ? d : momentum buf + (1 - dampening) d;
 * d = nesterov ? d + momentum buf : buf; w -= lr d. Without momentum: w -= lr d. */
TG_SIMD static void sgd_kernel(const coef *c, tg_real *restrict w, const tg_real *restrict g,
                               tg_real *restrict buf, tg_real *restrict s1, tg_real *restrict s2,
                               int64_t n) {
    (void)s1, (void)s2;
    const tg_real lr = c->lr, wd = c->wd, mom = c->b1, omd = c->omb1;
    const bool wd_on = c->wd_on, nesterov = c->flag;
    if (!buf) { /* momentum 0 */
        for (int64_t i = 0; i < n; i++) {
            const tg_real d = wd_on ? g[i] + wd * w[i] : g[i];
            w[i] = w[i] + -lr * d;
        }
    } else if (c->first) { /* the buffer starts as a copy of d */
        for (int64_t i = 0; i < n; i++) {
            const tg_real d = wd_on ? g[i] + wd * w[i] : g[i];
            buf[i] = d;
            w[i] = w[i] + -lr * (nesterov ? d + mom * d : d);
        }
    } else {
        for (int64_t i = 0; i < n; i++) {
            const tg_real d = wd_on ? g[i] + wd * w[i] : g[i];
            const tg_real b = buf[i] * mom + omd * d;
            buf[i] = b;
            w[i] = w[i] + -lr * (nesterov ? d + mom * b : b);
        }
    }
}

/* (AdamW: w *= 1 - lr wd.) (Adam: d = g + wd w.) m = beta1 m + (1 - beta1) d;
 * v = beta2 v + (1 - beta2) d d; (amsgrad: vmax = max(vmax, v), used for v);
 * w -= step_size m / (sqrt(v) / sqrt(1 - beta2^t) + eps), step_size = lr / (1 - beta1^t). */
TG_SIMD static void adam_kernel(const coef *c, tg_real *restrict w, const tg_real *restrict g,
                                tg_real *restrict m, tg_real *restrict v, tg_real *restrict vmax,
                                int64_t n) {
    const tg_real step = c->lr, wd = c->wd, decay = c->decay, b1 = c->b1, omb1 = c->omb1;
    const tg_real b2 = c->b2, omb2 = c->omb2, bc2s = c->bc2s, eps = c->eps;
    const bool wd_on = c->wd_on, decoupled = decay != 1;
    if (!vmax) {
        for (int64_t i = 0; i < n; i++) {
            const tg_real d = wd_on ? g[i] + wd * w[i] : g[i];
            const tg_real wi = decoupled ? w[i] * decay : w[i];
            const tg_real mi = m[i] * b1 + omb1 * d;
            const tg_real vi = v[i] * b2 + omb2 * d * d;
            m[i] = mi;
            v[i] = vi;
            w[i] = wi + -step * (mi / (SQRT(vi) / bc2s + eps));
        }
    } else {
        for (int64_t i = 0; i < n; i++) {
            const tg_real d = wd_on ? g[i] + wd * w[i] : g[i];
            const tg_real wi = decoupled ? w[i] * decay : w[i];
            const tg_real mi = m[i] * b1 + omb1 * d;
            const tg_real vi = v[i] * b2 + omb2 * d * d;
            const tg_real vm = vmax[i] >= vi ? vmax[i] : vi; /* NaN in v propagates */
            m[i] = mi;
            v[i] = vi;
            vmax[i] = vm;
            w[i] = wi + -step * (mi / (SQRT(vm) / bc2s + eps));
        }
    }
}

/* d = g + wd w; sq = alpha sq + (1 - alpha) d d; (centered: ga = alpha ga + (1 - alpha) d,
 * avg = sqrt(sq - ga ga), else avg = sqrt(sq)) + eps;
 * momentum: buf = momentum buf + d / avg, w -= lr buf; else w -= lr d / avg. */
TG_SIMD static void rmsprop_kernel(const coef *c, tg_real *restrict w, const tg_real *restrict g,
                                   tg_real *restrict sq, tg_real *restrict buf,
                                   tg_real *restrict ga, int64_t n) {
    const tg_real lr = c->lr, wd = c->wd, al = c->b2, oma = c->omb2, eps = c->eps, mom = c->mom;
    const bool wd_on = c->wd_on;
    for (int64_t i = 0; i < n; i++) {
        const tg_real d = wd_on ? g[i] + wd * w[i] : g[i];
        const tg_real s = sq[i] * al + oma * d * d;
        sq[i] = s;
        tg_real avg;
        if (ga) {
            const tg_real a = ga[i] * al + oma * d;
            ga[i] = a;
            avg = SQRT(s + -a * a) + eps;
        } else {
            avg = SQRT(s) + eps;
        }
        if (buf) {
            const tg_real b = buf[i] * mom + d / avg;
            buf[i] = b;
            w[i] = w[i] + -lr * b;
        } else {
            w[i] = w[i] + -lr * (d / avg);
        }
    }
}

/* d = g + wd w; sum += d d; w -= clr d / (sqrt(sum) + eps), clr = lr / (1 + (t-1) lr_decay). */
TG_SIMD static void adagrad_kernel(const coef *c, tg_real *restrict w, const tg_real *restrict g,
                                   tg_real *restrict sum, tg_real *restrict s1,
                                   tg_real *restrict s2, int64_t n) {
    (void)s1, (void)s2;
    const tg_real clr = c->lr, wd = c->wd, eps = c->eps;
    const bool wd_on = c->wd_on;
    for (int64_t i = 0; i < n; i++) {
        const tg_real d = wd_on ? g[i] + wd * w[i] : g[i];
        const tg_real s = sum[i] + d * d;
        sum[i] = s;
        w[i] = w[i] + -clr * (d / (SQRT(s) + eps));
    }
}

/* The coefficients of one parameter's pass at its step t (t >= 1, already counted). */
static coef make_coef(const tg_optim *o, int64_t t) {
    coef c = {.decay = 1};
    switch (o->kind) {
    case K_SGD: {
        const tg_sgd_opts *s = &o->opt.sgd;
        c.lr = (tg_real)o->lr;
        c.wd = (tg_real)s->weight_decay, c.wd_on = s->weight_decay != 0;
        c.b1 = (tg_real)s->momentum, c.omb1 = (tg_real)(1 - s->dampening);
        c.flag = s->nesterov, c.first = t == 1;
        break;
    }
    case K_ADAM:
    case K_ADAMW: {
        const tg_adam_opts *a = &o->opt.adam;
        const double bc1 = 1 - pow(a->beta1, (double)t), bc2 = 1 - pow(a->beta2, (double)t);
        c.lr = (tg_real)(o->lr / bc1);
        c.bc2s = (tg_real)sqrt(bc2);
        c.b1 = (tg_real)a->beta1, c.omb1 = (tg_real)(1 - a->beta1);
        c.b2 = (tg_real)a->beta2, c.omb2 = (tg_real)(1 - a->beta2);
        c.eps = (tg_real)a->eps;
        if (o->kind == K_ADAM)
            c.wd = (tg_real)a->weight_decay, c.wd_on = a->weight_decay != 0;
        else
            c.decay = (tg_real)(1 - o->lr * a->weight_decay);
        break;
    }
    case K_RMSPROP: {
        const tg_rmsprop_opts *r = &o->opt.rms;
        c.lr = (tg_real)o->lr;
        c.wd = (tg_real)r->weight_decay, c.wd_on = r->weight_decay != 0;
        c.b2 = (tg_real)r->alpha, c.omb2 = (tg_real)(1 - r->alpha);
        c.eps = (tg_real)r->eps, c.mom = (tg_real)r->momentum;
        break;
    }
    default: {
        const tg_adagrad_opts *a = &o->opt.ada;
        c.lr = (tg_real)(o->lr / (1 + (double)(t - 1) * a->lr_decay));
        c.wd = (tg_real)a->weight_decay, c.wd_on = a->weight_decay != 0;
        c.eps = (tg_real)a->eps;
        break;
    }
    }
    return c;
}

/* Which state buffer plays each kernel slot (RMSProp's are optional, by name). */
static void kernel_slots(const tg_optim *o, int64_t off, tg_real *s[MAX_BUF]) {
    s[0] = s[1] = s[2] = NULL;
    if (o->kind == K_RMSPROP) {
        for (int b = 1; b < o->nbuf; b++) s[o->buf_name[b][0] == 'm' ? 1 : 2] = o->buf[b] + off;
        s[0] = o->buf[0] + off;
        return;
    }
    for (int b = 0; b < o->nbuf; b++) s[b] = o->buf[b] + off;
}

static kernel_fn *const kernels[K_COUNT] = {
    [K_SGD] = sgd_kernel,         [K_ADAM] = adam_kernel,       [K_ADAMW] = adam_kernel,
    [K_RMSPROP] = rmsprop_kernel, [K_ADAGRAD] = adagrad_kernel,
};

/* Elements per task when a large parameter is split across threads. Every element's
 * update is independent, so the result does not depend on the split. */
#define CHUNK 16384

TG_API tg_status tg_optim_step(tg_optim *o) {
    if (!o) return tg__set_error(TG_ERR_NULL, "tg_optim_step: optimizer is NULL");
    if (tg_params_count(o->p) != o->count || tg_params_flat_len(o->p) != o->len)
        return tg__set_error(TG_ERR_STATE,
                             "tg_optim_step: %s: parameters were added to the "
                             "store after the optimizer was made (%d then, %d now)",
                             kind_names[o->kind], o->count, tg_params_count(o->p));
    tg_real *values = tg_params_values(o->p), *grads = tg_params_grads(o->p);
    kernel_fn *kernel = kernels[o->kind];
    const int nth = tg__threads();
    (void)nth; /* only the pragma reads it */
    for (int i = 0; i < o->count; i++) {
        tg_tensor *t = tg_params_at(o->p, i);
        if (!tg_requires_grad(t)) continue; /* frozen: value and state untouched */
        const int64_t off = tg_data(t) - values, n = tg_numel(t);
        const coef c = make_coef(o, ++o->psteps[i]);
        tg_real *s[MAX_BUF];
        kernel_slots(o, off, s);
        if (n < TG_PAR_MIN || nth <= 1) {
            kernel(&c, values + off, grads + off, s[0], s[1], s[2], n);
            continue;
        }
        const int64_t nch = (n + CHUNK - 1) / CHUNK;
#pragma omp parallel for schedule(static) num_threads(nth)
        for (int64_t k = 0; k < nch; k++) {
            const int64_t lo = k * CHUNK, len = n - lo < CHUNK ? n - lo : CHUNK;
            kernel(&c, values + off + lo, grads + off + lo, s[0] ? s[0] + lo : NULL,
                   s[1] ? s[1] + lo : NULL, s[2] ? s[2] + lo : NULL, len);
        }
    }
    o->steps++;
    return TG_OK;
}

TG_API void tg_optim_zero_grad(tg_optim *o) {
    if (o) tg_params_zero_grad(o->p);
}
TG_API double tg_optim_lr(const tg_optim *o) { return o ? o->lr : 0; }
TG_API void tg_optim_set_lr(tg_optim *o, double lr) {
    if (!o) return;
    if (!(isfinite(lr) && lr >= 0)) {
        tg__set_error(TG_ERR_ARG, "tg_optim_set_lr: lr must be finite and >= 0, got %g", lr);
        return;
    }
    o->lr = lr;
}
TG_API int64_t tg_optim_steps(const tg_optim *o) { return o ? o->steps : 0; }
TG_API const char *tg_optim_name(const tg_optim *o) { return o ? kind_names[o->kind] : NULL; }

/* ---- checkpoints ------------------------------------------------------------------------
 * Counters and the double lr must survive a float file exactly, so each 64-bit pattern
 * is written as four 16-bit chunks, each exact in any tg_real. */

static void put_bits(uint64_t u, tg_real *out) {
    for (int k = 0; k < 4; k++) out[k] = (tg_real)((u >> (48 - 16 * k)) & 0xffff);
}
/* False unless every chunk is an integer in [0, 65535]. */
static bool get_bits(const tg_real *in, uint64_t *u) {
    *u = 0;
    for (int k = 0; k < 4; k++) {
        const tg_real c = in[k];
        if (!(c >= 0 && c <= 65535) || c != (tg_real)(int32_t)c) return false;
        *u = (*u << 16) | (uint64_t)(int32_t)c;
    }
    return true;
}

/* Scratch for the small entries: step [4], lr [4], param_step [count, 4]. */
static tg_real *small_new(const tg_optim *o) {
    return tg__malloc((size_t)(8 + 4 * (int64_t)o->count) * sizeof(tg_real));
}

/* Fills the entry table over the small scratch and the given state buffers. */
static int entries(const tg_optim *o, tg_real *small, tg_real *const *bufs, tg__ckpt_entry *e,
                   int *shapes) {
    int n = 0;
    shapes[0] = 4, shapes[1] = o->count, shapes[2] = 4, shapes[3] = (int)o->len;
    e[n++] = (tg__ckpt_entry){"step", 1, &shapes[0], small, small};
    e[n++] = (tg__ckpt_entry){"lr", 1, &shapes[0], small + 4, small + 4};
    e[n++] = (tg__ckpt_entry){"param_step", 2, &shapes[1], small + 8, small + 8};
    for (int b = 0; b < o->nbuf; b++)
        e[n++] = (tg__ckpt_entry){o->buf_name[b], 1, &shapes[3], bufs[b], bufs[b]};
    return n;
}

static bool fits_file(const char *fn, const tg_optim *o) {
    if (o->len <= INT_MAX) return true;
    tg__set_error(TG_ERR_UNSUPPORTED,
                  "%s: a store of %lld elements is too large for a "
                  "checkpoint entry",
                  fn, (long long)o->len);
    return false;
}

TG_API tg_status tg_optim_save(const tg_optim *o, const char *path) {
    const char *fn = "tg_optim_save";
    if (!o || !path)
        return tg__set_error(TG_ERR_NULL, "%s: %s is NULL", fn, o ? "path" : "optimizer");
    if (!fits_file(fn, o)) return TG_ERR_UNSUPPORTED;
    tg_real *small = small_new(o);
    if (!small) return tg__set_error(TG_ERR_NOMEM, "%s: out of memory", fn);
    uint64_t bits;
    memcpy(&bits, &o->lr, sizeof bits);
    put_bits((uint64_t)o->steps, small);
    put_bits(bits, small + 4);
    for (int i = 0; i < o->count; i++) put_bits((uint64_t)o->psteps[i], small + 8 + 4 * i);
    char kind[64];
    snprintf(kind, sizeof kind, "optim:%s", kind_names[o->kind]);
    tg__ckpt_entry e[3 + MAX_BUF];
    int shapes[4];
    const int n = entries(o, small, o->buf, e, shapes);
    const tg_status st = tg__ckpt_save(fn, path, kind, n, e);
    tg__free(small);
    return st;
}

TG_API tg_status tg_optim_load(tg_optim *o, const char *path) {
    const char *fn = "tg_optim_load";
    if (!o || !path)
        return tg__set_error(TG_ERR_NULL, "%s: %s is NULL", fn, o ? "path" : "optimizer");
    if (!fits_file(fn, o)) return TG_ERR_UNSUPPORTED;
    /* everything goes to scratch first: the optimizer changes only once all is valid */
    tg_real *small = small_new(o);
    tg_real *bufs[MAX_BUF] = {NULL, NULL, NULL};
    tg_status st = TG_OK;
    if (!small) goto oom;
    for (int b = 0; b < o->nbuf; b++)
        if (!(bufs[b] = tg__aligned_alloc((size_t)o->len * sizeof(tg_real)))) goto oom;
    char kind[64];
    snprintf(kind, sizeof kind, "optim:%s", kind_names[o->kind]);
    tg__ckpt_entry e[3 + MAX_BUF];
    int shapes[4];
    const int n = entries(o, small, bufs, e, shapes);
    st = tg__ckpt_load(fn, path, kind, n, e);
    if (st != TG_OK) goto done;
    uint64_t steps, lr_bits, ps;
    double lr;
    bool ok = get_bits(small, &steps) && get_bits(small + 4, &lr_bits) && steps <= INT64_MAX;
    memcpy(&lr, &lr_bits, sizeof lr);
    ok = ok && isfinite(lr) && lr >= 0;
    for (int i = 0; ok && i < o->count; i++) ok = get_bits(small + 8 + 4 * i, &ps) && ps <= steps;
    if (!ok) {
        st = tg__set_error(TG_ERR_FORMAT, "%s: %s: bad step or lr entry", fn, path);
        goto done;
    }
    o->steps = (int64_t)steps;
    o->lr = lr;
    for (int i = 0; i < o->count; i++) {
        get_bits(small + 8 + 4 * i, &ps);
        o->psteps[i] = (int64_t)ps;
    }
    for (int b = 0; b < o->nbuf; b++) memcpy(o->buf[b], bufs[b], (size_t)o->len * sizeof(tg_real));
    goto done;
oom:
    st = tg__set_error(TG_ERR_NOMEM, "%s: out of memory", fn);
done:
    for (int b = 0; b < o->nbuf; b++) tg__free(bufs[b]);
    tg__free(small);
    return st;
}
