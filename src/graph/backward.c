/* src/graph/backward.c: the reverse pass.
 *
 * The tape is already in topological order: a node is recorded when its op runs, and
 * every input of that op existed (its own node recorded) before. So the reverse pass
 * is one walk down the tape from the output's node: a node is run when it is marked
 * (reachable from the output through inputs that require gradients), and before it
 * runs, each of its inputs' nodes not yet marked is marked and its output's gradient
 * set to zero. Every consumer of a tensor comes after it on the tape, so by the time
 * the walk reaches a node, every rule that adds into its gradient has run, and that
 * gradient was zero before the first of them. No sort, no stack, no recursion: a
 * chain of any length works, and each node is touched once.
 *
 * "Set to zero" is lazy: the buffer is only marked stale (TG_T_GRAD_STALE), and the
 * first rule to reach it either zeroes it (tg__grad_buf, then adds) or, when it writes
 * every element anyway, stores instead of adding (tg__grad_for_write): a linear layer's
 * input gradient is then one product with beta = 0, with no pass to clear it first. A
 * node whose gradient no rule reached is zeroed before its own rule reads it. */
#include <string.h>

#include "internal.h"

/* The walk is a chain of dependent loads (tape entry, node, its inputs' headers, their
 * gradients) over memory long out of cache on a large graph: request the node a few
 * places ahead, and the input headers of one nearer, so the misses overlap. */
#define AHEAD_NODE   8
#define AHEAD_INPUTS 4
#if defined(__GNUC__)
__attribute__((always_inline)) /* else gcc finds it has no effect and drops the calls */
#endif
static inline void
prefetch_ahead(tg_node *const *tape, int64_t i) {
#if defined(__GNUC__)
    if (i >= AHEAD_NODE) __builtin_prefetch(tape[i - AHEAD_NODE]);
    if (i >= AHEAD_INPUTS) {
        const tg_node *n = tape[i - AHEAD_INPUTS];
        __builtin_prefetch(n->out);
        for (int k = 0; k < n->nin && k < TG_NODE_INLINE_IN; k++) __builtin_prefetch(n->in[k]);
    }
#else
    (void)tape, (void)i;
#endif
}

/* Marks the node producing t (when t is an intermediate of g that requires a gradient
 * and is not marked yet) and gives t a gradient buffer marked stale: to be zeroed, or
 * overwritten, by the first rule that reaches it. False if memory ran out. */
static inline bool discover(tg_graph *g, tg_tensor *t, unsigned epoch) {
    tg_node *n = t->node;
    if (!n || n->mark == epoch || !tg__needs_grad(t) || t->g != g) return true;
    n->mark = epoch;
    if (!t->grad) {
        t->grad = tg__alloc(g, (size_t)t->numel * sizeof(tg_real));
        if (!t->grad) return false;
    }
    t->flags |= TG_T_GRAD_STALE;
    return true;
}

static int run_backward(tg_graph *g, tg_tensor *y, const tg_real *dy, const char *fn) {
    char buf[TG_SHAPE_STR];
    if (!g) {
        tg__set_error(TG_ERR_NULL, "%s: graph is NULL", fn);
        return -1;
    }
    if (tg__failed(g)) return -1;
    if (!y) {
        tg__fail(g, TG_ERR_NULL, "%s: output tensor is NULL", fn);
        return -1;
    }
    if (y->g != g) {
        tg__fail(g, TG_ERR_STATE, "%s: the output belongs to another graph", fn);
        return -1;
    }
    if (!dy && y->numel != 1) {
        tg__fail(g, TG_ERR_SHAPE,
                 "%s: loss must have one element, got shape %s (%lld elements); "
                 "reduce it (tg_sum, tg_mean) or use tg_backward_from",
                 fn, TG_SHAPE(y, buf), (long long)y->numel);
        return -1;
    }
    if (!tg__needs_grad(y)) {
        tg__fail(g, TG_ERR_STATE,
                 "%s: the output does not require a gradient: no tensor it depends on "
                 "requires one (tg_set_requires_grad), or it was made in no-grad mode", fn);
        return -1;
    }
    if (y->node == NULL) {            /* a leaf: its gradient is the seed */
        tg_real *gy = tg__grad_buf(y);
        if (!gy) return -1;
        for (int64_t i = 0; i < y->numel; i++) gy[i] += dy ? dy[i] : 1;
        return 0;
    }

    if (++g->epoch == 0) { /* marks wrapped around: clear them once */
        for (int64_t i = 0; i < g->ntape; i++) g->tape[i]->mark = 0;
        g->epoch = 1;
    }
    const unsigned epoch = g->epoch;
    tg_node *root = y->node;
    root->mark = epoch;
    /* The seed overwrites every element: no zeroing pass first (on a conv layer's
     * output that pass alone is a sizeable part of the backward). */
    if (!y->grad) {
        y->grad = tg__alloc(g, (size_t)y->numel * sizeof(tg_real));
        if (!y->grad) return -1;
    }
    y->flags &= ~(unsigned)TG_T_GRAD_STALE;
    tg_real *gy = y->grad;
    if (dy)
        memcpy(gy, dy, (size_t)y->numel * sizeof *gy);
    else
        for (int64_t i = 0; i < y->numel; i++) gy[i] = 1;

    for (int64_t i = root->index; i >= 0; i--) {
        tg_node *node = g->tape[i];
        prefetch_ahead(g->tape, i);
        if (node->mark != epoch) continue;
        if (node->out->flags & TG_T_GRAD_STALE) tg__grad_buf(node->out); /* reached by none */
        if (!node->op->backward) {
            tg__fail(g, TG_ERR_STATE, "%s: op %s has no gradient rule", fn, node->op->name);
            return -1;
        }
        for (int k = 0; k < node->nin; k++)
            if (!discover(g, node->in[k], epoch)) return -1;
        node->op->backward(node);
        if (tg__failed(g)) return -1; /* a rule could not allocate */
    }
    return 0;
}

TG_API int tg_backward(tg_graph *g, tg_tensor *loss) {
    return run_backward(g, loss, NULL, "tg_backward");
}

TG_API int tg_backward_from(tg_graph *g, tg_tensor *y, const tg_real *dy) {
    if (g && !tg__failed(g) && y && !dy) {
        tg__fail(g, TG_ERR_NULL, "tg_backward_from: seed gradient dy is NULL");
        return -1;
    }
    return run_backward(g, y, dy, "tg_backward_from");
}
