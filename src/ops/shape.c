/* src/ops/shape.c: reshape, transpose, permute, broadcast_to. Every op copies into a
 * new contiguous tensor (no views).
 *
 * Transpose, permute and broadcast_to (and the backward of the first two) are one
 * kernel, gather(): it walks the output contiguously while an odometer steps through
 * the input with one stride per output axis (the input's stride for that axis, or 0
 * along a broadcast axis). Axes of size 1 are dropped and neighbours that are still
 * contiguous in the input are merged first, so a permute that moves only size-1 axes
 * is a memcpy. When the input is contiguous along some output axis other than the last
 * (the transpose of the last two axes, or any permute that moves the input's last
 * axis), the copy goes in 16x16 tiles of that axis and the last one, so that reads and
 * writes both stay in cache (16 beat 32 and 8 on a 2048x2048 transpose, where
 * power-of-two strides make larger tiles collide in L1). Large copies are split across
 * threads by output rows or tiles; each element is written by exactly one thread, so
 * results never depend on the thread count. */
#include <limits.h>

#include "ops.h"

/* Elements per chunk of a threaded flat loop, and the side of a transpose tile. */
#define CHUNK 8192
#define TILE  16
/* The side of a square of tiles that one thread copies at a time. */
#define BLOCK 256

static int nthreads_for(int64_t numel) { return numel >= TG_PAR_MIN ? tg__threads() : 1; }

/* dst[i] (+)= src[i * s] for i < n; s is 0 (fill), 1 (copy) or larger. */
static void run(tg_real *restrict dst, const tg_real *restrict src, int64_t s, int64_t n,
                bool acc) {
    if (s == 1) {
        if (acc)
            for (int64_t i = 0; i < n; i++) dst[i] += src[i];
        else
            memcpy(dst, src, (size_t)n * sizeof(tg_real));
    } else if (s == 0) {
        const tg_real v = src[0];
        if (acc)
            for (int64_t i = 0; i < n; i++) dst[i] += v;
        else
            for (int64_t i = 0; i < n; i++) dst[i] = v;
    } else {
        if (acc)
            for (int64_t i = 0; i < n; i++) dst[i] += src[i * s];
        else
            for (int64_t i = 0; i < n; i++) dst[i] = src[i * s];
    }
}

/* dst[i] (+)= src[i * s] for i < n, in fixed-size chunks across threads. */
static void flat(tg_real *restrict dst, const tg_real *restrict src, int64_t s, int64_t n,
                 bool acc) {
    const int nth = nthreads_for(n);
    if (nth <= 1) {
        run(dst, src, s, n, acc);
        return;
    }
    const int64_t nch = (n + CHUNK - 1) / CHUNK;
#pragma omp parallel for schedule(static) num_threads(nth)
    for (int64_t c = 0; c < nch; c++) {
        const int64_t lo = c * CHUNK, len = n - lo < CHUNK ? n - lo : CHUNK;
        run(dst + lo, src + lo * s, s, len, acc);
    }
}

/* The offset in src of the first element of outer row r: r is split into the indices
 * of axes 0..m-1 (sizes sh), idx receives them. */
static int64_t seek(int64_t r, int m, const int64_t *sh, const int64_t *st, int64_t *idx) {
    int64_t off = 0;
    for (int i = m - 1; i >= 0; i--) {
        idx[i] = r % sh[i];
        r /= sh[i];
        off += idx[i] * st[i];
    }
    return off;
}

/* Advances the odometer over axes 0..m-1 by one; returns the change in src offset. */
static inline int64_t step(int m, const int64_t *sh, const int64_t *st, int64_t *idx) {
    int64_t d = 0;
    for (int i = m - 1; i >= 0; i--) {
        d += st[i];
        if (++idx[i] < sh[i]) break;
        d -= st[i] * sh[i];
        idx[i] = 0;
    }
    return d;
}

/* Rows [r0, r1) and columns [c0, c1) of a transposed plane, in TILE x TILE tiles:
 * dst[i*ld + j] (+)= src[i + j*s]. Within a tile the TILE source lines read for one
 * i are reused for the next TILE - 1 values of i. */
