/* bench/bench.h: what the benchmark programs share: the clocks, medians, peak memory,
 * timing a step many times, and a command line of --name value flags.
 *
 * Header-only (static inline): each program includes it and stays one file. It needs
 * POSIX (clock_gettime, getrusage): bench/meson.build compiles the programs with
 * _POSIX_C_SOURCE. Nothing here allocates or exits; only bench_parse prints. */
#ifndef BENCH_BENCH_H
#define BENCH_BENCH_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

/* Seconds on the monotonic clock (an arbitrary origin): subtract two readings. */
static inline double bench_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* CPU seconds of the whole process (all threads): less disturbed than wall time by
 * other programs sharing the machine. */
static inline double bench_cpu_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* qsort's comparison for doubles, ascending. */
static inline int bench_cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Sorts v[0..n-1] (n >= 1) and returns v[n / 2]: the median, and for an even n the
 * upper of the two middle values. */
static inline double bench_median(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, bench_cmp);
    return v[n / 2];
}

/* The same, but for an even n the mean of the two middle values. */
static inline double bench_median_mean(double *v, int n) {
    const double upper = bench_median(v, n);
    return n % 2 ? upper : 0.5 * (v[n / 2 - 1] + upper);
}

/* The process's peak resident memory in MiB (the whole process, data included). */
static inline double bench_maxrss_mib(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_maxrss / 1024.0; /* Linux: KiB */
}

/* One step of work to time: 0 on success, anything else stops the timing. */
typedef int (*bench_step_fn)(void *ctx);

/* Times reps (1 to 100) timings of iters steps each, after one warm-up timing that is
 * not counted, and returns the median (bench_median) seconds per step; -1 as soon as
 * a step fails. */
static inline double bench_time_steps(int reps, int iters, bench_step_fn step, void *ctx) {
    double t[100];
    for (int r = 0; r <= reps; r++) {
        const double t0 = bench_now();
        for (int i = 0; i < iters; i++)
            if (step(ctx) != 0) return -1;
        if (r > 0) t[r - 1] = (bench_now() - t0) / iters;
    }
    return bench_median(t, reps);
}

/* ---- the command line ---------------------------------------------------------------- */

typedef enum bench_kind {
    BENCH_INT,   /* dst int *: atoi of the value */
    BENCH_LONG,  /* dst long *: atol of the value */
    BENCH_U64,   /* dst unsigned long long *: strtoull of the value */
    BENCH_STR,   /* dst const char **: the value itself */
    BENCH_SET,   /* dst bool *: true; the flag takes no value */
    BENCH_CLEAR, /* dst bool *: false; the flag takes no value */
} bench_kind;

typedef struct bench_flag {
    const char *name; /* "--batch" */
    bench_kind kind;
    void *dst;
} bench_flag;

/* Reads argv[1..argc-1] as flags of the table flags[0..n-1], each followed by its value
 * unless it is BENCH_SET or BENCH_CLEAR. Values are read as atoi does: no checks here,
 * the program checks the ranges. At the first unknown flag or a flag missing its value
 * it prints "usage: <usage>" on stderr and returns false. */
static inline bool bench_parse(int argc, char **argv, const bench_flag *flags, int n,
                               const char *usage) {
    for (int i = 1; i < argc; i++) {
        const bench_flag *f = NULL;
        for (int k = 0; k < n && !f; k++)
            if (!strcmp(argv[i], flags[k].name)) f = &flags[k];
        if (f && (f->kind == BENCH_SET || f->kind == BENCH_CLEAR)) {
            *(bool *)f->dst = f->kind == BENCH_SET;
            continue;
        }
        if (!f || i + 1 >= argc) {
            fprintf(stderr, "usage: %s\n", usage);
            return false;
        }
        const char *v = argv[++i];
        switch (f->kind) {
        case BENCH_INT:
            *(int *)f->dst = atoi(v);
            break;
        case BENCH_LONG:
            *(long *)f->dst = atol(v);
            break;
        case BENCH_U64:
            *(unsigned long long *)f->dst = strtoull(v, NULL, 10);
            break;
        default:
            *(const char **)f->dst = v;
            break;
        }
    }
    return true;
}

#endif
