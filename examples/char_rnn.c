/* char_rnn: a character-level LSTM language model, Karpathy's char-rnn in C.
 *
 * It reads a text (by default the GNU GPL version 3, which every Debian machine has in
 * /usr/share/common-licenses/GPL-3), makes its characters the vocabulary, and learns to
 * predict each character from the ones before it:
 *
 *     embedding [V, 64] -> LSTM (64 -> 128) -> linear (128 -> V) -> cross-entropy
 *
 * trained with Adam and truncated backpropagation through time: the training text is
 * cut into B parallel streams, each read in chunks of S characters; one step unrolls the
 * LSTM over one chunk of every stream (x [S, B]), backpropagates through those S steps
 * only, clips the gradients' global norm to 5 (tg_clip_grad_norm) and updates. The
 * final states of a chunk start the next one (their values, copied: the graph is reset
 * between steps, so gradients never flow across chunks); they restart from zero when
 * the streams wrap around. The last 10% of the text is held out: every report prints
 * the training loss (the mean over the steps since the last report), the held-out loss
 * and the held-out next-character accuracy, and every so often a sample of text drawn
 * from the model one character at a time (no tape: no-grad mode) at temperature 0.8.
 *
 *     char_rnn [FILE] [--steps N] [--hidden H] [--embed E] [--seq S] [--batch B]
 *              [--lr X] [--clip X] [--seed N] [--threads N] [--report N]
 *              [--sample-every N] [--sample-len N] [--temperature X]
 *              [--log FILE.csv] [--plot FILE.svg|.png]
 *
 * Defaults: 800 steps, H 128, E 64, S 64, B 32, Adam lr 2e-3, clip 5, seed 42, one
 * thread (the products are small: [32,128] @ [128,512] a step; on a busy machine a
 * second thread mostly waits); a report every 50 steps (and one before training) and
 * a sample every 200. --log writes the curve as CSV
 * (tapegrad/train.h's format with its val_loss column: loss, accuracy, held-out
 * accuracy and held-out loss per report) and
 * --plot draws it with gnuplot. Exits 0 when the training loss fell (the last report's
 * below the first one's), 1 otherwise or on an error, 2 for a bad command line.
 */
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <tapegrad.h>

#include "common.h"

#define DEFAULT_TEXT "/usr/share/common-licenses/GPL-3"

typedef struct options {
    const char *file, *log, *plot;
    int steps, hidden, embed, seq, batch, threads, report, sample_every, sample_len;
    double lr, clip, temperature;
    unsigned long long seed;
} options;

static void usage(FILE *out) {
    fprintf(out,
            "usage: char_rnn [FILE] [--steps N] [--hidden H] [--embed E] [--seq S] [--batch B]\n"
            "                [--lr X] [--clip X] [--seed N] [--threads N] [--report N]\n"
            "                [--sample-every N] [--sample-len N] [--temperature X]\n"
            "                [--log FILE.csv] [--plot FILE.svg|.png]\n"
            "Trains a character-level LSTM language model on FILE (default " DEFAULT_TEXT ")\n"
            "with truncated backpropagation through time, printing the loss and samples.\n"
            "Defaults: --steps 800 --hidden 128 --embed 64 --seq 64 --batch 32 --lr 0.002\n"
            "--clip 5 --seed 42 --report 50 --sample-every 200 --sample-len 240\n"
            "--temperature 0.8 --threads 1.\n");
}

/* ---- the text -------------------------------------------------------------------------- */

typedef struct corpus {
    int32_t *ids;             /* the text as vocabulary indices */
    int64_t n;                /* its length */
    int vocab;                /* V: distinct bytes */
    unsigned char chars[256]; /* index -> byte */
    int index[256];           /* byte -> index, -1 if absent */
} corpus;

