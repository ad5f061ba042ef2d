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

#include "tapegrad/ops.h"
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

/* Writes one line per entry, with the parameter count of the library's layers that
 * have parameters (linear, MLP, conv2d, batch norm, layer norm: their weights and
 * biases, not batch norm's running statistics)
 *     "  1  linear 784 -> 512 (fc1)                      401920 parameters"
 * and then their total (user layers' parameters are not known to the container, and
 * the line says so: "total, not counting user layers"). Returns TG_OK, TG_ERR_NULL or
 * TG_ERR_IO. */
TG_API tg_status tg_sequential_print(const tg_sequential *s, FILE *out);

/* ---- convolutional and normalisation layers (src/nn/conv_layers.c) -----------------
 * The same rules as the linear layer: parameters live in the store, named
 * "<prefix>.weight", "<prefix>.bias" (and, for batch norm, "<prefix>.running_mean" and
 * "<prefix>.running_var"); the layer structs are plain values pointing into it (nothing
 * to free; the store must outlive them); *_init returns a tg_status (TG_ERR_NULL for
 * NULL l, p or prefix; TG_ERR_ARG for a bad size or option, an empty or too long
 * prefix, or a name already in the store; TG_ERR_NOMEM) and, on failure, zeroes *l and
 * leaves the store unchanged (every name is checked before anything is added; only
 * running out of memory half way can leave a parameter behind). Forward passes record
 * the graph's first error, naming the layer ("conv2d layer 'conv1': input [64,3,28,28]
 * should have 1 channels"), and return NULL; a NULL input or a graph in error gives
 * NULL at once. docs/cnn.md has the details and examples/fashion_cnn.c a whole CNN. */

/* Options of a conv2d layer; a zeroed struct (or NULL) is the default: stride 1,
 * padding 0, dilation 1, one group, with a bias. */
typedef struct tg_conv2d_layer_opts {
    tg_conv_opts conv; /* stride, padding, dilation, groups, as tg_conv2d (zero = default) */
    bool no_bias;      /* true: no bias parameter (bias is NULL) */
} tg_conv2d_layer_opts;

/* A 2-D convolution layer (PyTorch's nn.Conv2d), NCHW. */
typedef struct tg_conv2d_layer {
    tg_tensor *weight; /* [out, in / groups, kh, kw], PyTorch's layout */
    tg_tensor *bias;   /* [out], or NULL (no_bias) */
    int in, out;       /* channels in and out */
    int kernel[2];     /* kh, kw */
    tg_conv_opts conv; /* as given (zero fields = defaults) */
} tg_conv2d_layer;

/* Adds "<prefix>.weight" [out, in/groups, kh, kw] and (unless opts->no_bias)
 * "<prefix>.bias" [out] to p, initialised as PyTorch's nn.Conv2d does (kaiming-uniform
 * with a = sqrt(5)): weight and bias ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)), fan_in =
 * (in / groups) kh kw, drawn from p's generator. in, out, kh, kw >= 1; the options
 * non-negative; groups must divide in and out. Errors as described above. */
TG_API tg_status tg_conv2d_layer_init(tg_conv2d_layer *l, tg_params *p, const char *prefix, int in,
                                      int out, int kh, int kw, const tg_conv2d_layer_opts *opts);
/* x [N, in, H, W] -> [N, out, OH, OW] (tg_conv2d with the layer's options). */
TG_API tg_tensor *tg_conv2d_layer_forward(tg_graph *g, const tg_conv2d_layer *l, tg_tensor *x);

/* Options of a batch-norm layer; a zeroed struct (or NULL) is the default, PyTorch's:
 * momentum 0.1, eps 1e-5, affine. A zero momentum or eps means the default (ask for a
 * tiny value to get almost none). */
typedef struct tg_batch_norm_opts {
    double momentum; /* running = (1 - momentum) running + momentum batch; in (0, 1] */
    double eps;      /* added to the variance; > 0, finite */
    bool no_affine;  /* true: no weight and bias (gamma 1, beta 0, nothing to learn) */
} tg_batch_norm_opts;

/* Batch normalisation over the channels (axis 1) of [N, C], [N, C, L] or [N, C, H, W]
 * inputs (PyTorch's BatchNorm1d/2d). */
typedef struct tg_batch_norm_layer {
    tg_tensor *weight, *bias; /* gamma [C] (starts at 1), beta [C] (at 0); NULL when
                                 no_affine */
    tg_tensor *running_mean;  /* [C], starts at 0: FROZEN parameters (no gradient), */
    tg_tensor *running_var;   /* [C], starts at 1:  so checkpoints save them and
                                 optimizers, clipping and penalties leave them
                                 alone */
    int features;             /* C */
    double momentum, eps;     /* resolved: never 0 */
} tg_batch_norm_layer;

/* Adds "<prefix>.weight" and "<prefix>.bias" (trainable, unless opts->no_affine) and
 * "<prefix>.running_mean" and "<prefix>.running_var" (frozen with
 * tg_set_requires_grad(t, false)), each [features], to p. features >= 1; momentum
 * must lie in [0, 1] and eps be >= 0, both finite (0 = the default). Errors as
 * described above. */
TG_API tg_status tg_batch_norm_layer_init(tg_batch_norm_layer *l, tg_params *p, const char *prefix,
                                          int features, const tg_batch_norm_opts *opts);
