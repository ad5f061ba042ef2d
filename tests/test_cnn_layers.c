/* tests/test_cnn_layers.c: the conv2d, batch-norm, layer-norm, embedding and pooling
 * layers of src/nn/conv_layers.c: shapes, parameter names and counts, initial values,
 * batch norm's running statistics (training and evaluation mode, frozen under an
 * optimizer, saved and loaded), sequential entries, gradients, and errors. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <tapegrad.h>

#include "tg_layer_fixture.h"
#include "tg_test.h"

/* The largest |a - b| over two tensors of one shape (checked). */
static double max_diff(tg_tensor *a, tg_tensor *b) {
    expect_same_shape(a, b);
    double m = 0;
    for (int64_t i = 0; i < tg_numel(a); i++) {
        double d = fabs((double)tg_data(a)[i] - (double)tg_data(b)[i]);
        if (!(d <= m)) m = d; /* NaN wins */
    }
    return m;
}

static bool all_equal(tg_tensor *t, double v) {
    for (int64_t i = 0; i < tg_numel(t); i++)
        if (tg_data(t)[i] != (tg_real)v) return false;
    return true;
}

static const double TOL = TG_PRECISION_DOUBLE ? 1e-10 : 1e-4;

/* ---- conv2d ------------------------------------------------------------------------------- */

START_TEST(conv2d_shapes_names_and_torch_init) {
    tg_conv2d_layer l;
    ck_assert_int_eq(tg_conv2d_layer_init(&l, p, "conv", 6, 8, 3, 5, NULL), TG_OK);
    ck_assert_int_eq(tg_params_count(p), 2);
    ck_assert_ptr_eq(l.weight, tg_params_get(p, "conv.weight"));
    ck_assert_ptr_eq(l.bias, tg_params_get(p, "conv.bias"));
    expect_shape(l.weight, 4, (int[]){8, 6, 3, 5});
    expect_shape(l.bias, 1, (int[]){8});
    ck_assert_int_eq(tg_params_numel(p), 8 * 6 * 3 * 5 + 8);
    ck_assert(tg_requires_grad(l.weight) && tg_requires_grad(l.bias));
    /* kaiming_uniform(a = sqrt(5)): U(-1/sqrt(fan_in), 1/sqrt(fan_in)), fan_in = 6*3*5 */
    const double r = 1 / sqrt(90.0);
    ck_assert_double_le(max_abs(l.weight), r);
    ck_assert_double_gt(max_abs(l.weight), 0.9 * r);
    ck_assert_double_le(max_abs(l.bias), r);
    ck_assert_double_gt(max_abs(l.bias), 0.3 * r);

    /* groups: weight [out, in/groups, kh, kw], fan_in from in/groups; no bias */
    tg_conv2d_layer gl;
    const tg_conv2d_layer_opts go = {.conv = {.groups = 2, .stride = {2, 2}}, .no_bias = true};
    ck_assert_int_eq(tg_conv2d_layer_init(&gl, p, "grouped", 4, 6, 3, 3, &go), TG_OK);
    expect_shape(gl.weight, 4, (int[]){6, 2, 3, 3});
    ck_assert_ptr_null(gl.bias);
    ck_assert_ptr_null(tg_params_get(p, "grouped.bias"));
    ck_assert_int_eq(tg_params_count(p), 3);
    ck_assert_double_le(max_abs(gl.weight), 1 / sqrt(18.0));
    ck_assert_int_eq(gl.conv.groups, 2);
}
END_TEST

START_TEST(conv2d_forward_is_the_op) {
    tg_conv2d_layer l;
    const tg_conv2d_layer_opts o = {.conv = {.padding = {1, 0}, .stride = {1, 2}}};
    ck_assert_int_eq(tg_conv2d_layer_init(&l, p, "c", 3, 4, 3, 2, &o), TG_OK);
    tg_tensor *x = randn(4, (int[]){2, 3, 6, 7});
    tg_tensor *y = tg_conv2d_layer_forward(g, &l, x);
    expect_shape(y, 4, (int[]){2, 4, 6, 3}); /* (6+2-3)/1+1, (7-2)/2+1 */
    ck_assert_double_eq(max_diff(y, tg_conv2d(g, x, l.weight, l.bias, &o.conv)), 0);
}
END_TEST

