/* STUB: to be written (softmax, log_softmax). */
#include "ops.h"
const tg_op tg__op_softmax = {"softmax", NULL}, tg__op_log_softmax = {"log_softmax", NULL};
