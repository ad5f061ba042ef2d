/* tests/test_dot.c: DOT export and rendering: nodes, edges, labels and styles of a small
 * expression; statistics and their colours; root subsets against the whole tape;
 * escaping; determinism; saving .dot atomically; rendering .svg/.png/.pdf through
 * Graphviz when it is installed; a missing or failing dot program; bad arguments. */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <tapegrad.h>

#include "graph/internal.h"

#include "tg_test.h"

extern char **environ;

#define C_PARAM     "#c8e6c9"
#define C_CONST     "#e0e0e0"
#define C_NONFINITE "#ff5252"
#define C_VANISH    "#64b5f6"
#define C_EXPLODE   "#ffa726"

/* ---- helpers ---------------------------------------------------------------------- */

/* The DOT text as a malloc'd string (caller frees), asserting the write succeeded. */
static char *dot_text(tg_graph *g, const tg_tensor *root, const tg_dot_opts *opts) {
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    ck_assert_ptr_nonnull(f);
    int rc = tg_dot_write_opts(g, root, f, opts);
    ck_assert_int_eq(fclose(f), 0);
    ck_assert_msg(rc == 0, "tg_dot_write failed: %s", tg_last_error());
    return buf;
}

/* The line of text that contains needle (malloc'd), or NULL. */
static char *line_with(const char *text, const char *needle) {
    const char *p = strstr(text, needle);
    if (!p) return NULL;
    const char *b = p, *e = p;
    while (b > text && b[-1] != '\n') b--;
    while (*e && *e != '\n') e++;
    char *s = malloc((size_t)(e - b) + 1);
    memcpy(s, b, (size_t)(e - b));
    s[e - b] = '\0';
    return s;
}

static int count(const char *text, const char *needle) {
    int n = 0;
    for (const char *p = strstr(text, needle); p; p = strstr(p + 1, needle)) n++;
    return n;
}

#define ck_assert_line(text, key, want)                                                            \
    do {                                                                                           \
        char *l_ = line_with((text), (key));                                                       \
        ck_assert_msg(l_ != NULL, "no line with %s in:\n%s", (key), (text));                       \
        ck_assert_msg(strstr(l_, (want)) != NULL, "line %s lacks %s", l_, (want));                 \
        free(l_);                                                                                  \
    } while (0)

#define ck_assert_has(text, needle)                                                                \
    ck_assert_msg(strstr((text), (needle)) != NULL, "missing %s in:\n%s", (needle), (text))
#define ck_assert_lacks(text, needle)                                                              \
    ck_assert_msg(strstr((text), (needle)) == NULL, "unexpected %s in:\n%s", (needle), (text))

static bool on_path(const char *prog) {
    const char *p = getenv("PATH");
    char buf[4096];
    while (p && *p) {
        size_t len = strcspn(p, ":");
        snprintf(buf, sizeof buf, "%.*s/%s", (int)len, p, prog);
        if (len && access(buf, X_OK) == 0) return true;
        p += len;
        if (*p == ':') p++;
    }
    return false;
}

/* Whether the library was built with Graphviz support (-Dgraphviz not disabled). */
static bool built_with_graphviz(void) {
    tg_graph *g = tg_graph_new();
    tg_status st = tg_dot_save(g, NULL, "/nonexistent-tg-dir/probe.svg");
    bool left_out = st == TG_ERR_UNSUPPORTED && strstr(tg_last_error(), "left out");
    tg_graph_free(g);
    return !left_out;
}

/* Runs argv without a shell, output discarded; returns the exit status or -1. */
static int run(char *const argv[]) {
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    pid_t pid;
    int rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) return -1;
    int status;
    if (waitpid(pid, &status, 0) < 0) return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static char tmpdir[64];

static const char *make_tmpdir(void) {
    strcpy(tmpdir, "/tmp/tg_dot_test_XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
    return tmpdir;
}

/* Entries in dir, except . and .. */
static int dir_entries(const char *dir) {
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
    closedir(d);
    return n;
}

static void remove_tmpdir(void) {
    DIR *d = opendir(tmpdir);
    if (!d) return;
    char p[512];
    for (struct dirent *e; (e = readdir(d));) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        snprintf(p, sizeof p, "%s/%s", tmpdir, e->d_name);
        unlink(p);
    }
    closedir(d);
    rmdir(tmpdir);
}