START_TEST(conv2d_errors) {
    tg_conv2d_layer l;
    ck_assert_int_eq(tg_conv2d_layer_init(NULL, p, "c", 1, 1, 1, 1, NULL), TG_ERR_NULL);
    ck_assert_int_eq(tg_conv2d_layer_init(&l, NULL, "c", 1, 1, 1, 1, NULL), TG_ERR_NULL);
    ck_assert_int_eq(tg_conv2d_layer_init(&l, p, NULL, 1, 1, 1, 1, NULL), TG_ERR_NULL);
    ck_assert_int_eq(tg_conv2d_layer_init(&l, p, "c", 0, 1, 1, 1, NULL), TG_ERR_ARG);
    ck_assert_int_eq(tg_conv2d_layer_init(&l, p, "c", 1, 1, 1, 0, NULL), TG_ERR_ARG);
    ck_assert_int_eq(tg_conv2d_layer_init(&l, p, "", 1, 1, 1, 1, NULL), TG_ERR_ARG);
    const tg_conv2d_layer_opts neg = {.conv = {.padding = {-1, 0}}};
    ck_assert_int_eq(tg_conv2d_layer_init(&l, p, "c", 1, 1, 1, 1, &neg), TG_ERR_ARG);
    const tg_conv2d_layer_opts grp = {.conv = {.groups = 3}};
    ck_assert_int_eq(tg_conv2d_layer_init(&l, p, "c", 4, 6, 1, 1, &grp), TG_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(tg_last_error(), "groups 3"));
    ck_assert_ptr_null(l.weight); /* zeroed on failure */
    ck_assert_int_eq(tg_params_count(p), 0);
    /* a clash on the bias name leaves the store as it was */
    ck_assert_ptr_nonnull(tg_params_add(p, "c.bias", 1, (int[]){2}));
    ck_assert_int_eq(tg_conv2d_layer_init(&l, p, "c", 1, 2, 3, 3, NULL), TG_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(tg_last_error(), "'c.bias' already"));
    ck_assert_int_eq(tg_params_count(p), 1);

    /* forward: a wrong channel count names the layer; NULL in, NULL out */
    ck_assert_int_eq(tg_conv2d_layer_init(&l, p, "conv1", 1, 2, 3, 3, NULL), TG_OK);
    ck_assert_ptr_null(tg_conv2d_layer_forward(g, &l, randn(4, (int[]){2, 3, 5, 5})));
    ck_assert_ptr_nonnull(strstr(tg_graph_error(g), "conv2d layer 'conv1'"));
    ck_assert_ptr_nonnull(strstr(tg_graph_error(g), "[2,3,5,5]"));
    tg_graph_reset(g);
    ck_assert_ptr_null(tg_conv2d_layer_forward(g, &l, randn(3, (int[]){1, 5, 5})));
    tg_graph_reset(g);
    ck_assert_ptr_null(tg_conv2d_layer_forward(g, &l, NULL));
    ck_assert_ptr_null(tg_conv2d_layer_forward(g, NULL, randn(4, (int[]){2, 1, 5, 5})));
    ck_assert_int_eq(tg_graph_status(g), TG_ERR_NULL);
}
END_TEST

/* ---- batch norm ------------------------------------------------------------------------------ */

START_TEST(batch_norm_names_counts_and_init) {
    tg_batch_norm_layer l;
    ck_assert_int_eq(tg_batch_norm_layer_init(&l, p, "bn", 5, NULL), TG_OK);
    ck_assert_int_eq(tg_params_count(p), 4);
    ck_assert_int_eq(tg_params_numel(p), 20);
    /* PyTorch's state_dict order */
    ck_assert_str_eq(tg_params_name(p, 0), "bn.weight");
    ck_assert_str_eq(tg_params_name(p, 1), "bn.bias");
    ck_assert_str_eq(tg_params_name(p, 2), "bn.running_mean");
    ck_assert_str_eq(tg_params_name(p, 3), "bn.running_var");
    ck_assert_ptr_eq(l.running_var, tg_params_get(p, "bn.running_var"));
    ck_assert(all_equal(l.weight, 1) && all_equal(l.bias, 0));
    ck_assert(all_equal(l.running_mean, 0) && all_equal(l.running_var, 1));
    ck_assert(tg_requires_grad(l.weight) && tg_requires_grad(l.bias));
    ck_assert(!tg_requires_grad(l.running_mean) && !tg_requires_grad(l.running_var));
    ck_assert_double_eq(l.momentum, 0.1);
    ck_assert_double_eq(l.eps, 1e-5);

    tg_batch_norm_layer n;
    const tg_batch_norm_opts o = {.momentum = 0.5, .eps = 1e-3, .no_affine = true};
    ck_assert_int_eq(tg_batch_norm_layer_init(&n, p, "plain", 3, &o), TG_OK);
    ck_assert_ptr_null(n.weight);
    ck_assert_ptr_null(n.bias);
    ck_assert_ptr_null(tg_params_get(p, "plain.weight"));
    ck_assert_ptr_nonnull(tg_params_get(p, "plain.running_mean"));
    ck_assert_int_eq(tg_params_count(p), 6);
    ck_assert_double_eq(n.momentum, 0.5);
    ck_assert_double_eq(n.eps, 1e-3);
}
END_TEST

/* Training mode: batch statistics normalise and the running ones move (unbiased
 * variance, momentum 0.1); evaluation mode: the running ones normalise and nothing
 * moves. Checked against sums written out here. */
