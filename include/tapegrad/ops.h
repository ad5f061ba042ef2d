/* tapegrad/ops.h: differentiable operations.
 *
 * Every op is eager: it checks its inputs, computes its output at once and, when the
 * graph records gradients, appends a node to the tape. The output is a new tensor in
 * the graph's arena (never a view: ops do not alias their inputs). On a user mistake
 * an op returns NULL and records the graph's first error with a message naming the op
 * and the shapes, e.g. "matmul: inner dimensions differ: [2,3] @ [4,5]"; an op given
 * a NULL input, or called on a graph already in error, returns NULL at once.
 *
 * Inputs must belong to the same graph g as the call. Broadcasting follows NumPy:
 * shapes are aligned from the right, and a dimension of 1 (or a missing one)
 * stretches to the other's size; the gradient of a broadcast input is summed back
 * to its own shape.
 */
#ifndef TAPEGRAD_OPS_H
#define TAPEGRAD_OPS_H

#include "tapegrad/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- elementwise binary, broadcasting ---------------------------------------- */
TG_API tg_tensor *tg_add(tg_graph *g, tg_tensor *a, tg_tensor *b); /* a + b */
TG_API tg_tensor *tg_sub(tg_graph *g, tg_tensor *a, tg_tensor *b); /* a - b */
TG_API tg_tensor *tg_mul(tg_graph *g, tg_tensor *a, tg_tensor *b); /* a * b */
TG_API tg_tensor *tg_div(tg_graph *g, tg_tensor *a, tg_tensor *b); /* a / b (IEEE: x/0 = inf) */

/* ---- elementwise unary ------------------------------------------------------- */
TG_API tg_tensor *tg_neg(tg_graph *g, tg_tensor *a);   /* -a */
TG_API tg_tensor *tg_exp(tg_graph *g, tg_tensor *a);   /* e^a */
TG_API tg_tensor *tg_log(tg_graph *g, tg_tensor *a);   /* ln a; ln 0 = -inf, ln(<0) = NaN */
TG_API tg_tensor *tg_sqrt(tg_graph *g, tg_tensor *a);  /* sqrt a */
TG_API tg_tensor *tg_abs(tg_graph *g, tg_tensor *a);   /* |a|; gradient sign(a), 0 at 0 */
/* a^exponent for a real exponent; gradient exponent * a^(exponent-1). */
TG_API tg_tensor *tg_pow(tg_graph *g, tg_tensor *a, tg_real exponent);
/* min(max(a, lo), hi); gradient 1 strictly inside (lo, hi), 0 outside. lo <= hi or error. */
TG_API tg_tensor *tg_clamp(tg_graph *g, tg_tensor *a, tg_real lo, tg_real hi);

/* ---- activations --------------------------------------------------------------- */
TG_API tg_tensor *tg_relu(tg_graph *g, tg_tensor *a);     /* max(0, a); gradient 0 at 0 */
/* a if a > 0 else slope * a */
TG_API tg_tensor *tg_leaky_relu(tg_graph *g, tg_tensor *a, tg_real slope);
/* a if a > 0 else alpha * (e^a - 1) */
TG_API tg_tensor *tg_elu(tg_graph *g, tg_tensor *a, tg_real alpha);
/* a * Phi(a), the exact (erf) form */
TG_API tg_tensor *tg_gelu(tg_graph *g, tg_tensor *a);
TG_API tg_tensor *tg_softplus(tg_graph *g, tg_tensor *a); /* ln(1 + e^a), stable */
TG_API tg_tensor *tg_sigmoid(tg_graph *g, tg_tensor *a);  /* 1 / (1 + e^-a), stable */
TG_API tg_tensor *tg_tanh(tg_graph *g, tg_tensor *a);     /* tanh a */

/* ---- matrix product ------------------------------------------------------------ */
/* [m,k] @ [k,n] -> [m,n]; [B,m,k] @ [B,k,n] -> [B,m,n]; a batch of 1 (or a 2-D
 * operand) broadcasts against the other's batch: [B,m,k] @ [k,n] -> [B,m,n]. */
TG_API tg_tensor *tg_matmul(tg_graph *g, tg_tensor *a, tg_tensor *b);

