/* src/ops/conv.c: 2-D and 1-D convolution (cross-correlation, as PyTorch), NCHW.
 *
 * x [N,C,H,W], w [O,C/G,KH,KW], b [O] or NULL, G groups -> y [N,O,OH,OW] with
 *     OH = (H + 2 ph - dh (KH - 1) - 1) / sh + 1    (the same for OW)
 *     y[n,o,oh,ow] = b[o] + sum_{c in o's group, kh, kw} w[o,c,kh,kw] x[n,c,ih,iw],
 *     ih = oh sh - ph + kh dh, iw = ow sw - pw + kw dw  (0 outside the input).
 * conv1d is the same with H = KH = 1 (x [N,C,L], w [O,C/G,K]): one machinery.
 *
 * Per group g, with K = (C/G) KH KW rows of columns per group (see kernels/im2col.h)
 * and the flat axis f = (sample, output position) of a block of samples:
 *     forward  y_g[O/G, f]  = w_g[O/G, K] @ col_g[K, f] + b_g       (bias fused)
 *     dw_g^T[K, O/G]       += col_g[K, f] @ dy_g[O/G, f]^T          (summed over blocks)
 *     col_g[K, f]           = w_g^T @ dy_g[O/G, f], then dx += col2im(col)
 *     db[o]                += sum over n and positions of dy[n,o,...]
 * Samples are taken in blocks whose columns and outputs fill about COL_BUDGET elements
 * (the columns are scratch in the arena, sized per call; at least one sample). A 1x1
 * convolution with stride 1 and no padding needs no columns at all: x itself is col
 * (and dx is written directly).
 * The columns are not kept for backward: they are rebuilt there (cheaper than their
 * memory).
 *
 * 3x3 convolutions with stride 1 and dilation 1 and enough channels take Winograd's
 * F(2x2, 3x3) instead (kernels/winograd.h): 16 products per 2x2 output tile rather
 * than 36, as 16 matrix products over the tiles of a block of samples:
 *     forward  M[xi] = U[xi] @ V[xi],  y = A^T M A (+ b)   (U: kernels, V: input tiles)
 *     dw      dU[xi] += dM[xi] @ V[xi]^T, dw += G^T dU G    (dM: the tiles A dy A^T)
 *     dx      the forward pass over dy with the kernels turned 180 degrees, channels
 *             swapped and padding 2 - p (p <= 2; else the columns way)
 *
 * Everything is deterministic: samples are transformed by one thread each, products
 * split columns between threads without changing any sum, and dw and db are summed in
 * block order. */
#include <limits.h>
#include <stdio.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "ops.h"
#include "../kernels/im2col.h"
#include "../kernels/winograd.h"

/* Target size of a block's columns (elements): a few samples' worth, in L2. */
#define COL_BUDGET (1 << 18)
/* Target size of a Winograd block's transformed tiles (input and output, elements). */
#define WINO_BUDGET (1 << 19)
/* Winograd pays when the products it shrinks outweigh the transforms it adds: the
 * products grow as Cg Og per tile, the transforms as Cg + Og (channels per group in
 * and out). Measured on one core: the forward gains from h = Cg Og / (Cg + Og) >= 8,
 * the backward (three transforms to the forward's two) from h >= 12. */
#define WINO_FWD_MIN 8
#define WINO_BWD_MIN 12

/* The bias gradient sums a row in this many lanes. */
#define DB_LANES 16

/* What backward needs, saved in the arena. */
typedef struct conv_info {
    tgk_conv_geom g; /* one sample */
    int N, O, G;
    int nb;        /* samples per block */
    bool direct;   /* 1x1, stride 1, no padding: col = x */
    bool wino;     /* forward by Winograd */
    bool wino_bwd; /* dw by Winograd */
    bool wino_dx;  /* dx by Winograd (wino_bwd, and padding <= 2) */
} conv_info;

/* The per-group sizes. */
static int cin_g(const conv_info *ci) { return ci->g.C / ci->G; }
static int cout_g(const conv_info *ci) { return ci->O / ci->G; }
static int64_t positions(const conv_info *ci) { return (int64_t)ci->g.OH * ci->g.OW; }
static int krows_g(const conv_info *ci) { return cin_g(ci) * ci->g.KH * ci->g.KW; }

/* Threads for a loop over items of work elements each. */
static int threads_for(int64_t items, int64_t work) {
    return items > 1 && items * work >= TG_PAR_MIN ? tg__threads() : 1;
}