START_TEST(batch_norm_running_stats_train_and_eval) {
    tg_batch_norm_layer l;
    ck_assert_int_eq(tg_batch_norm_layer_init(&l, p, "bn", 2, NULL), TG_OK);
    tg_data(l.weight)[1] = 2;
    tg_data(l.bias)[1] = -1;
    enum { N = 3, HW = 4 };
    tg_tensor *x = tg_randn(g, 4, (int[]){N, 2, 2, 2}, 1, 2);
    double mean[2] = {0}, var[2] = {0};
    for (int c = 0; c < 2; c++) {
        for (int n = 0; n < N; n++)
            for (int i = 0; i < HW; i++) mean[c] += tg_data(x)[(n * 2 + c) * HW + i];
        mean[c] /= N * HW;
        for (int n = 0; n < N; n++)
            for (int i = 0; i < HW; i++) {
                double d = tg_data(x)[(n * 2 + c) * HW + i] - mean[c];
                var[c] += d * d;
            }
        var[c] /= N * HW; /* biased */
    }
    ck_assert(tg_graph_training(g));
    tg_tensor *y = tg_batch_norm_layer_forward(g, &l, x);
    ck_assert_ptr_nonnull(y);
    for (int c = 0; c < 2; c++) {
        const double unbiased = var[c] * (N * HW) / (N * HW - 1);
        ck_assert_double_eq_tol(tg_data(l.running_mean)[c], 0.1 * mean[c], TOL);
        ck_assert_double_eq_tol(tg_data(l.running_var)[c], 0.9 + 0.1 * unbiased, TOL);
        const double gam = c ? 2 : 1, bet = c ? -1 : 0;
        const double want = (tg_data(x)[c * HW] - mean[c]) / sqrt(var[c] + 1e-5) * gam + bet;
        ck_assert_double_eq_tol(tg_data(y)[c * HW], want, 10 * TOL);
    }

    /* evaluation mode: normalised by the running statistics, which stay put */
    tg_real rm[2], rv[2];
    memcpy(rm, tg_data(l.running_mean), sizeof rm);
    memcpy(rv, tg_data(l.running_var), sizeof rv);
    tg_graph_set_training(g, false);
    tg_tensor *e = tg_batch_norm_layer_forward(g, &l, x);
    ck_assert_ptr_nonnull(e);
    ck_assert(memcmp(rm, tg_data(l.running_mean), sizeof rm) == 0);
    ck_assert(memcmp(rv, tg_data(l.running_var), sizeof rv) == 0);
    for (int n = 0; n < N; n++)
        for (int c = 0; c < 2; c++) {
            const int k = (n * 2 + c) * HW + 3;
            const double want =
                (tg_data(x)[k] - rm[c]) / sqrt(rv[c] + 1e-5) * (c ? 2 : 1) + (c ? -1 : 0);
            ck_assert_double_eq_tol(tg_data(e)[k], want, 10 * TOL);
        }

    /* a second training step moves them again, also with gradients off */
    tg_graph_set_training(g, true);
    tg_graph_set_grad_enabled(g, false);
    ck_assert_ptr_nonnull(tg_batch_norm_layer_forward(g, &l, x));
    ck_assert_double_eq_tol(tg_data(l.running_mean)[0], 0.9 * rm[0] + 0.1 * mean[0], TOL);
    tg_graph_set_grad_enabled(g, true);
}
END_TEST

/* Running statistics are frozen parameters: an optimizer step (Adam with L2 weight
 * decay, which would move any parameter it touched) changes gamma and beta, never them. */
START_TEST(batch_norm_stats_frozen_under_adam) {
    tg_batch_norm_layer l;
    ck_assert_int_eq(tg_batch_norm_layer_init(&l, p, "bn", 3, NULL), TG_OK);
    tg_adam_opts ao = tg_adam_defaults(0.1);
    ao.weight_decay = 0.5;
    tg_optim *opt = tg_adam_new(p, &ao);
    ck_assert_ptr_nonnull(opt);
    tg_tensor *x = tg_randn(g, 2, (int[]){8, 3}, 2, 3);
    tg_tensor *y = tg_batch_norm_layer_forward(g, &l, x);
    tg_tensor *loss = tg_sum(g, tg_mul(g, y, randn(2, (int[]){8, 3})), TG_ALL, false);
    ck_assert_int_eq(tg_backward(g, loss), 0);
    tg_real rm[3], rv[3];
    memcpy(rm, tg_data(l.running_mean), sizeof rm);
    memcpy(rv, tg_data(l.running_var), sizeof rv);
    ck_assert(!all_equal(l.running_mean, 0)); /* the forward moved them */
    ck_assert_int_eq(tg_optim_step(opt), TG_OK);
    ck_assert(memcmp(rm, tg_data(l.running_mean), sizeof rm) == 0);
    ck_assert(memcmp(rv, tg_data(l.running_var), sizeof rv) == 0);
    ck_assert(!all_equal(l.weight, 1));
    ck_assert(!all_equal(l.bias, 0));
    /* clipping leaves them alone too */
    ck_assert(tg_clip_grad_norm(p, 1e-3) >= 0);
    ck_assert(memcmp(rm, tg_data(l.running_mean), sizeof rm) == 0);
    tg_optim_free(opt);
}
END_TEST

