/* src/nn/plot.c: tg_csv_log_plot, a CSV training log drawn through gnuplot.
 *
 * The columns are found by their header names, and only those holding a number are
 * drawn, so a loss-only log (a regression) plots too. gnuplot runs the way
 * src/graph/dot.c runs dot, through src/graph/fileio.c: found on PATH, spawned
 * without a shell, its output written to a temporary file next to the target and
 * renamed over it. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../graph/internal.h"

/* ---- the plot, through gnuplot ------------------------------------------------------- */

/* s as a gnuplot single-quoted string ('' stands for '). */
static void put_quoted(FILE *f, const char *s) {
    fputc('\'', f);
    for (; *s; s++) {
        if (*s == '\'') fputc('\'', f);
        fputc(*s, f);
    }
    fputc('\'', f);
}

static bool has_control(const char *s) {
    for (; *s; s++)
        if ((unsigned char)*s < 0x20) return true;
    return false;
}

/* The curves a plot can have: a column of the log, its title, whether it is an
 * accuracy (a fraction, drawn in % on the right axis), and whether its line has points
 * (held-out values come on a few rows only). */
static const struct curve {
    const char *column, *title;
    bool accuracy, points;
} curves[] = {
    {"loss", "training loss", false, false},
    {"val_loss", "held-out loss", false, true},
    {"accuracy", "training accuracy", true, false},
    {"val_accuracy", "held-out accuracy", true, true},
};
enum { N_CURVES = sizeof curves / sizeof curves[0] };

/* What a log holds: the 1-based column of step and of each curve (0: absent), and
 * whether the curve has a number on some row. */
typedef struct log_layout {
    int step, col[N_CURVES];
    bool drawn[N_CURVES];
} log_layout;

/* Field k (1-based) of a CSV line, its leading and trailing blanks dropped; its length
 * into *len. NULL when the line has fewer fields. */
static const char *csv_field(const char *line, int k, size_t *len) {
    for (; k > 1; k--) {
        line = strchr(line, ',');
        if (!line) return NULL;
        line++;
    }
    while (*line == ' ' || *line == '\t') line++;
    size_t n = strcspn(line, ",\r\n");
    while (n > 0 && (line[n - 1] == ' ' || line[n - 1] == '\t')) n--;
    *len = n;
    return line;
}

static bool is_number(const char *s, size_t n) {
    char buf[64], *end;
    if (n == 0 || n >= sizeof buf) return false;
    memcpy(buf, s, n);
    buf[n] = '\0';
    const double v = strtod(buf, &end);
    return *end == '\0' && isfinite(v);
}

/* Reads a line of at most sizeof line - 1 bytes into line, dropping the rest of a
 * longer one. false at the end of the file. */
static bool read_line(FILE *f, char *line, int size) {
    if (!fgets(line, size, f)) return false;
    if (!strchr(line, '\n'))
        for (int c = 0; c != '\n' && c != EOF;) c = getc(f);
    return true;
}

/* Finds the columns in the header line and which curves have a number. */
static tg_status read_layout(const char *fn, const char *path, log_layout *lay) {
    *lay = (log_layout){0};
    FILE *f = fopen(path, "r");
    if (!f) return tg__set_error(TG_ERR_IO, "%s: cannot read %s: %s", fn, path, strerror(errno));
    char line[4096];
    if (read_line(f, line, sizeof line)) {
        size_t n;
        const char *name;
        for (int k = 1; (name = csv_field(line, k, &n)); k++) {
            if (n == 4 && !strncmp(name, "step", 4)) lay->step = k;
            for (int c = 0; c < N_CURVES; c++)
                if (n == strlen(curves[c].column) && !strncmp(name, curves[c].column, n))
                    lay->col[c] = k;
        }
    }
    while (lay->step && read_line(f, line, sizeof line)) {
        for (int c = 0; c < N_CURVES; c++) {
            size_t n;
            const char *v = lay->col[c] ? csv_field(line, lay->col[c], &n) : NULL;
            if (v && is_number(v, n)) lay->drawn[c] = true;
        }
    }
    const bool failed = ferror(f);
    fclose(f);
    if (failed) return tg__set_error(TG_ERR_IO, "%s: reading %s failed", fn, path);
    if (!lay->step)
        return tg__set_error(TG_ERR_FORMAT,
                             "%s: %s has no step column (its first line must name the columns, "
                             "as TG_CSV_LOG_HEADER does)",
                             fn, path);
    for (int c = 0; c < N_CURVES; c++)
        if (lay->drawn[c]) return TG_OK;
    return tg__set_error(TG_ERR_FORMAT,
                         "%s: nothing to plot in %s: no row has a loss or an accuracy", fn, path);
}

