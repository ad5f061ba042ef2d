/* src/nn/conv_layers.c: conv2d, batch-norm, layer-norm, embedding and pooling layers,
 * and their sequential entries.
 *
 * Like layers.c, everything here is composition: each forward is one op (tg_conv2d,
 * tg_batch_norm, tg_layer_norm, tg_embedding, the poolings) with the layer's tensors,
 * after a shape check that names the layer. Building checks every argument and every
 * parameter name before adding anything, so a failed init leaves the store unchanged.
 * Batch norm's running statistics are parameters frozen with
 * tg_set_requires_grad(t, false): checkpoints save them with the rest, while
 * optimizers and gradient clipping skip them. */
#include <math.h>

#include "layers.h"

#define MAX_PARAM_NAME 127 /* tg_params_add's limit */
#define MAX_SUFFIX     14  /* ".running_mean" and a NUL */

/* ---- building helpers --------------------------------------------------------------- */

/* Re-raises the last error with the layer's kind and name in front (the message is
 * copied first: it lives in the buffer tg__set_error writes). */
static tg_status layer_error(tg_status st, const char *kind, const char *prefix) {
    char msg[512];
    snprintf(msg, sizeof msg, "%s", tg_last_error() ? tg_last_error() : tg_status_str(st));
    return tg__set_error(st, "%s '%s': %s", kind, prefix, msg);
}

/* Fills names[i] with "<prefix><suffix[i]>" for the n suffixes and checks that each
 * fits and is not in the store yet. fn names the caller for a bad prefix. */
static tg_status make_names(tg_params *p, const char *fn, const char *kind, const char *prefix,
                            int n, const char *const *suffix, char names[][MAX_PARAM_NAME + 1]) {
    for (int i = 0; i < n; i++) {
        int len = snprintf(names[i], MAX_PARAM_NAME + 1, "%s%s", prefix, suffix[i]);
        if (!prefix[0] || len <= 0 || len > MAX_PARAM_NAME)
            return tg__set_error(TG_ERR_ARG, "%s: the prefix must be 1 to %d bytes, got %zu", fn,
                                 MAX_PARAM_NAME - (MAX_SUFFIX - 1), strlen(prefix));
    }
    for (int i = 0; i < n; i++)
        if (tg_params_get(p, names[i]))
            return tg__set_error(TG_ERR_ARG, "%s '%s': the store has a parameter '%s' already",
                                 kind, prefix, names[i]);
    return TG_OK;
}

/* Adds parameter name [ndim, shape], or returns NULL with the error set. */
static tg_tensor *add(tg_params *p, const char *name, int ndim, const int *shape) {
    return tg_params_add(p, name, ndim, shape);
}

/* The layer's name for messages: t's name without its suffix (".weight"). */
static void label(const tg_tensor *t, const char *suffix, char *buf, size_t n) {
    const char *w = t ? tg_name(t) : NULL;
    if (!w) {
        snprintf(buf, n, "(unnamed)");
        return;
    }
    size_t len = strlen(w), sl = strlen(suffix);
    if (len > sl && strcmp(w + len - sl, suffix) == 0) len -= sl;
    snprintf(buf, n, "%.*s", (int)len, w);
}

/* ---- conv2d ----------------------------------------------------------------------------- */

