/* gradcheck_custom: check the gradients of your own function with tg_gradcheck.
 *
 * The function is a small two-layer network with a loss that is not built in, the
 * Cauchy (robust) loss:
 *
 *     h    = tanh(x @ W1 + b1)              x [5,4], W1 [4,8], b1 [8]  -> h [5,8]
 *     pred = h @ W2 + b2                    W2 [8,1], b2 [1]           -> pred [5,1]
 *     loss = mean(log(1 + (pred - t)^2))    t [5,1]                    -> 0-d
 *
 * tg_gradcheck runs it many times: once for the gradients that tg_backward computes,
 * and twice per checked element for central differences, then compares them element
 * by element. The batch x and the targets t are constants (check = false); the four
 * parameters are checked.
 *
 * Prints the report; exits 0 when every element passed, 1 otherwise.
 */
#include <stdio.h>
#include <tapegrad.h>

enum { X, W1, B1, W2, B2, T, NINPUTS };

/* The function under test: inputs in the order of the enum above. It must use only
 * ops on g and compute the same function every time it is called. */
static tg_tensor *model_loss(tg_graph *g, tg_tensor *const *in, int ninputs, void *user) {
    (void)ninputs;
    (void)user;
    tg_tensor *h = tg_tanh(g, tg_add(g, tg_matmul(g, in[X], in[W1]), in[B1])); /* [5,8] */
    tg_tensor *pred = tg_add(g, tg_matmul(g, h, in[W2]), in[B2]);              /* [5,1] */
    tg_tensor *d = tg_sub(g, pred, in[T]);                                     /* [5,1] */
    tg_tensor *l = tg_log(g, tg_add(g, tg_scalar(g, 1), tg_mul(g, d, d)));     /* [5,1] */
    return tg_mean(g, l, TG_ALL, false);                                       /* 0-d */
}

int main(void) {
    static const int shapes[NINPUTS][2] = {
        [X] = {5, 4}, [W1] = {4, 8}, [B1] = {8}, [W2] = {8, 1}, [B2] = {1}, [T] = {5, 1},
    };
    static const int ndims[NINPUTS] = {[X] = 2, [W1] = 2, [B1] = 1, [W2] = 2, [B2] = 1, [T] = 2};
    static const char *const names[NINPUTS] = {"x", "W1", "b1", "W2", "b2", "t"};

    /* The point where gradients are checked: seeded random values, made in a scratch
     * graph that lives until tg_gradcheck returns (it copies them). */
    tg_graph *scratch = tg_graph_new();
    if (!scratch) {
        fprintf(stderr, "gradcheck_custom: %s\n", tg_last_error());
        return 1;
    }
    tg_seed(scratch, 7);
    tg_gradcheck_input inputs[NINPUTS];
    for (int i = 0; i < NINPUTS; i++) {
        tg_tensor *v = tg_randn(scratch, ndims[i], shapes[i], 0, 1);
        if (!v) {
            fprintf(stderr, "gradcheck_custom: %s\n", tg_graph_error(scratch));
            tg_graph_free(scratch);
            return 1;
        }
        inputs[i] = (tg_gradcheck_input){
            .ndim = ndims[i], .shape = shapes[i], .data = tg_data(v), .check = true};
    }
    inputs[X].check = false; /* data and targets are constants */
    inputs[T].check = false;

    /* NULL options: the precision's default step and tolerances. */
    tg_gradcheck_report report;
    tg_status st = tg_gradcheck(model_loss, NINPUTS, inputs, NULL, NULL, &report);
    tg_graph_free(scratch);

    printf("tapegrad %s (%s): gradient check of a 2-layer tanh net with a Cauchy loss\n",
           tg_version(), tg_precision());
    if (st != TG_OK && st != TG_ERR_NUMERIC) { /* the function itself failed */
        fprintf(stderr, "gradcheck_custom: %s: %s\n", tg_status_str(st),
                tg_last_error() ? tg_last_error() : "(no message)");
        return 1;
    }
    printf("%s\n", report.message);
    printf("elements checked: %lld (kinks: %lld)\n", (long long)report.checked,
           (long long)report.kinks);
    if (report.worst_input >= 0)
        printf("largest error: %s[%lld]: analytic %.6g, numeric %.6g "
               "(abs %.3g, rel %.3g)\n",
               names[report.worst_input], (long long)report.worst_index, report.analytic,
               report.numeric, report.abs_err, report.rel_err);
    printf("%s\n", report.passed ? "PASSED" : "FAILED");
    return st == TG_OK && report.passed ? 0 : 1;
}
