/* logistic_regression: a linear classifier on two-class synthetic data.
 *
 * The data is made the way scikit-learn's make_classification makes it: each class is
 * a gaussian cluster around a vertex of a hypercube in the informative features, with
 * a random covariance; redundant features are random linear combinations of the
 * informative ones; the rest is noise; 1% of the labels are flipped at random.
 * Here: 1000 samples, 10 features (3 informative, 2 redundant, 5 noise), two clusters
 * per class, class_sep 1 (scikit-learn's defaults but for the feature counts). A
 * linear model cannot separate such data perfectly: clusters of one class may sit on
 * both sides of the other's. The features are left in that order, so the learned weights
 * can be read against it.
 *
 * The model is one linear layer 10 -> 1 (tg_linear_layer) giving a logit; the loss is
 * binary cross-entropy on logits (tg_bce_with_logits_loss); Adam updates the
 * parameters, full batch. Features are standardised with the training set's mean and
 * standard deviation. 750 samples train, 250 test.
 *
 * Prints the loss as it goes, the weights, and the train and test accuracy; exits 0
 * when the test accuracy is at least 75%.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <tapegrad.h>

#define N        1000
#define N_TRAIN  750
#define F        10 /* features */
#define N_INF    3  /* informative */
#define N_RED    2  /* redundant */
#define CLUSTERS 2  /* per class */
#define STEPS    300

static tg_real X[N][F], T[N]; /* features; targets 0/1 as reals for the loss */
static int32_t Y[N];          /* the same targets as class labels */

/* make_classification, two classes, CLUSTERS clusters each (cluster k is class k % 2). */
static void make_classification(tg_rng *r, double class_sep, double flip_y) {
    enum { K = 2 * CLUSTERS };
    double vertex[K][N_INF];
    for (int k = 0; k < K; k++) { /* distinct vertices of the hypercube [-sep, sep]^N_INF */
        bool again;
        do {
            for (int j = 0; j < N_INF; j++)
                vertex[k][j] = (tg_rng_u32(r) & 1) ? class_sep : -class_sep;
            again = false;
            for (int i = 0; i < k; i++) again |= !memcmp(vertex[i], vertex[k], sizeof vertex[k]);
        } while (again);
    }
    double A[K][N_INF][N_INF], B[N_INF][N_RED];
    for (int k = 0; k < K; k++) /* each cluster's covariance: x @ A, A uniform in [-1, 1) */
        for (int i = 0; i < N_INF; i++)
            for (int j = 0; j < N_INF; j++) A[k][i][j] = 2 * tg_rng_uniform(r) - 1;
    for (int i = 0; i < N_INF; i++)
        for (int j = 0; j < N_RED; j++) B[i][j] = 2 * tg_rng_uniform(r) - 1;
    for (int n = 0; n < N; n++) {
        const int k = n % K, c = k % 2;
        double z[N_INF], x[N_INF];
        for (int j = 0; j < N_INF; j++) z[j] = tg_rng_normal(r);
        for (int j = 0; j < N_INF; j++) {
            x[j] = vertex[k][j];
            for (int i = 0; i < N_INF; i++) x[j] += z[i] * A[k][i][j];
            X[n][j] = (tg_real)x[j];
        }
        for (int j = 0; j < N_RED; j++) {
            double v = 0;
            for (int i = 0; i < N_INF; i++) v += x[i] * B[i][j];
            X[n][N_INF + j] = (tg_real)v;
        }
        for (int j = N_INF + N_RED; j < F; j++) X[n][j] = (tg_real)tg_rng_normal(r);
        Y[n] = c;
        if (tg_rng_uniform(r) < flip_y) Y[n] = (int32_t)tg_rng_below(r, 2);
    }
    for (int n = N - 1; n > 0; n--) { /* shuffle the samples */
        int k = (int)tg_rng_below(r, n + 1);
        tg_real row[F];
        memcpy(row, X[n], sizeof row);
        memcpy(X[n], X[k], sizeof row);
        memcpy(X[k], row, sizeof row);
        int32_t y = Y[n];
        Y[n] = Y[k], Y[k] = y;
    }
    for (int n = 0; n < N; n++) T[n] = (tg_real)Y[n];
}

