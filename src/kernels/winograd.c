/* src/kernels/winograd.c: the F(2x2, 3x3) transforms (see winograd.h).
 *
 *   B^T = | 1  0 -1  0 |    G = | 1    0    0   |    A^T = | 1  1  1  0 |
 *         | 0  1  1  0 |        | 1/2  1/2  1/2 |          | 0  1 -1 -1 |
 *         | 0 -1  1  0 |        | 1/2 -1/2  1/2 |
 *         | 0  1  0 -1 |        | 0    0    1   |
 *
 * Each 2-D transform is two 1-D ones, along rows then along columns. The input
 * transform runs along rows first, one padded input row at a time (each row feeds two
 * tile rows), into row-parity split buffers; then, down the columns, every one of the
 * 16 outputs is a contiguous sweep over all tiles of the plane (the inner loops
 * vectorise). The output and gradient transforms work on whole planes of tiles the
 * same way and scatter (or gather) the 2x2 tiles at the end.
 *
 * On AVX-512 machines (with the products' fast kernel on) the three tile transforms
 * run as explicit vector code instead: a vector holds one row of up to 16 (8 double)
 * tiles; the even and odd columns of the input (or gradient) rows are split out by two
 * permutes, and the 2x2 output tiles are interleaved back the same way. */
#include <string.h>

#include "winograd.h"
#include "im2col.h" /* tgk_conv_fast: whether the AVX-512 code runs */

static bool wino_on = true;
bool tgk_wino_enable(bool on) { return wino_on = on; }
bool tgk_wino_enabled(void) { return wino_on; }

int64_t tgk_wino_scratch(int TH, int TW) {
    /* input: 8 row buffers of (TH+1) x TW and a padded row; output and gradient: 4
     * planes of TH x TW */
    const int64_t in = 8 * (int64_t)(TH + 1) * TW + 2 * (int64_t)TW + 2;
    const int64_t out = 4 * (int64_t)TH * TW;
    return in > out ? in : out;
}

/* ---- kernels ------------------------------------------------------------------------ */

/* u = G g G^T for one 3x3 kernel g (row-major), written at u[xi * ustride]. */
static void kernel_transform(const tg_real g[9], tg_real *u, int64_t ustride) {
    tg_real r[4][3]; /* G g */
    for (int l = 0; l < 3; l++) {
        const tg_real g0 = g[l], g1 = g[3 + l], g2 = g[6 + l];
        r[0][l] = g0;
        r[1][l] = (g0 + g1 + g2) / 2;
        r[2][l] = (g0 - g1 + g2) / 2;
        r[3][l] = g2;
    }
    for (int i = 0; i < 4; i++) { /* (G g) G^T */
        const tg_real a = r[i][0], b = r[i][1], c = r[i][2];
        u[(4 * i + 0) * ustride] = a;
        u[(4 * i + 1) * ustride] = (a + b + c) / 2;
        u[(4 * i + 2) * ustride] = (a - b + c) / 2;
        u[(4 * i + 3) * ustride] = c;
    }
}

void tgk_wino_weights(const tg_real *w, int rows, int cols, int G, bool transposed, tg_real *U) {
    const int64_t ustride = (int64_t)rows * cols;
    const int per = rows / G; /* transposed: input channels per group of the convolution */
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < cols; c++) {
            tg_real g[9];
            if (!transposed) {
                memcpy(g, w + ((int64_t)r * cols + c) * 9, sizeof g);
            } else { /* w[grp*cols + c][r % per], turned 180 degrees */
                const tg_real *src = w + (((int64_t)(r / per) * cols + c) * per + r % per) * 9;
                for (int k = 0; k < 9; k++) g[k] = src[8 - k];
            }
            kernel_transform(g, U + (int64_t)r * cols + c, ustride);
        }
}

void tgk_wino_weight_grad(const tg_real *dU, int rows, int cols, tg_real *dw) {
    const int64_t ustride = (int64_t)rows * cols;
    for (int64_t k = 0; k < ustride; k++) {
        tg_real m[4][4], r[3][4];
        for (int xi = 0; xi < 16; xi++) m[xi / 4][xi % 4] = dU[xi * ustride + k];
        for (int j = 0; j < 4; j++) { /* G^T m */
            r[0][j] = m[0][j] + (m[1][j] + m[2][j]) / 2;
            r[1][j] = (m[1][j] - m[2][j]) / 2;
            r[2][j] = (m[1][j] + m[2][j]) / 2 + m[3][j];
        }
        tg_real *d = dw + k * 9;
        for (int i = 0; i < 3; i++) { /* (G^T m) G */
            d[3 * i + 0] += r[i][0] + (r[i][1] + r[i][2]) / 2;
            d[3 * i + 1] += (r[i][1] - r[i][2]) / 2;
            d[3 * i + 2] += (r[i][1] + r[i][2]) / 2 + r[i][3];
        }
    }
}

