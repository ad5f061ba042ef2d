/* src/data/batch.c: the mini-batch iterator (seeded shuffle, augmentation) and one-hot.
 *
 * Every buffer is allocated in tg_batcher_new; a batch is converted straight from the
 * dataset's storage into a tensor in the graph's arena, so the batcher itself never
 * calls malloc after it is made. Shift and flip are folded into that conversion (each
 * output row reads its source row forwards or backwards), so augmentation needs no
 * scratch image either.
 *
 * The order and augmentation of epoch k come from generators seeded with a hash of
 * (seed, k), never from the state left by earlier epochs: an epoch can be repeated
 * whatever happened before it (how many batches were drawn, an early reset). */
#include <math.h>

#include "data_internal.h"

struct tg_batcher {
    const tg_dataset *d;
    int batch_size;
    bool shuffle, drop_last;
    uint64_t seed;
    int64_t epoch;
    int64_t pos;     /* next position in order */
    int64_t *order;  /* n sample indices, this epoch's order */
    int32_t *labels; /* min(batch_size, n) labels of the last batch, or NULL */
    tg_augment aug;
    bool aug_on;     /* aug is set (and maybe invalid: see aug_ok) */
    tg_rng rng;      /* augmentation draws of this epoch */
    bool have_spare; /* the polar method makes normals in pairs */
    double spare;
};

