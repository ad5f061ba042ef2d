/* src/optim/sched.c: learning-rate schedules, PyTorch 1.13's lr_scheduler step for step.
 *
 * PyTorch's schedulers are chainable: each step computes the new lr from the current
 * one (StepLR multiplies it by gamma every step_size epochs), not from a closed form, so
 * a user who also sets the lr by hand sees the same thing as in PyTorch, and the
 * sequence matches PyTorch's to the last bit. Only through the public optimizer API. */
#include <math.h>

#include "../graph/internal.h"

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

/* ReduceLROnPlateau ignores a reduction smaller than this (its eps). */
#define PLATEAU_EPS 1e-8

typedef enum { S_STEP, S_EXP, S_COSINE, S_WARMUP, S_PLATEAU } skind;

struct tg_sched {
    skind kind;
    tg_optim *o;
    int64_t epoch;  /* PyTorch's last_epoch: 0 after construction */
    double base_lr; /* the optimizer's lr when the schedule was made (initial_lr) */
    double last_lr;
    bool owned;  /* belongs to a warm-up (its follow-up) */
    int n;       /* step_size, t_max, warmup steps or patience */
    double a, b; /* gamma; eta_min; start_factor; factor and min_lr */
    tg_sched *after;
    /* plateau */
    double threshold, best;
    int cooldown, cooldown_counter, bad_epochs;
};

static tg_sched *sched_make(const char *fn, skind kind, tg_optim *o) {
    if (!o) {
        tg__set_error(TG_ERR_NULL, "%s: optimizer is NULL", fn);
        return NULL;
    }
    tg_sched *s = tg__malloc(sizeof *s);
    if (!s) {
        tg__set_error(TG_ERR_NOMEM, "%s: out of memory", fn);
        return NULL;
    }
    memset(s, 0, sizeof *s);
    s->kind = kind;
    s->o = o;
    s->base_lr = s->last_lr = tg_optim_lr(o);
    return s;
}

/* Sets the error for an argument out of range; returns NULL for the constructor. */
static tg_sched *bad_arg(const char *fn, const char *what, double v) {
    tg__set_error(TG_ERR_ARG, "%s: %s out of range: %g", fn, what, v);
    return NULL;
}

TG_API tg_sched *tg_sched_step_new(tg_optim *o, int step_size, double gamma) {
    const char *fn = "tg_sched_step_new";
    if (step_size < 1) return bad_arg(fn, "step_size (must be >= 1)", step_size);
    if (!(isfinite(gamma) && gamma >= 0))
        return bad_arg(fn, "gamma (must be finite and >= 0)", gamma);
    tg_sched *s = sched_make(fn, S_STEP, o);
    if (s) s->n = step_size, s->a = gamma;
    return s;
}

TG_API tg_sched *tg_sched_exponential_new(tg_optim *o, double gamma) {
    const char *fn = "tg_sched_exponential_new";
    if (!(isfinite(gamma) && gamma >= 0))
        return bad_arg(fn, "gamma (must be finite and >= 0)", gamma);
    tg_sched *s = sched_make(fn, S_EXP, o);
    if (s) s->a = gamma;
    return s;
}

TG_API tg_sched *tg_sched_cosine_new(tg_optim *o, int t_max, double eta_min) {
    const char *fn = "tg_sched_cosine_new";
    if (t_max < 1) return bad_arg(fn, "t_max (must be >= 1)", t_max);
    if (!(isfinite(eta_min) && eta_min >= 0))
        return bad_arg(fn, "eta_min (must be finite and >= 0)", eta_min);
    tg_sched *s = sched_make(fn, S_COSINE, o);
    if (s) s->n = t_max, s->a = eta_min;
    return s;
}

TG_API tg_sched *tg_sched_plateau_new(tg_optim *o, double factor, int patience, double threshold,
                                      int cooldown, double min_lr) {
    const char *fn = "tg_sched_plateau_new";
    if (!(factor >= 0 && factor < 1)) return bad_arg(fn, "factor (must be in [0, 1))", factor);
    if (patience < 0) return bad_arg(fn, "patience (must be >= 0)", patience);
    if (!(isfinite(threshold) && threshold >= 0))
        return bad_arg(fn, "threshold (must be finite and >= 0)", threshold);
    if (cooldown < 0) return bad_arg(fn, "cooldown (must be >= 0)", cooldown);
    if (!(isfinite(min_lr) && min_lr >= 0))
        return bad_arg(fn, "min_lr (must be finite and >= 0)", min_lr);
    tg_sched *s = sched_make(fn, S_PLATEAU, o);
    if (!s) return NULL;
    s->a = factor, s->n = patience, s->threshold = threshold, s->cooldown = cooldown;
    s->b = min_lr;
    s->best = INFINITY;
    return s;
}

