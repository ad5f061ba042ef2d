/* tests/test_nn.c: layers: linear, activations, flatten, the MLP builder, dropout modes,
 * the sequential container, and their errors. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <tapegrad.h>

#include "tg_layer_fixture.h"
#include "tg_test.h"

static void assert_same(tg_tensor *a, tg_tensor *b) {
    expect_same_shape(a, b);
    for (int64_t i = 0; i < tg_numel(a); i++) ck_assert(tg_data(a)[i] == tg_data(b)[i]);
}

/* ---- linear ------------------------------------------------------------------------ */

START_TEST(linear_shapes_names_and_torch_init) {
    tg_linear_layer l;
    ck_assert_int_eq(tg_linear_layer_init(&l, p, "fc", 50, 30, NULL), TG_OK);
    ck_assert_int_eq(l.in, 50);
    ck_assert_int_eq(l.out, 30);
    ck_assert_ptr_eq(l.weight, tg_params_get(p, "fc.weight"));
    ck_assert_ptr_eq(l.bias, tg_params_get(p, "fc.bias"));
    ck_assert_int_eq(tg_ndim(l.weight), 2);
    ck_assert_int_eq(tg_shape(l.weight)[0], 30);
    ck_assert_int_eq(tg_shape(l.weight)[1], 50);
    ck_assert_int_eq(tg_ndim(l.bias), 1);
    ck_assert_int_eq(tg_shape(l.bias)[0], 30);
    ck_assert(tg_requires_grad(l.weight));
    /* PyTorch's nn.Linear: both U(-1/sqrt(in), 1/sqrt(in)), and they fill the range */
    const double r = 1 / sqrt(50.0);
    ck_assert_double_le(max_abs(l.weight), r);
    ck_assert_double_le(max_abs(l.bias), r);
    ck_assert_double_gt(max_abs(l.weight), 0.9 * r);
    ck_assert_double_gt(max_abs(l.bias), 0.5 * r);
    double mean = 0;
    for (int64_t i = 0; i < tg_numel(l.weight); i++) mean += tg_data(l.weight)[i];
    mean /= (double)tg_numel(l.weight);
    ck_assert_double_lt(fabs(mean), 0.1 * r);
}
END_TEST

START_TEST(linear_keras_he_custom_and_no_bias) {
    tg_linear_layer k, h, c, n;
    ck_assert_int_eq(
        tg_linear_layer_init(&k, p, "k", 40, 20, &(tg_linear_opts){.init = TG_LINEAR_INIT_KERAS}),
        TG_OK);
    ck_assert_double_le(max_abs(k.weight), sqrt(6.0 / 60));
    ck_assert_double_gt(max_abs(k.weight), 0.9 * sqrt(6.0 / 60));
    ck_assert(max_abs(k.bias) == 0);
    ck_assert_int_eq(
        tg_linear_layer_init(&h, p, "h", 40, 20, &(tg_linear_opts){.init = TG_LINEAR_INIT_HE}),
        TG_OK);
    ck_assert_double_le(max_abs(h.weight), sqrt(6.0 / 40));
    ck_assert_double_gt(max_abs(h.weight), 0.9 * sqrt(6.0 / 40));
    ck_assert(max_abs(h.bias) == 0);
    tg_linear_opts co = {.init = TG_LINEAR_INIT_CUSTOM,
                         .weight_init = TG_INIT_CONSTANT,
                         .weight_a = 0.5,
                         .bias_init = TG_INIT_CONSTANT,
                         .bias_a = -1};
    ck_assert_int_eq(tg_linear_layer_init(&c, p, "c", 3, 2, &co), TG_OK);
    for (int i = 0; i < 6; i++) ck_assert(tg_data(c.weight)[i] == (tg_real)0.5);
    for (int i = 0; i < 2; i++) ck_assert(tg_data(c.bias)[i] == -1);
    const int before = tg_params_count(p);
    ck_assert_int_eq(tg_linear_layer_init(&n, p, "n", 3, 2, &(tg_linear_opts){.no_bias = true}),
                     TG_OK);
    ck_assert_ptr_null(n.bias);
    ck_assert_int_eq(tg_params_count(p), before + 1);
    ck_assert_ptr_null(tg_params_get(p, "n.bias"));
}
END_TEST