/* ---- input ------------------------------------------------------------------------------ */

/* dst[q] = src[q - pw] for q - pw in [0, W), else 0, for q < len. */
static void padded_row(const tg_real *src, int W, int pw, int len, tg_real *dst) {
    const int lo = pw < len ? pw : len, n = W < len - lo ? W : len - lo;
    for (int q = 0; q < lo; q++) dst[q] = 0;
    if (n > 0) memcpy(dst + lo, src, (size_t)n * sizeof *dst);
    for (int q = lo + (n > 0 ? n : 0); q < len; q++) dst[q] = 0;
}

static void input_portable(const tg_real *x, int nc, int H, int W, int ph, int pw, int TH, int TW,
                           tg_real *V, int64_t ld, int64_t xstride, tg_real *scratch) {
    const int64_t T = (int64_t)TH * TW, rows = (int64_t)(TH + 1) * TW;
    /* h[parity][j]: the row transform (d B) of padded rows 2k + parity, k = 0..TH */
    tg_real *h[2][4];
    for (int p = 0; p < 2; p++)
        for (int j = 0; j < 4; j++) h[p][j] = scratch + (p * 4 + j) * rows;
    tg_real *restrict prow = scratch + 8 * rows; /* one padded input row, 2 TW + 2 */
    const int plen = 2 * TW + 2;
    for (int c = 0; c < nc; c++) {
        const tg_real *xc = x + (int64_t)c * H * W;
        for (int R = 0; R < 2 * TH + 2; R++) {
            const int r = R - ph;
            const int64_t o = (int64_t)(R / 2) * TW;
            tg_real *restrict h0 = h[R & 1][0] + o, *restrict h1 = h[R & 1][1] + o;
            tg_real *restrict h2 = h[R & 1][2] + o, *restrict h3 = h[R & 1][3] + o;
            if (r < 0 || r >= H) {
                for (int tx = 0; tx < TW; tx++) h0[tx] = h1[tx] = h2[tx] = h3[tx] = 0;
                continue;
            }
            padded_row(xc + (int64_t)r * W, W, pw, plen, prow);
            for (int tx = 0; tx < TW; tx++) {
                const tg_real d0 = prow[2 * tx], d1 = prow[2 * tx + 1];
                const tg_real d2 = prow[2 * tx + 2], d3 = prow[2 * tx + 3];
                h0[tx] = d0 - d2;
                h1[tx] = d1 + d2;
                h2[tx] = d2 - d1;
                h3[tx] = d1 - d3;
            }
        }
        /* down the columns: rows 2ty (E), 2ty+1 (O), 2ty+2 (E, next), 2ty+3 (O, next) */
        for (int j = 0; j < 4; j++) {
            const tg_real *restrict e = h[0][j], *restrict od = h[1][j];
            tg_real *restrict v0 = V + j * xstride + c * ld;
            tg_real *restrict v1 = V + (4 + j) * xstride + c * ld;
            tg_real *restrict v2 = V + (8 + j) * xstride + c * ld;
            tg_real *restrict v3 = V + (12 + j) * xstride + c * ld;
            for (int64_t t = 0; t < T; t++) {
                const tg_real a = e[t], b = od[t], n = e[t + TW], m = od[t + TW];
                v0[t] = a - n;
                v1[t] = b + n;
                v2[t] = n - b;
                v3[t] = b - m;
            }
        }
    }
}

/* ---- output --------------------------------------------------------------------------- */

