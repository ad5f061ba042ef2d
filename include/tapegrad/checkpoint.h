/* tapegrad/checkpoint.h (STUB: to be written). */
#ifndef TAPEGRAD_CHECKPOINT_H
#define TAPEGRAD_CHECKPOINT_H
#include "tapegrad/params.h"
#endif
