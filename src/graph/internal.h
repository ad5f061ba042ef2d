/* src/graph/internal.h: the graph's internal types and helpers, shared by src/graph
 * and src/ops. Not installed. Internal names carry the tg__ prefix and hidden
 * visibility (the library builds with -fvisibility=hidden). */
#ifndef TG_GRAPH_INTERNAL_H
#define TG_GRAPH_INTERNAL_H

#include <stdarg.h>
#include <string.h>

#include "tapegrad.h"

#if defined(__GNUC__)
#define TG_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define TG_PRINTF(a, b)
#endif

typedef struct tg_node tg_node;

/* An op descriptor: one static instance per op, defined in its op file. */
typedef struct tg_op {
    const char *name;              /* "matmul": shown in DOT and in errors */
    void (*backward)(tg_node *n);  /* reads n->out->grad, adds into the inputs' gradients */
} tg_op;

/* tensor flags */
enum {
    TG_T_REQUIRES_GRAD = 1u << 0,
    TG_T_WRAPPED = 1u << 1,    /* data is the caller's memory */
    TG_T_PERSISTENT = 1u << 2, /* outlives graph resets (parameters, issue "nn") */
    TG_T_GRAD_STALE = 1u << 3, /* backward: grad holds garbage, zero before adding to it */
};

struct tg_tensor {
    tg_real *data;     /* numel elements, 64-byte aligned unless wrapped */
    tg_real *grad;     /* NULL until backward reaches it */
    tg_graph *g;       /* the graph that made it */
    tg_node *node;     /* the node that produced it, or NULL for a leaf */
    const char *name;  /* NULL or a string in the arena */
    int64_t numel;
    int shape[TG_MAX_DIMS];
    int ndim;
    unsigned flags;
};

/* Maximum inputs stored inline in a node; more (concat) go to the arena. */
#define TG_NODE_INLINE_IN 2
/* Integer and real arguments an op may keep for its backward. */
#define TG_NODE_IARGS (TG_MAX_DIMS * 2)
#define TG_NODE_FARGS 2

struct tg_node {
    const tg_op *op;
    tg_tensor *out;
    tg_tensor **in;        /* nin inputs (points to in_inline when nin <= 2) */
    int nin;
    unsigned mark;         /* backward's visit epoch */
    int64_t index;         /* position on the tape */
    int iarg[TG_NODE_IARGS];
    double farg[TG_NODE_FARGS];
    void *saved;           /* op-specific data in the arena, or NULL */
    tg_tensor *in_inline[TG_NODE_INLINE_IN];
};

/* ---- arena ------------------------------------------------------------------------ */
typedef struct tg_block tg_block;
struct tg_block {
    tg_block *next;
    size_t size; /* usable bytes after the header */
    size_t used;
    /* data follows, 64-byte aligned */
};

struct tg_graph {
    tg_block *first, *cur;
    size_t used_before_cur; /* bytes used in the blocks before cur */
    size_t peak, reserved;
    int64_t nblocks;

    tg_node **tape;         /* nodes in recording order (a growable array, heap) */
    int64_t ntape, tape_cap;
    int64_t ntensors;

    unsigned epoch;         /* backward visit marks */
    bool grad_enabled;
    tg_status status;
    char error[512];

    tg_rng rng;
    bool training;          /* dropout and batch norm behave as in training */
};

/* Aligned, uninitialised memory from g's arena; NULL (and the graph's error set)
 * when the system is out of memory. Blocks are kept across resets. */
void *tg__alloc(tg_graph *g, size_t bytes);
void *tg__calloc(tg_graph *g, size_t bytes);
void tg__arena_rewind(tg_graph *g);
void tg__arena_free(tg_graph *g);

/* Counted heap allocation (tg_alloc_count). */
void *tg__malloc(size_t bytes);
void *tg__realloc(void *p, size_t bytes);
void tg__free(void *p);
/* Counted 64-byte aligned heap memory (free with tg__free); bytes may be 0. */
void *tg__aligned_alloc(size_t bytes);

/* ---- errors ----------------------------------------------------------------------- */
/* Records the graph's first error (later ones are ignored) and copies it to
 * tg_last_error. Every graph error passes through here: a place for a breakpoint. */
void tg__fail(tg_graph *g, tg_status st, const char *fmt, ...) TG_PRINTF(3, 4);
/* Sets this thread's last error (functions outside a graph). Returns st. */
tg_status tg__set_error(tg_status st, const char *fmt, ...) TG_PRINTF(2, 3);
tg_status tg__vset_error(tg_status st, const char *fmt, va_list ap);

