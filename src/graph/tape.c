/* src/graph/tape.c: starting an op, recording nodes, gradient buffers. */
#include "internal.h"

bool tg__op_begin(tg_graph *g, const char *op, int n, tg_tensor *const *in) {
    if (!g) {
        tg__set_error(TG_ERR_NULL, "%s: graph is NULL", op);
        return false;
    }
    if (tg__failed(g)) return false;
    for (int i = 0; i < n; i++) {
        if (!in[i]) {
            if (n == 1)
                tg__fail(g, TG_ERR_NULL, "%s: input is NULL", op);
            else
                tg__fail(g, TG_ERR_NULL, "%s: input %d of %d is NULL", op, i + 1, n);
            return false;
        }
        if (in[i]->g != g && !(in[i]->flags & TG_T_PERSISTENT)) {
            tg__fail(g, TG_ERR_STATE, "%s: input %d belongs to another graph", op, i + 1);
            return false;
        }
    }
    return true;
}

static bool tape_push(tg_graph *g, tg_node *n) {
    if (g->ntape == g->tape_cap) {
        int64_t cap = g->tape_cap ? g->tape_cap * 2 : 1024;
        tg_node **t = tg__realloc(g->tape, (size_t)cap * sizeof *t);
        if (!t) {
            tg__fail(g, TG_ERR_NOMEM, "out of memory: the tape could not grow to %lld nodes",
                     (long long)cap);
            return false;
        }
        g->tape = t;
        g->tape_cap = cap;
    }
    n->index = g->ntape;
    g->tape[g->ntape++] = n;
    return true;
}

tg_node *tg__record(tg_graph *g, const tg_op *op, tg_tensor *out, int nin,
                    tg_tensor *const *in) {
    if (!g->grad_enabled || !out) return NULL;
    bool needs = false;
    for (int i = 0; i < nin; i++) needs |= tg__needs_grad(in[i]);
    tg_node *n = tg__alloc(g, sizeof *n);
    if (!n) return NULL;
    memset(n, 0, sizeof *n);
    n->op = op;
    n->out = out;
    n->nin = nin;
    if (nin <= TG_NODE_INLINE_IN) {
        n->in = n->in_inline;
    } else {
        n->in = tg__alloc(g, (size_t)nin * sizeof *n->in);
        if (!n->in) return NULL;
    }
    for (int i = 0; i < nin; i++) n->in[i] = in[i];
    if (!tape_push(g, n)) return NULL;
    out->node = n;
    if (needs) out->flags |= TG_T_REQUIRES_GRAD;
    return n;
}

tg_real *tg__grad_buf(tg_tensor *t) {
    if (!tg__needs_grad(t)) return NULL;
    if (!t->grad) {
        t->grad = tg__calloc(t->g, (size_t)t->numel * sizeof(tg_real));
        t->flags &= ~(unsigned)TG_T_GRAD_STALE;
    } else if (t->flags & TG_T_GRAD_STALE) {
        memset(t->grad, 0, (size_t)t->numel * sizeof(tg_real));
        t->flags &= ~(unsigned)TG_T_GRAD_STALE;
    }
    return t->grad;
}

tg_real *tg__grad_for_write(tg_tensor *t, bool *overwrite) {
    *overwrite = false;
    if (!tg__needs_grad(t)) return NULL;
    if (t->grad && (t->flags & TG_T_GRAD_STALE)) {
        t->flags &= ~(unsigned)TG_T_GRAD_STALE;
        *overwrite = true;
        return t->grad;
    }
    return tg__grad_buf(t);
}