TG_API tg_status tg_conv2d_layer_init(tg_conv2d_layer *l, tg_params *p, const char *prefix, int in,
                                      int out, int kh, int kw, const tg_conv2d_layer_opts *opts) {
    if (!l) return tg__set_error(TG_ERR_NULL, "tg_conv2d_layer_init: layer is NULL");
    memset(l, 0, sizeof *l);
    if (!p || !prefix)
        return tg__set_error(TG_ERR_NULL, "tg_conv2d_layer_init: %s is NULL",
                             p ? "prefix" : "parameter store");
    static const tg_conv2d_layer_opts defaults = {0};
    const tg_conv2d_layer_opts *o = opts ? opts : &defaults;
    const tg_conv_opts *c = &o->conv;
    if (in < 1 || out < 1 || kh < 1 || kw < 1)
        return tg__set_error(TG_ERR_ARG,
                             "conv2d layer '%s': channels and kernel sizes must be >= 1, got "
                             "%d -> %d, %dx%d",
                             prefix, in, out, kh, kw);
    for (int i = 0; i < 2; i++)
        if (c->stride[i] < 0 || c->padding[i] < 0 || c->dilation[i] < 0)
            return tg__set_error(TG_ERR_ARG,
                                 "conv2d layer '%s': stride, padding and dilation must be >= 0 "
                                 "(0 = default)",
                                 prefix);
    const int groups = c->groups ? c->groups : 1;
    if (groups < 1 || in % groups || out % groups)
        return tg__set_error(TG_ERR_ARG,
                             "conv2d layer '%s': groups %d must be >= 1 and divide the %d input "
                             "and %d output channels",
                             prefix, c->groups, in, out);
    static const char *const suffix[2] = {".weight", ".bias"};
    char names[2][MAX_PARAM_NAME + 1];
    tg_status st = make_names(p, "tg_conv2d_layer_init", "conv2d layer", prefix, o->no_bias ? 1 : 2,
                              suffix, names);
    if (st != TG_OK) return st;

    tg_conv2d_layer t = {.in = in, .out = out, .kernel = {kh, kw}, .conv = *c};
    t.weight = add(p, names[0], 4, (int[]){out, in / groups, kh, kw});
    if (!t.weight) return layer_error(TG_ERR_NOMEM, "conv2d layer", prefix);
    if (!o->no_bias && !(t.bias = add(p, names[1], 1, (int[]){out})))
        return layer_error(TG_ERR_NOMEM, "conv2d layer", prefix);
    /* PyTorch's reset_parameters: kaiming_uniform_(a = sqrt(5)) gives the bound
     * gain sqrt(3 / fan_in) with gain sqrt(2 / (1 + 5)), i.e. 1 / sqrt(fan_in); the bias
     * takes the same bound. (Initialise after both exist: adding may move the flat
     * buffers.) */
    const double r = 1.0 / sqrt((double)(in / groups) * kh * kw);
    tg_rng *rng = tg_params_rng(p);
    st = tg_init_tensor(t.weight, TG_INIT_UNIFORM, -r, r, rng);
    if (st == TG_OK && t.bias) st = tg_init_tensor(t.bias, TG_INIT_UNIFORM, -r, r, rng);
    if (st != TG_OK) return layer_error(st, "conv2d layer", prefix);
    *l = t;
    return TG_OK;
}

TG_API tg_tensor *tg_conv2d_layer_forward(tg_graph *g, const tg_conv2d_layer *l, tg_tensor *x) {
    if (!TG_BEGIN(g, "conv2d layer", x)) return NULL;
    if (!l || !l->weight) {
        tg__fail(g, TG_ERR_NULL, "conv2d layer: %s",
                 l ? "not initialised (weight is NULL)" : "layer is NULL");
        return NULL;
    }
    if (x->ndim != 4 || x->shape[1] != l->in) {
        char name[MAX_PARAM_NAME + 1], buf[TG_SHAPE_STR];
        label(l->weight, ".weight", name, sizeof name);
        tg__fail(g, TG_ERR_SHAPE,
                 "conv2d layer '%s': input %s should be [N,%d,H,W] (layer %d -> %d channels, "
                 "%dx%d)",
                 name, TG_SHAPE(x, buf), l->in, l->in, l->out, l->kernel[0], l->kernel[1]);
        return NULL;
    }
    return tg_conv2d(g, x, l->weight, l->bias, &l->conv);
}

/* ---- batch norm ------------------------------------------------------------------------- */

