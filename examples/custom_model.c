/* custom_model: your own layer and your own loss, as plain C functions over ops.
 *
 * The layer is a gated unit (as in gated linear units and Swish):
 *
 *     y = x * sigmoid(x @ W^T + b)          x [N, d], W [d, d], b [d]  ->  y [N, d]
 *
 * It is a struct holding its parameters (made in a tg_params store, so they outlive
 * graph resets and the optimizer finds them) and a forward function with the shape of
 * tg_layer_fn, so it goes into a tg_sequential next to the library's layers:
 *
 *     linear 2 -> 16,  gated(16),  linear 16 -> 1
 *
 * The loss is log-cosh, mean(log(cosh(pred - target))), a smooth cousin of the Huber
 * loss, written stably as softplus(2d) - d - log 2 so that large errors do not
 * overflow. Neither needs a gradient rule of its own: backward goes through the ops.
 *
 * The program fits y = sin(2 x0) cos(x1) on synthetic data with Adam for a few hundred
 * steps, checks the layer and the loss with tg_gradcheck (they are ordinary functions,
 * so they run on gradcheck's tensors as well as on parameters), and draws the graph of
 * one training step to custom_model.svg (custom_model.dot when Graphviz is missing).
 * Exits 0 when the loss went down by half and the gradient check passed.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <tapegrad.h>

#define N     256
#define HID   16
#define STEPS 300

/* ---- the user-defined layer ---------------------------------------------------------- */

typedef struct gated_layer {
    tg_tensor *w; /* [d, d] */
    tg_tensor *b; /* [d] */
    int dim;
} gated_layer;

/* Adds "<prefix>.weight" and "<prefix>.bias" to p, initialised like a linear layer. */
static tg_status gated_init(gated_layer *l, tg_params *p, const char *prefix, int dim) {
    char name[64];
    snprintf(name, sizeof name, "%s.weight", prefix);
    l->w = tg_params_add(p, name, 2, (int[]){dim, dim});
    snprintf(name, sizeof name, "%s.bias", prefix);
    l->b = tg_params_add(p, name, 1, (int[]){dim});
    l->dim = dim;
    if (!l->w || !l->b) return TG_ERR_ARG; /* tg_last_error says why */
    const double r = 1 / sqrt((double)dim);
    tg_status st = tg_init_tensor(l->w, TG_INIT_UNIFORM, -r, r, tg_params_rng(p));
    return st != TG_OK ? st : tg_init_tensor(l->b, TG_INIT_UNIFORM, -r, r, tg_params_rng(p));
}

/* The forward pass: y = x * sigmoid(x @ W^T + b). Any op's error (a wrong width, say)
 * makes it return NULL with the graph's error set, like a library layer. */
static tg_tensor *gated_forward(tg_graph *g, void *layer, tg_tensor *x) {
    const gated_layer *l = layer;
    tg_tensor *gate = tg_sigmoid(g, tg_linear(g, x, l->w, l->b)); /* [N, d] */
    return tg_mul(g, x, gate);                                    /* [N, d] */
}

/* ---- the user-defined loss --------------------------------------------------------- */

/* mean(log(cosh(pred - target))), with log cosh d = softplus(2d) - d - log 2. */
static tg_tensor *log_cosh_loss(tg_graph *g, tg_tensor *pred, tg_tensor *target) {
    tg_tensor *d = tg_sub(g, pred, target);
    tg_tensor *lc = tg_sub(g, tg_sub(g, tg_softplus(g, tg_mul(g, d, tg_scalar(g, 2))), d),
                           tg_scalar(g, (tg_real)log(2.0)));
    return tg_mean(g, lc, TG_ALL, false);
}

/* ---- checking both with tg_gradcheck ------------------------------------------------- */

enum { GX, GW, GB, GT, GN }; /* gradcheck's inputs: x, W, b, target */

static tg_tensor *checked_fn(tg_graph *g, tg_tensor *const *in, int n, void *user) {
    (void)n;
    (void)user;
    gated_layer l = {.w = in[GW], .b = in[GB], .dim = 5}; /* the layer over gradcheck's tensors */
    return log_cosh_loss(g, gated_forward(g, &l, in[GX]), in[GT]);
}