static void output_portable(const tg_real *M, int64_t ld, int64_t xstride, int no, int OH, int OW,
                            int TH, int TW, tg_real *y, bool add, const tg_real *bias,
                            tg_real *scratch) {
    const int64_t T = (int64_t)TH * TW;
    tg_real *restrict y00 = scratch, *restrict y01 = scratch + T;
    tg_real *restrict y10 = scratch + 2 * T, *restrict y11 = scratch + 3 * T;
    for (int o = 0; o < no; o++) {
        const tg_real *m = M + o * ld;
        const tg_real *restrict m0 = m, *restrict m1 = m + xstride, *restrict m2 = m + 2 * xstride,
                                *restrict m3 = m + 3 * xstride, *restrict m4 = m + 4 * xstride,
                                *restrict m5 = m + 5 * xstride, *restrict m6 = m + 6 * xstride,
                                *restrict m7 = m + 7 * xstride, *restrict m8 = m + 8 * xstride,
                                *restrict m9 = m + 9 * xstride, *restrict m10 = m + 10 * xstride,
                                *restrict m11 = m + 11 * xstride, *restrict m12 = m + 12 * xstride,
                                *restrict m13 = m + 13 * xstride, *restrict m14 = m + 14 * xstride,
                                *restrict m15 = m + 15 * xstride;
        for (int64_t t = 0; t < T; t++) {
            /* A^T m: rows i = 0..3 into z0 (m0 + m1 + m2) and z1 (m1 - m2 - m3), per column */
            const tg_real z00 = m0[t] + m4[t] + m8[t], z01 = m1[t] + m5[t] + m9[t];
            const tg_real z02 = m2[t] + m6[t] + m10[t], z03 = m3[t] + m7[t] + m11[t];
            const tg_real z10 = m4[t] - m8[t] - m12[t], z11 = m5[t] - m9[t] - m13[t];
            const tg_real z12 = m6[t] - m10[t] - m14[t], z13 = m7[t] - m11[t] - m15[t];
            y00[t] = z00 + z01 + z02; /* (A^T m) A */
            y01[t] = z01 - z02 - z03;
            y10[t] = z10 + z11 + z12;
            y11[t] = z11 - z12 - z13;
        }
        const tg_real b = bias ? bias[o] : 0;
        tg_real *yo = y + (int64_t)o * OH * OW;
        for (int ty = 0; ty < TH; ty++)
            for (int a = 0; a < 2 && 2 * ty + a < OH; a++) {
                tg_real *restrict row = yo + (int64_t)(2 * ty + a) * OW;
                const tg_real *restrict s0 = (a ? y10 : y00) + (int64_t)ty * TW;
                const tg_real *restrict s1 = (a ? y11 : y01) + (int64_t)ty * TW;
                const int full = OW / 2; /* tiles with both columns inside */
                if (add) {
                    for (int tx = 0; tx < full; tx++) {
                        row[2 * tx] += s0[tx];
                        row[2 * tx + 1] += s1[tx];
                    }
                    if (full < TW) row[2 * full] += s0[full];
                } else {
                    for (int tx = 0; tx < full; tx++) {
                        row[2 * tx] = s0[tx] + b;
                        row[2 * tx + 1] = s1[tx] + b;
                    }
                    if (full < TW) row[2 * full] = s0[full] + b;
                }
            }
    }
}

/* ---- output gradient ------------------------------------------------------------------ */

static void grad_portable(const tg_real *dy, int no, int OH, int OW, int TH, int TW, tg_real *dM,
                          int64_t ld, int64_t xstride, tg_real *scratch) {
    const int64_t T = (int64_t)TH * TW;
    tg_real *restrict e00 = scratch, *restrict e01 = scratch + T;
    tg_real *restrict e10 = scratch + 2 * T, *restrict e11 = scratch + 3 * T;
    const int full = OW / 2;
    for (int o = 0; o < no; o++) {
        const tg_real *dyo = dy + (int64_t)o * OH * OW;
        for (int ty = 0; ty < TH; ty++) /* the 2x2 tiles of dy, zero beyond its edges */
            for (int a = 0; a < 2; a++) {
                tg_real *restrict s0 = (a ? e10 : e00) + (int64_t)ty * TW;
                tg_real *restrict s1 = (a ? e11 : e01) + (int64_t)ty * TW;
                if (2 * ty + a >= OH) {
                    for (int tx = 0; tx < TW; tx++) s0[tx] = s1[tx] = 0;
                    continue;
                }
                const tg_real *restrict row = dyo + (int64_t)(2 * ty + a) * OW;
                for (int tx = 0; tx < full; tx++) {
                    s0[tx] = row[2 * tx];
                    s1[tx] = row[2 * tx + 1];
                }
                if (full < TW) {
                    s0[full] = row[2 * full];
                    s1[full] = 0;
                }
            }
        tg_real *m = dM + o * ld;
        tg_real *restrict m0 = m, *restrict m1 = m + xstride, *restrict m2 = m + 2 * xstride,
                          *restrict m3 = m + 3 * xstride, *restrict m4 = m + 4 * xstride,
                          *restrict m5 = m + 5 * xstride, *restrict m6 = m + 6 * xstride,
                          *restrict m7 = m + 7 * xstride, *restrict m8 = m + 8 * xstride,
                          *restrict m9 = m + 9 * xstride, *restrict m10 = m + 10 * xstride,
                          *restrict m11 = m + 11 * xstride, *restrict m12 = m + 12 * xstride,
                          *restrict m13 = m + 13 * xstride, *restrict m14 = m + 14 * xstride,
                          *restrict m15 = m + 15 * xstride;
        for (int64_t t = 0; t < T; t++) {
            /* A e: w_i = (e0, e0 + e1, e0 - e1, -e1) per column b */
            const tg_real a0 = e00[t], a1 = e01[t], b0 = e10[t], b1 = e11[t];
            const tg_real w00 = a0, w01 = a1, w10 = a0 + b0, w11 = a1 + b1;
            const tg_real w20 = a0 - b0, w21 = a1 - b1, w30 = -b0, w31 = -b1;
            /* (A e) A^T: (w0, w0 + w1, w0 - w1, -w1) per row i */
            m0[t] = w00, m1[t] = w00 + w01, m2[t] = w00 - w01, m3[t] = -w01;
            m4[t] = w10, m5[t] = w10 + w11, m6[t] = w10 - w11, m7[t] = -w11;
            m8[t] = w20, m9[t] = w20 + w21, m10[t] = w20 - w21, m11[t] = -w21;
            m12[t] = w30, m13[t] = w30 + w31, m14[t] = w30 - w31, m15[t] = -w31;
        }
    }
}

