/* src/nn/rnn.c: recurrent cells (tanh RNN, LSTM, GRU), one step and unrolled.
 *
 * Nothing here computes a gradient: a step is a dozen ops (tg_linear, tg_slice,
 * tg_sigmoid, tg_tanh, tg_mul, tg_add, tg_sub) and backpropagation through time is the
 * tape walking them in reverse. The three cells share one layout (tg_rnn_cell's fields,
 * with G = 1, 4 or 3 gate blocks), so this file works on a generic view of a cell and
 * the public functions only convert.
 *
 * Why the unroll is not just T calls of the step: the input half of every step,
 * x_t W_ih^T + b_ih, does not depend on the recurrence, so one tg_linear over x
 * [T, B, I] computes it for every step at once ([T*B, I] @ [I, G*H]: one large matrix
 * product instead of T thin ones, as cuDNN and PyTorch do); each step then selects its
 * rows. The values are the same: each row is computed by the same dot products. */
#include <limits.h>
#include <math.h>
#include <stdlib.h>

#include "../graph/internal.h"

#define MAX_PARAM_NAME 127 /* tg_params_add's limit */

/* A cell of any kind. The public structs have these very fields, in this order. */
typedef struct cell {
    tg_tensor *wih, *whh, *bih, *bhh;
    int in, hid;
} cell;

/* What tells the kinds apart: a name for messages and the number of gate blocks. */
typedef struct kind {
    const char *name; /* "lstm" */
    int gates;        /* G */
} kind;

static const kind RNN = {"rnn", 1}, LSTM = {"lstm", 4}, GRU = {"gru", 3};

#define VIEW(c)                                                                                    \
    ((cell){(c)->weight_ih, (c)->weight_hh, (c)->bias_ih, (c)->bias_hh, (c)->input_size,           \
            (c)->hidden_size})
/* The public struct of type T with the fields of cell v: VIEW's inverse. */
#define UNVIEW(T, v) ((T){(v).wih, (v).whh, (v).bih, (v).bhh, (v).in, (v).hid})

/* ---- making a cell ------------------------------------------------------------------ */

static const char *const suffix[4] = {".weight_ih", ".weight_hh", ".bias_ih", ".bias_hh"};

/* Makes the four parameters of a cell of kind k in p and fills *out. The public cell
 * pub (of pub_size bytes) is zeroed first, so a failed init leaves it uninitialised. */