static char *path_in(const char *dir, const char *name) {
    static char buf[8][512];
    static int k;
    char *p = buf[k++ % 8];
    snprintf(p, sizeof buf[0], "%s/%s", dir, name);
    return p;
}

static bool exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

/* The first n bytes of a file into buf (NUL-terminated); returns the count read. */
static size_t head(const char *path, char *buf, size_t n) {
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    size_t r = fread(buf, 1, n - 1, f);
    fclose(f);
    buf[r] = '\0';
    return r;
}

static void write_file(const char *path, const char *text, mode_t mode) {
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
    chmod(path, mode);
}

/* x (constant [2,3]) * w (parameter [2,3]) + b (parameter scalar), then exp: "out". */
typedef struct expr {
    tg_graph *g;
    tg_tensor *x, *w, *b, *out;
} expr;

static expr make_expr(void) {
    expr e;
    e.g = tg_graph_new();
    const int sh[2] = {2, 3};
    e.x = tg_tensor_from(e.g, 2, sh, (tg_real[]){1, 2, 3, 4, 5, 6});
    e.w = tg_tensor_from(e.g, 2, sh, (tg_real[]){0.1, 0.2, 0.3, -0.4, 0.5, 0.6});
    e.b = tg_scalar(e.g, 0.5);
    tg_set_name(e.x, "x");
    tg_set_name(e.w, "w");
    tg_set_name(e.b, "b");
    tg_set_requires_grad(e.w, true);
    tg_set_requires_grad(e.b, true);
    e.out = tg_exp(e.g, tg_add(e.g, tg_mul(e.g, e.x, e.w), e.b));
    tg_set_name(e.out, "out");
    ck_assert_ptr_nonnull(e.out);
    return e;
}

/* ---- the text ------------------------------------------------------------------------- */

START_TEST(small_expression_nodes_edges_and_styles) {
    expr e = make_expr();
    char *t = dot_text(e.g, e.out, NULL);
    ck_assert_msg(strncmp(t, "digraph tapegrad {\n", 19) == 0, "%s", t);
    ck_assert_msg(strcmp(t + strlen(t) - 2, "}\n") == 0, "%s", t);
    /* three ops as ellipses, named */
    ck_assert_int_eq(count(t, "shape=ellipse"), 3);
    ck_assert_line(t, "  op0 [", "label=<mul>");
    ck_assert_line(t, "  op1 [", "label=<add>");
    ck_assert_line(t, "  op2 [", "label=<exp>");
    /* leaves: a constant (grey) and parameters (green), with names and shapes */
    ck_assert_line(t, "<b>x</b>", "const [2,3]");
    ck_assert_line(t, "<b>x</b>", "fillcolor=\"" C_CONST "\"");
    ck_assert_line(t, "<b>w</b>", "param [2,3]");
    ck_assert_line(t, "<b>w</b>", "fillcolor=\"" C_PARAM "\"");
    ck_assert_line(t, "<b>b</b>", "param []");
    ck_assert_line(t, "<b>b</b>", "fillcolor=\"" C_PARAM "\"");
    /* the root is emphasised, and only it */
    ck_assert_line(t, "<b>out</b>", "penwidth=3");
    ck_assert_line(t, "  t2 [", "<b>out</b><br/>[2,3]");
    ck_assert_int_eq(count(t, "penwidth=3"), 1);
    /* edges: input order labelled for two-input ops */
    ck_assert_has(t, "  x0 -> op0 [label=\"0\"];\n");
    ck_assert_has(t, "  x1 -> op0 [label=\"1\"];\n");
    ck_assert_has(t, "  op0 -> t0;\n");
    ck_assert_has(t, "  t0 -> op1 [label=\"0\"];\n");
    ck_assert_has(t, "  x2 -> op1 [label=\"1\"];\n");
    ck_assert_has(t, "  t1 -> op2;\n");
    ck_assert_has(t, "  op2 -> t2;\n");
    ck_assert_int_eq(count(t, " -> "), 8);
    /* a legend, no statistics by default, top to bottom */
    ck_assert_has(t, "legend");
    ck_assert_lacks(t, "value min");
    ck_assert_has(t, "rankdir=TB");
    free(t);
    tg_graph_free(e.g);
}
END_TEST

