/* src/nn/params.c: the parameter store: persistent tensors over two flat buffers.
 *
 * Tensor headers are allocated one by one (their addresses are handles users keep);
 * values and gradients live in two 64-byte aligned buffers that grow by doubling. When
 * they move, every tensor's data and grad pointers are rebased. Each parameter starts
 * on a 16-element boundary; the padding between them holds zeros in both buffers. */
#include <math.h>
#include <stdlib.h>

#include "../graph/internal.h"

#define ALIGN_ELEMS (64 / (int64_t)sizeof(tg_real))
#define MAX_NAME 127

struct tg_params {
    tg_tensor **t;
    char **names;
    int64_t *offset; /* element offset of each parameter in the flat buffers */
    int count, cap;
    tg_real *values, *grads;
    int64_t len, cap_len; /* used and allocated elements of each flat buffer */
    int64_t numel;
    tg_rng rng;
};

TG_API tg_params *tg_params_new(void) {
    tg_params *p = tg__malloc(sizeof *p);
    if (!p) {
        tg__set_error(TG_ERR_NOMEM, "tg_params_new: out of memory");
        return NULL;
    }
    memset(p, 0, sizeof *p);
    tg_rng_seed(&p->rng, 0x5eed);
    return p;
}

TG_API void tg_params_free(tg_params *p) {
    if (!p) return;
    for (int i = 0; i < p->count; i++) {
        tg__free(p->t[i]);
        tg__free(p->names[i]);
    }
    tg__free(p->t);
    tg__free(p->names);
    tg__free(p->offset);
    tg__free(p->values);
    tg__free(p->grads);
    tg__free(p);
}

static tg_real *flat_alloc(int64_t n) {
    size_t bytes = (size_t)n * sizeof(tg_real);
    tg_real *b = tg__aligned_alloc(bytes);
    if (b) memset(b, 0, bytes);
    return b;
}

/* Makes room for n more elements; false (store unchanged) if out of memory. */
static bool grow_flat(tg_params *p, int64_t n) {
    if (p->len + n <= p->cap_len) return true;
    int64_t cap = p->cap_len ? p->cap_len : 4096;
    while (cap < p->len + n) cap *= 2;
    tg_real *v = flat_alloc(cap), *g = flat_alloc(cap);
    if (!v || !g) {
        tg__free(v);
        tg__free(g);
        return false;
    }
    if (p->len) {
        memcpy(v, p->values, (size_t)p->len * sizeof(tg_real));
        memcpy(g, p->grads, (size_t)p->len * sizeof(tg_real));
    }
    tg__free(p->values);
    tg__free(p->grads);
    p->values = v;
    p->grads = g;
    p->cap_len = cap;
    for (int i = 0; i < p->count; i++) {
        p->t[i]->data = v + p->offset[i];
        p->t[i]->grad = g + p->offset[i];
    }
    return true;
}

static bool grow_index(tg_params *p) {
    if (p->count < p->cap) return true;
    int cap = p->cap ? p->cap * 2 : 16;
    tg_tensor **t = tg__realloc(p->t, (size_t)cap * sizeof *t);
    if (!t) return false;
    p->t = t;
    char **names = tg__realloc(p->names, (size_t)cap * sizeof *names);
    if (!names) return false;
    p->names = names;
    int64_t *off = tg__realloc(p->offset, (size_t)cap * sizeof *off);
    if (!off) return false;
    p->offset = off;
    p->cap = cap;
    return true;
}