/* ---- AVX-512 ---------------------------------------------------------------------------- */

#if defined(__GNUC__) && defined(__x86_64__)
#include "vec512.h"

/* the transforms' permutations (the rest of the vector layer: vec512.h) */
#if TG_PRECISION_DOUBLE
#define V_PERM2(a, i, b)    _mm512_permutex2var_pd((a), (i), (b))
/* permute indices, lanes in reverse (highest first), as _mm512_set_* takes them */
#define V_PERMX_Z(m, i, a) _mm512_maskz_permutexvar_pd((m), (i), (a))
#define V_IOTA_MINUS(s)                                                                            \
    _mm512_sub_epi64(_mm512_set_epi64(7, 6, 5, 4, 3, 2, 1, 0), _mm512_set1_epi64(s))
#define IDX_EVEN _mm512_set_epi64(14, 12, 10, 8, 6, 4, 2, 0)
#define IDX_ODD  _mm512_set_epi64(15, 13, 11, 9, 7, 5, 3, 1)
#define IDX_LO   _mm512_set_epi64(11, 3, 10, 2, 9, 1, 8, 0)
#define IDX_HI   _mm512_set_epi64(15, 7, 14, 6, 13, 5, 12, 4)
#else
#define V_PERM2(a, i, b)    _mm512_permutex2var_ps((a), (i), (b))
#define V_PERMX_Z(m, i, a)  _mm512_maskz_permutexvar_ps((m), (i), (a))
#define V_IOTA_MINUS(s)                                                                            \
    _mm512_sub_epi32(_mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0),       \
                     _mm512_set1_epi32(s))
#define IDX_EVEN _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0)
#define IDX_ODD  _mm512_set_epi32(31, 29, 27, 25, 23, 21, 19, 17, 15, 13, 11, 9, 7, 5, 3, 1)
#define IDX_LO   _mm512_set_epi32(23, 7, 22, 6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0)
#define IDX_HI   _mm512_set_epi32(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8)
#endif

static vmask mask_of(int n) { /* the first n lanes, n clamped to 0..VL */
    if (n <= 0) return 0;
    return n >= VL ? (vmask) ~(vmask)0 : (vmask)((1u << n) - 1);
}

/* v[l] = row[start + l] where 0 <= start + l < W, else 0: a window of an input row
 * with its zero padding, built in registers (writing a padded copy and reading it
 * back at other offsets stalls on store forwarding). */
TGK_AVX512 static inline vec window(const tg_real *row, int W, int start) {
    if (start >= W || start <= -VL) return V_ZERO();
    if (start >= 0) return V_LOADU_M(mask_of(W - start), row + start);
    const int s = -start; /* lanes below s are padding */
    const vec v = V_LOADU_M(mask_of(W), row);
    return V_PERMX_Z((vmask)(mask_of(VL) & ~mask_of(s)), V_IOTA_MINUS(s), v);
}

/* The row transform (d B) of VL tiles tx0.. of input row `row` (zero when NULL): the
 * tiles' columns 2t..2t+3 are input columns 2t - pw... */