START_TEST(options_title_and_left_to_right) {
    expr e = make_expr();
    tg_dot_opts o = {.left_to_right = true, .title = "step 3 & <loss>"};
    char *t = dot_text(e.g, e.out, &o);
    ck_assert_has(t, "rankdir=LR");
    ck_assert_has(t, "label=<step 3 &amp; &lt;loss&gt;>");
    free(t);
    tg_graph_free(e.g);
}
END_TEST

START_TEST(stats_show_values_and_colour_problems) {
    tg_graph *g = tg_graph_new();
    /* vanishing: d x*1e-10 / dx = 1e-10 */
    tg_tensor *x = tg_tensor_from(g, 1, (int[]){2}, (tg_real[]){1, 2});
    tg_set_name(x, "small");
    tg_set_requires_grad(x, true);
    tg_tensor *y = tg_mul(g, x, tg_scalar(g, 1e-10));
    /* exploding: d p*1e4 / dp = 1e4 */
    tg_tensor *p = tg_tensor_from(g, 1, (int[]){2}, (tg_real[]){3, 4});
    tg_set_name(p, "big");
    tg_set_requires_grad(p, true);
    tg_tensor *z = tg_mul(g, p, tg_scalar(g, 1e4));
    /* NaN: log of a negative number */
    tg_tensor *q = tg_scalar(g, -1);
    tg_set_requires_grad(q, true);
    tg_tensor *r = tg_log(g, q);
    tg_set_name(r, "bad");
    ck_assert_ptr_nonnull(r);
    ck_assert_int_eq(tg_backward_from(g, y, (tg_real[]){1, 1}), 0);
    ck_assert_int_eq(tg_backward_from(g, z, (tg_real[]){1, 1}), 0);

    tg_dot_opts o = {.stats = true};
    char *t = dot_text(g, NULL, &o);
    /* values and gradients: [3,4] has L2 5, its gradient [1e4,1e4] */
    ck_assert_line(t, "<b>big</b>", "value min 3 max 4 L2 5<br/>grad min 1e+04 max 1e+04");
    ck_assert_line(t, "<b>big</b>", "fillcolor=\"" C_EXPLODE "\"");
    ck_assert_line(t, "<b>small</b>", "value min 1 max 2 L2 2.236");
    ck_assert_line(t, "<b>small</b>", "grad min 1e-10 max 1e-10");
    ck_assert_line(t, "<b>small</b>", "fillcolor=\"" C_VANISH "\"");
    ck_assert_line(t, "<b>bad</b>", "fillcolor=\"" C_NONFINITE "\"");
    ck_assert_line(t, "<b>bad</b>", "value all NaN");
    ck_assert_line(t, "<b>bad</b>", "grad none");
    /* the output y has gradient 1 (the seed): a plain intermediate */
    ck_assert_line(t, "  t0 [", "fillcolor=\"#ffffff\"");
    /* a constant has no gradient to judge */
    ck_assert_line(t, "value min 1e-10 max 1e-10", "fillcolor=\"" C_CONST "\"");
    /* the legend explains the colours with the thresholds in use */
    ck_assert_has(t, "vanishing grad: L2 &lt; 1e-07");
    ck_assert_has(t, "exploding grad: L2 &gt; 1000");
    ck_assert_has(t, "NaN or inf");
    ck_assert_lacks(t, "penwidth=3"); /* no root */
    free(t);

    /* thresholds from the options */
    o.vanish = 1e-12;
    o.explode = 1e5;
    t = dot_text(g, NULL, &o);
    ck_assert_line(t, "<b>small</b>", "fillcolor=\"" C_PARAM "\"");
    ck_assert_line(t, "<b>big</b>", "fillcolor=\"" C_PARAM "\"");
    ck_assert_has(t, "vanishing grad: L2 &lt; 1e-12");
    free(t);

    /* inf mixed with finite values is counted, and red too */
    tg_tensor *h = tg_div(g, tg_tensor_from(g, 1, (int[]){3}, (tg_real[]){1, 2, 3}),
                          tg_tensor_from(g, 1, (int[]){3}, (tg_real[]){0, 1, 1}));
    tg_set_name(h, "half");
    t = dot_text(g, h, &o);
    ck_assert_line(t, "<b>half</b>", "(0 NaN, 1 inf)");
    ck_assert_line(t, "<b>half</b>", "fillcolor=\"" C_NONFINITE "\"");
    free(t);
    tg_graph_free(g);
}
END_TEST