/* Threads for nq independent products of about macs multiply-adds each: a product
 * each, whole, rather than every product split between threads (16 regions of a few
 * microseconds each cost more in handing out and waiting than they save). Only when
 * each thread gets several products, so the split stays even. */
static int products_threads(int nq, int64_t macs) {
    const int nth = tg__threads();
    return nth > 1 && nq >= 4 * nth && (int64_t)nq * macs >= 16 * (int64_t)TG_PAR_MIN ? nth : 1;
}

/* This thread's slot in per-thread scratch. */
static int thread_id(void) {
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}

/* Columns of samples n0..n0+nb-1 into col [K_all, nb*P] (sample s at column s*P). */
static void im2col_block(const conv_info *ci, const tg_real *x, int n0, int nb, tg_real *col) {
    const int64_t P = positions(ci), F = nb * P, xs = (int64_t)ci->g.C * ci->g.H * ci->g.W;
    const int nth = threads_for(nb, (int64_t)ci->g.C * ci->g.KH * ci->g.KW * P);
    (void)nth;
#pragma omp parallel for schedule(static) num_threads(nth) if (nth > 1)
    for (int s = 0; s < nb; s++) tgk_im2col(&ci->g, x + (n0 + s) * xs, 0, ci->g.C, col + s * P, F);
}

/* A block's slice of a [N, rows, P] tensor as a segmented matrix: rows r0.., the
 * columns of samples n0.. (segment s = sample n0 + s). */
static tgk_csmat cseg(const tg_real *t, int64_t rows, int64_t r0, int n0, int64_t P) {
    return (tgk_csmat){t + (n0 * rows + r0) * P, P, P, rows * P};
}
static tgk_smat seg(tg_real *t, int64_t rows, int64_t r0, int n0, int64_t P) {
    return (tgk_smat){t + (n0 * rows + r0) * P, P, P, rows * P};
}

/* ---- Winograd F(2x2, 3x3) -------------------------------------------------------------- */

/* One pass: out (=, or += when add) the 3x3, stride 1 convolution of in [N,Cin,H,W]
 * with padding (ph, pw) into [N,Cout,OH,OW], G groups. */
typedef struct wino_pass {
    int N, Cin, H, W, Cout, OH, OW, ph, pw, G;
} wino_pass;

/* Samples per block: about WINO_BUDGET elements of tiles (16 (Cin + Cout) per tile);
 * among the sizes from half that to all of it, the one whose tile count wastes least
 * of the products' last column panel. */
static int wino_block(const wino_pass *p) {
    const int64_t Ts = (int64_t)tgk_wino_tiles(p->OH) * tgk_wino_tiles(p->OW);
    int64_t most = WINO_BUDGET / (16 * (int64_t)(p->Cin + p->Cout) * Ts);
    if (most > INT_MAX / Ts) most = INT_MAX / Ts;
    if (most > p->N) most = p->N;
    if (most < 1) most = 1;
    int best = (int)most;
    double best_waste = 1;
    for (int64_t nb = most; nb >= 1 && nb * 2 >= most; nb--) {
        const int64_t T = nb * Ts, padded = (T + 31) / 32 * 32;
        const double waste = (double)(padded - T) / (double)padded;
        if (waste < best_waste - 1e-9) best = (int)nb, best_waste = waste;
    }
    return best;
}

/* Runs a pass with the transformed kernels U [16][Cout][Cin/G]. False if the arena
 * could not give the scratch. */