static tg_status cell_init(cell *out, const kind *k, void *pub, size_t pub_size, tg_params *p,
                           const char *prefix, int in, int hid) {
    const char *fn = k == &LSTM  ? "tg_lstm_cell_init"
                     : k == &GRU ? "tg_gru_cell_init"
                                 : "tg_rnn_cell_init";
    if (!pub) return tg__set_error(TG_ERR_NULL, "%s: cell is NULL", fn);
    memset(pub, 0, pub_size);
    if (!p || !prefix)
        return tg__set_error(TG_ERR_NULL, "%s: %s is NULL", fn, p ? "prefix" : "parameter store");
    if (in < 1 || hid < 1)
        return tg__set_error(TG_ERR_ARG,
                             "%s cell '%s': input_size and hidden_size must be >= 1, got %d and %d",
                             k->name, prefix, in, hid);
    if ((int64_t)hid * k->gates > INT_MAX ||
        (int64_t)hid * k->gates * (in > hid ? in : hid) > INT32_MAX)
        return tg__set_error(TG_ERR_ARG, "%s cell '%s': %d gates of hidden size %d are too large",
                             k->name, prefix, k->gates, hid);
    char names[4][MAX_PARAM_NAME + 1];
    for (int i = 0; i < 4; i++) {
        int n = snprintf(names[i], sizeof names[i], "%s%s", prefix, suffix[i]);
        if (!prefix[0] || n <= 0 || n > MAX_PARAM_NAME)
            return tg__set_error(TG_ERR_ARG, "%s: the prefix must be 1 to %d bytes, got %zu", fn,
                                 MAX_PARAM_NAME - 10, strlen(prefix));
    }
    /* Every name is checked before anything is added, so a clash changes nothing. */
    for (int i = 0; i < 4; i++)
        if (tg_params_get(p, names[i]))
            return tg__set_error(TG_ERR_ARG, "%s cell '%s': the store has a parameter '%s' already",
                                 k->name, prefix, names[i]);
    const int gh = k->gates * hid;
    const int shapes[4][2] = {{gh, in}, {gh, hid}, {gh, 0}, {gh, 0}};
    tg_tensor *t[4];
    for (int i = 0; i < 4; i++) {
        t[i] = tg_params_add(p, names[i], i < 2 ? 2 : 1, shapes[i]);
        if (!t[i]) {
            char msg[512];
            snprintf(msg, sizeof msg, "%s", tg_last_error() ? tg_last_error() : "out of memory");
            return tg__set_error(TG_ERR_NOMEM, "%s cell '%s': %s", k->name, prefix, msg);
        }
    }
    /* PyTorch's reset_parameters: every tensor U(-1/sqrt(H), 1/sqrt(H)), in order. Only
     * after all four exist: adding may move the flat buffers. */
    const double r = 1.0 / sqrt((double)hid);
    for (int i = 0; i < 4; i++) {
        tg_status st = tg_init_tensor(t[i], TG_INIT_UNIFORM, -r, r, tg_params_rng(p));
        if (st != TG_OK) return st;
    }
    *out = (cell){t[0], t[1], t[2], t[3], in, hid};
    return TG_OK;
}

TG_API tg_status tg_rnn_cell_init(tg_rnn_cell *c, tg_params *p, const char *prefix, int input_size,
                                  int hidden_size) {
    cell v;
    tg_status st = cell_init(&v, &RNN, c, sizeof *c, p, prefix, input_size, hidden_size);
    if (st == TG_OK) *c = UNVIEW(tg_rnn_cell, v);
    return st;
}

TG_API tg_status tg_lstm_cell_init(tg_lstm_cell *c, tg_params *p, const char *prefix,
                                   int input_size, int hidden_size) {
    cell v;
    tg_status st = cell_init(&v, &LSTM, c, sizeof *c, p, prefix, input_size, hidden_size);
    if (st == TG_OK) *c = UNVIEW(tg_lstm_cell, v);
    return st;
}

TG_API tg_status tg_gru_cell_init(tg_gru_cell *c, tg_params *p, const char *prefix, int input_size,
                                  int hidden_size) {
    cell v;
    tg_status st = cell_init(&v, &GRU, c, sizeof *c, p, prefix, input_size, hidden_size);
    if (st == TG_OK) *c = UNVIEW(tg_gru_cell, v);
    return st;
}

/* ---- checks ---------------------------------------------------------------------------- */

/* "lstm cell 'enc'" into buf: the prefix is weight_ih's name without ".weight_ih". */
static void label(const kind *k, const cell *c, char *buf, size_t n) {
    const char *w = c->wih ? tg_name(c->wih) : NULL;
    size_t len = w ? strlen(w) : 0;
    if (len > 10 && strcmp(w + len - 10, ".weight_ih") == 0) len -= 10;
    if (w)
        snprintf(buf, n, "%s cell '%.*s'", k->name, (int)len, w);
    else
        snprintf(buf, n, "%s cell", k->name);
}

static bool shape_is(const tg_tensor *t, int ndim, int d0, int d1) {
    return t->ndim == ndim && t->shape[0] == d0 && (ndim < 2 || t->shape[1] == d1);
}

