/* tapegrad/data.h: datasets, mini-batches, normalisation, one-hot labels, augmentation.
 *
 * A tg_dataset holds N samples of one shape (the sample shape, e.g. [28,28]) and,
 * optionally, one integer class label per sample. Samples are stored compactly and
 * converted to tg_real only a batch at a time:
 *   - IDX datasets (MNIST format) and byte arrays keep their samples as uint8;
 *   - CSV datasets and float arrays keep their features as float (32-bit).
 * Each element is converted as ((x * scale) - mean) / std (tg_dataset_set_normalize).
 *
 * A tg_batcher walks a dataset in mini-batches (optionally shuffled, with a seeded
 * generator, optionally augmented) and writes each batch into a new tensor of a graph's
 * arena. All of its buffers are allocated when it is made: a steady-state training
 * step (tg_graph_reset, tg_batcher_next, forward, backward, update) calls malloc zero
 * times.
 *
 * Errors: functions that make or change a dataset return NULL or a tg_status and leave
 * a message for tg_last_error(); file errors name the file (and, for CSV, the line and
 * column: "data.csv:17: column 3: not a number 'abc'"). A file is read whole or
 * rejected whole: a malformed, truncated or corrupted file gives a clear error, never a
 * crash and never a partial dataset. Functions that work in a graph (tg_batcher_next,
 * tg_one_hot) report errors through the graph, like ops do.
 */
#ifndef TAPEGRAD_DATA_H
#define TAPEGRAD_DATA_H

#include "tapegrad/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tg_dataset tg_dataset;

/* ---- loading and making datasets --------------------------------------------------- */

/* Loads an IDX pair (the MNIST file format). images_path holds unsigned-byte data of
 * rank >= 2: [N, d1, ...] gives N samples of shape [d1, ...] (at most TG_MAX_DIMS - 1
 * sample dimensions, each > 0). labels_path holds unsigned bytes of shape [N], or is
 * NULL for unlabeled data. Each file may be plain or gzip-compressed: gzip is detected
 * by its magic bytes (1f 8b), never by the file name.
 * Checks the magic bytes (00 00), the type byte (0x08, unsigned byte), the dimensions,
 * that both files hold the same N, and that each file is exactly as long as its
 * header says: trailing bytes, truncation and corrupted gzip data are all errors.
 * Returns a new dataset that the caller frees with tg_dataset_free, or NULL with
 * tg_last_error set (TG_ERR_NULL, TG_ERR_IO: cannot open or read, TG_ERR_FORMAT: bad
 * content, naming the file, TG_ERR_NOMEM). Samples are kept as bytes (N x sample
 * bytes) and labels as int32; the default normalisation maps bytes to [0, 1]. */
TG_API tg_dataset *tg_dataset_load_idx(const char *images_path, const char *labels_path);

/* Loads a numeric CSV file (plain or gzip, detected by magic bytes). Fields are
 * separated by commas; spaces and tabs around a field are ignored, as are blank lines,
 * a final line without a newline, CRLF line endings, and double quotes around a whole
 * field. header: the first non-blank line names the columns and is skipped (it only
 * fixes the column count). label_column: -1 for no labels, else the 0-based column
 * holding an integer class label >= 0 (e.g. "3" or "3.0"). Every other column is a
 * feature, parsed as a finite number (strtod in the C locale) and stored as float, so
 * CSV datasets keep float features: N samples of shape [F], F = columns (- 1 with
 * labels). The default normalisation is the identity.
 * Errors name the file, the 1-based line and the 1-based column:
 *   "data.csv:17: column 3: not a number 'abc'", "data.csv:4: 3 columns, expected 4",
 *   "data.csv: empty file (no data rows)", "data.csv:2: column 1: label '-1' is not an
 *   integer >= 0". Returns a new dataset (free with tg_dataset_free) or NULL with
 *   tg_last_error set (TG_ERR_NULL, TG_ERR_ARG for label_column < -1 or beyond the last
 *   column, TG_ERR_IO, TG_ERR_FORMAT, TG_ERR_NOMEM). */
TG_API tg_dataset *tg_dataset_load_csv(const char *path, bool header, int label_column);

