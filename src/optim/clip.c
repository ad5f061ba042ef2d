/* src/optim/clip.c: gradient clipping by global norm and by value (torch.nn.utils).
 *
 * Both walk the gradient of each parameter that requires gradients, per parameter
 * range of the flat buffer (frozen parameters are skipped as PyTorch skips grads that
 * are None). The norm is summed in double in a fixed order, so it does not depend on
 * the thread count. */
#include <float.h>
#include <math.h>

#include "../graph/internal.h"

#if TG_PRECISION_DOUBLE
#define REAL_MAX DBL_MAX
#else
#define REAL_MAX FLT_MAX
#endif

/* sum of x[i]^2 in double; eight partial sums let the loop pipeline without
 * reassociating anything the compiler could not reorder itself. */
static double sum_sq(const tg_real *restrict x, int64_t n) {
    double l[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int k = 0; k < 8; k++) l[k] += (double)x[i + k] * (double)x[i + k];
    for (; i < n; i++) l[0] += (double)x[i] * (double)x[i];
    return ((l[0] + l[1]) + (l[2] + l[3])) + ((l[4] + l[5]) + (l[6] + l[7]));
}

TG_API double tg_clip_grad_norm(tg_params *p, double max_norm) {
    if (!p) {
        tg__set_error(TG_ERR_NULL, "tg_clip_grad_norm: store is NULL");
        return -1;
    }
    if (!(max_norm >= 0)) {
        tg__set_error(TG_ERR_ARG, "tg_clip_grad_norm: max_norm must be >= 0, got %g", max_norm);
        return -1;
    }
    const int count = tg_params_count(p);
    double ss = 0;
    for (int i = 0; i < count; i++) {
        tg_tensor *t = tg_params_at(p, i);
        if (tg_requires_grad(t)) ss += sum_sq(tg_grad(t), tg_numel(t));
    }
    const double norm = sqrt(ss);
    if (!isfinite(norm)) return norm; /* NaN or inf: left for the caller to see */
    const double coef = max_norm / (norm + 1e-6);
    if (coef < 1) {
        const tg_real c = (tg_real)coef;
        for (int i = 0; i < count; i++) {
            tg_tensor *t = tg_params_at(p, i);
            if (!tg_requires_grad(t)) continue;
            tg_real *restrict g = tg_grad(t);
            const int64_t n = tg_numel(t);
            for (int64_t k = 0; k < n; k++) g[k] *= c;
        }
    }
    return norm;
}

TG_API void tg_clip_grad_value(tg_params *p, double clip) {
    if (!p) {
        tg__set_error(TG_ERR_NULL, "tg_clip_grad_value: store is NULL");
        return;
    }
    if (!(clip >= 0)) {
        tg__set_error(TG_ERR_ARG, "tg_clip_grad_value: clip must be >= 0, got %g", clip);
        return;
    }
    /* a clip beyond the element type's range clamps nothing, as in PyTorch */
    const tg_real hi = clip > REAL_MAX ? (tg_real)INFINITY : (tg_real)clip, lo = -hi;
    const int count = tg_params_count(p);
    for (int i = 0; i < count; i++) {
        tg_tensor *t = tg_params_at(p, i);
        if (!tg_requires_grad(t)) continue;
        tg_real *restrict g = tg_grad(t);
        const int64_t n = tg_numel(t);
        for (int64_t k = 0; k < n; k++) g[k] = g[k] < lo ? lo : g[k] > hi ? hi : g[k];
    }
}