/* Writes "[2,3]" into buf (size >= TG_SHAPE_STR) and returns buf. */
#define TG_SHAPE_STR 96
char *tg__shape_str(int ndim, const int *shape, char *buf);
#define TG_SHAPE(t, buf) tg__shape_str((t)->ndim, (t)->shape, (buf))

/* ---- tensors and the tape ---------------------------------------------------------- */
/* Validates ndim/shape, computes numel (overflow-checked) and makes a tensor with
 * uninitialised data; op names the caller in an error. NULL on error. */
tg_tensor *tg__tensor_make(tg_graph *g, const char *op, int ndim, const int *shape);

/* Starts an op: false (and, where it is the first error, a message) if g is NULL or
 * in error, an input is NULL, or an input belongs to another graph. */
bool tg__op_begin(tg_graph *g, const char *op, int n, tg_tensor *const *in);
#define TG_BEGIN(g, name, ...) \
    tg__op_begin((g), (name), (int)(sizeof((tg_tensor *[]){__VA_ARGS__}) / sizeof(tg_tensor *)), \
                 (tg_tensor *[]){__VA_ARGS__})

/* Records a node for out when the graph records gradients and an input requires
 * them (out then requires gradients too). Returns the node (to store arguments in),
 * or NULL when nothing is recorded. On allocation failure it records the error and
 * returns NULL; callers check tg__failed(g) if that matters. */
tg_node *tg__record(tg_graph *g, const tg_op *op, tg_tensor *out, int nin,
                    tg_tensor *const *in);
static inline bool tg__failed(const tg_graph *g) { return g->status != TG_OK; }

/* For backward rules: the gradient buffer of t, allocated and zeroed in the arena
 * when t has none yet, or NULL when t does not require a gradient. Rules add into it.
 * (During backward an intermediate's buffer is zeroed lazily, here, on first use.) */
tg_real *tg__grad_buf(tg_tensor *t);
/* The same for a rule that can write every element of t's gradient at once: when
 * *overwrite comes back true, the buffer holds garbage and the rule must store into
 * every element (the value 0 + v, so that a -0 comes out as zero-then-add would make
 * it) instead of adding; when false, it adds as usual. */
tg_real *tg__grad_for_write(tg_tensor *t, bool *overwrite);
static inline bool tg__needs_grad(const tg_tensor *t) {
    return (t->flags & TG_T_REQUIRES_GRAD) != 0;
}

/* ---- shapes and broadcasting ------------------------------------------------------ */
/* Normalises an axis for an ndim-dimensional tensor (negative from the end);
 * returns -1 if out of range. */
static inline int tg__axis(int axis, int ndim) {
    if (axis < 0) axis += ndim;
    return (axis < 0 || axis >= ndim) ? -1 : axis;
}
/* NumPy broadcast of two shapes into out (TG_MAX_DIMS entries). Returns the output
 * ndim, or -1 if they do not broadcast. */
int tg__broadcast_shape(int an, const int *as, int bn, const int *bs, int *out);
/* Element strides of a tensor of shape (n, s) seen as a broadcast to (on, os):
 * stride 0 along stretched or missing axes. Fills st[on]. */
void tg__broadcast_strides(int n, const int *s, int on, const int *os, int64_t *st);
/* dst (shape dn, ds) += src (shape sn, ss) summed over the axes along which dst was
 * broadcast to src's shape. The shared helper for every gradient that flows into
 * a broadcast input. */
void tg__sum_to_shape(tg_real *dst, int dn, const int *ds, const tg_real *src, int sn,
                      const int *ss);
static inline bool tg__same_shape(const tg_tensor *a, const tg_tensor *b) {
    if (a->ndim != b->ndim) return false;
    for (int i = 0; i < a->ndim; i++)
        if (a->shape[i] != b->shape[i]) return false;
    return true;
}

/* ---- random numbers (rng.c) ---------------------------------------------------------
 * keep[i] = (tg_rng_uniform(r) >= p) for i < n, drawn in order: exactly the mask of n
 * calls (and r ends where they leave it), several times faster. */
void tg__rng_keep_mask(tg_rng *r, double p, uint8_t *keep, int64_t n);