/* ---- reductions ---------------------------------------------------------------- */
/* Over one axis (negative counts from the end) or every axis (TG_ALL). keepdim keeps
 * the reduced axis with size 1. Sums accumulate in double and in an order fixed by the
 * shape, so results are the same for any thread count. A 0-d tensor takes TG_ALL only.
 * The sum over no elements is 0; their mean is NaN. */
TG_API tg_tensor *tg_sum(tg_graph *g, tg_tensor *a, int axis, bool keepdim);
TG_API tg_tensor *tg_mean(tg_graph *g, tg_tensor *a, int axis, bool keepdim);
/* Max and min: on ties the gradient is split evenly among the tied elements; NaN
 * propagates (and takes the gradient). Reducing an empty axis is an error. */
TG_API tg_tensor *tg_max(tg_graph *g, tg_tensor *a, int axis, bool keepdim);
TG_API tg_tensor *tg_min(tg_graph *g, tg_tensor *a, int axis, bool keepdim);
/* Variance: sum((a - mean)^2) / (N - correction); correction 0 = population,
 * 1 = sample (unbiased). correction must be >= 0 and N - correction positive. */
TG_API tg_tensor *tg_var(tg_graph *g, tg_tensor *a, int axis, bool keepdim, int correction);

/* ---- softmax ------------------------------------------------------------------- */
/* Along one axis; stable for logits of any magnitude (the max is subtracted). */
TG_API tg_tensor *tg_softmax(tg_graph *g, tg_tensor *a, int axis);
TG_API tg_tensor *tg_log_softmax(tg_graph *g, tg_tensor *a, int axis);

/* ---- shape ----------------------------------------------------------------------- */
/* Same elements, new shape; one dimension may be -1 (inferred). Copies. */
TG_API tg_tensor *tg_reshape(tg_graph *g, tg_tensor *a, int ndim, const int *shape);
/* Swaps two axes (negative counts from the end). */
TG_API tg_tensor *tg_transpose(tg_graph *g, tg_tensor *a, int dim0, int dim1);
/* Output axis i is input axis perm[i]; perm holds tg_ndim(a) distinct axes. */
TG_API tg_tensor *tg_permute(tg_graph *g, tg_tensor *a, const int *perm);
/* Joins n >= 1 tensors along axis; all other dimensions must agree. */
TG_API tg_tensor *tg_concat(tg_graph *g, int n, tg_tensor *const *ts, int axis);
/* Elements start, start+step, ... before stop along one axis, Python style:
 * negative start/stop count from the end and are clipped to the axis; step >= 1. */
TG_API tg_tensor *tg_slice(tg_graph *g, tg_tensor *a, int axis, int start, int stop, int step);
/* Broadcasts a to the given shape (NumPy rules); the gradient sums back. */
TG_API tg_tensor *tg_broadcast_to(tg_graph *g, tg_tensor *a, int ndim, const int *shape);

/* ---- layers -------------------------------------------------------------------- */
/* Fully connected: y = x @ w^T + b. x is [..., in] with 2 or more dimensions (the
 * leading ones are flattened into rows), w is [out, in] (PyTorch's layout) and b is
 * [out] or NULL (no bias); y is [..., out]. One fused op: a single matrix product with
 * w's transpose folded in (nothing is copied), then gradients dx += dy @ w,
 * dw += dy^T @ x and db += the column sums of dy, each straight into the gradient
 * buffer. Equal to tg_add(g, tg_matmul(g, x, tg_transpose(g, w, 0, 1)), b), faster. */
TG_API tg_tensor *tg_linear(tg_graph *g, tg_tensor *x, tg_tensor *w, tg_tensor *b);
/* Inverted dropout. In training mode (tg_graph_training, the default) each element is
 * zeroed with probability p and the others are scaled by 1 / (1 - p), so the expected
 * value is unchanged; the mask is drawn from the graph's generator (tg_seed: the same
 * seed gives the same mask) and kept for backward, whose gradient is dy times the same
 * mask and scale. In evaluation mode, or when p == 0, the output is a copy of x (still
 * recorded, identity gradient) and no random numbers are drawn. 0 <= p < 1, else a
 * TG_ERR_ARG error. */