/* Standardise every feature with the training rows' mean and std. */
static void standardise(void) {
    for (int j = 0; j < F; j++) {
        double m = 0, v = 0;
        for (int n = 0; n < N_TRAIN; n++) m += X[n][j];
        m /= N_TRAIN;
        for (int n = 0; n < N_TRAIN; n++) v += (X[n][j] - m) * (X[n][j] - m);
        const double sd = sqrt(v / N_TRAIN) + 1e-12;
        for (int n = 0; n < N; n++) X[n][j] = (tg_real)((X[n][j] - m) / sd);
    }
}

int main(void) {
    tg_rng r;
    tg_rng_seed(&r, 7);
    make_classification(&r, 1.0, 0.01);
    standardise();

    tg_graph *g = tg_graph_new();
    tg_params *p = tg_params_new();
    tg_linear_layer model;
    tg_optim *opt = NULL;
    int rc = 1;
    tg_params_seed(p, 1);
    tg_adam_opts ao = tg_adam_defaults(0.05);
    if (!g || !p || tg_linear_layer_init(&model, p, "logreg", F, 1, NULL) != TG_OK ||
        !(opt = tg_adam_new(p, &ao))) {
        fprintf(stderr, "logistic_regression: %s\n", tg_last_error());
        goto done;
    }

    printf("logistic regression: %d features (%d informative, %d redundant, %d noise), "
           "%d train / %d test samples\n",
           F, N_INF, N_RED, F - N_INF - N_RED, N_TRAIN, N - N_TRAIN);
    tg_tensor *logits = NULL;
    for (int step = 0; step <= STEPS; step++) {
        tg_graph_reset(g);
        tg_tensor *x = tg_tensor_wrap(g, 2, (int[]){N_TRAIN, F}, &X[0][0]); /* [750,10] */
        tg_tensor *t = tg_tensor_wrap(g, 2, (int[]){N_TRAIN, 1}, T);        /* [750,1] */
        logits = tg_linear_layer_forward(g, &model, x);                     /* [750,1] */
        tg_tensor *loss = tg_bce_with_logits_loss(g, logits, t, TG_REDUCE_MEAN);
        if (tg_backward(g, loss) != 0) {
            fprintf(stderr, "logistic_regression: %s\n", tg_graph_error(g));
            goto done;
        }
        if (step % 50 == 0)
            printf("step %3d  loss %.4f  train accuracy %.2f%%\n", step, (double)tg_item(loss),
                   100 * tg_accuracy(logits, Y));
        if (step == STEPS) break;
        tg_optim_step(opt);
        tg_optim_zero_grad(opt);
    }
    const double train_acc = tg_accuracy(logits, Y);

    /* the test rows, in evaluation mode without a tape */
    tg_graph_reset(g);
    tg_graph_set_grad_enabled(g, false);
    tg_tensor *xt = tg_tensor_wrap(g, 2, (int[]){N - N_TRAIN, F}, &X[N_TRAIN][0]);
    const double test_acc = tg_accuracy(tg_linear_layer_forward(g, &model, xt), Y + N_TRAIN);
    if (test_acc != test_acc) {
        fprintf(stderr, "logistic_regression: %s\n", tg_last_error());
        goto done;
    }

    printf("weights (informative | redundant | noise):");
    for (int j = 0; j < F; j++)
        printf("%s %+.2f", j == N_INF || j == N_INF + N_RED ? " |" : "",
               (double)tg_data(model.weight)[j]);
    printf("\nbias %+.3f\n", (double)tg_data(model.bias)[0]);
    printf("train accuracy: %.2f%%\n", 100 * train_acc);
    printf("test accuracy: %.2f%%\n", 100 * test_acc);
    rc = test_acc >= 0.75 ? 0 : 1;
    if (rc) fprintf(stderr, "logistic_regression: test accuracy below 75%%\n");
done:
    tg_optim_free(opt);
    tg_params_free(p);
    tg_graph_free(g);
    return rc;
}