/* tg_batch_norm with the layer's tensors. Follows the graph's mode
 * (tg_graph_set_training): in training mode it normalises with the batch's statistics
 * and updates the running ones IN PLACE (even with gradients off; a side effect, not
 * part of the graph); in evaluation mode it normalises with the running statistics and
 * changes nothing. A layer copy whose running_mean and running_var are both NULL
 * always uses batch statistics, and works in training mode only (this is how to
 * gradient-check one without touching the real statistics). x's axis 1 must be
 * `features`. */
TG_API tg_tensor *tg_batch_norm_layer_forward(tg_graph *g, const tg_batch_norm_layer *l,
                                              tg_tensor *x);

/* Options of a layer-norm layer; zeroed (or NULL) = default: eps 1e-5, affine. */
typedef struct tg_layer_norm_opts {
    double eps;     /* >= 0, finite (0 = the default 1e-5) */
    bool no_affine; /* true: no weight and bias */
} tg_layer_norm_opts;

/* Layer normalisation over the trailing dimensions `shape` (PyTorch's nn.LayerNorm). */
typedef struct tg_layer_norm_layer {
    tg_tensor *weight, *bias; /* of the normalised shape: 1 and 0 at first; NULL when
                                 no_affine */
    int ndim;                 /* how many trailing dimensions are normalised */
    int shape[TG_MAX_DIMS];   /* their sizes */
    double eps;
} tg_layer_norm_layer;

/* Adds "<prefix>.weight" (ones) and "<prefix>.bias" (zeros) of the given shape (unless
 * opts->no_affine). 1 <= ndim <= TG_MAX_DIMS, every size >= 1. Errors as above. */
TG_API tg_status tg_layer_norm_layer_init(tg_layer_norm_layer *l, tg_params *p, const char *prefix,
                                          int ndim, const int *shape,
                                          const tg_layer_norm_opts *opts);
/* x [..., shape] -> the same shape, each trailing group normalised (tg_layer_norm). The
 * same in training and evaluation mode. x must end with the layer's shape. */
TG_API tg_tensor *tg_layer_norm_layer_forward(tg_graph *g, const tg_layer_norm_layer *l,
                                              tg_tensor *x);

/* A lookup table of `num` vectors of `dim` values (PyTorch's nn.Embedding). */
typedef struct tg_embedding_layer {
    tg_tensor *weight; /* [num, dim], starts N(0, 1) as in PyTorch */
    int num, dim;
} tg_embedding_layer;

/* Adds "<prefix>.weight" [num, dim] ~ N(0, 1) from p's generator. num, dim >= 1.
 * Errors as above. */
TG_API tg_status tg_embedding_layer_init(tg_embedding_layer *l, tg_params *p, const char *prefix,
                                         int num, int dim);
/* indices (int32, of the given shape: ndim 0..TG_MAX_DIMS-1, copied) -> [shape..., dim]:
 * row indices[i] of the table (tg_embedding). Every index must lie in 0..num-1. Its
 * input is indices, not a tensor, so it is no tg_layer_fn: call it before a
 * sequential and give the sequential its output. */
TG_API tg_tensor *tg_embedding_layer_forward(tg_graph *g, const tg_embedding_layer *l,
                                             const int32_t *indices, int ndim, const int *shape);

/* Pooling as a layer: a plain value holding its kind and window. */
typedef enum tg_pool_kind {
    TG_POOL_MAX,        /* tg_max_pool2d with opts */
    TG_POOL_AVG,        /* tg_avg_pool2d with opts */
    TG_POOL_GLOBAL_AVG, /* tg_global_avg_pool2d: [N, C, H, W] -> [N, C]; opts unused */
    TG_POOL_COUNT
} tg_pool_kind;
typedef struct tg_pool2d_layer {
    tg_pool_kind kind;
    tg_pool_opts opts; /* kernel (required for max and avg), stride (0 = kernel), padding */
} tg_pool2d_layer;
/* Applies the pooling l describes to x [N, C, H, W]. An unknown kind records a
 * TG_ERR_ARG error; window errors are tg_max_pool2d's and tg_avg_pool2d's. */
TG_API tg_tensor *tg_pool2d_layer_forward(tg_graph *g, const tg_pool2d_layer *l, tg_tensor *x);

/* Sequential entries for these layers (tg_sequential_add with the layer's forward and a
 * descriptive name, e.g. "conv2d 1 -> 32, 3x3 (conv1)"). The layer is referenced, not
 * copied: it must stay where it is while the container is used. Returns TG_OK, or
 * TG_ERR_NULL (s or l NULL, or a layer never initialised), TG_ERR_ARG (an unknown pool
 * kind), TG_ERR_NOMEM; the container is unchanged on error. tg_sequential_print shows
 * the parameters of each (weight and bias; batch norm's running statistics are not
 * parameters) and counts them in its total. */
TG_API tg_status tg_sequential_add_conv2d(tg_sequential *s, const tg_conv2d_layer *l);
TG_API tg_status tg_sequential_add_batch_norm(tg_sequential *s, const tg_batch_norm_layer *l);
TG_API tg_status tg_sequential_add_layer_norm(tg_sequential *s, const tg_layer_norm_layer *l);
TG_API tg_status tg_sequential_add_pool2d(tg_sequential *s, const tg_pool2d_layer *l);

#ifdef __cplusplus
}
#endif
#endif
