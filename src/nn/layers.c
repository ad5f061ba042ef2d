/* src/nn/layers.c: linear layers, activations, flatten, the MLP builder and the
 * sequential container.
 *
 * Everything here is composition of ops (tg_linear, tg_dropout, the activations,
 * tg_reshape); gradients come from their rules. Memory is taken only while building:
 * forward passes allocate in the graph's arena alone (through the ops). */
#include <math.h>
#include <stdlib.h>

#include "layers.h"

#define MAX_PARAM_NAME 127 /* tg_params_add's limit */

/* ---- activations --------------------------------------------------------------- */

static const char *const act_names[TG_ACT_COUNT] = {
    [TG_ACT_NONE] = "none",       [TG_ACT_RELU] = "relu", [TG_ACT_TANH] = "tanh",
    [TG_ACT_SIGMOID] = "sigmoid", [TG_ACT_GELU] = "gelu",
};

static bool act_valid(tg_activation a) { return (int)a >= 0 && a < TG_ACT_COUNT; }

TG_API const char *tg_activation_name(tg_activation a) {
    return act_valid(a) ? act_names[a] : "unknown";
}

TG_API tg_tensor *tg_activate(tg_graph *g, tg_tensor *x, tg_activation a) {
    if (!TG_BEGIN(g, "activate", x)) return NULL;
    switch (a) {
    case TG_ACT_NONE:
        return x;
    case TG_ACT_RELU:
        return tg_relu(g, x);
    case TG_ACT_TANH:
        return tg_tanh(g, x);
    case TG_ACT_SIGMOID:
        return tg_sigmoid(g, x);
    case TG_ACT_GELU:
        return tg_gelu(g, x);
    default:
        break;
    }
    tg__fail(g, TG_ERR_ARG, "activate: unknown activation %d", (int)a);
    return NULL;
}

TG_API tg_tensor *tg_flatten(tg_graph *g, tg_tensor *x) {
    if (!TG_BEGIN(g, "flatten", x)) return NULL;
    if (x->ndim == 0) {
        tg__fail(g, TG_ERR_SHAPE, "flatten: needs a batch axis, got a 0-d tensor");
        return NULL;
    }
    int64_t rest = 1;
    for (int i = 1; i < x->ndim; i++) rest *= x->shape[i];
    if (rest > INT32_MAX) {
        char buf[TG_SHAPE_STR];
        tg__fail(g, TG_ERR_SHAPE, "flatten: %s has too many features per sample", TG_SHAPE(x, buf));
        return NULL;
    }
    return tg_reshape(g, x, 2, (int[]){x->shape[0], (int)rest});
}

/* ---- linear ---------------------------------------------------------------------- */

/* Re-raises the last error with the layer's name in front. (The message is copied
 * first: it lives in the buffer that tg__set_error writes.) */
static tg_status layer_error(tg_status st, const char *prefix) {
    char msg[512];
    snprintf(msg, sizeof msg, "%s", tg_last_error() ? tg_last_error() : tg_status_str(st));
    return tg__set_error(st, "linear layer '%s': %s", prefix, msg);
}

/* "<prefix><suffix>" into buf (MAX_PARAM_NAME + 1 bytes); false if it does not fit. */
static bool param_name(char *buf, const char *prefix, const char *suffix) {
    int n = snprintf(buf, MAX_PARAM_NAME + 1, "%s%s", prefix, suffix);
    return n > 0 && n <= MAX_PARAM_NAME;
}