START_TEST(empty_tensor_stats) {
    tg_graph *g = tg_graph_new();
    tg_tensor *a = tg_tensor_new(g, 2, (int[]){0, 3});
    tg_set_requires_grad(a, true);
    tg_tensor *b = tg_exp(g, a);
    ck_assert_int_eq(tg_backward_from(g, b, (tg_real[]){0}), 0);
    tg_dot_opts o = {.stats = true};
    char *t = dot_text(g, b, &o);
    ck_assert_line(t, "  t0 [", "value empty<br/>grad empty");
    ck_assert_line(t, "  t0 [", "fillcolor=\"#ffffff\""); /* no elements: not vanishing */
    free(t);
    tg_graph_free(g);
}
END_TEST

START_TEST(root_subset_and_whole_tape) {
    tg_graph *g = tg_graph_new();
    tg_tensor *p = tg_scalar(g, 2), *q = tg_scalar(g, 3);
    tg_set_name(p, "p");
    tg_set_name(q, "q");
    tg_set_requires_grad(p, true);
    tg_set_requires_grad(q, true);
    tg_tensor *a = tg_exp(g, p);
    tg_tensor *b = tg_log(g, q);
    tg_tensor *c = tg_mul(g, a, tg_scalar(g, 2)); /* depends on a, not on b */
    ck_assert_ptr_nonnull(b);

    char *t = dot_text(g, c, NULL);
    ck_assert_has(t, "label=<exp>");
    ck_assert_has(t, "label=<mul>");
    ck_assert_lacks(t, "label=<log>");
    ck_assert_lacks(t, "<b>q</b>");
    ck_assert_has(t, "  op2 -> t2;"); /* ids are tape positions */
    ck_assert_has(t, "const []");     /* inputs that need no gradient are drawn too */
    free(t);

    t = dot_text(g, NULL, NULL);
    ck_assert_int_eq(count(t, "shape=ellipse"), 3);
    ck_assert_has(t, "label=<log>");
    ck_assert_has(t, "<b>q</b>");
    free(t);

    /* a leaf as root: just that box */
    t = dot_text(g, q, NULL);
    ck_assert_has(t, "  x0 [");
    ck_assert_line(t, "<b>q</b>", "penwidth=3");
    ck_assert_int_eq(count(t, "shape=ellipse"), 0);
    ck_assert_int_eq(count(t, " -> "), 0);
    free(t);

    /* an intermediate as root */
    t = dot_text(g, b, NULL);
    ck_assert_int_eq(count(t, "shape=ellipse"), 1);
    ck_assert_line(t, "  t1 [", "penwidth=3");
    free(t);
    tg_graph_free(g);
}
END_TEST

START_TEST(shared_input_and_no_grad_intermediate) {
    tg_graph *g = tg_graph_new();
    tg_tensor *x = tg_scalar(g, 2);
    tg_set_requires_grad(x, true);
    tg_tensor *y = tg_mul(g, x, x);            /* one box, two edges */
    tg_tensor *k = tg_exp(g, tg_scalar(g, 1)); /* recorded, no grad */
    tg_tensor *z = tg_add(g, y, k);
    char *t = dot_text(g, z, NULL);
    ck_assert_has(t, "  x0 -> op0 [label=\"0\"];");
    ck_assert_has(t, "  x0 -> op0 [label=\"1\"];");
    ck_assert_int_eq(count(t, "param []"), 1);
    ck_assert_line(t, "  t1 [", "style=\"filled,dashed\"");
    ck_assert_line(t, "  t1 [", "no grad");
    free(t);
    tg_graph_free(g);
}
END_TEST

