/* src/nn/checkpoint.c: tg_params_save and tg_params_load, on top of the checkpoint
 * format in ckpt.c: one entry per parameter, in the order added, under kind "params". */
#include "ckpt.h"

#define PARAMS_KIND "params"

/* One entry per parameter of p into a new array (NULL when p is empty), or an error. */
static tg_status entries_of(const tg_params *p, const char *fn, const char *path,
                            tg__ckpt_entry **out) {
    const int n = tg_params_count(p);
    *out = NULL;
    if (n == 0) return TG_OK;
    tg__ckpt_entry *e = tg__malloc((size_t)n * sizeof *e);
    if (!e) return tg__set_error(TG_ERR_NOMEM, "%s: %s: out of memory", fn, path);
    for (int i = 0; i < n; i++) {
        tg_tensor *t = tg_params_at(p, i);
        e[i] = (tg__ckpt_entry){
            .name = tg_params_name(p, i),
            .ndim = t->ndim,
            .shape = t->shape,
            .src = t->data,
            .dst = t->data,
        };
    }
    *out = e;
    return TG_OK;
}

TG_API tg_status tg_params_save(const tg_params *p, const char *path) {
    static const char fn[] = "tg_params_save";
    if (!p) return tg__set_error(TG_ERR_NULL, "%s: store is NULL", fn);
    if (!path) return tg__set_error(TG_ERR_NULL, "%s: path is NULL", fn);
    tg__ckpt_entry *e;
    tg_status st = entries_of(p, fn, path, &e);
    if (st != TG_OK) return st;
    st = tg__ckpt_save(fn, path, PARAMS_KIND, tg_params_count(p), e);
    tg__free(e);
    return st;
}

TG_API tg_status tg_params_load(tg_params *p, const char *path) {
    static const char fn[] = "tg_params_load";
    if (!p) return tg__set_error(TG_ERR_NULL, "%s: store is NULL", fn);
    if (!path) return tg__set_error(TG_ERR_NULL, "%s: path is NULL", fn);
    tg__ckpt_entry *e;
    tg_status st = entries_of(p, fn, path, &e);
    if (st != TG_OK) return st;
    st = tg__ckpt_load(fn, path, PARAMS_KIND, tg_params_count(p), e);
    tg__free(e);
    return st;
}
