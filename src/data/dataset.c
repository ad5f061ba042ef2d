/* src/data/dataset.c: the dataset object: making one from memory, reading it,
 * normalisation, splitting. Loaders (idx.c, csv.c) build their buffers and hand them
 * over with tg__dataset_adopt. */
#include <limits.h>
#include <math.h>

#include "data_internal.h"

/* Fills the byte lookup table from the current normalisation, in double, so a byte
 * converts to exactly (tg_real)(((x * scale) - mean) / std). */
static void fill_lut(tg_dataset *d) {
    for (int v = 0; v < 256; v++) d->lut[v] = (tg_real)(((double)v * d->scale - d->mean) / d->std);
}

tg_dataset *tg__dataset_adopt(const char *who, int64_t n, int ndim, const int *shape,
                              uint8_t *bytes, float *floats, int32_t *labels) {
    tg_dataset *d = tg__malloc(sizeof *d);
    if (!d) {
        tg__free(bytes);
        tg__free(floats);
        tg__free(labels);
        tg__set_error(TG_ERR_NOMEM, "%s: out of memory", who);
        return NULL;
    }
    memset(d, 0, sizeof *d);
    d->n = n;
    d->ndim = ndim;
    d->numel = 1;
    for (int i = 0; i < ndim; i++) {
        d->shape[i] = shape[i];
        d->numel *= shape[i];
    }
    d->bytes = bytes;
    d->floats = floats;
    d->labels = labels;
    int32_t max = -1;
    if (labels)
        for (int64_t i = 0; i < n; i++) max = labels[i] > max ? labels[i] : max;
    d->num_classes = max + 1;
    d->scale = bytes ? 1.0 / 255.0 : 1.0;
    d->mean = 0.0;
    d->std = 1.0;
    fill_lut(d);
    return d;
}

TG_API void tg_dataset_free(tg_dataset *d) {
    if (!d) return;
    tg__free(d->bytes);
    tg__free(d->floats);
    tg__free(d->labels);
    tg__free(d);
}

/* Copies count elements of elem bytes into a new counted buffer; NULL src gives NULL
 * with *ok left true. */
static void *copy_of(const void *src, int64_t count, size_t elem, bool *ok) {
    if (!src) return NULL;
    void *p = tg__malloc((size_t)count * elem);
    if (!p) {
        *ok = false;
        return NULL;
    }
    if (count) memcpy(p, src, (size_t)count * elem);
    return p;
}

/* A dataset of n samples like d's (shape, storage kind) with copies of the given
 * ranges; the caller then sets what differs. */
static tg_dataset *copy_range(const char *who, const tg_dataset *d, int64_t first, int64_t n) {
    bool ok = true;
    const size_t off = (size_t)(first * d->numel);
    uint8_t *bytes = d->bytes ? copy_of(d->bytes + off, n * d->numel, 1, &ok) : NULL;
    float *floats = d->floats ? copy_of(d->floats + off, n * d->numel, sizeof(float), &ok) : NULL;
    int32_t *labels = d->labels ? copy_of(d->labels + first, n, sizeof(int32_t), &ok) : NULL;
    if (!ok) {
        tg__free(bytes);
        tg__free(floats);
        tg__free(labels);
        tg__set_error(TG_ERR_NOMEM, "%s: out of memory copying %lld samples", who, (long long)n);
        return NULL;
    }
    return tg__dataset_adopt(who, n, d->ndim, d->shape, bytes, floats, labels);
}

TG_API tg_dataset *tg_dataset_from_arrays(int64_t n, int sample_ndim, const int *sample_shape,
                                          const uint8_t *bytes, const float *floats,
                                          const int32_t *labels) {
    static const char who[] = "tg_dataset_from_arrays";
    if (n < 0) {
        tg__set_error(TG_ERR_ARG, "%s: n %lld is negative", who, (long long)n);
        return NULL;
    }
    if (sample_ndim < 0 || sample_ndim > TG_MAX_DIMS - 1) {
        tg__set_error(TG_ERR_SHAPE, "%s: sample_ndim %d is outside 0..%d", who, sample_ndim,
                      TG_MAX_DIMS - 1);
        return NULL;
    }
    if (sample_ndim > 0 && !sample_shape) {
        tg__set_error(TG_ERR_NULL, "%s: sample_shape is NULL for sample_ndim %d", who, sample_ndim);
        return NULL;
    }
    if ((bytes == NULL) == (floats == NULL)) {
        tg__set_error(bytes ? TG_ERR_ARG : TG_ERR_NULL,
                      "%s: exactly one of bytes and floats must be given, not %s", who,
                      bytes ? "both" : "neither");
        return NULL;
    }
    int64_t numel = 1;
    const int64_t limit =
        (int64_t)(SIZE_MAX / 4 < INT64_MAX ? SIZE_MAX / 4 : INT64_MAX) / (int64_t)sizeof(float);
    for (int i = 0; i < sample_ndim; i++) {
        char buf[TG_SHAPE_STR];
        if (sample_shape[i] <= 0) {
            tg__set_error(TG_ERR_SHAPE, "%s: sample shape %s has a dimension <= 0", who,
                          tg__shape_str(sample_ndim, sample_shape, buf));
            return NULL;
        }
        numel *= sample_shape[i];
        if (numel > limit / (n > 0 ? n : 1)) {
            tg__set_error(TG_ERR_NOMEM, "%s: %lld samples of shape %s are too large", who,
                          (long long)n, tg__shape_str(sample_ndim, sample_shape, buf));
            return NULL;
        }
    }
    if (labels) {
        for (int64_t i = 0; i < n; i++) {
            if (labels[i] < 0 || labels[i] == INT32_MAX) {
                tg__set_error(TG_ERR_ARG, "%s: labels[%lld] = %ld is not a class (0..%ld)", who,
                              (long long)i, (long)labels[i], (long)INT32_MAX - 1);
                return NULL;
            }
        }
    }
    tg_dataset view = {.n = n,
                       .numel = numel,
                       .ndim = sample_ndim,
                       .bytes = (uint8_t *)bytes,
                       .floats = (float *)floats,
                       .labels = (int32_t *)labels};
    for (int i = 0; i < sample_ndim; i++) view.shape[i] = sample_shape[i];
    return copy_range(who, &view, 0, n);
}