static void plane_tiles(tg_real *restrict dst, const tg_real *restrict src, int64_t r0, int64_t r1,
                        int64_t c0, int64_t c1, int64_t ld, int64_t s, bool acc) {
    for (int64_t i0 = r0; i0 < r1; i0 += TILE) {
        const int64_t i1 = r1 - i0 < TILE ? r1 : i0 + TILE;
        for (int64_t j0 = c0; j0 < c1; j0 += TILE) {
            const int64_t j1 = c1 - j0 < TILE ? c1 : j0 + TILE;
            for (int64_t i = i0; i < i1; i++) {
                tg_real *restrict d = dst + i * ld;
                const tg_real *restrict sp = src + i;
                if (acc)
                    for (int64_t j = j0; j < j1; j++) d[j] += sp[j * s];
                else
                    for (int64_t j = j0; j < j1; j++) d[j] = sp[j * s];
            }
        }
    }
}

/* dst (contiguous, shape osh[n]) (+)= src read with stride sst[i] along output axis i.
 * The shared strided copy of transpose, permute and broadcast_to. */
static void gather(tg_real *restrict dst, const tg_real *restrict src, int n, const int *osh,
                   const int64_t *sst, bool acc) {
    /* Merge: drop size-1 axes, join an axis to the previous one when together they
     * step through src with one stride. */
    int64_t sh[TG_MAX_DIMS], st[TG_MAX_DIMS], numel = 1;
    int m = 0;
    for (int i = 0; i < n; i++) {
        numel *= osh[i];
        if (osh[i] == 1) continue;
        if (m > 0 && st[m - 1] == sst[i] * osh[i]) {
            sh[m - 1] *= osh[i];
            st[m - 1] = sst[i];
        } else {
            sh[m] = osh[i];
            st[m] = sst[i];
            m++;
        }
    }
    if (numel == 0) return;
    if (m == 0) { /* one element */
        run(dst, src, 1, 1, acc);
        return;
    }
    if (m == 1) {
        flat(dst, src, st[0], numel, acc);
        return;
    }
    const int nth = nthreads_for(numel);
    /* The axis k along which src is contiguous (at most one after merging). */
    int k = -1;
    for (int i = 0; i < m - 1; i++)
        if (st[i] == 1) k = i;
    if (k >= 0 && st[m - 1] > 1) {
        /* Tiled: a plane of R rows (output axis k, src stride 1, dst stride ld) by C
         * columns (the last axis, src stride s, dst stride 1) at each position of the
         * other axes. Reading rows of src while writing rows of dst, TILE x TILE at a
         * time, keeps both in cache. A work unit is a BLOCK x BLOCK part of one plane. */
        int64_t dst_st[TG_MAX_DIMS], osh[TG_MAX_DIMS], ost[TG_MAX_DIMS], odst[TG_MAX_DIMS];
        int64_t d = 1;
        for (int i = m - 1; i >= 0; i--) {
            dst_st[i] = d;
            d *= sh[i];
        }
        int mo = 0; /* the other axes */
        for (int i = 0; i < m - 1; i++) {
            if (i == k) continue;
            osh[mo] = sh[i];
            ost[mo] = st[i];
            odst[mo++] = dst_st[i];
        }
        const int64_t R = sh[k], C = sh[m - 1], s = st[m - 1], ld = dst_st[k];
        const int64_t rb = (R + BLOCK - 1) / BLOCK, cb = (C + BLOCK - 1) / BLOCK;
        const int64_t per_plane = rb * cb, units = numel / (R * C) * per_plane;
#pragma omp parallel for schedule(static) num_threads(nth) if (nth > 1)
        for (int t = 0; t < nth; t++) {
            const int64_t u0 = units * t / nth, u1 = units * (t + 1) / nth;
            for (int64_t u = u0; u < u1; u++) {
                int64_t idx[TG_MAX_DIMS];
                const int64_t p = u / per_plane, bi = u % per_plane / cb, bj = u % cb;
                const int64_t so = seek(p, mo, osh, ost, idx);
                int64_t dof = 0;
                for (int i = 0; i < mo; i++) dof += idx[i] * odst[i];
                const int64_t r0 = bi * BLOCK, r1 = R - r0 < BLOCK ? R : r0 + BLOCK;
                const int64_t c0 = bj * BLOCK, c1 = C - c0 < BLOCK ? C : c0 + BLOCK;
                plane_tiles(dst + dof, src + so, r0, r1, c0, c1, ld, s, acc);
            }
        }
        return;
    }
    /* Rows of the last merged axis; threads take contiguous ranges of rows and start
     * their odometer at their first row. */
    const int64_t len = sh[m - 1], s = st[m - 1], rows = numel / len;
    const int mo = m - 1;
#pragma omp parallel for schedule(static) num_threads(nth) if (nth > 1)
    for (int t = 0; t < nth; t++) {
        const int64_t r0 = rows * t / nth, r1 = rows * (t + 1) / nth;
        int64_t idx[TG_MAX_DIMS];
        int64_t off = seek(r0, mo, sh, st, idx);
        for (int64_t r = r0; r < r1; r++) {
            run(dst + r * len, src + off, s, len, acc);
            off += step(mo, sh, st, idx);
        }
    }
}

