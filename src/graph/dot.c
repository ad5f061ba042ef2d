/* src/graph/dot.c: the tape as Graphviz DOT text, and saving it (rendered by `dot`).
 *
 * Layout, micrograd style: every tensor is a box, every op an ellipse between its input
 * boxes and its output box. Ids come from tape positions (op<i>, t<i> for the output
 * of tape node i) and a counter for leaves (x<k>, in order of first use), so the text
 * is the same on every run. The part of the tape a root depends on is found by one
 * sweep backwards over the tape (recording order is a topological order), so no
 * recursion, no stack, and no use of the node marks that backward owns.
 *
 * Scratch memory comes from the heap (tg__malloc) and is freed before returning: the
 * graph is left untouched, even its arena, and a graph already in error can be drawn,
 * which is when a picture helps most. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

#define C_PARAM     "#c8e6c9" /* leaf that requires grad: light green */
#define C_CONST     "#e0e0e0" /* leaf without grad: grey */
#define C_INTER     "#ffffff" /* op output */
#define C_OP        "#fff59d" /* op ellipse: light yellow */
#define C_NONFINITE "#ff5252" /* NaN or inf in value or gradient: red */
#define C_VANISH    "#64b5f6" /* gradient norm below opts->vanish: blue */
#define C_EXPLODE   "#ffa726" /* gradient norm above opts->explode: orange */

#define DEFAULT_VANISH  1e-7
#define DEFAULT_EXPLODE 1e3

typedef struct leaf_slot {
    const tg_tensor *t; /* NULL: empty */
    int64_t id;
} leaf_slot;

typedef struct dot_ctx {
    tg_graph *g;
    FILE *out;
    const tg_tensor *root;
    bool stats;
    double vanish, explode;
    unsigned char *keep; /* keep[i]: tape node i is drawn; NULL: all of them */
    leaf_slot *leaves;   /* open addressing on the pointer; ids come from nleaves */
    size_t cap;
    int64_t nleaves;
} dot_ctx;

/* ---- small helpers ------------------------------------------------------------------- */

/* The node that produced t on g's tape, or NULL for a leaf (or a node of another graph). */
static const tg_node *node_of(const tg_graph *g, const tg_tensor *t) {
    const tg_node *n = t->node;
    if (!n || t->g != g || n->index < 0 || n->index >= g->ntape || g->tape[n->index] != n)
        return NULL;
    return n;
}

/* Length of a valid UTF-8 sequence at p, or 0 (overlong forms and surrogates rejected). */
static int utf8_len(const unsigned char *p) {
    const unsigned c = p[0];
    int n;
    unsigned lo = 0x80, hi = 0xbf; /* range of the second byte */
    if (c >= 0xc2 && c <= 0xdf) {
        n = 2;
    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        if (c == 0xe0) lo = 0xa0;
        if (c == 0xed) hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        if (c == 0xf0) lo = 0x90;
        if (c == 0xf4) hi = 0x8f;
    } else {
        return 0;
    }
    if (p[1] < lo || p[1] > hi) return 0;
    for (int i = 2; i < n; i++)
        if (p[i] < 0x80 || p[i] > 0xbf) return 0;
    return n;
}

/* Writes s as text inside an HTML-like label: markup characters become entities (a
 * backslash too, which dot might read as an escape), a newline a line break, other
 * control bytes and invalid UTF-8 (a name cut at 63 bytes can end inside a character)
 * U+FFFD, so Graphviz accepts any name. */
static void put_html(FILE *out, const char *s) {
    for (const unsigned char *p = (const unsigned char *)s; *p;) {
        const unsigned c = *p;
        const char *ent = c == '&'    ? "&amp;"
                          : c == '<'  ? "&lt;"
                          : c == '>'  ? "&gt;"
                          : c == '"'  ? "&quot;"
                          : c == '\\' ? "&#92;"
                          : c == '\n' ? "<br/>"
                                      : NULL;
        int n = c >= 0x80 ? utf8_len(p) : 1;
        if (ent)
            fputs(ent, out);
        else if (c >= 0x20 && c != 0x7f && n > 0)
            fwrite(p, 1, (size_t)n, out);
        else
            fputs("&#xfffd;", out);
        p += n > 0 ? n : 1;
    }
}

