/* An outside program for tests/install/run.sh: built with nothing but
 * `cc prog.c $(pkg-config --cflags --libs tapegrad)` against an installed tapegrad. */
#include <stdio.h>
#include <tapegrad.h>

int main(void) {
    tg_graph *g = tg_graph_new();
    tg_tensor *x = tg_scalar(g, 3), *y = tg_scalar(g, 4);
    tg_set_requires_grad(x, true);
    tg_set_requires_grad(y, true);
    tg_tensor *f = tg_add(g, tg_mul(g, x, y), x); /* f = x*y + x */
    if (tg_backward(g, f) != 0) {
        fprintf(stderr, "prog: %s\n", tg_last_error());
        tg_graph_free(g);
        return 1;
    }
    printf("tapegrad %s %s\n", tg_version(), tg_precision());
    printf("f = %g, df/dx = %g, df/dy = %g\n", (double)tg_item(f), (double)tg_grad(x)[0],
           (double)tg_grad(y)[0]);
    tg_graph_free(g);
    return 0;
}
