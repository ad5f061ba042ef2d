/* tests/test_checkpoint.c: tg_params_save / tg_params_load and the checkpoint format.
 *
 * The file format is checked against an encoder written here from docs/checkpoint.md
 * (not from the library), which also crafts files the library never writes: other
 * versions, the other element type, and well-sealed but malformed content. Every
 * rejection must leave the store's values and gradients byte-for-byte as they were. */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <tapegrad.h>

#include "nn/ckpt.h"

#include "tg_test.h"

/* ---- a scratch directory per test ---------------------------------------------------- */

static char dir[256];

static void setup(void) {
    const char *t = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/tgckpt-XXXXXX", t && *t ? t : "/tmp");
    ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void remove_tree(const char *d) {
    DIR *dp = opendir(d);
    if (!dp) return;
    struct dirent *de;
    char p[512];
    while ((de = readdir(dp))) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) continue;
        snprintf(p, sizeof p, "%s/%s", d, de->d_name);
        chmod(p, 0700);
        struct stat st;
        if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
            remove_tree(p);
        else
            unlink(p);
    }
    closedir(dp);
    rmdir(d);
}

static void teardown(void) { remove_tree(dir); }

/* dir/name, in one of a few rotating buffers. */
static const char *at(const char *name) {
    static char buf[4][512];
    static int k;
    char *p = buf[k++ % 4];
    snprintf(p, 512, "%s/%s", dir, name);
    return p;
}

/* Entries of a directory other than . and ..; *temps counts leftover temporaries. */
static int count_files(const char *d, int *temps) {
    DIR *dp = opendir(d);
    ck_assert_ptr_nonnull(dp);
    int n = 0;
    *temps = 0;
    struct dirent *de;
    while ((de = readdir(dp))) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) continue;
        n++;
        if (strncmp(de->d_name, ".tgckpt-", 8) == 0) (*temps)++;
    }
    closedir(dp);
    return n;
}

static unsigned char *slurp(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc((size_t)len + 1);
    ck_assert_ptr_nonnull(b);
    ck_assert_uint_eq(fread(b, 1, (size_t)len, f), (size_t)len);
    fclose(f);
    *n = (size_t)len;
    return b;
}

static void spit(const char *path, const void *b, size_t n) {
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    if (n) ck_assert_uint_eq(fwrite(b, 1, n, f), n);
    ck_assert_int_eq(fclose(f), 0);
}

/* ---- stores --------------------------------------------------------------------------- */

/* A small model: a matrix, a vector, a 0-d scalar and an empty tensor, random values,
 * gradients set to something recognisable. */
static tg_params *model(uint64_t seed) {
    tg_params *p = tg_params_new();
    ck_assert_ptr_nonnull(tg_params_add(p, "fc1.weight", 2, (int[]){3, 4}));
    ck_assert_ptr_nonnull(tg_params_add(p, "fc1.bias", 1, (int[]){3}));
    ck_assert_ptr_nonnull(tg_params_add(p, "scale", 0, NULL));
    ck_assert_ptr_nonnull(tg_params_add(p, "empty", 2, (int[]){0, 2}));
    tg_params_seed(p, seed);
    for (int i = 0; i < tg_params_count(p); i++)
        ck_assert_int_eq(tg_init_tensor(tg_params_at(p, i), TG_INIT_NORMAL, 0, 1, tg_params_rng(p)),
                         TG_OK);
    tg_real *g = tg_params_grads(p);
    for (int i = 0; i < tg_params_count(p); i++) {
        tg_tensor *t = tg_params_at(p, i);
        for (int64_t j = 0; j < tg_numel(t); j++)
            g[tg_data(t) - tg_params_values(p) + j] = (tg_real)(seed + (uint64_t)j) * 0.5f;
    }
    return p;
}

/* Values whose bits a careless format would change: -0, inf, a NaN with a payload,
 * the smallest subnormal. */
static void add_specials(tg_params *p) {
    tg_real *w = tg_data(tg_params_get(p, "fc1.weight"));
    w[0] = (tg_real)-0.0;
    w[1] = (tg_real)-INFINITY;
#if TG_PRECISION_DOUBLE
    const uint64_t nan_bits = 0x7ff8000000001234u;
#else
    const uint32_t nan_bits = 0x7fc01234u;
#endif
    memcpy(&w[2], &nan_bits, sizeof nan_bits);
    w[3] = nextafter((tg_real)0, (tg_real)1);
}

/* A copy of the flat value and gradient buffers. */
typedef struct snap {
    tg_real *v, *g;
    int64_t n;
} snap;

static snap take(tg_params *p) {
    snap s = {NULL, NULL, tg_params_flat_len(p)};
    const size_t bytes = (size_t)s.n * sizeof(tg_real) + 1;
    s.v = malloc(bytes);
    s.g = malloc(bytes);
    ck_assert(s.v && s.g);
    if (s.n) {
        memcpy(s.v, tg_params_values(p), bytes - 1);
        memcpy(s.g, tg_params_grads(p), bytes - 1);
    }
    return s;
}