TG_API tg_tensor *tg_dropout(tg_graph *g, tg_tensor *x, tg_real p);

/* ---- normalisation ------------------------------------------------------------- */
/* Batch normalisation over axis 1 (channels): x is [N, C], [N, C, L], [N, C, H, W] (any
 * [N, C, ...]); y = (x - mean_c) / sqrt(var_c + eps) * gamma_c + beta_c. gamma and beta
 * are [C] or NULL (then 1 and 0). running_mean and running_var are [C] tensors given
 * together or both NULL; they are buffers, never differentiated: they must not require
 * gradients (a parameter made for them is frozen with tg_set_requires_grad(t, false);
 * persistent tensors are accepted from any graph).
 * Training mode (tg_graph_training): mean_c and var_c are the batch statistics over
 * the n = N * (L or H*W) values of channel c, var the biased one; n > 1 is required
 * (else TG_ERR_SHAPE, as in PyTorch). When running statistics are given they are then
 * updated IN PLACE, PyTorch style: running = (1 - momentum) * running + momentum *
 * batch_stat, with the UNBIASED batch variance (times n / (n - 1)) for running_var.
 * That update is a side effect of the forward call, not part of the graph: it happens
 * even in no-grad mode, and a graph that runs forward again (tg_gradcheck evaluates a
 * function many times) updates them each time. Backward: the full batch-norm gradient
 * dx = gamma invstd / n (n dy - sum(dy) - xhat sum(dy xhat)), dgamma = sum(dy xhat),
 * dbeta = sum(dy), sums per channel in double.
 * Evaluation mode: the running statistics normalise (TG_ERR_ARG if NULL), so the op is
 * an affine map with dx = dy gamma invstd; dgamma and dbeta as above.
 * 0 <= momentum <= 1 and eps >= 0 (finite), else TG_ERR_ARG. Results do not depend on
 * the thread count. */
TG_API tg_tensor *tg_batch_norm(tg_graph *g, tg_tensor *x, tg_tensor *gamma, tg_tensor *beta,
                                tg_tensor *running_mean, tg_tensor *running_var, tg_real momentum,
                                tg_real eps);
/* Layer normalisation over the last normalized_ndim dims of x (1 <= normalized_ndim <=
 * ndim(x), else TG_ERR_ARG): each group of those trailing elements is normalised by its
 * own mean and biased variance, y = (x - mean) / sqrt(var + eps) * gamma + beta, with
 * gamma and beta of that trailing shape (elementwise) or NULL (1 and 0). The same in
 * training and evaluation mode. eps >= 0 (finite). */
TG_API tg_tensor *tg_layer_norm(tg_graph *g, tg_tensor *x, int normalized_ndim, tg_tensor *gamma,
                                tg_tensor *beta, tg_real eps);

/* ---- embedding ------------------------------------------------------------------- */
/* Table lookup: weight is [V, D]; indices holds prod(shape) int32 values of the given
 * shape (ndim 0..TG_MAX_DIMS-1; ndim 0 is one index), each in [0, V), else TG_ERR_ARG
 * naming the position and the value. The indices are copied (the caller keeps its
 * array). y is [shape..., D] with y[i, :] = weight[indices[i], :]. Backward adds each
 * dy row into the weight row it came from: repeated indices accumulate, in index order,
 * so the result is the same for any thread count. */
TG_API tg_tensor *tg_embedding(tg_graph *g, tg_tensor *weight, const int32_t *indices, int ndim,
                               const int *shape);

/* ---- sequences: stack, select, unstack --------------------------------------------- */
/* Stacks n >= 1 tensors of one shape along a new axis (0..ndim, negative counts from
 * the end of the output: -1 appends it): T tensors [B, D] at axis 0 give [T, B, D].
 * The same tensor may appear more than once (its gradient gets each share). */
TG_API tg_tensor *tg_stack(tg_graph *g, int n, tg_tensor *const *ts, int axis);
/* Picks one position of an axis and removes the axis: [T, B, D] select(0, t) gives
 * [B, D]. Negative axis and index count from the end; an index outside the axis is
 * TG_ERR_ARG. Backward adds dy into that slice of dx. A copy, never a view. */
