/* src/kernels/vmath.c: e^x, sigmoid and tanh over arrays (see vmath.h).
 *
 * e^x: x = n ln2 + r with n = round(x / ln2) and |r| <= ln2 / 2 (ln2 in two parts, so
 * r is exact to a float's precision), e^r by Cephes' degree-6 polynomial, then times
 * 2^n as two factors 2^(n/2) 2^(n - n/2), each a normal float, so the subnormal range
 * rounds once, at the last product. x is first clamped to [-104, 88.8]: the ends give
 * 0 and +inf, and a NaN passes through the clamp (the operand order of max/min below
 * returns x when it is NaN).
 * sigmoid: e = e^-|x| (at most 1, never overflows), y = (x >= 0 ? 1 : e) / (1 + e).
 * tanh: for |x| < 0.625 Cephes' odd polynomial x + x z P(z), z = x^2 (no cancellation
 * near 0); above, 1 - 2 / (e^2|x| + 1); the sign of x copied onto the result.
 *
 * The AVX2 and AVX-512 copies make the same operations in the same order (FMAs in
 * both), and the last partial vector goes through a padded buffer rather than a scalar
 * loop, so an element's bits never depend on where it sits. */
#include "vmath.h"

#include <math.h>
#include <string.h>

#if defined(__GNUC__) && defined(__x86_64__) && !TG_PRECISION_DOUBLE
#define TGK_VMATH_X86 1
#include <immintrin.h>
#endif

static int forced = -1; /* tgk_vmath_force's level; -1: the best the CPU has */

/* ---- libm: double builds, other CPUs --------------------------------------------- */
#if TG_PRECISION_DOUBLE
#define LIBM_EXP  exp
#define LIBM_TANH tanh
#define LIBM_FABS fabs
#else
#define LIBM_EXP  expf
#define LIBM_TANH tanhf
#define LIBM_FABS fabsf
#endif

static void exp_libm(const tg_real *x, tg_real *y, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] = LIBM_EXP(x[i]);
}
static void sigmoid_libm(const tg_real *x, tg_real *y, int64_t n) {
    for (int64_t i = 0; i < n; i++) {
        const tg_real e = LIBM_EXP(-LIBM_FABS(x[i]));
        y[i] = (x[i] >= 0 ? (tg_real)1 : e) / ((tg_real)1 + e);
    }
}
static void tanh_libm(const tg_real *x, tg_real *y, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] = LIBM_TANH(x[i]);
}

#ifdef TGK_VMATH_X86
/* Cephes expf: the reduction constants and the polynomial for e^r - 1 - r over r^2. */
#define EXP_LO     -104.0f
#define EXP_HI     88.8f
#define LOG2E      1.44269504088896341f
#define LN2_C1     0.693359375f
#define LN2_C2     -2.12194440e-4f
#define EXP_P0     1.9875691500e-4f
#define EXP_P1     1.3981999507e-3f
#define EXP_P2     8.3334519073e-3f
#define EXP_P3     4.1665795894e-2f
#define EXP_P4     1.6666665459e-1f
#define EXP_P5     5.0000001201e-1f
/* Cephes tanhf: the small-argument polynomial and where it stops. */
#define TANH_SMALL 0.625f
#define TANH_P0    -5.70498872745e-3f
#define TANH_P1    2.06390887954e-2f
#define TANH_P2    -5.37397155531e-2f
#define TANH_P3    1.33314422036e-1f
#define TANH_P4    -3.33332819422e-1f

/* ---- AVX2 + FMA: 8 lanes ---------------------------------------------------------- */
#define VFN          static inline __attribute__((target("avx2,fma"), always_inline))
#define V_NAME(f)    f##_v8
#define vreal_t      __m256
#define vint_t       __m256i
#define V_SET1       _mm256_set1_ps
#define V_SET1_I     _mm256_set1_epi32
#define V_ADD        _mm256_add_ps
#define V_SUB        _mm256_sub_ps
#define V_MUL        _mm256_mul_ps
#define V_DIV        _mm256_div_ps
#define V_MIN        _mm256_min_ps
#define V_MAX        _mm256_max_ps
#define V_OR         _mm256_or_ps
#define V_AND        _mm256_and_ps
#define V_ANDNOT     _mm256_andnot_ps
#define V_FMADD      _mm256_fmadd_ps
#define V_FNMADD     _mm256_fnmadd_ps
#define V_ROUND(v)   _mm256_round_ps((v), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)
#define V_CVT_I      _mm256_cvtps_epi32
#define V_SRAI       _mm256_srai_epi32
#define V_SLLI       _mm256_slli_epi32
#define V_ADD_I      _mm256_add_epi32
#define V_SUB_I      _mm256_sub_epi32
#define V_CAST_R     _mm256_castsi256_ps
/* a >= b (ordered) ? t : f */
#define V_SELECT_GE(a, b, t, f) _mm256_blendv_ps((f), (t), _mm256_cmp_ps((a), (b), _CMP_GE_OQ))
#include "vmath_body.h"
#undef VFN
#undef V_NAME
#undef vreal_t
#undef vint_t
#undef V_SET1
#undef V_SET1_I
#undef V_ADD
#undef V_SUB
#undef V_MUL
#undef V_DIV
#undef V_MIN
#undef V_MAX
#undef V_OR
#undef V_AND
#undef V_ANDNOT
#undef V_FMADD
#undef V_FNMADD
#undef V_ROUND
#undef V_CVT_I
#undef V_SRAI
#undef V_SLLI
#undef V_ADD_I
#undef V_SUB_I
#undef V_CAST_R
#undef V_SELECT_GE

