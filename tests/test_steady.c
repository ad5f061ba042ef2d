/* tests/test_steady.c: the steady state of a training loop: no allocation, no growth.
 *
 * A full MLP training step (batcher, linear, relu, dropout, linear, cross-entropy,
 * backward, Adam step, zero grad) is run for a warm-up epoch, then for more epochs
 * (full batches and a short last one), and must leave unchanged: tapegrad's own heap
 * allocations (tg_alloc_count), the arena's reserved bytes and blocks, the tape's
 * capacity and, step for step, the node count and the arena bytes in use. Where the C
 * library is glibc and no sanitizer replaces malloc, every malloc of the process
 * (OpenMP's and BLAS's too) is counted as well, by wrapping malloc in this program.
 * A second test runs 10,000 small steps and checks the same counters, and the same
 * guard runs on a small CNN (convolutions on both the columns and the Winograd paths,
 * batch norm, pooling, dropout; 1 and 2 threads) and a small LSTM language model
 * (embedding, unrolled cell, clipping). Counting, never timing: these run in CI.
 *
 * White-box checks of what the speed work relies on are here too: the fast Bernoulli
 * mask of dropout draws exactly the mask of one tg_rng_uniform per element, and both
 * matrix kernels (BLAS split across threads, the portable one) agree. */
#include <check.h>
#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <tapegrad.h>

#include "graph/internal.h"
#include "kernels/gemm.h"

#include "tg_test.h"

/* ---- counting every malloc of the process ---------------------------------------------
 * The program's own malloc family is found before the C library's by every library of
 * the process (ELF interposition); each call counts and forwards to glibc's. Not under
 * AddressSanitizer, which must own malloc. */
#if defined(__GLIBC__) && !defined(__SANITIZE_ADDRESS__) && !defined(__clang__)
#define COUNT_MALLOC 1
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);
extern void __libc_free(void *);

static atomic_ulong process_mallocs;

void *malloc(size_t n) {
    atomic_fetch_add_explicit(&process_mallocs, 1, memory_order_relaxed);
    return __libc_malloc(n);
}
void *calloc(size_t n, size_t m) {
    atomic_fetch_add_explicit(&process_mallocs, 1, memory_order_relaxed);
    return __libc_calloc(n, m);
}
void *realloc(void *p, size_t n) {
    atomic_fetch_add_explicit(&process_mallocs, 1, memory_order_relaxed);
    return __libc_realloc(p, n);
}
void *aligned_alloc(size_t al, size_t n) {
    atomic_fetch_add_explicit(&process_mallocs, 1, memory_order_relaxed);
    return __libc_memalign(al, n);
}
int posix_memalign(void **out, size_t al, size_t n) {
    atomic_fetch_add_explicit(&process_mallocs, 1, memory_order_relaxed);
    void *p = __libc_memalign(al, n);
    if (!p) return 12; /* ENOMEM */
    *out = p;
    return 0;
}
void free(void *p) { __libc_free(p); }

static unsigned long mallocs_now(void) { return atomic_load(&process_mallocs); }
#else
#define COUNT_MALLOC 0
static unsigned long mallocs_now(void) { return 0; }
#endif

/* ---- the model --------------------------------------------------------------------- */

typedef struct mlp {
    tg_params *p;
    tg_tensor *w1, *b1, *w2, *b2;
    tg_optim *opt;
    tg_dataset *d;
    tg_batcher *b;
    int in, hidden, classes;
} mlp;