static bool same(tg_params *p, snap s) {
    const size_t bytes = (size_t)s.n * sizeof(tg_real);
    return tg_params_flat_len(p) == s.n &&
           (s.n == 0 || (memcmp(s.v, tg_params_values(p), bytes) == 0 &&
                         memcmp(s.g, tg_params_grads(p), bytes) == 0));
}

static void drop(snap s) {
    free(s.v);
    free(s.g);
}

/* Values of a and b agree bit for bit, parameter by parameter (matched by name). */
static bool same_values(tg_params *a, tg_params *b) {
    if (tg_params_count(a) != tg_params_count(b)) return false;
    for (int i = 0; i < tg_params_count(a); i++) {
        tg_tensor *x = tg_params_at(a, i), *y = tg_params_get(b, tg_params_name(a, i));
        if (!y || tg_numel(x) != tg_numel(y)) return false;
        if (tg_numel(x) &&
            memcmp(tg_data(x), tg_data(y), (size_t)tg_numel(x) * sizeof(tg_real)) != 0)
            return false;
    }
    return true;
}

/* Loading path into p fails with want (and a message that starts with the function,
 * names the file and contains msg), and p is exactly as it was. */
static void expect_reject_at(tg_params *p, const char *path, tg_status want, const char *msg,
                             int line) {
    snap s = take(p);
    tg_clear_last_error();
    const tg_status st = tg_params_load(p, path);
    const char *m = tg_last_error();
    ck_assert_msg(st == want, "line %d: status %d, want %d (%s)", line, (int)st, (int)want,
                  m ? m : "no message");
    ck_assert_ptr_nonnull(m);
    ck_assert_msg(strncmp(m, "tg_params_load: ", 16) == 0 && strstr(m, path),
                  "line %d: message '%s' does not start with the function and name the file", line,
                  m);
    if (msg) ck_assert_msg(strstr(m, msg), "line %d: message '%s' lacks '%s'", line, m, msg);
    ck_assert_msg(same(p, s), "line %d: a rejected load changed the store", line);
    drop(s);
}
#define expect_reject(p, path, want, msg) expect_reject_at((p), (path), (want), (msg), __LINE__)

/* ---- an independent encoder, from docs/checkpoint.md ------------------------------------ */

typedef struct bytes {
    unsigned char *b;
    size_t n, cap;
} bytes;

static void put(bytes *o, const void *src, size_t k) {
    if (o->n + k > o->cap) {
        o->cap = (o->n + k) * 2 + 64;
        o->b = realloc(o->b, o->cap);
        ck_assert_ptr_nonnull(o->b);
    }
    if (k) memcpy(o->b + o->n, src, k);
    o->n += k;
}

static void set_le(unsigned char *b, uint64_t v, int k) {
    for (int i = 0; i < k; i++) b[i] = (unsigned char)(v >> (8 * i));
}

static void le(bytes *o, uint64_t v, int k) {
    unsigned char b[8];
    set_le(b, v, k);
    put(o, b, (size_t)k);
}

/* Sets the length field and the CRC-32 trailer for the bytes as they are now. */
static void reseal(bytes *o) {
    set_le(o->b + 12, o->n, 8);
    uLong c = crc32(0L, Z_NULL, 0);
    c = crc32(c, o->b, (uInt)(o->n - 4));
    set_le(o->b + o->n - 4, c, 4);
}

typedef struct tent {
    const char *name;
    int ndim;
    int shape[TG_MAX_DIMS];
    const double *v; /* numel values, written as float (es 4) or double (es 8) */
} tent;

static bytes encode(uint32_t version, uint32_t es, const char *kind, int n, const tent *e) {
    static const unsigned char magic[8] = {0x89, 'T', 'G', 'C', 'K', 'P', 'T', '\n'};
    bytes o = {NULL, 0, 0};
    put(&o, magic, 8);
    le(&o, version, 4);
    le(&o, 0, 8); /* length: set by reseal */
    le(&o, es, 4);
    le(&o, es == 4 ? 1 : 2, 4);
    le(&o, strlen(kind), 2);
    put(&o, kind, strlen(kind));
    le(&o, (uint64_t)n, 4);
    for (int i = 0; i < n; i++) {
        le(&o, strlen(e[i].name), 2);
        put(&o, e[i].name, strlen(e[i].name));
        le(&o, (uint64_t)e[i].ndim, 1);
        int64_t numel = 1;
        for (int d = 0; d < e[i].ndim; d++) {
            le(&o, (uint32_t)e[i].shape[d], 4);
            numel *= e[i].shape[d];
        }
        for (int64_t j = 0; j < numel; j++) {
            if (es == 4) {
                const float f = (float)e[i].v[j];
                uint32_t u;
                memcpy(&u, &f, 4);
                le(&o, u, 4);
            } else {
                uint64_t u;
                memcpy(&u, &e[i].v[j], 8);
                le(&o, u, 8);
            }
        }
    }
    le(&o, 0, 4); /* CRC: set by reseal */
    reseal(&o);
    return o;
}

