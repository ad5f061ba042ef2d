/* src/graph/backward.c: the reverse pass.
 *
 * Sort: an iterative depth-first search from the output over inputs that require
 * gradients gives the reachable nodes in post-order (every node after its inputs).
 * An explicit stack replaces recursion, so a chain of any length works.
 * Walk: intermediate gradients are zeroed, the output is seeded, and each node's rule
 * runs in reverse order, accumulating into its inputs' gradients. */
#include "internal.h"

typedef struct frame {
    tg_node *node;
    int next; /* the next input to visit */
} frame;

/* Fills order[] with the nodes reachable from root, inputs first. Returns the count. */
static int64_t topo_sort(tg_graph *g, tg_node *root, tg_node **order, frame *stack) {
    if (++g->epoch == 0) { /* marks wrapped around: clear them once */
        for (int64_t i = 0; i < g->ntape; i++) g->tape[i]->mark = 0;
        g->epoch = 1;
    }
    const unsigned epoch = g->epoch;
    int64_t norder = 0, top = 0;
    root->mark = epoch;
    stack[top++] = (frame){root, 0};
    while (top > 0) {
        frame *f = &stack[top - 1];
        if (f->next < f->node->nin) {
            tg_tensor *in = f->node->in[f->next++];
            tg_node *child = in->node;
            if (child && child->mark != epoch && tg__needs_grad(in) && in->g == g) {
                child->mark = epoch;
                stack[top++] = (frame){child, 0};
            }
        } else {
            order[norder++] = f->node;
            top--;
        }
    }
    return norder;
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

    tg_node **order = tg__alloc(g, (size_t)g->ntape * sizeof *order);
    frame *stack = tg__alloc(g, (size_t)g->ntape * sizeof *stack);
    if (!order || !stack) return -1;
    int64_t n = topo_sort(g, y->node, order, stack);

    for (int64_t i = 0; i < n; i++) {
        tg_tensor *t = order[i]->out;
        tg_real *gt = tg__grad_buf(t);
        if (!gt) return -1;
        memset(gt, 0, (size_t)t->numel * sizeof(tg_real));
    }
    for (int64_t i = 0; i < y->numel; i++) y->grad[i] = dy ? dy[i] : 1;

    for (int64_t i = n - 1; i >= 0; i--) {
        tg_node *node = order[i];
        if (!node->op->backward) {
            tg__fail(g, TG_ERR_STATE, "%s: op %s has no gradient rule", fn, node->op->name);
            return -1;
        }
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