/* n samples of [side, side] bytes, `classes` labels; a model in -> hidden -> classes. */
static void mlp_init(mlp *m, int n, int side, int hidden, int classes, int batch) {
    const int in = side * side;
    uint8_t *bytes = malloc((size_t)n * (size_t)in);
    int32_t *labels = malloc((size_t)n * sizeof *labels);
    ck_assert(bytes && labels);
    tg_rng r;
    tg_rng_seed(&r, 7);
    for (int i = 0; i < n; i++) {
        labels[i] = (int32_t)tg_rng_below(&r, classes);
        for (int k = 0; k < in; k++) /* brighter pixels at a class-dependent place */
            bytes[(size_t)i * in + k] =
                (uint8_t)(tg_rng_below(&r, 64) + (k % classes == labels[i] ? 160 : 0));
    }
    m->d = tg_dataset_from_arrays(n, 2, (int[]){side, side}, bytes, NULL, labels);
    free(bytes);
    free(labels);
    ck_assert_ptr_nonnull(m->d);
    m->in = in, m->hidden = hidden, m->classes = classes;
    m->p = tg_params_new();
    m->w1 = tg_params_add(m->p, "w1", 2, (int[]){hidden, in});
    m->b1 = tg_params_add(m->p, "b1", 1, (int[]){hidden});
    m->w2 = tg_params_add(m->p, "w2", 2, (int[]){classes, hidden});
    m->b2 = tg_params_add(m->p, "b2", 1, (int[]){classes});
    ck_assert(m->w1 && m->b1 && m->w2 && m->b2);
    tg_init_tensor(m->w1, TG_INIT_HE_UNIFORM, 0, 0, tg_params_rng(m->p));
    tg_init_tensor(m->w2, TG_INIT_HE_UNIFORM, 0, 0, tg_params_rng(m->p));
    tg_adam_opts ao = tg_adam_defaults(1e-3);
    m->opt = tg_adam_new(m->p, &ao);
    m->b = tg_batcher_new(m->d, batch, true, false, 11);
    ck_assert(m->opt && m->b);
}

static void mlp_free(mlp *m) {
    tg_batcher_free(m->b);
    tg_optim_free(m->opt);
    tg_params_free(m->p);
    tg_dataset_free(m->d);
}

/* One training step on the next batch (a new epoch when the last one ended). Returns
 * the batch size, or -1 on an error (no ck_assert here: Check may allocate). */
static int train_step(mlp *m, tg_graph *g, double *loss_out) {
    tg_graph_reset(g);
    tg_tensor *x;
    const int32_t *labels;
    int B = tg_batcher_next(m->b, g, &x, &labels);
    if (B == 0) {
        tg_batcher_reset(m->b);
        B = tg_batcher_next(m->b, g, &x, &labels);
    }
    if (B <= 0) return -1;
    tg_optim_zero_grad(m->opt);
    tg_tensor *h = tg_reshape(g, x, 2, (int[]){B, m->in});
    h = tg_linear(g, h, m->w1, m->b1);
    h = tg_relu(g, h);
    h = tg_dropout(g, h, (tg_real)0.2);
    tg_tensor *logits = tg_linear(g, h, m->w2, m->b2);
    tg_tensor *loss = tg_cross_entropy_loss(g, logits, labels, TG_REDUCE_MEAN, 0);
    if (!loss || tg_backward(g, loss) != 0 || tg_optim_step(m->opt) != TG_OK) return -1;
    if (loss_out) *loss_out = tg_item(loss);
    return B;
}

/* What must not change from one step (of the same batch size) to the next. */
typedef struct snapshot {
    uint64_t tg_allocs;
    unsigned long mallocs;
    size_t reserved, used;
    int64_t blocks, nodes, tape_cap;
} snapshot;

static snapshot snap(const tg_graph *g) {
    snapshot s;
    tg_stats st;
    tg_graph_stats(g, &st);
    s.tg_allocs = tg_alloc_count();
    s.mallocs = mallocs_now();
    s.reserved = st.arena_reserved;
    s.used = st.arena_used;
    s.blocks = st.arena_blocks;
    s.nodes = st.nodes;
    s.tape_cap = g->tape_cap;
    return s;
}

/* Runs `steps` steps after one warm-up epoch and checks that nothing grew: at most two
 * batch sizes occur (full, and the short last one), and every step of one size must
 * leave the same arena use and node count. */