/* The cell's own consistency: initialised, and parameters of the promised shapes. */
static bool check_cell(tg_graph *g, const kind *k, const void *pub, cell *c, char *lab,
                       size_t labn) {
    if (!pub) {
        tg__fail(g, TG_ERR_NULL, "%s cell: cell is NULL", k->name);
        return false;
    }
    label(k, c, lab, labn);
    if (!c->wih || !c->whh) {
        tg__fail(g, TG_ERR_NULL, "%s: not initialised (a weight is NULL)", lab);
        return false;
    }
    const int64_t gh = (int64_t)k->gates * c->hid;
    char s[TG_SHAPE_STR];
    if (c->in < 1 || c->hid < 1 || gh > INT_MAX) {
        tg__fail(g, TG_ERR_ARG, "%s: bad sizes: input_size %d, hidden_size %d", lab, c->in, c->hid);
        return false;
    }
    const struct {
        const tg_tensor *t;
        const char *name;
        int ndim, d1;
    } want[4] = {{c->wih, "weight_ih", 2, c->in},
                 {c->whh, "weight_hh", 2, c->hid},
                 {c->bih, "bias_ih", 1, 0},
                 {c->bhh, "bias_hh", 1, 0}};
    for (int i = 0; i < 4; i++) {
        if (!want[i].t || shape_is(want[i].t, want[i].ndim, (int)gh, want[i].d1)) continue;
        if (want[i].ndim == 2)
            tg__fail(g, TG_ERR_SHAPE, "%s: %s is %s, should be [%lld,%d]", lab, want[i].name,
                     TG_SHAPE(want[i].t, s), (long long)gh, want[i].d1);
        else
            tg__fail(g, TG_ERR_SHAPE, "%s: %s is %s, should be [%lld]", lab, want[i].name,
                     TG_SHAPE(want[i].t, s), (long long)gh);
        return false;
    }
    return true;
}

/* A state h or c: NULL (zeros, made here) or [B, H]. false after recording an error. */
static bool check_state(tg_graph *g, const char *lab, const char *what, tg_tensor **t, int B,
                        int H) {
    if (!*t) {
        *t = tg_zeros(g, 2, (int[]){B, H});
        return *t != NULL;
    }
    if ((*t)->g != g && !((*t)->flags & TG_T_PERSISTENT)) {
        tg__fail(g, TG_ERR_STATE, "%s: state %s belongs to another graph", lab, what);
        return false;
    }
    if (!shape_is(*t, 2, B, H)) {
        char s[TG_SHAPE_STR];
        tg__fail(g, TG_ERR_SHAPE, "%s: state %s %s should be [%d,%d] (batch %d, hidden_size %d)",
                 lab, what, TG_SHAPE(*t, s), B, H, B, H);
        return false;
    }
    return true;
}

/* x [B, I] for a step (ndim 2) or [T, B, I] for an unroll (ndim 3, T >= 1). */
static bool check_x(tg_graph *g, const char *lab, const tg_tensor *x, int ndim, int in) {
    if (x->ndim == ndim && x->shape[ndim - 1] == in && (ndim == 2 || x->shape[0] >= 1)) return true;
    char s[TG_SHAPE_STR];
    tg__fail(g, TG_ERR_SHAPE, "%s: input x %s should be [%sB,%d]%s", lab, TG_SHAPE(x, s),
             ndim == 3 ? "T," : "", in, ndim == 3 && x->ndim == 3 ? " with T >= 1" : "");
    return false;
}

/* ---- the cells' equations, from the input half gi = x W_ih^T + b_ih [B, G*H] -------- */

static tg_tensor *gate(tg_graph *g, tg_tensor *t, int k, int n, int H) {
    return tg_slice(g, t, 1, k * H, (k + n) * H, 1); /* gate blocks k..k+n-1 of [B, G*H] */
}

/* h' = tanh(gi + h W_hh^T + b_hh) */
static tg_tensor *rnn_core(tg_graph *g, const cell *c, tg_tensor *gi, tg_tensor *h) {
    return tg_tanh(g, tg_add(g, gi, tg_linear(g, h, c->whh, c->bhh)));
}