/* Reads the whole file; false (after a message) when it cannot. */
static bool load(const char *path, corpus *c) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "char_rnn: cannot read %s: %s\n", path, strerror(errno));
        if (!strcmp(path, DEFAULT_TEXT))
            fprintf(stderr, "char_rnn: give a text file instead: char_rnn FILE\n");
        return false;
    }
    size_t cap = 1 << 16, n = 0;
    unsigned char *buf = malloc(cap);
    for (size_t got; buf && (got = fread(buf + n, 1, cap - n, f)) > 0;) {
        n += got;
        if (n == cap) {
            unsigned char *b2 = cap <= (SIZE_MAX >> 2) ? realloc(buf, cap * 2) : NULL;
            if (!b2) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = b2, cap *= 2;
        }
    }
    const bool bad = !buf || ferror(f);
    fclose(f);
    if (bad) {
        fprintf(stderr, "char_rnn: %s: %s\n", path, buf ? "read error" : "out of memory");
        free(buf);
        return false;
    }
    bool seen[256] = {false};
    for (size_t i = 0; i < n; i++) seen[buf[i]] = true;
    c->vocab = 0;
    for (int b = 0; b < 256; b++) {
        c->index[b] = seen[b] ? c->vocab : -1;
        if (seen[b]) c->chars[c->vocab++] = (unsigned char)b;
    }
    c->ids = malloc((n ? n : 1) * sizeof *c->ids);
    if (!c->ids) {
        free(buf);
        fprintf(stderr, "char_rnn: out of memory\n");
        return false;
    }
    for (size_t i = 0; i < n; i++) c->ids[i] = c->index[buf[i]];
    c->n = (int64_t)n;
    free(buf);
    return true;
}

/* ---- the model --------------------------------------------------------------------------- */

typedef struct model {
    tg_tensor *embed;     /* [V, E] */
    tg_lstm_cell lstm;    /* E -> H */
    tg_linear_layer head; /* H -> V */
    int vocab, hidden;
} model;

static bool model_init(model *m, tg_params *p, int vocab, int embed, int hidden) {
    m->vocab = vocab, m->hidden = hidden;
    m->embed = tg_params_add(p, "embed.weight", 2, (int[]){vocab, embed});
    return m->embed && tg_init_tensor(m->embed, TG_INIT_NORMAL, 0, 1, tg_params_rng(p)) == TG_OK &&
           tg_lstm_cell_init(&m->lstm, p, "lstm", embed, hidden) == TG_OK &&
           tg_linear_layer_init(&m->head, p, "head", hidden, vocab, NULL) == TG_OK;
}

/* A set of B streams over part of the text, read S characters at a time, with the
 * LSTM states that carry from one chunk to the next. */
typedef struct streams {
    const int32_t *ids;
    int64_t len; /* characters per stream */
    int B, S;
    int64_t chunks, next; /* chunks per pass; the next one to read */
    tg_real *h, *c;       /* [B, H] each: the states after the last chunk */
    int32_t *x, *y;       /* [S, B] each: a chunk's inputs and targets, time first */
} streams;

static bool streams_init(streams *s, const int32_t *ids, int64_t n, int B, int S, int H) {
    *s = (streams){.ids = ids, .len = (n - 1) / B, .B = B, .S = S};
    s->chunks = s->len > 0 ? (s->len - 1) / S : 0;
    s->h = calloc((size_t)B * H, sizeof *s->h);
    s->c = calloc((size_t)B * H, sizeof *s->c);
    s->x = malloc((size_t)B * S * sizeof *s->x);
    s->y = malloc((size_t)B * S * sizeof *s->y);
    return s->h && s->c && s->x && s->y;
}

static void streams_free(streams *s) { free(s->h), free(s->c), free(s->x), free(s->y); }

/* Fills x and y with the next chunk; at the start of a pass the states go back to 0.
 * Returns true when this chunk began a new pass. */
static bool streams_next(streams *s, int H) {
    const bool wrapped = s->next == 0;
    if (wrapped) {
        memset(s->h, 0, (size_t)s->B * H * sizeof *s->h);
        memset(s->c, 0, (size_t)s->B * H * sizeof *s->c);
    }
    for (int t = 0; t < s->S; t++)
        for (int b = 0; b < s->B; b++) {
            const int64_t pos = b * s->len + s->next * s->S + t;
            s->x[t * s->B + b] = s->ids[pos];
            s->y[t * s->B + b] = s->ids[pos + 1];
        }
    s->next = (s->next + 1) % s->chunks;
    return wrapped;
}

