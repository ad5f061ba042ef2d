/* src/graph/tensor.c: making tensors and reading them. */
#include <math.h>

#include "internal.h"

/* Tensor header and data share one arena allocation; the header is padded so the
 * data that follows stays 64-byte aligned. */
#define TG_HEADER_BYTES ((sizeof(tg_tensor) + 63) & ~(size_t)63)

/* Validates ndim and shape; returns the element count, or -1 after recording why. */
static int64_t checked_numel(tg_graph *g, const char *op, int ndim, const int *shape) {
    char buf[TG_SHAPE_STR];
    if (!g) {
        tg__set_error(TG_ERR_NULL, "%s: graph is NULL", op);
        return -1;
    }
    if (tg__failed(g)) return -1;
    if (ndim < 0 || ndim > TG_MAX_DIMS) {
        tg__fail(g, TG_ERR_SHAPE, "%s: ndim %d is outside 0..%d", op, ndim, TG_MAX_DIMS);
        return -1;
    }
    if (ndim > 0 && !shape) {
        tg__fail(g, TG_ERR_NULL, "%s: shape is NULL for ndim %d", op, ndim);
        return -1;
    }
    int64_t numel = 1;
    const int64_t max_elems = (int64_t)(SIZE_MAX / 4 / sizeof(tg_real));
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0) {
            tg__fail(g, TG_ERR_SHAPE, "%s: negative dimension in shape %s", op,
                     tg__shape_str(ndim, shape, buf));
            return -1;
        }
        if (shape[i] > 0 && numel > max_elems / shape[i]) {
            tg__fail(g, TG_ERR_NOMEM, "%s: element count of shape %s overflows", op,
                     tg__shape_str(ndim, shape, buf));
            return -1;
        }
        numel *= shape[i];
    }
    return numel;
}

/* A tensor header, followed (when with_data) by room for its elements. */
static tg_tensor *make(tg_graph *g, const char *op, int ndim, const int *shape, bool with_data) {
    int64_t numel = checked_numel(g, op, ndim, shape);
    if (numel < 0) return NULL;
    size_t bytes = TG_HEADER_BYTES + (with_data ? (size_t)numel * sizeof(tg_real) : 0);
    char *mem = tg__alloc(g, bytes);
    if (!mem) {
        /* The arena's message cannot say what was being made; the error is ours (the
         * graph was not in error above), so restate it with the op and the shape. */
        char buf[TG_SHAPE_STR];
        g->status = TG_OK;
        tg__fail(g, TG_ERR_NOMEM, "%s: out of memory for a tensor of shape %s (%zu bytes)", op,
                 tg__shape_str(ndim, shape, buf), bytes);
        return NULL;
    }
    tg_tensor *t = (tg_tensor *)mem;
    memset(t, 0, sizeof *t);
    t->data = with_data ? (tg_real *)(mem + TG_HEADER_BYTES) : NULL;
    t->g = g;
    t->numel = numel;
    t->ndim = ndim;
    for (int i = 0; i < ndim; i++) t->shape[i] = shape[i];
    g->ntensors++;
    return t;
}

tg_tensor *tg__tensor_make(tg_graph *g, const char *op, int ndim, const int *shape) {
    return make(g, op, ndim, shape, true);
}

/* A tensor filled with value; op names the public function in errors. */
static tg_tensor *filled(tg_graph *g, const char *op, int ndim, const int *shape,
                         tg_real value) {
    tg_tensor *t = tg__tensor_make(g, op, ndim, shape);
    if (!t) return NULL;
    for (int64_t i = 0; i < t->numel; i++) t->data[i] = value;
    return t;
}

TG_API tg_tensor *tg_tensor_new(tg_graph *g, int ndim, const int *shape) {
    return filled(g, "tg_tensor_new", ndim, shape, 0);
}

TG_API tg_tensor *tg_zeros(tg_graph *g, int ndim, const int *shape) {
    return filled(g, "tg_zeros", ndim, shape, 0);
}

TG_API tg_tensor *tg_ones(tg_graph *g, int ndim, const int *shape) {
    return filled(g, "tg_ones", ndim, shape, 1);
}

TG_API tg_tensor *tg_full(tg_graph *g, int ndim, const int *shape, tg_real value) {
    return filled(g, "tg_full", ndim, shape, value);
}

TG_API tg_tensor *tg_scalar(tg_graph *g, tg_real value) {
    return filled(g, "tg_scalar", 0, NULL, value);
}