/* gates = gi + h W_hh^T + b_hh, blocks i, f, g, o; c' = f c + i g; h' = o tanh(c') */
static tg_tensor *lstm_core(tg_graph *g, const cell *c, tg_tensor *gi, tg_tensor *h, tg_tensor *cs,
                            tg_tensor **c_out) {
    const int H = c->hid;
    tg_tensor *gates = tg_add(g, gi, tg_linear(g, h, c->whh, c->bhh)); /* [B,4H] */
    tg_tensor *i = tg_sigmoid(g, gate(g, gates, 0, 1, H));
    tg_tensor *f = tg_sigmoid(g, gate(g, gates, 1, 1, H));
    tg_tensor *gg = tg_tanh(g, gate(g, gates, 2, 1, H));
    tg_tensor *o = tg_sigmoid(g, gate(g, gates, 3, 1, H));
    tg_tensor *c2 = tg_add(g, tg_mul(g, f, cs), tg_mul(g, i, gg));
    tg_tensor *h2 = tg_mul(g, o, tg_tanh(g, c2));
    *c_out = h2 ? c2 : NULL;
    return h2;
}

/* gh = h W_hh^T + b_hh; r, z = sigmoid(gi + gh) (blocks 0, 1);
 * n = tanh(gi_n + r gh_n); h' = (1 - z) n + z h, computed as n + z (h - n) */
static tg_tensor *gru_core(tg_graph *g, const cell *c, tg_tensor *gi, tg_tensor *h) {
    const int H = c->hid;
    tg_tensor *gh = tg_linear(g, h, c->whh, c->bhh); /* [B,3H] */
    tg_tensor *rz = tg_sigmoid(g, tg_add(g, gate(g, gi, 0, 2, H), gate(g, gh, 0, 2, H)));
    tg_tensor *r = gate(g, rz, 0, 1, H), *z = gate(g, rz, 1, 1, H);
    tg_tensor *n = tg_tanh(g, tg_add(g, gate(g, gi, 2, 1, H), tg_mul(g, r, gate(g, gh, 2, 1, H))));
    return tg_add(g, n, tg_mul(g, z, tg_sub(g, h, n)));
}

/* ---- one step --------------------------------------------------------------------------- */

/* Checks shared by the three steps; fills lab. false after recording an error. */
static bool step_begin(tg_graph *g, const kind *k, const void *pub, cell *c, tg_tensor *x,
                       tg_tensor **h, tg_tensor **cs, char *lab, size_t labn) {
    char name[32];
    snprintf(name, sizeof name, "%s cell", k->name);
    if (!TG_BEGIN(g, name, x)) return false;
    if (!check_cell(g, k, pub, c, lab, labn) || !check_x(g, lab, x, 2, c->in)) return false;
    const int B = x->shape[0];
    return check_state(g, lab, "h", h, B, c->hid) &&
           (!cs || check_state(g, lab, "c", cs, B, c->hid));
}

TG_API tg_tensor *tg_rnn_cell_step(tg_graph *g, const tg_rnn_cell *pub, tg_tensor *x,
                                   tg_tensor *h) {
    cell c = pub ? VIEW(pub) : (cell){0};
    char lab[MAX_PARAM_NAME + 32];
    if (!step_begin(g, &RNN, pub, &c, x, &h, NULL, lab, sizeof lab)) return NULL;
    return rnn_core(g, &c, tg_linear(g, x, c.wih, c.bih), h);
}

TG_API tg_tensor *tg_lstm_cell_step(tg_graph *g, const tg_lstm_cell *pub, tg_tensor *x,
                                    tg_tensor *h, tg_tensor *cs, tg_tensor **c_out) {
    if (c_out) *c_out = NULL;
    cell c = pub ? VIEW(pub) : (cell){0};
    char lab[MAX_PARAM_NAME + 32];
    if (!step_begin(g, &LSTM, pub, &c, x, &h, &cs, lab, sizeof lab)) return NULL;
    if (!c_out) {
        tg__fail(g, TG_ERR_NULL, "%s: c_out is NULL (the new cell state goes there)", lab);
        return NULL;
    }
    return lstm_core(g, &c, tg_linear(g, x, c.wih, c.bih), h, cs, c_out);
}