/* Runs the model over the current chunk of s from its states; returns the logits
 * [S*B, V] (row t*B + b) and writes the final states back into s (their values: the
 * copy is what cuts the gradient between chunks, so call it after backward). */
static tg_tensor *forward(tg_graph *g, const model *m, streams *s, tg_tensor **h_last,
                          tg_tensor **c_last) {
    const int B = s->B, S = s->S, H = m->hidden;
    tg_tensor *x = tg_embedding(g, m->embed, s->x, 2, (int[]){S, B}); /* [S,B,E] */
    tg_tensor *h0 = tg_tensor_from(g, 2, (int[]){B, H}, s->h);
    tg_tensor *c0 = tg_tensor_from(g, 2, (int[]){B, H}, s->c);
    tg_tensor *out = tg_lstm_unroll(g, &m->lstm, x, h0, c0, h_last, c_last); /* [S,B,H] */
    tg_tensor *logits = tg_linear_layer_forward(g, &m->head, out);           /* [S,B,V] */
    return tg_reshape(g, logits, 2, (int[]){S * B, m->vocab});
}

static void keep_states(streams *s, tg_tensor *h_last, tg_tensor *c_last, int H) {
    memcpy(s->h, tg_data(h_last), (size_t)s->B * H * sizeof *s->h);
    memcpy(s->c, tg_data(c_last), (size_t)s->B * H * sizeof *s->c);
}

/* The held-out loss (mean cross-entropy per character) and next-character accuracy
 * over one pass of the held-out streams, in no-grad mode. false on error. */
static bool evaluate(tg_graph *g, const model *m, streams *s, double *loss, double *acc) {
    const bool was_grad = tg_graph_set_grad_enabled(g, false);
    double sum = 0;
    int64_t correct = 0, count = 0;
    bool ok = true;
    s->next = 0;
    for (int64_t k = 0; k < s->chunks && ok; k++) {
        tg_graph_reset(g);
        streams_next(s, m->hidden);
        tg_tensor *hl, *cl;
        tg_tensor *logits = forward(g, m, s, &hl, &cl);
        tg_tensor *l = tg_cross_entropy_loss(g, logits, s->y, TG_REDUCE_SUM, 0);
        const int64_t c = l ? tg_count_correct(logits, s->y) : -1;
        if (!l || c < 0) {
            fprintf(stderr, "char_rnn: evaluating: %s\n",
                    tg_graph_error(g) ? tg_graph_error(g) : tg_last_error());
            ok = false;
            break;
        }
        keep_states(s, hl, cl, m->hidden);
        sum += tg_item(l);
        correct += c;
        count += (int64_t)s->S * s->B;
    }
    tg_graph_set_grad_enabled(g, was_grad);
    *loss = count ? sum / (double)count : NAN;
    *acc = count ? (double)correct / (double)count : NAN;
    return ok;
}

/* Prints len characters drawn from the model, one at a time, after feeding it prime.
 * Each character comes from softmax(logits / temperature). No tape: no-grad mode, and
 * the graph is reset every character (the states are copied out and back in). */