static tg_status init_params(tg_linear_layer *l, tg_params *p, const tg_linear_opts *o,
                             const char *prefix) {
    tg_rng *rng = tg_params_rng(p);
    const double r = 1.0 / sqrt((double)l->in);
    tg_status st = TG_OK;
    switch (o->init) {
    case TG_LINEAR_INIT_TORCH:
        st = tg_init_tensor(l->weight, TG_INIT_UNIFORM, -r, r, rng);
        if (st == TG_OK && l->bias) st = tg_init_tensor(l->bias, TG_INIT_UNIFORM, -r, r, rng);
        break;
    case TG_LINEAR_INIT_KERAS:
        st = tg_init_tensor(l->weight, TG_INIT_XAVIER_UNIFORM, 1, 0, rng);
        break; /* bias: zeros already */
    case TG_LINEAR_INIT_HE:
        st = tg_init_tensor(l->weight, TG_INIT_HE_UNIFORM, 0, 0, rng);
        break;
    case TG_LINEAR_INIT_CUSTOM:
        st = tg_init_tensor(l->weight, o->weight_init, o->weight_a, o->weight_b, rng);
        if (st == TG_OK && l->bias)
            st = tg_init_tensor(l->bias, o->bias_init, o->bias_a, o->bias_b, rng);
        break;
    default:
        break;
    }
    return st == TG_OK ? TG_OK : layer_error(st, prefix);
}

TG_API tg_status tg_linear_layer_init(tg_linear_layer *l, tg_params *p, const char *prefix, int in,
                                      int out, const tg_linear_opts *opts) {
    if (!l) return tg__set_error(TG_ERR_NULL, "tg_linear_layer_init: layer is NULL");
    memset(l, 0, sizeof *l);
    if (!p || !prefix)
        return tg__set_error(TG_ERR_NULL, "tg_linear_layer_init: %s is NULL",
                             p ? "prefix" : "parameter store");
    static const tg_linear_opts defaults = {0};
    const tg_linear_opts *o = opts ? opts : &defaults;
    if (in < 1 || out < 1)
        return tg__set_error(TG_ERR_ARG, "linear layer '%s': in and out must be >= 1, got %d -> %d",
                             prefix, in, out);
    if ((int)o->init < 0 || o->init >= TG_LINEAR_INIT_COUNT)
        return tg__set_error(TG_ERR_ARG, "linear layer '%s': unknown init %d", prefix,
                             (int)o->init);
    if (o->init == TG_LINEAR_INIT_CUSTOM &&
        ((int)o->weight_init < 0 || o->weight_init >= TG_INIT_COUNT ||
         (!o->no_bias && ((int)o->bias_init < 0 || o->bias_init >= TG_INIT_COUNT))))
        return tg__set_error(TG_ERR_ARG, "linear layer '%s': unknown initialiser", prefix);
    char wname[MAX_PARAM_NAME + 1], bname[MAX_PARAM_NAME + 1];
    if (!prefix[0] || !param_name(wname, prefix, ".weight") || !param_name(bname, prefix, ".bias"))
        return tg__set_error(TG_ERR_ARG,
                             "tg_linear_layer_init: the prefix must be 1 to %d bytes, got %zu",
                             MAX_PARAM_NAME - 7, strlen(prefix));
    /* Check both names first, so a clash leaves the store as it was. */
    if (tg_params_get(p, wname) || (!o->no_bias && tg_params_get(p, bname)))
        return tg__set_error(TG_ERR_ARG,
                             "linear layer '%s': the store has a parameter '%s' already", prefix,
                             tg_params_get(p, wname) ? wname : bname);

    tg_linear_layer t = {.in = in, .out = out};
    t.weight = tg_params_add(p, wname, 2, (int[]){out, in});
    if (!t.weight) return layer_error(TG_ERR_NOMEM, prefix);
    if (!o->no_bias) {
        t.bias = tg_params_add(p, bname, 1, (int[]){out});
        if (!t.bias) return layer_error(TG_ERR_NOMEM, prefix);
    }
    /* Initialise only after both exist: adding may move the flat buffers (the tensor
     * handles stay valid; their data pointers are rebased). */
    tg_status st = init_params(&t, p, o, prefix);
    if (st != TG_OK) return st;
    *l = t;
    return TG_OK;
}