typedef struct stats {
    double min, max, l2;
    int64_t nan, inf;
} stats;

/* min and max over the elements that are not NaN; the L2 norm scaled by the largest
 * magnitude so that no square overflows (NaN or inf when such elements are present). */
static stats compute_stats(const tg_real *x, int64_t n) {
    stats s = {INFINITY, -INFINITY, 0, 0, 0};
    double amax = 0;
    for (int64_t i = 0; i < n; i++) {
        double v = (double)x[i];
        if (isnan(v)) {
            s.nan++;
            continue;
        }
        if (isinf(v))
            s.inf++;
        else if (fabs(v) > amax)
            amax = fabs(v);
        if (v < s.min) s.min = v;
        if (v > s.max) s.max = v;
    }
    if (s.nan) {
        s.l2 = NAN;
    } else if (s.inf) {
        s.l2 = INFINITY;
    } else if (amax > 0) {
        double sum = 0;
        for (int64_t i = 0; i < n; i++) {
            double v = (double)x[i] / amax;
            sum += v * v;
        }
        s.l2 = amax * sqrt(sum);
    }
    return s;
}

static void put_stats(FILE *out, const char *what, const tg_real *x, int64_t n, stats s) {
    fprintf(out, "<br/>%s ", what);
    if (!x)
        fputs("none", out);
    else if (n == 0)
        fputs("empty", out);
    else if (s.nan == n)
        fprintf(out, "all NaN");
    else
        fprintf(out, "min %.4g max %.4g L2 %.4g", s.min, s.max, s.l2);
    if (x && n && (s.nan || s.inf) && s.nan != n)
        fprintf(out, " (%lld NaN, %lld inf)", (long long)s.nan, (long long)s.inf);
}

/* ---- writing ----------------------------------------------------------------------------- */

/* One box. Leaves say whether they are learned (param) or constant (const). */
static void put_tensor(dot_ctx *c, const tg_tensor *t, const char *id) {
    FILE *out = c->out;
    char shape[TG_SHAPE_STR];
    const bool leaf = node_of(c->g, t) == NULL, grad = tg__needs_grad(t);
    const char *fill = leaf ? (grad ? C_PARAM : C_CONST) : C_INTER;
    stats sv = {0}, sg = {0};
    if (c->stats) {
        sv = compute_stats(t->data, t->numel);
        if (t->grad) sg = compute_stats(t->grad, t->numel);
        if (sv.nan || sv.inf || sg.nan || sg.inf)
            fill = C_NONFINITE;
        else if (t->grad && t->numel > 0 && sg.l2 > c->explode)
            fill = C_EXPLODE;
        else if (t->grad && t->numel > 0 && sg.l2 < c->vanish)
            fill = C_VANISH;
    }
    fprintf(out, "  %s [shape=box, style=\"%s\", fillcolor=\"%s\"%s, label=<", id,
            !leaf && !grad ? "filled,dashed" : "filled", fill, t == c->root ? ", penwidth=3" : "");
    if (t->name) {
        fputs("<b>", out);
        put_html(out, t->name);
        fputs("</b><br/>", out);
    }
    if (leaf) fputs(grad ? "param " : "const ", out);
    fputs(TG_SHAPE(t, shape), out);
    if (!leaf && !grad) fputs(" no grad", out);
    if (c->stats) {
        fputs("<font point-size=\"9\">", out);
        put_stats(out, "value", t->data, t->numel, sv);
        put_stats(out, "grad", t->grad, t->numel, sg);
        fputs("</font>", out);
    }
    fputs(">];\n", out);
}