TG_API tg_tensor *tg_params_add(tg_params *p, const char *name, int ndim, const int *shape) {
    char buf[TG_SHAPE_STR];
    if (!p || !name) {
        tg__set_error(TG_ERR_NULL, "tg_params_add: %s is NULL", p ? "name" : "store");
        return NULL;
    }
    size_t nlen = strlen(name);
    if (nlen == 0 || nlen > MAX_NAME) {
        tg__set_error(TG_ERR_ARG, "tg_params_add: name must be 1..%d bytes, got %zu", MAX_NAME,
                      nlen);
        return NULL;
    }
    if (tg_params_get(p, name)) {
        tg__set_error(TG_ERR_ARG, "tg_params_add: a parameter named '%s' exists already", name);
        return NULL;
    }
    if (ndim < 0 || ndim > TG_MAX_DIMS || (ndim > 0 && !shape)) {
        tg__set_error(ndim > 0 && !shape ? TG_ERR_NULL : TG_ERR_SHAPE,
                      "tg_params_add: '%s': bad shape (ndim %d%s)", name, ndim,
                      ndim > 0 && !shape ? ", shape NULL" : "");
        return NULL;
    }
    int64_t numel = 1;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0 || (shape[i] > 0 && numel > (INT64_MAX / 8) / shape[i])) {
            tg__set_error(TG_ERR_SHAPE, "tg_params_add: '%s': bad shape %s", name,
                          tg__shape_str(ndim, shape, buf));
            return NULL;
        }
        numel *= shape[i];
    }
    const int64_t padded = (numel + ALIGN_ELEMS - 1) / ALIGN_ELEMS * ALIGN_ELEMS;
    tg_tensor *t = tg__malloc(sizeof *t);
    char *copy = tg__malloc(nlen + 1);
    if (!t || !copy || !grow_index(p) || !grow_flat(p, padded)) {
        tg__free(t);
        tg__free(copy);
        tg__set_error(TG_ERR_NOMEM, "tg_params_add: out of memory adding '%s' %s", name,
                      tg__shape_str(ndim, shape, buf));
        return NULL;
    }
    memcpy(copy, name, nlen + 1);
    memset(t, 0, sizeof *t);
    t->ndim = ndim;
    for (int i = 0; i < ndim; i++) t->shape[i] = shape[i];
    t->numel = numel;
    t->flags = TG_T_PERSISTENT | TG_T_REQUIRES_GRAD;
    t->name = copy;
    t->data = p->values + p->len;
    t->grad = p->grads + p->len;
    p->offset[p->count] = p->len;
    p->t[p->count] = t;
    p->names[p->count] = copy;
    p->count++;
    p->len += padded;
    p->numel += numel;
    return t;
}

TG_API tg_tensor *tg_params_get(const tg_params *p, const char *name) {
    if (!p || !name) return NULL;
    for (int i = 0; i < p->count; i++)
        if (strcmp(p->names[i], name) == 0) return p->t[i];
    return NULL;
}

TG_API int tg_params_count(const tg_params *p) { return p ? p->count : 0; }
TG_API tg_tensor *tg_params_at(const tg_params *p, int i) {
    return p && i >= 0 && i < p->count ? p->t[i] : NULL;
}
TG_API const char *tg_params_name(const tg_params *p, int i) {
    return p && i >= 0 && i < p->count ? p->names[i] : NULL;
}
TG_API int64_t tg_params_numel(const tg_params *p) { return p ? p->numel : 0; }
TG_API tg_real *tg_params_values(tg_params *p) { return p ? p->values : NULL; }
TG_API tg_real *tg_params_grads(tg_params *p) { return p ? p->grads : NULL; }
TG_API int64_t tg_params_flat_len(const tg_params *p) { return p ? p->len : 0; }

TG_API void tg_params_zero_grad(tg_params *p) {
    if (p && p->len) memset(p->grads, 0, (size_t)p->len * sizeof(tg_real));
}

TG_API void tg_params_seed(tg_params *p, uint64_t seed) {
    if (p) tg_rng_seed(&p->rng, seed);
}
TG_API tg_rng *tg_params_rng(tg_params *p) { return p ? &p->rng : NULL; }

/* ---- initialisers ------------------------------------------------------------------ */

