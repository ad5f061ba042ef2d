/* src/data/idx.c: reading files whole through zlib, and the IDX (MNIST) loader.
 *
 * zlib reads a gzip stream (magic 1f 8b) and copies anything else as it is, so one
 * path serves plain and compressed files. A file is read whole or rejected whole:
 * every length is checked against the header before the dataset exists. A plain
 * file's length is known from stat, so a header that promises more than is there is
 * refused before any large allocation; a gzip stream's length is not, so its data is
 * read into a buffer that grows (from at most 64 MiB) as the data actually arrives. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "data_internal.h"

#define GZ_BUFFER  (128u * 1024u)
#define GROW_START ((int64_t)64 << 20)
#define READ_CHUNK (1 << 30)

/* ---- the file reader --------------------------------------------------------------- */

tg_status tg__file_open(tg__file *f, const char *who, const char *path) {
    memset(f, 0, sizeof *f);
    f->who = who;
    f->path = path;
    f->size = -1;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return tg__set_error(TG_ERR_IO, "%s: %s: cannot open: %s", who, path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return tg__set_error(TG_ERR_IO, "%s: %s: cannot stat: %s", who, path, strerror(e));
    }
    if (S_ISDIR(st.st_mode)) {
        close(fd);
        return tg__set_error(TG_ERR_IO, "%s: %s: is a directory", who, path);
    }
    if (S_ISREG(st.st_mode)) f->size = (int64_t)st.st_size;
    f->gz = gzdopen(fd, "rb");
    if (!f->gz) {
        close(fd);
        return tg__set_error(TG_ERR_NOMEM, "%s: %s: out of memory opening the file", who, path);
    }
    gzbuffer(f->gz, GZ_BUFFER);
    f->gzip = gzdirect(f->gz) == 0; /* looks at the first bytes: 1f 8b means gzip */
    return TG_OK;
}

/* The error after a failed gzread: the system's, or zlib's view of corrupted data. */
static void read_error(tg__file *f) {
    int err = Z_OK;
    const char *msg = gzerror(f->gz, &err);
    f->status = err == Z_ERRNO ? TG_ERR_IO : err == Z_MEM_ERROR ? TG_ERR_NOMEM : TG_ERR_FORMAT;
    if (err == Z_ERRNO)
        tg__set_error(TG_ERR_IO, "%s: %s: read error: %s", f->who, f->path, strerror(errno));
    else if (err == Z_MEM_ERROR)
        tg__set_error(TG_ERR_NOMEM, "%s: %s: out of memory decompressing", f->who, f->path);
    else
        tg__set_error(TG_ERR_FORMAT, "%s: %s: corrupted gzip data (%s)", f->who, f->path,
                      msg && *msg ? msg : "zlib error");
}

int64_t tg__file_read(tg__file *f, void *buf, int64_t n) {
    int64_t got = 0;
    while (got < n) {
        int64_t left = n - got;
        unsigned chunk = (unsigned)(left < READ_CHUNK ? left : READ_CHUNK);
        int r = gzread(f->gz, (char *)buf + got, chunk);
        if (r < 0) {
            read_error(f);
            return -1;
        }
        if (r == 0) break;
        got += r;
    }
    if (got < n) { /* the end, or an error that gzread reported as a short count */
        int err = Z_OK;
        (void)gzerror(f->gz, &err);
        if (err != Z_OK && err != Z_BUF_ERROR) {
            read_error(f);
            return -1;
        }
    }
    return got;
}

bool tg__file_cut(tg__file *f) {
    int err = Z_OK;
    (void)gzerror(f->gz, &err);
    return err == Z_BUF_ERROR; /* zlib: "unexpected end of file" */
}

void tg__file_close(tg__file *f) {
    if (f->gz) gzclose_r(f->gz);
    f->gz = NULL;
}

/* Reads exactly `bytes` of data into a new buffer and checks that nothing follows
 * (which, for gzip, also makes zlib check the stream's CRC). `what` describes the data
 * in messages. On success *out owns the data. */