static void check_steady(int n, int side, int hidden, int classes, int batch, long steps,
                         int threads) {
    tg_set_num_threads(threads);
    mlp m;
    mlp_init(&m, n, side, hidden, classes, batch);
    tg_graph *g = tg_graph_new();
    ck_assert_ptr_nonnull(g);
    const long per_epoch = (long)tg_batcher_batches(m.b);
    double first_loss = 0, loss = 0;
    for (long i = 0; i < per_epoch + 1; i++) /* warm-up: every batch size seen */
        ck_assert_int_gt(train_step(&m, g, i == 0 ? &first_loss : NULL), 0);

    /* reference snapshots per batch size: taken in the first steady epoch */
    snapshot ref[2] = {{0}}, s0 = snap(g);
    int ref_b[2] = {0, 0};
    long bad_step = -1, bad_field = 0;
    for (long i = 0; i < steps && bad_step < 0; i++) {
        const int B = train_step(&m, g, &loss);
        if (B <= 0) {
            bad_step = i, bad_field = 1;
            break;
        }
        const snapshot s = snap(g);
        const int k = B == batch ? 0 : 1;
        if (!ref_b[k]) {
            ref[k] = s, ref_b[k] = B;
            continue;
        }
        if (s.used != ref[k].used) bad_step = i, bad_field = 2;
        if (s.nodes != ref[k].nodes) bad_step = i, bad_field = 3;
    }
    const snapshot s1 = snap(g);
    /* now it is safe to let Check allocate */
    ck_assert_msg(bad_step < 0, "step %ld went wrong (%s): %s", bad_step,
                  bad_field == 1   ? "the step failed"
                  : bad_field == 2 ? "arena bytes in use changed"
                                   : "node count changed",
                  tg_graph_error(g) ? tg_graph_error(g) : tg_last_error());
    ck_assert_msg(s1.tg_allocs == s0.tg_allocs, "tapegrad allocated %llu times in %ld steady steps",
                  (unsigned long long)(s1.tg_allocs - s0.tg_allocs), steps);
    if (COUNT_MALLOC)
        ck_assert_msg(s1.mallocs == s0.mallocs,
                      "the process called malloc %lu times in %ld steady steps",
                      s1.mallocs - s0.mallocs, steps);
    ck_assert_uint_eq(s1.reserved, s0.reserved);
    ck_assert_int_eq(s1.blocks, s0.blocks);
    ck_assert_int_eq(s1.tape_cap, s0.tape_cap);
    ck_assert_int_eq(s1.nodes, s0.nodes);
    ck_assert(isfinite(loss) && isfinite(first_loss));
    tg_graph_free(g);
    mlp_free(&m);
    tg_set_num_threads(1);
}

/* Fashion-MNIST's shape of model, smaller: 28x28 inputs, 64 hidden, 10 classes, batches
 * of 64 over 1000 samples (15 full batches and one of 40), for 3 more epochs. */
START_TEST(mlp_training_step_allocates_nothing) { check_steady(1000, 28, 64, 10, 64, 48, 1); }
END_TEST

/* The same with two threads (OpenMP regions, the threaded product kernels): batches of
 * 128 and 256 hidden units, so that loops ([128,256]) and products (128x256x784) are
 * really split. */
START_TEST(mlp_training_step_allocates_nothing_threaded) {
    check_steady(600, 28, 256, 10, 128, 12, 2);
}
END_TEST

/* 10,000 small steps: 4x4 inputs, 8 hidden, 3 classes, batches of 8 over 50 samples. */
START_TEST(ten_thousand_steps_do_not_grow) { check_steady(50, 4, 8, 3, 8, 10000, 1); }
END_TEST

/* ---- the convolutional and recurrent paths: the same guard on other steps ----------
 * A step function runs one whole training step on a graph it resets; check_step_steady
 * runs warm-up steps, then `steps` more, and checks the same counters as above. */
typedef int (*step_fn)(void *ctx, tg_graph *g, double *loss);

