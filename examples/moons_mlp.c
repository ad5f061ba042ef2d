/* moons_mlp: a small MLP separates two interleaving half circles ("two moons").
 *
 * The data is scikit-learn's make_moons(n_samples=200, noise=0.1) made in C with a
 * seeded tg_rng. The model is micrograd's demo network, 2-16-16-1 with ReLU, built with
 * tg_mlp_new; the loss is the SVM "max-margin" hinge loss on targets -1/+1
 * (tg_hinge_loss) plus a small L2 penalty (tg_l2_penalty), minimised with Adam on the
 * full batch. At the end the decision boundary is drawn as ASCII art: the plane is
 * evaluated on a grid in one batch (no-grad mode), '.' where the model says class 1,
 * blank for class 0, with the samples on top ('o' class 0, 'x' class 1; a capital
 * letter marks a misclassified one).
 *
 * Exits 0 when the training accuracy is at least 95%.
 */
#include <math.h>
#include <stdio.h>
#include <tapegrad.h>

#define N     200
#define STEPS 300
#define COLS  72
#define ROWS  26

static tg_real X[N][2], T[N]; /* points; targets -1 / +1 */
static int32_t Y[N], pred[N]; /* classes 0 / 1: true and predicted */
static const double PI = 3.14159265358979323846;

/* make_moons: the outer moon (class 0) is cos t, sin t; the inner one (class 1) is
 * 1 - cos t, 0.5 - sin t, for t evenly spaced in [0, pi]; then gaussian noise. */
static void make_moons(tg_rng *r, double noise) {
    for (int i = 0; i < N; i++) {
        const int c = i >= N / 2, k = c ? i - N / 2 : i;
        const double t = PI * k / (N / 2 - 1);
        X[i][0] = (tg_real)((c ? 1 - cos(t) : cos(t)) + noise * tg_rng_normal(r));
        X[i][1] = (tg_real)((c ? 0.5 - sin(t) : sin(t)) + noise * tg_rng_normal(r));
        Y[i] = c;
        T[i] = c ? 1 : -1;
    }
}

int main(void) {
    tg_rng r;
    tg_rng_seed(&r, 42);
    make_moons(&r, 0.1);

    tg_graph *g = tg_graph_new();
    tg_params *p = tg_params_new();
    tg_mlp *mlp = NULL;
    tg_optim *opt = NULL;
    int rc = 1;
    tg_params_seed(p, 42);
    if (g && p) mlp = tg_mlp_new(p, "mlp", 3, (int[]){2, 16, 16, 1}, TG_ACT_RELU, 0, NULL);
    tg_adam_opts ao = tg_adam_defaults(0.01);
    if (!mlp || !(opt = tg_adam_new(p, &ao))) {
        fprintf(stderr, "moons_mlp: %s\n", tg_last_error());
        goto done;
    }
    printf("two moons: %d points, MLP 2-16-16-1 (%lld parameters), hinge loss, Adam\n", N,
           (long long)tg_params_numel(p));

    double acc = 0;
    for (int step = 0; step <= STEPS; step++) {
        tg_graph_reset(g);
        tg_tensor *x = tg_tensor_wrap(g, 2, (int[]){N, 2}, &X[0][0]); /* [200,2] */
        tg_tensor *t = tg_tensor_wrap(g, 2, (int[]){N, 1}, T);        /* [200,1] */
        tg_tensor *scores = tg_mlp_forward(g, mlp, x);                /* [200,1] */
        tg_tensor *loss = tg_add(g, tg_hinge_loss(g, scores, t, TG_REDUCE_MEAN),
                                 tg_l2_penalty(g, p, (tg_real)1e-4));
        if (tg_backward(g, loss) != 0) {
            fprintf(stderr, "moons_mlp: %s\n", tg_graph_error(g));
            goto done;
        }
        acc = tg_accuracy(scores, Y); /* score > 0: class 1 */
        tg_predict(scores, pred);
        if (step % 50 == 0)
            printf("step %3d  loss %.4f  accuracy %.1f%%\n", step, (double)tg_item(loss),
                   100 * acc);
        if (step == STEPS) break;
        tg_optim_step(opt);
        tg_optim_zero_grad(opt);
    }

    /* ---- the decision boundary: every cell of the grid in one batch ------------------- */
    const double x0 = -1.5, x1 = 2.5, y0 = -1.0, y1 = 1.5;
    static tg_real grid[ROWS * COLS][2];
    for (int i = 0; i < ROWS; i++)
        for (int j = 0; j < COLS; j++) {
            grid[i * COLS + j][0] = (tg_real)(x0 + (x1 - x0) * (j + 0.5) / COLS);
            grid[i * COLS + j][1] =
                (tg_real)(y1 - (y1 - y0) * (i + 0.5) / ROWS); /* top row first */
        }
    tg_graph_reset(g);
    tg_graph_set_grad_enabled(g, false);
    tg_tensor *gs =
        tg_mlp_forward(g, mlp, tg_tensor_wrap(g, 2, (int[]){ROWS * COLS, 2}, &grid[0][0]));
    int32_t cls[ROWS * COLS];
    if (tg_predict(gs, cls) != TG_OK) {
        fprintf(stderr, "moons_mlp: %s\n", tg_graph_error(g) ? tg_graph_error(g) : tg_last_error());
        goto done;
    }
    char art[ROWS][COLS + 1];
    for (int i = 0; i < ROWS; i++) {
        for (int j = 0; j < COLS; j++) art[i][j] = cls[i * COLS + j] ? '.' : ' ';
        art[i][COLS] = '\0';
    }
    for (int n = 0; n < N; n++) { /* the samples, in their cells */
        const int j = (int)floor((X[n][0] - x0) / (x1 - x0) * COLS);
        const int i = (int)floor((y1 - X[n][1]) / (y1 - y0) * ROWS);
        if (i < 0 || i >= ROWS || j < 0 || j >= COLS) continue;
        const bool wrong = pred[n] != Y[n];
        art[i][j] = Y[n] ? (wrong ? 'X' : 'x') : (wrong ? 'O' : 'o');
    }
    printf("\ndecision boundary ('.' class 1, blank class 0; o, x: the samples)\n");
    printf("+%.*s+\n", COLS,
           "------------------------------------------------------------------------");
    for (int i = 0; i < ROWS; i++) printf("|%s|\n", art[i]);
    printf("+%.*s+\n", COLS,
           "------------------------------------------------------------------------");
    printf("accuracy: %.1f%%\n", 100 * acc);
    rc = acc >= 0.95 ? 0 : 1;
    if (rc) fprintf(stderr, "moons_mlp: accuracy below 95%%\n");
done:
    tg_optim_free(opt);
    tg_mlp_free(mlp);
    tg_params_free(p);
    tg_graph_free(g);
    return rc;
}