static bool wino_run(tg_graph *g, const wino_pass *p, const tg_real *U, const tg_real *in,
                     tg_real *out, bool add, const tg_real *bias) {
    const int TH = tgk_wino_tiles(p->OH), TW = tgk_wino_tiles(p->OW), nbk = wino_block(p);
    const int64_t Ts = (int64_t)TH * TW, Cig = p->Cin / p->G, Cog = p->Cout / p->G;
    const int64_t sin = (int64_t)p->Cin * p->H * p->W, sout = (int64_t)p->Cout * p->OH * p->OW;
    const int nth = tg__threads();
    const int64_t scr = tgk_wino_scratch(TH, TW);
    tg_real *V = tg__alloc(g, (size_t)16 * p->Cin * nbk * Ts * sizeof(tg_real));
    tg_real *M = tg__alloc(g, (size_t)16 * p->Cout * nbk * Ts * sizeof(tg_real));
    tg_real *scratch = tg__alloc(g, (size_t)(scr * nth) * sizeof(tg_real));
    if (!V || !M || !scratch) return false;
    for (int n0 = 0; n0 < p->N; n0 += nbk) {
        const int nb = p->N - n0 < nbk ? p->N - n0 : nbk;
        const int64_t T = nb * Ts;
        int nt = threads_for(nb, 16 * sin);
        (void)nt;
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
        for (int s = 0; s < nb; s++) /* V[xi][c][t] = B^T d B */
            tgk_wino_input(in + (n0 + s) * sin, p->Cin, p->H, p->W, p->ph, p->pw, TH, TW,
                           V + s * Ts, T, p->Cin * T, scratch + thread_id() * scr);
        /* M[xi]_g[Cout/G, T] = U[xi]_g[Cout/G, Cin/G] @ V[xi]_g[Cin/G, T]: 16 G small
         * products, shared out whole between threads (see products_threads) */
        nt = products_threads(16 * p->G, Cog * T * Cig);
        const int inner = nt > 1 ? 1 : nth;
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
        for (int q = 0; q < 16 * p->G; q++) {
            const int xi = q / p->G, gi = q % p->G;
            tgk_conv_mm(false, (int)Cog, (int)T, (int)Cig, U + (xi * p->Cout + gi * Cog) * Cig, Cig,
                        (tgk_csmat){V + (xi * p->Cin + gi * Cig) * T, T, T, T},
                        (tgk_smat){M + (xi * p->Cout + gi * Cog) * T, T, T, T}, false, NULL, inner);
        }
        nt = threads_for(nb, 16 * sout);
        (void)nt;
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
        for (int s = 0; s < nb; s++) /* y = A^T M A (+ b) */
            tgk_wino_output(M + s * Ts, T, p->Cout * T, p->Cout, p->OH, p->OW, TH, TW,
                            out + (n0 + s) * sout, add, bias, scratch + thread_id() * scr);
    }
    return true;
}

/* The forward pass of the convolution as a Winograd pass. */
static wino_pass wino_forward_pass(const conv_info *ci) {
    return (wino_pass){ci->N,    ci->g.C,  ci->g.H,  ci->g.W,  ci->O,
                       ci->g.OH, ci->g.OW, ci->g.ph, ci->g.pw, ci->G};
}

/* Both gradients by Winograd, in one sweep over blocks of samples, so that each block
 * of dy is read from memory once (its two transforms follow each other):
 *     dw += G^T [sum over tiles (A dy A^T) . V] G     (V: the input tiles of the forward)
 *     dx += the forward pass over dy with the kernels turned 180 degrees and channels
 *           swapped, padding 2 - p
 * dw or dx may be NULL (not wanted); dx_add false stores dx (every element) instead. */
