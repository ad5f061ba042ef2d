/* tapegrad/loss.h (STUB: to be written). */
#ifndef TAPEGRAD_LOSS_H
#define TAPEGRAD_LOSS_H
#include "tapegrad/params.h"
#endif