typedef struct hrow {
    vec h[4];
} hrow;
TGK_AVX512 static inline hrow row_transform(const tg_real *row, int W, int start) {
    hrow r;
    if (!row) {
        r.h[0] = r.h[1] = r.h[2] = r.h[3] = V_ZERO();
        return r;
    }
    const __m512i ie = IDX_EVEN, io = IDX_ODD;
    const vec a = window(row, W, start), b = window(row, W, start + VL);
    const vec a2 = window(row, W, start + 2), b2 = window(row, W, start + 2 + VL);
    const vec e = V_PERM2(a, ie, b), o = V_PERM2(a, io, b);       /* d0, d1 of each tile */
    const vec e2 = V_PERM2(a2, ie, b2), o2 = V_PERM2(a2, io, b2); /* d2, d3 */
    r.h[0] = e - e2;
    r.h[1] = o + e2;
    r.h[2] = e2 - o;
    r.h[3] = o - o2;
    return r;
}

TGK_AVX512 static void input_avx512(const tg_real *x, int nc, int H, int W, int ph, int pw, int TH,
                                    int TW, tg_real *V, int64_t ld, int64_t xstride) {
    for (int c = 0; c < nc; c++) {
        const tg_real *xc = x + (int64_t)c * H * W;
        tg_real *vc = V + c * ld;
        for (int tx0 = 0; tx0 < TW; tx0 += VL) {
            const vmask m = mask_of(TW - tx0);
            const int start = 2 * tx0 - pw;
#define ROW(R) ((R)-ph >= 0 && (R)-ph < H ? xc + (int64_t)((R)-ph) * W : NULL)
            hrow r0 = row_transform(ROW(0), W, start), r1 = row_transform(ROW(1), W, start);
            for (int ty = 0; ty < TH; ty++) {
                const hrow r2 = row_transform(ROW(2 * ty + 2), W, start);
                const hrow r3 = row_transform(ROW(2 * ty + 3), W, start);
#undef ROW
                tg_real *v = vc + (int64_t)ty * TW + tx0;
                for (int j = 0; j < 4; j++) { /* B^T down the columns */
                    V_STOREU_M(v + j * xstride, m, r0.h[j] - r2.h[j]);
                    V_STOREU_M(v + (4 + j) * xstride, m, r1.h[j] + r2.h[j]);
                    V_STOREU_M(v + (8 + j) * xstride, m, r2.h[j] - r1.h[j]);
                    V_STOREU_M(v + (12 + j) * xstride, m, r1.h[j] - r3.h[j]);
                }
                r0 = r2;
                r1 = r3;
            }
        }
    }
}

/* Stores (or adds) the interleaved tile columns c0 (even outputs) and c1 (odd), cnt
 * of them, at row (plus b when storing). */
TGK_AVX512 static inline void put_pair(tg_real *row, vec c0, vec c1, int cnt, bool add, vec b) {
    const __m512i il = IDX_LO, ih = IDX_HI;
    vec lo = V_PERM2(c0, il, c1), hi = V_PERM2(c0, ih, c1);
    const vmask ml = mask_of(cnt), mh = mask_of(cnt - VL);
    if (add) {
        lo = lo + V_LOADU_M(ml, row);
        hi = hi + V_LOADU_M(mh, row + VL);
    } else {
        lo = lo + b;
        hi = hi + b;
    }
    V_STOREU_M(row, ml, lo);
    V_STOREU_M(row + VL, mh, hi);
}

TGK_AVX512 static void output_avx512(const tg_real *M, int64_t ld, int64_t xstride, int no, int OH,
                                     int OW, int TH, int TW, tg_real *y, bool add,
                                     const tg_real *bias) {
    for (int o = 0; o < no; o++) {
        const vec b = V_SET1(bias ? bias[o] : 0);
        tg_real *yo = y + (int64_t)o * OH * OW;
        for (int tx0 = 0; tx0 < TW; tx0 += VL) {
            const vmask m = mask_of(TW - tx0);
            const int cnt = OW - 2 * tx0 < 2 * VL ? OW - 2 * tx0 : 2 * VL;
            for (int ty = 0; ty < TH; ty++) {
                const tg_real *mt = M + o * ld + (int64_t)ty * TW + tx0;
                vec mm[16];
                for (int xi = 0; xi < 16; xi++) mm[xi] = V_LOADU_M(m, mt + xi * xstride);
                vec z0[4], z1[4]; /* A^T m */
                for (int j = 0; j < 4; j++) {
                    z0[j] = mm[j] + mm[4 + j] + mm[8 + j];
                    z1[j] = mm[4 + j] - mm[8 + j] - mm[12 + j];
                }
                /* (A^T m) A */
                put_pair(yo + (int64_t)(2 * ty) * OW + 2 * tx0, z0[0] + z0[1] + z0[2],
                         z0[1] - z0[2] - z0[3], cnt, add, b);
                if (2 * ty + 1 < OH)
                    put_pair(yo + (int64_t)(2 * ty + 1) * OW + 2 * tx0, z1[0] + z1[1] + z1[2],
                             z1[1] - z1[2] - z1[3], cnt, add, b);
            }
        }
    }
}