static void check_step_steady(step_fn step, void *ctx, int warmup, int steps, const char *what) {
    tg_graph *g = tg_graph_new();
    ck_assert_ptr_nonnull(g);
    double first = 0, loss = 0;
    for (int i = 0; i < warmup; i++)
        ck_assert_msg(step(ctx, g, i == 0 ? &first : NULL) == 0, "%s: warm-up step %d: %s", what,
                      i, tg_graph_error(g) ? tg_graph_error(g) : tg_last_error());
    const snapshot s0 = snap(g);
    int bad = -1;
    for (int i = 0; i < steps && bad < 0; i++) {
        if (step(ctx, g, &loss) != 0) bad = i;
        const snapshot s = snap(g);
        if (s.used != s0.used || s.nodes != s0.nodes) bad = i;
    }
    const snapshot s1 = snap(g);
    ck_assert_msg(bad < 0, "%s: step %d failed or changed its arena use or node count: %s", what,
                  bad, tg_graph_error(g) ? tg_graph_error(g) : "(no error)");
    ck_assert_msg(s1.tg_allocs == s0.tg_allocs, "%s: tapegrad allocated %llu times in %d steps",
                  what, (unsigned long long)(s1.tg_allocs - s0.tg_allocs), steps);
    if (COUNT_MALLOC)
        ck_assert_msg(s1.mallocs == s0.mallocs, "%s: the process called malloc %lu times in %d steps",
                      what, s1.mallocs - s0.mallocs, steps);
    ck_assert_uint_eq(s1.reserved, s0.reserved);
    ck_assert_int_eq(s1.blocks, s0.blocks);
    ck_assert_int_eq(s1.tape_cap, s0.tape_cap);
    ck_assert_msg(isfinite(first) && isfinite(loss) && loss < first,
                  "%s: the loss did not fall (%g to %g): not a real training loop", what, first,
                  loss);
    tg_graph_free(g);
}

/* fashion_cnn's kind of model, small: conv 1->8 (columns path), batch norm, relu, max
 * pool, conv 8->16 (3x3: the Winograd path), batch norm, relu, max pool, flatten,
 * linear, dropout, linear; cross-entropy, backward, Adam. A fixed batch of 16 images of
 * 12x12. */
typedef struct cnn {
    tg_params *p;
    tg_conv2d_layer c1, c2;
    tg_batch_norm_layer n1, n2;
    tg_pool2d_layer pool;
    tg_linear_layer f1, f2;
    tg_sequential *seq;
    tg_optim *opt;
    tg_real x[16 * 144];
    int32_t labels[16];
} cnn;

static int cnn_step(void *ctx, tg_graph *g, double *loss_out) {
    cnn *m = ctx;
    tg_graph_reset(g);
    tg_optim_zero_grad(m->opt);
    tg_tensor *x = tg_tensor_wrap(g, 4, (int[]){16, 1, 12, 12}, m->x);
    tg_tensor *loss = tg_cross_entropy_loss(g, tg_sequential_forward(g, m->seq, x), m->labels,
                                            TG_REDUCE_MEAN, 0);
    if (!loss || tg_backward(g, loss) != 0 || tg_optim_step(m->opt) != TG_OK) return -1;
    if (loss_out) *loss_out = tg_item(loss);
    return 0;
}

