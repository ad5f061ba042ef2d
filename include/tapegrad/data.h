/* tapegrad/data.h (STUB: to be written). */
#ifndef TAPEGRAD_DATA_H
#define TAPEGRAD_DATA_H
#include "tapegrad/params.h"
#endif
