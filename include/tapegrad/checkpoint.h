/* tapegrad/checkpoint.h: saving and loading parameters (checkpoints).
 *
 *     tg_params_save(p, "model.ckpt");    // after training, or every N steps
 *     ...
 *     if (tg_params_load(p, "model.ckpt") != TG_OK)  // same names and shapes added first
 *         fprintf(stderr, "%s\n", tg_last_error());
 *
 * The file (docs/checkpoint.md has the byte layout) is a little-endian binary format,
 * the same on every host: an 8-byte magic, a version (1), the total length, the
 * element type (IEEE 754 binary32 or binary64), a kind ("params"; optimizers save
 * their state in the same format under their own kind), then every parameter as its
 * name, its shape and its raw values, and a CRC-32 of everything before it.
 *
 * Values only: gradients are neither saved nor changed by a load, and neither is the
 * store's random generator. A round trip in one build is bit-exact (NaN payloads and
 * signed zeros included). A file written by a float build loads into a double build
 * exactly; a double file loads into a float build rounded to nearest, and is rejected
 * if a finite value lies beyond the range of float.
 */
#ifndef TAPEGRAD_CHECKPOINT_H
#define TAPEGRAD_CHECKPOINT_H

#include "tapegrad/params.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Writes the values of every parameter of p, in the order added, to path.
 *
 * Atomic: the file is written to a temporary beside path (".tgckpt-<pid>-<n>.tmp",
 * created with mode 0666 less the umask; an existing file's permission bits are kept),
 * synced to disk, then renamed over path. Whether it fails or the machine crashes,
 * path holds either the previous file, whole, or the new one, whole; no temporary is
 * left behind by a failure the process survives. A symbolic link at path is replaced
 * by a regular file.
 *
 * Returns TG_OK, or: TG_ERR_NULL (p or path NULL), TG_ERR_IO (path is a directory, the
 * temporary cannot be created, a write, sync or rename fails), TG_ERR_NOMEM; with
 * tg_last_error() set to "tg_params_save: <path>: <why>". p is never modified. */
TG_API tg_status tg_params_save(const tg_params *p, const char *path);

/* Loads the values saved at path into p. Parameters are matched by name, in any
 * order: every parameter of p must be in the file with the same shape, and the file
 * must hold no others (add the model's parameters first, then load).
 *
 * All or nothing: the whole file is read and checked (length, checksum, version,
 * element type, kind, every name and shape) before any value is written, so on any
 * error p is left exactly as it was.
 *
 * Returns TG_OK, or (tg_last_error() says "tg_params_load: <path>: <why>"):
 *   TG_ERR_NULL         p or path NULL
 *   TG_ERR_IO           cannot open or read the file; path is a directory or not a
 *                       regular file
 *   TG_ERR_FORMAT       "not a tapegrad checkpoint"; "truncated: expected N bytes,
 *                       file has M"; "checksum mismatch: the file is corrupted"; a
 *                       file of another kind ("holds 'optim:adam' state, expected
 *                       'params'"); "has no entry 'fc2.bias'"; "holds an extra entry
 *                       'x'"; "entry 'fc1.weight' has shape [512,784], expected
 *                       [256,784]"; a double value beyond float's range in a float build
 *   TG_ERR_UNSUPPORTED  "version 7 is newer than this library's 1"
 *   TG_ERR_NOMEM        the file does not fit in memory */
TG_API tg_status tg_params_load(tg_params *p, const char *path);

#ifdef __cplusplus
}
#endif
#endif
