/* src/graph/broadcast.c: NumPy broadcasting of shapes, and the one helper that sums a
 * gradient back to the shape of a broadcast input. */
#include "internal.h"

int tg__broadcast_shape(int an, const int *as, int bn, const int *bs, int *out) {
    int n = an > bn ? an : bn;
    for (int i = 0; i < n; i++) {
        int ai = i - (n - an), bi = i - (n - bn);
        int da = ai >= 0 ? as[ai] : 1, db = bi >= 0 ? bs[bi] : 1;
        if (da != db && da != 1 && db != 1) return -1;
        out[i] = da == 1 ? db : da;
    }
    return n;
}

void tg__broadcast_strides(int n, const int *s, int on, const int *os, int64_t *st) {
    int64_t stride = 1;
    for (int i = on - 1; i >= 0; i--) {
        int si = i - (on - n);
        if (si < 0 || (s[si] == 1 && os[i] != 1)) {
            st[i] = 0;
        } else {
            st[i] = stride;
        }
        if (si >= 0) stride *= s[si];
    }
}

void tg__sum_to_shape(tg_real *dst, int dn, const int *ds, const tg_real *src, int sn,
                      const int *ss) {
    int64_t numel = 1, dnumel = 1;
    for (int i = 0; i < sn; i++) numel *= ss[i];
    for (int i = 0; i < dn; i++) dnumel *= ds[i];
    if (numel == 0) return;
    if (dnumel == numel) { /* same elements in the same order: no axis was stretched */
        for (int64_t i = 0; i < numel; i++) dst[i] += src[i];
        return;
    }
    if (dnumel == 1) {
        double acc = 0;
        for (int64_t i = 0; i < numel; i++) acc += src[i];
        dst[0] += (tg_real)acc;
        return;
    }
    /* General case: walk src row by row (its last axis), with dst's strides. */
    int64_t st[TG_MAX_DIMS];
    tg__broadcast_strides(dn, ds, sn, ss, st);
    int last = sn - 1, rowlen = ss[last];
    int64_t rows = numel / rowlen, inner = st[last];
    int idx[TG_MAX_DIMS] = {0};
    int64_t off = 0;
    for (int64_t r = 0; r < rows; r++) {
        const tg_real *s = src + r * rowlen;
        if (inner) {
            tg_real *d = dst + off;
            for (int j = 0; j < rowlen; j++) d[j] += s[j];
        } else {
            double acc = 0;
            for (int j = 0; j < rowlen; j++) acc += s[j];
            dst[off] += (tg_real)acc;
        }
        for (int i = last - 1; i >= 0; i--) { /* odometer over the outer axes */
            off += st[i];
            if (++idx[i] < ss[i]) break;
            off -= st[i] * ss[i];
            idx[i] = 0;
        }
    }
}