/* The id of t ("t<i>" or "x<k>") into buf; *fresh is set when a leaf is seen first. */
static void tensor_id(dot_ctx *c, const tg_tensor *t, char *buf, size_t n, bool *fresh) {
    const tg_node *nd = node_of(c->g, t);
    *fresh = false;
    if (nd) {
        snprintf(buf, n, "t%lld", (long long)nd->index);
        return;
    }
    uint64_t h = (uint64_t)(uintptr_t)t * 0x9e3779b97f4a7c15u;
    size_t i = (size_t)(h >> 17) & (c->cap - 1);
    while (c->leaves[i].t && c->leaves[i].t != t) i = (i + 1) & (c->cap - 1);
    if (!c->leaves[i].t) {
        c->leaves[i] = (leaf_slot){t, c->nleaves++};
        *fresh = true;
    }
    snprintf(buf, n, "x%lld", (long long)c->leaves[i].id);
}

static void put_node(dot_ctx *c, const tg_node *nd) {
    char id[32], out_id[32];
    bool fresh;
    for (int j = 0; j < nd->nin; j++) {
        if (!nd->in[j]) continue;
        tensor_id(c, nd->in[j], id, sizeof id, &fresh);
        if (fresh) put_tensor(c, nd->in[j], id);
    }
    const long long k = (long long)nd->index;
    fprintf(c->out,
            "  op%lld [shape=ellipse, style=filled, fillcolor=\"" C_OP "\", "
            "fontsize=10, height=0.3, margin=\"0.05,0.02\", label=<",
            k);
    put_html(c->out, nd->op && nd->op->name ? nd->op->name : "?");
    fputs(">];\n", c->out);
    snprintf(out_id, sizeof out_id, "t%lld", k);
    put_tensor(c, nd->out, out_id);
    for (int j = 0; j < nd->nin; j++) {
        if (!nd->in[j]) continue;
        tensor_id(c, nd->in[j], id, sizeof id, &fresh);
        if (nd->nin > 1)
            fprintf(c->out, "  %s -> op%lld [label=\"%d\"];\n", id, k, j);
        else
            fprintf(c->out, "  %s -> op%lld;\n", id, k);
    }
    fprintf(c->out, "  op%lld -> %s;\n", k, out_id);
}

/* One table node, so the legend takes no ranks away from the graph. */
static void put_legend(dot_ctx *c) {
    FILE *out = c->out;
    fputs("  legend [shape=plaintext, fontsize=9, label=<<table border=\"1\" color=\"#999999\" "
          "style=\"dashed\" cellborder=\"1\" cellspacing=\"3\" cellpadding=\"3\">\n"
          "    <tr><td border=\"0\"><b>legend</b></td></tr>\n"
          "    <tr><td bgcolor=\"" C_PARAM "\">param: leaf, requires grad</td></tr>\n"
          "    <tr><td bgcolor=\"" C_CONST "\">const: leaf, no grad</td></tr>\n"
          "    <tr><td bgcolor=\"" C_INTER "\">op output (dashed: no grad)</td></tr>\n"
          "    <tr><td bgcolor=\"" C_OP "\" style=\"rounded\">op</td></tr>\n",
          out);
    if (c->root) fputs("    <tr><td border=\"3\">root</td></tr>\n", out);
    if (c->stats)
        fprintf(out,
                "    <tr><td bgcolor=\"" C_NONFINITE "\">NaN or inf in value or grad</td></tr>\n"
                "    <tr><td bgcolor=\"" C_VANISH "\">vanishing grad: L2 &lt; %g</td></tr>\n"
                "    <tr><td bgcolor=\"" C_EXPLODE "\">exploding grad: L2 &gt; %g</td></tr>\n",
                c->vanish, c->explode);
    fputs("  </table>>];\n", out);
}