static bool wino_backward(tg_graph *g, const conv_info *ci, const tg_real *x, const tg_real *w,
                          const tg_real *dy, tg_real *dw, tg_real *dx, bool dx_add) {
    const wino_pass f = wino_forward_pass(ci); /* tiles over y */
    const wino_pass b = {ci->N,   ci->O,   ci->g.OH,     ci->g.OW,     ci->g.C,
                         ci->g.H, ci->g.W, 2 - ci->g.ph, 2 - ci->g.pw, ci->G}; /* over x */
    const int TH = tgk_wino_tiles(f.OH), TW = tgk_wino_tiles(f.OW);
    const int TH2 = tgk_wino_tiles(b.OH), TW2 = tgk_wino_tiles(b.OW);
    const int nb1 = wino_block(&f), nb2 = wino_block(&b), nbk = nb1 < nb2 ? nb1 : nb2;
    const int64_t Ts = (int64_t)TH * TW, Ts2 = (int64_t)TH2 * TW2;
    const int64_t C = ci->g.C, O = ci->O, Cg = cin_g(ci), Og = cout_g(ci);
    const int64_t sx = C * f.H * f.W, sy = O * f.OH * f.OW;
    const int nth = tg__threads();
    const int64_t scr1 = tgk_wino_scratch(TH, TW), scr2 = tgk_wino_scratch(TH2, TW2);
    const int64_t scr = scr1 > scr2 ? scr1 : scr2;
    tg_real *scratch = tg__alloc(g, (size_t)(scr * nth) * sizeof(tg_real));
    tg_real *V = NULL, *D = NULL, *dU = NULL, *U2 = NULL, *V2 = NULL, *M2 = NULL;
    if (dw) {
        V = tg__alloc(g, (size_t)(16 * C * nbk * Ts) * sizeof(tg_real));
        D = tg__alloc(g, (size_t)(16 * O * nbk * Ts) * sizeof(tg_real));
        dU = tg__calloc(g, (size_t)(16 * O * Cg) * sizeof(tg_real));
    }
    if (dx) {
        U2 = tg__alloc(g, (size_t)(16 * C * Og) * sizeof(tg_real));
        V2 = tg__alloc(g, (size_t)(16 * O * nbk * Ts2) * sizeof(tg_real));
        M2 = tg__alloc(g, (size_t)(16 * C * nbk * Ts2) * sizeof(tg_real));
    }
    if (!scratch || (dw && (!V || !D || !dU)) || (dx && (!U2 || !V2 || !M2))) return false;
    if (dx) tgk_wino_weights(w, (int)C, (int)Og, ci->G, true, U2);

    for (int n0 = 0; n0 < ci->N; n0 += nbk) {
        const int nb = ci->N - n0 < nbk ? ci->N - n0 : nbk;
        const int64_t T = nb * Ts, T2 = nb * Ts2;
        int nt = threads_for(nb, 16 * (2 * sy + sx));
        (void)nt;
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
        for (int s = 0; s < nb; s++) {
            tg_real *sc = scratch + thread_id() * scr;
            const tg_real *dys = dy + (n0 + s) * sy;
            if (dw) { /* V = B^T x B, D = A dy A^T */
                tgk_wino_input(x + (n0 + s) * sx, (int)C, f.H, f.W, f.ph, f.pw, TH, TW, V + s * Ts,
                               T, C * T, sc);
                tgk_wino_grad(dys, (int)O, f.OH, f.OW, TH, TW, D + s * Ts, T, O * T, sc);
            }
            if (dx) /* V2 = B^T dy B over the padded dy */
                tgk_wino_input(dys, (int)O, b.H, b.W, b.ph, b.pw, TH2, TW2, V2 + s * Ts2, T2,
                               O * T2, sc);
        }
        /* 16 G pairs of small products, shared out whole between threads */
        nt = products_threads(16 * ci->G, Og * Cg * (dw ? T : 0) + Cg * Og * (dx ? T2 : 0));
        const int inner = nt > 1 ? 1 : nth;
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
        for (int q = 0; q < 16 * ci->G; q++) {
            const int xi = q / ci->G, gi = q % ci->G;
            if (dw) /* dU[xi]_g[Og, Cg] += D[xi]_g[Og, T] @ V[xi]_g[Cg, T]^T */
                tgk_conv_mm_nt((int)Og, (int)Cg, (int)T,
                               (tgk_csmat){D + (xi * O + gi * Og) * T, T, T, T},
                               (tgk_csmat){V + (xi * C + gi * Cg) * T, T, T, T},
                               dU + (xi * O + gi * Og) * Cg, Cg, NULL, inner);
            if (dx) /* M2[xi]_g[Cg, T2] = U2[xi]_g[Cg, Og] @ V2[xi]_g[Og, T2] */
                tgk_conv_mm(false, (int)Cg, (int)T2, (int)Og, U2 + (xi * C + gi * Cg) * Og, Og,
                            (tgk_csmat){V2 + (xi * O + gi * Og) * T2, T2, T2, T2},
                            (tgk_smat){M2 + (xi * C + gi * Cg) * T2, T2, T2, T2}, false, NULL,
                            inner);
        }
        if (!dx) continue;
        nt = threads_for(nb, 16 * sx);
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
        for (int s = 0; s < nb; s++) /* dx += A^T M2 A */
            tgk_wino_output(M2 + s * Ts2, T2, C * T2, (int)C, b.OH, b.OW, TH2, TW2,
                            dx + (n0 + s) * sx, dx_add, NULL, scratch + thread_id() * scr);
    }
    if (dw) tgk_wino_weight_grad(dU, (int)O, (int)Cg, dw);
    return true;
}

/* ---- conv2d / conv1d: y = w (*) x + b ------------------------------------------------
 * dw += dy (*) x (a correlation of dy with x), dx += the transposed convolution of dy
 * with w, db += sums of dy; through the columns or Winograd, as the header says. */

/* db[o] += sum_{n,p} dy[n,o,p]: each row of P in DB_LANES partial sums (they
 * vectorise), the rows in double; every order fixed by the shape. */
static void bias_grad(const conv_info *ci, const tg_real *dy, tg_real *db) {
    const int64_t P = positions(ci), O = ci->O;
    const int nt = threads_for(O, ci->N * P);
    (void)nt;
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
    for (int64_t o = 0; o < O; o++) {
        double acc = 0;
        for (int64_t s = 0; s < ci->N; s++) {
            const tg_real *row = dy + (s * O + o) * P;
            tg_real lane[DB_LANES] = {0};
            int64_t p = 0;
            for (; p + DB_LANES <= P; p += DB_LANES)
                for (int l = 0; l < DB_LANES; l++) lane[l] += row[p + l];
            for (int l = 0; p < P; p++, l++) lane[l] += row[p];
            double part = 0;
            for (int l = 0; l < DB_LANES; l++) part += lane[l];
            acc += part;
        }
        db[o] += (tg_real)acc;
    }
}

