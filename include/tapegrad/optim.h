/* tapegrad/optim.h: optimizers, learning-rate schedules and gradient clipping.
 *
 * An optimizer walks the flat value and gradient buffers of one tg_params store
 * (tapegrad/params.h) and updates every parameter that requires gradients; a
 * parameter frozen with tg_set_requires_grad(t, false) is left untouched, and so is
 * its optimizer state. Each update rule is exactly PyTorch 1.13's (torch.optim with
 * foreach=False, maximize=False), step for step: docs/optim.md gives the formulas.
 *
 *   tg_optim *opt = tg_adam_new(p, &(tg_adam_opts){...});   or
 *   tg_adam_opts ao = tg_adam_defaults(1e-3);  tg_optim *opt = tg_adam_new(p, &ao);
 *   for each batch: tg_optim_zero_grad(opt); forward; tg_backward(g, loss);
 *                   tg_clip_grad_norm(p, 1.0); tg_optim_step(opt);
 *
 * An optimizer keeps a pointer to its store, which must outlive it, and allocates all
 * of its state when it is made: tg_optim_step allocates nothing. Adding parameters to
 * the store after the optimizer was made is an error at the next step (make a new
 * optimizer). Every parameter always has a gradient buffer (zeros until a backward pass
 * reaches it), so unlike PyTorch, where a parameter whose .grad is None is skipped, a
 * parameter that requires gradients is always stepped (weight decay and momentum still
 * move it when its gradient is zero). Counters such as Adam's bias-correction step are
 * kept per parameter, as in PyTorch: a parameter frozen for a while does not advance.
 *
 * Errors: functions returning tg_status set tg_last_error() on failure; constructors
 * return NULL with tg_last_error() set. Nothing aborts on bad input.
 */
#ifndef TAPEGRAD_OPTIM_H
#define TAPEGRAD_OPTIM_H

#include "tapegrad/params.h"

