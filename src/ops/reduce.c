/* STUB: to be written (sum, mean, max, min, var). */
#include "ops.h"
const tg_op tg__op_sum = {"sum", NULL}, tg__op_mean = {"mean", NULL}, tg__op_max = {"max", NULL},
            tg__op_min = {"min", NULL}, tg__op_var = {"var", NULL};
