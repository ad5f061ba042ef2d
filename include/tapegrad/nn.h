/* tapegrad/nn.h (STUB: to be written). */
#ifndef TAPEGRAD_NN_H
#define TAPEGRAD_NN_H
#include "tapegrad/params.h"
#endif
