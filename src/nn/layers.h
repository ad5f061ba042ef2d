/* src/nn/layers.h: layers.c's sequential container as conv_layers.c sees it (internal).
 * The library's other layers enter the container through here, so that
 * tg_sequential_print knows their parameter counts (a user layer's it cannot know). */
#ifndef TG_NN_LAYERS_H
#define TG_NN_LAYERS_H

#include "../graph/internal.h"

/* tg_sequential_add for one of the library's layers: params is the number of its
 * parameters (their elements; 0 and up, shown by tg_sequential_print and counted in its
 * total), or -1 for a layer that has none to show (pooling: no count on its line).
 * fn_name names the public function in errors. Returns as tg_sequential_add. */
tg_status tg__sequential_add_builtin(tg_sequential *s, const char *fn_name, const char *name,
                                     tg_layer_fn fn, void *layer, int64_t params);

#endif