TG_API tg_status tg_batch_norm_layer_init(tg_batch_norm_layer *l, tg_params *p, const char *prefix,
                                          int features, const tg_batch_norm_opts *opts) {
    if (!l) return tg__set_error(TG_ERR_NULL, "tg_batch_norm_layer_init: layer is NULL");
    memset(l, 0, sizeof *l);
    if (!p || !prefix)
        return tg__set_error(TG_ERR_NULL, "tg_batch_norm_layer_init: %s is NULL",
                             p ? "prefix" : "parameter store");
    static const tg_batch_norm_opts defaults = {0};
    const tg_batch_norm_opts *o = opts ? opts : &defaults;
    if (features < 1)
        return tg__set_error(TG_ERR_ARG, "batch norm layer '%s': features must be >= 1, got %d",
                             prefix, features);
    if (!(o->momentum >= 0 && o->momentum <= 1) || !(o->eps >= 0 && isfinite(o->eps)))
        return tg__set_error(TG_ERR_ARG,
                             "batch norm layer '%s': momentum %g must lie in [0, 1] and eps %g be "
                             "finite and >= 0",
                             prefix, o->momentum, o->eps);
    /* the statistics first in the names, the affine pair last: no_affine drops those */
    static const char *const suffix[4] = {".running_mean", ".running_var", ".weight", ".bias"};
    char names[4][MAX_PARAM_NAME + 1];
    const int n = o->no_affine ? 2 : 4;
    tg_status st =
        make_names(p, "tg_batch_norm_layer_init", "batch norm layer", prefix, n, suffix, names);
    if (st != TG_OK) return st;

    tg_batch_norm_layer t = {.features = features,
                             .momentum = o->momentum > 0 ? o->momentum : 0.1,
                             .eps = o->eps > 0 ? o->eps : 1e-5};
    const int shape[1] = {features};
    /* Added in PyTorch's state_dict order: weight, bias, running_mean, running_var. */
    if (!o->no_affine) {
        if (!(t.weight = add(p, names[2], 1, shape)) || !(t.bias = add(p, names[3], 1, shape)))
            return layer_error(TG_ERR_NOMEM, "batch norm layer", prefix);
    }
    if (!(t.running_mean = add(p, names[0], 1, shape)) ||
        !(t.running_var = add(p, names[1], 1, shape)))
        return layer_error(TG_ERR_NOMEM, "batch norm layer", prefix);
    tg_set_requires_grad(t.running_mean, false);
    tg_set_requires_grad(t.running_var, false);
    /* new parameters are zeros: only the ones need writing */
    st = tg_init_tensor(t.running_var, TG_INIT_CONSTANT, 1, 0, NULL);
    if (st == TG_OK && t.weight) st = tg_init_tensor(t.weight, TG_INIT_CONSTANT, 1, 0, NULL);
    if (st != TG_OK) return layer_error(st, "batch norm layer", prefix);
    *l = t;
    return TG_OK;
}

/* The batch-norm layer's name for messages. */
static void bn_label(const tg_batch_norm_layer *l, char *buf, size_t n) {
    if (l->weight)
        label(l->weight, ".weight", buf, n);
    else
        label(l->running_mean, ".running_mean", buf, n);
}

TG_API tg_tensor *tg_batch_norm_layer_forward(tg_graph *g, const tg_batch_norm_layer *l,
                                              tg_tensor *x) {
    if (!TG_BEGIN(g, "batch norm layer", x)) return NULL;
    if (!l || l->features < 1) {
        tg__fail(g, TG_ERR_NULL, "batch norm layer: %s",
                 l ? "not initialised (no features)" : "layer is NULL");
        return NULL;
    }
    if (x->ndim < 2 || x->shape[1] != l->features) {
        char name[MAX_PARAM_NAME + 1], buf[TG_SHAPE_STR];
        bn_label(l, name, sizeof name);
        tg__fail(g, TG_ERR_SHAPE, "batch norm layer '%s': input %s should be [N,%d,...]", name,
                 TG_SHAPE(x, buf), l->features);
        return NULL;
    }
    return tg_batch_norm(g, x, l->weight, l->bias, l->running_mean, l->running_var,
                         (tg_real)l->momentum, (tg_real)l->eps);
}

