/* src/ops/registry.c: the table of every op, indexed by tg_op_id. Keep in ORDER with
 * the enum in ops.h; the static_assert stops a half-registered op from building, and
 * the test suite checks that every entry is filled and gradient-checked. */
#include <assert.h>

#include "ops.h"

static const tg_op *const op_table[] = {
    [TG_OP_ADD] = &tg__op_add,
    [TG_OP_SUB] = &tg__op_sub,
    [TG_OP_MUL] = &tg__op_mul,
    [TG_OP_DIV] = &tg__op_div,
    [TG_OP_NEG] = &tg__op_neg,
    [TG_OP_EXP] = &tg__op_exp,
    [TG_OP_LOG] = &tg__op_log,
    [TG_OP_SQRT] = &tg__op_sqrt,
    [TG_OP_ABS] = &tg__op_abs,
    [TG_OP_POW] = &tg__op_pow,
    [TG_OP_CLAMP] = &tg__op_clamp,
    [TG_OP_RELU] = &tg__op_relu,
    [TG_OP_LEAKY_RELU] = &tg__op_leaky_relu,
    [TG_OP_ELU] = &tg__op_elu,
    [TG_OP_GELU] = &tg__op_gelu,
    [TG_OP_SOFTPLUS] = &tg__op_softplus,
    [TG_OP_SIGMOID] = &tg__op_sigmoid,
    [TG_OP_TANH] = &tg__op_tanh,
    [TG_OP_MATMUL] = &tg__op_matmul,
    [TG_OP_SUM] = &tg__op_sum,
    [TG_OP_MEAN] = &tg__op_mean,
    [TG_OP_MAX] = &tg__op_max,
    [TG_OP_MIN] = &tg__op_min,
    [TG_OP_VAR] = &tg__op_var,
    [TG_OP_SOFTMAX] = &tg__op_softmax,
    [TG_OP_LOG_SOFTMAX] = &tg__op_log_softmax,
    [TG_OP_RESHAPE] = &tg__op_reshape,
    [TG_OP_TRANSPOSE] = &tg__op_transpose,
    [TG_OP_PERMUTE] = &tg__op_permute,
    [TG_OP_CONCAT] = &tg__op_concat,
    [TG_OP_SLICE] = &tg__op_slice,
    [TG_OP_BROADCAST_TO] = &tg__op_broadcast_to,
    [TG_OP_LINEAR] = &tg__op_linear,
    [TG_OP_DROPOUT] = &tg__op_dropout,
    [TG_OP_BCE] = &tg__op_bce,
    [TG_OP_BCE_WITH_LOGITS] = &tg__op_bce_with_logits,
    [TG_OP_CROSS_ENTROPY] = &tg__op_cross_entropy,
    [TG_OP_NLL] = &tg__op_nll,
    [TG_OP_BATCH_NORM] = &tg__op_batch_norm,
    [TG_OP_LAYER_NORM] = &tg__op_layer_norm,
    [TG_OP_EMBEDDING] = &tg__op_embedding,
    [TG_OP_STACK] = &tg__op_stack,
    [TG_OP_SELECT] = &tg__op_select,
    [TG_OP_CONV2D] = &tg__op_conv2d,
    [TG_OP_CONV1D] = &tg__op_conv1d,
    [TG_OP_MAX_POOL2D] = &tg__op_max_pool2d,
    [TG_OP_AVG_POOL2D] = &tg__op_avg_pool2d,
    [TG_OP_GLOBAL_AVG_POOL2D] = &tg__op_global_avg_pool2d,
};

static_assert(sizeof op_table / sizeof op_table[0] == TG_OP_COUNT,
              "op_table and tg_op_id are out of step: register every op exactly once");

int tg__op_count(void) { return TG_OP_COUNT; }

const tg_op *tg__op_at(int i) { return i >= 0 && i < TG_OP_COUNT ? op_table[i] : NULL; }