/* Saving and loading the store carries the running statistics: a fresh model loaded
 * from the file evaluates exactly like the trained one. */
START_TEST(batch_norm_save_load_round_trip) {
    char dir[256], path[300];
    const char *t = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/tgcnn-XXXXXX", t && *t ? t : "/tmp");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/model.ckpt", dir);

    tg_conv2d_layer c;
    tg_batch_norm_layer bn;
    ck_assert_int_eq(tg_conv2d_layer_init(&c, p, "conv", 2, 3, 3, 3, NULL), TG_OK);
    ck_assert_int_eq(tg_batch_norm_layer_init(&bn, p, "bn", 3, NULL), TG_OK);
    tg_tensor *x = tg_randn(g, 4, (int[]){4, 2, 5, 5}, 0.5, 2);
    for (int i = 0; i < 3; i++)
        ck_assert_ptr_nonnull(
            tg_batch_norm_layer_forward(g, &bn, tg_conv2d_layer_forward(g, &c, x)));
    ck_assert_int_eq(tg_params_save(p, path), TG_OK);
    tg_graph_set_training(g, false);
    tg_tensor *want = tg_batch_norm_layer_forward(g, &bn, tg_conv2d_layer_forward(g, &c, x));

    tg_params *q = tg_params_new();
    tg_params_seed(q, 99); /* other initial weights */
    tg_conv2d_layer c2;
    tg_batch_norm_layer bn2;
    ck_assert_int_eq(tg_conv2d_layer_init(&c2, q, "conv", 2, 3, 3, 3, NULL), TG_OK);
    ck_assert_int_eq(tg_batch_norm_layer_init(&bn2, q, "bn", 3, NULL), TG_OK);
    ck_assert(all_equal(bn2.running_mean, 0));
    ck_assert_int_eq(tg_params_load(q, path), TG_OK);
    ck_assert_double_eq(max_diff(bn2.running_mean, bn.running_mean), 0);
    ck_assert_double_eq(max_diff(bn2.running_var, bn.running_var), 0);
    ck_assert(!tg_requires_grad(bn2.running_var)); /* still frozen after a load */
    tg_tensor *got = tg_batch_norm_layer_forward(g, &bn2, tg_conv2d_layer_forward(g, &c2, x));
    ck_assert_double_eq(max_diff(got, want), 0);

    /* a store without the statistics does not load a file that has them */
    tg_params *r = tg_params_new();
    tg_conv2d_layer c3;
    ck_assert_int_eq(tg_conv2d_layer_init(&c3, r, "conv", 2, 3, 3, 3, NULL), TG_OK);
    ck_assert_ptr_nonnull(tg_params_add(r, "bn.weight", 1, (int[]){3}));
    ck_assert_ptr_nonnull(tg_params_add(r, "bn.bias", 1, (int[]){3}));
    ck_assert_int_eq(tg_params_load(r, path), TG_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(tg_last_error(), "running_"));
    tg_params_free(r);
    tg_params_free(q);
    ck_assert_int_eq(unlink(path), 0);
    ck_assert_int_eq(rmdir(dir), 0);
}
END_TEST

START_TEST(batch_norm_modes_and_errors) {
    tg_batch_norm_layer l;
    ck_assert_int_eq(tg_batch_norm_layer_init(&l, p, "bn", 0, NULL), TG_ERR_ARG);
    ck_assert_int_eq(tg_batch_norm_layer_init(&l, p, "bn", 2, &(tg_batch_norm_opts){.momentum = 2}),
                     TG_ERR_ARG);
    ck_assert_int_eq(tg_batch_norm_layer_init(&l, p, "bn", 2, &(tg_batch_norm_opts){.eps = -1}),
                     TG_ERR_ARG);
    ck_assert_int_eq(tg_batch_norm_layer_init(&l, p, "bn", 2, &(tg_batch_norm_opts){.eps = NAN}),
                     TG_ERR_ARG);
    ck_assert_ptr_nonnull(tg_params_add(p, "bn.running_var", 1, (int[]){2}));
    ck_assert_int_eq(tg_batch_norm_layer_init(&l, p, "bn", 2, NULL), TG_ERR_ARG);
    ck_assert_int_eq(tg_params_count(p), 1); /* nothing added */
    ck_assert_int_eq(tg_batch_norm_layer_init(&l, p, "bn1", 2, NULL), TG_OK);

    /* [N, C] and [N, C, L] work; a wrong channel count names the layer */
    expect_shape(tg_batch_norm_layer_forward(g, &l, randn(2, (int[]){4, 2})), 2, (int[]){4, 2});
    expect_shape(tg_batch_norm_layer_forward(g, &l, randn(3, (int[]){4, 2, 3})), 3,
                 (int[]){4, 2, 3});
    ck_assert_ptr_null(tg_batch_norm_layer_forward(g, &l, randn(3, (int[]){4, 3, 3})));
    ck_assert_ptr_nonnull(strstr(tg_graph_error(g), "batch norm layer 'bn1'"));
    tg_graph_reset(g);
    ck_assert_ptr_null(tg_batch_norm_layer_forward(g, &l, randn(1, (int[]){2})));
    tg_graph_reset(g);

    /* a copy without running statistics: batch statistics only, training mode only */
    tg_batch_norm_layer stateless = l;
    stateless.running_mean = stateless.running_var = NULL;
    tg_tensor *x = randn(2, (int[]){5, 2});
    tg_tensor *a = tg_batch_norm_layer_forward(g, &stateless, x);
    tg_tensor *b = tg_batch_norm_layer_forward(g, &l, x);
    ck_assert_double_eq(max_diff(a, b), 0);
    tg_graph_set_training(g, false);
    ck_assert_ptr_null(tg_batch_norm_layer_forward(g, &stateless, x));
    ck_assert_int_eq(tg_graph_status(g), TG_ERR_ARG);
}
END_TEST