static tg_status check_args(tg_graph *g, const tg_tensor *root, const tg_dot_opts *o,
                            const char *fn) {
    if (!g) return tg__set_error(TG_ERR_NULL, "%s: graph is NULL", fn);
    if (root && root->g != g && !(root->flags & TG_T_PERSISTENT))
        return tg__set_error(TG_ERR_STATE, "%s: the root tensor belongs to another graph", fn);
    if (o && (!(o->vanish >= 0) || !(o->explode >= 0)))
        return tg__set_error(TG_ERR_ARG,
                             "%s: opts->vanish (%g) and opts->explode (%g) must be >= 0 "
                             "(0 = default)",
                             fn, o->vanish, o->explode);
    return TG_OK;
}

/* Writes the DOT text; arguments already checked. */
static tg_status write_dot(tg_graph *g, const tg_tensor *root, FILE *out, const tg_dot_opts *o,
                           const char *fn) {
    dot_ctx c = {.g = g, .out = out, .root = root};
    if (o) {
        c.stats = o->stats;
        c.vanish = o->vanish > 0 ? o->vanish : DEFAULT_VANISH;
        c.explode = o->explode > 0 ? o->explode : DEFAULT_EXPLODE;
    } else {
        c.vanish = DEFAULT_VANISH;
        c.explode = DEFAULT_EXPLODE;
    }
    const tg_node *rn = root ? node_of(g, root) : NULL;
    const int64_t ntape = root && !rn ? 0 : g->ntape; /* a leaf root draws alone */

    /* Scratch: the leaf table (at most one slot per input edge, kept half empty) and,
     * for a root, one keep flag per tape node. */
    int64_t nedges = 1;
    for (int64_t i = 0; i < ntape; i++) nedges += g->tape[i]->nin;
    c.cap = 4;
    while (c.cap < (size_t)nedges * 2) c.cap *= 2;
    const size_t keep_bytes = root ? (size_t)ntape : 0;
    if (c.cap > (SIZE_MAX - keep_bytes) / sizeof(leaf_slot))
        return tg__set_error(TG_ERR_NOMEM, "%s: out of memory", fn);
    const size_t table_bytes = c.cap * sizeof(leaf_slot);
    char *scratch = tg__malloc(table_bytes + keep_bytes);
    if (!scratch) return tg__set_error(TG_ERR_NOMEM, "%s: out of memory", fn);
    c.leaves = (leaf_slot *)scratch;
    for (size_t i = 0; i < c.cap; i++) c.leaves[i] = (leaf_slot){NULL, 0};
    if (root) {
        c.keep = (unsigned char *)scratch + table_bytes;
        memset(c.keep, 0, keep_bytes);
        if (rn) c.keep[rn->index] = 1;
        /* Inputs are recorded before the ops that use them: one backward sweep. */
        for (int64_t i = rn ? rn->index : -1; i >= 0; i--) {
            if (!c.keep[i]) continue;
            const tg_node *nd = g->tape[i];
            for (int j = 0; j < nd->nin; j++) {
                const tg_node *in = nd->in[j] ? node_of(g, nd->in[j]) : NULL;
                if (in) c.keep[in->index] = 1;
            }
        }
    }

    fprintf(out,
            "digraph tapegrad {\n  graph [rankdir=%s, fontname=\"Helvetica\", "
            "nodesep=0.3, ranksep=0.35",
            o && o->left_to_right ? "LR" : "TB");
    if ((o && o->title) || tg__failed(g)) {
        fputs(", labelloc=t, label=<", out);
        if (o && o->title) put_html(out, o->title);
        if (o && o->title && tg__failed(g)) fputs("<br/>", out);
        if (tg__failed(g)) {
            fputs("<font color=\"#c62828\">graph in error: ", out);
            put_html(out, g->error);
            fputs("</font>", out);
        }
        fputs(">", out);
    }
    fputs("];\n  node [fontname=\"Helvetica\", fontsize=11];\n"
          "  edge [fontname=\"Helvetica\", fontsize=9, fontcolor=\"#555555\", "
          "color=\"#555555\", arrowsize=0.7];\n",
          out);
    bool any = false;
    if (root && !rn) {
        put_tensor(&c, root, "x0");
        any = true;
    }
    for (int64_t i = 0; i < ntape; i++) {
        if (c.keep && !c.keep[i]) continue;
        put_node(&c, g->tape[i]);
        any = true;
    }
    if (any) put_legend(&c);
    fputs("}\n", out);
    tg__free(scratch);

    if (fflush(out) != 0)
        return tg__set_error(TG_ERR_IO, "%s: writing the DOT text failed: %s", fn, strerror(errno));
    if (ferror(out))
        return tg__set_error(TG_ERR_IO, "%s: writing the DOT text failed (stream error)", fn);
    return TG_OK;
}

