/* tests/test_data.c: datasets (IDX, CSV, arrays), normalisation, splitting, the
 * batcher (coverage, drop_last, seeded order, steady-state allocation, augmentation)
 * and one-hot.
 *
 * Every file is written by the test itself into a temporary directory: small IDX files
 * (plain and gzip through zlib) and CSV text, then every way of breaking them. Loops
 * over many cases count failures and assert once, since Check allocates per assertion
 * (and that would be slow under valgrind). Messages are checked by substrings. */
#include <check.h>
#include <dirent.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include <tapegrad.h>

#include "tg_test.h"

#define TOL (TG_PRECISION_DOUBLE ? 1e-12 : 1e-6)

/* ---- files ---------------------------------------------------------------------------- */

static char tmpdir[64];

/* tmpdir/name: one stable string per name (a test may hold it across other calls). */
#define MAX_NAMES 128
static char names[MAX_NAMES][64], paths[MAX_NAMES][256];
static int nnames;
static const char *tmp_path(const char *name) {
    for (int i = 0; i < nnames; i++)
        if (strcmp(names[i], name) == 0) return paths[i];
    ck_assert_int_lt(nnames, MAX_NAMES);
    snprintf(names[nnames], sizeof names[0], "%s", name);
    snprintf(paths[nnames], sizeof paths[0], "%s/%s", tmpdir, name);
    return paths[nnames++];
}

static const char *write_plain(const char *name, const void *data, size_t len) {
    const char *path = tmp_path(name);
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    if (len) ck_assert_uint_eq(fwrite(data, 1, len, f), len);
    ck_assert_int_eq(fclose(f), 0);
    return path;
}

static const char *write_gzip(const char *name, const void *data, size_t len) {
    const char *path = tmp_path(name);
    gzFile f = gzopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    if (len) ck_assert_int_eq(gzwrite(f, data, (unsigned)len), (int)len);
    ck_assert_int_eq(gzclose(f), Z_OK);
    return path;
}

static const char *write_file(const char *name, const void *data, size_t len, bool gz) {
    return gz ? write_gzip(name, data, len) : write_plain(name, data, len);
}

/* The whole content of a file we wrote, in a malloc'd buffer. */
static unsigned char *read_back(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
    long n = ftell(f);
    ck_assert_int_ge(n, 0);
    rewind(f);
    unsigned char *buf = malloc((size_t)n + 1);
    ck_assert_uint_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return buf;
}