/* ---- layer norm, embedding, pooling ---------------------------------------------------------- */

START_TEST(layer_norm_layer) {
    tg_layer_norm_layer l;
    ck_assert_int_eq(tg_layer_norm_layer_init(&l, p, "ln", 2, (int[]){3, 4}, NULL), TG_OK);
    ck_assert_int_eq(tg_params_count(p), 2);
    expect_shape(tg_params_get(p, "ln.weight"), 2, (int[]){3, 4});
    expect_shape(l.bias, 2, (int[]){3, 4});
    ck_assert(all_equal(l.weight, 1) && all_equal(l.bias, 0));
    ck_assert_double_eq(l.eps, 1e-5);
    tg_init_tensor(l.weight, TG_INIT_UNIFORM, 0.5, 1.5, tg_params_rng(p));
    tg_tensor *x = randn(3, (int[]){2, 3, 4});
    tg_tensor *y = tg_layer_norm_layer_forward(g, &l, x);
    ck_assert_double_eq(max_diff(y, tg_layer_norm(g, x, 2, l.weight, l.bias, (tg_real)1e-5)), 0);
    /* the same in evaluation mode */
    tg_graph_set_training(g, false);
    ck_assert_double_eq(max_diff(y, tg_layer_norm_layer_forward(g, &l, x)), 0);

    tg_layer_norm_layer n;
    const tg_layer_norm_opts o = {.eps = 1e-3, .no_affine = true};
    ck_assert_int_eq(tg_layer_norm_layer_init(&n, p, "plain", 1, (int[]){4}, &o), TG_OK);
    ck_assert_int_eq(tg_params_count(p), 2);
    ck_assert_ptr_null(n.weight);
    expect_shape(tg_layer_norm_layer_forward(g, &n, x), 3, (int[]){2, 3, 4});

    ck_assert_int_eq(tg_layer_norm_layer_init(&n, p, "x", 0, (int[]){4}, NULL), TG_ERR_ARG);
    ck_assert_int_eq(tg_layer_norm_layer_init(&n, p, "x", 1, (int[]){0}, NULL), TG_ERR_ARG);
    ck_assert_int_eq(tg_layer_norm_layer_init(&n, p, "x", 1, NULL, NULL), TG_ERR_NULL);
    ck_assert_int_eq(tg_layer_norm_layer_init(&n, p, "ln", 1, (int[]){4}, NULL), TG_ERR_ARG);
    ck_assert_ptr_null(tg_layer_norm_layer_forward(g, &l, randn(2, (int[]){4, 3})));
    ck_assert_ptr_nonnull(strstr(tg_graph_error(g), "layer norm layer 'ln'"));
    ck_assert_ptr_nonnull(strstr(tg_graph_error(g), "[3,4]"));
}
END_TEST