/* The layer's name for messages: its weight's name without ".weight". */
static void layer_label(const tg_linear_layer *l, char *buf, size_t n) {
    const char *w = l && l->weight ? tg_name(l->weight) : NULL;
    if (!w) {
        snprintf(buf, n, "(unnamed)");
        return;
    }
    size_t len = strlen(w);
    if (len > 7 && strcmp(w + len - 7, ".weight") == 0) len -= 7;
    snprintf(buf, n, "%.*s", (int)len, w);
}

TG_API tg_tensor *tg_linear_layer_forward(tg_graph *g, const tg_linear_layer *l, tg_tensor *x) {
    if (!TG_BEGIN(g, "linear layer", x)) return NULL;
    if (!l || !l->weight) {
        tg__fail(g, TG_ERR_NULL, "linear layer: %s",
                 l ? "not initialised (weight is NULL)" : "layer is NULL");
        return NULL;
    }
    if (x->ndim < 1 || x->shape[x->ndim - 1] != l->in) {
        char label[MAX_PARAM_NAME + 1], buf[TG_SHAPE_STR];
        layer_label(l, label, sizeof label);
        tg__fail(g, TG_ERR_SHAPE,
                 "linear layer '%s': input %s should end with %d features (layer %d -> %d)", label,
                 TG_SHAPE(x, buf), l->in, l->in, l->out);
        return NULL;
    }
    return tg_linear(g, x, l->weight, l->bias);
}

/* ---- MLP ------------------------------------------------------------------------------ */

TG_API void tg_mlp_free(tg_mlp *m) {
    if (!m) return;
    tg__free(m->layers);
    tg__free(m);
}

TG_API tg_mlp *tg_mlp_new(tg_params *p, const char *prefix, int n_layers, const int *sizes,
                          tg_activation act, double dropout, const tg_linear_opts *opts) {
    if (!p || !prefix || !sizes) {
        tg__set_error(TG_ERR_NULL, "tg_mlp_new: %s is NULL",
                      !p        ? "parameter store"
                      : !prefix ? "prefix"
                                : "sizes");
        return NULL;
    }
    if (n_layers < 1) {
        tg__set_error(TG_ERR_ARG, "mlp '%s': needs at least one layer, got %d", prefix, n_layers);
        return NULL;
    }
    for (int i = 0; i <= n_layers; i++)
        if (sizes[i] < 1) {
            tg__set_error(TG_ERR_ARG, "mlp '%s': sizes[%d] is %d; every width must be >= 1", prefix,
                          i, sizes[i]);
            return NULL;
        }
    if (!act_valid(act)) {
        tg__set_error(TG_ERR_ARG, "mlp '%s': unknown activation %d", prefix, (int)act);
        return NULL;
    }
    if (!(dropout >= 0 && dropout < 1)) {
        tg__set_error(TG_ERR_ARG, "mlp '%s': dropout %g is outside [0, 1)", prefix, dropout);
        return NULL;
    }
    /* Every name first, so that a clash leaves the store unchanged. */
    const bool bias = !(opts && opts->no_bias);
    char name[MAX_PARAM_NAME + 1];
    for (int i = 0; i < n_layers; i++) {
        for (int k = 0; k < (bias ? 2 : 1); k++) {
            int n = snprintf(name, sizeof name, "%s.%d%s", prefix, i, k ? ".bias" : ".weight");
            if (!prefix[0] || n <= 0 || n > MAX_PARAM_NAME) {
                tg__set_error(TG_ERR_ARG, "tg_mlp_new: the prefix must be 1 to about %d bytes",
                              MAX_PARAM_NAME - 12);
                return NULL;
            }
            if (tg_params_get(p, name)) {
                tg__set_error(TG_ERR_ARG, "mlp '%s': the store has a parameter '%s' already",
                              prefix, name);
                return NULL;
            }
        }
    }
    tg_mlp *m = tg__malloc(sizeof *m);
    tg_linear_layer *layers = tg__malloc((size_t)n_layers * sizeof *layers);
    if (!m || !layers) {
        tg__free(m);
        tg__free(layers);
        tg__set_error(TG_ERR_NOMEM, "tg_mlp_new: out of memory");
        return NULL;
    }
    for (int i = 0; i < n_layers; i++) {
        snprintf(name, sizeof name, "%s.%d", prefix, i);
        if (tg_linear_layer_init(&layers[i], p, name, sizes[i], sizes[i + 1], opts) != TG_OK) {
            tg__free(m);
            tg__free(layers);
            return NULL; /* tg_last_error says why */
        }
    }
    *m = (tg_mlp){.n_layers = n_layers, .layers = layers, .act = act, .dropout = dropout};
    return m;
}