static void cnn_steady(int threads) {
    tg_set_num_threads(threads);
    cnn *m = calloc(1, sizeof *m);
    ck_assert_ptr_nonnull(m);
    m->p = tg_params_new();
    ck_assert_ptr_nonnull(m->p);
    tg_params_seed(m->p, 5);
    const tg_conv2d_layer_opts same = {.conv = {.padding = {1, 1}}};
    m->pool = (tg_pool2d_layer){TG_POOL_MAX, {.kernel = {2, 2}}};
    tg_sequential *s = m->seq = tg_sequential_new();
    ck_assert(s && tg_conv2d_layer_init(&m->c1, m->p, "c1", 1, 8, 3, 3, &same) == TG_OK &&
              tg_batch_norm_layer_init(&m->n1, m->p, "n1", 8, NULL) == TG_OK &&
              tg_conv2d_layer_init(&m->c2, m->p, "c2", 8, 16, 3, 3, &same) == TG_OK &&
              tg_batch_norm_layer_init(&m->n2, m->p, "n2", 16, NULL) == TG_OK &&
              tg_linear_layer_init(&m->f1, m->p, "f1", 16 * 3 * 3, 32, NULL) == TG_OK &&
              tg_linear_layer_init(&m->f2, m->p, "f2", 32, 4, NULL) == TG_OK);
    ck_assert(tg_sequential_add_conv2d(s, &m->c1) == TG_OK &&
              tg_sequential_add_batch_norm(s, &m->n1) == TG_OK &&
              tg_sequential_add_activation(s, TG_ACT_RELU) == TG_OK &&
              tg_sequential_add_pool2d(s, &m->pool) == TG_OK &&
              tg_sequential_add_conv2d(s, &m->c2) == TG_OK &&
              tg_sequential_add_batch_norm(s, &m->n2) == TG_OK &&
              tg_sequential_add_activation(s, TG_ACT_RELU) == TG_OK &&
              tg_sequential_add_pool2d(s, &m->pool) == TG_OK &&
              tg_sequential_add_flatten(s) == TG_OK &&
              tg_sequential_add_linear(s, &m->f1) == TG_OK &&
              tg_sequential_add_activation(s, TG_ACT_RELU) == TG_OK &&
              tg_sequential_add_dropout(s, 0.2) == TG_OK &&
              tg_sequential_add_linear(s, &m->f2) == TG_OK);
    tg_adam_opts ao = tg_adam_defaults(1e-2);
    m->opt = tg_adam_new(m->p, &ao);
    ck_assert_ptr_nonnull(m->opt);
    tg_rng r;
    tg_rng_seed(&r, 9);
    for (int i = 0; i < 16; i++) { /* class = which quadrant is bright */
        m->labels[i] = i % 4;
        for (int k = 0; k < 144; k++) {
            const int row = k / 12, col = k % 12, q = (row >= 6) * 2 + (col >= 6);
            m->x[i * 144 + k] = (tg_real)((q == i % 4 ? 1.0 : 0.0) + 0.3 * tg_rng_normal(&r));
        }
    }
    check_step_steady(cnn_step, m, 3, 30, threads > 1 ? "cnn, 2 threads" : "cnn");
    tg_optim_free(m->opt);
    tg_sequential_free(m->seq);
    tg_params_free(m->p);
    free(m);
    tg_set_num_threads(1);
}

START_TEST(cnn_training_step_allocates_nothing) { cnn_steady(1); }
END_TEST
START_TEST(cnn_training_step_allocates_nothing_threaded) { cnn_steady(2); }
END_TEST

/* char_rnn's kind of model, small: embedding 12 -> 8, LSTM 8 -> 16 over 10 steps of 4
 * streams, linear 16 -> 12, cross-entropy at every step, backward, gradient norm
 * clipped, Adam. The text is a fixed repeating sequence, so the loss falls. */
typedef struct rnn {
    tg_params *p;
    tg_embedding_layer emb;
    tg_lstm_cell cell;
    tg_linear_layer head;
    tg_optim *opt;
    int32_t in[10 * 4], target[10 * 4];
} rnn;

static int rnn_step(void *ctx, tg_graph *g, double *loss_out) {
    rnn *m = ctx;
    tg_graph_reset(g);
    tg_optim_zero_grad(m->opt);
    tg_tensor *x = tg_embedding_layer_forward(g, &m->emb, m->in, 2, (int[]){10, 4});
    tg_tensor *h = tg_lstm_unroll(g, &m->cell, x, NULL, NULL, NULL, NULL);
    tg_tensor *logits = tg_linear_layer_forward(g, &m->head, tg_reshape(g, h, 2, (int[]){40, 16}));
    tg_tensor *loss = tg_cross_entropy_loss(g, logits, m->target, TG_REDUCE_MEAN, 0);
    if (!loss || tg_backward(g, loss) != 0) return -1;
    tg_clip_grad_norm(m->p, 1.0);
    if (tg_optim_step(m->opt) != TG_OK) return -1;
    if (loss_out) *loss_out = tg_item(loss);
    return 0;
}

