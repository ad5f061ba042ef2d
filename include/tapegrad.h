/* tapegrad: reverse-mode automatic differentiation in C.
 *
 * The umbrella header: include this one. See README.md for a tour and docs/ for the
 * design, the memory and error model, and each area in detail.
 */
#ifndef TAPEGRAD_H
#define TAPEGRAD_H

#include "tapegrad/core.h"
#include "tapegrad/rng.h"
#include "tapegrad/tensor.h"
#include "tapegrad/ops.h"
#include "tapegrad/autograd.h"
#include "tapegrad/dot.h"
#include "tapegrad/params.h"
#include "tapegrad/checkpoint.h"
#include "tapegrad/loss.h"
#include "tapegrad/nn.h"
#include "tapegrad/rnn.h"
#include "tapegrad/optim.h"
#include "tapegrad/data.h"
#include "tapegrad/train.h"

#endif