/* ---- layer norm --------------------------------------------------------------------------- */

TG_API tg_status tg_layer_norm_layer_init(tg_layer_norm_layer *l, tg_params *p, const char *prefix,
                                          int ndim, const int *shape,
                                          const tg_layer_norm_opts *opts) {
    if (!l) return tg__set_error(TG_ERR_NULL, "tg_layer_norm_layer_init: layer is NULL");
    memset(l, 0, sizeof *l);
    if (!p || !prefix || !shape)
        return tg__set_error(TG_ERR_NULL, "tg_layer_norm_layer_init: %s is NULL",
                             !p        ? "parameter store"
                             : !prefix ? "prefix"
                                       : "shape");
    static const tg_layer_norm_opts defaults = {0};
    const tg_layer_norm_opts *o = opts ? opts : &defaults;
    if (ndim < 1 || ndim > TG_MAX_DIMS)
        return tg__set_error(TG_ERR_ARG, "layer norm layer '%s': ndim %d is outside 1..%d", prefix,
                             ndim, TG_MAX_DIMS);
    for (int i = 0; i < ndim; i++)
        if (shape[i] < 1)
            return tg__set_error(TG_ERR_ARG,
                                 "layer norm layer '%s': shape[%d] is %d; sizes must "
                                 "be >= 1",
                                 prefix, i, shape[i]);
    if (!(o->eps >= 0 && isfinite(o->eps)))
        return tg__set_error(TG_ERR_ARG, "layer norm layer '%s': eps %g must be finite and >= 0",
                             prefix, o->eps);
    static const char *const suffix[2] = {".weight", ".bias"};
    char names[2][MAX_PARAM_NAME + 1];
    tg_status st = make_names(p, "tg_layer_norm_layer_init", "layer norm layer", prefix,
                              o->no_affine ? 0 : 2, suffix, names);
    if (st != TG_OK) return st;
    if (o->no_affine && !prefix[0])
        return tg__set_error(TG_ERR_ARG, "tg_layer_norm_layer_init: the prefix is empty");

    tg_layer_norm_layer t = {.ndim = ndim, .eps = o->eps > 0 ? o->eps : 1e-5};
    memcpy(t.shape, shape, (size_t)ndim * sizeof *shape);
    if (!o->no_affine) {
        if (!(t.weight = add(p, names[0], ndim, shape)) ||
            !(t.bias = add(p, names[1], ndim, shape)))
            return layer_error(TG_ERR_NOMEM, "layer norm layer", prefix);
        st = tg_init_tensor(t.weight, TG_INIT_CONSTANT, 1, 0, NULL);
        if (st != TG_OK) return layer_error(st, "layer norm layer", prefix);
    }
    *l = t;
    return TG_OK;
}

TG_API tg_tensor *tg_layer_norm_layer_forward(tg_graph *g, const tg_layer_norm_layer *l,
                                              tg_tensor *x) {
    if (!TG_BEGIN(g, "layer norm layer", x)) return NULL;
    if (!l || l->ndim < 1 || l->ndim > TG_MAX_DIMS) {
        tg__fail(g, TG_ERR_NULL, "layer norm layer: %s",
                 l ? "not initialised (ndim is 0)" : "layer is NULL");
        return NULL;
    }
    bool ok = x->ndim >= l->ndim;
    for (int i = 0; ok && i < l->ndim; i++) ok = x->shape[x->ndim - l->ndim + i] == l->shape[i];
    if (!ok) {
        char name[MAX_PARAM_NAME + 1], buf[TG_SHAPE_STR], want[TG_SHAPE_STR];
        label(l->weight, ".weight", name, sizeof name);
        tg__fail(g, TG_ERR_SHAPE, "layer norm layer '%s': input %s should end with %s", name,
                 TG_SHAPE(x, buf), tg__shape_str(l->ndim, l->shape, want));
        return NULL;
    }
    return tg_layer_norm(g, x, l->ndim, l->weight, l->bias, (tg_real)l->eps);
}

