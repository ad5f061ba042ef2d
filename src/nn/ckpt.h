/* src/nn/ckpt.h: the checkpoint file format, shared by parameter and optimizer-state
 * checkpoints (internal). See docs/checkpoint.md for the byte layout.
 *
 * Saving writes a temporary file beside the target, syncs it and renames it into
 * place, so a crash never destroys the previous file. Loading reads and validates the
 * whole file (magic, version, element type, kind, every entry's name and shape, the
 * checksum) before copying anything, so a rejected file leaves the destination
 * untouched. */
#ifndef TG_NN_CKPT_H
#define TG_NN_CKPT_H

#include "../graph/internal.h"

typedef struct tg__ckpt_entry {
    const char *name;  /* 1..127 bytes, unique within a file */
    int ndim;
    const int *shape;
    const tg_real *src; /* save: the values to write */
    tg_real *dst;       /* load: where the values go (numel elements) */
} tg__ckpt_entry;

/* Writes kind (e.g. "params", "optim:adam"; 1..63 bytes) and the n entries. Errors
 * go to tg_last_error, prefixed with fn (the public function's name). */
tg_status tg__ckpt_save(const char *fn, const char *path, const char *kind, int n,
                        const tg__ckpt_entry *e);
/* Loads a file written by tg__ckpt_save with the same kind and exactly the entries
 * named in e (in any order; every name present once, with the same shape). Copies
 * into each dst only when the whole file is valid. */
tg_status tg__ckpt_load(const char *fn, const char *path, const char *kind, int n,
                        const tg__ckpt_entry *e);

#endif
