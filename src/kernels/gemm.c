/* STUB: to be written. */
#include "gemm.h"
bool tgk_blas_available(void) { return false; }
bool tgk_blas_enable(bool on) { (void)on; return false; }
void tgk_blas_set_threads(int n) { (void)n; }