/* ---- embedding ---------------------------------------------------------------------------- */

TG_API tg_status tg_embedding_layer_init(tg_embedding_layer *l, tg_params *p, const char *prefix,
                                         int num, int dim) {
    if (!l) return tg__set_error(TG_ERR_NULL, "tg_embedding_layer_init: layer is NULL");
    memset(l, 0, sizeof *l);
    if (!p || !prefix)
        return tg__set_error(TG_ERR_NULL, "tg_embedding_layer_init: %s is NULL",
                             p ? "prefix" : "parameter store");
    if (num < 1 || dim < 1)
        return tg__set_error(TG_ERR_ARG,
                             "embedding layer '%s': num and dim must be >= 1, got %d, %d", prefix,
                             num, dim);
    static const char *const suffix[1] = {".weight"};
    char names[1][MAX_PARAM_NAME + 1];
    tg_status st =
        make_names(p, "tg_embedding_layer_init", "embedding layer", prefix, 1, suffix, names);
    if (st != TG_OK) return st;
    tg_embedding_layer t = {.num = num, .dim = dim};
    if (!(t.weight = add(p, names[0], 2, (int[]){num, dim})))
        return layer_error(TG_ERR_NOMEM, "embedding layer", prefix);
    st = tg_init_tensor(t.weight, TG_INIT_NORMAL, 0, 1, tg_params_rng(p));
    if (st != TG_OK) return layer_error(st, "embedding layer", prefix);
    *l = t;
    return TG_OK;
}

TG_API tg_tensor *tg_embedding_layer_forward(tg_graph *g, const tg_embedding_layer *l,
                                             const int32_t *indices, int ndim, const int *shape) {
    if (!g) {
        tg__set_error(TG_ERR_NULL, "embedding layer: graph is NULL");
        return NULL;
    }
    if (tg__failed(g)) return NULL;
    if (!l || !l->weight) {
        tg__fail(g, TG_ERR_NULL, "embedding layer: %s",
                 l ? "not initialised (weight is NULL)" : "layer is NULL");
        return NULL;
    }
    return tg_embedding(g, l->weight, indices, ndim, shape);
}

/* ---- pooling ------------------------------------------------------------------------------ */

static bool pool_kind_ok(tg_pool_kind k) { return (int)k >= 0 && k < TG_POOL_COUNT; }

TG_API tg_tensor *tg_pool2d_layer_forward(tg_graph *g, const tg_pool2d_layer *l, tg_tensor *x) {
    if (!TG_BEGIN(g, "pool2d layer", x)) return NULL;
    if (!l) {
        tg__fail(g, TG_ERR_NULL, "pool2d layer: layer is NULL");
        return NULL;
    }
    switch (l->kind) {
    case TG_POOL_MAX:
        return tg_max_pool2d(g, x, &l->opts);
    case TG_POOL_AVG:
        return tg_avg_pool2d(g, x, &l->opts);
    case TG_POOL_GLOBAL_AVG:
        return tg_global_avg_pool2d(g, x);
    default:
        break;
    }
    tg__fail(g, TG_ERR_ARG, "pool2d layer: unknown kind %d", (int)l->kind);
    return NULL;
}

/* ---- sequential entries ---------------------------------------------------------------------- */

static tg_tensor *conv2d_fn(tg_graph *g, void *layer, tg_tensor *x) {
    return tg_conv2d_layer_forward(g, layer, x);
}
static tg_tensor *batch_norm_fn(tg_graph *g, void *layer, tg_tensor *x) {
    return tg_batch_norm_layer_forward(g, layer, x);
}
static tg_tensor *layer_norm_fn(tg_graph *g, void *layer, tg_tensor *x) {
    return tg_layer_norm_layer_forward(g, layer, x);
}
static tg_tensor *pool2d_fn(tg_graph *g, void *layer, tg_tensor *x) {
    return tg_pool2d_layer_forward(g, layer, x);
}

