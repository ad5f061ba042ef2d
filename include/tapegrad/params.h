/* tapegrad/params.h: persistent parameters and their initialisers.
 *
 * A tg_params store owns named tensors that outlive every graph reset: model weights,
 * and the buffers optimizers walk. All values sit in one flat buffer and all gradients
 * in another (tg_params_values / tg_params_grads), in the order the parameters were
 * added, each tensor 64-byte aligned within them. A parameter is used in a graph like
 * any tensor (tg_matmul(g, x, w)); backward ACCUMULATES into its gradient, which stays
 * until tg_params_zero_grad (or an optimizer) clears it.
 *
 * Parameter tensors belong to the store: never pass them to tg_set_name (they are
 * named when added). Adding a parameter may move the flat buffers: pointers from
 * tg_data/tg_grad/tg_params_values taken before an add are invalid after it (the
 * tg_tensor handles themselves stay valid until tg_params_free).
 */
#ifndef TAPEGRAD_PARAMS_H
#define TAPEGRAD_PARAMS_H

#include "tapegrad/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tg_params tg_params;

/* A new empty store, its generator seeded with 0x5eed. Free with tg_params_free.
 * NULL if out of memory (tg_last_error). */
TG_API tg_params *tg_params_new(void);
/* Frees the store and every parameter tensor in it. NULL is a no-op. */
TG_API void tg_params_free(tg_params *p);

/* Adds a zero-filled parameter that requires gradients and returns it (owned by the
 * store). Errors (NULL, a name that is empty, longer than 127 bytes or already used,
 * a bad shape, out of memory) return NULL with tg_last_error set; the store is
 * unchanged. */
TG_API tg_tensor *tg_params_add(tg_params *p, const char *name, int ndim, const int *shape);
/* The parameter of that name, or NULL. */
TG_API tg_tensor *tg_params_get(const tg_params *p, const char *name);
TG_API int tg_params_count(const tg_params *p);
/* The i-th parameter in the order added, or NULL outside 0..count-1. */
TG_API tg_tensor *tg_params_at(const tg_params *p, int i);
/* Its name (owned by the store), or NULL. */
TG_API const char *tg_params_name(const tg_params *p, int i);
/* Elements over all parameters (padding not counted). */
TG_API int64_t tg_params_numel(const tg_params *p);
/* The flat buffers and their length in elements, including alignment padding, which
 * always holds zeros in both buffers. An optimizer may update all of it. */
TG_API tg_real *tg_params_values(tg_params *p);
TG_API tg_real *tg_params_grads(tg_params *p);
TG_API int64_t tg_params_flat_len(const tg_params *p);
/* Sets every gradient to zero. */
TG_API void tg_params_zero_grad(tg_params *p);

/* The store's generator, used by the initialisers below; tg_params_seed reseeds it.
 * A run with the same seed (and thread count) is bit-for-bit reproducible. */
TG_API void tg_params_seed(tg_params *p, uint64_t seed);
TG_API tg_rng *tg_params_rng(tg_params *p);

/* ---- initialisers ------------------------------------------------------------------ */
/* Fans follow PyTorch's weight layout: for shape [out, in, k...], fan_in = in * k...
 * and fan_out = out * k...; a 1-D tensor has fan_in = fan_out = its length. */
typedef enum tg_init {
    TG_INIT_ZEROS,          /* 0 */
    TG_INIT_CONSTANT,       /* a */
    TG_INIT_UNIFORM,        /* U(a, b) */
    TG_INIT_NORMAL,         /* N(mean a, std b) */
    TG_INIT_XAVIER_UNIFORM, /* U(-r, r), r = gain a * sqrt(6 / (fan_in + fan_out)); a 0 = 1 */
    TG_INIT_XAVIER_NORMAL,  /* N(0, gain a * sqrt(2 / (fan_in + fan_out))) */
    TG_INIT_HE_UNIFORM,     /* U(-r, r), r = sqrt(6 / fan_in) (ReLU gain) */
    TG_INIT_HE_NORMAL,      /* N(0, sqrt(2 / fan_in)) */
    TG_INIT_COUNT
} tg_init;

/* Fills t (a parameter, or any tensor) by kind, drawing from rng (for a parameter,
 * usually tg_params_rng(p)). Returns TG_OK, or TG_ERR_NULL (t or rng NULL for a random
 * kind) / TG_ERR_ARG (unknown kind, b < a for uniform, negative std, a 0-d tensor for
 * the fan-based kinds) with tg_last_error set; t is then unchanged. */
TG_API tg_status tg_init_tensor(tg_tensor *t, tg_init kind, double a, double b, tg_rng *rng);
/* The name of an initialiser ("he_uniform"), or "unknown". */
TG_API const char *tg_init_name(tg_init kind);

#ifdef __cplusplus
}
#endif
#endif