TG_API tg_tensor *tg_select(tg_graph *g, tg_tensor *x, int axis, int index);
/* Splits x along axis into its n = shape[axis] slices: out[i] = tg_select(g, x, axis, i)
 * for i < n. Returns n, or -1 on error (the graph's error says why: x NULL, a bad axis,
 * n > max_out, out NULL). The inverse of tg_stack on the same axis. */
TG_API int tg_unstack(tg_graph *g, tg_tensor *x, int axis, tg_tensor **out, int max_out);

/* ---- convolution and pooling (NCHW) ---------------------------------------------------
 * Options of a convolution; zero fields mean the defaults: stride 1, padding 0,
 * dilation 1, groups 1. Index [0] is the height axis, [1] the width axis; conv1d reads
 * [0] only (and applies it along L). NULL options are all defaults. Negative values
 * are a TG_ERR_ARG error. */
typedef struct tg_conv_opts {
    int stride[2], padding[2], dilation[2], groups;
} tg_conv_opts;
/* 2-D convolution (cross-correlation, as PyTorch's conv2d): x [N,C,H,W], w
 * [O,C/groups,KH,KW], b [O] or NULL (no bias) -> y [N,O,OH,OW] with
 * OH = (H + 2 padding - dilation (KH - 1) - 1) / stride + 1 (floor; OW likewise),
 *   y[n,o,i,j] = b[o] + sum_{c,kh,kw} w[o,c,kh,kw] x[n, g(o) C/groups + c,
 *                i stride - padding + kh dilation, j stride - padding + kw dilation]
 * with zeros outside x. Gradients accumulate into x, w and b. Errors (the graph's,
 * naming the op and the shapes): x or w not 4-D, channels that do not match
 * ("conv2d: input has 3 channels but weight [8,4,3,3] expects 4 (groups 1)"), C or O
 * not divisible by groups, a bias that is not [O], an output size <= 0, bad options.
 * Computed as im2col + matrix products (docs/conv.md), deterministic for any thread
 * count. */
TG_API tg_tensor *tg_conv2d(tg_graph *g, tg_tensor *x, tg_tensor *w, tg_tensor *b,
                            const tg_conv_opts *o);
/* 1-D convolution: x [N,C,L], w [O,C/groups,K], b [O] or NULL -> y [N,O,OL],
 * OL = (L + 2 padding - dilation (K - 1) - 1) / stride + 1; options from index [0]. */
TG_API tg_tensor *tg_conv1d(tg_graph *g, tg_tensor *x, tg_tensor *w, tg_tensor *b,
                            const tg_conv_opts *o);
/* Options of a pooling window: kernel [KH,KW] (each >= 1, required); stride 0 means the
 * kernel size (PyTorch's default); 0 <= padding <= kernel / 2. The output is
 * OH = (H + 2 padding - KH) / stride + 1 (floor, no ceil_mode); OW likewise. */
typedef struct tg_pool_opts {
    int kernel[2], stride[2], padding[2];
} tg_pool_opts;
/* Max over each window of x [N,C,H,W] -> [N,C,OH,OW]. Padding counts as -inf. The
 * gradient goes to the maximum: the first one in row-major order on ties, as PyTorch
 * (a NaN in a window is its maximum). The argmax indices are kept in the arena for
 * backward. o is required (NULL is a TG_ERR_NULL error). */
TG_API tg_tensor *tg_max_pool2d(tg_graph *g, tg_tensor *x, const tg_pool_opts *o);
/* Mean over each window of x [N,C,H,W] -> [N,C,OH,OW]; padding counts as zeros in the
 * mean (count_include_pad, PyTorch's default): the divisor is always KH KW. */
TG_API tg_tensor *tg_avg_pool2d(tg_graph *g, tg_tensor *x, const tg_pool_opts *o);
/* Mean over each plane: x [N,C,H,W] -> [N,C]. Empty planes (H W = 0) are an error. */
TG_API tg_tensor *tg_global_avg_pool2d(tg_graph *g, tg_tensor *x);

#ifdef __cplusplus
}
#endif
#endif