START_TEST(embedding_layer_lookup) {
    tg_embedding_layer l;
    ck_assert_int_eq(tg_embedding_layer_init(&l, p, "emb", 50, 40), TG_OK);
    ck_assert_ptr_eq(l.weight, tg_params_get(p, "emb.weight"));
    expect_shape(l.weight, 2, (int[]){50, 40});
    /* N(0, 1): 2000 draws */
    double s = 0, s2 = 0;
    for (int64_t i = 0; i < tg_numel(l.weight); i++) {
        s += tg_data(l.weight)[i];
        s2 += tg_data(l.weight)[i] * tg_data(l.weight)[i];
    }
    const double mean = s / 2000, var = s2 / 2000 - mean * mean;
    ck_assert_double_lt(fabs(mean), 0.1);
    ck_assert_double_gt(var, 0.85);
    ck_assert_double_lt(var, 1.15);

    const int32_t idx[6] = {3, 0, 49, 3, 7, 1};
    tg_tensor *y = tg_embedding_layer_forward(g, &l, idx, 2, (int[]){2, 3});
    expect_shape(y, 3, (int[]){2, 3, 40});
    for (int i = 0; i < 6; i++)
        ck_assert(memcmp(tg_data(y) + i * 40, tg_data(l.weight) + idx[i] * 40,
                         40 * sizeof(tg_real)) == 0);
    /* gradients reach the rows used, twice for a repeated index */
    ck_assert_int_eq(tg_backward(g, tg_sum(g, y, TG_ALL, false)), 0);
    ck_assert(tg_grad(l.weight)[3 * 40] == 2 && tg_grad(l.weight)[0] == 1);
    ck_assert(tg_grad(l.weight)[2 * 40] == 0);

    tg_graph_reset(g);
    ck_assert_ptr_null(tg_embedding_layer_forward(g, &l, (int32_t[]){50}, 1, (int[]){1}));
    ck_assert_int_eq(tg_graph_status(g), TG_ERR_ARG);
    tg_graph_reset(g);
    ck_assert_ptr_null(tg_embedding_layer_forward(g, NULL, idx, 1, (int[]){6}));
    ck_assert_int_eq(tg_graph_status(g), TG_ERR_NULL);
    ck_assert_ptr_null(tg_embedding_layer_forward(NULL, &l, idx, 1, (int[]){6}));
    ck_assert_int_eq(tg_embedding_layer_init(&l, p, "e", 0, 3), TG_ERR_ARG);
    ck_assert_int_eq(tg_embedding_layer_init(&l, p, "emb", 5, 3), TG_ERR_ARG);
    ck_assert_int_eq(tg_params_count(p), 1);
}
END_TEST

START_TEST(pool_layers_are_the_ops) {
    tg_tensor *x = randn(4, (int[]){2, 3, 6, 6});
    const tg_pool2d_layer mx = {TG_POOL_MAX, {.kernel = {2, 2}}};
    const tg_pool2d_layer av = {TG_POOL_AVG,
                                {.kernel = {3, 3}, .stride = {1, 1}, .padding = {1, 1}}};
    const tg_pool2d_layer gap = {.kind = TG_POOL_GLOBAL_AVG};
    tg_tensor *y = tg_pool2d_layer_forward(g, &mx, x);
    expect_shape(y, 4, (int[]){2, 3, 3, 3});
    ck_assert_double_eq(max_diff(y, tg_max_pool2d(g, x, &mx.opts)), 0);
    ck_assert_double_eq(max_diff(tg_pool2d_layer_forward(g, &av, x), tg_avg_pool2d(g, x, &av.opts)),
                        0);
    y = tg_pool2d_layer_forward(g, &gap, x);
    expect_shape(y, 2, (int[]){2, 3});
    ck_assert_double_eq(max_diff(y, tg_global_avg_pool2d(g, x)), 0);
    ck_assert_ptr_null(tg_pool2d_layer_forward(g, &(tg_pool2d_layer){.kind = TG_POOL_COUNT}, x));
    ck_assert_int_eq(tg_graph_status(g), TG_ERR_ARG);
}
END_TEST

/* ---- sequential, gradients, allocation --------------------------------------------------------
 */

typedef struct small_cnn {
    tg_conv2d_layer conv;
    tg_batch_norm_layer bn;
    tg_pool2d_layer pool;
    tg_layer_norm_layer ln;
    tg_linear_layer fc;
} small_cnn;

static void small_cnn_init(small_cnn *m) {
    const tg_conv2d_layer_opts same = {.conv = {.padding = {1, 1}}};
    ck_assert_int_eq(tg_conv2d_layer_init(&m->conv, p, "conv", 1, 4, 3, 3, &same), TG_OK);
    ck_assert_int_eq(tg_batch_norm_layer_init(&m->bn, p, "bn", 4, NULL), TG_OK);
    m->pool = (tg_pool2d_layer){TG_POOL_MAX, {.kernel = {2, 2}}};
    ck_assert_int_eq(tg_layer_norm_layer_init(&m->ln, p, "ln", 1, (int[]){36}, NULL), TG_OK);
    ck_assert_int_eq(tg_linear_layer_init(&m->fc, p, "fc", 36, 3, NULL), TG_OK);
}

static tg_tensor *user_fn(tg_graph *gg, void *layer, tg_tensor *x) {
    (void)gg, (void)layer;
    return x;
}

static tg_sequential *small_cnn_seq(small_cnn *m) {
    tg_sequential *s = tg_sequential_new();
    ck_assert_int_eq(tg_sequential_add_conv2d(s, &m->conv), TG_OK);
    ck_assert_int_eq(tg_sequential_add_batch_norm(s, &m->bn), TG_OK);
    ck_assert_int_eq(tg_sequential_add_activation(s, TG_ACT_RELU), TG_OK);
    ck_assert_int_eq(tg_sequential_add_pool2d(s, &m->pool), TG_OK);
    ck_assert_int_eq(tg_sequential_add_flatten(s), TG_OK);
    ck_assert_int_eq(tg_sequential_add_layer_norm(s, &m->ln), TG_OK);
    ck_assert_int_eq(tg_sequential_add_linear(s, &m->fc), TG_OK);
    return s;
}

