/* tests/tg_layer_fixture.h: the fixture of the layer suites (nn, cnn_layers): a graph g
 * and a parameter store p, fresh and seeded the same way for every test. */
#ifndef TG_LAYER_FIXTURE_H
#define TG_LAYER_FIXTURE_H

#include <math.h>

#include <tapegrad.h>

static tg_graph *g;
static tg_params *p;

/* The checked fixture's setup: a new g seeded 11 and a new p seeded 3. */
static inline void setup(void) {
    g = tg_graph_new();
    p = tg_params_new();
    tg_seed(g, 11);
    tg_params_seed(p, 3);
}

/* The checked fixture's teardown: frees g and p. */
static inline void teardown(void) {
    tg_graph_free(g);
    tg_params_free(p);
}

/* A standard normal tensor of the given shape on g. */
static inline tg_tensor *randn(int ndim, const int *shape) {
    return tg_randn(g, ndim, shape, 0, 1);
}

/* The largest |value| in t. */
static inline double max_abs(tg_tensor *t) {
    double m = 0;
    for (int64_t i = 0; i < tg_numel(t); i++)
        if (fabs(tg_data(t)[i]) > m) m = fabs(tg_data(t)[i]);
    return m;
}

#endif
