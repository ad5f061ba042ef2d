/* tapegrad/nn.h: layers: linear, activations, dropout, an MLP builder, a sequential
 * container.
 *
 * Layers are ordinary code over ops (tg_linear, tg_relu, tg_dropout, tg_reshape): none
 * computes a gradient itself. A layer's parameters live in a tg_params store
 * (tapegrad/params.h), named "<prefix>.weight" and "<prefix>.bias", so they outlive
 * graph resets, optimizers find them in the store's flat buffers, and checkpoints
 * save them by name. The layer structs below only point into the store: the store
 * owns the tensors, and must outlive the layers that use them.
 *
 * Building (making layers, adding to a sequential) is where memory is allocated;
 * a forward pass allocates nothing outside the graph's arena, so a steady-state
 * training step still makes no heap allocation.
 *
 * Errors follow the library's two rules. Functions that build (outside a graph)
 * return a tg_status or NULL and leave a message for tg_last_error(). Forward passes
 * work on a graph: on a mistake (wrong input width, NULL layer) they record the
 * graph's first error, naming the layer, and return NULL; given a NULL input or a
 * graph in error they return NULL at once, so a whole model needs one check at the
 * end, like any chain of ops.
 *
 * Writing your own layer is writing a C function over ops; to put it in a
 * tg_sequential, give it the shape of tg_layer_fn (examples/custom_model.c).
 */
#ifndef TAPEGRAD_NN_H
#define TAPEGRAD_NN_H

#include "tapegrad/params.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- activations ---------------------------------------------------------------- */

typedef enum tg_activation {
    TG_ACT_NONE,    /* identity */
    TG_ACT_RELU,    /* max(0, x) */
    TG_ACT_TANH,    /* tanh x */
    TG_ACT_SIGMOID, /* 1 / (1 + e^-x) */
    TG_ACT_GELU,    /* x * Phi(x), the exact (erf) form */
    TG_ACT_COUNT
} tg_activation;

/* Applies activation a to x (TG_ACT_NONE returns x itself). An unknown a records an
 * error in g and returns NULL. */
TG_API tg_tensor *tg_activate(tg_graph *g, tg_tensor *x, tg_activation a);
/* "relu", "tanh", ...; "none" for TG_ACT_NONE; "unknown" outside the enum. */
TG_API const char *tg_activation_name(tg_activation a);

/* Keras's Flatten: [N, d1, d2, ...] -> [N, d1*d2*...] (a copy, like every op);
 * [N] -> [N, 1]. A 0-d x is an error. */
TG_API tg_tensor *tg_flatten(tg_graph *g, tg_tensor *x);

/* ---- linear layer: y = x @ weight^T + bias ---------------------------------------- */

/* How a linear layer's parameters start. */
typedef enum tg_linear_init {
    TG_LINEAR_INIT_TORCH,  /* PyTorch's nn.Linear (the default): kaiming-uniform with
                              a = sqrt(5), i.e. weight and bias ~ U(-1/sqrt(in), 1/sqrt(in)) */
    TG_LINEAR_INIT_KERAS,  /* Keras's Dense: weight Glorot (Xavier) uniform,
                              U(-r, r) with r = sqrt(6 / (in + out)); bias 0 */
    TG_LINEAR_INIT_HE,     /* weight He (Kaiming) uniform, U(-r, r), r = sqrt(6 / in); bias 0 */
    TG_LINEAR_INIT_CUSTOM, /* weight_init and bias_init of tg_linear_opts, with their a, b */
    TG_LINEAR_INIT_COUNT
} tg_linear_init;

/* Options for a linear layer. A zeroed struct (or a NULL pointer) is the default:
 * with a bias, PyTorch's initialisation. */
typedef struct tg_linear_opts {
    bool no_bias;        /* true: no bias parameter (bias is NULL) */
    tg_linear_init init; /* see above */
    /* For TG_LINEAR_INIT_CUSTOM only: passed to tg_init_tensor (tapegrad/params.h). */
    tg_init weight_init;
    double weight_a, weight_b;
    tg_init bias_init;
    double bias_a, bias_b;
} tg_linear_opts;

/* A fully connected layer. A plain value: copy it, keep it on the stack or in your own
 * struct. Its tensors belong to the store it was made in. */
typedef struct tg_linear_layer {
    tg_tensor *weight; /* [out, in], PyTorch's layout */
    tg_tensor *bias;   /* [out], or NULL (opts.no_bias) */
    int in, out;       /* features in and out */
} tg_linear_layer;

/* Adds "<prefix>.weight" [out, in] and (unless opts->no_bias) "<prefix>.bias" [out]
 * to p, initialises them from p's generator (tg_params_rng; seed it with
 * tg_params_seed for a reproducible model) and fills *l. opts NULL = defaults.
 *
 * Returns TG_OK, or TG_ERR_NULL (l, p or prefix NULL), TG_ERR_ARG (in or out < 1, an
 * empty or too long prefix, a parameter of that name exists already, a bad init
 * choice), TG_ERR_NOMEM; then *l is zeroed and the store is unchanged (except that on
 * running out of memory half way, the weight may have been added already). */
TG_API tg_status tg_linear_layer_init(tg_linear_layer *l, tg_params *p, const char *prefix, int in,
                                      int out, const tg_linear_opts *opts);

/* x [..., in] -> [..., out] (tg_linear). Records an error naming the layer when x's
 * last dimension is not l->in, or l is NULL or was never initialised. */