TG_API int tg_dot_write_opts(tg_graph *g, const tg_tensor *root, FILE *out,
                             const tg_dot_opts *opts) {
    tg_status st = check_args(g, root, opts, "tg_dot_write");
    if (st != TG_OK) return (int)st;
    if (!out) return (int)tg__set_error(TG_ERR_NULL, "tg_dot_write: out is NULL");
    return (int)write_dot(g, root, out, opts, "tg_dot_write");
}

TG_API int tg_dot_write(tg_graph *g, const tg_tensor *root, FILE *out) {
    return tg_dot_write_opts(g, root, out, NULL);
}

/* ---- saving ------------------------------------------------------------------------------ */

/* Temporaries live next to the target: "<dir>/.tgdot-<pid>-<n>.tmp" (tg__temp_beside).
 * Writes the DOT text into a new one (name into tmp), flushed to disk. */
static tg_status write_temp(tg_graph *g, const tg_tensor *root, const char *path,
                            const tg_dot_opts *o, char *tmp, size_t n) {
    int fd = tg__temp_beside(path, "dot", ".tmp", tmp, n);
    if (fd < 0)
        return tg__set_error(TG_ERR_IO,
                             "tg_dot_save: cannot create a temporary file next to %s: %s", path,
                             strerror(errno));
    FILE *f = fdopen(fd, "w");
    if (!f) {
        int e = errno;
        close(fd);
        unlink(tmp);
        return tg__set_error(TG_ERR_IO, "tg_dot_save: %s: %s", tmp, strerror(e));
    }
    tg_status st = write_dot(g, root, f, o, "tg_dot_save");
    int e;
    if (st == TG_OK && (e = tg__fsync(fileno(f))) != 0)
        st = tg__set_error(TG_ERR_IO, "tg_dot_save: syncing %s: %s", tmp, strerror(e));
    if (fclose(f) != 0 && st == TG_OK)
        st = tg__set_error(TG_ERR_IO, "tg_dot_save: writing %s: %s", tmp, strerror(errno));
    if (st != TG_OK) unlink(tmp);
    return st;
}

#ifndef TG_NO_GRAPHVIZ
/* Runs dot -T<fmt> -o <out> <in> (tg__run_program). Returns TG_OK when it exited with 0;
 * otherwise an error carrying the start of what dot wrote to stderr. */
static tg_status run_dot(const char *prog, const char *fmt, char *in, char *out, const char *path) {
    char arg0[] = "dot", targ[16], oarg[] = "-o";
    snprintf(targ, sizeof targ, "-T%s", fmt);
    char *argv[] = {arg0, targ, oarg, out, in, NULL};
    tg__run_result r;
    tg_status st = tg__run_program("tg_dot_save", prog, argv, &r);
    if (st != TG_OK) return st;
    if (r.how == TG__RUN_UNKNOWN) { /* no exit status: judge by the output */
        struct stat sb;
        if (stat(out, &sb) == 0 && sb.st_size > 0) return TG_OK;
        return tg__set_error(TG_ERR_IO, "tg_dot_save: dot wrote nothing for %s", path);
    }
    if (r.how == TG__RUN_EXITED && r.code == 0) return TG_OK;
    if (r.how == TG__RUN_EXITED)
        return tg__set_error(TG_ERR_IO,
                             "tg_dot_save: Graphviz's dot failed (exit status %d) "
                             "rendering %s%s%s",
                             r.code, path, r.err_head[0] ? ": " : "", r.err_head);
    return tg__set_error(TG_ERR_IO,
                         "tg_dot_save: Graphviz's dot was killed by signal %d "
                         "rendering %s",
                         r.code, path);
}
#endif