/* the whole vectors, then the last partial one through a zero-padded buffer */
#define AVX2_LOOP(F)                                                                               \
    __attribute__((target("avx2,fma"), noinline)) static void F##_avx2(const float *x, float *y, \
                                                                        int64_t n) {              \
        int64_t i = 0;                                                                             \
        for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, F##_v8(_mm256_loadu_ps(x + i)));        \
        if (i < n) {                                                                               \
            float buf[8] = {0};                                                                    \
            memcpy(buf, x + i, (size_t)(n - i) * sizeof *buf);                                     \
            _mm256_storeu_ps(buf, F##_v8(_mm256_loadu_ps(buf)));                                   \
            memcpy(y + i, buf, (size_t)(n - i) * sizeof *buf);                                     \
        }                                                                                          \
    }
AVX2_LOOP(exp)
AVX2_LOOP(sigmoid)
AVX2_LOOP(tanh)

/* ---- AVX-512: 16 lanes, the same body --------------------------------------------- */
#define VFN          static inline __attribute__((target("avx512f,avx512dq"), always_inline))
#define V_NAME(f)    f##_v16
#define vreal_t      __m512
#define vint_t       __m512i
#define V_SET1       _mm512_set1_ps
#define V_SET1_I     _mm512_set1_epi32
#define V_ADD        _mm512_add_ps
#define V_SUB        _mm512_sub_ps
#define V_MUL        _mm512_mul_ps
#define V_DIV        _mm512_div_ps
#define V_MIN        _mm512_min_ps
#define V_MAX        _mm512_max_ps
#define V_OR         _mm512_or_ps
#define V_AND        _mm512_and_ps
#define V_ANDNOT     _mm512_andnot_ps
#define V_FMADD      _mm512_fmadd_ps
#define V_FNMADD     _mm512_fnmadd_ps
#define V_ROUND(v)   _mm512_roundscale_ps((v), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)
#define V_CVT_I      _mm512_cvtps_epi32
#define V_SRAI       _mm512_srai_epi32
#define V_SLLI       _mm512_slli_epi32
#define V_ADD_I      _mm512_add_epi32
#define V_SUB_I      _mm512_sub_epi32
#define V_CAST_R     _mm512_castsi512_ps
#define V_SELECT_GE(a, b, t, f)                                                                    \
    _mm512_mask_blend_ps(_mm512_cmp_ps_mask((a), (b), _CMP_GE_OQ), (f), (t))
#include "vmath_body.h"

/* the whole vectors, then the last partial one under a mask (masked-off lanes read 0) */
#define AVX512_LOOP(F)                                                                             \
    __attribute__((target("avx512f,avx512dq"), noinline)) static void F##_avx512(                 \
        const float *x, float *y, int64_t n) {                                                     \
        int64_t i = 0;                                                                             \
        for (; i + 16 <= n; i += 16) _mm512_storeu_ps(y + i, F##_v16(_mm512_loadu_ps(x + i)));     \
        if (i < n) {                                                                               \
            const __mmask16 m = (__mmask16)((1u << (n - i)) - 1);                                  \
            _mm512_mask_storeu_ps(y + i, m, F##_v16(_mm512_maskz_loadu_ps(m, x + i)));             \
        }                                                                                          \
    }
AVX512_LOOP(exp)
AVX512_LOOP(sigmoid)
AVX512_LOOP(tanh)

/* 2: AVX-512 (F and DQ), 1: AVX2 and FMA, 0: neither. */
static int isa_level(void) {
    static int level = -1; /* every thread computes the same value: a benign race */
    if (level < 0) {
        __builtin_cpu_init();
        int l = 0;
        if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) l = 1;
        if (l && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq")) l = 2;
        level = l;
    }
    return level;
}
#define DISPATCH(NAME)                                                                             \
    do {                                                                                           \
        const int l = tgk_vmath_level();                                                           \
        if (l == 2)                                                                                \
            NAME##_avx512(x, y, n);                                                                \
        else if (l == 1)                                                                           \
            NAME##_avx2(x, y, n);                                                                  \
        else                                                                                       \
            NAME##_libm(x, y, n);                                                                  \
    } while (0)
#else
static int isa_level(void) { return 0; }
#define DISPATCH(NAME) NAME##_libm(x, y, n)
/* (vector kernels not built: the level is 0) */
#endif

int tgk_vmath_level(void) {
    const int best = isa_level();
    return forced >= 0 && forced < best ? forced : best;
}
void tgk_vmath_force(int level) { forced = level; }

void tgk_exp(const tg_real *x, tg_real *y, int64_t n) { DISPATCH(exp); }
void tgk_sigmoid(const tg_real *x, tg_real *y, int64_t n) { DISPATCH(sigmoid); }
void tgk_tanh(const tg_real *x, tg_real *y, int64_t n) { DISPATCH(tanh); }