/* A dataset made from memory, for synthetic data. n >= 0 samples of the given shape
 * (sample_ndim in 0..TG_MAX_DIMS-1, every dimension > 0; sample_shape may be NULL when
 * sample_ndim is 0). Exactly one of bytes (n x sample elements, uint8) and floats
 * (n x sample elements, float) is non-NULL; labels (n entries, each >= 0) may be NULL.
 * Everything is copied: the caller keeps its arrays. Returns a new dataset (free with
 * tg_dataset_free) or NULL with tg_last_error set. */
TG_API tg_dataset *tg_dataset_from_arrays(int64_t n, int sample_ndim, const int *sample_shape,
                                          const uint8_t *bytes, const float *floats,
                                          const int32_t *labels);

/* Frees the dataset and everything in it. NULL is a no-op. A batcher made from it
 * must be freed first (or at least never used again). */
TG_API void tg_dataset_free(tg_dataset *d);

/* ---- reading a dataset --------------------------------------------------------------- */
/* Accessors accept NULL and then return 0 or NULL. */

/* The number of samples. */
TG_API int64_t tg_dataset_len(const tg_dataset *d);
/* The sample shape (without the leading N): its rank and its dimensions, owned by the
 * dataset (never NULL for a dataset, even when the rank is 0). */
TG_API int tg_dataset_sample_ndim(const tg_dataset *d);
TG_API const int *tg_dataset_sample_shape(const tg_dataset *d);
/* Elements per sample (the product of the sample shape). */
TG_API int64_t tg_dataset_sample_numel(const tg_dataset *d);
/* max label + 1 (0 when unlabeled). A part made by tg_dataset_split keeps the count
 * of the dataset it came from. */
TG_API int tg_dataset_num_classes(const tg_dataset *d);
/* The N labels, owned by the dataset, or NULL when unlabeled. */
TG_API const int32_t *tg_dataset_labels(const tg_dataset *d);
/* The raw samples, N x sample_numel, owned by the dataset: exactly one of these is
 * non-NULL for a non-empty dataset (bytes for IDX and byte arrays, floats for CSV and
 * float arrays). */
TG_API const uint8_t *tg_dataset_bytes(const tg_dataset *d);
TG_API const float *tg_dataset_floats(const tg_dataset *d);
/* Writes sample i, converted with the dataset's normalisation (no augmentation), into
 * out (sample_numel elements). TG_ERR_NULL or TG_ERR_ARG (i outside 0..N-1). */
TG_API tg_status tg_dataset_sample(const tg_dataset *d, int64_t i, tg_real *out);

/* ---- normalisation and splitting ------------------------------------------------------ */

/* Sets the conversion applied to every element when a batch is made:
 *   out = ((x * scale) - mean) / std
 * Defaults: scale 1/255 for byte data (pixels to [0, 1]), 1 for float data; mean 0;
 * std 1. (Fashion-MNIST's usual values: scale 1/255, mean 0.2860, std 0.3530.)
 * Takes effect from the next batch, including in batchers already made from d.
 * TG_ERR_NULL, or TG_ERR_ARG (d unchanged) unless scale and mean are finite and std is
 * finite and > 0. */
TG_API tg_status tg_dataset_set_normalize(tg_dataset *d, double scale, double mean, double std);

/* Splits d into its first `first` samples (*a) and the rest (*b), e.g. for a
 * validation set; 0 <= first <= N, so either part may be empty. Both parts are new
 * datasets holding copies (free each with tg_dataset_free; d may be freed at once to
 * give its memory back) with d's normalisation and d's num_classes. Shuffle first
 * (through a batcher) if the file is sorted by class. On error (TG_ERR_NULL, TG_ERR_ARG,
 * TG_ERR_NOMEM) *a and *b are set to NULL (when not NULL themselves). */
TG_API tg_status tg_dataset_split(const tg_dataset *d, int64_t first, tg_dataset **a,
                                  tg_dataset **b);

/* ---- augmentation --------------------------------------------------------------------- */

