/* src/graph/graph.c: graph lifetime, state, statistics, random numbers. */
#include <stdlib.h>

#include "internal.h"

#define TG_DEFAULT_SEED 0x5eedu

TG_API tg_graph *tg_graph_new(void) {
    tg_graph *g = tg__malloc(sizeof *g);
    if (!g) {
        tg__set_error(TG_ERR_NOMEM, "tg_graph_new: out of memory");
        return NULL;
    }
    memset(g, 0, sizeof *g);
    g->grad_enabled = true;
    g->training = true;
    tg_seed(g, TG_DEFAULT_SEED);
    return g;
}

TG_API void tg_graph_free(tg_graph *g) {
    if (!g) return;
    tg__arena_free(g);
    tg__free(g->tape);
    tg__free(g);
}

TG_API void tg_graph_reset(tg_graph *g) {
    if (!g) return;
    tg__arena_rewind(g);
    tg__threads_tick(); /* once a step: is the machine too busy for our threads? */
    g->ntape = 0;
    g->ntensors = 0;
    g->status = TG_OK;
    g->error[0] = '\0';
}

TG_API const char *tg_graph_error(const tg_graph *g) {
    if (!g) return "graph is NULL";
    return g->status == TG_OK ? NULL : g->error;
}

TG_API tg_status tg_graph_status(const tg_graph *g) { return g ? g->status : TG_ERR_NULL; }

TG_API bool tg_graph_set_grad_enabled(tg_graph *g, bool on) {
    if (!g) return false;
    bool was = g->grad_enabled;
    g->grad_enabled = on;
    return was;
}

TG_API bool tg_graph_grad_enabled(const tg_graph *g) { return g && g->grad_enabled; }

TG_API tg_status tg_graph_stats(const tg_graph *g, tg_stats *out) {
    if (!g || !out)
        return tg__set_error(TG_ERR_NULL, "tg_graph_stats: %s is NULL", g ? "out" : "graph");
    out->nodes = g->ntape;
    out->tensors = g->ntensors;
    out->arena_used = g->cur ? g->used_before_cur + g->cur->used : 0;
    out->arena_peak = g->peak;
    out->arena_reserved = g->reserved;
    out->arena_blocks = g->nblocks;
    return TG_OK;
}

TG_API void tg_seed(tg_graph *g, uint64_t seed) {
    if (g) tg_rng_seed(&g->rng, seed);
}

TG_API bool tg_graph_set_training(tg_graph *g, bool on) {
    if (!g) return false;
    bool was = g->training;
    g->training = on;
    return was;
}

TG_API bool tg_graph_training(const tg_graph *g) { return g && g->training; }