static void remove_tmpdir(void) {
    DIR *dir = opendir(tmpdir);
    if (!dir) return;
    struct dirent *e;
    while ((e = readdir(dir)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        char p[512];
        snprintf(p, sizeof p, "%s/%s", tmpdir, e->d_name);
        unlink(p);
    }
    closedir(dir);
    rmdir(tmpdir);
}

/* An IDX file in memory: 00 00 type ndim, big-endian dims, then data. Returns its length. */
static size_t make_idx(unsigned char *out, unsigned type, int ndim, const uint32_t *dims,
                       const void *data, size_t data_len) {
    size_t n = 0;
    out[n++] = 0;
    out[n++] = 0;
    out[n++] = (unsigned char)type;
    out[n++] = (unsigned char)ndim;
    for (int i = 0; i < ndim; i++) {
        out[n++] = (unsigned char)(dims[i] >> 24);
        out[n++] = (unsigned char)(dims[i] >> 16);
        out[n++] = (unsigned char)(dims[i] >> 8);
        out[n++] = (unsigned char)dims[i];
    }
    if (data_len) memcpy(out + n, data, data_len);
    return n + data_len;
}

/* The standard small pair: 5 images of 3x4 (pixel k of image i = 12 i + k), labels
 * i % 3. Fills the buffers and returns the lengths. */
#define NI 5
#define IH 3
#define IW 4
static unsigned char pixels[NI * IH * IW];
static unsigned char label_bytes[NI];
static void standard_pair(unsigned char *img, size_t *img_len, unsigned char *lab,
                          size_t *lab_len) {
    for (int i = 0; i < NI * IH * IW; i++) pixels[i] = (unsigned char)(i * 3 % 256);
    for (int i = 0; i < NI; i++) label_bytes[i] = (unsigned char)(i % 3);
    *img_len = make_idx(img, 0x08, 3, (uint32_t[]){NI, IH, IW}, pixels, sizeof pixels);
    *lab_len = make_idx(lab, 0x08, 1, (uint32_t[]){NI}, label_bytes, sizeof label_bytes);
}

/* Whether the last error mentions both substrings (b may be NULL). */
static bool error_has(const char *a, const char *b) {
    const char *e = tg_last_error();
    return e && strstr(e, a) && (!b || strstr(e, b));
}
#define ck_assert_error(a, b)                                                                      \
    ck_assert_msg(error_has((a), (b)), "error '%s' lacks '%s' / '%s'",                             \
                  tg_last_error() ? tg_last_error() : "(none)", (a), (b) ? (b) : "")

/* ---- IDX -------------------------------------------------------------------------------- */

static void check_standard(tg_dataset *d, bool labeled) {
    ck_assert_ptr_nonnull(d);
    ck_assert_int_eq(tg_dataset_len(d), NI);
    ck_assert_int_eq(tg_dataset_sample_ndim(d), 2);
    ck_assert_int_eq(tg_dataset_sample_shape(d)[0], IH);
    ck_assert_int_eq(tg_dataset_sample_shape(d)[1], IW);
    ck_assert_int_eq(tg_dataset_sample_numel(d), IH * IW);
    ck_assert_ptr_nonnull(tg_dataset_bytes(d));
    ck_assert_ptr_null(tg_dataset_floats(d));
    ck_assert_int_eq(memcmp(tg_dataset_bytes(d), pixels, sizeof pixels), 0);
    if (labeled) {
        ck_assert_int_eq(tg_dataset_num_classes(d), 3);
        const int32_t *l = tg_dataset_labels(d);
        ck_assert_ptr_nonnull(l);
        for (int i = 0; i < NI; i++) ck_assert_int_eq(l[i], i % 3);
    } else {
        ck_assert_ptr_null(tg_dataset_labels(d));
        ck_assert_int_eq(tg_dataset_num_classes(d), 0);
    }
}

START_TEST(idx_plain_and_gzip_read_back) {
    unsigned char img[256], lab[64];
    size_t il, ll;
    standard_pair(img, &il, lab, &ll);
    /* gz: images, labels, both, neither; names that lie about the compression */
    for (int mode = 0; mode < 4; mode++) {
        const char *ip = write_file(mode & 1 ? "img.idx" : "img.idx.gz", img, il, mode & 1);
        const char *lp = write_file(mode & 2 ? "lab.idx" : "lab.idx.gz", lab, ll, mode & 2);
        tg_dataset *d = tg_dataset_load_idx(ip, lp);
        check_standard(d, true);
        tg_dataset_free(d);
    }
}
END_TEST

START_TEST(idx_unlabeled_and_ranks) {
    unsigned char img[256], lab[64];
    size_t il, ll;
    standard_pair(img, &il, lab, &ll);
    tg_dataset *d = tg_dataset_load_idx(write_plain("img.idx", img, il), NULL);
    check_standard(d, false);
    tg_dataset_free(d);

    /* rank 4: [2, 2, 3, 1] gives samples of shape [2, 3, 1] */
    unsigned char buf[128], data[12];
    for (int i = 0; i < 12; i++) data[i] = (unsigned char)i;
    size_t n = make_idx(buf, 0x08, 4, (uint32_t[]){2, 2, 3, 1}, data, 12);
    d = tg_dataset_load_idx(write_gzip("r4.idx", buf, n), NULL);
    ck_assert_ptr_nonnull(d);
    ck_assert_int_eq(tg_dataset_len(d), 2);
    ck_assert_int_eq(tg_dataset_sample_ndim(d), 3);
    ck_assert_int_eq(tg_dataset_sample_shape(d)[2], 1);
    ck_assert_int_eq(tg_dataset_bytes(d)[11], 11);
    tg_dataset_free(d);

    /* zero samples is a valid (empty) dataset */
    n = make_idx(buf, 0x08, 3, (uint32_t[]){0, 28, 28}, NULL, 0);
    size_t ln = make_idx(buf + 64, 0x08, 1, (uint32_t[]){0}, NULL, 0);
    d = tg_dataset_load_idx(write_plain("e.idx", buf, n), write_plain("el.idx", buf + 64, ln));
    ck_assert_ptr_nonnull(d);
    ck_assert_int_eq(tg_dataset_len(d), 0);
    ck_assert_int_eq(tg_dataset_num_classes(d), 0);
    tg_dataset_free(d);

    /* rank 1 images (no sample shape) and rank 9 are refused */
    n = make_idx(buf, 0x08, 1, (uint32_t[]){3}, data, 3);
    ck_assert_ptr_null(tg_dataset_load_idx(write_plain("r1.idx", buf, n), NULL));
    ck_assert_error("r1.idx", "at least 2 dimensions");
    n = make_idx(buf, 0x08, 9, (uint32_t[]){1, 1, 1, 1, 1, 1, 1, 1, 1}, data, 1);
    ck_assert_ptr_null(tg_dataset_load_idx(write_plain("r9.idx", buf, n), NULL));
    ck_assert_error("r9.idx", "at most 8");
}
END_TEST

START_TEST(idx_bad_headers) {
    unsigned char img[256], lab[64], bad[256];
    size_t il, ll;
    standard_pair(img, &il, lab, &ll);
    const char *ip = write_plain("img.idx", img, il);
    const char *lp = write_plain("lab.idx", lab, ll);

    memcpy(bad, img, il); /* wrong magic */
    bad[0] = 1;
    ck_assert_ptr_null(tg_dataset_load_idx(write_plain("magic.idx", bad, il), lp));
    ck_assert_error("magic.idx", "not an IDX file");
    ck_assert_ptr_null(tg_dataset_load_idx(ip, write_gzip("magic_l.gz", bad, il)));
    ck_assert_error("magic_l.gz", "not an IDX file");

    memcpy(bad, img, il); /* wrong type byte: float */
    bad[2] = 0x0D;
    ck_assert_ptr_null(tg_dataset_load_idx(write_plain("type.idx", bad, il), lp));
    ck_assert_error("type.idx", "0x0D");
    memcpy(bad, lab, ll);
    bad[2] = 0x0C;
    ck_assert_ptr_null(tg_dataset_load_idx(ip, write_plain("ltype.idx", bad, ll)));
    ck_assert_error("ltype.idx", "0x0C");

    /* labels with 2 dimensions, images with a zero dimension */
    size_t n = make_idx(bad, 0x08, 2, (uint32_t[]){NI, 1}, label_bytes, NI);
    ck_assert_ptr_null(tg_dataset_load_idx(ip, write_plain("l2.idx", bad, n)));
    ck_assert_error("l2.idx", "1 dimension");
    n = make_idx(bad, 0x08, 3, (uint32_t[]){NI, 0, IW}, NULL, 0);
    ck_assert_ptr_null(tg_dataset_load_idx(write_plain("zero.idx", bad, n), NULL));
    ck_assert_error("zero.idx", "dimension 1");
    /* a header promising far more than memory holds, plain and gzip */
    n = make_idx(bad, 0x08, 4, (uint32_t[]){0xFFFFFFFFu, 0x7FFFFFFF, 0x7FFFFFFF, 9}, NULL, 0);
    ck_assert_ptr_null(tg_dataset_load_idx(write_plain("huge.idx", bad, n), NULL));
    ck_assert_error("huge.idx", NULL);
    n = make_idx(bad, 0x08, 3, (uint32_t[]){0xFFFFFFFFu, 0xFFFF, 0xFF}, pixels, 32);
    ck_assert_ptr_null(tg_dataset_load_idx(write_plain("big.idx", bad, n), NULL));
    ck_assert_error("big.idx", "truncated");
    ck_assert_ptr_null(tg_dataset_load_idx(write_gzip("big.gz", bad, n), NULL));
    ck_assert_error("big.gz", NULL);

    /* count mismatch between images and labels */
    n = make_idx(bad, 0x08, 1, (uint32_t[]){NI - 1}, label_bytes, NI - 1);
    ck_assert_ptr_null(tg_dataset_load_idx(ip, write_plain("l4.idx", bad, n)));
    ck_assert_error("count mismatch", "l4.idx");
}
END_TEST

/* Loading must fail (and name the file) for every prefix of a valid file, plain and
 * as a gzip stream of the prefix; and for every prefix of the gzip file itself. */
START_TEST(idx_truncated_at_every_length) {
    unsigned char img[256], lab[64];
    size_t il, ll;
    standard_pair(img, &il, lab, &ll);
    const char *lp = write_plain("lab.idx", lab, ll);
    const char *ip = write_plain("img.idx", img, il);
    int failures = 0;
    long first_bad = -1;
    for (size_t len = 0; len < il; len++) {
        for (int gz = 0; gz < 2; gz++) {
            const char *p = write_file("cut.idx", img, len, gz);
            tg_clear_last_error();
            tg_dataset *d = tg_dataset_load_idx(p, lp);
            if (d || !error_has("cut.idx", NULL)) {
                failures++;
                if (first_bad < 0) first_bad = (long)len;
            }
            tg_dataset_free(d);
        }
    }
    for (size_t len = 0; len < ll; len++) { /* the labels, too */
        const char *p = write_plain("cutl.idx", lab, len);
        tg_dataset *d = tg_dataset_load_idx(ip, p);
        if (d || !error_has("cutl.idx", NULL)) failures++;
        tg_dataset_free(d);
    }
    size_t gl;
    unsigned char *gzfile = read_back(write_gzip("full.gz", img, il), &gl);
    for (size_t len = 0; len < gl; len++) {
        const char *p = write_plain("cut.gz", gzfile, len);
        tg_dataset *d = tg_dataset_load_idx(p, lp);
        if (d || !error_has("cut.gz", NULL)) {
            failures++;
            if (first_bad < 0) first_bad = 100000 + (long)len;
        }
        tg_dataset_free(d);
    }
    free(gzfile);
    ck_assert_msg(failures == 0, "%d truncated files accepted (first at %ld)", failures, first_bad);
    /* the message says what happened */
    tg_dataset_load_idx(write_plain("cut.idx", img, il - 1), lp);
    ck_assert_error("cut.idx", "truncated");
}
END_TEST

START_TEST(idx_trailing_garbage) {
    unsigned char img[256], lab[64];
    size_t il, ll;
    standard_pair(img, &il, lab, &ll);
    memset(img + il, 0x5A, 100);
    const char *lp = write_plain("lab.idx", lab, ll);
    size_t extra[] = {1, 2, 100};
    for (int k = 0; k < 3; k++) {
        for (int gz = 0; gz < 2; gz++) {
            ck_assert_ptr_null(
                tg_dataset_load_idx(write_file("tail.idx", img, il + extra[k], gz), lp));
            ck_assert_error("tail.idx", "trailing");
        }
    }
    lab[ll] = 0;
    ck_assert_ptr_null(
        tg_dataset_load_idx(write_plain("img.idx", img, il), write_gzip("ltail.idx", lab, ll + 1)));
    ck_assert_error("ltail.idx", "trailing");
}
END_TEST

/* Every byte of a gzip file after its 10-byte header (the deflate data, the CRC and the
 * length) is flipped in turn: each corrupted file must be rejected. */
START_TEST(idx_corrupted_gzip) {
    unsigned char img[256], lab[64];
    size_t il, ll;
    standard_pair(img, &il, lab, &ll);
    const char *lp = write_plain("lab.idx", lab, ll);
    size_t gl;
    unsigned char *gz = read_back(write_gzip("full.gz", img, il), &gl);
    ck_assert_int_eq(gz[0], 0x1f);
    ck_assert_int_eq(gz[1], 0x8b);
    int accepted = 0;
    long first = -1;
    for (size_t i = 10; i < gl; i++) {
        gz[i] ^= 0xFF;
        tg_dataset *d = tg_dataset_load_idx(write_plain("bad.gz", gz, gl), lp);
        if (d || !error_has("bad.gz", NULL)) {
            accepted++;
            if (first < 0) first = (long)i;
        }
        tg_dataset_free(d);
        gz[i] ^= 0xFF;
    }
    ck_assert_msg(accepted == 0, "%d corrupted files accepted (first at byte %ld)", accepted,
                  first);
    /* the CRC: a message that says corrupted */
    gz[gl - 6] ^= 0x01;
    ck_assert_ptr_null(tg_dataset_load_idx(write_plain("crc.gz", gz, gl), lp));
    ck_assert_error("crc.gz", "corrupt");
    /* gzip magic followed by garbage */
    const unsigned char junk[] = {0x1f, 0x8b, 0x42, 0x00, 0x13, 0x37, 0x00, 0x00, 0x00, 0x00, 9, 9};
    ck_assert_ptr_null(tg_dataset_load_idx(write_plain("junk.gz", junk, sizeof junk), lp));
    ck_assert_error("junk.gz", NULL);
    free(gz);
}
END_TEST

START_TEST(idx_empty_missing_and_null) {
    unsigned char img[256], lab[64];
    size_t il, ll;
    standard_pair(img, &il, lab, &ll);
    const char *ip = write_plain("img.idx", img, il);
    const char *lp = write_plain("lab.idx", lab, ll);
    for (int gz = 0; gz < 2; gz++) {
        const char *e = write_file("empty.idx", "", 0, gz);
        ck_assert_ptr_null(tg_dataset_load_idx(e, lp));
        ck_assert_error("empty.idx", "empty");
        ck_assert_ptr_null(tg_dataset_load_idx(ip, e));
        ck_assert_error("empty.idx", "empty");
    }
    const char *missing = tmp_path("no_such_file.idx");
    ck_assert_ptr_null(tg_dataset_load_idx(missing, lp));
    ck_assert_error("no_such_file.idx", "cannot open");
    ck_assert_ptr_null(tg_dataset_load_idx(ip, missing));
    ck_assert_error("no_such_file.idx", NULL);
    ck_assert_ptr_null(tg_dataset_load_idx(tmpdir, NULL)); /* a directory */
    ck_assert_error(tmpdir, NULL);
    ck_assert_ptr_null(tg_dataset_load_idx(NULL, lp));
    ck_assert_error("images_path", NULL);
}
END_TEST

/* ---- CSV ------------------------------------------------------------------------------- */

static tg_dataset *csv(const char *text, bool header, int label_column) {
    return tg_dataset_load_csv(write_plain("data.csv", text, strlen(text)), header, label_column);
}

static void check_floats(const tg_dataset *d, int64_t n, int f, const float *want) {
    ck_assert_ptr_nonnull(d);
    ck_assert_int_eq(tg_dataset_len(d), n);
    ck_assert_int_eq(tg_dataset_sample_ndim(d), 1);
    ck_assert_int_eq(tg_dataset_sample_shape(d)[0], f);
    ck_assert_ptr_null(tg_dataset_bytes(d));
    const float *x = tg_dataset_floats(d);
    ck_assert_ptr_nonnull(x);
    for (int64_t i = 0; i < n * f; i++) ck_assert_float_eq(x[i], want[i]);
}

START_TEST(csv_plain_header_and_labels) {
    const float want[] = {1, 2.5f, 3, -4, 5e-3f, 6};
    tg_dataset *d = csv("1,2.5,3\n-4,5e-3,6\n", false, -1);
    check_floats(d, 2, 3, want);
    ck_assert_ptr_null(tg_dataset_labels(d));
    ck_assert_int_eq(tg_dataset_num_classes(d), 0);
    tg_dataset_free(d);

    d = csv("a,b,label\n1,2.5,2\n3,-4,0.0\n5e-3,6,1\n", true, 2);
    check_floats(d, 3, 2, (const float[]){1, 2.5f, 3, -4, 5e-3f, 6});
    ck_assert_int_eq(tg_dataset_num_classes(d), 3);
    ck_assert_int_eq(tg_dataset_labels(d)[0], 2);
    ck_assert_int_eq(tg_dataset_labels(d)[1], 0);
    ck_assert_int_eq(tg_dataset_labels(d)[2], 1);
    tg_dataset_free(d);

    d = csv("7,1,2\n4,3,4\n", false, 0); /* label first */
    check_floats(d, 2, 2, (const float[]){1, 2, 3, 4});
    ck_assert_int_eq(tg_dataset_num_classes(d), 8);
    tg_dataset_free(d);

    /* gzip'd CSV is detected like IDX */
    const char *text = "x,y\n1,2\n3,4\n";
    d = tg_dataset_load_csv(write_gzip("data.csv", text, strlen(text)), true, -1);
    check_floats(d, 2, 2, (const float[]){1, 2, 3, 4});
    tg_dataset_free(d);
}
END_TEST

START_TEST(csv_whitespace_crlf_final_line_blank_quotes) {
    const float want[] = {1, 2, 3, 4};
    const char *texts[] = {
        " 1 ,\t2\n3,   4   \n", /* spaces and tabs around fields */
        "1,2\r\n3,4\r\n",       /* CRLF */
        "1,2\n3,4",             /* no final newline */
        "1,2\r\n3,4",           /* both */
        "\n1,2\n\n  \n3,4\n\n", /* blank lines */
        ("\xEF\xBB\xBF"
         "1,2\n3,4\n"),            /* a UTF-8 byte order mark */
        "\"1\", \"2\"\n3,\"4\"\n", /* quoted numbers */
    };
    for (size_t k = 0; k < sizeof texts / sizeof *texts; k++) {
        tg_dataset *d = csv(texts[k], false, -1);
        ck_assert_msg(d != NULL, "case %zu: %s", k, tg_last_error());
        check_floats(d, 2, 2, want);
        tg_dataset_free(d);
    }
    tg_dataset *d = csv("\"a, with comma\",b\r\n1,2\r\n3,4", true, -1);
    check_floats(d, 2, 2, want);
    tg_dataset_free(d);
}
END_TEST

START_TEST(csv_errors_name_line_and_column) {
    ck_assert_ptr_null(csv("1,2,3\n4,5,6\n7,abc,9\n", false, -1));
    ck_assert_error("data.csv:3: column 2: not a number 'abc'", NULL);

    ck_assert_ptr_null(csv("h1,h2,h3\n1,2,3\n\n4,5\n", true, -1)); /* ragged, after a blank */
    ck_assert_error("data.csv:4: 2 columns, expected 3", NULL);
    ck_assert_ptr_null(csv("1,2\n3,4,5\n", false, -1));
    ck_assert_error("data.csv:2: 3 columns, expected 2", NULL);
    ck_assert_ptr_null(csv("1,2\n3,4,\n", false, -1)); /* a trailing comma is a column */
    ck_assert_error("data.csv:2: 3 columns", NULL);
    ck_assert_ptr_null(csv("1,,3\n", false, -1));
    ck_assert_error("data.csv:1: column 2: empty field", NULL);
    ck_assert_ptr_null(csv("1,2\n3,nan\n", false, -1));
    ck_assert_error("data.csv:2: column 2: not a finite number 'nan'", NULL);
    ck_assert_ptr_null(csv("1,1e39\n", false, -1));
    ck_assert_error("column 2: out of range for float", NULL);
    ck_assert_ptr_null(csv("1,2x\n", false, -1));
    ck_assert_error("column 2: not a number '2x'", NULL);
    ck_assert_ptr_null(csv("1,\"2\n", false, -1));
    ck_assert_error("data.csv:1: column 2: unterminated quote", NULL);

    /* labels */
    ck_assert_ptr_null(csv("1,2\n1.5,3\n", false, 0));
    ck_assert_error("data.csv:2: column 1: label '1.5' is not an integer >= 0", NULL);
    ck_assert_ptr_null(csv("1,2\n3,-1\n", false, 1));
    ck_assert_error("data.csv:2: column 2: label '-1' is not an integer >= 0", NULL);
    ck_assert_ptr_null(csv("1,2\n", false, 2));
    ck_assert_error("label_column 2", NULL);
    ck_assert_ptr_null(tg_dataset_load_csv(tmp_path("data.csv"), false, -2));
    ck_assert_error("label_column -2", NULL);
    ck_assert_ptr_null(csv("1\n2\n", false, 0));
    ck_assert_error("no feature columns", NULL);

    /* nothing to read */
    ck_assert_ptr_null(csv("", false, -1));
    ck_assert_error("data.csv", "empty file");
    ck_assert_ptr_null(csv("\n  \r\n", false, -1));
    ck_assert_error("data.csv", "no data rows");
    ck_assert_ptr_null(csv("a,b\n", true, -1));
    ck_assert_error("data.csv", "no data rows after the header");
    ck_assert_ptr_null(tg_dataset_load_csv(tmp_path("missing.csv"), false, -1));
    ck_assert_error("missing.csv", "cannot open");
    ck_assert_ptr_null(tg_dataset_load_csv(NULL, false, -1));
    ck_assert_error("path is NULL", NULL);
    /* a cut gzip stream */
    const char *text = "1,2\n3,4\n5,6\n7,8\n";
    size_t gl;
    unsigned char *gz = read_back(write_gzip("c.csv.gz", text, strlen(text)), &gl);
    ck_assert_ptr_null(tg_dataset_load_csv(write_plain("cut.csv.gz", gz, gl - 3), false, -1));
    ck_assert_error("cut.csv.gz", NULL);
    free(gz);
}
END_TEST

/* ---- arrays, normalisation, split ------------------------------------------------------- */

START_TEST(from_arrays_copies_and_checks) {
    uint8_t bytes[6] = {0, 51, 102, 153, 204, 255};
    int32_t labels[3] = {0, 4, 1};
    tg_dataset *d = tg_dataset_from_arrays(3, 1, (int[]){2}, bytes, NULL, labels);
    ck_assert_ptr_nonnull(d);
    bytes[0] = 9; /* copied */
    labels[0] = 3;
    ck_assert_int_eq(tg_dataset_bytes(d)[0], 0);
    ck_assert_int_eq(tg_dataset_labels(d)[0], 0);
    ck_assert_int_eq(tg_dataset_num_classes(d), 5);
    tg_dataset_free(d);

    float f[2] = {1, 2};
    d = tg_dataset_from_arrays(2, 0, NULL, NULL, f, NULL); /* scalar samples */
    ck_assert_ptr_nonnull(d);
    ck_assert_int_eq(tg_dataset_sample_ndim(d), 0);
    ck_assert_ptr_nonnull(tg_dataset_sample_shape(d));
    ck_assert_int_eq(tg_dataset_sample_numel(d), 1);
    tg_dataset_free(d);

    ck_assert_ptr_null(tg_dataset_from_arrays(2, 1, (int[]){1}, NULL, NULL, NULL));
    ck_assert_error("tg_dataset_from_arrays", "neither");
    ck_assert_ptr_null(tg_dataset_from_arrays(2, 1, (int[]){1}, bytes, f, NULL));
    ck_assert_error("tg_dataset_from_arrays", "both");
    ck_assert_ptr_null(tg_dataset_from_arrays(-1, 1, (int[]){1}, bytes, NULL, NULL));
    ck_assert_ptr_null(tg_dataset_from_arrays(1, 1, (int[]){0}, bytes, NULL, NULL));
    ck_assert_ptr_null(
        tg_dataset_from_arrays(1, 8, (int[]){1, 1, 1, 1, 1, 1, 1, 1}, bytes, NULL, NULL));
    ck_assert_ptr_null(tg_dataset_from_arrays(1, 2, NULL, bytes, NULL, NULL));
    ck_assert_ptr_null(tg_dataset_from_arrays(2, 1, (int[]){1}, bytes, NULL, (int32_t[]){0, -3}));
    ck_assert_error("labels[1] = -3", NULL);

    /* accessors on NULL */
    ck_assert_int_eq(tg_dataset_len(NULL), 0);
    ck_assert_ptr_null(tg_dataset_sample_shape(NULL));
    ck_assert_ptr_null(tg_dataset_labels(NULL));
    ck_assert_int_eq(tg_dataset_num_classes(NULL), 0);
    tg_dataset_free(NULL);
}
END_TEST

START_TEST(normalisation_values) {
    uint8_t bytes[4] = {0, 1, 128, 255};
    tg_dataset *d = tg_dataset_from_arrays(1, 1, (int[]){4}, bytes, NULL, NULL);
    tg_real out[4];
    ck_assert_int_eq(tg_dataset_sample(d, 0, out), TG_OK);
    for (int i = 0; i < 4; i++) ck_assert_double_eq_tol(out[i], bytes[i] / 255.0, TOL);
    ck_assert_int_eq(tg_dataset_set_normalize(d, 1.0 / 255, 0.2860, 0.3530), TG_OK);
    ck_assert_int_eq(tg_dataset_sample(d, 0, out), TG_OK);
    for (int i = 0; i < 4; i++)
        ck_assert_double_eq_tol(out[i], (bytes[i] / 255.0 - 0.2860) / 0.3530, TOL * 4);
    /* invalid settings are refused and change nothing */
    ck_assert_int_eq(tg_dataset_set_normalize(d, 1, 0, 0), TG_ERR_ARG);
    ck_assert_int_eq(tg_dataset_set_normalize(d, 1, 0, -1), TG_ERR_ARG);
    ck_assert_int_eq(tg_dataset_set_normalize(d, NAN, 0, 1), TG_ERR_ARG);
    ck_assert_int_eq(tg_dataset_set_normalize(d, 1, INFINITY, 1), TG_ERR_ARG);
    ck_assert_int_eq(tg_dataset_set_normalize(NULL, 1, 0, 1), TG_ERR_NULL);
    ck_assert_int_eq(tg_dataset_sample(d, 0, out), TG_OK);
    ck_assert_double_eq_tol(out[3], (1 - 0.2860) / 0.3530, TOL * 4);
    ck_assert_int_eq(tg_dataset_sample(d, 1, out), TG_ERR_ARG);
    ck_assert_int_eq(tg_dataset_sample(d, -1, out), TG_ERR_ARG);
    ck_assert_int_eq(tg_dataset_sample(d, 0, NULL), TG_ERR_NULL);
    tg_dataset_free(d);

    /* float data: identity by default, then ((x * scale) - mean) / std */
    float f[3] = {-2, 0.5f, 10};
    d = tg_dataset_from_arrays(3, 0, NULL, NULL, f, NULL);
    tg_graph *g = tg_graph_new();
    tg_batcher *b = tg_batcher_new(d, 3, false, false, 1);
    tg_tensor *x;
    ck_assert_int_eq(tg_batcher_next(b, g, &x, NULL), 3);
    for (int i = 0; i < 3; i++) ck_assert_double_eq_tol(tg_data(x)[i], f[i], TOL);
    ck_assert_int_eq(tg_dataset_set_normalize(d, 2, 1, 4), TG_OK); /* seen by the batcher */
    tg_batcher_reset(b);
    ck_assert_int_eq(tg_batcher_next(b, g, &x, NULL), 3);
    for (int i = 0; i < 3; i++) ck_assert_double_eq_tol(tg_data(x)[i], (f[i] * 2 - 1) / 4, TOL);
    tg_batcher_free(b);
    tg_graph_free(g);
    tg_dataset_free(d);
}
END_TEST

START_TEST(split_copies_parts) {
    float f[10];
    int32_t l[10];
    for (int i = 0; i < 10; i++) {
        f[i] = (float)i;
        l[i] = i < 9 ? i % 3 : 5; /* class 5 only in the last sample */
    }
    tg_dataset *d = tg_dataset_from_arrays(10, 1, (int[]){1}, NULL, f, l);
    ck_assert_int_eq(tg_dataset_set_normalize(d, 1, 1, 2), TG_OK);
    tg_dataset *a, *b;
    ck_assert_int_eq(tg_dataset_split(d, 3, &a, &b), TG_OK);
    tg_dataset_free(d); /* the parts own copies */
    ck_assert_int_eq(tg_dataset_len(a), 3);
    ck_assert_int_eq(tg_dataset_len(b), 7);
    ck_assert_int_eq(tg_dataset_num_classes(a), 6); /* inherited */
    ck_assert_int_eq(tg_dataset_num_classes(b), 6);
    for (int i = 0; i < 3; i++) ck_assert_float_eq(tg_dataset_floats(a)[i], (float)i);
    for (int i = 0; i < 7; i++) {
        ck_assert_float_eq(tg_dataset_floats(b)[i], (float)(i + 3));
        ck_assert_int_eq(tg_dataset_labels(b)[i], l[i + 3]);
    }
    tg_real v;
    ck_assert_int_eq(tg_dataset_sample(b, 0, &v), TG_OK);
    ck_assert_double_eq_tol(v, (3 - 1) / 2.0, TOL); /* normalisation inherited */

    tg_dataset *c, *e;
    ck_assert_int_eq(tg_dataset_split(a, 0, &c, &e), TG_OK);
    ck_assert_int_eq(tg_dataset_len(c), 0);
    ck_assert_int_eq(tg_dataset_len(e), 3);
    tg_dataset_free(c);
    tg_dataset_free(e);
    ck_assert_int_eq(tg_dataset_split(a, 3, &c, &e), TG_OK);
    ck_assert_int_eq(tg_dataset_len(c), 3);
    ck_assert_int_eq(tg_dataset_len(e), 0);
    tg_dataset_free(c);
    tg_dataset_free(e);
    c = e = a;
    ck_assert_int_eq(tg_dataset_split(a, 4, &c, &e), TG_ERR_ARG);
    ck_assert_ptr_null(c);
    ck_assert_ptr_null(e);
    ck_assert_int_eq(tg_dataset_split(a, -1, &c, &e), TG_ERR_ARG);
    ck_assert_int_eq(tg_dataset_split(NULL, 0, &c, &e), TG_ERR_NULL);
    ck_assert_int_eq(tg_dataset_split(a, 0, NULL, &e), TG_ERR_NULL);
    tg_dataset_free(a);
    tg_dataset_free(b);
}
END_TEST

/* ---- the batcher ------------------------------------------------------------------------ */

/* n samples of shape [1] whose value is their index, labels i % 7. */
static tg_dataset *indexed(int n) {
    float *f = malloc((size_t)n * sizeof *f);
    int32_t *l = malloc((size_t)n * sizeof *l);
    for (int i = 0; i < n; i++) {
        f[i] = (float)i;
        l[i] = i % 7;
    }
    tg_dataset *d = tg_dataset_from_arrays(n, 1, (int[]){1}, NULL, f, l);
    free(f);
    free(l);
    ck_assert_ptr_nonnull(d);
    return d;
}

/* Runs one epoch, writing the sample order to order (if not NULL) and the batch sizes to
 * sizes; returns the number of samples seen, or -1 if a label or shape was wrong. */
static int run_epoch(tg_batcher *b, tg_graph *g, int *order, int *sizes, int *nbatches) {
    int seen = 0, k = 0, bad = 0, bs;
    tg_tensor *x;
    const int32_t *lab;
    while ((bs = tg_batcher_next(b, g, &x, &lab)) > 0) {
        if (tg_ndim(x) != 2 || tg_shape(x)[0] != bs || tg_shape(x)[1] != 1) bad++;
        for (int i = 0; i < bs; i++) {
            int v = (int)tg_data(x)[i];
            if (!lab || lab[i] != v % 7) bad++;
            if (order) order[seen] = v;
            seen++;
        }
        if (sizes) sizes[k] = bs;
        k++;
        tg_graph_reset(g);
    }
    if (bs < 0) bad++;
    *nbatches = k;
    return bad ? -1 : seen;
}

START_TEST(batcher_covers_every_sample_once) {
    tg_dataset *d = indexed(103);
    tg_graph *g = tg_graph_new();
    int order[103], sizes[20], nb;
    for (int drop = 0; drop < 2; drop++) {
        tg_batcher *b = tg_batcher_new(d, 10, true, drop, 42);
        ck_assert_int_eq(tg_batcher_batches(b), drop ? 10 : 11);
        for (int epoch = 0; epoch < 3; epoch++) {
            int seen = run_epoch(b, g, order, sizes, &nb);
            ck_assert_int_eq(seen, drop ? 100 : 103);
            ck_assert_int_eq(nb, tg_batcher_batches(b));
            for (int i = 0; i < nb - 1; i++) ck_assert_int_eq(sizes[i], 10);
            ck_assert_int_eq(sizes[nb - 1], drop ? 10 : 3);
            int count[103] = {0}, dup = 0;
            for (int i = 0; i < seen; i++) dup += count[order[i]]++ > 0;
            ck_assert_int_eq(dup, 0);
            tg_tensor *x = NULL;
            ck_assert_int_eq(tg_batcher_next(b, g, &x, NULL), 0); /* stays at the end */
            ck_assert_ptr_null(x);
            ck_assert_int_eq(tg_batcher_epoch(b), epoch);
            tg_batcher_reset(b);
        }
        tg_batcher_free(b);
    }
    /* no shuffle: in order */
    tg_batcher *b = tg_batcher_new(d, 25, false, false, 42);
    ck_assert_int_eq(run_epoch(b, g, order, sizes, &nb), 103);
    int wrong = 0;
    for (int i = 0; i < 103; i++) wrong += order[i] != i;
    ck_assert_int_eq(wrong, 0);
    ck_assert_int_eq(nb, 5);
    tg_batcher_free(b);
    /* batch larger than the dataset */
    b = tg_batcher_new(d, 1000, true, false, 1);
    ck_assert_int_eq(tg_batcher_batches(b), 1);
    ck_assert_int_eq(run_epoch(b, g, order, sizes, &nb), 103);
    ck_assert_int_eq(nb, 1);
    tg_batcher_free(b);
    b = tg_batcher_new(d, 1000, true, true, 1);
    ck_assert_int_eq(tg_batcher_batches(b), 0);
    ck_assert_int_eq(run_epoch(b, g, order, sizes, &nb), 0);
    tg_batcher_free(b);
    tg_graph_free(g);
    tg_dataset_free(d);
}
END_TEST

START_TEST(batcher_order_is_a_function_of_seed_and_epoch) {
    tg_dataset *d = indexed(50);
    tg_graph *g = tg_graph_new();
    int o[4][50], nb;
    tg_batcher *a = tg_batcher_new(d, 8, true, false, 7);
    tg_batcher *b = tg_batcher_new(d, 8, true, false, 7);
    tg_batcher *c = tg_batcher_new(d, 8, true, false, 8);
    ck_assert_int_eq(run_epoch(a, g, o[0], NULL, &nb), 50);
    ck_assert_int_eq(run_epoch(b, g, o[1], NULL, &nb), 50);
    ck_assert_int_eq(run_epoch(c, g, o[2], NULL, &nb), 50);
    ck_assert_int_eq(memcmp(o[0], o[1], sizeof o[0]), 0); /* same seed, same order */
    ck_assert_int_ne(memcmp(o[0], o[2], sizeof o[0]), 0); /* another seed, another */
    tg_batcher_reset(a);
    ck_assert_int_eq(run_epoch(a, g, o[3], NULL, &nb), 50);
    ck_assert_int_ne(memcmp(o[0], o[3], sizeof o[0]), 0); /* epoch 1 differs from 0 */
    /* b abandons epoch 1 after one batch and starts epoch 2; a third batcher does the
     * same epochs whole: epoch 2 matches */
    tg_batcher_reset(b);
    tg_tensor *x;
    ck_assert_int_eq(tg_batcher_next(b, g, &x, NULL), 8);
    tg_graph_reset(g);
    tg_batcher_reset(b);
    tg_batcher_reset(a);
    ck_assert_int_eq(run_epoch(a, g, o[0], NULL, &nb), 50);
    ck_assert_int_eq(run_epoch(b, g, o[1], NULL, &nb), 50);
    ck_assert_int_eq(memcmp(o[0], o[1], sizeof o[0]), 0);
    ck_assert_int_eq(tg_batcher_epoch(b), 2);
    tg_batcher_free(a);
    tg_batcher_free(b);
    tg_batcher_free(c);
    tg_graph_free(g);
    tg_dataset_free(d);
}
END_TEST

START_TEST(batcher_steady_state_does_not_allocate) {
    uint8_t *px = malloc(300 * 28 * 28);
    int32_t labels[300];
    for (int i = 0; i < 300 * 28 * 28; i++) px[i] = (uint8_t)(i * 7);
    for (int i = 0; i < 300; i++) labels[i] = i % 10;
    tg_dataset *d = tg_dataset_from_arrays(300, 2, (int[]){28, 28}, px, NULL, labels);
    free(px);
    tg_graph *g = tg_graph_new();
    tg_batcher *b = tg_batcher_new(d, 64, true, false, 3);
    tg_batcher_set_augment(b, &(tg_augment){.max_shift = 2, .hflip = true, .noise_std = 0.1});
    tg_tensor *x;
    const int32_t *lab;
    ck_assert_int_eq(tg_batcher_next(b, g, &x, &lab), 64); /* the first batch sizes the arena */
    tg_one_hot(g, lab, 64, 10);
    uint64_t before = tg_alloc_count();
    int batches = 0, bs;
    for (int epoch = 0; epoch < 3; epoch++) {
        for (;;) {
            tg_graph_reset(g);
            bs = tg_batcher_next(b, g, &x, &lab);
            if (bs <= 0) break;
            if (!tg_one_hot(g, lab, bs, 10)) break;
            batches++;
        }
        ck_assert_int_eq(bs, 0);
        tg_batcher_reset(b);
    }
    ck_assert_uint_eq(tg_alloc_count(), before);
    ck_assert_int_eq(batches, 4 + 5 + 5);
    tg_batcher_free(b);
    tg_graph_free(g);
    tg_dataset_free(d);
}
END_TEST

START_TEST(batcher_errors) {
    tg_dataset *d = indexed(10);
    ck_assert_ptr_null(tg_batcher_new(NULL, 4, true, false, 1));
    ck_assert_error("tg_batcher_new", NULL);
    ck_assert_ptr_null(tg_batcher_new(d, 0, true, false, 1));
    ck_assert_error("batch_size 0", NULL);
    tg_batcher *b = tg_batcher_new(d, 4, true, false, 1);
    tg_graph *g = tg_graph_new();
    tg_tensor *x;
    ck_assert_int_eq(tg_batcher_next(b, NULL, &x, NULL), -1);
    ck_assert_int_eq(tg_batcher_next(b, g, NULL, NULL), -1);
    ck_assert_ptr_nonnull(strstr(tg_graph_error(g), "tg_batcher_next"));
    ck_assert_int_eq(tg_batcher_next(b, g, &x, NULL), -1); /* graph in error */
    tg_graph_reset(g);
    ck_assert_int_eq(tg_batcher_next(NULL, g, &x, NULL), -1);
    tg_graph_reset(g);
    tg_batcher_set_augment(b, &(tg_augment){.max_shift = -1});
    ck_assert_error("max_shift -1", NULL);
    ck_assert_int_eq(tg_batcher_next(b, g, &x, NULL), -1);
    ck_assert_ptr_nonnull(strstr(tg_graph_error(g), "max_shift -1"));
    tg_graph_reset(g);
    tg_batcher_set_augment(b, &(tg_augment){.noise_std = NAN});
    ck_assert_int_eq(tg_batcher_next(b, g, &x, NULL), -1);
    tg_graph_reset(g);
    tg_batcher_set_augment(b, NULL);
    ck_assert_int_eq(tg_batcher_next(b, g, &x, NULL), 4);
    ck_assert_int_eq(tg_batcher_batches(NULL), 0);
    tg_batcher_reset(NULL);
    tg_batcher_set_augment(NULL, NULL);
    tg_batcher_free(NULL);
    tg_batcher_free(b);

    /* unlabeled data gives NULL labels */
    tg_dataset *u =
        tg_dataset_from_arrays(3, 1, (int[]){2}, (uint8_t[]){1, 2, 3, 4, 5, 6}, NULL, NULL);
    b = tg_batcher_new(u, 2, false, false, 1);
    const int32_t *lab = (const int32_t *)&lab;
    tg_graph_reset(g);
    ck_assert_int_eq(tg_batcher_next(b, g, &x, &lab), 2);
    ck_assert_ptr_null(lab);
    ck_assert_double_eq_tol(tg_data(x)[3], 4 / 255.0, TOL);
    tg_batcher_free(b);
    tg_dataset_free(u);
    /* an empty dataset has no batches */
    tg_dataset *e = tg_dataset_from_arrays(0, 1, (int[]){2}, (uint8_t[]){0}, NULL, NULL);
    b = tg_batcher_new(e, 2, true, false, 1);
    ck_assert_int_eq(tg_batcher_batches(b), 0);
    ck_assert_int_eq(tg_batcher_next(b, g, &x, NULL), 0);
    tg_batcher_free(b);
    tg_dataset_free(e);
    tg_graph_free(g);
    tg_dataset_free(d);
}
END_TEST

/* ---- augmentation ----------------------------------------------------------------------- */

/* n copies of one byte image of shape [c, h, w] (or [h, w] when c == 0). */
static tg_dataset *copies(int n, int c, int h, int w, const uint8_t *img) {
    int per = (c ? c : 1) * h * w;
    uint8_t *px = malloc((size_t)(n * per));
    for (int i = 0; i < n; i++) memcpy(px + i * per, img, (size_t)per);
    tg_dataset *d = c ? tg_dataset_from_arrays(n, 3, (int[]){c, h, w}, px, NULL, NULL)
                      : tg_dataset_from_arrays(n, 2, (int[]){h, w}, px, NULL, NULL);
    free(px);
    ck_assert_ptr_nonnull(d);
    return d;
}

START_TEST(augment_shift_moves_one_lit_pixel) {
    enum { N = 400, H = 9, W = 9, M = 2 };
    uint8_t img[H * W] = {0};
    img[4 * W + 4] = 255;
    tg_dataset *d = copies(N, 0, H, W, img);
    tg_graph *g = tg_graph_new();
    tg_batcher *b = tg_batcher_new(d, N, false, false, 5);
    tg_batcher_set_augment(b, &(tg_augment){.max_shift = M});
    tg_tensor *x;
    ck_assert_int_eq(tg_batcher_next(b, g, &x, NULL), N);
    int seen[2 * M + 1][2 * M + 1] = {{0}}, bad = 0;
    for (int i = 0; i < N; i++) {
        const tg_real *s = tg_data(x) + i * H * W;
        int lit = 0, at = -1;
        for (int k = 0; k < H * W; k++) {
            if (s[k] == 1) {
                lit++;
                at = k;
            } else if (s[k] != 0)
                bad++;
        }
        if (lit != 1) {
            bad++;
            continue;
        }
        int dy = at / W - 4, dx = at % W - 4;
        if (abs(dy) > M || abs(dx) > M) {
            bad++;
            continue;
        }
        seen[dy + M][dx + M]++;
    }
    ck_assert_int_eq(bad, 0);
    int missing = 0;
    for (int i = 0; i < 2 * M + 1; i++)
        for (int j = 0; j < 2 * M + 1; j++) missing += seen[i][j] == 0;
    ck_assert_int_eq(missing, 0); /* every shift in -2..2 x -2..2 happens */
    tg_batcher_free(b);
    tg_graph_free(g);
    tg_dataset_free(d);
}
END_TEST

START_TEST(augment_shift_moves_channels_together_and_fills_raw_zero) {
    /* two channels of 6x7, a lit pixel at different places in each: their offset stays */
    enum { N = 200, C = 2, H = 6, W = 7 };
    uint8_t img[C * H * W] = {0};
    img[0 * H * W + 2 * W + 3] = 255;
    img[1 * H * W + 3 * W + 2] = 255;
    tg_dataset *d = copies(N, C, H, W, img);
    tg_graph *g = tg_graph_new();
    tg_batcher *b = tg_batcher_new(d, N, true, false, 9);
    tg_batcher_set_augment(b, &(tg_augment){.max_shift = 1, .hflip = true});
    tg_tensor *x;
    ck_assert_int_eq(tg_batcher_next(b, g, &x, NULL), N);
    ck_assert_int_eq(tg_ndim(x), 4);
    int bad = 0, flipped = 0;
    for (int i = 0; i < N; i++) {
        const tg_real *s = tg_data(x) + i * C * H * W;
        int at[2] = {-1, -1}, lit[2] = {0, 0};
        for (int c = 0; c < C; c++)
            for (int k = 0; k < H * W; k++)
                if (s[c * H * W + k] != 0) {
                    lit[c]++;
                    at[c] = k;
                }
        if (lit[0] != 1 || lit[1] != 1) {
            bad++;
            continue;
        }
        int dy = at[1] / W - at[0] / W, dx = at[1] % W - at[0] % W;
        if (dy != 1) bad++;
        if (dx == 1)
            flipped++; /* mirrored: 3 -> W-1-3, 2 -> W-1-2 */
        else if (dx != -1)
            bad++;
    }
    ck_assert_int_eq(bad, 0);
    ck_assert_int_gt(flipped, 0);
    ck_assert_int_lt(flipped, N);
    tg_batcher_free(b);

    /* vacated pixels get what a raw 0 converts to: here -1 (mean 0.5, std 0.5) */
    uint8_t full[H * W];
    memset(full, 255, sizeof full);
    tg_dataset *f = copies(N, 0, H, W, full);
    ck_assert_int_eq(tg_dataset_set_normalize(f, 1.0 / 255, 0.5, 0.5), TG_OK);
    b = tg_batcher_new(f, N, false, false, 11);
    tg_batcher_set_augment(b, &(tg_augment){.max_shift = 2});
    tg_graph_reset(g);
    ck_assert_int_eq(tg_batcher_next(b, g, &x, NULL), N);
    int shifted = 0;
    for (int i = 0; i < N; i++) {
        const tg_real *s = tg_data(x) + i * H * W;
        /* the ones form the box [max(0,dy), H+min(0,dy)) x [max(0,dx), W+min(0,dx)) */
        int ones = 0, minus = 0, y0 = H, y1 = -1, x0 = W, x1 = -1;
        for (int k = 0; k < H * W; k++) {
            minus += s[k] == -1;
            if (s[k] != 1) continue;
            ones++;
            int yy = k / W, xx = k % W;
            y0 = yy < y0 ? yy : y0;
            y1 = yy > y1 ? yy : y1;
            x0 = xx < x0 ? xx : x0;
            x1 = xx > x1 ? xx : x1;
        }
        int bh = y1 - y0 + 1, bw = x1 - x0 + 1;
        if (ones + minus != H * W || ones != bh * bw || bh < H - 2 || bw < W - 2 ||
            (y0 != 0 && y1 != H - 1) || (x0 != 0 && x1 != W - 1))
            bad++;
        shifted += minus > 0;
    }
    ck_assert_int_eq(bad, 0);
    ck_assert_int_gt(shifted, N / 2);
    tg_batcher_free(b);
    tg_dataset_free(f);
    tg_graph_free(g);
    tg_dataset_free(d);
}
END_TEST

START_TEST(augment_flip_mirrors_half_the_time) {
    enum { N = 1000, H = 3, W = 5 };
    uint8_t img[H * W];
    for (int k = 0; k < H * W; k++) img[k] = (uint8_t)(k * 10);
    tg_dataset *d = copies(N, 0, H, W, img);
    tg_graph *g = tg_graph_new();
    tg_batcher *b = tg_batcher_new(d, N, false, false, 13);
    tg_batcher_set_augment(b, &(tg_augment){.hflip = true});
    tg_tensor *x;
    ck_assert_int_eq(tg_batcher_next(b, g, &x, NULL), N);
    int flipped = 0, bad = 0;
    for (int i = 0; i < N; i++) {
        const tg_real *s = tg_data(x) + i * H * W;
        bool same = true, mirror = true;
        for (int y = 0; y < H; y++)
            for (int xx = 0; xx < W; xx++) {
                tg_real want = (tg_real)(img[y * W + xx] / 255.0);
                tg_real want_m = (tg_real)(img[y * W + W - 1 - xx] / 255.0);
                same = same && fabs(s[y * W + xx] - want) < 1e-6;
                mirror = mirror && fabs(s[y * W + xx] - want_m) < 1e-6;
            }
        flipped += mirror;
        bad += !same && !mirror;
    }
    ck_assert_int_eq(bad, 0);
    ck_assert_int_gt(flipped, 430);
    ck_assert_int_lt(flipped, 570);
    tg_batcher_free(b);
    tg_graph_free(g);
    tg_dataset_free(d);
}
END_TEST

START_TEST(augment_noise_statistics_and_off) {
    enum { N = 200, H = 10, W = 10 };
    uint8_t img[H * W];
    memset(img, 255, sizeof img);
    tg_dataset *d = copies(N, 0, H, W, img);
    tg_graph *g = tg_graph_new();
    tg_batcher *b = tg_batcher_new(d, N, false, false, 17);
    tg_batcher_set_augment(b, &(tg_augment){.noise_std = 0.5});
    tg_tensor *x;
    ck_assert_int_eq(tg_batcher_next(b, g, &x, NULL), N);
    double sum = 0, sq = 0;
    const int64_t n = tg_numel(x);
    for (int64_t k = 0; k < n; k++) {
        double v = tg_data(x)[k] - 1.0; /* noise is added after normalisation (255 -> 1) */
        sum += v;
        sq += v * v;
    }
    double mean = sum / (double)n, sd = sqrt(sq / (double)n - mean * mean);
    ck_assert_double_lt(fabs(mean), 0.02);
    ck_assert_double_lt(fabs(sd - 0.5), 0.02);
    /* the same seed and epoch give the same noise */
    tg_batcher *b2 = tg_batcher_new(d, N, false, false, 17);
    tg_batcher_set_augment(b2, &(tg_augment){.noise_std = 0.5});
    tg_tensor *x2;
    ck_assert_int_eq(tg_batcher_next(b2, g, &x2, NULL), N);
    ck_assert_int_eq(memcmp(tg_data(x), tg_data(x2), (size_t)n * sizeof(tg_real)), 0);
    /* off again: exact conversion */
    tg_batcher_set_augment(b2, NULL);
    tg_batcher_reset(b2);
    ck_assert_int_eq(tg_batcher_next(b2, g, &x2, NULL), N);
    int off = 0;
    for (int64_t k = 0; k < n; k++) off += tg_data(x2)[k] != 1;
    ck_assert_int_eq(off, 0);
    /* shift and flip do nothing to rank-1 samples */
    tg_dataset *v =
        tg_dataset_from_arrays(1, 1, (int[]){4}, (uint8_t[]){0, 51, 102, 255}, NULL, NULL);
    tg_batcher *bv = tg_batcher_new(v, 1, false, false, 1);
    tg_batcher_set_augment(bv, &(tg_augment){.max_shift = 3, .hflip = true});
    int moved = 0;
    for (int k = 0; k < 50; k++) {
        ck_assert_int_eq(tg_batcher_next(bv, g, &x2, NULL), 1);
        moved += fabs(tg_data(x2)[1] - 0.2) > 1e-6 || tg_data(x2)[3] != 1;
        tg_batcher_reset(bv);
    }
    ck_assert_int_eq(moved, 0);
    tg_batcher_free(bv);
    tg_dataset_free(v);
    tg_batcher_free(b);
    tg_batcher_free(b2);
    tg_graph_free(g);
    tg_dataset_free(d);
}
END_TEST

/* ---- one-hot ---------------------------------------------------------------------------- */

START_TEST(one_hot_rows) {
    tg_graph *g = tg_graph_new();
    tg_tensor *t = tg_one_hot(g, (int32_t[]){2, 0, 1, 2}, 4, 3);
    ck_assert_ptr_nonnull(t);
    ck_assert_int_eq(tg_ndim(t), 2);
    ck_assert_int_eq(tg_shape(t)[0], 4);
    ck_assert_int_eq(tg_shape(t)[1], 3);
    const tg_real want[] = {0, 0, 1, 1, 0, 0, 0, 1, 0, 0, 0, 1};
    for (int i = 0; i < 12; i++) ck_assert_double_eq(tg_data(t)[i], want[i]);
    ck_assert(!tg_requires_grad(t));
    t = tg_one_hot(g, NULL, 0, 5);
    ck_assert_ptr_nonnull(t);
    ck_assert_int_eq(tg_numel(t), 0);

    ck_assert_ptr_null(tg_one_hot(g, (int32_t[]){0, 5}, 2, 3));
    ck_assert_ptr_nonnull(strstr(tg_graph_error(g), "labels[1] = 5 is outside 0..2"));
    ck_assert_ptr_null(tg_one_hot(g, (int32_t[]){0}, 1, 3)); /* graph in error */
    tg_graph_reset(g);
    ck_assert_ptr_null(tg_one_hot(g, (int32_t[]){-1}, 1, 3));
    ck_assert_ptr_nonnull(strstr(tg_graph_error(g), "labels[0] = -1"));
    tg_graph_reset(g);
    ck_assert_ptr_null(tg_one_hot(g, NULL, 2, 3));
    tg_graph_reset(g);
    ck_assert_ptr_null(tg_one_hot(g, (int32_t[]){0}, 1, 0));
    tg_graph_reset(g);
    ck_assert_ptr_null(tg_one_hot(g, (int32_t[]){0}, -1, 3));
    ck_assert_ptr_null(tg_one_hot(NULL, (int32_t[]){0}, 1, 3));
    ck_assert_error("tg_one_hot", NULL);
    tg_graph_free(g);
}
END_TEST

static Suite *suite(void) {
    Suite *s = suite_create("data");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, idx_plain_and_gzip_read_back);
    tcase_add_test(tc, idx_unlabeled_and_ranks);
    tcase_add_test(tc, idx_bad_headers);
    tcase_add_test(tc, idx_truncated_at_every_length);
    tcase_add_test(tc, idx_trailing_garbage);
    tcase_add_test(tc, idx_corrupted_gzip);
    tcase_add_test(tc, idx_empty_missing_and_null);
    tcase_add_test(tc, csv_plain_header_and_labels);
    tcase_add_test(tc, csv_whitespace_crlf_final_line_blank_quotes);
    tcase_add_test(tc, csv_errors_name_line_and_column);
    tcase_add_test(tc, from_arrays_copies_and_checks);
    tcase_add_test(tc, normalisation_values);
    tcase_add_test(tc, split_copies_parts);
    tcase_add_test(tc, batcher_covers_every_sample_once);
    tcase_add_test(tc, batcher_order_is_a_function_of_seed_and_epoch);
    tcase_add_test(tc, batcher_steady_state_does_not_allocate);
    tcase_add_test(tc, batcher_errors);
    tcase_add_test(tc, augment_shift_moves_one_lit_pixel);
    tcase_add_test(tc, augment_shift_moves_channels_together_and_fills_raw_zero);
    tcase_add_test(tc, augment_flip_mirrors_half_the_time);
    tcase_add_test(tc, augment_noise_statistics_and_off);
    tcase_add_test(tc, one_hot_rows);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/tg_data_XXXXXX");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return EXIT_FAILURE;
    }
    const int status = tg_test_run(suite());
    remove_tmpdir();
    return status;
}