/* The store's parameters as encoder entries; values copied into *vals (free it). */
static int tents_of(tg_params *p, tent *e, double **vals) {
    const int n = tg_params_count(p);
    *vals = malloc((size_t)tg_params_numel(p) * sizeof(double) + 8);
    ck_assert_ptr_nonnull(*vals);
    double *v = *vals;
    for (int i = 0; i < n; i++) {
        tg_tensor *t = tg_params_at(p, i);
        e[i].name = tg_params_name(p, i);
        e[i].ndim = tg_ndim(t);
        for (int d = 0; d < tg_ndim(t); d++) e[i].shape[d] = tg_shape(t)[d];
        e[i].v = v;
        for (int64_t j = 0; j < tg_numel(t); j++) *v++ = (double)tg_data(t)[j];
    }
    return n;
}

/* ---- round trips ------------------------------------------------------------------------ */

START_TEST(round_trip_is_bit_exact) {
    tg_params *a = model(1), *b = model(2);
    add_specials(a);
    const char *path = at("model.ckpt");
    ck_assert_int_eq(tg_params_save(a, path), TG_OK);
    ck_assert(!same_values(a, b));
    snap grads_b = take(b);
    ck_assert_int_eq(tg_params_load(b, path), TG_OK);
    ck_assert(same_values(a, b));
    /* gradients are not part of a checkpoint: b's stay as they were */
    ck_assert(memcmp(grads_b.g, tg_params_grads(b), (size_t)grads_b.n * sizeof(tg_real)) == 0);
    /* and a load changes nothing when the values are already there */
    snap s = take(b);
    ck_assert_int_eq(tg_params_load(b, path), TG_OK);
    ck_assert(same(b, s));
    drop(s);
    drop(grads_b);
    tg_params_free(a);
    tg_params_free(b);
}
END_TEST

START_TEST(matched_by_name_in_any_order) {
    tg_params *a = model(3);
    const char *path = at("model.ckpt");
    ck_assert_int_eq(tg_params_save(a, path), TG_OK);
    tg_params *b = tg_params_new();
    tg_params_add(b, "empty", 2, (int[]){0, 2});
    tg_params_add(b, "scale", 0, NULL);
    tg_params_add(b, "fc1.bias", 1, (int[]){3});
    tg_params_add(b, "fc1.weight", 2, (int[]){3, 4});
    ck_assert_int_eq(tg_params_load(b, path), TG_OK);
    ck_assert(same_values(a, b));
    tg_params_free(a);
    tg_params_free(b);
}
END_TEST

START_TEST(empty_store_and_large_tensor) {
    tg_params *e = tg_params_new();
    ck_assert_int_eq(tg_params_save(e, at("empty.ckpt")), TG_OK);
    ck_assert_int_eq(tg_params_load(e, at("empty.ckpt")), TG_OK);
    tg_params *m = model(1);
    expect_reject(m, at("empty.ckpt"), TG_ERR_FORMAT, "has no entry 'fc1.weight'");
    expect_reject(e, at("model-none.ckpt"), TG_ERR_IO, "cannot open");

    /* More than the library's write buffer, so the file is written in several pieces. */
    tg_params *a = tg_params_new(), *b = tg_params_new();
    tg_params_add(a, "big", 2, (int[]){300, 301});
    tg_params_add(b, "big", 2, (int[]){300, 301});
    ck_assert_int_eq(
        tg_init_tensor(tg_params_get(a, "big"), TG_INIT_UNIFORM, -1, 1, tg_params_rng(a)), TG_OK);
    ck_assert_int_eq(tg_params_save(a, at("big.ckpt")), TG_OK);
    struct stat st;
    ck_assert_int_eq(stat(at("big.ckpt"), &st), 0);
    ck_assert_int_eq(st.st_size,
                     28 + 2 + 6 + 4 + 2 + 3 + 1 + 8 + 300 * 301 * (int)sizeof(tg_real) + 4);
    ck_assert_int_eq(tg_params_load(b, at("big.ckpt")), TG_OK);
    ck_assert(same_values(a, b));
    tg_params_free(a);
    tg_params_free(b);
    tg_params_free(m);
    tg_params_free(e);
}
END_TEST