/* The checks common to the tg_sequential_add_* below: s, then the layer. */
static tg_status seq_check(const tg_sequential *s, const void *l, bool ready, const char *fn) {
    if (!s) return tg__set_error(TG_ERR_NULL, "%s: container is NULL", fn);
    if (!l || !ready)
        return tg__set_error(TG_ERR_NULL, "%s: %s", fn,
                             l ? "layer not initialised" : "layer is NULL");
    return TG_OK;
}

TG_API tg_status tg_sequential_add_conv2d(tg_sequential *s, const tg_conv2d_layer *l) {
    tg_status st = seq_check(s, l, l && l->weight, "tg_sequential_add_conv2d");
    if (st != TG_OK) return st;
    char name[64], lab[MAX_PARAM_NAME + 1];
    label(l->weight, ".weight", lab, sizeof lab);
    snprintf(name, sizeof name, "conv2d %d -> %d, %dx%d (%.16s)", l->in, l->out, l->kernel[0],
             l->kernel[1], lab);
    return tg__sequential_add_builtin(s, "tg_sequential_add_conv2d", name, conv2d_fn, (void *)l,
                                      tg_numel(l->weight) + tg_numel(l->bias));
}

TG_API tg_status tg_sequential_add_batch_norm(tg_sequential *s, const tg_batch_norm_layer *l) {
    tg_status st = seq_check(s, l, l && l->features > 0, "tg_sequential_add_batch_norm");
    if (st != TG_OK) return st;
    char name[64], lab[MAX_PARAM_NAME + 1];
    bn_label(l, lab, sizeof lab);
    snprintf(name, sizeof name, "batch norm %d (%.24s)", l->features, lab);
    /* the running statistics are state, not parameters (PyTorch's buffers) */
    return tg__sequential_add_builtin(s, "tg_sequential_add_batch_norm", name, batch_norm_fn,
                                      (void *)l, tg_numel(l->weight) + tg_numel(l->bias));
}

TG_API tg_status tg_sequential_add_layer_norm(tg_sequential *s, const tg_layer_norm_layer *l) {
    tg_status st =
        seq_check(s, l, l && l->ndim > 0 && l->ndim <= TG_MAX_DIMS, "tg_sequential_add_layer_norm");
    if (st != TG_OK) return st;
    char name[64], lab[MAX_PARAM_NAME + 1], shp[TG_SHAPE_STR];
    label(l->weight, ".weight", lab, sizeof lab);
    snprintf(name, sizeof name, "layer norm %.16s (%.20s)", tg__shape_str(l->ndim, l->shape, shp),
             l->weight ? lab : "no affine");
    return tg__sequential_add_builtin(s, "tg_sequential_add_layer_norm", name, layer_norm_fn,
                                      (void *)l, tg_numel(l->weight) + tg_numel(l->bias));
}

TG_API tg_status tg_sequential_add_pool2d(tg_sequential *s, const tg_pool2d_layer *l) {
    tg_status st = seq_check(s, l, true, "tg_sequential_add_pool2d");
    if (st != TG_OK) return st;
    if (!pool_kind_ok(l->kind))
        return tg__set_error(TG_ERR_ARG, "tg_sequential_add_pool2d: unknown kind %d", (int)l->kind);
    char name[64];
    if (l->kind == TG_POOL_GLOBAL_AVG)
        snprintf(name, sizeof name, "global_avg_pool2d");
    else
        snprintf(name, sizeof name, "%s_pool2d %dx%d", l->kind == TG_POOL_MAX ? "max" : "avg",
                 l->opts.kernel[0], l->opts.kernel[1]);
    return tg__sequential_add_builtin(s, "tg_sequential_add_pool2d", name, pool2d_fn, (void *)l,
                                      -1);
}
