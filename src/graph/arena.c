/* src/graph/arena.c: the graph's arena, a chain of blocks that grows and is kept.
 *
 * Allocation bumps a pointer in the current block; when it does not fit, the next
 * block of the chain that fits is used (blocks kept from before a reset), or a new one
 * twice the size of the current one is added. Rewinding (tg_graph_reset) goes back to the first
 * block without freeing anything, so a step no larger than one before it allocates
 * nothing from the system. */
#include <stdatomic.h>
#include <stdlib.h>

#include "internal.h"

#define TG_ALIGN 64
#define TG_FIRST_BLOCK (256u * 1024u)

static atomic_uint_fast64_t alloc_count;

TG_API uint64_t tg_alloc_count(void) { return (uint64_t)atomic_load(&alloc_count); }

void *tg__malloc(size_t bytes) {
    void *p = malloc(bytes ? bytes : 1);
    if (p) atomic_fetch_add(&alloc_count, 1);
    return p;
}

void *tg__realloc(void *p, size_t bytes) {
    void *q = realloc(p, bytes ? bytes : 1);
    if (q) atomic_fetch_add(&alloc_count, 1);
    return q;
}

void tg__free(void *p) { free(p); }

void *tg__aligned_alloc(size_t bytes) {
    if (bytes > SIZE_MAX - TG_ALIGN) return NULL;
    bytes = (bytes + TG_ALIGN - 1) & ~(size_t)(TG_ALIGN - 1);
    void *p = aligned_alloc(TG_ALIGN, bytes ? bytes : TG_ALIGN);
    if (p) atomic_fetch_add(&alloc_count, 1);
    return p;
}

static size_t header_size(void) {
    return (sizeof(tg_block) + TG_ALIGN - 1) & ~(size_t)(TG_ALIGN - 1);
}

static tg_block *block_new(size_t size) {
    void *mem = NULL;
    if (size > SIZE_MAX - header_size() - TG_ALIGN) return NULL;
    size_t total = header_size() + size;
    total = (total + TG_ALIGN - 1) & ~(size_t)(TG_ALIGN - 1);
    mem = aligned_alloc(TG_ALIGN, total);
    if (!mem) return NULL;
    atomic_fetch_add(&alloc_count, 1);
    tg_block *b = mem;
    b->next = NULL;
    b->size = total - header_size();
    b->used = 0;
    return b;
}

static inline char *block_data(tg_block *b) { return (char *)b + header_size(); }

void *tg__alloc(tg_graph *g, size_t bytes) {
    if (bytes > SIZE_MAX - TG_ALIGN) goto oom;
    bytes = (bytes + TG_ALIGN - 1) & ~(size_t)(TG_ALIGN - 1);
    if (bytes == 0) bytes = TG_ALIGN;
    for (;;) {
        tg_block *b = g->cur;
        if (b && b->size - b->used >= bytes) {
            void *p = block_data(b) + b->used;
            b->used += bytes;
            size_t now = g->used_before_cur + b->used;
            if (now > g->peak) g->peak = now;
            return p;
        }
        /* Move on: to the first kept block after cur that fits (any too small for this
         * request between them stay unused in this pass), or a new block inserted
         * after cur. Skipping, rather than adding a block whenever the next one is too
         * small, lets steps of different shapes (training, then evaluation with larger
         * batches) share one chain instead of each growing it by their own blocks. */
        tg_block *k = b ? b->next : NULL;
        while (k && k->size < bytes) k = k->next;
        if (k) {
            g->used_before_cur += b->used;
            g->cur = k;
            k->used = 0;
            continue;
        }
        size_t size = b ? b->size * 2 : TG_FIRST_BLOCK;
        if (size < bytes) size = bytes;
        tg_block *nb = block_new(size);
        if (!nb) goto oom;
        g->reserved += nb->size;
        g->nblocks++;
        if (!b) {
            g->first = g->cur = nb;
        } else {
            nb->next = b->next;
            b->next = nb;
            g->used_before_cur += b->used;
            g->cur = nb;
        }
    }
oom:
    tg__fail(g, TG_ERR_NOMEM, "out of memory: the arena could not grow by %zu bytes", bytes);
    return NULL;
}

void *tg__calloc(tg_graph *g, size_t bytes) {
    void *p = tg__alloc(g, bytes);
    if (p) memset(p, 0, bytes);
    return p;
}

void tg__arena_rewind(tg_graph *g) {
    for (tg_block *b = g->first; b; b = b->next) b->used = 0;
    g->cur = g->first;
    g->used_before_cur = 0;
}

void tg__arena_free(tg_graph *g) {
    tg_block *b = g->first;
    while (b) {
        tg_block *next = b->next;
        free(b);
        b = next;
    }
    g->first = g->cur = NULL;
}
