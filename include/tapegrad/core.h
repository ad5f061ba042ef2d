/* tapegrad/core.h: element type, export macro, status codes, process-wide settings.
 *
 * Everything in tapegrad starts here. A function that works on a graph reports
 * failure through the graph (see tg_graph_error in tapegrad/tensor.h); a function
 * outside a graph (files, settings) returns a tg_status and leaves a message that
 * tg_last_error() returns. Nothing in the library aborts or exits on user input.
 */
#ifndef TAPEGRAD_CORE_H
#define TAPEGRAD_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "tapegrad/config.h"

#if defined(TG_BUILDING_LIBRARY) && defined(__GNUC__)
#define TG_API __attribute__((visibility("default")))
#else
#define TG_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* The element type: float by default, double when built with -Dprecision=double. */
#if TG_PRECISION_DOUBLE
typedef double tg_real;
#else
typedef float tg_real;
#endif

/* Tensors have at most this many dimensions. */
#define TG_MAX_DIMS 8
/* Pass as the axis of a reduction to reduce over every axis. */
#define TG_ALL (-100)

typedef enum tg_status {
    TG_OK = 0,
    TG_ERR_NULL,        /* a required pointer was NULL (or an input came from a failed op) */
    TG_ERR_SHAPE,       /* shapes do not fit the op, or a shape is invalid */
    TG_ERR_AXIS,        /* an axis is out of range */
    TG_ERR_ARG,         /* another argument is out of its range */
    TG_ERR_NOMEM,       /* an allocation failed, or a size overflows */
    TG_ERR_STATE,       /* the call does not fit the object's state (graph in error, ...) */
    TG_ERR_IO,          /* a file could not be opened, read or written */
    TG_ERR_FORMAT,      /* a file's content is malformed, truncated or corrupted */
    TG_ERR_UNSUPPORTED, /* a feature this build or machine lacks (Graphviz, ...) */
    TG_ERR_NUMERIC,     /* a numeric check failed (tg_gradcheck found a mismatch) */
    TG_STATUS_COUNT
} tg_status;

/* A short constant description of a status code ("shape mismatch", ...).
 * Never NULL: an unknown code gives "unknown status". */
TG_API const char *tg_status_str(tg_status s);

/* The message of the last error in this thread, from any tapegrad function
 * (graph errors are copied here too), or NULL if none. The string belongs to the
 * library and stays valid until the next failing call in this thread. */
TG_API const char *tg_last_error(void);
/* Forget the last error of this thread. */
TG_API void tg_clear_last_error(void);

/* The library's version, e.g. "0.1.0", and its element type name ("float" or "double"). */
TG_API const char *tg_version(void);
TG_API const char *tg_precision(void);

/* Threads. tg_set_num_threads(n) sets how many threads large elementwise and
 * reduction loops (and BLAS, when used) may use; n <= 0 means "all cores".
 * Results are bit-identical from run to run for a given thread count. Elementwise
 * ops, reductions, softmax and the portable matmul kernel compute every element in
 * an order fixed by the shape, so they also agree across thread counts; OpenBLAS
 * products may differ in the last bits between thread counts.
 * Returns the count now in effect. */
TG_API int tg_set_num_threads(int n);
TG_API int tg_get_num_threads(void);

/* Matrix products go to CBLAS when the library was built with it, except on CPUs with
 * AVX-512 whose OpenBLAS core only has AVX2 kernels, where the portable kernel is faster
 * and is used instead. tg_use_blas(false) forces the portable kernel (for comparison and
 * testing); tg_use_blas returns whether BLAS use is now allowed (false when the build has
 * none). */
TG_API bool tg_use_blas(bool on);
TG_API bool tg_has_blas(void);

/* Heap allocations made by tapegrad itself (arena blocks, graph structures),
 * counted since the process started. Lets a program check that a steady-state
 * training step allocates nothing: read it before and after a step. */
TG_API uint64_t tg_alloc_count(void);

#ifdef __cplusplus
}
#endif
#endif