START_TEST(sequential_entries) {
    small_cnn m;
    small_cnn_init(&m);
    tg_sequential *s = small_cnn_seq(&m);
    ck_assert_int_eq(tg_sequential_len(s), 7);
    ck_assert_str_eq(tg_sequential_name(s, 0), "conv2d 1 -> 4, 3x3 (conv)");
    ck_assert_str_eq(tg_sequential_name(s, 1), "batch norm 4 (bn)");
    ck_assert_str_eq(tg_sequential_name(s, 3), "max_pool2d 2x2");
    ck_assert_str_eq(tg_sequential_name(s, 5), "layer norm [36] (ln)");
    tg_tensor *x = randn(4, (int[]){3, 1, 6, 6});
    tg_tensor *y = tg_sequential_forward(g, s, x);
    expect_shape(y, 2, (int[]){3, 3});
    /* the same by hand (batch norm in training mode moves its statistics: compare in
     * evaluation mode, where nothing moves) */
    tg_graph_set_training(g, false);
    y = tg_sequential_forward(g, s, x);
    tg_tensor *h =
        tg_relu(g, tg_batch_norm_layer_forward(g, &m.bn, tg_conv2d_layer_forward(g, &m.conv, x)));
    h = tg_flatten(g, tg_pool2d_layer_forward(g, &m.pool, h));
    h = tg_linear_layer_forward(g, &m.fc, tg_layer_norm_layer_forward(g, &m.ln, h));
    ck_assert_double_eq(max_diff(y, h), 0);

    ck_assert_int_eq(tg_sequential_add_conv2d(s, NULL), TG_ERR_NULL);
    ck_assert_int_eq(tg_sequential_add_conv2d(NULL, &m.conv), TG_ERR_NULL);
    ck_assert_int_eq(tg_sequential_add_conv2d(s, &(tg_conv2d_layer){0}), TG_ERR_NULL);
    ck_assert_int_eq(tg_sequential_add_batch_norm(s, &(tg_batch_norm_layer){0}), TG_ERR_NULL);
    ck_assert_int_eq(tg_sequential_add_layer_norm(s, &(tg_layer_norm_layer){0}), TG_ERR_NULL);
    ck_assert_int_eq(tg_sequential_add_pool2d(s, &(tg_pool2d_layer){.kind = TG_POOL_COUNT}),
                     TG_ERR_ARG);
    ck_assert_int_eq(tg_sequential_len(s), 7);
    tg_sequential_free(s);
}
END_TEST

/* The summary counts every library layer's parameters (weights and biases; batch
 * norm's running statistics are not parameters), line by line and in the total, which
 * is then the store's trainable elements. */
START_TEST(sequential_print_counts_every_layer) {
    small_cnn m;
    small_cnn_init(&m);
    tg_sequential *s = small_cnn_seq(&m);
    FILE *f = tmpfile();
    ck_assert_int_eq(tg_sequential_print(s, f), TG_OK);
    char text[2048] = "", want[2048] = "";
    rewind(f);
    text[fread(text, 1, sizeof text - 1, f)] = '\0';
    fclose(f);
    static const char *const lines[8] = {
        "conv2d 1 -> 4, 3x3 (conv)", "batch norm 4 (bn)",   "relu", "max_pool2d 2x2", "flatten",
        "layer norm [36] (ln)",      "linear 36 -> 3 (fc)", "total"};
    static const long long counts[8] = {4 * 9 + 4, 4 + 4, -1, -1, -1, 36 + 36, 36 * 3 + 3, 231};
    int n = 0;
    for (int i = 0; i < 8; i++) {
        char head[8] = "     ";
        if (i < 7) snprintf(head, sizeof head, "%3d  ", i);
        if (counts[i] < 0)
            n += snprintf(want + n, sizeof want - (size_t)n, "%s%s\n", head, lines[i]);
        else
            n += snprintf(want + n, sizeof want - (size_t)n, "%s%-40s %10lld parameters\n", head,
                          lines[i], counts[i]);
    }
    ck_assert_str_eq(text, want);
    int64_t trainable = 0;
    for (int i = 0; i < tg_params_count(p); i++)
        if (tg_requires_grad(tg_params_at(p, i))) trainable += tg_numel(tg_params_at(p, i));
    ck_assert_int_eq(trainable, 231);
    ck_assert_int_eq(tg_params_numel(p), 231 + 8); /* and the running statistics */

    /* a layer norm without weights has none; a user layer makes the total partial */
    tg_layer_norm_layer bare;
    ck_assert_int_eq(tg_layer_norm_layer_init(&bare, p, "bare", 1, (int[]){3},
                                              &(tg_layer_norm_opts){.no_affine = true}),
                     TG_OK);
    ck_assert_int_eq(tg_sequential_add_layer_norm(s, &bare), TG_OK);
    ck_assert_int_eq(tg_sequential_add(s, "mine", user_fn, NULL), TG_OK);
    f = tmpfile();
    ck_assert_int_eq(tg_sequential_print(s, f), TG_OK);
    rewind(f);
    text[fread(text, 1, sizeof text - 1, f)] = '\0';
    fclose(f);
    ck_assert_ptr_nonnull(strstr(text, "  7  layer norm [3] (no affine)"));
    ck_assert_ptr_nonnull(strstr(text, "                0 parameters\n  8  mine\n"));
    ck_assert_ptr_nonnull(strstr(text, "total, not counting user layers          "
                                       "       231 parameters\n"));
    tg_sequential_free(s);
}
END_TEST