/* The bytes match an encoder written from the documentation alone. */
START_TEST(layout_matches_the_documentation) {
    tg_params *a = model(4);
    tg_data(tg_params_get(a, "fc1.weight"))[0] = (tg_real)-0.0;
    tg_data(tg_params_get(a, "fc1.weight"))[1] = (tg_real)INFINITY;
    const char *path = at("model.ckpt");
    ck_assert_int_eq(tg_params_save(a, path), TG_OK);
    size_t n;
    unsigned char *got = slurp(path, &n);
    tent e[8];
    double *vals;
    const int ne = tents_of(a, e, &vals);
    bytes want = encode(1, sizeof(tg_real), "params", ne, e);
    ck_assert_uint_eq(n, want.n);
    ck_assert(memcmp(got, want.b, n) == 0);
    /* and what the encoder writes, the library reads */
    tg_params *b = model(5);
    spit(path, want.b, want.n);
    ck_assert_int_eq(tg_params_load(b, path), TG_OK);
    ck_assert(same_values(a, b));
    free(want.b);
    free(vals);
    free(got);
    tg_params_free(a);
    tg_params_free(b);
}
END_TEST

/* A file of the other element type converts: float to double exactly, double to float
 * rounded to nearest; a double beyond float's range is refused. */
START_TEST(the_other_precision_converts) {
    const uint32_t other = sizeof(tg_real) == 4 ? 8 : 4;
    const double v[] = {0.1, -2.5, 1e-30, 3.0, -0.0, INFINITY, 123456.789};
    tg_params *p = tg_params_new();
    tg_params_add(p, "w", 1, (int[]){7});
    tent e = {"w", 1, {7}, v};
    bytes f = encode(1, other, "params", 1, &e);
    spit(at("other.ckpt"), f.b, f.n);
    ck_assert_int_eq(tg_params_load(p, at("other.ckpt")), TG_OK);
    const tg_real *w = tg_data(tg_params_get(p, "w"));
    for (int i = 0; i < 7; i++) {
        const tg_real want = other == 4 ? (tg_real)(float)v[i] : (tg_real)v[i];
        ck_assert_msg(memcmp(&w[i], &want, sizeof want) == 0, "element %d: %g, want %g", i,
                      (double)w[i], (double)want);
    }
    ck_assert(signbit(w[4]));
    free(f.b);
    if (other == 8) {
        const double big[] = {1.0, 1e300, 2.0, 0, 0, 0, 0};
        tent eb = {"w", 1, {7}, big};
        f = encode(1, 8, "params", 1, &eb);
        spit(at("big.ckpt"), f.b, f.n);
        expect_reject(p, at("big.ckpt"), TG_ERR_FORMAT, "beyond the range of float");
        free(f.b);
    }
    tg_params_free(p);
}
END_TEST

/* ---- rejected files -------------------------------------------------------------------- */

START_TEST(every_truncation_is_rejected) {
    tg_params *a = model(1), *b = model(2);
    const char *path = at("model.ckpt"), *cut = at("cut.ckpt");
    ck_assert_int_eq(tg_params_save(a, path), TG_OK);
    size_t n;
    unsigned char *whole = slurp(path, &n);
    char msg[128];
    for (size_t len = 0; len < n; len++) {
        spit(cut, whole, len);
        if (len >= 20)
            snprintf(msg, sizeof msg, "truncated: expected %zu bytes, file has %zu", n, len);
        else
            snprintf(msg, sizeof msg, "truncated: expected at least 39 bytes, file has %zu", len);
        expect_reject(b, cut, TG_ERR_FORMAT, msg);
    }
    free(whole);
    tg_params_free(a);
    tg_params_free(b);
}
END_TEST

START_TEST(every_flipped_bit_is_rejected) {
    tg_params *a = model(1), *b = model(2);
    const char *path = at("model.ckpt"), *bad = at("bad.ckpt");
    ck_assert_int_eq(tg_params_save(a, path), TG_OK);
    size_t n;
    unsigned char *whole = slurp(path, &n);
    int tried = 0;
    for (size_t pos = 0; pos < n; pos++) {
        /* every bit of the header and the trailer, one bit of every other byte */
        const bool all = pos < 28 || pos >= n - 4;
        for (int bit = all ? 0 : (int)(pos % 8); bit < (all ? 8 : (int)(pos % 8) + 1); bit++) {
            whole[pos] ^= (unsigned char)(1u << bit);
            spit(bad, whole, n);
            whole[pos] ^= (unsigned char)(1u << bit);
            const char *why = pos < 8                 ? "not a tapegrad checkpoint"
                              : pos >= 12 && pos < 20 ? "corrupted" /* the length field */
                                                      : "checksum mismatch: the file is corrupted";
            expect_reject(b, bad, TG_ERR_FORMAT, why);
            tried++;
        }
    }
    ck_assert_int_gt(tried, 200);
    free(whole);
    tg_params_free(a);
    tg_params_free(b);
}
END_TEST

