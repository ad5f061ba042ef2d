/* tapegrad/optim.h (STUB: to be written). */
#ifndef TAPEGRAD_OPTIM_H
#define TAPEGRAD_OPTIM_H
#include "tapegrad/params.h"
#endif
