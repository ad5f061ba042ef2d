/* STUB: to be written (relu, leaky_relu, elu, gelu, softplus, sigmoid, tanh). */
#include "ops.h"
const tg_op tg__op_relu = {"relu", NULL}, tg__op_leaky_relu = {"leaky_relu", NULL},
            tg__op_elu = {"elu", NULL}, tg__op_gelu = {"gelu", NULL},
            tg__op_softplus = {"softplus", NULL}, tg__op_sigmoid = {"sigmoid", NULL},
            tg__op_tanh = {"tanh", NULL};