START_TEST(names_are_escaped) {
    tg_graph *g = tg_graph_new();
    tg_tensor *a = tg_scalar(g, 1);
    tg_set_name(a, "a \"quoted\" \\ <b> & c");
    tg_tensor *b = tg_exp(g, a);
    tg_set_name(b, "bad \xff utf8 \xc3\xa9 ok\nline");
    char *t = dot_text(g, b, &(tg_dot_opts){.title = "\"title\"\\"});
    ck_assert_has(t, "<b>a &quot;quoted&quot; &#92; &lt;b&gt; &amp; c</b>");
    ck_assert_has(t, "<b>bad &#xfffd; utf8 \xc3\xa9 ok<br/>line</b>");
    ck_assert_has(t, "label=<&quot;title&quot;&#92;>");
    ck_assert_lacks(t, "\"quoted\"");
    if (on_path("dot")) {
        const char *dir = make_tmpdir();
        char *path = path_in(dir, "escaped.dot");
        FILE *f = fopen(path, "w");
        fputs(t, f);
        fclose(f);
        ck_assert_int_eq(run((char *[]){"dot", "-Tcanon", "-o", "/dev/null", path, NULL}), 0);
        remove_tmpdir();
    }
    free(t);
    tg_graph_free(g);
}
END_TEST

START_TEST(output_is_deterministic) {
    expr e1 = make_expr();
    tg_dot_opts o = {.stats = true, .title = "t"};
    char *a = dot_text(e1.g, e1.out, &o);
    char *b = dot_text(e1.g, e1.out, &o);
    ck_assert_str_eq(a, b);
    /* the same expression in another graph (other addresses) gives the same text */
    tg_graph *junk = tg_graph_new();
    (void)tg_tensor_new(junk, 1, (int[]){1000});
    expr e2 = make_expr();
    char *c = dot_text(e2.g, e2.out, &o);
    ck_assert_str_eq(a, c);
    ck_assert_lacks(a, "0x");
    free(a);
    free(b);
    free(c);
    tg_graph_free(e1.g);
    tg_graph_free(e2.g);
    tg_graph_free(junk);
}
END_TEST

START_TEST(empty_graph_and_graph_in_error) {
    tg_graph *g = tg_graph_new();
    char *t = dot_text(g, NULL, NULL);
    ck_assert_int_eq(count(t, " -> "), 0);
    ck_assert_lacks(t, "legend");
    ck_assert_msg(strcmp(t + strlen(t) - 2, "}\n") == 0, "%s", t);
    free(t);

    expr e = make_expr();
    ck_assert_ptr_null(tg_add(e.g, e.x, tg_tensor_new(e.g, 1, (int[]){4}))); /* error */
    const char *err = tg_graph_error(e.g);
    ck_assert_ptr_nonnull(err);
    tg_stats before, after;
    tg_graph_stats(e.g, &before);
    t = dot_text(e.g, e.out, &(tg_dot_opts){.stats = true});
    tg_graph_stats(e.g, &after);
    ck_assert_has(t, "graph in error: ");
    ck_assert_has(t, "label=<exp>");
    /* the graph is not modified: same error, same arena */
    ck_assert_str_eq(tg_graph_error(e.g), err);
    ck_assert_uint_eq(before.arena_used, after.arena_used);
    ck_assert_uint_eq(before.arena_reserved, after.arena_reserved);
    free(t);
    tg_graph_free(e.g);
    tg_graph_free(g);
}
END_TEST

START_TEST(long_chain_needs_no_recursion) {
    tg_graph *g = tg_graph_new();
    tg_tensor *x = tg_scalar(g, 1);
    tg_set_requires_grad(x, true);
    for (int i = 0; i < 20000; i++) x = tg_neg(g, x);
    ck_assert_ptr_nonnull(x);
    FILE *f = fopen("/dev/null", "w");
    ck_assert_int_eq(tg_dot_write(g, x, f), 0);
    ck_assert_int_eq(tg_dot_write(g, NULL, f), 0);
    fclose(f);
    tg_graph_free(g);
}
END_TEST

