/* src/nn/loss.c: losses composed from existing ops, and weight penalties.
 *
 * Nothing here computes a gradient: each loss is a short chain of ops whose rules do
 * that. The fused losses (bce, bce_with_logits, cross_entropy, nll) are ops of their
 * own in src/ops/loss.c, which also holds the checks and the reduction shared here. */
#include <math.h>

#include "../ops/ops.h"

/* ---- mse: (p - t)^2 ------------------------------------------------------------------ */
TG_API tg_tensor *tg_mse_loss(tg_graph *g, tg_tensor *pred, tg_tensor *target, tg_reduction r) {
    if (!tg__loss_check(g, "mse_loss", pred, target, r)) return NULL;
    tg_tensor *d = tg_sub(g, pred, target);
    return tg__loss_reduce(g, tg_mul(g, d, d), r);
}

/* ---- l1: |p - t| ---------------------------------------------------------------------- */
TG_API tg_tensor *tg_l1_loss(tg_graph *g, tg_tensor *pred, tg_tensor *target, tg_reduction r) {
    if (!tg__loss_check(g, "l1_loss", pred, target, r)) return NULL;
    return tg__loss_reduce(g, tg_abs(g, tg_sub(g, pred, target)), r);
}

/* ---- huber: with a = |p - t| and c = min(a, delta):  0.5 c^2 + delta (a - c)
 * which is 0.5 a^2 below delta and delta (a - 0.5 delta) above; its gradient
 * (c clamp' + delta (1 - clamp')) sign(d) is d below delta and delta sign(d) above. */
TG_API tg_tensor *tg_huber_loss(tg_graph *g, tg_tensor *pred, tg_tensor *target, tg_real delta,
                                tg_reduction r) {
    if (!tg__loss_check(g, "huber_loss", pred, target, r)) return NULL;
    if (!(delta > 0) || !isfinite(delta)) {
        tg__fail(g, TG_ERR_ARG, "huber_loss: delta %g must be positive and finite", (double)delta);
        return NULL;
    }
    tg_tensor *a = tg_abs(g, tg_sub(g, pred, target));
    tg_tensor *c = tg_clamp(g, a, 0, delta);
    tg_tensor *quad = tg_mul(g, tg_scalar(g, (tg_real)0.5), tg_mul(g, c, c));
    tg_tensor *lin = tg_mul(g, tg_scalar(g, delta), tg_sub(g, a, c));
    return tg__loss_reduce(g, tg_add(g, quad, lin), r);
}

/* ---- hinge: max(0, 1 - t s), t in {-1, +1} ---------------------------------------------- */
TG_API tg_tensor *tg_hinge_loss(tg_graph *g, tg_tensor *scores, tg_tensor *target, tg_reduction r) {
    if (!tg__loss_check(g, "hinge_loss", scores, target, r)) return NULL;
    for (int64_t i = 0; i < target->numel; i++) {
        const tg_real v = target->data[i];
        if (v != 1 && v != -1) {
            tg__fail(g, TG_ERR_ARG, "hinge_loss: target[%lld] = %g is not -1 or +1", (long long)i,
                     (double)v);
            return NULL;
        }
    }
    tg_tensor *margin = tg_sub(g, tg_scalar(g, 1), tg_mul(g, target, scores));
    return tg__loss_reduce(g, tg_relu(g, margin), r);
}

/* ---- penalties: lambda sum_params sum f(w) --------------------------------------------- */
typedef enum { PEN_L1, PEN_L2 } penalty_kind;

static tg_tensor *penalty(tg_graph *g, tg_params *p, tg_real lambda, penalty_kind k) {
    const char *name = k == PEN_L1 ? "l1_penalty" : "l2_penalty";
    if (!g) {
        tg__set_error(TG_ERR_NULL, "%s: graph is NULL", name);
        return NULL;
    }
    if (tg__failed(g)) return NULL;
    if (!p) {
        tg__fail(g, TG_ERR_NULL, "%s: params is NULL", name);
        return NULL;
    }
    if (!(lambda >= 0) || !isfinite(lambda)) {
        tg__fail(g, TG_ERR_ARG, "%s: lambda %g must be finite and >= 0", name, (double)lambda);
        return NULL;
    }
    tg_tensor *total = NULL;
    for (int i = 0; i < tg_params_count(p); i++) {
        tg_tensor *w = tg_params_at(p, i);
        /* Frozen parameters (batch norm's running statistics) are not weights to shrink:
         * a penalty on them is a constant with no gradient. */
        if (!tg_requires_grad(w)) continue;
        tg_tensor *f = k == PEN_L1 ? tg_abs(g, w) : tg_mul(g, w, w);
        tg_tensor *s = tg_sum(g, f, TG_ALL, false);
        total = total ? tg_add(g, total, s) : s;
    }
    if (!total) return tg_scalar(g, 0);
    return tg_mul(g, tg_scalar(g, lambda), total);
}

TG_API tg_tensor *tg_l1_penalty(tg_graph *g, tg_params *p, tg_real lambda) {
    return penalty(g, p, lambda, PEN_L1);
}

TG_API tg_tensor *tg_l2_penalty(tg_graph *g, tg_params *p, tg_real lambda) {
    return penalty(g, p, lambda, PEN_L2);
}