/* splitmix64's finaliser: a well-mixed 64-bit hash. */
static uint64_t mix(uint64_t x) {
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

/* The seed of stream `stream` (0: order, 1: augmentation) in epoch k. */
static uint64_t epoch_seed(uint64_t seed, int64_t k, unsigned stream) {
    return mix(seed ^ mix((uint64_t)k * 2u + stream));
}

/* Starts epoch b->epoch from its first batch: its order and its augmentation stream. */
static void start_epoch(tg_batcher *b) {
    const int64_t n = b->d->n;
    for (int64_t i = 0; i < n; i++) b->order[i] = i;
    if (b->shuffle) { /* Fisher-Yates */
        tg_rng r;
        tg_rng_seed(&r, epoch_seed(b->seed, b->epoch, 0));
        for (int64_t i = n - 1; i > 0; i--) {
            int64_t j = tg_rng_below(&r, i + 1);
            int64_t t = b->order[i];
            b->order[i] = b->order[j];
            b->order[j] = t;
        }
    }
    tg_rng_seed(&b->rng, epoch_seed(b->seed, b->epoch, 1));
    b->have_spare = false;
    b->pos = 0;
}

TG_API tg_batcher *tg_batcher_new(const tg_dataset *d, int batch_size, bool shuffle, bool drop_last,
                                  uint64_t seed) {
    static const char who[] = "tg_batcher_new";
    if (!d) {
        tg__set_error(TG_ERR_NULL, "%s: dataset is NULL", who);
        return NULL;
    }
    if (batch_size <= 0) {
        tg__set_error(TG_ERR_ARG, "%s: batch_size %d must be >= 1", who, batch_size);
        return NULL;
    }
    if ((uint64_t)d->n > SIZE_MAX / sizeof(int64_t)) {
        tg__set_error(TG_ERR_NOMEM, "%s: %lld samples are too many", who, (long long)d->n);
        return NULL;
    }
    tg_batcher *b = tg__malloc(sizeof *b);
    if (!b) goto oom;
    memset(b, 0, sizeof *b);
    b->d = d;
    b->batch_size = batch_size;
    b->shuffle = shuffle;
    b->drop_last = drop_last;
    b->seed = seed;
    b->order = tg__malloc((size_t)d->n * sizeof *b->order);
    if (!b->order) goto oom;
    if (d->labels) {
        int64_t most = d->n < batch_size ? d->n : batch_size;
        b->labels = tg__malloc((size_t)most * sizeof *b->labels);
        if (!b->labels) goto oom;
    }
    start_epoch(b);
    return b;
oom:
    tg_batcher_free(b);
    tg__set_error(TG_ERR_NOMEM, "%s: out of memory for a batcher over %lld samples", who,
                  (long long)d->n);
    return NULL;
}

TG_API void tg_batcher_free(tg_batcher *b) {
    if (!b) return;
    tg__free(b->order);
    tg__free(b->labels);
    tg__free(b);
}

/* What a valid augmentation is, and the words errors use for it. */
#define AUG_RULE "max_shift %d must be >= 0 and noise_std %g finite and >= 0"
static bool aug_ok(const tg_augment *a) {
    return a->max_shift >= 0 && a->noise_std >= 0 && isfinite(a->noise_std);
}

TG_API void tg_batcher_set_augment(tg_batcher *b, const tg_augment *a) {
    if (!b) return;
    b->aug_on = a != NULL;
    if (!a) return;
    b->aug = *a;
    if (!aug_ok(a))
        tg__set_error(TG_ERR_ARG, "tg_batcher_set_augment: " AUG_RULE, a->max_shift, a->noise_std);
}

TG_API void tg_batcher_reset(tg_batcher *b) {
    if (!b) return;
    b->epoch++;
    start_epoch(b);
}

TG_API int64_t tg_batcher_batches(const tg_batcher *b) {
    if (!b) return 0;
    int64_t n = b->d->n, bs = b->batch_size;
    return b->drop_last ? n / bs : (n + bs - 1) / bs;
}

TG_API int64_t tg_batcher_epoch(const tg_batcher *b) { return b ? b->epoch : -1; }

/* ---- converting a sample ------------------------------------------------------------- */

/* out[k] = lut[s[k]] for k < count: the byte conversion. Vectorised (a gather from the
 * table) where the CPU has AVX2 or AVX-512: the same values, from the same table. */
TG_SIMD static void convert_bytes(const uint8_t *restrict s, const tg_real *restrict lut,
                                  tg_real *restrict out, int64_t count) {
    for (int64_t k = 0; k < count; k++) out[k] = lut[s[k]];
}

/* out[k] = convert(element base + k * step) for k < count, step +1 or -1. */
static void convert_run(const tg_dataset *d, int64_t base, int64_t step, tg_real *restrict out,
                        int64_t count) {
    if (d->bytes) {
        const uint8_t *s = d->bytes + base;
        const tg_real *lut = d->lut;
        if (step == 1)
            convert_bytes(s, lut, out, count);
        else
            for (int64_t k = 0; k < count; k++) out[k] = lut[*(s - k)];
    } else {
        const float *s = d->floats + base;
        if (step == 1)
            for (int64_t k = 0; k < count; k++) out[k] = tg__convert_float(d, s[k]);
        else
            for (int64_t k = 0; k < count; k++) out[k] = tg__convert_float(d, *(s - k));
    }
}

/* A standard normal: Marsaglia's polar method on 32-bit uniforms (no trigonometry;
 * noise is drawn for every element of a batch, so this is the augmentation's hot path). */
static double gauss(tg_batcher *b) {
    if (b->have_spare) {
        b->have_spare = false;
        return b->spare;
    }
    double u, v, s;
    do {
        u = tg_rng_u32(&b->rng) * (2.0 / 4294967296.0) - 1.0;
        v = tg_rng_u32(&b->rng) * (2.0 / 4294967296.0) - 1.0;
        s = u * u + v * v;
    } while (s >= 1.0 || s == 0.0);
    const double m = sqrt(-2.0 * log(s) / s);
    b->spare = v * m;
    b->have_spare = true;
    return u * m;
}

/* Writes sample idx, converted and augmented, to out. Flip first, then shift:
 * out(y, x) = in(y - dy, x' ) with x' = x - dx, mirrored to W - 1 - x' when flipping;
 * pixels whose source lies outside the image get the value of a raw 0. */
static void fill_sample(tg_batcher *b, int64_t idx, tg_real *restrict out) {
    const tg_dataset *d = b->d;
    const int64_t numel = d->numel, base = idx * numel;
    const tg_augment *a = &b->aug;
    if (!b->aug_on || d->ndim < 2 || (a->max_shift == 0 && !a->hflip)) {
        convert_run(d, base, 1, out, numel);
    } else {
        const int64_t H = d->shape[d->ndim - 2], W = d->shape[d->ndim - 1];
        const int64_t planes = numel / (H * W);
        int64_t dy = 0, dx = 0;
        bool flip = false;
        if (a->max_shift > 0) {
            const int64_t m = a->max_shift, span = 2 * m + 1;
            dy = tg_rng_below(&b->rng, span) - m;
            dx = tg_rng_below(&b->rng, span) - m;
        }
        if (a->hflip) flip = (tg_rng_u32(&b->rng) >> 31) != 0;
        const tg_real zero = d->bytes ? d->lut[0] : tg__convert_float(d, 0.0f);
        /* The columns that have a source: x - dx in 0..W-1. */
        int64_t x0 = dx > 0 ? dx : 0, x1 = dx < 0 ? W + dx : W;
        if (x0 > W) x0 = W;
        if (x1 < x0) x1 = x0;
        for (int64_t p = 0; p < planes; p++) {
            for (int64_t y = 0; y < H; y++) {
                tg_real *row = out + (p * H + y) * W;
                const int64_t ys = y - dy;
                if (ys < 0 || ys >= H || x0 == x1) {
                    for (int64_t x = 0; x < W; x++) row[x] = zero;
                    continue;
                }
                for (int64_t x = 0; x < x0; x++) row[x] = zero;
                const int64_t src_row = base + (p * H + ys) * W;
                if (flip) /* x = x0 reads column W - 1 - (x0 - dx), then leftwards */
                    convert_run(d, src_row + W - 1 - (x0 - dx), -1, row + x0, x1 - x0);
                else
                    convert_run(d, src_row + (x0 - dx), 1, row + x0, x1 - x0);
                for (int64_t x = x1; x < W; x++) row[x] = zero;
            }
        }
    }
    if (b->aug_on && a->noise_std > 0)
        for (int64_t k = 0; k < numel; k++) out[k] += (tg_real)(a->noise_std * gauss(b));
}

/* Shuffled samples lie anywhere in a dataset larger than the cache, and each one's
 * cache (and TLB) misses would stall its conversion: the samples PREFETCH_AHEAD places
 * ahead in the order are requested while one is converted (on Fashion-MNIST, a batch
 * of 64 then takes a third of the time: as long as one read in order). Samples of up
 * to PREFETCH_MAX_BYTES are requested whole, larger ones by their start (the hardware
 * prefetcher follows). */
#define PREFETCH_AHEAD     4
#define PREFETCH_MAX_BYTES 8192

/* Always inlined: as a function of its own, gcc finds it has no effect (a prefetch is
 * not one) and drops the calls. */
#if defined(__GNUC__)
__attribute__((always_inline))
#endif
static inline void
prefetch_sample(const tg_dataset *d, int64_t idx) {
#if defined(__GNUC__)
    const size_t esz = d->bytes ? 1 : sizeof(float);
    const char *p = d->bytes ? (const char *)(d->bytes + idx * d->numel)
                             : (const char *)(d->floats + idx * d->numel);
    size_t len = (size_t)d->numel * esz;
    if (len > PREFETCH_MAX_BYTES) len = PREFETCH_MAX_BYTES;
    for (size_t off = 0; off < len; off += 64) __builtin_prefetch(p + off);
#else
    (void)d, (void)idx;
#endif
}

TG_API int tg_batcher_next(tg_batcher *b, tg_graph *g, tg_tensor **x, const int32_t **labels) {
    static const char who[] = "tg_batcher_next";
    if (x) *x = NULL;
    if (labels) *labels = NULL;
    if (!g) {
        tg__set_error(TG_ERR_NULL, "%s: graph is NULL", who);
        return -1;
    }
    if (tg__failed(g)) return -1;
    if (!b || !x) {
        tg__fail(g, TG_ERR_NULL, "%s: %s is NULL", who, !b ? "batcher" : "x");
        return -1;
    }
    if (b->aug_on && !aug_ok(&b->aug)) {
        tg__fail(g, TG_ERR_ARG, "%s: invalid augmentation: " AUG_RULE, who, b->aug.max_shift,
                 b->aug.noise_std);
        return -1;
    }
    const tg_dataset *d = b->d;
    const int64_t left = d->n - b->pos;
    if (left <= 0 || (b->drop_last && left < b->batch_size)) return 0;
    const int B = left < b->batch_size ? (int)left : b->batch_size;
    int shape[TG_MAX_DIMS];
    shape[0] = B;
    for (int i = 0; i < d->ndim; i++) shape[i + 1] = d->shape[i];
    tg_tensor *t = tg__tensor_make(g, who, d->ndim + 1, shape);
    if (!t) return -1;
    const int64_t *order = b->order + b->pos;
    for (int i = 0; i < B && i < PREFETCH_AHEAD; i++) prefetch_sample(d, order[i]);
    for (int i = 0; i < B; i++) {
        if (i + PREFETCH_AHEAD < B) prefetch_sample(d, order[i + PREFETCH_AHEAD]);
        fill_sample(b, order[i], t->data + (int64_t)i * d->numel);
        if (d->labels) b->labels[i] = d->labels[order[i]];
    }
    b->pos += B;
    *x = t;
    if (labels) *labels = d->labels ? b->labels : NULL;
    return B;
}

/* ---- one-hot ----------------------------------------------------------------------- */

TG_API tg_tensor *tg_one_hot(tg_graph *g, const int32_t *labels, int n, int num_classes) {
    static const char who[] = "tg_one_hot";
    if (!g) {
        tg__set_error(TG_ERR_NULL, "%s: graph is NULL", who);
        return NULL;
    }
    if (tg__failed(g)) return NULL;
    if (n < 0 || num_classes < 1) {
        tg__fail(g, TG_ERR_ARG, "%s: n %d must be >= 0 and num_classes %d >= 1", who, n,
                 num_classes);
        return NULL;
    }
    if (!labels && n > 0) {
        tg__fail(g, TG_ERR_NULL, "%s: labels is NULL", who);
        return NULL;
    }
    for (int i = 0; i < n; i++) {
        if (labels[i] < 0 || labels[i] >= num_classes) {
            tg__fail(g, TG_ERR_ARG, "%s: labels[%d] = %ld is outside 0..%d", who, i,
                     (long)labels[i], num_classes - 1);
            return NULL;
        }
    }
    tg_tensor *t = tg__tensor_make(g, who, 2, (int[]){n, num_classes});
    if (!t) return NULL;
    if (t->numel) memset(t->data, 0, (size_t)t->numel * sizeof(tg_real));
    for (int i = 0; i < n; i++) t->data[(int64_t)i * num_classes + labels[i]] = 1;
    return t;
}