/* ---- errors ------------------------------------------------------------------------------ */

START_TEST(bad_arguments) {
    expr e = make_expr();
    tg_graph *other = tg_graph_new();
    tg_tensor *foreign = tg_scalar(other, 1);
    FILE *f = fopen("/dev/null", "w");
    ck_assert_int_ne(tg_dot_write(NULL, NULL, f), 0);
    ck_assert_ptr_nonnull(strstr(tg_last_error(), "graph is NULL"));
    ck_assert_int_eq(tg_dot_write(e.g, NULL, NULL), TG_ERR_NULL);
    ck_assert_int_eq(tg_dot_write(e.g, foreign, f), TG_ERR_STATE);
    ck_assert_ptr_nonnull(strstr(tg_last_error(), "another graph"));
    ck_assert_int_eq(tg_dot_write_opts(e.g, NULL, f, &(tg_dot_opts){.vanish = -1}), TG_ERR_ARG);
    ck_assert_int_eq(tg_dot_save(NULL, NULL, "x.dot"), TG_ERR_NULL);
    ck_assert_int_eq(tg_dot_save(e.g, NULL, NULL), TG_ERR_NULL);
    ck_assert_ptr_null(tg_graph_error(e.g)); /* none of this touched the graph */
    fclose(f);
    tg_graph_free(other);
    tg_graph_free(e.g);
}
END_TEST

START_TEST(write_error_is_reported) {
    if (!exists("/dev/full")) {
        printf("test_dot: /dev/full is missing; write error test skipped\n");
        return;
    }
    expr e = make_expr();
    FILE *f = fopen("/dev/full", "w");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(tg_dot_write(e.g, e.out, f), TG_ERR_IO);
    ck_assert_ptr_nonnull(strstr(tg_last_error(), "writing"));
    fclose(f);
    tg_graph_free(e.g);
}
END_TEST

START_TEST(unknown_extension_is_rejected) {
    expr e = make_expr();
    const char *dir = make_tmpdir();
    const char *bad[] = {"graph.jpg", "graph", "graph.", "dir.dot/graph", "graph.dotx"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        ck_assert_int_eq(tg_dot_save(e.g, e.out, path_in(dir, bad[i])), TG_ERR_ARG);
        ck_assert_ptr_nonnull(strstr(tg_last_error(), "extension"));
    }
    ck_assert_int_eq(dir_entries(dir), 0);
    remove_tmpdir();
    tg_graph_free(e.g);
}
END_TEST

/* ---- saving ------------------------------------------------------------------------------ */

START_TEST(save_dot_text_replaces_whole) {
    expr e = make_expr();
    const char *dir = make_tmpdir();
    char *path = path_in(dir, "graph.dot");
    write_file(path, "old", 0640);
    ck_assert_int_eq(tg_dot_save(e.g, e.out, path), TG_OK);
    char buf[64];
    head(path, buf, sizeof buf);
    ck_assert_msg(strncmp(buf, "digraph tapegrad {", 18) == 0, "%s", buf);
    struct stat st;
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0640); /* kept the old file's permissions */
    ck_assert_int_eq(dir_entries(dir), 1);     /* no temporaries left */
    /* .gv and upper case work too; a new file gets the usual mode */
    ck_assert_int_eq(tg_dot_save(e.g, NULL, path_in(dir, "whole.GV")), TG_OK);
    ck_assert_int_eq(dir_entries(dir), 2);
    /* a directory that does not exist: an I/O error, nothing created */
    ck_assert_int_eq(tg_dot_save(e.g, e.out, path_in(dir, "nope/graph.dot")), TG_ERR_IO);
    ck_assert_int_eq(dir_entries(dir), 2);
    remove_tmpdir();
    tg_graph_free(e.g);
}
END_TEST

