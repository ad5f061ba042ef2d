/* tapegrad/train.h (STUB: to be written). */
#ifndef TAPEGRAD_TRAIN_H
#define TAPEGRAD_TRAIN_H
#include "tapegrad/params.h"
#endif
