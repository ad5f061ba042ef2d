/* src/ops/ops.h: what op files share: the op enum, their descriptors, helpers. */
#ifndef TG_OPS_OPS_H
#define TG_OPS_OPS_H

#include "../graph/internal.h"

/* Every op, in the ORDER of the table in registry.c. Keep in order. */
typedef enum tg_op_id {
    TG_OP_ADD, TG_OP_SUB, TG_OP_MUL, TG_OP_DIV,
    TG_OP_NEG, TG_OP_EXP, TG_OP_LOG, TG_OP_SQRT, TG_OP_ABS, TG_OP_POW, TG_OP_CLAMP,
    TG_OP_RELU, TG_OP_LEAKY_RELU, TG_OP_ELU, TG_OP_GELU, TG_OP_SOFTPLUS, TG_OP_SIGMOID,
    TG_OP_TANH,
    TG_OP_MATMUL,
    TG_OP_SUM, TG_OP_MEAN, TG_OP_MAX, TG_OP_MIN, TG_OP_VAR,
    TG_OP_SOFTMAX, TG_OP_LOG_SOFTMAX,
    TG_OP_RESHAPE, TG_OP_TRANSPOSE, TG_OP_PERMUTE, TG_OP_CONCAT, TG_OP_SLICE,
    TG_OP_BROADCAST_TO,
    TG_OP_LINEAR, TG_OP_DROPOUT,
    TG_OP_BCE, TG_OP_BCE_WITH_LOGITS, TG_OP_CROSS_ENTROPY, TG_OP_NLL,
    TG_OP_BATCH_NORM, TG_OP_LAYER_NORM, TG_OP_EMBEDDING, TG_OP_STACK, TG_OP_SELECT,
    TG_OP_CONV2D, TG_OP_CONV1D, TG_OP_MAX_POOL2D, TG_OP_AVG_POOL2D, TG_OP_GLOBAL_AVG_POOL2D,
    TG_OP_COUNT
} tg_op_id;

/* binary.c */
extern const tg_op tg__op_add, tg__op_sub, tg__op_mul, tg__op_div;
/* unary.c */
extern const tg_op tg__op_neg, tg__op_exp, tg__op_log, tg__op_sqrt, tg__op_abs, tg__op_pow,
    tg__op_clamp;
/* activation.c */
extern const tg_op tg__op_relu, tg__op_leaky_relu, tg__op_elu, tg__op_gelu, tg__op_softplus,
    tg__op_sigmoid, tg__op_tanh;
/* matmul.c */
extern const tg_op tg__op_matmul;
/* reduce.c */
extern const tg_op tg__op_sum, tg__op_mean, tg__op_max, tg__op_min, tg__op_var;
/* softmax.c */
extern const tg_op tg__op_softmax, tg__op_log_softmax;
/* shape.c */
extern const tg_op tg__op_reshape, tg__op_transpose, tg__op_permute, tg__op_broadcast_to;
/* join.c */
extern const tg_op tg__op_concat, tg__op_slice;
/* linear.c */
extern const tg_op tg__op_linear;
/* dropout.c */
extern const tg_op tg__op_dropout;
/* loss.c */
extern const tg_op tg__op_bce, tg__op_bce_with_logits, tg__op_cross_entropy, tg__op_nll;
/* norm.c */
extern const tg_op tg__op_batch_norm, tg__op_layer_norm;
/* embedding.c */
extern const tg_op tg__op_embedding;
/* stack.c */
extern const tg_op tg__op_stack, tg__op_select;
/* conv.c */
extern const tg_op tg__op_conv2d, tg__op_conv1d;
/* pool.c */
extern const tg_op tg__op_max_pool2d, tg__op_avg_pool2d, tg__op_global_avg_pool2d;

/* ---- losses (loss.c), shared with src/nn/loss.c -------------------------------------
 * Checks what every two-tensor loss needs: a known reduction and pred and target of
 * the same shape (losses never broadcast). name is the public loss ("mse_loss") that
 * errors name. False after recording the error (or when g is in error already). */
bool tg__loss_check(tg_graph *g, const char *name, tg_tensor *pred, tg_tensor *target,
                    tg_reduction r);
/* An elementwise loss l reduced by r: mean or sum over every element (0-d), or l itself
 * for TG_REDUCE_NONE. */
tg_tensor *tg__loss_reduce(tg_graph *g, tg_tensor *l, tg_reduction r);

/* ---- elementwise unary helper (unary.c) -------------------------------------------
 * Most unary ops are y = f(x) with dx += dy * f'(x, y). An op file supplies the two
 * loops as functions over whole arrays (no call per element) and gets checks, the
 * output, the threaded split and the node for free. */
typedef void (*tg_unary_fwd)(const tg_real *restrict x, tg_real *restrict y, int64_t n,
                             const double *args);
/* dx[i] += dy[i] * f'(x[i], y[i]) */
typedef void (*tg_unary_bwd)(const tg_real *restrict x, const tg_real *restrict y,
                             const tg_real *restrict dy, tg_real *restrict dx, int64_t n,
                             const double *args);
typedef struct tg_unary_kind {
    const tg_op *op;
    tg_unary_fwd fwd;
    tg_unary_bwd bwd;
    /* Optional: dx[i] = 0 + dy[i] * f'(x[i], y[i]), for a dx that nothing has written
     * yet in this backward pass (no pass to zero it first). NULL: dx is zeroed, then bwd. */
    tg_unary_bwd bwd_fresh;
} tg_unary_kind;
/* Runs a unary op; args (up to TG_NODE_FARGS values, may be NULL) are kept in the node. */
tg_tensor *tg__unary(tg_graph *g, const tg_unary_kind *k, tg_tensor *a, const double *args);
/* The backward rule shared by every op made with tg__unary. */
void tg__unary_backward(tg_node *n);

#endif