START_TEST(save_in_current_directory) {
    expr e = make_expr();
    const char *dir = make_tmpdir();
    char cwd[1024];
    ck_assert_ptr_nonnull(getcwd(cwd, sizeof cwd));
    ck_assert_int_eq(chdir(dir), 0);
    tg_status st = tg_dot_save(e.g, e.out, "-graph.dot");
    tg_status st2 =
        on_path("dot") && built_with_graphviz() ? tg_dot_save(e.g, e.out, "-graph.svg") : TG_OK;
    ck_assert_int_eq(chdir(cwd), 0);
    ck_assert_int_eq(st, TG_OK);
    ck_assert_msg(st2 == TG_OK, "%s", tg_last_error());
    ck_assert(exists(path_in(dir, "-graph.dot")));
    remove_tmpdir();
    tg_graph_free(e.g);
}
END_TEST

START_TEST(render_svg_png_pdf) {
    if (!on_path("dot")) {
        printf("test_dot: Graphviz's dot is not on PATH; rendering tests skipped\n");
        return;
    }
    expr e = make_expr();
    tg_dot_opts o = {.stats = true, .title = "render"};
    const char *dir = make_tmpdir();
    char *svg = path_in(dir, "my graph's \"file\".svg");
    if (!built_with_graphviz()) {
        printf("test_dot: library built without Graphviz; rendering tests skipped\n");
        remove_tmpdir();
        tg_graph_free(e.g);
        return;
    }
    tg_status st = tg_dot_save_opts(e.g, e.out, svg, &o);
    ck_assert_msg(st == TG_OK, "%s", tg_last_error());
    char buf[64];
    head(svg, buf, sizeof buf);
    ck_assert_msg(strncmp(buf, "<?xml", 5) == 0 || strncmp(buf, "<svg", 4) == 0, "%s", buf);

    char *png = path_in(dir, "graph.png");
    ck_assert_int_eq(tg_dot_save_opts(e.g, e.out, png, &o), TG_OK);
    ck_assert_uint_eq(head(png, buf, sizeof buf), sizeof buf - 1);
    ck_assert_int_eq(memcmp(buf, "\x89PNG\r\n\x1a\n", 8), 0);

    char *pdf = path_in(dir, "graph.pdf");
    ck_assert_int_eq(tg_dot_save(e.g, NULL, pdf), TG_OK);
    head(pdf, buf, sizeof buf);
    ck_assert_int_eq(strncmp(buf, "%PDF", 4), 0);

    /* the .dot text parses */
    char *dotf = path_in(dir, "graph.dot");
    ck_assert_int_eq(tg_dot_save_opts(e.g, e.out, dotf, &o), TG_OK);
    ck_assert_int_eq(run((char *[]){"dot", "-Tcanon", "-o", "/dev/null", dotf, NULL}), 0);
    ck_assert_int_eq(dir_entries(dir), 4); /* and no temporaries are left */
    remove_tmpdir();
    tg_graph_free(e.g);
}
END_TEST

START_TEST(missing_dot_is_unsupported) {
    expr e = make_expr();
    const char *dir = make_tmpdir();
    char *old = getenv("PATH") ? strdup(getenv("PATH")) : NULL;
    ck_assert_int_eq(mkdir(path_in(dir, "empty"), 0700), 0);
    setenv("PATH", path_in(dir, "empty"), 1);
    tg_status st = tg_dot_save(e.g, e.out, path_in(dir, "graph.svg"));
    tg_status st_png = tg_dot_save(e.g, e.out, path_in(dir, "graph.png"));
    tg_status st_dot = tg_dot_save(e.g, e.out, path_in(dir, "graph.dot")); /* needs nothing */
    if (old) {
        setenv("PATH", old, 1);
        free(old);
    } else {
        unsetenv("PATH");
    }
    ck_assert_int_eq(st, TG_ERR_UNSUPPORTED);
    ck_assert_int_eq(st_png, TG_ERR_UNSUPPORTED);
    ck_assert_int_eq(st_dot, TG_OK);
    ck_assert(!exists(path_in(dir, "graph.svg")));
    ck_assert(!exists(path_in(dir, "graph.png")));
    ck_assert_int_eq(dir_entries(dir), 2); /* empty/ and graph.dot */
    rmdir(path_in(dir, "empty"));
    remove_tmpdir();
    tg_graph_free(e.g);
}
END_TEST

