/* STUB: to be written (tg_gradcheck). */
#include "internal.h"
typedef int tg__gradcheck_stub;