static tg_status read_exact(tg__file *f, int64_t bytes, const char *what, uint8_t **out) {
    tg_status st = TG_OK;
    *out = NULL;
    int64_t cap = bytes;
    if (f->gzip && cap > GROW_START) cap = GROW_START;
    uint8_t *buf = tg__malloc((size_t)cap);
    if (!buf)
        return tg__set_error(TG_ERR_NOMEM, "%s: %s: out of memory for %lld bytes of %s", f->who,
                             f->path, (long long)cap, what);
    int64_t got = 0;
    for (;;) {
        int64_t r = tg__file_read(f, buf + got, cap - got);
        if (r < 0) {
            st = f->status;
            goto fail;
        }
        got += r;
        if (got < cap || cap == bytes) break;
        int64_t next = cap > bytes / 2 ? bytes : cap * 2;
        uint8_t *bigger = tg__realloc(buf, (size_t)next);
        if (!bigger) {
            st = tg__set_error(TG_ERR_NOMEM, "%s: %s: out of memory for %lld bytes of %s", f->who,
                               f->path, (long long)next, what);
            goto fail;
        }
        buf = bigger;
        cap = next;
    }
    if (got < bytes) {
        st = tg__set_error(TG_ERR_FORMAT,
                           "%s: %s: truncated: the header describes %lld bytes of %s, "
                           "the %sdata ends after %lld",
                           f->who, f->path, (long long)bytes, what, f->gzip ? "decompressed " : "",
                           (long long)got);
        goto fail;
    }
    unsigned char probe;
    int64_t more = tg__file_read(f, &probe, 1);
    if (more < 0) {
        st = f->status;
        goto fail;
    }
    if (more > 0) {
        st = tg__set_error(TG_ERR_FORMAT,
                           "%s: %s: trailing bytes after the %lld bytes of %s the header "
                           "describes",
                           f->who, f->path, (long long)bytes, what);
        goto fail;
    }
    if (tg__file_cut(f)) {
        st = tg__set_error(TG_ERR_FORMAT,
                           "%s: %s: truncated: the gzip stream is cut off after the data "
                           "(unexpected end of file)",
                           f->who, f->path);
        goto fail;
    }
    *out = buf;
    return TG_OK;
fail:
    tg__free(buf);
    return st;
}

tg_status tg__file_slurp(const char *who, const char *path, char **out, size_t *len) {
    *out = NULL;
    *len = 0;
    tg__file f;
    tg_status st = tg__file_open(&f, who, path);
    if (st != TG_OK) return st;
    /* A plain file is read in one go (size + 1 to see its end); gzip grows. */
    int64_t cap = (!f.gzip && f.size >= 0) ? f.size + 1 : 64 * 1024;
    char *buf = NULL;
    int64_t got = 0;
    for (;;) {
        if ((uint64_t)cap >= SIZE_MAX / 2) {
            st = tg__set_error(TG_ERR_NOMEM, "%s: %s: the file is too large", who, path);
            goto fail;
        }
        char *bigger = tg__realloc(buf, (size_t)cap + 1);
        if (!bigger) {
            st = tg__set_error(TG_ERR_NOMEM, "%s: %s: out of memory for %lld bytes", who, path,
                               (long long)cap);
            goto fail;
        }
        buf = bigger;
        int64_t r = tg__file_read(&f, buf + got, cap - got);
        if (r < 0) {
            st = f.status;
            goto fail;
        }
        got += r;
        if (got < cap) break;
        cap *= 2;
    }
    if (tg__file_cut(&f)) {
        st = tg__set_error(TG_ERR_FORMAT, "%s: %s: truncated gzip stream (unexpected end of file)",
                           who, path);
        goto fail;
    }
    tg__file_close(&f);
    buf[got] = '\0';
    *out = buf;
    *len = (size_t)got;
    return TG_OK;
fail:
    tg__file_close(&f);
    tg__free(buf);
    return st;
}

/* ---- IDX --------------------------------------------------------------------------- */

static const char *idx_type_name(unsigned t) {
    switch (t) {
    case 0x08:
        return "unsigned byte";
    case 0x09:
        return "signed byte";
    case 0x0B:
        return "short";
    case 0x0C:
        return "int";
    case 0x0D:
        return "float";
    case 0x0E:
        return "double";
    default:
        return "unknown type";
    }
}

typedef struct idx_head {
    int ndim;
    int64_t count;           /* dims[0] */
    int sample[TG_MAX_DIMS]; /* dims[1..] */
    int64_t header_bytes, data_bytes;
} idx_head;

/* Reads and checks a header: magic 00 00, type 0x08, rank (labels: 1; images 2..8),
 * dimensions that fit an int and a total size that fits memory; for a plain file, the
 * exact file length. */