TG_API tg_tensor *tg_mlp_forward(tg_graph *g, const tg_mlp *m, tg_tensor *x) {
    if (!TG_BEGIN(g, "mlp", x)) return NULL;
    if (!m || !m->layers) {
        tg__fail(g, TG_ERR_NULL, "mlp: %s", m ? "no layers" : "MLP is NULL");
        return NULL;
    }
    for (int i = 0; i < m->n_layers && x; i++) {
        x = tg_linear_layer_forward(g, &m->layers[i], x);
        if (i + 1 == m->n_layers) break;
        x = tg_activate(g, x, m->act);
        if (m->dropout > 0) x = tg_dropout(g, x, (tg_real)m->dropout);
    }
    return x;
}

/* ---- sequential ---------------------------------------------------------------------- */

enum { NAME_LEN = 48 };

/* E_BUILTIN: another library layer (conv_layers.c's), its parameter count kept here. */
typedef enum entry_kind {
    E_USER,
    E_LINEAR,
    E_MLP,
    E_ACT,
    E_DROPOUT,
    E_FLATTEN,
    E_BUILTIN
} entry_kind;

/* One entry. Built-in stateless layers keep their setting here (act, p) and, like
 * linear and MLP entries, are called with the entry itself as their layer pointer; user
 * and E_BUILTIN entries with their layer. */
typedef struct entry {
    tg_layer_fn fn;
    void *layer;
    entry_kind kind;
    tg_activation act;
    double p;
    int64_t params; /* E_BUILTIN: its parameters, -1 for none to show */
    char name[NAME_LEN];
} entry;

struct tg_sequential {
    entry *e;
    int n, cap;
};

TG_API tg_sequential *tg_sequential_new(void) {
    tg_sequential *s = tg__malloc(sizeof *s);
    if (!s) {
        tg__set_error(TG_ERR_NOMEM, "tg_sequential_new: out of memory");
        return NULL;
    }
    memset(s, 0, sizeof *s);
    return s;
}

TG_API void tg_sequential_free(tg_sequential *s) {
    if (!s) return;
    tg__free(s->e);
    tg__free(s);
}

/* Appends an entry and returns it, or NULL (error set) when out of memory. */
static entry *push(tg_sequential *s, const char *fn_name, tg_layer_fn fn, void *layer,
                   entry_kind kind) {
    if (!s) {
        tg__set_error(TG_ERR_NULL, "%s: container is NULL", fn_name);
        return NULL;
    }
    if (s->n == s->cap) {
        int cap = s->cap ? s->cap * 2 : 8;
        entry *e = tg__realloc(s->e, (size_t)cap * sizeof *e);
        if (!e) {
            tg__set_error(TG_ERR_NOMEM, "%s: out of memory", fn_name);
            return NULL;
        }
        s->e = e;
        s->cap = cap;
    }
    entry *e = &s->e[s->n++];
    memset(e, 0, sizeof *e);
    e->fn = fn;
    e->layer = layer;
    e->kind = kind;
    return e;
}

/* tg_sequential_add, as fn_name, for an entry of the given kind. */
static entry *add_named(tg_sequential *s, const char *fn_name, const char *name, tg_layer_fn fn,
                        void *layer, entry_kind kind) {
    if (!fn) {
        tg__set_error(TG_ERR_NULL, "%s: fn is NULL", fn_name);
        return NULL;
    }
    entry *e = push(s, fn_name, fn, layer, kind);
    if (!e) return NULL;
    if (name)
        snprintf(e->name, NAME_LEN, "%s", name);
    else
        snprintf(e->name, NAME_LEN, "layer%d", s->n - 1);
    return e;
}

