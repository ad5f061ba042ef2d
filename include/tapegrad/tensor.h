/* tapegrad/tensor.h: graphs and tensors.
 *
 * A tg_graph owns an arena (a chain of memory blocks) and a tape. Every tensor made
 * through a graph, and every node an op records, lives in that arena until
 * tg_graph_reset() or tg_graph_free(): the caller never frees a tensor. Tensors are
 * contiguous, row-major, 64-byte aligned, with 0 to TG_MAX_DIMS dimensions.
 *
 * Errors are sticky: the first error since the last reset is kept in the graph
 * (tg_graph_error) and copied to tg_last_error(); a function that fails returns NULL,
 * and every op given a NULL input or called on a graph in error returns NULL at once,
 * so a chain of calls needs one check at the end.
 */
#ifndef TAPEGRAD_TENSOR_H
#define TAPEGRAD_TENSOR_H

#include "tapegrad/core.h"
#include "tapegrad/rng.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tg_graph tg_graph;
typedef struct tg_tensor tg_tensor;

/* ---- graphs ---------------------------------------------------------------- */

/* A new empty graph with gradients enabled. The caller owns it and frees it with
 * tg_graph_free. Returns NULL only if memory runs out (tg_last_error says so). */
TG_API tg_graph *tg_graph_new(void);
/* Frees the graph, its arena and every tensor made in it. NULL is a no-op. */
TG_API void tg_graph_free(tg_graph *g);
/* Drops every step tensor and node and clears the error, but keeps the arena's
 * blocks, so the next step of the same size calls malloc zero times. Every tensor
 * pointer obtained from this graph before the reset is invalid afterwards. */
TG_API void tg_graph_reset(tg_graph *g);
/* The first error message since the last reset, or NULL if none. Owned by the graph. */
TG_API const char *tg_graph_error(const tg_graph *g);
/* The status code of that first error (TG_OK if none; TG_ERR_NULL for g == NULL). */
TG_API tg_status tg_graph_status(const tg_graph *g);

/* Gradient recording. When disabled (no-grad mode) ops compute their outputs but
 * record nothing on the tape, and their outputs do not require gradients.
 * Returns the previous setting, so a caller can restore it. */
TG_API bool tg_graph_set_grad_enabled(tg_graph *g, bool on);
TG_API bool tg_graph_grad_enabled(const tg_graph *g);

typedef struct tg_stats {
    int64_t nodes;           /* nodes on the tape now */
    int64_t tensors;         /* tensors made since the last reset */
    size_t arena_used;       /* bytes of the arena in use now */
    size_t arena_peak;       /* the most bytes in use at once since the graph was made */
    size_t arena_reserved;   /* bytes held in blocks (what the arena took from malloc) */
    int64_t arena_blocks;    /* blocks in the chain */
} tg_stats;
/* Fills *out. Returns TG_OK, or TG_ERR_NULL if g or out is NULL. */
TG_API tg_status tg_graph_stats(const tg_graph *g, tg_stats *out);

/* Training or evaluation mode (a new graph is in training mode): dropout drops and
 * batch normalisation uses batch statistics only in training mode. Survives resets.
 * Returns the previous setting. */
TG_API bool tg_graph_set_training(tg_graph *g, bool on);
TG_API bool tg_graph_training(const tg_graph *g);

/* ---- random numbers -------------------------------------------------------- */

/* Seeds the graph's random generator (used by tg_rand, tg_randn and dropout). A new
 * graph starts with seed 0x5eed. The generator is PCG32 (tapegrad/rng.h), identical
 * on every platform; the stream survives resets (reseed to repeat it). */
TG_API void tg_seed(tg_graph *g, uint64_t seed);

/* ---- making tensors -------------------------------------------------------- */
/* All of these return a tensor owned by g's arena (valid until tg_graph_reset or
 * tg_graph_free) or NULL on error: NULL g, ndim outside 0..TG_MAX_DIMS, a NULL shape
 * with ndim > 0, a negative dimension, or an element count that overflows. A
 * dimension of 0 is allowed (an empty tensor). New tensors do not require gradients. */

/* Zeros. */
TG_API tg_tensor *tg_tensor_new(tg_graph *g, int ndim, const int *shape);
/* Copies numel elements from data (NULL data is an error). */
TG_API tg_tensor *tg_tensor_from(tg_graph *g, int ndim, const int *shape, const tg_real *data);
/* Wraps the caller's memory without copying: the caller keeps ownership of data,
 * which must hold numel elements and outlive every use of the tensor. Ops read it
 * in place; tg_data() returns data itself. (It need not be aligned.) */
TG_API tg_tensor *tg_tensor_wrap(tg_graph *g, int ndim, const int *shape, tg_real *data);
/* A 0-d tensor holding value; it broadcasts against any shape. */
TG_API tg_tensor *tg_scalar(tg_graph *g, tg_real value);
TG_API tg_tensor *tg_zeros(tg_graph *g, int ndim, const int *shape);
TG_API tg_tensor *tg_ones(tg_graph *g, int ndim, const int *shape);
TG_API tg_tensor *tg_full(tg_graph *g, int ndim, const int *shape, tg_real value);
/* Uniform on [lo, hi) and normal(mean, std), from the graph's seeded generator. */
TG_API tg_tensor *tg_rand(tg_graph *g, int ndim, const int *shape, tg_real lo, tg_real hi);
TG_API tg_tensor *tg_randn(tg_graph *g, int ndim, const int *shape, tg_real mean, tg_real std);

/* ---- tensor accessors ------------------------------------------------------ */
/* Accessors accept NULL and then return 0, NULL or false. */

/* Marks a leaf tensor as wanting its gradient. Turning it on for the output of an op
 * is allowed and has no effect on what backward computes (outputs of ops that depend
 * on a tensor requiring gradients require them already). */
TG_API void tg_set_requires_grad(tg_tensor *t, bool on);
TG_API bool tg_requires_grad(const tg_tensor *t);
/* The elements, row-major. Writable; owned by the graph (or the caller, if wrapped). */
TG_API tg_real *tg_data(tg_tensor *t);
/* The gradient, same shape as the tensor, or NULL until a backward pass reached it. */
TG_API tg_real *tg_grad(tg_tensor *t);
/* Sets the gradient of t to zero, if it has one. */
TG_API void tg_zero_grad(tg_tensor *t);
TG_API int tg_ndim(const tg_tensor *t);
/* The shape (tg_ndim entries), owned by the tensor. */
TG_API const int *tg_shape(const tg_tensor *t);
TG_API int64_t tg_numel(const tg_tensor *t);
/* The value of a one-element tensor. On a NULL or larger tensor it returns NaN and
 * records an error (in the graph, and in tg_last_error). */
TG_API tg_real tg_item(const tg_tensor *t);
/* A name shown in DOT output (tg_dot_write). The name is copied into the arena;
 * it may be at most 63 characters (longer names are cut). */
TG_API void tg_set_name(tg_tensor *t, const char *name);
/* The name, or NULL if none. */
TG_API const char *tg_name(const tg_tensor *t);
/* The graph a tensor was made in. */
TG_API tg_graph *tg_tensor_graph(const tg_tensor *t);
/* The name of the op that produced t ("add", ...), or NULL for a leaf. */
TG_API const char *tg_tensor_op(const tg_tensor *t);

#ifdef __cplusplus
}
#endif
#endif