static int gradcheck_layer_and_loss(void) {
    tg_graph *scratch = tg_graph_new();
    tg_seed(scratch, 3);
    static const int shapes[GN][2] = {{6, 5}, {5, 5}, {5}, {6, 5}};
    static const int ndims[GN] = {2, 2, 1, 2};
    tg_gradcheck_input in[GN];
    for (int i = 0; i < GN; i++) {
        tg_tensor *v = tg_randn(scratch, ndims[i], shapes[i], 0, 1);
        in[i] = (tg_gradcheck_input){ndims[i], shapes[i], tg_data(v), i != GT};
    }
    tg_gradcheck_report rep;
    tg_status st = tg_gradcheck(checked_fn, GN, in, NULL, NULL, &rep);
    tg_graph_free(scratch);
    if (st != TG_OK && st != TG_ERR_NUMERIC) {
        fprintf(stderr, "custom_model: gradcheck: %s\n", tg_last_error());
        return 1;
    }
    printf("gradcheck of gated(x) and log-cosh: %s\n", rep.message);
    return rep.passed ? 0 : 1;
}

/* ---- data and training --------------------------------------------------------------- */

static tg_real X[N][2], Y[N];

int main(void) {
    tg_rng r;
    tg_rng_seed(&r, 5);
    for (int i = 0; i < N; i++) {
        X[i][0] = (tg_real)(4 * tg_rng_uniform(&r) - 2);
        X[i][1] = (tg_real)(4 * tg_rng_uniform(&r) - 2);
        Y[i] = (tg_real)(sin(2 * X[i][0]) * cos(X[i][1]) + 0.05 * tg_rng_normal(&r));
    }

    tg_graph *g = tg_graph_new();
    tg_params *p = tg_params_new();
    tg_sequential *model = tg_sequential_new();
    tg_linear_layer in, out;
    gated_layer gate;
    tg_optim *opt = NULL;
    int rc = 1;
    tg_params_seed(p, 5);
    tg_adam_opts ao = tg_adam_defaults(0.02);
    if (!g || !p || !model || tg_linear_layer_init(&in, p, "in", 2, HID, NULL) != TG_OK ||
        gated_init(&gate, p, "gate", HID) != TG_OK ||
        tg_linear_layer_init(&out, p, "out", HID, 1, NULL) != TG_OK ||
        tg_sequential_add_linear(model, &in) != TG_OK ||
        tg_sequential_add(model, "gated 16", gated_forward, &gate) != TG_OK ||
        tg_sequential_add_linear(model, &out) != TG_OK || !(opt = tg_adam_new(p, &ao))) {
        fprintf(stderr, "custom_model: %s\n", tg_last_error());
        goto done;
    }
    printf("model (%lld parameters):\n", (long long)tg_params_numel(p));
    tg_sequential_print(model, stdout);

    double first = 0, last = 0;
    for (int step = 0; step <= STEPS; step++) {
        tg_graph_reset(g);
        tg_tensor *x = tg_tensor_wrap(g, 2, (int[]){N, 2}, &X[0][0]); /* [256,2] */
        tg_tensor *y = tg_tensor_wrap(g, 2, (int[]){N, 1}, Y);        /* [256,1] */
        tg_tensor *loss = log_cosh_loss(g, tg_sequential_forward(g, model, x), y);
        if (tg_backward(g, loss) != 0) {
            fprintf(stderr, "custom_model: %s\n", tg_graph_error(g));
            goto done;
        }
        last = tg_item(loss);
        if (step == 0) {
            first = last;
            /* the graph of one training step, with its gradients */
            const char *file = "custom_model.svg";
            tg_status st = tg_dot_save(g, loss, file);
            if (st == TG_ERR_UNSUPPORTED) /* no Graphviz: the DOT text */
                st = tg_dot_save(g, loss, file = "custom_model.dot");
            if (st != TG_OK) {
                fprintf(stderr, "custom_model: %s\n", tg_last_error());
                goto done;
            }
            printf("graph of one training step: %s\n", file);
        }
        if (step % 50 == 0) printf("step %3d  log-cosh loss %.5f\n", step, last);
        if (step == STEPS) break;
        tg_optim_step(opt);
        tg_optim_zero_grad(opt);
    }
    const bool learned = last < 0.5 * first;
    printf("loss %.5f -> %.5f: %s\n", first, last, learned ? "learned" : "did NOT learn");
    rc = gradcheck_layer_and_loss() || !learned;
done:
    tg_optim_free(opt);
    tg_sequential_free(model);
    tg_params_free(p);
    tg_graph_free(g);
    return rc;
}