TG_API tg_status tg_sequential_add(tg_sequential *s, const char *name, tg_layer_fn fn,
                                   void *layer) {
    if (add_named(s, "tg_sequential_add", name, fn, layer, E_USER)) return TG_OK;
    return s && fn ? TG_ERR_NOMEM : TG_ERR_NULL;
}

tg_status tg__sequential_add_builtin(tg_sequential *s, const char *fn_name, const char *name,
                                     tg_layer_fn fn, void *layer, int64_t params) {
    entry *e = add_named(s, fn_name, name, fn, layer, E_BUILTIN);
    if (!e) return s && fn ? TG_ERR_NOMEM : TG_ERR_NULL;
    e->params = params;
    return TG_OK;
}

static tg_tensor *linear_fn(tg_graph *g, void *layer, tg_tensor *x) {
    return tg_linear_layer_forward(g, ((entry *)layer)->layer, x);
}
static tg_tensor *mlp_fn(tg_graph *g, void *layer, tg_tensor *x) {
    return tg_mlp_forward(g, ((entry *)layer)->layer, x);
}
static tg_tensor *act_fn(tg_graph *g, void *layer, tg_tensor *x) {
    return tg_activate(g, x, ((entry *)layer)->act);
}
static tg_tensor *dropout_fn(tg_graph *g, void *layer, tg_tensor *x) {
    return tg_dropout(g, x, (tg_real)((entry *)layer)->p);
}
static tg_tensor *flatten_fn(tg_graph *g, void *layer, tg_tensor *x) {
    (void)layer;
    return tg_flatten(g, x);
}

TG_API tg_status tg_sequential_add_linear(tg_sequential *s, const tg_linear_layer *l) {
    if (s && (!l || !l->weight))
        return tg__set_error(TG_ERR_NULL, "tg_sequential_add_linear: %s",
                             l ? "layer not initialised" : "layer is NULL");
    entry *e = push(s, "tg_sequential_add_linear", linear_fn, (void *)l, E_LINEAR);
    if (!e) return s ? TG_ERR_NOMEM : TG_ERR_NULL;
    char label[MAX_PARAM_NAME + 1];
    layer_label(l, label, sizeof label);
    snprintf(e->name, NAME_LEN, "linear %d -> %d (%.20s)", l->in, l->out, label);
    return TG_OK;
}

TG_API tg_status tg_sequential_add_mlp(tg_sequential *s, const tg_mlp *m) {
    if (s && (!m || !m->layers || m->n_layers < 1))
        return tg__set_error(TG_ERR_NULL, "tg_sequential_add_mlp: %s",
                             m ? "MLP has no layers" : "MLP is NULL");
    entry *e = push(s, "tg_sequential_add_mlp", mlp_fn, (void *)m, E_MLP);
    if (!e) return s ? TG_ERR_NOMEM : TG_ERR_NULL;
    int n = snprintf(e->name, NAME_LEN, "mlp %d", m->layers[0].in);
    for (int i = 0; i < m->n_layers && n > 0 && n < NAME_LEN; i++)
        n += snprintf(e->name + n, NAME_LEN - (size_t)n, "-%d", m->layers[i].out);
    return TG_OK;
}

TG_API tg_status tg_sequential_add_activation(tg_sequential *s, tg_activation a) {
    if (s && !act_valid(a))
        return tg__set_error(TG_ERR_ARG, "tg_sequential_add_activation: unknown activation %d",
                             (int)a);
    entry *e = push(s, "tg_sequential_add_activation", act_fn, NULL, E_ACT);
    if (!e) return s ? TG_ERR_NOMEM : TG_ERR_NULL;
    e->act = a;
    snprintf(e->name, NAME_LEN, "%s", act_names[a]);
    return TG_OK;
}