static bool sample(tg_graph *g, const model *m, const corpus *cp, const char *prime, int len,
                   double temperature, tg_rng *r) {
    const int H = m->hidden, V = m->vocab;
    tg_real *h = calloc((size_t)H, sizeof *h), *c = calloc((size_t)H, sizeof *c);
    double *prob = malloc((size_t)V * sizeof *prob);
    const bool was_grad = tg_graph_set_grad_enabled(g, false);
    bool ok = h && c && prob;
    int32_t id = cp->ids[0];
    const size_t np = strlen(prime);
    for (int i = 0; ok && i < (int)np + len - 1; i++) {
        if (i < (int)np) { /* the prime, as far as its characters are in the vocabulary */
            const int k = cp->index[(unsigned char)prime[i]];
            if (k < 0) continue;
            id = k;
            putchar(prime[i]);
        }
        tg_graph_reset(g);
        tg_tensor *x = tg_embedding(g, m->embed, &id, 1, (int[]){1}); /* [1,E] */
        tg_tensor *c2 = NULL;
        tg_tensor *h2 = tg_lstm_cell_step(g, &m->lstm, x, tg_tensor_from(g, 2, (int[]){1, H}, h),
                                          tg_tensor_from(g, 2, (int[]){1, H}, c), &c2);
        tg_tensor *logits = tg_linear_layer_forward(g, &m->head, h2); /* [1,V] */
        if (!logits) {
            fprintf(stderr, "char_rnn: sampling: %s\n", tg_graph_error(g));
            ok = false;
            break;
        }
        memcpy(h, tg_data(h2), (size_t)H * sizeof *h);
        memcpy(c, tg_data(c2), (size_t)H * sizeof *c);
        if (i + 1 < (int)np) continue; /* still reading the prime */
        const tg_real *l = tg_data(logits);
        double mx = -INFINITY, total = 0;
        for (int k = 0; k < V; k++) mx = fmax(mx, (double)l[k] / temperature);
        for (int k = 0; k < V; k++) total += prob[k] = exp((double)l[k] / temperature - mx);
        double u = tg_rng_uniform(r) * total;
        id = V - 1;
        for (int k = 0; k < V; k++)
            if ((u -= prob[k]) < 0) {
                id = k;
                break;
            }
        putchar(cp->chars[id]);
    }
    tg_graph_set_grad_enabled(g, was_grad);
    free(h), free(c), free(prob);
    return ok;
}

static void print_sample(tg_graph *g, const model *m, const corpus *cp, int step, const options *o,
                         tg_rng *r, bool *ok) {
    printf("---- sample after %d steps (temperature %.2g) ----\n", step, o->temperature);
    *ok = *ok && sample(g, m, cp, "The ", o->sample_len, o->temperature, r);
    printf("\n----\n");
    fflush(stdout);
}