/* Random augmentation applied by a batcher to every sample of every batch, drawn from
 * the batcher's generator:
 *   max_shift  > 0: shift the image by dy, dx, each uniform in -max_shift..max_shift
 *              pixels; vacated pixels are filled with the value a raw 0 converts to
 *              (0 when mean is 0), like padding a uint8 image with black;
 *   hflip:     mirror left-right with probability 0.5 (before the shift);
 *   noise_std  > 0: add gaussian noise of that standard deviation to every element,
 *              after normalisation.
 * Shift and flip need samples of rank >= 2: the last two dimensions are height and
 * width and every leading dimension (channels) moves together; for samples of rank 0
 * or 1 they do nothing. max_shift must be >= 0 and noise_std finite and >= 0. */
typedef struct tg_augment {
    int max_shift;
    bool hflip;
    double noise_std;
} tg_augment;

/* ---- mini-batches ---------------------------------------------------------------------- */

typedef struct tg_batcher tg_batcher;

/* A batcher over d: batches of batch_size samples (the last one smaller unless
 * drop_last drops it), in order or shuffled. The order of epoch k (k = 0 for the first,
 * + 1 per tg_batcher_reset) and its augmentation are a function of seed and k only.
 * Keeps a pointer to d, which must outlive the batcher. Allocates every buffer it will
 * need here (an N-entry order and a batch_size-entry label buffer).
 * Returns a new batcher (free with tg_batcher_free), or NULL with tg_last_error set
 * (TG_ERR_NULL, TG_ERR_ARG for batch_size <= 0, TG_ERR_NOMEM). batch_size larger than
 * N is allowed: one short batch (or none with drop_last). */
TG_API tg_batcher *tg_batcher_new(const tg_dataset *d, int batch_size, bool shuffle, bool drop_last,
                                  uint64_t seed);
/* Turns augmentation on with a copy of *a, or off when a is NULL. An invalid *a (negative
 * max_shift, negative or NaN noise_std) sets tg_last_error at once and makes every
 * tg_batcher_next fail with that message until it is replaced. NULL b is a no-op. */
TG_API void tg_batcher_set_augment(tg_batcher *b, const tg_augment *a);
/* Starts the next epoch: back to the first batch, reshuffled (when shuffling) in the
 * order of epoch k + 1. Call it after tg_batcher_next returned 0, or at any time to
 * abandon the rest of an epoch. NULL is a no-op. */
TG_API void tg_batcher_reset(tg_batcher *b);
/* Makes the next batch: *x becomes a new tensor in g's arena (valid until
 * tg_graph_reset) of shape [B, sample_shape...] holding the converted (and augmented)
 * samples as tg_real; it does not require gradients. *labels (labels may be NULL when
 * not wanted) points to the batch's B labels in the batcher's own buffer, valid until
 * the next call, or is NULL when the dataset is unlabeled.
 * Returns B (>= 1), 0 at the end of the epoch (nothing is made; call tg_batcher_reset
 * for the next one), or -1 on error: NULL b or g (tg_last_error), or an error recorded
 * in the graph (g already in error, NULL x, invalid augmentation, out of arena memory).
 * Allocates nothing from the heap once the arena has room for a batch. */
TG_API int tg_batcher_next(tg_batcher *b, tg_graph *g, tg_tensor **x, const int32_t **labels);
/* Batches per epoch: ceil(N / batch_size), or floor with drop_last. 0 for NULL. */
TG_API int64_t tg_batcher_batches(const tg_batcher *b);
/* The current epoch: 0 at first, + 1 per tg_batcher_reset. -1 for NULL. */
TG_API int64_t tg_batcher_epoch(const tg_batcher *b);
/* Frees the batcher (not its dataset). NULL is a no-op. */
TG_API void tg_batcher_free(tg_batcher *b);

/* ---- labels ----------------------------------------------------------------------------- */

/* One-hot rows: a new [n, num_classes] tensor in g's arena (no gradient) with 1 at
 * (i, labels[i]) and 0 elsewhere. n >= 0; num_classes >= 1. Returns NULL with the
 * graph's error set on a NULL g (tg_last_error only) or labels (n > 0), n < 0,
 * num_classes < 1, or a label outside 0..num_classes-1 ("tg_one_hot: labels[7] = 12
 * is outside 0..9"); NULL at once when g is already in error. */
TG_API tg_tensor *tg_one_hot(tg_graph *g, const int32_t *labels, int n, int num_classes);

#ifdef __cplusplus
}
#endif
#endif