/* ---- accessors ----------------------------------------------------------------------- */

TG_API int64_t tg_dataset_len(const tg_dataset *d) { return d ? d->n : 0; }
TG_API int tg_dataset_sample_ndim(const tg_dataset *d) { return d ? d->ndim : 0; }
TG_API const int *tg_dataset_sample_shape(const tg_dataset *d) { return d ? d->shape : NULL; }
TG_API int64_t tg_dataset_sample_numel(const tg_dataset *d) { return d ? d->numel : 0; }
TG_API int tg_dataset_num_classes(const tg_dataset *d) { return d ? d->num_classes : 0; }
TG_API const int32_t *tg_dataset_labels(const tg_dataset *d) { return d ? d->labels : NULL; }
TG_API const uint8_t *tg_dataset_bytes(const tg_dataset *d) { return d ? d->bytes : NULL; }
TG_API const float *tg_dataset_floats(const tg_dataset *d) { return d ? d->floats : NULL; }

TG_API tg_status tg_dataset_sample(const tg_dataset *d, int64_t i, tg_real *out) {
    if (!d || !out)
        return tg__set_error(TG_ERR_NULL, "tg_dataset_sample: %s is NULL", d ? "out" : "dataset");
    if (i < 0 || i >= d->n)
        return tg__set_error(TG_ERR_ARG, "tg_dataset_sample: index %lld is outside 0..%lld",
                             (long long)i, (long long)d->n - 1);
    if (d->bytes) {
        const uint8_t *src = d->bytes + i * d->numel;
        for (int64_t k = 0; k < d->numel; k++) out[k] = d->lut[src[k]];
    } else {
        const float *src = d->floats + i * d->numel;
        for (int64_t k = 0; k < d->numel; k++) out[k] = tg__convert_float(d, src[k]);
    }
    return TG_OK;
}

/* ---- normalisation and splitting ------------------------------------------------------ */

TG_API tg_status tg_dataset_set_normalize(tg_dataset *d, double scale, double mean, double std) {
    if (!d) return tg__set_error(TG_ERR_NULL, "tg_dataset_set_normalize: dataset is NULL");
    if (!isfinite(scale) || !isfinite(mean) || !isfinite(std) || !(std > 0))
        return tg__set_error(TG_ERR_ARG,
                             "tg_dataset_set_normalize: need finite scale and mean and "
                             "a finite std > 0, got scale %g, mean %g, std %g",
                             scale, mean, std);
    d->scale = scale;
    d->mean = mean;
    d->std = std;
    fill_lut(d);
    return TG_OK;
}

TG_API tg_status tg_dataset_split(const tg_dataset *d, int64_t first, tg_dataset **a,
                                  tg_dataset **b) {
    static const char who[] = "tg_dataset_split";
    if (a) *a = NULL;
    if (b) *b = NULL;
    if (!d || !a || !b)
        return tg__set_error(TG_ERR_NULL, "%s: %s is NULL", who, !d ? "dataset" : !a ? "a" : "b");
    if (first < 0 || first > d->n)
        return tg__set_error(TG_ERR_ARG, "%s: first %lld is outside 0..%lld", who, (long long)first,
                             (long long)d->n);
    tg_dataset *pa = copy_range(who, d, 0, first);
    tg_dataset *pb = pa ? copy_range(who, d, first, d->n - first) : NULL;
    if (!pb) {
        tg_dataset_free(pa);
        return TG_ERR_NOMEM;
    }
    tg_dataset *parts[2] = {pa, pb};
    for (int k = 0; k < 2; k++) {
        parts[k]->num_classes = d->num_classes;
        parts[k]->scale = d->scale;
        parts[k]->mean = d->mean;
        parts[k]->std = d->std;
        memcpy(parts[k]->lut, d->lut, sizeof d->lut);
    }
    *a = pa;
    *b = pb;
    return TG_OK;
}