TG_API tg_status tg_sequential_add_dropout(tg_sequential *s, double p) {
    if (s && !(p >= 0 && p < 1))
        return tg__set_error(TG_ERR_ARG, "tg_sequential_add_dropout: p %g is outside [0, 1)", p);
    entry *e = push(s, "tg_sequential_add_dropout", dropout_fn, NULL, E_DROPOUT);
    if (!e) return s ? TG_ERR_NOMEM : TG_ERR_NULL;
    e->p = p;
    snprintf(e->name, NAME_LEN, "dropout %g", p);
    return TG_OK;
}

TG_API tg_status tg_sequential_add_flatten(tg_sequential *s) {
    entry *e = push(s, "tg_sequential_add_flatten", flatten_fn, NULL, E_FLATTEN);
    if (!e) return s ? TG_ERR_NOMEM : TG_ERR_NULL;
    snprintf(e->name, NAME_LEN, "flatten");
    return TG_OK;
}

TG_API int tg_sequential_len(const tg_sequential *s) { return s ? s->n : 0; }

TG_API const char *tg_sequential_name(const tg_sequential *s, int i) {
    return s && i >= 0 && i < s->n ? s->e[i].name : NULL;
}

TG_API tg_tensor *tg_sequential_forward(tg_graph *g, const tg_sequential *s, tg_tensor *x) {
    if (!TG_BEGIN(g, "sequential", x)) return NULL;
    if (!s) {
        tg__fail(g, TG_ERR_NULL, "sequential: container is NULL");
        return NULL;
    }
    for (int i = 0; i < s->n; i++) {
        entry *e = &s->e[i];
        x = e->fn(g, e->kind == E_USER || e->kind == E_BUILTIN ? e->layer : (void *)e, x);
        if (!x) {
            if (!tg__failed(g))
                tg__fail(g, TG_ERR_STATE, "sequential: layer %d (%s) returned NULL", i, e->name);
            return NULL;
        }
        if (x->g != g && !(x->flags & TG_T_PERSISTENT)) {
            tg__fail(g, TG_ERR_STATE,
                     "sequential: layer %d (%s) returned a tensor of another "
                     "graph",
                     i, e->name);
            return NULL;
        }
    }
    return x;
}

/* The parameters of a library layer's entry; -1 for none to show (a user layer's are
 * unknown, a stateless layer has none). */
static int64_t entry_params(const entry *e) {
    int64_t n = -1;
    if (e->kind == E_BUILTIN) {
        n = e->params;
    } else if (e->kind == E_LINEAR) {
        const tg_linear_layer *l = e->layer;
        n = tg_numel(l->weight) + tg_numel(l->bias);
    } else if (e->kind == E_MLP) {
        const tg_mlp *m = e->layer;
        n = 0;
        for (int i = 0; i < m->n_layers; i++)
            n += tg_numel(m->layers[i].weight) + tg_numel(m->layers[i].bias);
    }
    return n;
}

TG_API tg_status tg_sequential_print(const tg_sequential *s, FILE *out) {
    if (!s || !out)
        return tg__set_error(TG_ERR_NULL, "tg_sequential_print: %s is NULL",
                             s ? "stream" : "container");
    int64_t total = 0;
    bool user = false; /* user layers: their parameters are unknown here */
    for (int i = 0; i < s->n; i++) {
        const entry *e = &s->e[i];
        const int64_t n = entry_params(e);
        user |= e->kind == E_USER;
        if (n >= 0) {
            total += n;
            fprintf(out, "%3d  %-40s %10lld parameters\n", i, e->name, (long long)n);
        } else {
            fprintf(out, "%3d  %s\n", i, e->name);
        }
    }
    fprintf(out, "     %-40s %10lld parameters\n",
            user ? "total, not counting user layers" : "total", (long long)total);
    if (ferror(out)) return tg__set_error(TG_ERR_IO, "tg_sequential_print: write failed");
    return TG_OK;
}