TGK_AVX512 static void grad_avx512(const tg_real *dy, int no, int OH, int OW, int TH, int TW,
                                   tg_real *dM, int64_t ld, int64_t xstride) {
    const __m512i ie = IDX_EVEN, io = IDX_ODD;
    const vec zero = V_ZERO();
    for (int o = 0; o < no; o++) {
        const tg_real *dyo = dy + (int64_t)o * OH * OW;
        for (int tx0 = 0; tx0 < TW; tx0 += VL) {
            const vmask m = mask_of(TW - tx0);
            const int cnt = OW - 2 * tx0 < 2 * VL ? OW - 2 * tx0 : 2 * VL;
            const vmask ml = mask_of(cnt), mh = mask_of(cnt - VL);
            for (int ty = 0; ty < TH; ty++) {
                vec e[2][2]; /* e[a][b] = dy[2ty + a][2tx + b], zero beyond the edges */
                for (int a = 0; a < 2; a++) {
                    if (2 * ty + a >= OH) {
                        e[a][0] = e[a][1] = zero;
                        continue;
                    }
                    const tg_real *row = dyo + (int64_t)(2 * ty + a) * OW + 2 * tx0;
                    const vec lo = V_LOADU_M(ml, row), hi = V_LOADU_M(mh, row + VL);
                    e[a][0] = V_PERM2(lo, ie, hi);
                    e[a][1] = V_PERM2(lo, io, hi);
                }
                vec w[4][2]; /* A e */
                for (int b = 0; b < 2; b++) {
                    w[0][b] = e[0][b];
                    w[1][b] = e[0][b] + e[1][b];
                    w[2][b] = e[0][b] - e[1][b];
                    w[3][b] = zero - e[1][b];
                }
                tg_real *mt = dM + o * ld + (int64_t)ty * TW + tx0;
                for (int i = 0; i < 4; i++) { /* (A e) A^T */
                    V_STOREU_M(mt + (4 * i + 0) * xstride, m, w[i][0]);
                    V_STOREU_M(mt + (4 * i + 1) * xstride, m, w[i][0] + w[i][1]);
                    V_STOREU_M(mt + (4 * i + 2) * xstride, m, w[i][0] - w[i][1]);
                    V_STOREU_M(mt + (4 * i + 3) * xstride, m, zero - w[i][1]);
                }
            }
        }
    }
}

/* ---- AVX-512, two tile rows a vector ------------------------------------------------------
 * When a row of tiles fills at most half a vector (14x14 outputs: 7 tiles), the plain
 * kernels above leave more than half of every vector empty. These put tile rows ty
 * and ty+1 side by side instead (lanes 0..TW-1 and TW..2TW-1, which is also their
 * order in memory: tiles t = ty*TW + tx): half the instructions and stores. */

#if TG_PRECISION_DOUBLE
typedef int64_t lane_t;
#else
typedef int32_t lane_t;
#endif

/* A permute index from lane values. */
TGK_AVX512 static inline __m512i idx_of(const lane_t *a) { return _mm512_loadu_si512(a); }

/* Whole padded rows fit in a vector and two tile rows in one: the paired kernels. */
static bool pairs_in(int TW) { return 2 * TW + 2 <= VL; }
static bool pairs_out(int TW) { return 2 * TW <= VL; }