TG_API tg_tensor *tg_tensor_from(tg_graph *g, int ndim, const int *shape, const tg_real *data) {
    if (g && !data) {
        tg__fail(g, TG_ERR_NULL, "tg_tensor_from: data is NULL");
        return NULL;
    }
    tg_tensor *t = tg__tensor_make(g, "tg_tensor_from", ndim, shape);
    if (t && t->numel) memcpy(t->data, data, (size_t)t->numel * sizeof(tg_real));
    return t;
}

TG_API tg_tensor *tg_tensor_wrap(tg_graph *g, int ndim, const int *shape, tg_real *data) {
    if (g && !data) {
        tg__fail(g, TG_ERR_NULL, "tg_tensor_wrap: data is NULL");
        return NULL;
    }
    tg_tensor *t = make(g, "tg_tensor_wrap", ndim, shape, false);
    if (!t) return NULL;
    t->data = data;
    t->flags |= TG_T_WRAPPED;
    return t;
}

TG_API tg_tensor *tg_rand(tg_graph *g, int ndim, const int *shape, tg_real lo, tg_real hi) {
    if (g && !tg__failed(g) && !(lo <= hi)) {
        tg__fail(g, TG_ERR_ARG, "tg_rand: lo %g > hi %g", (double)lo, (double)hi);
        return NULL;
    }
    tg_tensor *t = tg__tensor_make(g, "tg_rand", ndim, shape);
    if (!t) return NULL;
    for (int64_t i = 0; i < t->numel; i++)
        t->data[i] = (tg_real)(lo + (hi - lo) * tg_rng_uniform(&g->rng));
    return t;
}

TG_API tg_tensor *tg_randn(tg_graph *g, int ndim, const int *shape, tg_real mean, tg_real std) {
    if (g && !tg__failed(g) && !(std >= 0)) {
        tg__fail(g, TG_ERR_ARG, "tg_randn: std %g is negative", (double)std);
        return NULL;
    }
    tg_tensor *t = tg__tensor_make(g, "tg_randn", ndim, shape);
    if (!t) return NULL;
    for (int64_t i = 0; i < t->numel; i++) t->data[i] = (tg_real)(mean + std * tg_rng_normal(&g->rng));
    return t;
}

/* ---- accessors --------------------------------------------------------------------- */

TG_API void tg_set_requires_grad(tg_tensor *t, bool on) {
    if (!t) return;
    if (on)
        t->flags |= TG_T_REQUIRES_GRAD;
    else if (!t->node)
        t->flags &= ~(unsigned)TG_T_REQUIRES_GRAD;
}

TG_API bool tg_requires_grad(const tg_tensor *t) { return t && tg__needs_grad(t); }
TG_API tg_real *tg_data(tg_tensor *t) { return t ? t->data : NULL; }
TG_API tg_real *tg_grad(tg_tensor *t) { return t ? t->grad : NULL; }

TG_API void tg_zero_grad(tg_tensor *t) {
    if (t && t->grad) memset(t->grad, 0, (size_t)t->numel * sizeof(tg_real));
}

TG_API int tg_ndim(const tg_tensor *t) { return t ? t->ndim : 0; }
TG_API const int *tg_shape(const tg_tensor *t) { return t ? t->shape : NULL; }
TG_API int64_t tg_numel(const tg_tensor *t) { return t ? t->numel : 0; }
TG_API tg_graph *tg_tensor_graph(const tg_tensor *t) { return t ? t->g : NULL; }
TG_API const char *tg_name(const tg_tensor *t) { return t ? t->name : NULL; }
TG_API const char *tg_tensor_op(const tg_tensor *t) {
    return t && t->node ? t->node->op->name : NULL;
}

TG_API tg_real tg_item(const tg_tensor *t) {
    char buf[TG_SHAPE_STR];
    if (!t) {
        tg__set_error(TG_ERR_NULL, "tg_item: tensor is NULL");
        return (tg_real)NAN;
    }
    if (t->numel != 1) {
        tg__fail(t->g, TG_ERR_SHAPE, "tg_item: tensor of shape %s has %lld elements, not 1",
                 TG_SHAPE(t, buf), (long long)t->numel);
        return (tg_real)NAN;
    }
    return t->data[0];
}

TG_API void tg_set_name(tg_tensor *t, const char *name) {
    if (!t) return;
    if (t->flags & TG_T_PERSISTENT) {
        tg__set_error(TG_ERR_STATE, "tg_set_name: '%s' is a parameter, named by its store",
                      t->name ? t->name : "?");
        return;
    }
    if (!name) {
        t->name = NULL;
        return;
    }
    size_t n = strlen(name);
    if (n > 63) n = 63;
    char *s = tg__alloc(t->g, n + 1);
    if (!s) return;
    memcpy(s, name, n);
    s[n] = '\0';
    t->name = s;
}
