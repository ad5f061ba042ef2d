/* linear_regression: fit y = 3x + 2 + noise by plain gradient descent.
 *
 * The model is pred = w*x + b and the loss the mean squared error, both written with
 * core ops (tg_mul, tg_add, tg_sub, tg_mean). Each step builds the graph again from
 * scratch and resets it afterwards; what must survive a reset (the data, and the
 * parameters w and b) lives in C variables:
 *   - the data in C arrays, wrapped without copying (tg_tensor_wrap) every step;
 *   - the parameters as two C numbers, turned into leaf tensors (tg_scalar) that
 *     require gradients every step, and updated in C: w -= lr * dloss/dw.
 * At the end the fit is compared with the closed-form least-squares solution.
 *
 * Exits 0 when gradient descent found the least-squares line (and it is close to
 * slope 3, intercept 2), 1 otherwise.
 */
#include <math.h>
#include <stdio.h>
#include <tapegrad.h>

#define N     200 /* data points */
#define STEPS 100 /* gradient-descent steps */

static tg_real xs[N], ys[N];

static int fail(tg_graph *g, const char *where) {
    fprintf(stderr, "linear_regression: %s: %s\n", where,
            tg_graph_error(g) ? tg_graph_error(g) : tg_last_error());
    tg_graph_free(g);
    return 1;
}

int main(void) {
    tg_graph *g = tg_graph_new();
    if (!g) {
        fprintf(stderr, "linear_regression: %s\n", tg_last_error());
        return 1;
    }

    /* ---- the data: x uniform on [-1, 1), y = 3x + 2 + normal(0, 0.1) noise ----------
     * Drawn with the graph's seeded generator (the same numbers on every machine),
     * then copied into C arrays, since tensors do not outlive tg_graph_reset. */
    tg_seed(g, 42);
    const int shape[1] = {N};
    tg_tensor *x = tg_rand(g, 1, shape, -1, 1);
    tg_tensor *noise = tg_randn(g, 1, shape, 0, (tg_real)0.1);
    if (!x || !noise) return fail(g, "making the data");
    for (int i = 0; i < N; i++) {
        xs[i] = tg_data(x)[i];
        ys[i] = 3 * xs[i] + 2 + tg_data(noise)[i];
    }

    /* ---- training ------------------------------------------------------------------ */
    tg_real w = 0, b = 0;
    const tg_real lr = (tg_real)0.2;
    uint64_t allocs_before = 0;
    printf("fitting y = w*x + b to %d points by gradient descent (lr %.2f)\n", N, (double)lr);
    for (int step = 0; step <= STEPS; step++) {
        if (step == 1) allocs_before = tg_alloc_count(); /* step 0 grew the arena */
        tg_graph_reset(g); /* drop last step's tensors, keep the memory */

        tg_tensor *X = tg_tensor_wrap(g, 1, shape, xs); /* [N], no copy */
        tg_tensor *Y = tg_tensor_wrap(g, 1, shape, ys); /* [N] */
        tg_tensor *W = tg_scalar(g, w);                 /* 0-d: broadcasts against [N] */
        tg_tensor *B = tg_scalar(g, b);
        tg_set_requires_grad(W, true);
        tg_set_requires_grad(B, true);

        tg_tensor *pred = tg_add(g, tg_mul(g, W, X), B);                  /* [N] */
        tg_tensor *err = tg_sub(g, pred, Y);                              /* [N] */
        tg_tensor *loss = tg_mean(g, tg_mul(g, err, err), TG_ALL, false); /* 0-d */
        if (tg_backward(g, loss) != 0) return fail(g, "step");

        if (step % 10 == 0)
            printf("step %3d  loss %.6f  slope %.4f  intercept %.4f\n", step, (double)tg_item(loss),
                   (double)w, (double)b);
        if (step == STEPS) break; /* report the final parameters without updating */
        /* Plain gradient descent. The gradients live in the arena: read them before
         * the next reset. */
        w -= lr * tg_grad(W)[0];
        b -= lr * tg_grad(B)[0];
    }
    uint64_t allocs = tg_alloc_count() - allocs_before;

    /* ---- the closed-form answer, for comparison -------------------------------------- */
    double mx = 0, my = 0, sxy = 0, sxx = 0;
    for (int i = 0; i < N; i++) mx += xs[i], my += ys[i];
    mx /= N, my /= N;
    for (int i = 0; i < N; i++) {
        sxy += (xs[i] - mx) * (ys[i] - my);
        sxx += (xs[i] - mx) * (xs[i] - mx);
    }
    double ls_w = sxy / sxx, ls_b = my - ls_w * mx;

    printf("\ngradient descent: slope %.3f  intercept %.3f\n", (double)w, (double)b);
    printf("least squares:    slope %.3f  intercept %.3f\n", ls_w, ls_b);
    printf("true line:        slope 3.000  intercept 2.000 (plus noise)\n");
    printf("heap allocations by tapegrad in steps 1-%d: %llu\n", STEPS, (unsigned long long)allocs);
    tg_graph_free(g);

    bool ok =
        fabs(w - ls_w) < 1e-3 && fabs(b - ls_b) < 1e-3 && fabs(w - 3) < 0.1 && fabs(b - 2) < 0.1;
    if (!ok) fprintf(stderr, "linear_regression: the fit did not converge\n");
    return ok ? 0 : 1;
}