static void write_script(FILE *f, const char *csv, const char *out, bool svg, const char *title,
                         const log_layout *lay) {
    bool left = false, right = false; /* a loss; an accuracy */
    for (int c = 0; c < N_CURVES; c++)
        if (lay->drawn[c]) *(curves[c].accuracy ? &right : &left) = true;
    fputs("set datafile separator ','\n", f);
    if (svg) {
        fputs("set terminal svg size 900,520 dynamic noenhanced font 'Sans,11' "
              "background rgb 'white'\n",
              f);
    } else {
        fputs("if (strstrt(GPVAL_TERMINALS, 'pngcairo') > 0) {\n"
              "  set terminal pngcairo size 900,520 noenhanced font 'Sans,10'\n"
              "} else {\n"
              "  set terminal png size 900,520 noenhanced\n"
              "}\n",
              f);
    }
    fputs("set output ", f);
    put_quoted(f, out);
    fputs("\nset title ", f);
    put_quoted(f, title ? title : "training curve");
    fprintf(f, "\nset xlabel 'step'\nset ylabel '%s'\n", left ? "loss" : "accuracy (%)");
    if (left && right) fputs("set y2label 'accuracy (%)'\nset ytics nomirror\nset y2tics\n", f);
    fputs("set grid\nset key outside below\nplot ", f);
    const char *sep = "";
    for (int c = 0; c < N_CURVES; c++) {
        if (!lay->drawn[c]) continue;
        const struct curve *k = &curves[c];
        fputs(sep, f);
        if (!*sep)
            put_quoted(f, csv);
        else
            fputs("''", f);
        fprintf(f, " skip 1 using %d:", lay->step);
        fprintf(f, k->accuracy ? "($%d*100)" : "%d", lay->col[c]);
        fprintf(f, "%s with %s lw 2 title '%s'", k->accuracy && left ? " axes x1y2" : "",
                k->points ? "linespoints pt 7" : "lines", k->title);
        sep = ", \\\n  ";
    }
    fputc('\n', f);
}

/* Runs gnuplot on script (tg__run_program); the last line it wrote to stderr goes into
 * the error message. With no exit status to be had, the caller judges by the output. */
static tg_status run_gnuplot(const char *prog, char *script, const char *path) {
    char arg0[] = "gnuplot";
    char *argv[] = {arg0, script, NULL};
    tg__run_result r;
    tg_status st = tg__run_program("tg_csv_log_plot", prog, argv, &r);
    if (st != TG_OK || r.how == TG__RUN_UNKNOWN || (r.how == TG__RUN_EXITED && r.code == 0))
        return st;
    return tg__set_error(TG_ERR_IO, "tg_csv_log_plot: gnuplot failed plotting %s%s%s", path,
                         r.err_last[0] ? ": " : "", r.err_last);
}

TG_API tg_status tg_csv_log_plot(const char *csv_path, const char *out_path, const char *title) {
    const char *fn = "tg_csv_log_plot";
    if (!csv_path || !out_path)
        return tg__set_error(TG_ERR_NULL, "%s: %s is NULL", fn, csv_path ? "out_path" : "csv_path");
    const char *base = strrchr(out_path, '/');
    const char *dot = strrchr(base ? base + 1 : out_path, '.');
    const bool svg = dot && strcasecmp(dot, ".svg") == 0;
    if (!svg && !(dot && strcasecmp(dot, ".png") == 0))
        return tg__set_error(TG_ERR_ARG, "%s: cannot tell the format of \"%s\"; use .svg or .png",
                             fn, out_path);
    if (has_control(csv_path) || has_control(out_path) || (title && has_control(title)))
        return tg__set_error(TG_ERR_ARG, "%s: paths and title must not hold control characters",
                             fn);
    char prog[4096];
    if (!tg__find_program("gnuplot", prog, sizeof prog))
        return tg__set_error(TG_ERR_UNSUPPORTED,
                             "%s: plotting %s needs the gnuplot program, which was not found on "
                             "PATH; install gnuplot (Debian: apt-get install gnuplot-nox) or plot "
                             "%s yourself",
                             fn, out_path, csv_path);
    log_layout lay;
    tg_status st = read_layout(fn, csv_path, &lay);
    if (st != TG_OK) return st;

    char script[4096], tmp_out[4096];
    int fd = tg__temp_beside(out_path, "plot", ".gp", script, sizeof script);
    if (fd < 0)
        return tg__set_error(TG_ERR_IO, "%s: cannot create a temporary file next to %s: %s", fn,
                             out_path, strerror(errno));
    int fd2 = tg__temp_beside(out_path, "plot", ".tmp", tmp_out, sizeof tmp_out);
    if (fd2 < 0) {
        st = tg__set_error(TG_ERR_IO, "%s: cannot create a temporary file next to %s: %s", fn,
                           out_path, strerror(errno));
        close(fd);
        unlink(script);
        return st;
    }
    close(fd2);
    FILE *f = fdopen(fd, "w");
    if (!f) {
        close(fd);
        st = tg__set_error(TG_ERR_IO, "%s: %s: %s", fn, script, strerror(errno));
    } else {
        write_script(f, csv_path, tmp_out, svg, title, &lay);
        if (ferror(f) | (fclose(f) != 0))
            st = tg__set_error(TG_ERR_IO, "%s: writing %s failed", fn, script);
    }
    if (st == TG_OK) st = run_gnuplot(prog, script, out_path);
    unlink(script);
    struct stat sb;
    if (st == TG_OK && (stat(tmp_out, &sb) != 0 || sb.st_size == 0))
        st = tg__set_error(TG_ERR_IO, "%s: gnuplot wrote nothing for %s", fn, out_path);
    if (st != TG_OK) {
        unlink(tmp_out);
        return st;
    }
    return tg__commit_file(fn, tmp_out, out_path);
}