/* dw (when not NULL) and dx (when not NULL) through the columns. */
static bool cols_backward(tg_graph *g, const conv_info *ci, const tg_real *x, const tg_real *w,
                          const tg_real *dy, tg_real *dw, tg_real *dx, bool dx_add, tg_real *db) {
    const int64_t P = positions(ci), O = ci->O, C = ci->g.C;
    const int Og = cout_g(ci), Cg = cin_g(ci), Kg = krows_g(ci), G = ci->G;
    const int64_t xs = C * ci->g.H * ci->g.W;
    const int nth = tg__threads();
    /* The product packs its B operand (transposed): B is whichever of col and dy has
     * fewer rows, so C is dw^T ([G][Kg][Og], summed in a scratch, added into dw at the
     * end) or dw itself. db (when given: dy is then A) comes with the same pass. */
    const bool dw_t = Kg >= Og;
    tg_real *dwt = dw && dw_t ? tg__calloc(g, (size_t)G * Kg * Og * sizeof(tg_real)) : NULL;
    double *dbsum = db ? tg__calloc(g, (size_t)O * sizeof(double)) : NULL;
    if (db && (!dbsum || !dw || dw_t)) return false;
    tg_real *col = ci->direct ? NULL : tg__alloc(g, (size_t)ci->nb * P * Kg * G * sizeof(tg_real));
    if ((dw && dw_t && !dwt) || (!ci->direct && !col)) return false;

    for (int n0 = 0; n0 < ci->N; n0 += ci->nb) {
        const int nb = ci->N - n0 < ci->nb ? ci->N - n0 : ci->nb;
        const int64_t F = nb * P;
        if (dw) { /* dw_g^T[Kg, Og] += col_g[Kg, F] @ dy_g[Og, F]^T, or dw_g += dy_g col_g^T */
            if (!ci->direct) im2col_block(ci, x, n0, nb, col);
            for (int gi = 0; gi < G; gi++) {
                const tgk_csmat cm = ci->direct ? cseg(x, C, (int64_t)gi * Cg, n0, P)
                                                : (tgk_csmat){col + (int64_t)gi * Kg * F, F, P, P};
                const tgk_csmat dm = cseg(dy, O, (int64_t)gi * Og, n0, P);
                if (dw_t)
                    tgk_conv_mm_nt(Kg, Og, (int)F, cm, dm, dwt + (int64_t)gi * Kg * Og, Og, NULL,
                                   nth);
                else /* dy is A: its row sums (db) come with the same pass */
                    tgk_conv_mm_nt(Og, Kg, (int)F, dm, cm, dw + (int64_t)gi * Og * Kg, Kg,
                                   dbsum ? dbsum + (int64_t)gi * Og : NULL, nth);
            }
        }
        if (dx) {
            for (int gi = 0; gi < G; gi++) {
                const tg_real *wg = w + (int64_t)gi * Og * Kg;
                const tgk_csmat dyg = cseg(dy, O, (int64_t)gi * Og, n0, P);
                if (ci->direct) /* dx_g[Cg, F] += w_g^T[Cg, Og] @ dy_g[Og, F] */
                    tgk_conv_mm(true, Cg, (int)F, Og, wg, Kg, dyg,
                                seg(dx, C, (int64_t)gi * Cg, n0, P), dx_add, NULL, nth);
                else /* col_g[Kg, F] = w_g^T[Kg, Og] @ dy_g[Og, F] */
                    tgk_conv_mm(true, Kg, (int)F, Og, wg, Kg, dyg,
                                (tgk_smat){col + (int64_t)gi * Kg * F, F, P, P}, false, NULL, nth);
            }
            if (!ci->direct) {
                const int nt = threads_for(nb, C * ci->g.KH * ci->g.KW * P);
                (void)nt;
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
                for (int s = 0; s < nb; s++)
                    tgk_col2im(&ci->g, col + s * P, F, 0, (int)C, dx + (n0 + s) * xs);
            }
        }
    }
    if (db)
        for (int64_t o = 0; o < O; o++) db[o] += (tg_real)dbsum[o];
    if (dwt) /* dw[g*Og + o][k] += dw_g^T[k][o] */
        for (int gi = 0; gi < G; gi++)
            for (int o = 0; o < Og; o++) {
                tg_real *d = dw + ((int64_t)gi * Og + o) * Kg;
                const tg_real *t = dwt + (int64_t)gi * Kg * Og + o;
                for (int k = 0; k < Kg; k++) d[k] += t[(int64_t)k * Og];
            }
    return true;
}