START_TEST(lstm_training_step_allocates_nothing) {
    tg_set_num_threads(1);
    rnn *m = calloc(1, sizeof *m);
    ck_assert_ptr_nonnull(m);
    m->p = tg_params_new();
    ck_assert_ptr_nonnull(m->p);
    tg_params_seed(m->p, 3);
    ck_assert(tg_embedding_layer_init(&m->emb, m->p, "emb", 12, 8) == TG_OK &&
              tg_lstm_cell_init(&m->cell, m->p, "lstm", 8, 16) == TG_OK &&
              tg_linear_layer_init(&m->head, m->p, "head", 16, 12, NULL) == TG_OK);
    tg_adam_opts ao = tg_adam_defaults(1e-2);
    m->opt = tg_adam_new(m->p, &ao);
    ck_assert_ptr_nonnull(m->opt);
    for (int t = 0; t < 10; t++) /* stream b reads (t + 3b) mod 12, predicts the next one */
        for (int b = 0; b < 4; b++) {
            m->in[t * 4 + b] = (t + 3 * b) % 12;
            m->target[t * 4 + b] = (t + 3 * b + 1) % 12;
        }
    check_step_steady(rnn_step, m, 3, 30, "lstm");
    tg_optim_free(m->opt);
    tg_params_free(m->p);
    free(m);
}
END_TEST

/* The loss goes down: the steady loop trains (the guard is not guarding a no-op). */
START_TEST(steady_loop_learns) {
    tg_set_num_threads(1);
    mlp m;
    mlp_init(&m, 200, 4, 16, 3, 20);
    tg_graph *g = tg_graph_new();
    double first = 0, sum_first = 0, sum_last = 0, loss = 0;
    for (int i = 0; i < 400; i++) {
        ck_assert_int_gt(train_step(&m, g, &loss), 0);
        if (i == 0) first = loss;
        if (i < 10) sum_first += loss;
        if (i >= 390) sum_last += loss;
    }
    ck_assert(isfinite(first));
    ck_assert_msg(sum_last < 0.5 * sum_first, "loss %g -> %g", sum_first / 10, sum_last / 10);
    tg_graph_free(g);
    mlp_free(&m);
}
END_TEST

/* ---- what the speed work relies on -------------------------------------------------- */

/* Intermediate gradients are cleared lazily (the first rule to reach one stores into it
 * rather than adding): a second backward pass over the same graph must give every
 * intermediate the same gradient again, and every leaf twice its gradient, in a graph
 * where tensors feed several consumers (one that stores, one that adds). */
