/* src/graph/settings.c: process-wide settings: threads, BLAS, version. */
#ifdef _OPENMP
#include <omp.h>
#endif

#include "internal.h"
#include "../kernels/gemm.h"

static int num_threads = 0; /* 0: not set yet */

static int cores(void) {
#ifdef _OPENMP
    return omp_get_num_procs();
#else
    return 1;
#endif
}

int tg__threads(void) { return num_threads > 0 ? num_threads : tg_get_num_threads(); }

/* An absurd count (tg_set_num_threads(100000)) crashes the OpenMP runtime at the next
 * parallel loop; more threads than this, or than the cores of a bigger machine, only
 * cost memory. Counts above it are capped (the count in effect is returned). */
#define TG_MAX_THREADS 256

TG_API int tg_set_num_threads(int n) {
    const int all = cores();
    if (n <= 0) n = all;
    if (n > TG_MAX_THREADS && n > all) n = all > TG_MAX_THREADS ? all : TG_MAX_THREADS;
#ifdef _OPENMP
    if (n > omp_get_thread_limit()) n = omp_get_thread_limit();
    omp_set_num_threads(n);
#else
    n = 1;
#endif
    num_threads = n;
    tgk_blas_set_threads(n);
    return n;
}

TG_API int tg_get_num_threads(void) {
    if (num_threads > 0) return num_threads;
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}

TG_API bool tg_use_blas(bool on) { return tgk_blas_enable(on); }
TG_API bool tg_has_blas(void) { return tgk_blas_available(); }

TG_API const char *tg_version(void) { return TG_VERSION_STRING; }
TG_API const char *tg_precision(void) { return TG_PRECISION_DOUBLE ? "double" : "float"; }