TGK_AVX512 static void input_pairs(const tg_real *x, int nc, int H, int W, int ph, int pw, int TH,
                                   int TW, tg_real *V, int64_t ld, int64_t xstride) {
    lane_t a[4][VL];
    for (int k = 0; k < 4; k++) /* column 2 tx + k of the padded row, rows R | R + 2 */
        for (int l = 0; l < VL; l++)
            a[k][l] = (lane_t)(l < TW ? 2 * l + k : l < 2 * TW ? VL + 2 * (l - TW) + k : 0);
    const __m512i ik[4] = {idx_of(a[0]), idx_of(a[1]), idx_of(a[2]), idx_of(a[3])};
    const vec zero = V_ZERO();
    for (int c = 0; c < nc; c++) {
        const tg_real *xc = x + (int64_t)c * H * W;
        tg_real *vc = V + c * ld;
#define WIN(R) ((R)-ph >= 0 && (R)-ph < H ? window(xc + (int64_t)((R)-ph) * W, W, -pw) : zero)
        vec w[6];
        w[0] = WIN(0), w[1] = WIN(1);
        for (int ty = 0; ty < TH; ty += 2) {
            for (int i = 2; i < 6; i++) w[i] = WIN(2 * ty + i);
#undef WIN
            vec h[4][4]; /* h[k'][j]: d B of padded rows 2ty + k' | 2ty + 2 + k' */
            for (int r = 0; r < 4; r++) {
                const vec d0 = V_PERM2(w[r], ik[0], w[r + 2]), d1 = V_PERM2(w[r], ik[1], w[r + 2]);
                const vec d2 = V_PERM2(w[r], ik[2], w[r + 2]), d3 = V_PERM2(w[r], ik[3], w[r + 2]);
                h[r][0] = d0 - d2;
                h[r][1] = d1 + d2;
                h[r][2] = d2 - d1;
                h[r][3] = d1 - d3;
            }
            const vmask m = mask_of(ty + 1 < TH ? 2 * TW : TW);
            tg_real *v = vc + (int64_t)ty * TW;
            for (int j = 0; j < 4; j++) { /* B^T down the columns */
                V_STOREU_M(v + j * xstride, m, h[0][j] - h[2][j]);
                V_STOREU_M(v + (4 + j) * xstride, m, h[1][j] + h[2][j]);
                V_STOREU_M(v + (8 + j) * xstride, m, h[2][j] - h[1][j]);
                V_STOREU_M(v + (12 + j) * xstride, m, h[1][j] - h[3][j]);
            }
            w[0] = w[4], w[1] = w[5];
        }
    }
}

TGK_AVX512 static void output_pairs(const tg_real *M, int64_t ld, int64_t xstride, int no, int OH,
                                    int OW, int TH, int TW, tg_real *y, bool add,
                                    const tg_real *bias) {
    lane_t a[2][VL];
    for (int r = 0; r < 2; r++) /* output column l of tile row ty + r: tile l/2, even or odd */
        for (int l = 0; l < VL; l++) a[r][l] = (lane_t)(r * TW + l / 2 + (l & 1 ? VL : 0));
    const __m512i il[2] = {idx_of(a[0]), idx_of(a[1])};
    const vmask mrow = mask_of(OW);
    for (int o = 0; o < no; o++) {
        const vec b = V_SET1(bias ? bias[o] : 0);
        tg_real *yo = y + (int64_t)o * OH * OW;
        for (int ty = 0; ty < TH; ty += 2) {
            const vmask m = mask_of(ty + 1 < TH ? 2 * TW : TW);
            const tg_real *mt = M + o * ld + (int64_t)ty * TW;
            vec mm[16];
            for (int xi = 0; xi < 16; xi++) mm[xi] = V_LOADU_M(m, mt + xi * xstride);
            vec z0[4], z1[4]; /* A^T m */
            for (int j = 0; j < 4; j++) {
                z0[j] = mm[j] + mm[4 + j] + mm[8 + j];
                z1[j] = mm[4 + j] - mm[8 + j] - mm[12 + j];
            }
            const vec y0[2] = {z0[0] + z0[1] + z0[2], z0[1] - z0[2] - z0[3]}; /* (A^T m) A */
            const vec y1[2] = {z1[0] + z1[1] + z1[2], z1[1] - z1[2] - z1[3]};
            for (int r = 0; r < 2 && ty + r < TH; r++)
                for (int a2 = 0; a2 < 2; a2++) {
                    const int oh = 2 * (ty + r) + a2;
                    if (oh >= OH) break;
                    const vec *yy = a2 ? y1 : y0;
                    tg_real *row = yo + (int64_t)oh * OW;
                    vec out = V_PERM2(yy[0], il[r], yy[1]);
                    out = add ? out + V_LOADU_M(mrow, row) : out + b;
                    V_STOREU_M(row, mrow, out);
                }
        }
    }
}