START_TEST(backward_passes_repeat_exactly) {
    tg_set_num_threads(1);
    tg_graph *g = tg_graph_new();
    tg_rng r;
    tg_rng_seed(&r, 3);
    tg_real xv[6 * 5], wv[4 * 5], bv[4];
    for (int i = 0; i < 30; i++) xv[i] = (tg_real)(tg_rng_uniform(&r) - 0.5);
    for (int i = 0; i < 20; i++) wv[i] = (tg_real)(tg_rng_uniform(&r) - 0.5);
    for (int i = 0; i < 4; i++) bv[i] = (tg_real)(tg_rng_uniform(&r) - 0.5);
    tg_tensor *x = tg_tensor_from(g, 2, (int[]){6, 5}, xv);
    tg_tensor *w = tg_tensor_from(g, 2, (int[]){4, 5}, wv);
    tg_tensor *b = tg_tensor_from(g, 1, (int[]){4}, bv);
    tg_set_requires_grad(x, true);
    tg_set_requires_grad(w, true);
    tg_set_requires_grad(b, true);
    tg_tensor *z = tg_linear(g, x, w, b); /* [6,4] */
    tg_tensor *h = tg_relu(g, z);         /* h feeds three consumers */
    tg_tensor *d = tg_dropout(g, h, (tg_real)0.25);
    tg_tensor *m = tg_mul(g, h, tg_sub(g, d, h)); /* dx of h: stored, then added */
    tg_tensor *e = tg_add(g, tg_div(g, m, tg_add(g, h, tg_scalar(g, 2))), h);
    tg_tensor *logits = tg_matmul(g, e, w); /* w used twice: [6,5] */
    const int32_t labels[6] = {0, 1, 2, 3, 1, 0};
    tg_tensor *loss = tg_add(g, tg_cross_entropy_loss(g, logits, labels, TG_REDUCE_MEAN, 0),
                             tg_mean(g, tg_mul(g, z, z), TG_ALL, false));
    ck_assert_msg(loss != NULL, "%s", tg_graph_error(g));
    tg_tensor *mid[] = {z, h, d, m, e, logits};
    enum { NMID = sizeof mid / sizeof mid[0] };
    tg_real *first[NMID], *leaf[3];
    tg_tensor *leaves[3] = {x, w, b};
    ck_assert_int_eq(tg_backward(g, loss), 0);
    for (int k = 0; k < NMID; k++) {
        first[k] = malloc(sizeof(tg_real) * (size_t)tg_numel(mid[k]));
        memcpy(first[k], tg_grad(mid[k]), sizeof(tg_real) * (size_t)tg_numel(mid[k]));
    }
    for (int k = 0; k < 3; k++) {
        leaf[k] = malloc(sizeof(tg_real) * (size_t)tg_numel(leaves[k]));
        memcpy(leaf[k], tg_grad(leaves[k]), sizeof(tg_real) * (size_t)tg_numel(leaves[k]));
    }
    ck_assert_int_eq(tg_backward(g, loss), 0);
    for (int k = 0; k < NMID; k++)
        for (int64_t i = 0; i < tg_numel(mid[k]); i++)
            ck_assert_msg(memcmp(&first[k][i], &tg_grad(mid[k])[i], sizeof(tg_real)) == 0,
                          "intermediate %d [%lld]: %g then %g", k, (long long)i,
                          (double)first[k][i], (double)tg_grad(mid[k])[i]);
    /* leaves accumulate: twice (to rounding: a leaf with two contributions adds them in
     * another grouping the second time) */
    const double tol = TG_PRECISION_DOUBLE ? 1e-13 : 1e-6;
    for (int k = 0; k < 3; k++)
        for (int64_t i = 0; i < tg_numel(leaves[k]); i++)
            ck_assert_msg(fabs((double)tg_grad(leaves[k])[i] - 2.0 * leaf[k][i]) <=
                              tol * (fabs(2.0 * leaf[k][i]) + 1e-3),
                          "leaf %d [%lld]: %g, then %g (want twice)", k, (long long)i,
                          (double)leaf[k][i], (double)tg_grad(leaves[k])[i]);
    for (int k = 0; k < NMID; k++) free(first[k]);
    for (int k = 0; k < 3; k++) free(leaf[k]);
    tg_graph_free(g);
}
END_TEST

/* tg__rng_keep_mask (dropout) gives exactly the mask of one tg_rng_uniform per element
 * compared with p, and leaves the generator where those draws would. */