START_TEST(not_a_checkpoint) {
    tg_params *b = model(2);
    spit(at("text.ckpt"), "hello, world\n", 13);
    expect_reject(b, at("text.ckpt"), TG_ERR_FORMAT, "not a tapegrad checkpoint");
    spit(at("short.ckpt"), "TG", 2);
    expect_reject(b, at("short.ckpt"), TG_ERR_FORMAT, "not a tapegrad checkpoint");
    spit(at("empty.ckpt"), "", 0);
    expect_reject(b, at("empty.ckpt"), TG_ERR_FORMAT, "truncated");
    /* appended bytes: the header's length disagrees with the file */
    tg_params_save(b, at("model.ckpt"));
    size_t n;
    unsigned char *w = slurp(at("model.ckpt"), &n);
    unsigned char *longer = malloc(n + 3);
    memcpy(longer, w, n);
    memcpy(longer + n, "xyz", 3);
    spit(at("longer.ckpt"), longer, n + 3);
    expect_reject(b, at("longer.ckpt"), TG_ERR_FORMAT, "data was appended");
    free(longer);
    free(w);
    tg_params_free(b);
}
END_TEST

START_TEST(newer_version_is_refused) {
    tg_params *b = model(2);
    tent e[8];
    double *vals;
    const int ne = tents_of(b, e, &vals);
    bytes f = encode(7, sizeof(tg_real), "params", ne, e);
    spit(at("v7.ckpt"), f.b, f.n);
    expect_reject(b, at("v7.ckpt"), TG_ERR_UNSUPPORTED, "version 7 is newer than this library's 1");
    set_le(f.b + 8, 0, 4);
    reseal(&f);
    spit(at("v0.ckpt"), f.b, f.n);
    expect_reject(b, at("v0.ckpt"), TG_ERR_FORMAT, "unknown version 0");
    free(f.b);
    free(vals);
    tg_params_free(b);
}
END_TEST

START_TEST(other_kind_is_refused) {
    tg_params *b = model(2);
    tg__ckpt_entry e[4];
    for (int i = 0; i < 4; i++) {
        tg_tensor *t = tg_params_at(b, i);
        e[i] = (tg__ckpt_entry){tg_params_name(b, i), tg_ndim(t), tg_shape(t), tg_data(t), NULL};
    }
    ck_assert_int_eq(tg__ckpt_save("test", at("adam.ckpt"), "optim:adam", 4, e), TG_OK);
    expect_reject(b, at("adam.ckpt"), TG_ERR_FORMAT, "holds 'optim:adam' state, expected 'params'");
    /* the same entries under the right kind load */
    ck_assert_int_eq(tg__ckpt_save("test", at("p.ckpt"), "params", 4, e), TG_OK);
    ck_assert_int_eq(tg_params_load(b, at("p.ckpt")), TG_OK);
    tg_params_free(b);
}
END_TEST

START_TEST(entry_sets_must_match) {
    tg_params *small = tg_params_new(), *two = tg_params_new(), *x = tg_params_new();
    tg_params_add(small, "fc1.weight", 2, (int[]){2, 3});
    tg_params_add(two, "fc1.weight", 2, (int[]){2, 3});
    tg_params_add(two, "fc2.bias", 1, (int[]){5});
    tg_params_add(x, "fc1.weight", 2, (int[]){2, 3});
    tg_params_add(x, "x", 1, (int[]){1});
    tg_init_tensor(tg_params_at(two, 1), TG_INIT_CONSTANT, 3, 0, NULL);
    ck_assert_int_eq(tg_params_save(small, at("small.ckpt")), TG_OK);
    ck_assert_int_eq(tg_params_save(x, at("x.ckpt")), TG_OK);
    expect_reject(two, at("small.ckpt"), TG_ERR_FORMAT, "has no entry 'fc2.bias'");
    expect_reject(small, at("x.ckpt"), TG_ERR_FORMAT, "holds an extra entry 'x'");
    expect_reject(two, at("x.ckpt"), TG_ERR_FORMAT, "holds an extra entry 'x'");

    tg_params *big = tg_params_new(), *want = tg_params_new();
    tg_params_add(big, "fc1.weight", 2, (int[]){512, 784});
    tg_params_add(want, "fc1.weight", 2, (int[]){256, 784});
    ck_assert_int_eq(tg_params_save(big, at("big.ckpt")), TG_OK);
    char msg[512];
    snprintf(msg, sizeof msg,
             "tg_params_load: %s: entry 'fc1.weight' has shape [512,784], expected [256,784]",
             at("big.ckpt"));
    expect_reject(want, at("big.ckpt"), TG_ERR_FORMAT, NULL);
    ck_assert_str_eq(tg_last_error(), msg);
    tg_params *flat = tg_params_new();
    tg_params_add(flat, "fc1.weight", 1, (int[]){6}); /* same count, other shape */
    expect_reject(flat, at("small.ckpt"), TG_ERR_FORMAT, "has shape [2,3], expected [6]");
    tg_params_free(flat);
    tg_params_free(big);
    tg_params_free(want);
    tg_params_free(small);
    tg_params_free(two);
    tg_params_free(x);
}
END_TEST