TGK_AVX512 static void grad_pairs(const tg_real *dy, int no, int OH, int OW, int TH, int TW,
                                  tg_real *dM, int64_t ld, int64_t xstride) {
    lane_t a[2][VL];
    for (int bb = 0; bb < 2; bb++) /* column 2 tx + bb of rows 2ty + a | 2ty + 2 + a */
        for (int l = 0; l < VL; l++)
            a[bb][l] = (lane_t)(l < TW ? 2 * l + bb : l < 2 * TW ? VL + 2 * (l - TW) + bb : 0);
    const __m512i ib[2] = {idx_of(a[0]), idx_of(a[1])};
    const vmask mrow = mask_of(OW);
    const vec zero = V_ZERO();
    for (int o = 0; o < no; o++) {
        const tg_real *dyo = dy + (int64_t)o * OH * OW;
        for (int ty = 0; ty < TH; ty += 2) {
            vec rw[4]; /* dy rows 2ty..2ty+3, zero beyond the edges */
            for (int r = 0; r < 4; r++)
                rw[r] = 2 * ty + r < OH ? V_LOADU_M(mrow, dyo + (int64_t)(2 * ty + r) * OW) : zero;
            vec e[2][2]; /* e[a][b] = dy[2ty + a | 2ty + 2 + a][2tx + b] */
            for (int a2 = 0; a2 < 2; a2++)
                for (int bb = 0; bb < 2; bb++) e[a2][bb] = V_PERM2(rw[a2], ib[bb], rw[a2 + 2]);
            vec w[4][2]; /* A e */
            for (int bb = 0; bb < 2; bb++) {
                w[0][bb] = e[0][bb];
                w[1][bb] = e[0][bb] + e[1][bb];
                w[2][bb] = e[0][bb] - e[1][bb];
                w[3][bb] = zero - e[1][bb];
            }
            const vmask m = mask_of(ty + 1 < TH ? 2 * TW : TW);
            tg_real *mt = dM + o * ld + (int64_t)ty * TW;
            for (int i = 0; i < 4; i++) { /* (A e) A^T */
                V_STOREU_M(mt + (4 * i + 0) * xstride, m, w[i][0]);
                V_STOREU_M(mt + (4 * i + 1) * xstride, m, w[i][0] + w[i][1]);
                V_STOREU_M(mt + (4 * i + 2) * xstride, m, w[i][0] - w[i][1]);
                V_STOREU_M(mt + (4 * i + 3) * xstride, m, zero - w[i][1]);
            }
        }
    }
}

#define TGK_WINO_AVX512 1
#endif

/* ---- dispatch ---------------------------------------------------------------------------- */

void tgk_wino_input(const tg_real *x, int nc, int H, int W, int ph, int pw, int TH, int TW,
                    tg_real *V, int64_t ld, int64_t xstride, tg_real *scratch) {
#ifdef TGK_WINO_AVX512
    if (tgk_conv_fast()) {
        if (pairs_in(TW))
            input_pairs(x, nc, H, W, ph, pw, TH, TW, V, ld, xstride);
        else
            input_avx512(x, nc, H, W, ph, pw, TH, TW, V, ld, xstride);
        return;
    }
#endif
    input_portable(x, nc, H, W, ph, pw, TH, TW, V, ld, xstride, scratch);
}

void tgk_wino_output(const tg_real *M, int64_t ld, int64_t xstride, int no, int OH, int OW, int TH,
                     int TW, tg_real *y, bool add, const tg_real *bias, tg_real *scratch) {
#ifdef TGK_WINO_AVX512
    if (tgk_conv_fast()) {
        if (pairs_out(TW))
            output_pairs(M, ld, xstride, no, OH, OW, TH, TW, y, add, bias);
        else
            output_avx512(M, ld, xstride, no, OH, OW, TH, TW, y, add, bias);
        return;
    }
#endif
    output_portable(M, ld, xstride, no, OH, OW, TH, TW, y, add, bias, scratch);
}

void tgk_wino_grad(const tg_real *dy, int no, int OH, int OW, int TH, int TW, tg_real *dM,
                   int64_t ld, int64_t xstride, tg_real *scratch) {
#ifdef TGK_WINO_AVX512
    if (tgk_conv_fast()) {
        if (pairs_out(TW))
            grad_pairs(dy, no, OH, OW, TH, TW, dM, ld, xstride);
        else
            grad_avx512(dy, no, OH, OW, TH, TW, dM, ld, xstride);
        return;
    }
#endif
    grad_portable(dy, no, OH, OW, TH, TW, dM, ld, xstride, scratch);
}