static tg_status idx_header(tg__file *f, bool labels, idx_head *h) {
    const char *who = f->who, *path = f->path;
    unsigned char m[4 + 4 * TG_MAX_DIMS];
    int64_t r = tg__file_read(f, m, 4);
    if (r < 0) return f->status;
    if (r < 4 && tg__file_cut(f))
        return tg__set_error(TG_ERR_FORMAT,
                             "%s: %s: truncated: the gzip stream ends after %lld "
                             "bytes, too short for an IDX header",
                             who, path, (long long)r);
    if (r == 0) return tg__set_error(TG_ERR_FORMAT, "%s: %s: empty file", who, path);
    if (r < 4)
        return tg__set_error(TG_ERR_FORMAT,
                             "%s: %s: truncated: %lld bytes, too short for an IDX "
                             "header",
                             who, path, (long long)r);
    if (m[0] != 0 || m[1] != 0)
        return tg__set_error(TG_ERR_FORMAT,
                             "%s: %s: not an IDX file: it starts with %02x %02x%s, "
                             "expected 00 00",
                             who, path, m[0], m[1], f->gzip ? " (after gzip decompression)" : "");
    if (m[2] != 0x08)
        return tg__set_error(TG_ERR_FORMAT,
                             "%s: %s: IDX element type 0x%02X (%s) is not supported: "
                             "expected 0x08 (unsigned byte)",
                             who, path, m[2], idx_type_name(m[2]));
    h->ndim = m[3];
    if (labels && h->ndim != 1)
        return tg__set_error(TG_ERR_FORMAT, "%s: %s: labels must have 1 dimension, the file has %d",
                             who, path, h->ndim);
    if (!labels && h->ndim < 2)
        return tg__set_error(TG_ERR_FORMAT,
                             "%s: %s: images need at least 2 dimensions (the count, "
                             "then the sample shape), the file has %d",
                             who, path, h->ndim);
    if (h->ndim > TG_MAX_DIMS)
        return tg__set_error(TG_ERR_FORMAT, "%s: %s: %d dimensions, at most %d are supported", who,
                             path, h->ndim, TG_MAX_DIMS);
    h->header_bytes = 4 + 4 * (int64_t)h->ndim;
    r = tg__file_read(f, m + 4, 4 * (int64_t)h->ndim);
    if (r < 0) return f->status;
    if (r < 4 * h->ndim)
        return tg__set_error(TG_ERR_FORMAT,
                             "%s: %s: truncated: the header of %d dimensions needs "
                             "%lld bytes, the file has %lld",
                             who, path, h->ndim, (long long)h->header_bytes, (long long)(4 + r));
    int64_t total = 1;
    const int64_t limit = (int64_t)(SIZE_MAX / 4 < INT64_MAX / 2 ? SIZE_MAX / 4 : INT64_MAX / 2);
    for (int i = 0; i < h->ndim; i++) {
        const unsigned char *p = m + 4 + 4 * i;
        uint32_t dim = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
        if (i == 0) {
            h->count = dim;
        } else {
            if (dim == 0 || dim > INT_MAX)
                return tg__set_error(TG_ERR_FORMAT, "%s: %s: dimension %d is %lu, must be 1..%d",
                                     who, path, i, (unsigned long)dim, INT_MAX);
            h->sample[i - 1] = (int)dim;
        }
        if (dim > 0 && total > limit / (int64_t)dim)
            return tg__set_error(TG_ERR_FORMAT,
                                 "%s: %s: the dimensions describe more data than "
                                 "memory can hold",
                                 who, path);
        total *= dim;
    }
    h->data_bytes = total;
    if (!f->gzip && f->size >= 0) {
        int64_t want = h->header_bytes + h->data_bytes;
        if (f->size < want)
            return tg__set_error(TG_ERR_FORMAT,
                                 "%s: %s: truncated: the header describes %lld bytes "
                                 "(%lld of data), the file has %lld",
                                 who, path, (long long)want, (long long)h->data_bytes,
                                 (long long)f->size);
        if (f->size > want)
            return tg__set_error(TG_ERR_FORMAT,
                                 "%s: %s: %lld trailing bytes after the %lld bytes "
                                 "the header describes",
                                 who, path, (long long)(f->size - want), (long long)want);
    }
    return TG_OK;
}

TG_API tg_dataset *tg_dataset_load_idx(const char *images_path, const char *labels_path) {
    static const char who[] = "tg_dataset_load_idx";
    if (!images_path) {
        tg__set_error(TG_ERR_NULL, "%s: images_path is NULL", who);
        return NULL;
    }
    tg__file fi = {0}, fl = {0};
    idx_head hi, hl;
    uint8_t *pixels = NULL, *raw_labels = NULL;
    int32_t *labels = NULL;
    tg_dataset *d = NULL;

    if (tg__file_open(&fi, who, images_path) != TG_OK) return NULL;
    if (idx_header(&fi, false, &hi) != TG_OK) goto done;
    if (labels_path) {
        if (tg__file_open(&fl, who, labels_path) != TG_OK) goto done;
        if (idx_header(&fl, true, &hl) != TG_OK) goto done;
        if (hl.count != hi.count) {
            tg__set_error(TG_ERR_FORMAT,
                          "%s: count mismatch: %s has %lld images, %s has %lld labels", who,
                          images_path, (long long)hi.count, labels_path, (long long)hl.count);
            goto done;
        }
    }
    if (read_exact(&fi, hi.data_bytes, "image data", &pixels) != TG_OK) goto done;
    tg__file_close(&fi);
    if (labels_path) {
        if (read_exact(&fl, hl.data_bytes, "labels", &raw_labels) != TG_OK) goto done;
        tg__file_close(&fl);
        labels = tg__malloc((size_t)hl.count * sizeof *labels);
        if (!labels) {
            tg__set_error(TG_ERR_NOMEM, "%s: out of memory for %lld labels", who,
                          (long long)hl.count);
            goto done;
        }
        for (int64_t i = 0; i < hl.count; i++) labels[i] = raw_labels[i];
    }
    d = tg__dataset_adopt(who, hi.count, hi.ndim - 1, hi.sample, pixels, NULL, labels);
    pixels = NULL; /* adopted, or freed by a failed adopt */
    labels = NULL;
done:
    tg__file_close(&fi);
    tg__file_close(&fl);
    tg__free(pixels);
    tg__free(raw_labels);
    tg__free(labels);
    return d;
}