/* Row-major element strides of a shape. */
static void strides_of(int n, const int *shape, int64_t *st) {
    int64_t s = 1;
    for (int i = n - 1; i >= 0; i--) {
        st[i] = s;
        s *= shape[i];
    }
}

/* ---- reshape: y = x with a new shape; dx += dy (as flat arrays) ------------------- */
static void reshape_backward(tg_node *n) {
    tg_tensor *x = n->in[0], *y = n->out;
    tg_real *dx = tg__grad_buf(x);
    if (dx) flat(dx, y->grad, 1, x->numel, true);
}
const tg_op tg__op_reshape = {"reshape", reshape_backward};

TG_API tg_tensor *tg_reshape(tg_graph *g, tg_tensor *a, int ndim, const int *shape) {
    char sa[TG_SHAPE_STR], ss[TG_SHAPE_STR];
    if (!TG_BEGIN(g, "reshape", a)) return NULL;
    if (ndim < 0 || ndim > TG_MAX_DIMS) {
        tg__fail(g, TG_ERR_SHAPE, "reshape: ndim %d is outside 0..%d (input %s)", ndim, TG_MAX_DIMS,
                 TG_SHAPE(a, sa));
        return NULL;
    }
    if (ndim > 0 && !shape) {
        tg__fail(g, TG_ERR_NULL, "reshape: shape is NULL for ndim %d (input %s)", ndim,
                 TG_SHAPE(a, sa));
        return NULL;
    }
    /* known: the product of the given dimensions, saturated at INT64_MAX. */
    int infer = -1;
    int64_t known = 1;
    for (int i = 0; i < ndim; i++) {
        const int d = shape[i];
        if (d == -1) {
            if (infer >= 0) {
                tg__fail(g, TG_ERR_SHAPE, "reshape: only one dimension can be -1: %s to %s",
                         TG_SHAPE(a, sa), tg__shape_str(ndim, shape, ss));
                return NULL;
            }
            infer = i;
        } else if (d < 0) {
            tg__fail(g, TG_ERR_SHAPE, "reshape: negative dimension %d in shape %s (input %s)", d,
                     tg__shape_str(ndim, shape, ss), TG_SHAPE(a, sa));
            return NULL;
        } else if (d == 0 || known == 0) {
            known = 0;
        } else {
            known = known > INT64_MAX / d ? INT64_MAX : known * d;
        }
    }
    int out[TG_MAX_DIMS];
    for (int i = 0; i < ndim; i++) out[i] = shape[i];
    if (infer >= 0) {
        if (known == 0 && a->numel == 0) {
            tg__fail(g, TG_ERR_SHAPE,
                     "reshape: cannot reshape %s (0 elements) to %s: next to a 0 the -1 "
                     "dimension is ambiguous",
                     TG_SHAPE(a, sa), tg__shape_str(ndim, shape, ss));
            return NULL;
        }
        if (known == 0 || a->numel % known != 0 || a->numel / known > INT_MAX) {
            tg__fail(g, TG_ERR_SHAPE, "reshape: cannot reshape %s (%lld elements) to %s",
                     TG_SHAPE(a, sa), (long long)a->numel, tg__shape_str(ndim, shape, ss));
            return NULL;
        }
        out[infer] = (int)(a->numel / known);
    } else if (known != a->numel) {
        char cnt[32] = "more than 2^63";
        if (known != INT64_MAX) snprintf(cnt, sizeof cnt, "%lld", (long long)known);
        tg__fail(g, TG_ERR_SHAPE, "reshape: cannot reshape %s (%lld elements) to %s (%s elements)",
                 TG_SHAPE(a, sa), (long long)a->numel, tg__shape_str(ndim, shape, ss), cnt);
        return NULL;
    }
    tg_tensor *y = tg__tensor_make(g, "reshape", ndim, out);
    if (!y) return NULL;
    flat(y->data, a->data, 1, a->numel, false);
    tg__record(g, &tg__op_reshape, y, 1, &a);
    return tg__failed(g) ? NULL : y;
}