static void conv_backward(tg_node *n) {
    tg_tensor *x = n->in[0], *w = n->in[1], *b = n->nin > 2 ? n->in[2] : NULL, *y = n->out;
    const conv_info *ci = n->saved;
    tg_graph *g = y->g;
    const tg_real *dy = y->grad;
    const bool need_w = tg__needs_grad(w), need_x = tg__needs_grad(x);
    tg_real *db = b && tg__needs_grad(b) ? tg__grad_buf(b) : NULL;
    tg_real *dw = need_w ? tg__grad_buf(w) : NULL;
    /* dx may be stored rather than added (its buffer is then garbage) by the ways that
     * write each element once: Winograd's output transform and the 1x1 product */
    bool dx_fresh = false;
    tg_real *dx = need_x ? tg__grad_for_write(x, &dx_fresh) : NULL;
    if (tg__failed(g)) return; /* a gradient buffer could not be had */
    const bool dx_once = y->numel > 0 && (ci->wino_dx || ci->direct);
    if (dx && dx_fresh && !dx_once) memset(dx, 0, (size_t)x->numel * sizeof(tg_real));
    /* db in the weight gradient's pass over dy when that pass has dy as its rows */
    const bool fuse_db = db && dw && !ci->wino_bwd && krows_g(ci) < cout_g(ci) && y->numel > 0;
    if (db && !fuse_db) bias_grad(ci, dy, db);
    if ((!dw && !dx) || y->numel == 0) return;
    if (ci->wino_bwd) { /* dw, and dx when its padding allows */
        tg_real *wdx = ci->wino_dx ? dx : NULL;
        if ((dw || wdx) && !wino_backward(g, ci, x->data, w->data, dy, dw, wdx, !dx_fresh)) return;
        dw = NULL;
        if (wdx) dx = NULL;
    }
    if (dw || dx)
        cols_backward(g, ci, x->data, w->data, dy, dw, dx, !dx_fresh || !ci->direct,
                      fuse_db ? db : NULL);
}
const tg_op tg__op_conv2d = {"conv2d", conv_backward};
const tg_op tg__op_conv1d = {"conv1d", conv_backward};

/* The forward pass into y (shape already made). Returns false on allocation failure. */
static bool conv_forward(tg_graph *g, const conv_info *ci, const tg_tensor *x, const tg_tensor *w,
                         const tg_tensor *b, tg_tensor *y) {
    const int64_t P = positions(ci), O = ci->O, C = ci->g.C;
    const int Og = cout_g(ci), Cg = cin_g(ci), Kg = krows_g(ci);
    const int nth = tg__threads();
    if (ci->wino) { /* U = G w G^T, then the pass */
        const wino_pass p = wino_forward_pass(ci);
        tg_real *U = tg__alloc(g, (size_t)(16 * O * Cg) * sizeof(tg_real));
        if (!U) return false;
        tgk_wino_weights(w->data, (int)O, Cg, ci->G, false, U);
        return wino_run(g, &p, U, x->data, y->data, false, b ? b->data : NULL);
    }
    tg_real *col = NULL;
    if (!ci->direct) {
        col = tg__alloc(g, (size_t)ci->nb * P * Kg * ci->G * sizeof(tg_real));
        if (!col) return false;
    }
    for (int n0 = 0; n0 < ci->N; n0 += ci->nb) {
        const int nb = ci->N - n0 < ci->nb ? ci->N - n0 : ci->nb;
        const int64_t F = nb * P;
        if (!ci->direct) im2col_block(ci, x->data, n0, nb, col);
        for (int gi = 0; gi < ci->G; gi++) { /* y_g[Og, F] = w_g[Og, Kg] @ col_g[Kg, F] + b_g */
            const tgk_csmat bm = ci->direct ? cseg(x->data, C, (int64_t)gi * Cg, n0, P)
                                            : (tgk_csmat){col + (int64_t)gi * Kg * F, F, P, P};
            tgk_conv_mm(false, Og, (int)F, Kg, w->data + (int64_t)gi * Og * Kg, Kg, bm,
                        seg(y->data, O, (int64_t)gi * Og, n0, P), false,
                        b ? b->data + (int64_t)gi * Og : NULL, nth);
        }
    }
    return true;
}

/* ---- checks and shapes ------------------------------------------------------------- */

