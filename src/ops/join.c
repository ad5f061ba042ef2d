/* STUB: to be written (concat, slice). */
#include "ops.h"
const tg_op tg__op_concat = {"concat", NULL}, tg__op_slice = {"slice", NULL};