START_TEST(fast_dropout_mask_is_the_sequential_one) {
    const double ps[] = {0.2, (double)(float)0.2, 0.5, 1e-12, 0.999999, 0, 1.0 / 3};
    uint8_t want[1031], got[1031];
    for (size_t t = 0; t < sizeof ps / sizeof ps[0]; t++) {
        for (int n = 0; n <= 1031; n += n < 20 ? 1 : 101) {
            tg_rng a, b;
            tg_rng_seed(&a, 1000 + 17 * t + (uint64_t)n);
            b = a;
            for (int i = 0; i < n; i++) want[i] = tg_rng_uniform(&a) >= ps[t];
            tg__rng_keep_mask(&b, ps[t], got, n);
            ck_assert_msg(n == 0 || memcmp(want, got, (size_t)n) == 0, "p %g, n %d", ps[t], n);
            ck_assert_msg(a.state == b.state && a.inc == b.inc, "generator state, p %g n %d", ps[t],
                          n);
        }
    }
}
END_TEST

/* tgk_gemm through BLAS (cut across threads when large) and the portable kernel agree
 * on the products of an MLP step (its shapes, smaller), every transpose, with one and
 * two threads. */
START_TEST(gemm_kernel_choices_agree) {
    const int shapes[][3] = {{64, 256, 300}, {256, 300, 64}, {64, 10, 256},  {10, 256, 64},
                             {64, 256, 10},  {300, 17, 200}, {17, 300, 200}, {129, 129, 129}};
    for (int th = 1; th <= 2; th++) {
        tg_set_num_threads(th);
        for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
            for (int t = 0; t < 4; t++) {
                const int M = shapes[s][0], N = shapes[s][1], K = shapes[s][2];
                const bool ta = t & 1, tb = t & 2;
                const int lda = ta ? M : K, ldb = tb ? K : N;
                tg_real *A = malloc(sizeof(tg_real) * (size_t)M * K);
                tg_real *B = malloc(sizeof(tg_real) * (size_t)K * N);
                tg_real *C1 = malloc(sizeof(tg_real) * (size_t)M * N);
                tg_real *C2 = malloc(sizeof(tg_real) * (size_t)M * N);
                ck_assert(A && B && C1 && C2);
                for (int i = 0; i < M * K; i++) A[i] = (tg_real)((i * 7 % 13) - 6) / 7;
                for (int i = 0; i < K * N; i++) B[i] = (tg_real)((i * 5 % 11) - 5) / 5;
                for (int i = 0; i < M * N; i++) C1[i] = C2[i] = (tg_real)(i % 3);
                tgk_gemm_choose(1);
                tgk_gemm(ta, tb, M, N, K, (tg_real)1.5, A, lda, B, ldb, (tg_real)0.5, C1, N);
                tgk_gemm_choose(2);
                tgk_gemm(ta, tb, M, N, K, (tg_real)1.5, A, lda, B, ldb, (tg_real)0.5, C2, N);
                tgk_gemm_choose(0);
                for (int i = 0; i < M * N; i++)
                    ck_assert_msg(fabs((double)C1[i] - (double)C2[i]) <=
                                      (TG_PRECISION_DOUBLE ? 1e-12 : 1e-4) *
                                          (1 + fabs((double)C2[i])),
                                  "%dx%dx%d ta %d tb %d threads %d at %d: %g vs %g", M, N, K, ta,
                                  tb, th, i, (double)C1[i], (double)C2[i]);
                free(A);
                free(B);
                free(C1);
                free(C2);
            }
        }
    }
    tg_set_num_threads(1);
}
END_TEST

static Suite *suite(void) {
    Suite *s = suite_create("steady");
    TCase *tc = tcase_create("steady");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, mlp_training_step_allocates_nothing);
    tcase_add_test(tc, mlp_training_step_allocates_nothing_threaded);
    tcase_add_test(tc, ten_thousand_steps_do_not_grow);
    tcase_add_test(tc, cnn_training_step_allocates_nothing);
    tcase_add_test(tc, cnn_training_step_allocates_nothing_threaded);
    tcase_add_test(tc, lstm_training_step_allocates_nothing);
    tcase_add_test(tc, steady_loop_learns);
    tcase_add_test(tc, backward_passes_repeat_exactly);
    tcase_add_test(tc, fast_dropout_mask_is_the_sequential_one);
    tcase_add_test(tc, gemm_kernel_choices_agree);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    return tg_test_run(suite());
}