START_TEST(linear_init_is_seeded) {
    tg_params *q = tg_params_new();
    tg_params_seed(q, 3);
    tg_linear_layer a, b;
    ck_assert_int_eq(tg_linear_layer_init(&a, p, "fc", 7, 5, NULL), TG_OK);
    ck_assert_int_eq(tg_linear_layer_init(&b, q, "fc", 7, 5, NULL), TG_OK);
    for (int i = 0; i < 35; i++) ck_assert(tg_data(a.weight)[i] == tg_data(b.weight)[i]);
    tg_params_free(q);
}
END_TEST

START_TEST(linear_init_errors_leave_the_store_alone) {
    tg_linear_layer l;
    ck_assert_int_eq(tg_linear_layer_init(NULL, p, "fc", 2, 2, NULL), TG_ERR_NULL);
    ck_assert_int_eq(tg_linear_layer_init(&l, NULL, "fc", 2, 2, NULL), TG_ERR_NULL);
    ck_assert_ptr_null(l.weight);
    ck_assert_int_eq(tg_linear_layer_init(&l, p, NULL, 2, 2, NULL), TG_ERR_NULL);
    ck_assert_int_eq(tg_linear_layer_init(&l, p, "fc", 0, 2, NULL), TG_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(tg_last_error(), "fc"));
    ck_assert_int_eq(tg_linear_layer_init(&l, p, "fc", 2, -1, NULL), TG_ERR_ARG);
    ck_assert_int_eq(tg_linear_layer_init(&l, p, "", 2, 2, NULL), TG_ERR_ARG);
    char longname[200];
    memset(longname, 'a', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    ck_assert_int_eq(tg_linear_layer_init(&l, p, longname, 2, 2, NULL), TG_ERR_ARG);
    ck_assert_int_eq(
        tg_linear_layer_init(&l, p, "fc", 2, 2, &(tg_linear_opts){.init = (tg_linear_init)99}),
        TG_ERR_ARG);
    ck_assert_int_eq(tg_linear_layer_init(&l, p, "fc", 2, 2,
                                          &(tg_linear_opts){.init = TG_LINEAR_INIT_CUSTOM,
                                                            .weight_init = (tg_init)-1}),
                     TG_ERR_ARG);
    ck_assert_int_eq(tg_params_count(p), 0);
    /* a clash on either name: nothing is added */
    ck_assert_ptr_nonnull(tg_params_add(p, "fc.bias", 1, (int[]){2}));
    ck_assert_int_eq(tg_linear_layer_init(&l, p, "fc", 2, 2, NULL), TG_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(tg_last_error(), "fc.bias"));
    ck_assert_int_eq(tg_params_count(p), 1);
    ck_assert_ptr_null(l.weight);
    /* an initialiser that fails (uniform with b < a) reports the layer */
    tg_linear_opts bad = {.init = TG_LINEAR_INIT_CUSTOM,
                          .weight_init = TG_INIT_UNIFORM,
                          .weight_a = 1,
                          .weight_b = -1};
    ck_assert_int_eq(tg_linear_layer_init(&l, p, "u", 2, 2, &bad), TG_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(tg_last_error(), "'u'"));
    ck_assert_ptr_null(l.weight);
}
END_TEST

START_TEST(linear_forward_matches_by_hand) {
    tg_linear_layer l;
    ck_assert_int_eq(tg_linear_layer_init(&l, p, "fc", 5, 3, NULL), TG_OK);
    tg_tensor *x = randn(2, (int[]){4, 5});
    tg_tensor *y = tg_linear_layer_forward(g, &l, x);
    ck_assert_ptr_nonnull(y);
    ck_assert_int_eq(tg_shape(y)[0], 4);
    ck_assert_int_eq(tg_shape(y)[1], 3);
    for (int i = 0; i < 4; i++)
        for (int o = 0; o < 3; o++) {
            double want = tg_data(l.bias)[o];
            for (int k = 0; k < 5; k++)
                want += (double)tg_data(x)[i * 5 + k] * tg_data(l.weight)[o * 5 + k];
            ck_assert_double_eq_tol(tg_data(y)[i * 3 + o], want, 1e-5);
        }
    /* leading dimensions are kept */
    tg_tensor *y3 = tg_linear_layer_forward(g, &l, randn(3, (int[]){2, 3, 5}));
    ck_assert_int_eq(tg_ndim(y3), 3);
    ck_assert_int_eq(tg_shape(y3)[2], 3);
}
END_TEST

START_TEST(linear_forward_errors) {
    tg_linear_layer l;
    ck_assert_int_eq(tg_linear_layer_init(&l, p, "enc.fc1", 5, 3, NULL), TG_OK);
    ck_assert_ptr_null(tg_linear_layer_forward(g, &l, randn(2, (int[]){4, 6})));
    ck_assert_int_eq(tg_graph_status(g), TG_ERR_SHAPE);
    ck_assert_ptr_nonnull(strstr(tg_graph_error(g), "'enc.fc1'"));
    ck_assert_ptr_nonnull(strstr(tg_graph_error(g), "[4,6]"));
    tg_graph_reset(g);
    ck_assert_ptr_null(tg_linear_layer_forward(g, NULL, randn(2, (int[]){4, 5})));
    ck_assert_int_eq(tg_graph_status(g), TG_ERR_NULL);
    tg_graph_reset(g);
    tg_linear_layer zero = {0};
    ck_assert_ptr_null(tg_linear_layer_forward(g, &zero, randn(2, (int[]){4, 5})));
    ck_assert_ptr_nonnull(strstr(tg_graph_error(g), "not initialised"));
    tg_graph_reset(g);
    ck_assert_ptr_null(tg_linear_layer_forward(g, &l, NULL));
    ck_assert_int_eq(tg_graph_status(g), TG_ERR_NULL);
    ck_assert_ptr_null(tg_linear_layer_forward(NULL, &l, NULL));
}
END_TEST

/* The linear layer's gradients, by tg_gradcheck: a layer is a plain struct, so the
 * checked inputs can be put in one. */
static tg_tensor *linear_loss(tg_graph *gg, tg_tensor *const *in, int n, void *user) {
    (void)n;
    (void)user;
    tg_linear_layer l = {.weight = in[1], .bias = in[2], .in = 4, .out = 3};
    tg_tensor *y = tg_linear_layer_forward(gg, &l, in[0]);
    return tg_sum(gg, tg_mul(gg, tg_tanh(gg, y), y), TG_ALL, false);
}

START_TEST(linear_gradcheck) {
    tg_tensor *x = randn(2, (int[]){5, 4}), *w = randn(2, (int[]){3, 4}), *b = randn(1, (int[]){3});
    tg_gradcheck_input in[3] = {
        {2, (int[]){5, 4}, tg_data(x), true},
        {2, (int[]){3, 4}, tg_data(w), true},
        {1, (int[]){3}, tg_data(b), true},
    };
    tg_gradcheck_report r;
    ck_assert_int_eq(tg_gradcheck(linear_loss, 3, in, NULL, NULL, &r), TG_OK);
    ck_assert(r.passed);
}
END_TEST

/* ---- activations, flatten ------------------------------------------------------------ */

START_TEST(activations_match_their_ops) {
    tg_tensor *x = randn(2, (int[]){3, 4});
    ck_assert_ptr_eq(tg_activate(g, x, TG_ACT_NONE), x);
    assert_same(tg_activate(g, x, TG_ACT_RELU), tg_relu(g, x));
    assert_same(tg_activate(g, x, TG_ACT_TANH), tg_tanh(g, x));
    assert_same(tg_activate(g, x, TG_ACT_SIGMOID), tg_sigmoid(g, x));
    assert_same(tg_activate(g, x, TG_ACT_GELU), tg_gelu(g, x));
    ck_assert_str_eq(tg_activation_name(TG_ACT_GELU), "gelu");
    ck_assert_str_eq(tg_activation_name(TG_ACT_NONE), "none");
    ck_assert_str_eq(tg_activation_name((tg_activation)42), "unknown");
    ck_assert_ptr_null(tg_activate(g, x, (tg_activation)42));
    ck_assert_int_eq(tg_graph_status(g), TG_ERR_ARG);
    ck_assert_ptr_null(tg_activate(g, x, TG_ACT_RELU)); /* sticky */
}
END_TEST

START_TEST(flatten_shapes) {
    tg_tensor *f = tg_flatten(g, randn(3, (int[]){2, 3, 4}));
    ck_assert_int_eq(tg_ndim(f), 2);
    ck_assert_int_eq(tg_shape(f)[0], 2);
    ck_assert_int_eq(tg_shape(f)[1], 12);
    f = tg_flatten(g, randn(1, (int[]){5}));
    ck_assert_int_eq(tg_ndim(f), 2);
    ck_assert_int_eq(tg_shape(f)[1], 1);
    f = tg_flatten(g, tg_zeros(g, 3, (int[]){0, 3, 4}));
    ck_assert_int_eq(tg_shape(f)[0], 0);
    ck_assert_int_eq(tg_shape(f)[1], 12);
    ck_assert_ptr_null(tg_flatten(g, tg_scalar(g, 1)));
    ck_assert_int_eq(tg_graph_status(g), TG_ERR_SHAPE);
}
END_TEST

/* ---- MLP --------------------------------------------------------------------------- */

/* The MLP {6, 8, 7, 3}, tanh, dropout 0.3, written out with ops. */
static tg_tensor *by_hand(const tg_mlp *m, tg_tensor *x) {
    for (int i = 0; i < 3; i++) {
        x = tg_linear(g, x, m->layers[i].weight, m->layers[i].bias);
        if (i == 2) break;
        x = tg_dropout(g, tg_tanh(g, x), (tg_real)0.3);
    }
    return x;
}

START_TEST(mlp_forward_equals_its_composition) {
    tg_mlp *m = tg_mlp_new(p, "mlp", 3, (int[]){6, 8, 7, 3}, TG_ACT_TANH, 0.3, NULL);
    ck_assert_ptr_nonnull(m);
    ck_assert_int_eq(m->n_layers, 3);
    ck_assert_int_eq(tg_params_count(p), 6);
    ck_assert_ptr_eq(m->layers[1].weight, tg_params_get(p, "mlp.1.weight"));
    ck_assert_ptr_eq(m->layers[2].bias, tg_params_get(p, "mlp.2.bias"));
    ck_assert_int_eq(m->layers[1].in, 8);
    ck_assert_int_eq(m->layers[1].out, 7);
    tg_real xs[5 * 6];
    for (int i = 0; i < 30; i++) xs[i] = (tg_real)sin(i);
    for (int mode = 0; mode < 2; mode++) { /* evaluation, then training (dropout draws) */
        tg_graph_set_training(g, mode == 1);
        tg_graph_reset(g);
        tg_seed(g, 9);
        tg_tensor *y = tg_mlp_forward(g, m, tg_tensor_from(g, 2, (int[]){5, 6}, xs));
        ck_assert_int_eq(tg_backward(g, tg_sum(g, tg_mul(g, y, y), TG_ALL, false)), 0);
        tg_real grads[48]; /* layer 0 weight [8,6] */
        memcpy(grads, tg_grad(m->layers[0].weight), sizeof grads);
        tg_params_zero_grad(p);
        tg_seed(g, 9);
        tg_tensor *z = by_hand(m, tg_tensor_from(g, 2, (int[]){5, 6}, xs));
        assert_same(y, z);
        ck_assert_int_eq(tg_backward(g, tg_sum(g, tg_mul(g, z, z), TG_ALL, false)), 0);
        ck_assert(memcmp(grads, tg_grad(m->layers[0].weight), sizeof grads) == 0);
        tg_params_zero_grad(p);
    }
    tg_mlp_free(m);
}
END_TEST

START_TEST(mlp_dropout_train_and_eval) {
    /* one layer of identity weights between two: y = dropout(relu(x)) @ I */
    tg_linear_opts o = {
        .init = TG_LINEAR_INIT_CUSTOM, .weight_init = TG_INIT_ZEROS, .bias_init = TG_INIT_ZEROS};
    tg_mlp *m = tg_mlp_new(p, "m", 2, (int[]){1, 1000, 1}, TG_ACT_RELU, 0.25, &o);
    ck_assert_ptr_nonnull(m);
    for (int i = 0; i < 1000; i++) tg_data(m->layers[0].weight)[i] = 1;
    for (int i = 0; i < 1000; i++) tg_data(m->layers[1].weight)[i] = 1;
    tg_tensor *x = tg_ones(g, 2, (int[]){1, 1});
    tg_graph_set_training(g, false);
    ck_assert_double_eq_tol(tg_item(tg_mlp_forward(g, m, x)), 1000, 1e-3);
    tg_graph_set_training(g, true);
    double y = tg_item(tg_mlp_forward(g, m, x)); /* kept / 0.75 of 1000 ones */
    double kept = y * 0.75;
    ck_assert_double_eq_tol(kept, floor(kept + 0.5), 1e-2);
    ck_assert_double_gt(kept, 700);
    ck_assert_double_lt(kept, 800);
    ck_assert_ptr_null(tg_graph_error(g));
    tg_mlp_free(m);
}
END_TEST

START_TEST(mlp_errors) {
    const int sizes[] = {4, 3, 2};
    ck_assert_ptr_null(tg_mlp_new(NULL, "m", 2, sizes, TG_ACT_RELU, 0, NULL));
    ck_assert_ptr_null(tg_mlp_new(p, NULL, 2, sizes, TG_ACT_RELU, 0, NULL));
    ck_assert_ptr_null(tg_mlp_new(p, "m", 2, NULL, TG_ACT_RELU, 0, NULL));
    ck_assert_ptr_null(tg_mlp_new(p, "m", 0, sizes, TG_ACT_RELU, 0, NULL));
    ck_assert_ptr_null(tg_mlp_new(p, "m", 2, (int[]){4, 0, 2}, TG_ACT_RELU, 0, NULL));
    ck_assert_ptr_nonnull(strstr(tg_last_error(), "sizes[1]"));
    ck_assert_ptr_null(tg_mlp_new(p, "m", 2, sizes, (tg_activation)-1, 0, NULL));
    ck_assert_ptr_null(tg_mlp_new(p, "m", 2, sizes, TG_ACT_RELU, 1.0, NULL));
    ck_assert_ptr_null(tg_mlp_new(p, "m", 2, sizes, TG_ACT_RELU, NAN, NULL));
    ck_assert_ptr_null(tg_mlp_new(p, "", 2, sizes, TG_ACT_RELU, 0, NULL));
    ck_assert_int_eq(tg_params_count(p), 0);
    ck_assert_ptr_nonnull(tg_params_add(p, "m.1.bias", 1, (int[]){2}));
    ck_assert_ptr_null(tg_mlp_new(p, "m", 2, sizes, TG_ACT_RELU, 0, NULL));
    ck_assert_ptr_nonnull(strstr(tg_last_error(), "m.1.bias"));
    ck_assert_int_eq(tg_params_count(p), 1); /* nothing added */
    tg_mlp *m = tg_mlp_new(p, "ok", 2, sizes, TG_ACT_NONE, 0, &(tg_linear_opts){.no_bias = true});
    ck_assert_ptr_nonnull(m);
    ck_assert_int_eq(tg_params_count(p), 3);
    ck_assert_ptr_null(tg_mlp_forward(g, m, randn(2, (int[]){2, 5})));
    ck_assert_ptr_nonnull(strstr(tg_graph_error(g), "ok.0"));
    tg_graph_reset(g);
    ck_assert_ptr_null(tg_mlp_forward(g, NULL, randn(2, (int[]){2, 4})));
    ck_assert_int_eq(tg_graph_status(g), TG_ERR_NULL);
    tg_mlp_free(m);
    tg_mlp_free(NULL);
}
END_TEST

/* ---- sequential ---------------------------------------------------------------------- */

/* A user layer: y = scale * x. */
typedef struct scale_layer {
    tg_real scale;
} scale_layer;

static tg_tensor *scale_fn(tg_graph *gg, void *layer, tg_tensor *x) {
    return tg_mul(gg, x, tg_scalar(gg, ((scale_layer *)layer)->scale));
}

static tg_tensor *null_fn(tg_graph *gg, void *layer, tg_tensor *x) {
    (void)gg, (void)layer, (void)x;
    return NULL; /* a bug: NULL without recording an error */
}

START_TEST(sequential_equals_mlp) {
    tg_mlp *m = tg_mlp_new(p, "mlp", 2, (int[]){12, 9, 4}, TG_ACT_RELU, 0.2, NULL);
    tg_sequential *s = tg_sequential_new();
    ck_assert_ptr_nonnull(s);
    ck_assert_int_eq(tg_sequential_add_flatten(s), TG_OK);
    ck_assert_int_eq(tg_sequential_add_linear(s, &m->layers[0]), TG_OK);
    ck_assert_int_eq(tg_sequential_add_activation(s, TG_ACT_RELU), TG_OK);
    ck_assert_int_eq(tg_sequential_add_dropout(s, 0.2), TG_OK);
    ck_assert_int_eq(tg_sequential_add_linear(s, &m->layers[1]), TG_OK);
    ck_assert_int_eq(tg_sequential_len(s), 5);
    ck_assert_str_eq(tg_sequential_name(s, 0), "flatten");
    ck_assert_str_eq(tg_sequential_name(s, 1), "linear 12 -> 9 (mlp.0)");
    ck_assert_str_eq(tg_sequential_name(s, 2), "relu");
    ck_assert_str_eq(tg_sequential_name(s, 3), "dropout 0.2");
    ck_assert_ptr_null(tg_sequential_name(s, 5));
    tg_tensor *x = randn(3, (int[]){6, 3, 4});
    for (int mode = 0; mode < 2; mode++) {
        tg_graph_set_training(g, mode == 1);
        tg_seed(g, 4);
        tg_tensor *a = tg_sequential_forward(g, s, x);
        tg_seed(g, 4);
        tg_tensor *b = tg_mlp_forward(g, m, tg_flatten(g, x));
        assert_same(a, b);
    }
    /* the whole MLP as one entry */
    tg_sequential *s2 = tg_sequential_new();
    ck_assert_int_eq(tg_sequential_add_flatten(s2), TG_OK);
    ck_assert_int_eq(tg_sequential_add_mlp(s2, m), TG_OK);
    ck_assert_str_eq(tg_sequential_name(s2, 1), "mlp 12-9-4");
    tg_graph_set_training(g, false);
    assert_same(tg_sequential_forward(g, s2, x), tg_sequential_forward(g, s, x));
    /* the summary lists every entry and counts the parameters */
    FILE *f = tmpfile();
    ck_assert_int_eq(tg_sequential_print(s, f), TG_OK);
    rewind(f);
    char text[2048] = "";
    size_t n = fread(text, 1, sizeof text - 1, f);
    text[n] = '\0';
    fclose(f);
    ck_assert_ptr_nonnull(strstr(text, "dropout 0.2"));
    ck_assert_ptr_nonnull(strstr(text, "157 parameters")); /* 12*9+9 + 9*4+4 */
    tg_sequential_free(s2);
    tg_sequential_free(s);
    tg_mlp_free(m);
}
END_TEST

START_TEST(sequential_user_layers_and_growth) {
    scale_layer twice = {2}, half = {(tg_real)0.5};
    tg_sequential *s = tg_sequential_new();
    for (int i = 0; i < 20; i++) /* beyond the first allocation */
        ck_assert_int_eq(
            tg_sequential_add(s, i % 2 ? "half" : "twice", scale_fn, i % 2 ? &half : &twice),
            TG_OK);
    ck_assert_int_eq(tg_sequential_add(s, NULL, scale_fn, &twice), TG_OK);
    ck_assert_str_eq(tg_sequential_name(s, 20), "layer20");
    ck_assert_int_eq(tg_sequential_add_activation(s, TG_ACT_NONE), TG_OK);
    tg_tensor *x = randn(2, (int[]){2, 3});
    tg_tensor *y = tg_sequential_forward(g, s, x);
    ck_assert_ptr_nonnull(y);
    for (int i = 0; i < 6; i++) ck_assert(tg_data(y)[i] == 2 * tg_data(x)[i]);
    /* an empty container is the identity */
    tg_sequential *e = tg_sequential_new();
    ck_assert_ptr_eq(tg_sequential_forward(g, e, x), x);
    ck_assert_int_eq(tg_sequential_len(e), 0);
    tg_sequential_free(e);
    tg_sequential_free(s);
}
END_TEST

START_TEST(sequential_errors) {
    tg_sequential *s = tg_sequential_new();
    ck_assert_int_eq(tg_sequential_add(NULL, "x", scale_fn, NULL), TG_ERR_NULL);
    ck_assert_int_eq(tg_sequential_add(s, "x", NULL, NULL), TG_ERR_NULL);
    ck_assert_int_eq(tg_sequential_add_linear(s, NULL), TG_ERR_NULL);
    ck_assert_int_eq(tg_sequential_add_linear(s, &(tg_linear_layer){0}), TG_ERR_NULL);
    ck_assert_int_eq(tg_sequential_add_mlp(s, NULL), TG_ERR_NULL);
    ck_assert_int_eq(tg_sequential_add_activation(s, (tg_activation)77), TG_ERR_ARG);
    ck_assert_int_eq(tg_sequential_add_dropout(s, -0.1), TG_ERR_ARG);
    ck_assert_int_eq(tg_sequential_add_dropout(s, 1), TG_ERR_ARG);
    ck_assert_int_eq(tg_sequential_add_flatten(NULL), TG_ERR_NULL);
    ck_assert_int_eq(tg_sequential_add_dropout(NULL, 0.5), TG_ERR_NULL);
    ck_assert_int_eq(tg_sequential_len(s), 0); /* nothing was added */
    ck_assert_int_eq(tg_sequential_len(NULL), 0);
    ck_assert_int_eq(tg_sequential_print(NULL, stdout), TG_ERR_NULL);
    ck_assert_int_eq(tg_sequential_print(s, NULL), TG_ERR_NULL);

    ck_assert_int_eq(tg_sequential_add(s, "buggy", null_fn, NULL), TG_OK);
    tg_tensor *x = randn(1, (int[]){3});
    ck_assert_ptr_null(tg_sequential_forward(g, s, x));
    ck_assert_ptr_nonnull(strstr(tg_graph_error(g), "layer 0 (buggy) returned NULL"));
    tg_graph_reset(g);
    ck_assert_ptr_null(tg_sequential_forward(g, NULL, randn(1, (int[]){3})));
    ck_assert_int_eq(tg_graph_status(g), TG_ERR_NULL);
    tg_graph_reset(g);
    ck_assert_ptr_null(tg_sequential_forward(g, s, NULL));
    /* an error inside a layer is the op's own */
    tg_sequential *s2 = tg_sequential_new();
    tg_linear_layer l;
    ck_assert_int_eq(tg_linear_layer_init(&l, p, "fc", 4, 2, NULL), TG_OK);
    ck_assert_int_eq(tg_sequential_add_linear(s2, &l), TG_OK);
    tg_graph_reset(g);
    ck_assert_ptr_null(tg_sequential_forward(g, s2, randn(2, (int[]){2, 3})));
    ck_assert_ptr_nonnull(strstr(tg_graph_error(g), "'fc'"));
    tg_sequential_free(s2);
    tg_sequential_free(s);
    tg_sequential_free(NULL);
}
END_TEST

/* A steady-state training step through the layers makes no heap allocation. */
START_TEST(forward_allocates_nothing) {
    tg_mlp *m = tg_mlp_new(p, "mlp", 2, (int[]){10, 16, 3}, TG_ACT_GELU, 0.1, NULL);
    tg_sequential *s = tg_sequential_new();
    ck_assert_int_eq(tg_sequential_add_flatten(s), TG_OK);
    ck_assert_int_eq(tg_sequential_add_mlp(s, m), TG_OK);
    ck_assert_int_eq(tg_sequential_add_activation(s, TG_ACT_SIGMOID), TG_OK);
    uint64_t before = 0;
    for (int step = 0; step < 3; step++) {
        if (step == 2) before = tg_alloc_count();
        tg_graph_reset(g);
        tg_tensor *y = tg_sequential_forward(g, s, randn(3, (int[]){8, 2, 5}));
        ck_assert_int_eq(tg_backward(g, tg_mean(g, y, TG_ALL, false)), 0);
        tg_params_zero_grad(p);
    }
    ck_assert_uint_eq(tg_alloc_count(), before);
    tg_sequential_free(s);
    tg_mlp_free(m);
}
END_TEST

static Suite *nn_suite(void) {
    Suite *s = suite_create("nn");
    TCase *t = tcase_create("layers");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_add_test(t, linear_shapes_names_and_torch_init);
    tcase_add_test(t, linear_keras_he_custom_and_no_bias);
    tcase_add_test(t, linear_init_is_seeded);
    tcase_add_test(t, linear_init_errors_leave_the_store_alone);
    tcase_add_test(t, linear_forward_matches_by_hand);
    tcase_add_test(t, linear_forward_errors);
    tcase_add_test(t, linear_gradcheck);
    tcase_add_test(t, activations_match_their_ops);
    tcase_add_test(t, flatten_shapes);
    tcase_add_test(t, mlp_forward_equals_its_composition);
    tcase_add_test(t, mlp_dropout_train_and_eval);
    tcase_add_test(t, mlp_errors);
    tcase_add_test(t, sequential_equals_mlp);
    tcase_add_test(t, sequential_user_layers_and_growth);
    tcase_add_test(t, sequential_errors);
    tcase_add_test(t, forward_allocates_nothing);
    suite_add_tcase(s, t);
    return s;
}

int main(void) {
    return tg_test_run(nn_suite());
}