TG_API tg_tensor *tg_gru_cell_step(tg_graph *g, const tg_gru_cell *pub, tg_tensor *x,
                                   tg_tensor *h) {
    cell c = pub ? VIEW(pub) : (cell){0};
    char lab[MAX_PARAM_NAME + 32];
    if (!step_begin(g, &GRU, pub, &c, x, &h, NULL, lab, sizeof lab)) return NULL;
    return gru_core(g, &c, tg_linear(g, x, c.wih, c.bih), h);
}

/* ---- unrolling ---------------------------------------------------------------------------- */

/* Runs T steps of kind k over x [T, B, I] from h (and cs, LSTM), stacks the outputs.
 * h_last and c_last may be NULL. */
static tg_tensor *unroll(tg_graph *g, const kind *k, const void *pub, cell c, tg_tensor *x,
                         tg_tensor *h, tg_tensor *cs, tg_tensor **h_last, tg_tensor **c_last) {
    if (h_last) *h_last = NULL;
    if (c_last) *c_last = NULL;
    char name[32], lab[MAX_PARAM_NAME + 32];
    snprintf(name, sizeof name, "%s unroll", k->name);
    if (!TG_BEGIN(g, name, x)) return NULL;
    if (!check_cell(g, k, pub, &c, lab, sizeof lab) || !check_x(g, lab, x, 3, c.in)) return NULL;
    const int T = x->shape[0], B = x->shape[1];
    if (!check_state(g, lab, "h0", &h, B, c.hid) ||
        (k == &LSTM && !check_state(g, lab, "c0", &cs, B, c.hid)))
        return NULL;
    tg_tensor **outs = tg__alloc(g, (size_t)T * sizeof *outs);
    tg_tensor *xp = tg_linear(g, x, c.wih, c.bih); /* [T,B,G*H]: every step's input half */
    if (!outs || !xp) return NULL;
    for (int t = 0; t < T; t++) {
        tg_tensor *gi = tg_select(g, xp, 0, t); /* [B,G*H] */
        if (k == &LSTM)
            h = lstm_core(g, &c, gi, h, cs, &cs);
        else if (k == &GRU)
            h = gru_core(g, &c, gi, h);
        else
            h = rnn_core(g, &c, gi, h);
        if (!h) return NULL;
        outs[t] = h;
    }
    tg_tensor *y = tg_stack(g, T, outs, 0); /* [T,B,H] */
    if (!y) return NULL;
    if (h_last) *h_last = h;
    if (c_last) *c_last = cs;
    return y;
}

TG_API tg_tensor *tg_rnn_unroll(tg_graph *g, const tg_rnn_cell *pub, tg_tensor *x, tg_tensor *h0,
                                tg_tensor **h_last) {
    return unroll(g, &RNN, pub, pub ? VIEW(pub) : (cell){0}, x, h0, NULL, h_last, NULL);
}

TG_API tg_tensor *tg_lstm_unroll(tg_graph *g, const tg_lstm_cell *pub, tg_tensor *x, tg_tensor *h0,
                                 tg_tensor *c0, tg_tensor **h_last, tg_tensor **c_last) {
    return unroll(g, &LSTM, pub, pub ? VIEW(pub) : (cell){0}, x, h0, c0, h_last, c_last);
}

TG_API tg_tensor *tg_gru_unroll(tg_graph *g, const tg_gru_cell *pub, tg_tensor *x, tg_tensor *h0,
                                tg_tensor **h_last) {
    return unroll(g, &GRU, pub, pub ? VIEW(pub) : (cell){0}, x, h0, NULL, h_last, NULL);
}