/* ---- permute: y = x with axes reordered, y.shape[i] = x.shape[perm[i]];
 * dx += dy permuted back by the inverse permutation --------------------------------- */

/* iarg[0..ndim-1] holds perm (normalised). Shared by transpose. */
static void permute_backward(tg_node *n) {
    tg_tensor *x = n->in[0], *y = n->out;
    tg_real *dx = tg__grad_buf(x);
    if (!dx) return;
    /* Walk dx contiguously: its axis j is dy's axis inv[j]. */
    int64_t yst[TG_MAX_DIMS], sst[TG_MAX_DIMS];
    strides_of(y->ndim, y->shape, yst);
    for (int i = 0; i < y->ndim; i++) sst[n->iarg[i]] = yst[i];
    gather(dx, y->grad, x->ndim, x->shape, sst, true);
}
const tg_op tg__op_permute = {"permute", permute_backward},
            tg__op_transpose = {"transpose", permute_backward};

/* perm is already checked and normalised. */
static tg_tensor *permute(tg_graph *g, const tg_op *op, tg_tensor *a, const int *perm) {
    int shape[TG_MAX_DIMS];
    int64_t ast[TG_MAX_DIMS], sst[TG_MAX_DIMS];
    strides_of(a->ndim, a->shape, ast);
    for (int i = 0; i < a->ndim; i++) {
        shape[i] = a->shape[perm[i]];
        sst[i] = ast[perm[i]];
    }
    tg_tensor *y = tg__tensor_make(g, op->name, a->ndim, shape);
    if (!y) return NULL;
    gather(y->data, a->data, a->ndim, shape, sst, false);
    tg_node *nd = tg__record(g, op, y, 1, &a);
    if (nd)
        for (int i = 0; i < a->ndim; i++) nd->iarg[i] = perm[i];
    return tg__failed(g) ? NULL : y;
}

/* Negative entries of perm count from the end (perm {0, -1, 1} = {0, 2, 1}). A 0-d
 * tensor takes an empty perm, and perm may then be NULL. */
TG_API tg_tensor *tg_permute(tg_graph *g, tg_tensor *a, const int *perm) {
    char sa[TG_SHAPE_STR], sp[TG_SHAPE_STR];
    if (!TG_BEGIN(g, "permute", a)) return NULL;
    if (a->ndim > 0 && !perm) {
        tg__fail(g, TG_ERR_NULL, "permute: perm is NULL for a tensor of shape %s", TG_SHAPE(a, sa));
        return NULL;
    }
    int p[TG_MAX_DIMS];
    bool seen[TG_MAX_DIMS] = {false};
    for (int i = 0; i < a->ndim; i++) {
        p[i] = tg__axis(perm[i], a->ndim);
        if (p[i] < 0) {
            tg__fail(g, TG_ERR_AXIS, "permute: axis %d out of range in perm %s for shape %s",
                     perm[i], tg__shape_str(a->ndim, perm, sp), TG_SHAPE(a, sa));
            return NULL;
        }
        if (seen[p[i]]) {
            tg__fail(g, TG_ERR_AXIS, "permute: axis %d repeated in perm %s for shape %s", p[i],
                     tg__shape_str(a->ndim, perm, sp), TG_SHAPE(a, sa));
            return NULL;
        }
        seen[p[i]] = true;
    }
    return permute(g, &tg__op_permute, a, p);
}