int main(int argc, char **argv) {
    options o = {.file = NULL,
                 .steps = 800,
                 .hidden = 128,
                 .embed = 64,
                 .seq = 64,
                 .batch = 32,
                 .threads = 1,
                 .report = 50,
                 .sample_every = 200,
                 .sample_len = 240,
                 .lr = 2e-3,
                 .clip = 5,
                 .temperature = 0.8,
                 .seed = 42};
    const ex_flag flags[] = {EX_FLAG_STR("--log", &o.log),
                             EX_FLAG_STR("--plot", &o.plot),
                             EX_FLAG_INT("--steps", &o.steps, 1, 10000000),
                             EX_FLAG_INT("--hidden", &o.hidden, 1, 8192),
                             EX_FLAG_INT("--embed", &o.embed, 1, 8192),
                             EX_FLAG_INT("--seq", &o.seq, 1, 100000),
                             EX_FLAG_INT("--batch", &o.batch, 1, 100000),
                             EX_FLAG_INT("--threads", &o.threads, 1, 4096),
                             EX_FLAG_INT("--report", &o.report, 1, 10000000),
                             EX_FLAG_INT("--sample-every", &o.sample_every, 0, 10000000),
                             EX_FLAG_INT("--sample-len", &o.sample_len, 0, 1000000),
                             EX_FLAG_REAL("--lr", &o.lr, DBL_TRUE_MIN, DBL_MAX),
                             EX_FLAG_REAL("--clip", &o.clip, 0, DBL_MAX),
                             EX_FLAG_REAL("--temperature", &o.temperature, DBL_TRUE_MIN, DBL_MAX),
                             EX_FLAG_SEED("--seed", &o.seed)};
    int rc = ex_parse("char_rnn", argc, argv, flags, 15, &o.file);
    if (rc) {
        usage(rc < 0 ? stdout : stderr);
        return rc < 0 ? 0 : 2;
    }
    if (!o.file) o.file = DEFAULT_TEXT;
    corpus cp = {0};
    if (!load(o.file, &cp)) return 1;
    /* the last 10% is held out */
    const int64_t n_val = cp.n / 10, n_train = cp.n - n_val;
    const int val_batch = o.batch < 8 ? o.batch : 8;
    if ((n_train - 1) / o.batch < o.seq + 1 || (n_val - 1) / val_batch < o.seq + 1) {
        fprintf(stderr,
                "char_rnn: %s is too short (%lld characters) for --batch %d --seq %d: each of "
                "the %d training streams, and of the %d held-out ones (the last 10%%), needs "
                "more than %d characters\n",
                o.file, (long long)cp.n, o.batch, o.seq, o.batch, val_batch, o.seq + 1);
        free(cp.ids);
        return 1;
    }
    if (o.threads > 0) tg_set_num_threads(o.threads);

    tg_graph *g = tg_graph_new();
    tg_params *p = tg_params_new();
    tg_optim *opt = NULL;
    tg_csv_log *curve = NULL;
    streams train = {0}, val = {0};
    model m = {0};
    tg_rng r;
    tg_rng_seed(&r, o.seed);
    rc = 1;
    if (!g || !p) goto fail;
    tg_params_seed(p, o.seed);
    tg_adam_opts ao = tg_adam_defaults(o.lr);
    if (!model_init(&m, p, cp.vocab, o.embed, o.hidden) || !(opt = tg_adam_new(p, &ao))) goto fail;
    if (!streams_init(&train, cp.ids, n_train, o.batch, o.seq, o.hidden) ||
        !streams_init(&val, cp.ids + n_train, n_val, val_batch, o.seq, o.hidden)) {
        fprintf(stderr, "char_rnn: out of memory\n");
        goto fail;
    }
    if (o.log && !(curve = tg_csv_log_open_with(o.log, TG_CSV_LOG_VAL_LOSS))) goto fail;

    printf("char_rnn: %s, %lld characters (%lld for training, %lld held out), %d distinct\n",
           o.file, (long long)cp.n, (long long)n_train, (long long)n_val, cp.vocab);
    printf("model: embedding %d -> LSTM %d -> linear %d, %lld parameters; tapegrad %s (%s), "
           "%d thread%s\n",
           o.embed, o.hidden, cp.vocab, (long long)tg_params_numel(p), tg_version(), tg_precision(),
           tg_get_num_threads(), tg_get_num_threads() == 1 ? "" : "s");
    printf("training: %d steps of %d streams x %d characters (%lld steps a pass), Adam lr %g, "
           "gradient norm clipped to %g\n",
           o.steps, o.batch, o.seq, (long long)train.chunks, o.lr, o.clip);
    printf("loss: cross-entropy in nats per character (uniform guessing: %.3f)\n",
           log((double)cp.vocab));
    fflush(stdout);

    double vloss0, vacc0; /* the untrained model: about uniform guessing */
    if (!evaluate(g, &m, &val, &vloss0, &vacc0)) goto done;
    printf("step     0  loss    -    held-out loss %.4f  held-out accuracy %5.1f%%\n", vloss0,
           100 * vacc0);
    tg_log_row row0 = {.epoch = 0,
                       .step = 0,
                       .loss = NAN,
                       .accuracy = NAN,
                       .val_accuracy = vacc0,
                       .lr = o.lr,
                       .seconds = 0,
                       .val_loss = vloss0};
    if (curve && tg_csv_log_write(curve, &row0) != TG_OK) goto fail;
    const double t0 = tg_time_now();
    double first_loss = NAN, last_loss = NAN, win_loss = 0, win_norm = 0, max_norm = 0, clipped = 0;
    int64_t win_correct = 0, win_chars = 0, win_steps = 0, epoch = 0;
    bool ok = true;
    for (int step = 1; step <= o.steps && ok; step++) {
        tg_graph_reset(g);
        epoch += streams_next(&train, o.hidden);
        tg_tensor *hl, *cl;
        tg_tensor *logits = forward(g, &m, &train, &hl, &cl);
        tg_tensor *loss = tg_cross_entropy_loss(g, logits, train.y, TG_REDUCE_MEAN, 0);
        if (tg_backward(g, loss) != 0) {
            fprintf(stderr, "char_rnn: step %d: %s\n", step, tg_graph_error(g));
            goto done;
        }
        keep_states(&train, hl, cl, o.hidden);
        const double norm = tg_clip_grad_norm(p, o.clip);
        clipped += norm > o.clip;
        win_norm += norm;
        max_norm = fmax(max_norm, norm);
        if (tg_optim_step(opt) != TG_OK) goto fail;
        tg_optim_zero_grad(opt);
        win_loss += tg_item(loss);
        win_correct += tg_count_correct(logits, train.y);
        win_chars += (int64_t)o.seq * o.batch;
        win_steps++;
        if (step % o.report == 0 || step == o.steps) {
            double vloss, vacc;
            if (!evaluate(g, &m, &val, &vloss, &vacc)) goto done; /* the message is out */
            const double tl = win_loss / (double)win_steps, ta = (double)win_correct / win_chars;
            if (first_loss != first_loss) first_loss = tl;
            last_loss = tl;
            printf("step %5d  loss %.4f  held-out loss %.4f  held-out accuracy %5.1f%%  "
                   "grad norm %.2f (max %.2f, %.0f%% clipped)  (%.1f s)\n",
                   step, tl, vloss, 100 * vacc, win_norm / (double)win_steps, max_norm,
                   100 * clipped / (double)win_steps, tg_time_now() - t0);
            fflush(stdout);
            tg_log_row row = {.epoch = (int)epoch,
                              .step = step,
                              .loss = tl,
                              .accuracy = ta,
                              .val_accuracy = vacc,
                              .lr = o.lr,
                              .seconds = tg_time_now() - t0,
                              .val_loss = vloss};
            if (curve && tg_csv_log_write(curve, &row) != TG_OK) goto fail;
            win_loss = win_norm = max_norm = clipped = 0, win_correct = win_chars = win_steps = 0;
        }
        if (o.sample_len > 0 &&
            ((o.sample_every > 0 && step % o.sample_every == 0) || step == o.steps))
            print_sample(g, &m, &cp, step, &o, &r, &ok);
    }
    if (!ok) goto done; /* the message is out */
    const double seconds = tg_time_now() - t0;
    printf("trained %d steps in %.1f s (%.1f ms a step, %.0f characters/s)\n", o.steps, seconds,
           1e3 * seconds / o.steps, (double)o.steps * o.seq * o.batch / seconds);
    if (curve) {
        tg_status st = tg_csv_log_close(curve);
        curve = NULL;
        if (st != TG_OK) goto fail;
        printf("training curve: %s\n", o.log);
        if (o.plot) {
            if (tg_csv_log_plot(o.log, o.plot, "char_rnn: LSTM language model") == TG_OK)
                printf("plot: %s\n", o.plot);
            else
                fprintf(stderr, "char_rnn: no plot: %s\n", tg_last_error());
        }
    }
    printf("loss: %.4f at the first report, %.4f at the last\n", first_loss, last_loss);
    rc = last_loss < first_loss || o.steps <= o.report ? 0 : 1;
    if (rc) fprintf(stderr, "char_rnn: the training loss did not fall\n");
    goto done;

fail:
    if (tg_graph_error(g) || tg_last_error())
        fprintf(stderr, "char_rnn: %s\n", tg_graph_error(g) ? tg_graph_error(g) : tg_last_error());
done:
    tg_csv_log_close(curve);
    streams_free(&train);
    streams_free(&val);
    tg_optim_free(opt);
    tg_params_free(p);
    tg_graph_free(g);
    free(cp.ids);
    return rc;
}