TG_API tg_sched *tg_sched_warmup_new(tg_optim *o, int warmup_steps, double start_factor,
                                     tg_sched *after) {
    const char *fn = "tg_sched_warmup_new";
    if (after && after->owned) { /* someone else's: not ours to free */
        tg__set_error(TG_ERR_ARG, "%s: the follow-up schedule already belongs to a warm-up", fn);
        return NULL;
    }
    tg_sched *s = NULL;
    if (warmup_steps < 1)
        bad_arg(fn, "warmup_steps (must be >= 1)", warmup_steps);
    else if (!(start_factor > 0 && start_factor <= 1))
        bad_arg(fn, "start_factor (must be in (0, 1])", start_factor);
    else if (o && after && after->o != o)
        tg__set_error(TG_ERR_ARG, "%s: the follow-up schedule drives another optimizer", fn);
    else
        s = sched_make(fn, S_WARMUP, o);
    if (!s) {
        tg_sched_free(after); /* ownership passed to us, even on failure */
        return NULL;
    }
    s->n = warmup_steps, s->a = start_factor;
    if (after) {
        /* SequentialLR: back to the initial lr, then LinearLR's epoch 0 */
        s->after = after;
        after->owned = true;
        s->base_lr = after->base_lr;
    }
    s->last_lr = s->base_lr * start_factor;
    tg_optim_set_lr(o, s->last_lr);
    return s;
}

TG_API void tg_sched_free(tg_sched *s) {
    while (s) {
        tg_sched *next = s->after;
        tg__free(s);
        s = next;
    }
}

/* ---- stepping ------------------------------------------------------------------------------ */

/* One epoch of a schedule that is not a plateau and not a warm-up hand-over: PyTorch's
 * get_lr() for last_epoch = s->epoch (already advanced), from the current lr. */
static double chained_lr(const tg_sched *s, double lr) {
    const int64_t e = s->epoch;
    switch (s->kind) {
    case S_STEP:
        return e == 0 || e % s->n != 0 ? lr : lr * s->a;
    case S_EXP:
        return e == 0 ? lr : lr * s->a;
    case S_COSINE: {
        const double eta = s->a, t = s->n;
        if (e == 0) return lr;
        if ((e - 1 - s->n) % (2 * (int64_t)s->n) == 0)
            return lr + (s->base_lr - eta) * (1 - cos(M_PI / t)) / 2;
        return (1 + cos(M_PI * (double)e / t)) / (1 + cos(M_PI * (double)(e - 1) / t)) *
                   (lr - eta) +
               eta;
    }
    case S_WARMUP: { /* LinearLR, end_factor 1, total_iters n */
        const double sf = s->a;
        if (e == 0) return lr * sf;
        if (e > s->n) return lr;
        return lr * (1. + (1 - sf) / (s->n * sf + (double)(e - 1) * (1 - sf)));
    }
    default:
        return lr;
    }
}

/* ReduceLROnPlateau.step(metric). */
static void plateau_step(tg_sched *s, double metric) {
    s->epoch++;
    if (metric < s->best * (1 - s->threshold)) {
        s->best = metric;
        s->bad_epochs = 0;
    } else {
        s->bad_epochs++;
    }
    if (s->cooldown_counter > 0) {
        s->cooldown_counter--;
        s->bad_epochs = 0; /* bad epochs in cooldown are ignored */
    }
    if (s->bad_epochs > s->n) {
        const double old = tg_optim_lr(s->o);
        const double lr = fmax(old * s->a, s->b);
        if (old - lr > PLATEAU_EPS) tg_optim_set_lr(s->o, lr);
        s->cooldown_counter = s->cooldown;
        s->bad_epochs = 0;
    }
}

/* The schedule's state right after it was made (the follow-up of a warm-up restarts at
 * its epoch 0 when the warm-up ends; SequentialLR's scheduler.step(0)). */
static void restart(tg_sched *s) {
    s->epoch = 0;
    s->best = INFINITY;
    s->bad_epochs = s->cooldown_counter = 0;
}

static void step(tg_sched *s, bool has_metric, double metric) {
    if (!s) return;
    if (s->kind == S_PLATEAU) {
        if (!has_metric) {
            tg__set_error(TG_ERR_STATE, "tg_sched_step: a plateau schedule needs a metric: "
                                        "call tg_sched_step_metric");
            return;
        }
        plateau_step(s, metric);
    } else if (s->kind == S_WARMUP && s->after && s->epoch + 1 >= s->n) {
        /* SequentialLR past its milestone: the follow-up's turn */
        if (++s->epoch == s->n) {
            tg_sched *a = s->after;
            restart(a);
            /* its closed form at epoch 0: the base lr (times start_factor for a warm-up) */
            a->last_lr = a->kind == S_WARMUP ? a->base_lr * a->a : a->base_lr;
            tg_optim_set_lr(s->o, a->last_lr);
        } else {
            step(s->after, has_metric, metric);
        }
    } else {
        s->epoch++;
        tg_optim_set_lr(s->o, chained_lr(s, tg_optim_lr(s->o)));
    }
    s->last_lr = tg_optim_lr(s->o);
}

TG_API void tg_sched_step(tg_sched *s) { step(s, false, 0); }
TG_API void tg_sched_step_metric(tg_sched *s, double metric) { step(s, true, metric); }
TG_API double tg_sched_lr(const tg_sched *s) { return s ? s->last_lr : 0; }