/* ---- transpose: permute with two axes swapped ------------------------------------- */

/* As in PyTorch, a 0-d tensor accepts dims 0 and -1 (and is copied unchanged). */
TG_API tg_tensor *tg_transpose(tg_graph *g, tg_tensor *a, int dim0, int dim1) {
    char sa[TG_SHAPE_STR];
    if (!TG_BEGIN(g, "transpose", a)) return NULL;
    const int nd = a->ndim > 0 ? a->ndim : 1;
    const int d0 = tg__axis(dim0, nd), d1 = tg__axis(dim1, nd);
    if (d0 < 0 || d1 < 0) {
        tg__fail(g, TG_ERR_AXIS, "transpose: dims (%d, %d) out of range for shape %s", dim0, dim1,
                 TG_SHAPE(a, sa));
        return NULL;
    }
    int p[TG_MAX_DIMS];
    for (int i = 0; i < a->ndim; i++) p[i] = i;
    if (a->ndim > 0) {
        p[d0] = d1;
        p[d1] = d0;
    }
    return permute(g, &tg__op_transpose, a, p);
}

/* ---- broadcast_to: y = x stretched to shape (NumPy rules);
 * dx += dy summed over the stretched and added axes --------------------------------- */
static void broadcast_to_backward(tg_node *n) {
    tg_tensor *x = n->in[0], *y = n->out;
    tg_real *dx = tg__grad_buf(x);
    if (dx) tg__sum_to_shape(dx, x->ndim, x->shape, y->grad, y->ndim, y->shape);
}
const tg_op tg__op_broadcast_to = {"broadcast_to", broadcast_to_backward};

TG_API tg_tensor *tg_broadcast_to(tg_graph *g, tg_tensor *a, int ndim, const int *shape) {
    char sa[TG_SHAPE_STR], ss[TG_SHAPE_STR];
    if (!TG_BEGIN(g, "broadcast_to", a)) return NULL;
    if (ndim < 0 || ndim > TG_MAX_DIMS) {
        tg__fail(g, TG_ERR_SHAPE, "broadcast_to: ndim %d is outside 0..%d (input %s)", ndim,
                 TG_MAX_DIMS, TG_SHAPE(a, sa));
        return NULL;
    }
    if (ndim > 0 && !shape) {
        tg__fail(g, TG_ERR_NULL, "broadcast_to: shape is NULL for ndim %d (input %s)", ndim,
                 TG_SHAPE(a, sa));
        return NULL;
    }
    bool ok = ndim >= a->ndim;
    for (int i = 0; i < ndim; i++) {
        const int ai = i - (ndim - a->ndim);
        if (shape[i] < 0) ok = false;
        if (ok && ai >= 0 && a->shape[ai] != shape[i] && a->shape[ai] != 1) ok = false;
    }
    if (!ok) {
        tg__fail(g, TG_ERR_SHAPE, "broadcast_to: cannot broadcast %s to %s", TG_SHAPE(a, sa),
                 tg__shape_str(ndim, shape, ss));
        return NULL;
    }
    tg_tensor *y = tg__tensor_make(g, "broadcast_to", ndim, shape);
    if (!y) return NULL;
    int64_t sst[TG_MAX_DIMS];
    tg__broadcast_strides(a->ndim, a->shape, ndim, shape, sst);
    gather(y->data, a->data, ndim, shape, sst, false);
    tg__record(g, &tg__op_broadcast_to, y, 1, &a);
    return tg__failed(g) ? NULL : y;
}
