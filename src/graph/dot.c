/* STUB: to be written (tg_dot_write, tg_dot_save). */
#include "internal.h"
typedef int tg__dot_stub;
