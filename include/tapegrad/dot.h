/* tapegrad/dot.h: the computation graph as Graphviz DOT. */
#ifndef TAPEGRAD_DOT_H
#define TAPEGRAD_DOT_H

#include "tapegrad/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tg_dot_opts {
    /* Annotate each tensor with min, max and L2 norm of its value and gradient; colour
     * tensors with non-finite values red, vanishing gradients (norm < vanish) blue and
     * exploding ones (norm > explode) orange. */
    bool stats;
    double vanish;   /* 0 = default 1e-7 */
    double explode;  /* 0 = default 1e3 */
    bool left_to_right; /* rankdir=LR instead of top to bottom */
    const char *title;  /* graph label, or NULL */
} tg_dot_opts;

/* Writes the DOT text of the part of the tape that root depends on (root NULL: the
 * whole tape) to out. Tensors are boxes showing name, shape and the op that made
 * them; leaves that require gradients (parameters, inputs being learned) and
 * constants are styled apart. Returns 0, or non-zero if g or out is NULL or writing
 * failed (tg_last_error says why). The graph is not modified. */
TG_API int tg_dot_write(tg_graph *g, const tg_tensor *root, FILE *out);
TG_API int tg_dot_write_opts(tg_graph *g, const tg_tensor *root, FILE *out,
                             const tg_dot_opts *opts);

/* Saves to a file chosen by its extension: ".dot" (or ".gv") writes text; ".svg",
 * ".png" and ".pdf" run Graphviz's dot program, and fail with TG_ERR_UNSUPPORTED and
 * a clear message when it is not installed. The file is written whole or not at all.
 * Returns TG_OK or an error status (tg_last_error says why). tg_dot_save_opts takes
 * options (NULL = defaults). */
TG_API tg_status tg_dot_save(tg_graph *g, const tg_tensor *root, const char *path);
TG_API tg_status tg_dot_save_opts(tg_graph *g, const tg_tensor *root, const char *path,
                                  const tg_dot_opts *opts);

#ifdef __cplusplus
}
#endif
#endif