/* One option: v[0..dims-1] into out, 0 meaning dflt; negative values are an error. */
static bool opt_pair(tg_graph *g, const char *op, const char *what, const int *v, int dims,
                     int dflt, int *out) {
    for (int i = 0; i < dims; i++) {
        if (v[i] < 0) {
            char got[32];
            if (dims == 2)
                snprintf(got, sizeof got, "[%d,%d]", v[0], v[1]);
            else
                snprintf(got, sizeof got, "%d", v[0]);
            if (dflt)
                tg__fail(g, TG_ERR_ARG, "%s: %s must be positive (or 0 for the default %d), got %s",
                         op, what, dflt, got);
            else
                tg__fail(g, TG_ERR_ARG, "%s: %s must be >= 0, got %s", op, what, got);
            return false;
        }
        out[i] = v[i] == 0 ? dflt : v[i];
    }
    return true;
}

/* Checks x, w, b and the options for an op on dims spatial axes (2: conv2d, 1:
 * conv1d) and fills ci. False after recording the error. */
static bool conv_setup(tg_graph *g, const char *op, int dims, const tg_tensor *x,
                       const tg_tensor *w, const tg_tensor *b, const tg_conv_opts *o,
                       conv_info *ci) {
    char sx[TG_SHAPE_STR], sw[TG_SHAPE_STR], sb[TG_SHAPE_STR];
    if (x->ndim != dims + 2 || w->ndim != dims + 2) {
        tg__fail(g, TG_ERR_SHAPE, "%s: x must be %s and w %s, got x %s, w %s", op,
                 dims == 2 ? "[N,C,H,W]" : "[N,C,L]",
                 dims == 2 ? "[O,C/groups,KH,KW]" : "[O,C/groups,K]", TG_SHAPE(x, sx),
                 TG_SHAPE(w, sw));
        return false;
    }
    const tg_conv_opts dflt = {{0, 0}, {0, 0}, {0, 0}, 0};
    if (!o) o = &dflt;
    int stride[2] = {1, 1}, pad[2] = {0, 0}, dil[2] = {1, 1};
    /* conv1d reads [0] of each option and applies it along L (the 2-D W axis) */
    if (!opt_pair(g, op, "stride", o->stride, dims, 1, stride + 2 - dims) ||
        !opt_pair(g, op, "padding", o->padding, dims, 0, pad + 2 - dims) ||
        !opt_pair(g, op, "dilation", o->dilation, dims, 1, dil + 2 - dims))
        return false;
    if (o->groups < 0) {
        tg__fail(g, TG_ERR_ARG, "%s: groups must be positive (or 0 for the default 1), got %d", op,
                 o->groups);
        return false;
    }
    const int G = o->groups ? o->groups : 1;
    const int N = x->shape[0], C = x->shape[1], O = w->shape[0], Cg = w->shape[1];
    const int H = dims == 2 ? x->shape[2] : 1, W = x->shape[dims + 1];
    const int KH = dims == 2 ? w->shape[2] : 1, KW = w->shape[dims + 1];
    if (C % G != 0) {
        tg__fail(g, TG_ERR_SHAPE, "%s: input channels %d (x %s) are not divisible by groups %d", op,
                 C, TG_SHAPE(x, sx), G);
        return false;
    }
    if (O % G != 0) {
        tg__fail(g, TG_ERR_SHAPE,
                 "%s: output channels %d (weight %s) are not divisible by groups %d", op, O,
                 TG_SHAPE(w, sw), G);
        return false;
    }
    if ((int64_t)Cg * G != C) {
        tg__fail(g, TG_ERR_SHAPE,
                 "%s: input has %d channels but weight %s expects %lld (groups %d)", op, C,
                 TG_SHAPE(w, sw), (long long)Cg * G, G);
        return false;
    }
    if (KH < 1 || KW < 1) {
        tg__fail(g, TG_ERR_SHAPE, "%s: weight %s has an empty kernel", op, TG_SHAPE(w, sw));
        return false;
    }
    if (b && (b->ndim != 1 || b->shape[0] != O)) {
        tg__fail(g, TG_ERR_SHAPE, "%s: bias %s does not fit weight %s (want [%d])", op,
                 TG_SHAPE(b, sb), TG_SHAPE(w, sw), O);
        return false;
    }
    const int64_t nh = (int64_t)H + 2 * pad[0] - (int64_t)dil[0] * (KH - 1) - 1;
    const int64_t nw = (int64_t)W + 2 * pad[1] - (int64_t)dil[1] * (KW - 1) - 1;
    const int64_t OH = nh < 0 ? nh / stride[0] - (nh % stride[0] != 0) + 1 : nh / stride[0] + 1;
    const int64_t OW = nw < 0 ? nw / stride[1] - (nw % stride[1] != 0) + 1 : nw / stride[1] + 1;
    if (OH <= 0 || OW <= 0) {
        if (dims == 2)
            tg__fail(g, TG_ERR_SHAPE,
                     "%s: output size would be %lldx%lld: input %s is too small for kernel "
                     "%dx%d (stride [%d,%d], padding [%d,%d], dilation [%d,%d])",
                     op, (long long)OH, (long long)OW, TG_SHAPE(x, sx), KH, KW, stride[0],
                     stride[1], pad[0], pad[1], dil[0], dil[1]);
        else
            tg__fail(g, TG_ERR_SHAPE,
                     "%s: output length would be %lld: input %s is too short for kernel %d "
                     "(stride %d, padding %d, dilation %d)",
                     op, (long long)OW, TG_SHAPE(x, sx), KW, stride[1], pad[1], dil[1]);
        return false;
    }
    const int64_t P = OH * OW, K = (int64_t)C * KH * KW;
    if (OH > INT_MAX || OW > INT_MAX || P > INT_MAX || K > INT_MAX) {
        tg__fail(g, TG_ERR_SHAPE, "%s: x %s with weight %s is too large for one product", op,
                 TG_SHAPE(x, sx), TG_SHAPE(w, sw));
        return false;
    }
    *ci = (conv_info){.g = {C, H, W, KH, KW, stride[0], stride[1], pad[0], pad[1], dil[0], dil[1],
                            (int)OH, (int)OW},
                      .N = N,
                      .O = O,
                      .G = G};
    ci->direct =
        KH == 1 && KW == 1 && stride[0] == 1 && stride[1] == 1 && pad[0] == 0 && pad[1] == 0;
    const bool w3 = tgk_wino_enabled() && KH == 3 && KW == 3 && stride[0] == 1 && stride[1] == 1 &&
                    dil[0] == 1 && dil[1] == 1;
    const double h = (double)Cg * (O / G) / ((double)Cg + O / G);
    ci->wino = w3 && h >= WINO_FWD_MIN;
    ci->wino_bwd = w3 && h >= WINO_BWD_MIN;
    ci->wino_dx = ci->wino_bwd && pad[0] <= 2 && pad[1] <= 2;
    /* samples per block: columns and outputs of about COL_BUDGET elements (the columns
     * should still be in cache when the product reads them, with its output streaming
     * past), at least 1, and at most INT_MAX columns (the products take int sizes) */
    int64_t nb = ci->direct ? N : COL_BUDGET / ((K + O) * P > 0 ? (K + O) * P : 1);
    if (nb > INT_MAX / P) nb = INT_MAX / P;
    if (nb > N) nb = N;
    ci->nb = nb < 1 ? 1 : (int)nb;
    return true;
}

