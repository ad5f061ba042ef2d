/* tapegrad/autograd.h: backward passes and gradient checking. */
#ifndef TAPEGRAD_AUTOGRAD_H
#define TAPEGRAD_AUTOGRAD_H

#include "tapegrad/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Reverse-mode pass from a one-element tensor. Seeds d loss = 1 and walks the tape
 * back from loss's node (the recording order is already a topological order: no
 * sort, no recursion, so a chain of any length works), applying the gradient rule of
 * every node that loss depends on through tensors requiring gradients.
 *
 * Gradients of leaves (tensors no op produced, such as inputs and parameters)
 * ACCUMULATE: calling backward twice adds the gradient twice; clear it with
 * tg_zero_grad. Gradients of intermediate tensors are recomputed by every pass and
 * hold the last pass's values. Only tensors that require gradients (and the op
 * outputs depending on them) receive one.
 *
 * Returns 0 on success; non-zero if g or loss is NULL, the graph is in error, loss
 * has more than one element, or loss does not require a gradient (nothing it depends
 * on requires one, or it was made in no-grad mode); the graph's error says which. */
TG_API int tg_backward(tg_graph *g, tg_tensor *loss);

/* The same from any tensor y with a given seed gradient dy (tg_numel(y) elements,
 * copied into y's gradient, which then holds dy): computes the vector-Jacobian product
 * dy^T * dy/dx into every leaf x. */
TG_API int tg_backward_from(tg_graph *g, tg_tensor *y, const tg_real *dy);

/* ---- gradient checking ----------------------------------------------------------- */

/* Builds a one-element tensor from the inputs, using ops on g only. Called many times;
 * it must compute the same function each time (seed any randomness from user). */
typedef tg_tensor *(*tg_gradcheck_fn)(tg_graph *g, tg_tensor *const *inputs, int ninputs,
                                      void *user);

typedef struct tg_gradcheck_input {
    int ndim;
    const int *shape;
    const tg_real *data; /* numel values, copied; the point where gradients are checked */
    bool check;          /* false: a constant input, not perturbed or compared */
} tg_gradcheck_input;

typedef struct tg_gradcheck_opts {
    double eps;  /* central-difference step; 0 = default (1e-6 double, 1e-3 float) */
    double atol; /* pass when |analytic - numeric| <= atol + rtol * |numeric| */
    double rtol; /* 0 for both atol and rtol = defaults (1e-6 / 1e-6 double, 1e-2 / 1e-2 float) */
} tg_gradcheck_opts;

typedef struct tg_gradcheck_report {
    bool passed;
    int64_t checked;     /* elements compared */
    int64_t kinks;       /* elements where a kink lay within eps (see below) */
    int worst_input;     /* input and element with the largest error, or -1 */
    int64_t worst_index;
    double analytic, numeric; /* at the worst element */
    double abs_err, rel_err;
    char message[256];   /* one line: what passed or failed, and where */
} tg_gradcheck_report;

/* Compares the gradients that tg_backward computes for fn with central differences
 * (f(x+eps) - f(x-eps)) / 2eps, element by element, for every input with check set.
 * Runs fn in a private graph (the inputs are copied into it); fn's graph is reset
 * between evaluations.
 *
 * Kinks (relu or abs at 0, max ties, clamp bounds): when the central difference
 * rejects an element and its one-sided slopes (f(x+eps)-f(x))/eps and
 * (f(x)-f(x-eps))/eps differ by more than the tolerance, a kink lies within eps of x.
 * There the element passes if the analytic value lies between the two one-sided
 * slopes (within tolerance), i.e. it is a valid subgradient; it is counted in
 * report->kinks.
 *
 * opts and report may be NULL (defaults; no report). Returns TG_OK when every element
 * passed, TG_ERR_NUMERIC when one did not (the report says which), or another status
 * if fn failed (its graph error is in tg_last_error), returned a tensor of more than
 * one element, or the arguments are invalid. */
TG_API tg_status tg_gradcheck(tg_gradcheck_fn fn, int ninputs, const tg_gradcheck_input *inputs,
                              void *user, const tg_gradcheck_opts *opts,
                              tg_gradcheck_report *report);

#ifdef __cplusplus
}
#endif
#endif
