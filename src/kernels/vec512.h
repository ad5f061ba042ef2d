/* src/kernels/vec512.h: one 512-bit vector of tg_real for the AVX-512 kernels (gemm.c,
 * im2col.c, winograd.c): its lane count VL, the types vec and vmask, and the V_
 * operations, in float or double as the build's precision says; TGK_AVX512 marks a
 * function compiled for AVX-512F. Include only where __GNUC__ and x86-64 hold. */
#ifndef TG_KERNELS_VEC512_H
#define TG_KERNELS_VEC512_H

#include <immintrin.h>

#include "tapegrad/core.h"

#define TGK_AVX512 __attribute__((target("avx512f")))

#if TG_PRECISION_DOUBLE
#define VL 8
typedef __m512d vec;
typedef __mmask8 vmask;
#define V_ZERO()            _mm512_setzero_pd()
#define V_SET1(x)           _mm512_set1_pd(x)
#define V_LOAD(p)           _mm512_load_pd(p)
#define V_LOADU(p)          _mm512_loadu_pd(p)
#define V_STORE(p, v)       _mm512_store_pd((p), (v))
#define V_FMA(a, b, c)      _mm512_fmadd_pd((a), (b), (c))
#define V_ADD(a, b)         _mm512_add_pd((a), (b))
#define V_LOADU_M(m, p)     _mm512_maskz_loadu_pd((m), (p))
#define V_STOREU_M(p, m, v) _mm512_mask_storeu_pd((p), (m), (v))
#define V_REDUCE(v)         _mm512_reduce_add_pd(v)
#else
#define VL 16
typedef __m512 vec;
typedef __mmask16 vmask;
#define V_ZERO()            _mm512_setzero_ps()
#define V_SET1(x)           _mm512_set1_ps(x)
#define V_LOAD(p)           _mm512_load_ps(p)
#define V_LOADU(p)          _mm512_loadu_ps(p)
#define V_STORE(p, v)       _mm512_store_ps((p), (v))
#define V_FMA(a, b, c)      _mm512_fmadd_ps((a), (b), (c))
#define V_ADD(a, b)         _mm512_add_ps((a), (b))
#define V_LOADU_M(m, p)     _mm512_maskz_loadu_ps((m), (p))
#define V_STOREU_M(p, m, v) _mm512_mask_storeu_ps((p), (m), (v))
#define V_REDUCE(v)         _mm512_reduce_add_ps(v)
#endif

#endif
