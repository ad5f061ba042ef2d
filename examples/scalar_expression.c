/* scalar_expression: micrograd's README example, then one tanh neuron, in tapegrad.
 *
 * Every value here is a 0-d tensor (tg_scalar). Part 1 is the expression that
 * micrograd's README evaluates; micrograd, in double precision, prints
 * g = 24.7041, dg/da = 138.8338 and dg/db = 645.5773, and this program checks that
 * it gets the same numbers (to float precision). Part 2 is a single neuron,
 * o = tanh(x1*w1 + x2*w2 + b), drawn to graph.svg in the current directory. Without
 * Graphviz's dot program it says so and writes graph.dot (the DOT text) instead.
 *
 * Exits 0 on success, 1 if an op fails or a value is not the expected one.
 */
#include <math.h>
#include <stdio.h>
#include <tapegrad.h>

/* Leaves that want gradients get a name (shown in the table and in the DOT graph). */
static tg_tensor *leaf(tg_graph *g, const char *name, tg_real value) {
    tg_tensor *t = tg_scalar(g, value);
    tg_set_requires_grad(t, true);
    tg_set_name(t, name);
    return t;
}

/* Names an intermediate result and returns it, so expressions stay readable. */
static tg_tensor *named(tg_tensor *t, const char *name) {
    tg_set_name(t, name);
    return t;
}

static void row(tg_tensor *t) {
    tg_real *grad = tg_grad(t);
    printf("  %-3s value %12.4f   grad %12.4f\n", tg_name(t), (double)tg_item(t),
           grad ? (double)grad[0] : 0.0);
}

/* true when got is within a relative 1e-4 of want (float has about 7 digits, and the
 * expression subtracts large numbers). */
static bool is_close(double got, double want) {
    return fabs(got - want) <= 1e-4 * fmax(1.0, fabs(want));
}

static bool expect(const char *what, double got, double want) {
    if (is_close(got, want)) return true;
    fprintf(stderr, "scalar_expression: %s is %.6f, expected %.6f\n", what, got, want);
    return false;
}

int main(void) {
    tg_graph *g = tg_graph_new();
    if (!g) {
        fprintf(stderr, "scalar_expression: %s\n", tg_last_error());
        return 1;
    }
#define K(v) tg_scalar(g, (v)) /* a constant: needs no gradient */

    /* ---- part 1: micrograd's README expression ---------------------------------
     * micrograd writes `c += c + 1`; here every op makes a new tensor, and the C
     * variable is simply pointed at it. micrograd's g is called r (g is the graph). */
    tg_tensor *a = leaf(g, "a", -4), *b = leaf(g, "b", 2);
    /* c = a + b;  d = a*b + b**3 */
    tg_tensor *c = named(tg_add(g, a, b), "c");
    tg_tensor *d = named(tg_add(g, tg_mul(g, a, b), tg_pow(g, b, 3)), "d");
    /* c += c + 1;  c += 1 + c + (-a) */
    c = named(tg_add(g, c, tg_add(g, c, K(1))), "c");
    c = named(tg_add(g, c, tg_add(g, tg_add(g, K(1), c), tg_neg(g, a))), "c");
    /* d += d * 2 + (b + a).relu();  d += 3 * d + (b - a).relu() */
    d = named(tg_add(g, d, tg_add(g, tg_mul(g, d, K(2)), tg_relu(g, tg_add(g, b, a)))), "d");
    d = named(tg_add(g, d, tg_add(g, tg_mul(g, K(3), d), tg_relu(g, tg_sub(g, b, a)))), "d");
    /* e = c - d;  f = e**2;  g = f / 2.0;  g += 10.0 / f */
    tg_tensor *e = named(tg_sub(g, c, d), "e");
    tg_tensor *f = named(tg_pow(g, e, 2), "f");
    tg_tensor *r = named(tg_div(g, f, K(2)), "r");
    r = named(tg_add(g, r, tg_div(g, K(10), f)), "r");

    /* One check covers the whole chain: an op given NULL returns NULL, and the graph
     * keeps the first error. */
    if (tg_backward(g, r) != 0) {
        fprintf(stderr, "scalar_expression: %s\n", tg_graph_error(g));
        tg_graph_free(g);
        return 1;
    }
    printf("micrograd's expression (values, and d r / d value):\n");
    tg_tensor *all[] = {a, b, c, d, e, f, r};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) row(all[i]);

    bool ok = expect("r", tg_item(r), 24.7041) && expect("dr/da", tg_grad(a)[0], 138.8338) &&
              expect("dr/db", tg_grad(b)[0], 645.5773);
    if (ok) printf("matches micrograd: r = 24.7041, dr/da = 138.8338, dr/db = 645.5773\n");

    /* ---- part 2: one neuron, o = tanh(x1*w1 + x2*w2 + b) -------------------------
     * The bias is chosen so that n = 0.8814 and o = tanh(n) = 1/sqrt(2). */
    tg_tensor *x1 = leaf(g, "x1", 2), *x2 = leaf(g, "x2", 0);
    tg_tensor *w1 = leaf(g, "w1", -3), *w2 = leaf(g, "w2", 1);
    tg_tensor *bias = leaf(g, "b", (tg_real)6.8813735870195432);
    tg_tensor *x1w1 = named(tg_mul(g, x1, w1), "x1*w1");
    tg_tensor *x2w2 = named(tg_mul(g, x2, w2), "x2*w2");
    tg_tensor *n = named(tg_add(g, tg_add(g, x1w1, x2w2), bias), "n");
    tg_tensor *o = named(tg_tanh(g, n), "o");
    if (tg_backward(g, o) != 0) {
        fprintf(stderr, "scalar_expression: %s\n", tg_graph_error(g));
        tg_graph_free(g);
        return 1;
    }
    printf("\nneuron o = tanh(x1*w1 + x2*w2 + b) (values, and d o / d value):\n");
    tg_tensor *neuron[] = {x1, w1, x2, w2, bias, n, o};
    for (size_t i = 0; i < sizeof neuron / sizeof neuron[0]; i++) row(neuron[i]);
    ok = expect("o", tg_item(o), 0.7071068) && expect("do/dx1", tg_grad(x1)[0], -1.5) &&
         expect("do/dw1", tg_grad(w1)[0], 1.0) && expect("do/dx2", tg_grad(x2)[0], 0.5) &&
         expect("do/dw2", tg_grad(w2)[0], 0.0) && ok;

    /* The neuron's graph (root o: part 1 is not drawn). */
    tg_status st = tg_dot_save(g, o, "graph.svg");
    if (st == TG_OK) {
        printf("\nwrote graph.svg (the neuron's graph)\n");
    } else if (st == TG_ERR_UNSUPPORTED) {
        printf("\nno SVG: %s\n", tg_last_error());
        st = tg_dot_save(g, o, "graph.dot");
        if (st == TG_OK)
            printf("wrote graph.dot instead (render it: dot -Tsvg graph.dot -o graph.svg)\n");
    }
    if (st != TG_OK) {
        fprintf(stderr, "scalar_expression: %s\n", tg_last_error());
        ok = false;
    }
#undef K
    tg_graph_free(g);
    return ok ? 0 : 1;
}