/* Gradients through conv, batch norm (training mode, batch statistics), pooling and
 * layer norm agree with central differences. */
enum { GX, GW, GB, GGAM, GBET, GN };

static tg_tensor *block_fn(tg_graph *gg, tg_tensor *const *in, int n, void *user) {
    (void)n;
    const tg_conv2d_layer c = {in[GW], in[GB], 2, 3, {3, 3}, {.padding = {1, 1}}};
    const tg_batch_norm_layer bn = {
        .weight = in[GGAM], .bias = in[GBET], .features = 3, .momentum = 0.1, .eps = 1e-5};
    const tg_pool2d_layer pool = {TG_POOL_AVG, {.kernel = {2, 2}}};
    tg_tensor *h = tg_batch_norm_layer_forward(gg, &bn, tg_conv2d_layer_forward(gg, &c, in[GX]));
    h = tg_tanh(gg, tg_pool2d_layer_forward(gg, &pool, h));
    tg_tensor *r = tg_tensor_wrap(gg, tg_ndim(h), tg_shape(h), user);
    return tg_sum(gg, tg_mul(gg, h, r), TG_ALL, false);
}

START_TEST(layers_gradcheck) {
    static const int shapes[GN][4] = {{2, 2, 4, 4}, {3, 2, 3, 3}, {3}, {3}, {3}};
    static const int nd[GN] = {4, 4, 1, 1, 1};
    tg_gradcheck_input in[GN];
    for (int i = 0; i < GN; i++)
        in[i] = (tg_gradcheck_input){nd[i], shapes[i],
                                     tg_data(tg_randn(g, nd[i], shapes[i], 0.5, 1)), true};
    tg_tensor *r = randn(4, (int[]){2, 3, 2, 2});
    tg_gradcheck_report rep;
    ck_assert_int_eq(tg_gradcheck(block_fn, GN, in, tg_data(r), NULL, &rep), TG_OK);
    ck_assert(rep.passed);
}
END_TEST

/* A steady-state training step through these layers makes no heap allocation. */
START_TEST(forward_allocates_nothing) {
    small_cnn m;
    small_cnn_init(&m);
    tg_sequential *s = small_cnn_seq(&m);
    tg_embedding_layer e;
    ck_assert_int_eq(tg_embedding_layer_init(&e, p, "emb", 10, 3), TG_OK);
    uint64_t before = 0;
    for (int step = 0; step < 3; step++) {
        if (step == 2) before = tg_alloc_count();
        tg_graph_reset(g);
        tg_tensor *y = tg_sequential_forward(g, s, randn(4, (int[]){4, 1, 6, 6}));
        tg_tensor *z = tg_embedding_layer_forward(g, &e, (int32_t[]){1, 2, 3, 4}, 1, (int[]){4});
        ck_assert_int_eq(tg_backward(g, tg_sum(g, tg_mul(g, y, z), TG_ALL, false)), 0);
        tg_params_zero_grad(p);
    }
    ck_assert_uint_eq(tg_alloc_count(), before);
    tg_sequential_free(s);
}
END_TEST

static Suite *cnn_suite(void) {
    Suite *s = suite_create("cnn_layers");
    TCase *t = tcase_create("layers");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_add_test(t, conv2d_shapes_names_and_torch_init);
    tcase_add_test(t, conv2d_forward_is_the_op);
    tcase_add_test(t, conv2d_errors);
    tcase_add_test(t, batch_norm_names_counts_and_init);
    tcase_add_test(t, batch_norm_running_stats_train_and_eval);
    tcase_add_test(t, batch_norm_stats_frozen_under_adam);
    tcase_add_test(t, batch_norm_save_load_round_trip);
    tcase_add_test(t, batch_norm_modes_and_errors);
    tcase_add_test(t, layer_norm_layer);
    tcase_add_test(t, embedding_layer_lookup);
    tcase_add_test(t, pool_layers_are_the_ops);
    tcase_add_test(t, sequential_entries);
    tcase_add_test(t, sequential_print_counts_every_layer);
    tcase_add_test(t, layers_gradcheck);
    tcase_add_test(t, forward_allocates_nothing);
    suite_add_tcase(s, t);
    return s;
}

int main(void) {
    return tg_test_run(cnn_suite());
}