TG_API tg_status tg_dot_save_opts(tg_graph *g, const tg_tensor *root, const char *path,
                                  const tg_dot_opts *opts) {
    if (!g) return tg__set_error(TG_ERR_NULL, "tg_dot_save: graph is NULL");
    if (!path) return tg__set_error(TG_ERR_NULL, "tg_dot_save: path is NULL");
    const char *base = strrchr(path, '/');
    const char *dot = strrchr(base ? base + 1 : path, '.');
    const char *ext = dot ? dot + 1 : "";
    static const char *const render[] = {"svg", "png", "pdf"};
    const char *fmt = NULL;
    for (size_t i = 0; i < sizeof render / sizeof *render; i++)
        if (strcasecmp(ext, render[i]) == 0) fmt = render[i];
    if (!fmt && strcasecmp(ext, "dot") != 0 && strcasecmp(ext, "gv") != 0)
        return tg__set_error(TG_ERR_ARG,
                             "tg_dot_save: cannot tell the format of \"%s\" from its "
                             "extension; use .dot, .gv, .svg, .png or .pdf",
                             path);
    tg_status st = check_args(g, root, opts, "tg_dot_save");
    if (st != TG_OK) return st;

    char tmp_dot[4096];
    if (!fmt) {
        st = write_temp(g, root, path, opts, tmp_dot, sizeof tmp_dot);
        return st == TG_OK ? tg__commit_file("tg_dot_save", tmp_dot, path) : st;
    }
#ifdef TG_NO_GRAPHVIZ
    return tg__set_error(TG_ERR_UNSUPPORTED,
                         "tg_dot_save: rendering %s needs Graphviz, which "
                         "this build of tapegrad left out (-Dgraphviz=disabled); save as .dot",
                         path);
#else
    char prog[4096], tmp_out[4096];
    if (!tg__find_program("dot", prog, sizeof prog))
        return tg__set_error(TG_ERR_UNSUPPORTED,
                             "tg_dot_save: rendering %s needs Graphviz's dot "
                             "program, which was not found on PATH; install graphviz or save "
                             "as .dot",
                             path);
    st = write_temp(g, root, path, opts, tmp_dot, sizeof tmp_dot);
    if (st != TG_OK) return st;
    int fd = tg__temp_beside(path, "dot", ".tmp", tmp_out, sizeof tmp_out);
    if (fd < 0) {
        st = tg__set_error(TG_ERR_IO, "tg_dot_save: cannot create a temporary file next to %s: %s",
                           path, strerror(errno));
        unlink(tmp_dot);
        return st;
    }
    close(fd);
    st = run_dot(prog, fmt, tmp_dot, tmp_out, path);
    unlink(tmp_dot);
    if (st == TG_OK && (fd = open(tmp_out, O_RDONLY | O_CLOEXEC)) >= 0) {
        fsync(fd); /* best effort: the rename below must not outrun the data */
        close(fd);
    }
    if (st != TG_OK) {
        unlink(tmp_out);
        return st;
    }
    return tg__commit_file("tg_dot_save", tmp_out, path);
#endif
}

TG_API tg_status tg_dot_save(tg_graph *g, const tg_tensor *root, const char *path) {
    return tg_dot_save_opts(g, root, path, NULL);
}
