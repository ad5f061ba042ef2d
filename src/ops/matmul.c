/* STUB: to be written (matmul). */
#include "ops.h"
const tg_op tg__op_matmul = {"matmul", NULL};