/* ---- vector width ------------------------------------------------------------------
 * TG_SIMD on a hot loop's function compiles it three times, for AVX-512, AVX2 and the
 * baseline, and picks one when the library is loaded (an ifunc): the library still runs
 * on any x86-64. Only for loops whose every element is computed the same way at any
 * width (no reassociated sums, and gcc in ISO C mode does not fuse a*b+c): the results
 * are the same bits on every machine. Needs gcc and glibc's ifuncs; elsewhere (or with
 * -DTG_NO_SIMD_CLONES) it is empty and the loops are compiled once. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__GLIBC__) &&       \
    !defined(TG_NO_SIMD_CLONES)
#define TG_SIMD __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define TG_SIMD
#endif

/* ---- threads -------------------------------------------------------------------- */
/* Runs the for statement given (a loop whose iterations are independent) on nth
 * threads when nth > 1, else as a plain loop: an OpenMP region costs some 0.4 us even
 * when an if clause keeps it on one thread, which small ops would pay at every call.
 * (The statement is expanded twice; it may hold no preprocessor directive.) */
#define TG_PARALLEL_FOR(nth, ...)                                                                  \
    do {                                                                                           \
        if ((nth) > 1) {                                                                           \
            _Pragma("omp parallel for schedule(static) num_threads(nth)") __VA_ARGS__              \
        } else {                                                                                   \
            __VA_ARGS__                                                                            \
        }                                                                                          \
    } while (0)

/* Loops over at least this many elements are split across threads. */
#define TG_PAR_MIN 32768
int tg__threads(void); /* threads for loops now: 1 while the adaptive count pauses */
/* The adaptive thread count (settings.c): a sample, taken by tg_graph_reset when one is
 * due; the decision on a sample (now, and the calling thread's time spent waiting for
 * a core so far, in seconds), exposed for tests; and a fresh start, not paused. */
void tg__threads_tick(void);
void tg__threads_observe(double now, double wait);
void tg__threads_adaptive_restart(void);

/* ---- the op table (src/ops/registry.c) -------------------------------------------- */
int tg__op_count(void);
const tg_op *tg__op_at(int i); /* NULL outside 0..count-1 */

/* ---- files and helper programs (fileio.c) ------------------------------------------
 * A save writes a temporary beside its target, syncs it and renames it over the target,
 * so a failure leaves the previous file as it was. Used by dot.c, train.c and ckpt.c. */
/* Creates a new file "<dir>/.tg<tag>-<pid>-<k><ext>" beside path (a relative dir gets
 * "./", so the name never starts with '-') with O_EXCL and mode 0666 (the umask applies
 * as for any new file); the name goes into buf. Returns the fd (write-only,
 * close-on-exec; the caller closes it and removes the file), or -1 with errno set
 * (ENAMETOOLONG when the name does not fit in n bytes). */
int tg__temp_beside(const char *path, const char *tag, const char *ext, char *buf, size_t n);
/* fsync(fd): 0, or the errno (EINVAL, a descriptor that cannot be synced, counts as 0). */
int tg__fsync(int fd);
/* Renames tmp over path; an existing regular file's permission bits carry over. 0, or
 * rename's errno after removing tmp (path is then untouched). */
int tg__replace_file(const char *tmp, const char *path);
/* tg__replace_file with the error set as "<fn>: cannot write <path>: <reason>". */
tg_status tg__commit_file(const char *fn, const char *tmp, const char *path);
/* Syncs the directory holding path, so a rename into it survives a crash (best effort). */
void tg__sync_dir(const char *path);

/* Finds an executable regular file called name on PATH as execvp would (an empty entry
 * is the current directory; no PATH: /usr/bin:/bin); its path into buf. false if none. */
bool tg__find_program(const char *name, char *buf, size_t n);
/* How a program run by tg__run_program ended, and what it wrote to stderr. */
typedef enum tg__run_how {
    TG__RUN_EXITED,  /* code: the exit status */
    TG__RUN_KILLED,  /* code: the signal */
    TG__RUN_UNKNOWN, /* the caller ignores SIGCHLD: no status; judge by the output */
} tg__run_how;
typedef struct tg__run_result {
    tg__run_how how;
    int code;
    char err_head[256]; /* the start of stderr, line breaks as spaces, no trailing space */
    char err_last[256]; /* the last non-empty line of stderr (its first 255 bytes) */
} tg__run_result;
/* Runs prog (a path) with argv and the caller's environment, without a shell: stdin and
 * stdout on /dev/null, stderr captured into r. TG_OK once it ran (r says how it ended),
 * or TG_ERR_IO with "<fn>: pipe: ..." or "<fn>: cannot run <prog>: ..." set. */
tg_status tg__run_program(const char *fn, const char *prog, char *const argv[], tg__run_result *r);

#endif