TG_API tg_tensor *tg_linear_layer_forward(tg_graph *g, const tg_linear_layer *l, tg_tensor *x);

/* ---- MLP: linear layers with an activation (and dropout) between them ------------- */

/* A multilayer perceptron: n_layers linear layers; after each one but the last, the
 * activation, then dropout with probability `dropout` (when > 0). The last layer's
 * output is returned as it is (logits, say): add an activation after it yourself if
 * you want one. Made by tg_mlp_new, freed by tg_mlp_free; the fields may be read. */
typedef struct tg_mlp {
    int n_layers;
    tg_linear_layer *layers; /* n_layers, owned by the MLP (their tensors by the store) */
    tg_activation act;       /* between layers */
    double dropout;          /* between layers, after the activation; 0 = none */
} tg_mlp;

/* sizes holds n_layers + 1 widths: sizes[0] inputs, sizes[n_layers] outputs. Layer i
 * is a linear layer sizes[i] -> sizes[i+1] named "<prefix>.<i>" (parameters
 * "<prefix>.0.weight", "<prefix>.0.bias", ...), initialised per opts (NULL = defaults,
 * the same for every layer). The Keras program Flatten -> Dense(512, relu) ->
 * Dropout(0.2) -> Dense(10) is
 *     tg_mlp_new(p, "mlp", 2, (int[]){784, 512, 10}, TG_ACT_RELU, 0.2, &keras_init)
 * applied to tg_flatten(g, x).
 *
 * Returns a new MLP the caller frees with tg_mlp_free, or NULL with tg_last_error set:
 * NULL p, prefix or sizes; n_layers < 1; a width < 1; an unknown activation; dropout
 * outside [0, 1); a name in use; out of memory. On failure the store is unchanged
 * unless it ran out of memory half way. */
TG_API tg_mlp *tg_mlp_new(tg_params *p, const char *prefix, int n_layers, const int *sizes,
                          tg_activation act, double dropout, const tg_linear_opts *opts);
/* Frees the MLP's layer array (not the parameters: they stay in the store). NULL is a
 * no-op. */
TG_API void tg_mlp_free(tg_mlp *m);
/* x [..., sizes[0]] -> [..., sizes[n_layers]]. Dropout follows the graph's mode
 * (tg_graph_set_training): it drops only in training mode. */
TG_API tg_tensor *tg_mlp_forward(tg_graph *g, const tg_mlp *m, tg_tensor *x);

/* ---- sequential: layers applied in order ------------------------------------------- */

/* The shape of a layer in a sequential container: layer is whatever you registered
 * with it (your struct), x the previous layer's output. Return the output, or NULL
 * after recording an error in g (any op that fails does that for you). */
typedef tg_tensor *(*tg_layer_fn)(tg_graph *g, void *layer, tg_tensor *x);

/* An ordered list of (function, layer) entries. It does not own the layers you add:
 * keep them alive (and in the same place) while the container is used. */
typedef struct tg_sequential tg_sequential;

/* A new empty container (free with tg_sequential_free), or NULL if out of memory. */
TG_API tg_sequential *tg_sequential_new(void);
/* Frees the container (not the layers added to it). NULL is a no-op. */
TG_API void tg_sequential_free(tg_sequential *s);

/* Appends a layer: forward calls fn(g, layer, x). name is shown by
 * tg_sequential_print and in errors (copied, cut at 47 bytes; NULL = "layer<i>");
 * layer may be NULL for a function that needs no state. Returns TG_OK, TG_ERR_NULL
 * (s or fn NULL) or TG_ERR_NOMEM; the container is unchanged on error. */
TG_API tg_status tg_sequential_add(tg_sequential *s, const char *name, tg_layer_fn fn, void *layer);
/* The library's layers. A linear layer or MLP is referenced, not copied: it must stay
 * where it is. Activation, dropout and flatten entries keep their setting inside the
 * container. Errors as above, plus TG_ERR_ARG for an unknown activation or a dropout
 * probability outside [0, 1). */
TG_API tg_status tg_sequential_add_linear(tg_sequential *s, const tg_linear_layer *l);
TG_API tg_status tg_sequential_add_mlp(tg_sequential *s, const tg_mlp *m);
TG_API tg_status tg_sequential_add_activation(tg_sequential *s, tg_activation a);
TG_API tg_status tg_sequential_add_dropout(tg_sequential *s, double p);
TG_API tg_status tg_sequential_add_flatten(tg_sequential *s);

/* Entries in the container (0 for NULL), and the name of entry i (NULL outside). */
TG_API int tg_sequential_len(const tg_sequential *s);
TG_API const char *tg_sequential_name(const tg_sequential *s, int i);

/* Runs every entry in order on x and returns the last output. An empty container
 * returns x. A layer that returns NULL without recording an error gets one recorded
 * for it ("sequential: layer 2 (gated) returned NULL"). Allocates nothing outside g. */
TG_API tg_tensor *tg_sequential_forward(tg_graph *g, const tg_sequential *s, tg_tensor *x);

/* Writes one line per entry, with the parameter count of the library's layers
 *     "  1  linear 784 -> 512 (fc1)                      401920 parameters"
 * and then their total (user layers' parameters are not known to the container, and
 * the line says so). Returns TG_OK, TG_ERR_NULL or TG_ERR_IO. */
TG_API tg_status tg_sequential_print(const tg_sequential *s, FILE *out);

#ifdef __cplusplus
}
#endif
#endif