static const char *const init_names[TG_INIT_COUNT] = {
    [TG_INIT_ZEROS] = "zeros",
    [TG_INIT_CONSTANT] = "constant",
    [TG_INIT_UNIFORM] = "uniform",
    [TG_INIT_NORMAL] = "normal",
    [TG_INIT_XAVIER_UNIFORM] = "xavier_uniform",
    [TG_INIT_XAVIER_NORMAL] = "xavier_normal",
    [TG_INIT_HE_UNIFORM] = "he_uniform",
    [TG_INIT_HE_NORMAL] = "he_normal",
};

TG_API const char *tg_init_name(tg_init kind) {
    return (int)kind >= 0 && kind < TG_INIT_COUNT ? init_names[kind] : "unknown";
}

TG_API tg_status tg_init_tensor(tg_tensor *t, tg_init kind, double a, double b, tg_rng *rng) {
    if (!t) return tg__set_error(TG_ERR_NULL, "tg_init_tensor: tensor is NULL");
    if ((int)kind < 0 || kind >= TG_INIT_COUNT)
        return tg__set_error(TG_ERR_ARG, "tg_init_tensor: unknown initialiser %d", (int)kind);
    const char *name = init_names[kind];
    if (kind != TG_INIT_ZEROS && kind != TG_INIT_CONSTANT && !rng)
        return tg__set_error(TG_ERR_NULL, "tg_init_tensor: %s needs a generator (rng is NULL)",
                             name);
    int64_t fan_in = t->numel, fan_out = t->numel;
    if (t->ndim >= 2) {
        int64_t rf = 1;
        for (int i = 2; i < t->ndim; i++) rf *= t->shape[i];
        fan_in = (int64_t)t->shape[1] * rf;
        fan_out = (int64_t)t->shape[0] * rf;
    }
    const bool fan_based = kind >= TG_INIT_XAVIER_UNIFORM;
    if (fan_based && (t->ndim == 0 || fan_in + fan_out == 0))
        return tg__set_error(TG_ERR_ARG, "tg_init_tensor: %s needs a tensor with fans (ndim >= 1, "
                             "elements > 0)", name);
    const double gain = a == 0 ? 1.0 : a;
    double lo = 0, hi = 0, mean = 0, std = 0;
    bool uniform = true;
    switch (kind) {
    case TG_INIT_ZEROS: lo = hi = 0; break;
    case TG_INIT_CONSTANT: lo = hi = a; break;
    case TG_INIT_UNIFORM:
        if (!(a <= b))
            return tg__set_error(TG_ERR_ARG, "tg_init_tensor: uniform needs a <= b, got %g, %g", a,
                                 b);
        lo = a, hi = b;
        break;
    case TG_INIT_NORMAL:
        if (!(b >= 0))
            return tg__set_error(TG_ERR_ARG, "tg_init_tensor: normal std %g is negative", b);
        uniform = false, mean = a, std = b;
        break;
    case TG_INIT_XAVIER_UNIFORM:
        hi = gain * sqrt(6.0 / (double)(fan_in + fan_out)), lo = -hi;
        break;
    case TG_INIT_XAVIER_NORMAL:
        uniform = false, std = gain * sqrt(2.0 / (double)(fan_in + fan_out));
        break;
    case TG_INIT_HE_UNIFORM:
        if (fan_in == 0) return tg__set_error(TG_ERR_ARG, "tg_init_tensor: %s: fan_in is 0", name);
        hi = sqrt(6.0 / (double)fan_in), lo = -hi;
        break;
    case TG_INIT_HE_NORMAL:
        if (fan_in == 0) return tg__set_error(TG_ERR_ARG, "tg_init_tensor: %s: fan_in is 0", name);
        uniform = false, std = sqrt(2.0 / (double)fan_in);
        break;
    default: break;
    }
    for (int64_t i = 0; i < t->numel; i++) {
        double v = kind <= TG_INIT_CONSTANT ? lo
                   : uniform                ? lo + (hi - lo) * tg_rng_uniform(rng)
                                            : mean + std * tg_rng_normal(rng);
        t->data[i] = (tg_real)v;
    }
    return TG_OK;
}
