/* tapegrad/loss.h: loss functions and weight penalties.
 *
 * Every loss is an ordinary function of the graph: it returns a tensor in g's arena
 * (a 0-d tensor for TG_REDUCE_MEAN and TG_REDUCE_SUM, the per-element or per-sample
 * losses for TG_REDUCE_NONE) and its gradient comes from op rules, so tg_backward works
 * on it like on any other tensor. Definitions and reductions follow PyTorch's
 * torch.nn.functional losses of the same name (default arguments, no weights).
 *
 * Errors follow the op rules of tapegrad/ops.h: on a mistake the loss returns NULL and
 * records the graph's first error, naming the loss and the shapes, e.g.
 * "mse_loss: input [4,3] and target [4] differ in shape (no broadcasting)";
 * given a NULL input or a graph in error it returns NULL at once. Losses never
 * broadcast: pred and target must have the same shape. An unknown reduction is a
 * TG_ERR_ARG error.
 */
#ifndef TAPEGRAD_LOSS_H
#define TAPEGRAD_LOSS_H

#include "tapegrad/params.h"

#ifdef __cplusplus
extern "C" {
#endif

/* How per-element losses become the result. */
typedef enum tg_reduction {
    TG_REDUCE_MEAN, /* their mean, a 0-d tensor (the mean of no elements is NaN) */
    TG_REDUCE_SUM,  /* their sum, a 0-d tensor */
    TG_REDUCE_NONE  /* no reduction: one loss per element (per sample for class losses) */
} tg_reduction;

/* ---- regression ------------------------------------------------------------------- */

/* (pred - target)^2 per element. */
TG_API tg_tensor *tg_mse_loss(tg_graph *g, tg_tensor *pred, tg_tensor *target, tg_reduction r);
/* |pred - target| per element; gradient sign(pred - target), 0 where they are equal. */
TG_API tg_tensor *tg_l1_loss(tg_graph *g, tg_tensor *pred, tg_tensor *target, tg_reduction r);
/* PyTorch's HuberLoss: with d = pred - target,
 *     0.5 d^2                   where |d| < delta,
 *     delta (|d| - 0.5 delta)   elsewhere.
 * delta > 0 (finite) or a TG_ERR_ARG error. Smooth L1 (PyTorch SmoothL1Loss) with
 * beta = delta is this loss divided by delta: smooth_l1(beta) = huber(beta) / beta,
 * e.g. tg_div(g, tg_huber_loss(g, p, t, beta, r), tg_scalar(g, beta)). */
TG_API tg_tensor *tg_huber_loss(tg_graph *g, tg_tensor *pred, tg_tensor *target, tg_real delta,
                                tg_reduction r);

/* ---- binary classification ---------------------------------------------------------- */

/* Binary cross-entropy of probabilities: -(t log p + (1 - t) log(1 - p)), with each log
 * clamped at -100 as PyTorch does, so probs of exactly 0 or 1 give a finite loss (at
 * most 100 per element). probs must lie in [0, 1] (else a TG_ERR_ARG error naming the
 * element); target is usually 0 or 1 but any value in [0, 1] works (soft labels).
 * One fused op ("bce"); its gradient is PyTorch's: d/dp = (p - t) / max(p (1 - p), 1e-12)
 * (finite at p = 0 and 1), d/dt = log(1 - p) - log(p) with the same clamps. Prefer
 * tg_bce_with_logits_loss on logits: it is exact where sigmoid saturates. */
TG_API tg_tensor *tg_bce_loss(tg_graph *g, tg_tensor *probs, tg_tensor *target, tg_reduction r);
/* Binary cross-entropy of sigmoid(logits), computed stably as
 *     max(x, 0) - x t + log(1 + e^-|x|),
 * exact and finite for logits of any size (+-1e4 included). One fused op
 * ("bce_with_logits") with gradient d/dx = sigmoid(x) - t, d/dt = -x. */
TG_API tg_tensor *tg_bce_with_logits_loss(tg_graph *g, tg_tensor *logits, tg_tensor *target,
                                          tg_reduction r);
/* Binary hinge loss max(0, 1 - t s) per element, targets t in {-1, +1} (anything else
 * is a TG_ERR_ARG error naming the element: {0, 1} labels must be mapped to -1/+1).
 * Gradient -t where t s < 1, 0 elsewhere (0 at the kink t s = 1). */
TG_API tg_tensor *tg_hinge_loss(tg_graph *g, tg_tensor *scores, tg_tensor *target,
                                tg_reduction r);

/* ---- multi-class classification ----------------------------------------------------- */

/* Cross-entropy of logits [N, C] against class labels: N ints in [0, C), copied into the
 * arena (the caller keeps labels; NULL is allowed only when N == 0). One fused op
 * ("cross_entropy"): log-softmax and the negative log-likelihood together, stable for
 * logits of any size (+-1e4 give exact, finite losses). Per sample i,
 *     loss_i = -sum_c q_ic log softmax(x_i)_c,  q_i = (1 - ls) onehot(label_i) + ls / C,
 * label smoothing ls in [0, 1] as in PyTorch (0 = plain cross-entropy). The gradient is
 * (softmax(x_i) - q_i) times the gradient of loss_i. TG_REDUCE_NONE returns [N]; mean
 * divides the sum by N. Errors: logits not 2-D or with C == 0 (TG_ERR_SHAPE), a label
 * out of range (TG_ERR_ARG, naming its index and value), ls outside [0, 1]. */
TG_API tg_tensor *tg_cross_entropy_loss(tg_graph *g, tg_tensor *logits, const int32_t *labels,
                                        tg_reduction r, tg_real label_smoothing);
/* Negative log-likelihood of log-probabilities logp [N, C] (from tg_log_softmax):
 * loss_i = -logp[i, label_i]. labels as for tg_cross_entropy_loss. One op ("nll"),
 * gradient -1 at each label (times the gradient of loss_i), 0 elsewhere.
 * tg_nll_loss(g, tg_log_softmax(g, x, 1), y, r) equals tg_cross_entropy_loss(g, x, y, r, 0)
 * (the fused op is faster). */
TG_API tg_tensor *tg_nll_loss(tg_graph *g, tg_tensor *logp, const int32_t *labels,
                              tg_reduction r);

/* ---- weight penalties ------------------------------------------------------------------ */

/* lambda * sum |w| over every element of every trainable parameter in p (frozen ones,
 * tg_requires_grad false, such as batch norm's running statistics, are skipped), a 0-d
 * tensor to add to a
 * loss; its gradient lambda * sign(w) reaches each parameter's gradient in backward.
 * lambda must be finite and >= 0 (TG_ERR_ARG); p NULL is TG_ERR_NULL. A store without
 * parameters gives a constant 0. */
TG_API tg_tensor *tg_l1_penalty(tg_graph *g, tg_params *p, tg_real lambda);
/* lambda * sum w^2 = lambda ||w||^2 over every parameter; gradient 2 lambda w. Note the
 * factor: PyTorch's weight_decay wd adds wd * w to the gradient, which corresponds to
 * lambda = wd / 2 here. Arguments as for tg_l1_penalty. */
TG_API tg_tensor *tg_l2_penalty(tg_graph *g, tg_params *p, tg_real lambda);

#ifdef __cplusplus
}
#endif
#endif