/* Files with a valid checksum whose content is still wrong (a broken writer). */
START_TEST(sealed_but_malformed) {
    tg_params *p = tg_params_new(), *p4 = tg_params_new();
    tg_params_add(p, "w", 1, (int[]){3});
    tg_params_add(p4, "w", 1, (int[]){4});
    const double v[] = {1, 2, 3};
    const tent e = {"w", 1, {3}, v};
    const size_t es = sizeof(tg_real);
    /* offsets in this file: kind length at 28, count at 36, entry at 40: name length,
     * 'w' at 42, ndim at 43, dim at 44, data at 48 */
    struct {
        size_t off;
        uint64_t value;
        int width;
        tg_params *into;
        const char *msg;
    } cases[] = {
        {43, 9, 1, p, "has 9 dimensions"},
        {44, 0xffffffffu, 4, p, "negative size"},
        {44, 4, 4, p4, "needs more bytes than the file holds"},
        {40, 0, 2, p, "bad name length 0"},
        {40, 200, 2, p, "bad name length 200"},
        {36, 2, 4, p, "entry 2 of 2 is missing"},
        {36, 0, 4, p, "unexpected bytes after the last entry"},
        {28, 0, 2, p, "bad kind length 0"},
        {24, 3, 4, p, "unknown element type 3"},
        {20, 2, 4, p, "unknown element type"},
        {42, 0, 1, p, "name holds a NUL byte"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        bytes f = encode(1, (uint32_t)es, "params", 1, &e);
        set_le(f.b + cases[i].off, cases[i].value, cases[i].width);
        reseal(&f);
        spit(at("bad.ckpt"), f.b, f.n);
        expect_reject(cases[i].into, at("bad.ckpt"), TG_ERR_FORMAT, cases[i].msg);
        free(f.b);
    }
    /* the same entry twice */
    const tent twice[] = {e, e};
    bytes f = encode(1, (uint32_t)es, "params", 2, twice);
    spit(at("twice.ckpt"), f.b, f.n);
    expect_reject(p, at("twice.ckpt"), TG_ERR_FORMAT, "holds entry 'w' twice");
    free(f.b);
    /* a file that ends right after the fixed prefix, length field agreeing */
    f = encode(1, (uint32_t)es, "params", 1, &e);
    f.n = 24;
    reseal(&f);
    spit(at("tiny.ckpt"), f.b, f.n);
    expect_reject(p, at("tiny.ckpt"), TG_ERR_FORMAT, "malformed");
    free(f.b);
    tg_params_free(p);
    tg_params_free(p4);
}
END_TEST

START_TEST(paths_that_are_not_files) {
    tg_params *p = model(1);
    expect_reject(p, at("missing.ckpt"), TG_ERR_IO, "cannot open: No such file or directory");
    ck_assert_int_eq(mkdir(at("sub"), 0700), 0);
    expect_reject(p, at("sub"), TG_ERR_IO, "is a directory");
    expect_reject(p, "/dev/null", TG_ERR_IO, "is not a regular file");
    ck_assert_int_eq(tg_params_save(p, at("sub")), TG_ERR_IO);
    ck_assert_ptr_nonnull(strstr(tg_last_error(), "is a directory"));
    ck_assert_int_eq(tg_params_save(p, at("nodir/model.ckpt")), TG_ERR_IO);
    ck_assert_ptr_nonnull(strstr(tg_last_error(), "cannot create a temporary file"));
    ck_assert_ptr_nonnull(strstr(tg_last_error(), "nodir/model.ckpt"));
    int temps;
    ck_assert_int_eq(count_files(dir, &temps), 1); /* sub */
    ck_assert_int_eq(temps, 0);
    if (geteuid() != 0) { /* root reads anything */
        ck_assert_int_eq(tg_params_save(p, at("locked.ckpt")), TG_OK);
        ck_assert_int_eq(chmod(at("locked.ckpt"), 0), 0);
        expect_reject(p, at("locked.ckpt"), TG_ERR_IO, "Permission denied");
    }
    tg_params_free(p);
}
END_TEST

START_TEST(null_and_bad_arguments) {
    tg_params *p = model(1);
    ck_assert_int_eq(tg_params_save(NULL, at("a.ckpt")), TG_ERR_NULL);
    ck_assert_str_eq(tg_last_error(), "tg_params_save: store is NULL");
    ck_assert_int_eq(tg_params_save(p, NULL), TG_ERR_NULL);
    ck_assert_str_eq(tg_last_error(), "tg_params_save: path is NULL");
    ck_assert_int_eq(tg_params_load(NULL, at("a.ckpt")), TG_ERR_NULL);
    ck_assert_int_eq(tg_params_load(p, NULL), TG_ERR_NULL);
    ck_assert_str_eq(tg_last_error(), "tg_params_load: path is NULL");

    /* the internal API checks what its callers (optimizers) pass */
    const int shape[] = {2};
    tg_real x[2] = {1, 2};
    tg__ckpt_entry e[2] = {{"m", 1, shape, x, x}, {"m", 1, shape, x, x}};
    ck_assert_int_eq(tg__ckpt_save("f", at("a.ckpt"), "", 1, e), TG_ERR_ARG);
    ck_assert_int_eq(tg__ckpt_save("f", at("a.ckpt"), NULL, 1, e), TG_ERR_NULL);
    char kind[80];
    memset(kind, 'k', 64);
    kind[64] = '\0';
    ck_assert_int_eq(tg__ckpt_save("f", at("a.ckpt"), kind, 1, e), TG_ERR_ARG);
    kind[63] = '\0';
    ck_assert_int_eq(tg__ckpt_save("f", at("k63.ckpt"), kind, 1, e), TG_OK);
    ck_assert_int_eq(tg__ckpt_load("f", at("k63.ckpt"), kind, 1, e), TG_OK);
    ck_assert_int_eq(tg__ckpt_save("f", at("a.ckpt"), "k", 2, e), TG_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(tg_last_error(), "'m' is used twice"));
    ck_assert_int_eq(tg__ckpt_load("f", at("k63.ckpt"), kind, 2, e), TG_ERR_ARG);
    ck_assert_int_eq(tg__ckpt_save("f", at("a.ckpt"), "k", -1, e), TG_ERR_ARG);
    ck_assert_int_eq(tg__ckpt_save("f", at("a.ckpt"), "k", 1, NULL), TG_ERR_NULL);
    tg__ckpt_entry nosrc = {"m", 1, shape, NULL, NULL};
    ck_assert_int_eq(tg__ckpt_save("f", at("a.ckpt"), "k", 1, &nosrc), TG_ERR_NULL);
    ck_assert_int_eq(tg__ckpt_load("f", at("k63.ckpt"), kind, 1, &nosrc), TG_ERR_NULL);
    const int bad_shape[] = {-1};
    tg__ckpt_entry neg = {"m", 1, bad_shape, x, x};
    ck_assert_int_eq(tg__ckpt_save("f", at("a.ckpt"), "k", 1, &neg), TG_ERR_SHAPE);
    char longname[200];
    memset(longname, 'n', 128);
    longname[128] = '\0';
    tg__ckpt_entry lng = {longname, 1, shape, x, x};
    ck_assert_int_eq(tg__ckpt_save("f", at("a.ckpt"), "k", 1, &lng), TG_ERR_ARG);
    longname[127] = '\0';
    ck_assert_int_eq(tg__ckpt_save("f", at("n127.ckpt"), "k", 1, &lng), TG_OK);
    ck_assert_int_eq(tg__ckpt_load("f", at("n127.ckpt"), "k", 1, &lng), TG_OK);
    int temps;
    ck_assert_int_eq(count_files(dir, &temps), 2); /* k63.ckpt, n127.ckpt: no a.ckpt */
    ck_assert_int_eq(temps, 0);
    tg_params_free(p);
}
END_TEST

/* ---- saving is atomic ------------------------------------------------------------------ */

START_TEST(save_replaces_the_file_whole) {
    tg_params *big = tg_params_new(), *a = model(1), *b = model(2);
    tg_params_add(big, "w", 1, (int[]){5000});
    const char *path = at("model.ckpt");
    ck_assert_int_eq(tg_params_save(big, path), TG_OK);
    ck_assert_int_eq(tg_params_save(a, path), TG_OK); /* smaller: nothing of big remains */
    struct stat st;
    ck_assert_int_eq(stat(path, &st), 0);
    size_t n;
    unsigned char *w = slurp(path, &n);
    ck_assert_int_eq((int64_t)st.st_size, (int64_t)n);
    uint64_t declared = 0;
    for (int i = 7; i >= 0; i--) declared = declared << 8 | w[12 + i];
    ck_assert_uint_eq(declared, n);
    free(w);
    ck_assert_int_eq(tg_params_load(b, path), TG_OK);
    ck_assert(same_values(a, b));
    int temps;
    ck_assert_int_eq(count_files(dir, &temps), 1);
    ck_assert_int_eq(temps, 0);
    tg_params_free(big);
    tg_params_free(a);
    tg_params_free(b);
}
END_TEST

START_TEST(file_modes) {
    tg_params *a = model(1);
    const mode_t old = umask(022);
    ck_assert_int_eq(tg_params_save(a, at("new.ckpt")), TG_OK);
    struct stat st;
    ck_assert_int_eq(stat(at("new.ckpt"), &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0644);
    ck_assert_int_eq(chmod(at("new.ckpt"), 0600), 0);
    ck_assert_int_eq(tg_params_save(a, at("new.ckpt")), TG_OK);
    ck_assert_int_eq(stat(at("new.ckpt"), &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0600); /* an existing file keeps its bits */
    umask(old);
    tg_params_free(a);
}
END_TEST

/* A write that fails midway (the file-size limit stands in for a full disk) leaves the
 * previous checkpoint as it was and no temporary behind. Works as root too. */
START_TEST(failed_write_keeps_the_previous_file) {
    tg_params *a = model(1), *big = tg_params_new();
    tg_params_add(big, "w", 1, (int[]){100000});
    const char *path = at("model.ckpt");
    ck_assert_int_eq(tg_params_save(a, path), TG_OK);
    size_t n0;
    unsigned char *before = slurp(path, &n0);

    struct rlimit lim, low;
    ck_assert_int_eq(getrlimit(RLIMIT_FSIZE, &lim), 0);
    low = lim;
    low.rlim_cur = 8192;
    void (*old)(int) = signal(SIGXFSZ, SIG_IGN);
    /* No assertion inside this window: Check itself may write to files. */
    const int set = setrlimit(RLIMIT_FSIZE, &low);
    const tg_status st = tg_params_save(big, path);
    setrlimit(RLIMIT_FSIZE, &lim);
    signal(SIGXFSZ, old);
    ck_assert_int_eq(set, 0);

    ck_assert_int_eq(st, TG_ERR_IO);
    ck_assert_msg(strstr(tg_last_error(), "writing failed") &&
                      strstr(tg_last_error(), "the previous file is unchanged") &&
                      strstr(tg_last_error(), path),
                  "%s", tg_last_error());
    size_t n1;
    unsigned char *after = slurp(path, &n1);
    ck_assert_uint_eq(n0, n1);
    ck_assert(memcmp(before, after, n0) == 0);
    int temps;
    ck_assert_int_eq(count_files(dir, &temps), 1);
    ck_assert_int_eq(temps, 0);
    tg_params *b = model(2);
    ck_assert_int_eq(tg_params_load(b, path), TG_OK);
    ck_assert(same_values(a, b));
    free(before);
    free(after);
    tg_params_free(a);
    tg_params_free(b);
    tg_params_free(big);
}
END_TEST

/* A directory that cannot be written to: the save fails before touching anything.
 * Root writes anywhere, so this only runs as an ordinary user. */
START_TEST(unwritable_directory) {
    if (geteuid() == 0) return;
    tg_params *a = model(1), *b = model(2);
    ck_assert_int_eq(mkdir(at("ro"), 0700), 0);
    const char *path = at("ro/model.ckpt");
    ck_assert_int_eq(tg_params_save(a, path), TG_OK);
    ck_assert_int_eq(chmod(at("ro"), 0500), 0);
    ck_assert_int_eq(tg_params_save(b, path), TG_ERR_IO);
    ck_assert_ptr_nonnull(strstr(tg_last_error(), "Permission denied"));
    int temps;
    ck_assert_int_eq(count_files(at("ro"), &temps), 1);
    ck_assert_int_eq(temps, 0);
    ck_assert_int_eq(tg_params_load(b, path), TG_OK);
    ck_assert(same_values(a, b));
    chmod(at("ro"), 0700);
    tg_params_free(a);
    tg_params_free(b);
}
END_TEST

static Suite *checkpoint_suite(void) {
    Suite *s = suite_create("checkpoint");
    TCase *tc = tcase_create("checkpoint");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, round_trip_is_bit_exact);
    tcase_add_test(tc, matched_by_name_in_any_order);
    tcase_add_test(tc, empty_store_and_large_tensor);
    tcase_add_test(tc, layout_matches_the_documentation);
    tcase_add_test(tc, the_other_precision_converts);
    tcase_add_test(tc, every_truncation_is_rejected);
    tcase_add_test(tc, every_flipped_bit_is_rejected);
    tcase_add_test(tc, not_a_checkpoint);
    tcase_add_test(tc, newer_version_is_refused);
    tcase_add_test(tc, other_kind_is_refused);
    tcase_add_test(tc, entry_sets_must_match);
    tcase_add_test(tc, sealed_but_malformed);
    tcase_add_test(tc, paths_that_are_not_files);
    tcase_add_test(tc, null_and_bad_arguments);
    tcase_add_test(tc, save_replaces_the_file_whole);
    tcase_add_test(tc, file_modes);
    tcase_add_test(tc, failed_write_keeps_the_previous_file);
    tcase_add_test(tc, unwritable_directory);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    return tg_test_run(checkpoint_suite());
}