static tg_tensor *conv_op(tg_graph *g, const tg_op *opd, int dims, tg_tensor *x, tg_tensor *w,
                          tg_tensor *b, const tg_conv_opts *o) {
    tg_tensor *in3[3] = {x, w, b};
    const int nin = b ? 3 : 2;
    if (!tg__op_begin(g, opd->name, nin, in3)) return NULL;
    conv_info ci;
    if (!conv_setup(g, opd->name, dims, x, w, b, o, &ci)) return NULL;
    int ys[4] = {ci.N, ci.O, ci.g.OH, ci.g.OW};
    if (dims == 1) ys[2] = ci.g.OW;
    tg_tensor *y = tg__tensor_make(g, opd->name, dims + 2, ys);
    if (!y) return NULL;
    if (y->numel > 0 && !conv_forward(g, &ci, x, w, b, y)) return NULL;
    tg_node *nd = tg__record(g, opd, y, nin, in3);
    if (nd) {
        conv_info *saved = tg__alloc(g, sizeof *saved);
        if (!saved) return NULL;
        *saved = ci;
        nd->saved = saved;
    }
    return tg__failed(g) ? NULL : y;
}

TG_API tg_tensor *tg_conv2d(tg_graph *g, tg_tensor *x, tg_tensor *w, tg_tensor *b,
                            const tg_conv_opts *o) {
    return conv_op(g, &tg__op_conv2d, 2, x, w, b, o);
}

TG_API tg_tensor *tg_conv1d(tg_graph *g, tg_tensor *x, tg_tensor *w, tg_tensor *b,
                            const tg_conv_opts *o) {
    return conv_op(g, &tg__op_conv1d, 1, x, w, b, o);
}
