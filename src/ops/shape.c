/* STUB: to be written (reshape, transpose, permute, broadcast_to). */
#include "ops.h"
const tg_op tg__op_reshape = {"reshape", NULL}, tg__op_transpose = {"transpose", NULL},
            tg__op_permute = {"permute", NULL}, tg__op_broadcast_to = {"broadcast_to", NULL};