START_TEST(missing_dot_message) {
    expr e = make_expr();
    char *old = getenv("PATH") ? strdup(getenv("PATH")) : NULL;
    setenv("PATH", "/nonexistent-tg-dir", 1);
    tg_status st = tg_dot_save(e.g, e.out, "/nonexistent-tg-dir/graph.svg");
    if (old) {
        setenv("PATH", old, 1);
        free(old);
    }
    ck_assert_int_eq(st, TG_ERR_UNSUPPORTED);
    const char *msg = tg_last_error();
    ck_assert_ptr_nonnull(strstr(msg, "graph.svg"));
    ck_assert_ptr_nonnull(strstr(msg, "Graphviz"));
    ck_assert_ptr_nonnull(strstr(msg, ".dot"));
    tg_graph_free(e.g);
}
END_TEST

START_TEST(failing_dot_leaves_old_file) {
    if (!built_with_graphviz()) {
        printf("test_dot: library built without Graphviz; failing-dot test skipped\n");
        return;
    }
    expr e = make_expr();
    const char *dir = make_tmpdir();
    ck_assert_int_eq(mkdir(path_in(dir, "bin"), 0700), 0);
    /* a fake dot: argv is -Tsvg -o OUT IN; it writes half a file and fails */
    char *fake = path_in(dir, "bin/dot");
    write_file(fake,
               "#!/bin/sh\n"
               "echo partial > \"$3\"\n"
               "echo 'Error: simulated failure' >&2\n"
               "exit 3\n",
               0700);
    char *svg = path_in(dir, "graph.svg");
    write_file(svg, "old", 0644);
    char *old = getenv("PATH") ? strdup(getenv("PATH")) : NULL;
    setenv("PATH", path_in(dir, "bin"), 1);
    tg_status st = tg_dot_save(e.g, e.out, svg);
    if (old) {
        setenv("PATH", old, 1);
        free(old);
    }
    ck_assert_int_eq(st, TG_ERR_IO);
    ck_assert_ptr_nonnull(strstr(tg_last_error(), "exit status 3"));
    ck_assert_ptr_nonnull(strstr(tg_last_error(), "simulated failure"));
    char buf[16];
    head(svg, buf, sizeof buf);
    ck_assert_str_eq(buf, "old");
    ck_assert_int_eq(dir_entries(dir), 2); /* bin/ and graph.svg: no temporaries */
    unlink(fake);
    rmdir(path_in(dir, "bin"));
    remove_tmpdir();
    tg_graph_free(e.g);
}
END_TEST

static Suite *suite(void) {
    Suite *s = suite_create("dot");
    TCase *tc = tcase_create("text");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, small_expression_nodes_edges_and_styles);
    tcase_add_test(tc, options_title_and_left_to_right);
    tcase_add_test(tc, stats_show_values_and_colour_problems);
    tcase_add_test(tc, empty_tensor_stats);
    tcase_add_test(tc, root_subset_and_whole_tape);
    tcase_add_test(tc, shared_input_and_no_grad_intermediate);
    tcase_add_test(tc, names_are_escaped);
    tcase_add_test(tc, output_is_deterministic);
    tcase_add_test(tc, empty_graph_and_graph_in_error);
    tcase_add_test(tc, long_chain_needs_no_recursion);
    tcase_add_test(tc, bad_arguments);
    tcase_add_test(tc, write_error_is_reported);
    suite_add_tcase(s, tc);
    TCase *ts = tcase_create("save");
    tcase_set_timeout(ts, 120);
    tcase_add_test(ts, unknown_extension_is_rejected);
    tcase_add_test(ts, save_dot_text_replaces_whole);
    tcase_add_test(ts, save_in_current_directory);
    tcase_add_test(ts, render_svg_png_pdf);
    tcase_add_test(ts, missing_dot_is_unsupported);
    tcase_add_test(ts, missing_dot_message);
    tcase_add_test(ts, failing_dot_leaves_old_file);
    suite_add_tcase(s, ts);
    return s;
}

int main(void) {
    return tg_test_run(suite());
}