#ifdef __cplusplus
extern "C" {
#endif

/* An optimizer (opaque). Made by tg_sgd_new / tg_adam_new / tg_adamw_new /
 * tg_rmsprop_new / tg_adagrad_new, freed by tg_optim_free. */
typedef struct tg_optim tg_optim;

/* ---- options and their PyTorch defaults ----------------------------------------------
 * Every option must be finite. The constructors check what PyTorch checks: lr,
 * weight_decay, eps, momentum, lr_decay, initial_accumulator_value, alpha >= 0; Adam's
 * betas in [0, 1); SGD's nesterov needs momentum > 0 and dampening == 0. */

/* SGD with optional momentum (torch.optim.SGD). Defaults: momentum 0, dampening 0,
 * weight_decay 0 (L2: added to the gradient), nesterov false. */
typedef struct tg_sgd_opts {
    double lr, momentum, dampening, weight_decay;
    bool nesterov;
} tg_sgd_opts;

/* Adam (torch.optim.Adam: weight_decay is L2, added to the gradient) and AdamW
 * (torch.optim.AdamW: decoupled, w -= lr * weight_decay * w before the Adam step).
 * Defaults: beta1 0.9, beta2 0.999, eps 1e-8, amsgrad false; weight_decay 0 for Adam,
 * 0.01 for AdamW. */
typedef struct tg_adam_opts {
    double lr, beta1, beta2, eps, weight_decay;
    bool amsgrad;
} tg_adam_opts;

/* RMSProp (torch.optim.RMSprop). Defaults: alpha 0.99, eps 1e-8, weight_decay 0 (L2),
 * momentum 0, centered false. */
typedef struct tg_rmsprop_opts {
    double lr, alpha, eps, weight_decay, momentum;
    bool centered;
} tg_rmsprop_opts;

/* Adagrad (torch.optim.Adagrad). Defaults: lr_decay 0, weight_decay 0 (L2),
 * initial_accumulator_value 0, eps 1e-10. */
typedef struct tg_adagrad_opts {
    double lr, lr_decay, weight_decay, initial_accumulator_value, eps;
} tg_adagrad_opts;

/* Options filled with PyTorch's defaults and the given learning rate (not checked
 * here: the constructor checks it). */
TG_API tg_sgd_opts tg_sgd_defaults(double lr);
TG_API tg_adam_opts tg_adam_defaults(double lr);
TG_API tg_adam_opts tg_adamw_defaults(double lr); /* as Adam's, weight_decay 0.01 */
TG_API tg_rmsprop_opts tg_rmsprop_defaults(double lr);
TG_API tg_adagrad_opts tg_adagrad_defaults(double lr);

/* ---- making and freeing ----------------------------------------------------------------
 * Each constructor makes an optimizer over every parameter in p (which must hold at
 * least one parameter, and which it does not own: p must outlive the optimizer). The
 * options are copied. The state buffers (momentum, moments, ...) are allocated here,
 * each as long as tg_params_flat_len(p), and zeroed (Adagrad's sum is filled with
 * initial_accumulator_value). The caller owns the result and frees it with
 * tg_optim_free. Returns NULL with tg_last_error() set on error: p or o NULL
 * (TG_ERR_NULL), an empty store or an option out of range (TG_ERR_ARG), out of memory
 * (TG_ERR_NOMEM). */
TG_API tg_optim *tg_sgd_new(tg_params *p, const tg_sgd_opts *o);
TG_API tg_optim *tg_adam_new(tg_params *p, const tg_adam_opts *o);
TG_API tg_optim *tg_adamw_new(tg_params *p, const tg_adam_opts *o);
TG_API tg_optim *tg_rmsprop_new(tg_params *p, const tg_rmsprop_opts *o);
TG_API tg_optim *tg_adagrad_new(tg_params *p, const tg_adagrad_opts *o);
/* Frees the optimizer and its state (not the store, not its schedulers: free those
 * first or never step them again). NULL is a no-op. */
TG_API void tg_optim_free(tg_optim *o);

/* ---- using ------------------------------------------------------------------------------ */

/* One update of every parameter that requires gradients, from its current gradient,
 * in one fused pass over each parameter's elements. Gradients are read, not cleared.
 * Allocates nothing. Returns TG_OK; TG_ERR_NULL for NULL; TG_ERR_STATE (nothing
 * updated) when parameters were added to the store after the optimizer was made. */
TG_API tg_status tg_optim_step(tg_optim *o);
/* Sets every gradient in the store to zero (tg_params_zero_grad). NULL is a no-op. */
TG_API void tg_optim_zero_grad(tg_optim *o);
/* The learning rate the next step will use (schedules change it); 0 for NULL. */
TG_API double tg_optim_lr(const tg_optim *o);
/* Sets the learning rate. A negative or non-finite lr is ignored and sets
 * tg_last_error() (TG_ERR_ARG); NULL is a no-op. */
TG_API void tg_optim_set_lr(tg_optim *o, double lr);
/* How many times tg_optim_step succeeded (restored by tg_optim_load); 0 for NULL. */
TG_API int64_t tg_optim_steps(const tg_optim *o);
/* "sgd", "adam", "adamw", "rmsprop" or "adagrad" (a constant string); NULL for NULL. */
TG_API const char *tg_optim_name(const tg_optim *o);

/* ---- checkpoints ------------------------------------------------------------------------
 * The optimizer's state in the checkpoint format of docs/checkpoint.md, kind
 * "optim:<name>" (e.g. "optim:adam"). Entries: "step" (tg_optim_steps) and "lr" (the
 * learning rate, a double) stored exactly as four 16-bit chunks each, most significant
 * first (shape [4]); "param_step" ([count, 4], each parameter's own step counter, same
 * encoding); then every state buffer as a flat 1-D tensor of tg_params_flat_len
 * elements, named as in PyTorch: SGD "momentum_buffer" (with momentum); Adam/AdamW
 * "exp_avg", "exp_avg_sq", "max_exp_avg_sq" (amsgrad); RMSProp "square_avg",
 * "momentum_buffer" (momentum > 0), "grad_avg" (centered); Adagrad "sum". The options
 * themselves are not saved: make the optimizer with the same options, then load.
 * Together with the parameters' own checkpoint, training resumes bit for bit.
 *
 * tg_optim_save never damages an existing file (a temporary is written, then renamed).
 * Returns TG_OK, TG_ERR_NULL, TG_ERR_IO, TG_ERR_UNSUPPORTED (a store over INT_MAX
 * elements). tg_optim_load reads and checks the whole file before changing anything:
 * a file of another optimizer or options (kind or entries differ: TG_ERR_FORMAT), of a
 * store of another size or parameter count (TG_ERR_FORMAT), truncated or corrupted
 * (TG_ERR_FORMAT), or unreadable (TG_ERR_IO) leaves the optimizer untouched. It restores
 * the step counters, the learning rate and the state buffers. */
TG_API tg_status tg_optim_save(const tg_optim *o, const char *path);
TG_API tg_status tg_optim_load(tg_optim *o, const char *path);

/* ---- learning-rate schedules ------------------------------------------------------------
 * A schedule sets its optimizer's learning rate each time it is stepped, exactly like
 * PyTorch's schedulers (their chainable, recursive forms). Making one records the
 * optimizer's lr as the base lr and applies epoch 0 (only warm-up changes the lr then).
 * Call tg_sched_step after tg_optim_step, once per epoch or once per step: the
 * schedule counts calls, whatever they mean to you. A schedule keeps a pointer to its
 * optimizer, which must outlive every step of the schedule. The caller owns it and
 * frees it with tg_sched_free. Constructors return NULL with tg_last_error() set for a
 * NULL optimizer (TG_ERR_NULL), an argument out of range (TG_ERR_ARG) or out of memory
 * (TG_ERR_NOMEM). Schedules are not saved in optimizer checkpoints. */
typedef struct tg_sched tg_sched;

/* StepLR: lr = base * gamma^floor(epoch / step_size). step_size >= 1, gamma >= 0. */
TG_API tg_sched *tg_sched_step_new(tg_optim *o, int step_size, double gamma);
/* ExponentialLR: lr = base * gamma^epoch. gamma >= 0. */
TG_API tg_sched *tg_sched_exponential_new(tg_optim *o, double gamma);
/* CosineAnnealingLR: lr = eta_min + (base - eta_min) (1 + cos(pi epoch / t_max)) / 2,
 * and beyond t_max it rises again (PyTorch's recursive form, period 2 t_max).
 * t_max >= 1, eta_min >= 0. */
TG_API tg_sched *tg_sched_cosine_new(tg_optim *o, int t_max, double eta_min);
/* Linear warm-up: lr = base * (start_factor + (1 - start_factor) epoch / warmup_steps)
 * for epoch < warmup_steps (PyTorch LinearLR, end_factor 1). Then, when after is not
 * NULL, PyTorch SequentialLR(milestones = [warmup_steps]): at epoch warmup_steps the lr
 * goes back to after's base lr and after runs from its epoch 0 (a plateau schedule
 * then gets the metrics passed to tg_sched_step_metric); when after is NULL the lr stays
 * at base. warmup_steps >= 1, 0 < start_factor <= 1. after must be a schedule of the
 * same optimizer, made before this one and not given to another warm-up. The warm-up
 * takes ownership of after, even when it fails (then after is freed), except when after
 * already belongs to another warm-up (then it is left alone). Note: a NULL after means
 * "no follow-up": check the result of after's constructor before passing it. */
TG_API tg_sched *tg_sched_warmup_new(tg_optim *o, int warmup_steps, double start_factor,
                                     tg_sched *after);
/* ReduceLROnPlateau, mode "min", threshold_mode "rel": a metric counts as an
 * improvement when metric < best * (1 - threshold); after more than patience epochs
 * without one, lr = max(lr * factor, min_lr) (skipped when that changes lr by 1e-8 or
 * less), then cooldown epochs during which bad epochs are not counted. PyTorch's
 * defaults: factor 0.1, patience 10, threshold 1e-4, cooldown 0, min_lr 0.
 * 0 <= factor < 1, patience >= 0, threshold >= 0, cooldown >= 0, min_lr >= 0. */
TG_API tg_sched *tg_sched_plateau_new(tg_optim *o, double factor, int patience, double threshold,
                                      int cooldown, double min_lr);
/* Advances the schedule by one epoch and sets the optimizer's lr. A plateau schedule
 * needs a metric: tg_sched_step on it changes nothing and sets tg_last_error()
 * (TG_ERR_STATE). NULL is a no-op. */
TG_API void tg_sched_step(tg_sched *s);
/* As tg_sched_step, giving the epoch's metric (e.g. the validation loss) to a plateau
 * schedule (or to a warm-up's plateau follow-up); other schedules ignore the metric. A
 * NaN metric counts as no improvement. NULL is a no-op. */
TG_API void tg_sched_step_metric(tg_sched *s, double metric);
/* The lr the schedule last set (PyTorch's get_last_lr()); 0 for NULL. */
TG_API double tg_sched_lr(const tg_sched *s);
/* Frees the schedule and the warm-up's follow-up schedule. The optimizer is not
 * touched. NULL is a no-op. */
TG_API void tg_sched_free(tg_sched *s);

/* ---- gradient clipping ------------------------------------------------------------------
 * Both work on the gradients of the parameters that require gradients (a frozen
 * parameter's gradient is neither counted nor changed, as PyTorch skips grads that are
 * None). */

/* torch.nn.utils.clip_grad_norm_ with norm_type 2: computes the global L2 norm of all
 * those gradients (in double) and, when coef = max_norm / (norm + 1e-6) is below 1,
 * multiplies every gradient by coef. Returns the norm before clipping. A non-finite
 * norm (a gradient is NaN or inf) is returned and the gradients are left as they are
 * (PyTorch would multiply them by NaN). Returns -1 (and sets tg_last_error) for NULL p
 * or a negative or NaN max_norm. */
TG_API double tg_clip_grad_norm(tg_params *p, double max_norm);
/* torch.nn.utils.clip_grad_value_: clamps every such gradient element into
 * [-clip, clip] (NaN stays NaN). A NULL p, or a negative or NaN clip, changes nothing
 * and sets tg_last_error (TG_ERR_NULL / TG_ERR_ARG). */
TG_API void tg_clip_grad_value(tg_params *p, double clip);

#ifdef __cplusplus
}
#endif
#endif
