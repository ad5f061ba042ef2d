/* src/data/data_internal.h: the dataset's layout and the file reader shared by the
 * loaders (idx.c, csv.c), the dataset (dataset.c) and the batcher (batch.c). Not
 * installed. */
#ifndef TG_DATA_INTERNAL_H
#define TG_DATA_INTERNAL_H

#include <zlib.h>

#include "../graph/internal.h"

struct tg_dataset {
    int64_t n;               /* samples */
    int64_t numel;           /* elements per sample */
    int ndim;                /* sample rank, 0..TG_MAX_DIMS-1 */
    int shape[TG_MAX_DIMS];  /* sample shape */
    uint8_t *bytes;          /* n * numel, or NULL */
    float *floats;           /* n * numel, or NULL (exactly one is set) */
    int32_t *labels;         /* n, or NULL */
    int num_classes;         /* max label + 1, 0 when unlabeled */
    double scale, mean, std; /* out = ((x * scale) - mean) / std */
    tg_real lut[256];        /* that conversion for every byte value */
};

/* A new dataset of n samples of the given shape (already validated) that takes
 * ownership of its buffers (tg__malloc'd: exactly one of bytes and floats, labels or
 * NULL), counts its classes and sets the default normalisation. On failure (out of
 * memory) it frees the buffers and returns NULL with tg_last_error set, naming who. */
tg_dataset *tg__dataset_adopt(const char *who, int64_t n, int ndim, const int *shape,
                              uint8_t *bytes, float *floats, int32_t *labels);

/* Converts element x of a float dataset: ((x * scale) - mean) / std, in double. */
static inline tg_real tg__convert_float(const tg_dataset *d, float x) {
    return (tg_real)(((double)x * d->scale - d->mean) / d->std);
}

/* ---- reading files whole (idx.c) ------------------------------------------------------ */
/* A file opened for reading through zlib, which decompresses gzip (magic 1f 8b) and
 * reads anything else as it is. Messages name the path. */
typedef struct tg__file {
    gzFile gz;
    const char *who; /* the public function, first in every message */
    const char *path;
    bool gzip;        /* the file starts with 1f 8b */
    int64_t size;     /* bytes on disk for a regular file, else -1 */
    tg_status status; /* the code of the last error tg__file_read reported */
} tg__file;

/* Opens path; TG_ERR_IO with tg_last_error set ("<who>: <path>: cannot open: ..."). */
tg_status tg__file_open(tg__file *f, const char *who, const char *path);
/* Reads up to n bytes; returns how many were read (fewer only at the end of the data),
 * or -1 with tg_last_error set (a read error or corrupted gzip data). */
int64_t tg__file_read(tg__file *f, void *buf, int64_t n);
/* Whether the data ended with a short read because a gzip stream was cut off. */
bool tg__file_cut(tg__file *f);
void tg__file_close(tg__file *f);
/* Reads the whole (decompressed) content of path into a new tg__malloc'd buffer with a
 * NUL after its *len bytes. TG_ERR_IO / TG_ERR_FORMAT / TG_ERR_NOMEM otherwise. */
tg_status tg__file_slurp(const char *who, const char *path, char **buf, size_t *len);

#endif
