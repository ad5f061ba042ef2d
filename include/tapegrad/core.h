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
 * reduction loops, convolutions and matrix products may use; n <= 0 means "all
 * cores". Returns the count now in effect (capped by OpenMP's limit; 1 in a build
 * without OpenMP). Results are bit-identical from run to run and across thread counts:
 * every element is computed in an order fixed by the shape (products, portable or
 * BLAS, are cut along lines fixed by the shape, and BLAS runs single-threaded on each
 * part). */
TG_API int tg_set_num_threads(int n);
TG_API int tg_get_num_threads(void);

/* Adaptive threads (on by default). When other programs hold the cores, OpenMP's
 * threads, which spin while they wait for each other, make every parallel loop wait
 * for a thread the system has preempted: two threads can then run ten times slower
 * than one. With adaptive threads on, tg_graph_reset (once a training step) looks, at
 * most every 5 ms, at how long the calling thread has been runnable but waiting for a
 * core (Linux's /proc/thread-self/schedstat). When it waited a quarter of the time or
 * more in two windows in a row (of 20 to 100 ms; one, right after a pause), with more
 * than one thread set, the library runs its loops on one thread for a quarter of a
 * second, then tries its threads again, doubling the pause (up to 8 s) while the
 * machine stays busy. The first 0.15 s after the first reset is not judged (thread
 * pools starting).
 * Results do not change (see above); only speed does. Elsewhere than Linux nothing is
 * sampled and the count stays as set. The environment variable TG_ADAPTIVE_THREADS=0
 * turns it off from the start. tg_set_adaptive_threads returns the previous setting;
 * tg_threads_in_use returns the thread count loops use now (tg_get_num_threads, or 1
 * during a pause). */
TG_API bool tg_set_adaptive_threads(bool on);
TG_API int tg_threads_in_use(void);

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
