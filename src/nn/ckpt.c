/* src/nn/ckpt.c: the checkpoint file format (see docs/checkpoint.md for the layout).
 *
 * Every number is written byte by byte, little-endian, so a file means the same on any
 * host. The CRC-32 trailer covers every byte before it, and the header states the total
 * length, so a file cut anywhere (even between two entries) is told from a whole one.
 *
 * Saving streams through one buffer into a temporary file beside the target, opened
 * with O_EXCL and mode 0666 (the umask applies), then syncs it and renames it into
 * place (src/graph/fileio.c): a crash or a failed write leaves the previous file as it
 * was, and an existing file keeps its permission bits.
 *
 * Loading reads the whole file into memory and validates all of it (length, checksum,
 * version, element type, kind, every entry's name and shape) before it writes a single
 * element into the caller's buffers. Memory is bounded by the real file size, and
 * a file longer than its header says is rejected before anything is read. Every
 * length in the file is checked against the bytes that remain; no count read from the
 * file sizes an allocation. */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>
#include <zlib.h>

#include "ckpt.h"

static const unsigned char MAGIC[8] = {0x89, 'T', 'G', 'C', 'K', 'P', 'T', '\n'};

enum {
    VERSION = 1,
    OFF_VERSION = 8,
    OFF_LENGTH = 12,   /* u64: the whole file, trailer included */
    FIXED_PREFIX = 20, /* magic, version, length: at these offsets in every version */
    OFF_ELEM_SIZE = 20,
    OFF_ELEM_TYPE = 24,
    HEADER = 28,
    TRAILER = 4,                             /* CRC-32 of every byte before it */
    MIN_FILE = HEADER + 2 + 1 + 4 + TRAILER, /* a one-byte kind and no entries */
    TYPE_F32 = 1,                            /* IEEE 754 binary32 */
    TYPE_F64 = 2,                            /* IEEE 754 binary64 */
    MAX_NAME = 127,
    MAX_KIND = 63,
};

#define ELEM_SIZE ((uint32_t)sizeof(tg_real))
#define ELEM_TYPE (sizeof(tg_real) == 8 ? TYPE_F64 : TYPE_F32)
#define WBUF_SIZE ((size_t)1 << 16)

/* ---- bytes ----------------------------------------------------------------------- */

static void put_u16(unsigned char *b, uint16_t v) {
    b[0] = (unsigned char)v;
    b[1] = (unsigned char)(v >> 8);
}
static void put_u32(unsigned char *b, uint32_t v) {
    for (int i = 0; i < 4; i++) b[i] = (unsigned char)(v >> (8 * i));
}
static void put_u64(unsigned char *b, uint64_t v) {
    for (int i = 0; i < 8; i++) b[i] = (unsigned char)(v >> (8 * i));
}
static uint16_t get_u16(const unsigned char *b) { return (uint16_t)(b[0] | (unsigned)b[1] << 8); }
static uint32_t get_u32(const unsigned char *b) {
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}
static uint64_t get_u64(const unsigned char *b) {
    return (uint64_t)get_u32(b) | (uint64_t)get_u32(b + 4) << 32;
}

/* zlib's crc32 takes a uInt length: feed large buffers in pieces. */
static uint32_t crc_update(uint32_t crc, const unsigned char *p, size_t n) {
    while (n > 0) {
        const uInt k = n > (1u << 30) ? (1u << 30) : (uInt)n;
        crc = (uint32_t)crc32(crc, p, k);
        p += k;
        n -= k;
    }
    return crc;
}

/* Element i of raw little-endian data as a double (exact for both widths). */
static double get_elem(const unsigned char *p, uint32_t es, int64_t i) {
    if (es == 4) {
        const uint32_t u = get_u32(p + 4 * i);
        float f;
        memcpy(&f, &u, 4);
        return f;
    }
    const uint64_t u = get_u64(p + 8 * i);
    double d;
    memcpy(&d, &u, 8);
    return d;
}

/* ---- messages -------------------------------------------------------------------- */

/* "<fn>: <path>: <what>": every message names the function and the file. */
static tg_status fail(tg_status st, const char *fn, const char *path, const char *fmt, ...)
    TG_PRINTF(4, 5);
static tg_status fail(tg_status st, const char *fn, const char *path, const char *fmt, ...) {
    char what[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return tg__set_error(st, "%s: %s: %s", fn, path, what);
}

/* ---- arguments ------------------------------------------------------------------- */

/* Elements of e (shape already checked). */
static int64_t entry_numel(const tg__ckpt_entry *e) {
    int64_t n = 1;
    for (int d = 0; d < e->ndim; d++) n *= e->shape[d];
    return n;
}

/* Checks what the caller passed: kind, names (1..127 bytes, unique), shapes, buffers. */
static tg_status check_args(const char *fn, const char *path, const char *kind, int n,
                            const tg__ckpt_entry *e, bool save) {
    if (!path) return tg__set_error(TG_ERR_NULL, "%s: path is NULL", fn);
    if (!kind) return tg__set_error(TG_ERR_NULL, "%s: kind is NULL", fn);
    const size_t klen = strlen(kind);
    if (klen == 0 || klen > MAX_KIND)
        return fail(TG_ERR_ARG, fn, path, "kind must be 1..%d bytes, got %zu", MAX_KIND, klen);
    if (n < 0) return fail(TG_ERR_ARG, fn, path, "negative entry count %d", n);
    if (n > 0 && !e) return fail(TG_ERR_NULL, fn, path, "entries are NULL");
    for (int i = 0; i < n; i++) {
        const tg__ckpt_entry *x = &e[i];
        if (!x->name) return fail(TG_ERR_NULL, fn, path, "entry %d has no name", i);
        const size_t len = strlen(x->name);
        if (len == 0 || len > MAX_NAME)
            return fail(TG_ERR_ARG, fn, path, "entry %d: name must be 1..%d bytes, got %zu", i,
                        MAX_NAME, len);
        if (x->ndim < 0 || x->ndim > TG_MAX_DIMS || (x->ndim > 0 && !x->shape))
            return fail(TG_ERR_SHAPE, fn, path, "entry '%s': bad shape (ndim %d)", x->name,
                        x->ndim);
        int64_t numel = 1;
        for (int d = 0; d < x->ndim; d++) {
            if (x->shape[d] < 0 || (x->shape[d] > 0 && numel > (INT64_MAX / 8) / x->shape[d])) {
                char buf[TG_SHAPE_STR];
                return fail(TG_ERR_SHAPE, fn, path, "entry '%s': bad shape %s", x->name,
                            tg__shape_str(x->ndim, x->shape, buf));
            }
            numel *= x->shape[d];
        }
        if (numel > 0 && (save ? x->src == NULL : x->dst == NULL))
            return fail(TG_ERR_NULL, fn, path, "entry '%s': %s is NULL", x->name,
                        save ? "src" : "dst");
        for (int j = 0; j < i; j++)
            if (strcmp(e[j].name, x->name) == 0)
                return fail(TG_ERR_ARG, fn, path, "entry name '%s' is used twice", x->name);
    }
    return TG_OK;
}

/* ---- saving ---------------------------------------------------------------------- */

typedef struct writer {
    int fd;
    int err;      /* errno of the first failed write; 0 while all is well */
    uint32_t crc; /* of every byte flushed so far */
    uint64_t written;
    size_t used;
    unsigned char buf[WBUF_SIZE];
} writer;

static void w_flush(writer *w) {
    size_t off = 0;
    if (!w->err) w->crc = crc_update(w->crc, w->buf, w->used);
    while (!w->err && off < w->used) {
        ssize_t r = write(w->fd, w->buf + off, w->used - off);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0)
            w->err = errno;
        else if (r == 0)
            w->err = EIO;
        else
            off += (size_t)r;
    }
    w->written += off;
    w->used = 0;
}

/* Room for k bytes (k <= WBUF_SIZE) at the end of the buffer. */
static unsigned char *w_room(writer *w, size_t k) {
    if (w->used + k > WBUF_SIZE) w_flush(w);
    unsigned char *p = w->buf + w->used;
    w->used += k;
    return p;
}

static void w_bytes(writer *w, const void *src, size_t k) {
    const unsigned char *s = src;
    while (k > 0) {
        if (w->used == WBUF_SIZE) w_flush(w);
        size_t c = WBUF_SIZE - w->used < k ? WBUF_SIZE - w->used : k;
        memcpy(w->buf + w->used, s, c);
        w->used += c;
        s += c;
        k -= c;
    }
}

static void w_elems(writer *w, const tg_real *x, int64_t n) {
    for (int64_t i = 0; i < n;) {
        if (WBUF_SIZE - w->used < ELEM_SIZE) w_flush(w);
        int64_t k = (int64_t)((WBUF_SIZE - w->used) / ELEM_SIZE);
        if (k > n - i) k = n - i;
        unsigned char *p = w->buf + w->used;
        for (int64_t j = 0; j < k; j++, p += ELEM_SIZE) {
#if TG_PRECISION_DOUBLE
            uint64_t u;
            memcpy(&u, &x[i + j], 8);
            put_u64(p, u);
#else
            uint32_t u;
            memcpy(&u, &x[i + j], 4);
            put_u32(p, u);
#endif
        }
        w->used += (size_t)k * ELEM_SIZE;
        i += k;
    }
}

/* The file's size in bytes, or 0 if it would not fit in 64 bits (it cannot: every
 * entry has fewer than INT64_MAX / 8 elements, and there are fewer than INT_MAX). */
static uint64_t file_size(const char *kind, int n, const tg__ckpt_entry *e) {
    uint64_t size = HEADER + 2 + strlen(kind) + 4 + TRAILER;
    for (int i = 0; i < n; i++) {
        const uint64_t data = (uint64_t)entry_numel(&e[i]) * ELEM_SIZE;
        const uint64_t meta = 2 + strlen(e[i].name) + 1 + 4 * (uint64_t)e[i].ndim;
        if (data > UINT64_MAX - meta - size) return 0;
        size += meta + data;
    }
    return size;
}

static void write_all(writer *w, const char *kind, int n, const tg__ckpt_entry *e, uint64_t size) {
    unsigned char *h = w_room(w, HEADER);
    memcpy(h, MAGIC, sizeof MAGIC);
    put_u32(h + OFF_VERSION, VERSION);
    put_u64(h + OFF_LENGTH, size);
    put_u32(h + OFF_ELEM_SIZE, ELEM_SIZE);
    put_u32(h + OFF_ELEM_TYPE, ELEM_TYPE);
    const size_t klen = strlen(kind);
    put_u16(w_room(w, 2), (uint16_t)klen);
    w_bytes(w, kind, klen);
    put_u32(w_room(w, 4), (uint32_t)n);
    for (int i = 0; i < n; i++) {
        const size_t len = strlen(e[i].name);
        put_u16(w_room(w, 2), (uint16_t)len);
        w_bytes(w, e[i].name, len);
        *w_room(w, 1) = (unsigned char)e[i].ndim;
        for (int d = 0; d < e[i].ndim; d++) put_u32(w_room(w, 4), (uint32_t)e[i].shape[d]);
        w_elems(w, e[i].src, entry_numel(&e[i]));
    }
    w_flush(w); /* the CRC now covers every byte before the trailer */
    const uint32_t crc = w->crc;
    put_u32(w_room(w, TRAILER), crc);
    w_flush(w);
}

tg_status tg__ckpt_save(const char *fn, const char *path, const char *kind, int n,
                        const tg__ckpt_entry *e) {
    if (!fn) fn = "checkpoint";
    tg_status st = check_args(fn, path, kind, n, e, true);
    if (st != TG_OK) return st;
    struct stat old;
    if (stat(path, &old) == 0 && S_ISDIR(old.st_mode))
        return fail(TG_ERR_IO, fn, path, "is a directory");
    const uint64_t size = file_size(kind, n, e);
    if (size == 0) return fail(TG_ERR_NOMEM, fn, path, "the checkpoint would be too large");

    char tmp[4096];
    const int fd = tg__temp_beside(path, "ckpt", ".tmp", tmp, sizeof tmp);
    if (fd < 0)
        return fail(TG_ERR_IO, fn, path, "cannot create a temporary file beside it: %s",
                    strerror(errno));
    writer *w = tg__malloc(sizeof *w);
    if (!w) {
        close(fd);
        unlink(tmp);
        return fail(TG_ERR_NOMEM, fn, path, "out of memory");
    }
    w->fd = fd;
    w->err = 0;
    w->crc = (uint32_t)crc32(0L, Z_NULL, 0);
    w->written = 0;
    w->used = 0;
    write_all(w, kind, n, e, size);
    int err = w->err;
    assert(err || w->written == size);
    tg__free(w);
    if (!err) err = tg__fsync(fd);
    if (close(fd) != 0 && !err) err = errno;
    if (err) {
        unlink(tmp);
        return fail(TG_ERR_IO, fn, path, "writing failed: %s (the previous file is unchanged)",
                    strerror(err));
    }
    /* An existing file keeps its permission bits. */
    if ((err = tg__replace_file(tmp, path)) != 0)
        return fail(TG_ERR_IO, fn, path, "cannot replace it: %s (the previous file is unchanged)",
                    strerror(err));
    tg__sync_dir(path);
    return TG_OK;
}

/* ---- loading --------------------------------------------------------------------- */

typedef struct reader {
    const unsigned char *p;
    size_t pos, end; /* end: where the trailer starts */
} reader;

static bool r_has(const reader *r, size_t k) { return k <= r->end - r->pos; }
static const unsigned char *r_take(reader *r, size_t k) {
    const unsigned char *q = r->p + r->pos;
    r->pos += k;
    return q;
}

/* Reads up to n bytes at the file's current offset; the count read, or -1 (errno). */
static ssize_t read_full(int fd, unsigned char *buf, size_t n) {
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, buf + got, n - got);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) return -1;
        if (r == 0) break;
        got += (size_t)r;
    }
    return (ssize_t)got;
}

/* Opens path and reads all of it into *out (tg__malloc'd, *size bytes), after checking
 * that it is a regular file, starts with the magic and is exactly as long as its
 * header says. TG_OK, or an error with the message set (nothing to free). */
static tg_status read_file(const char *fn, const char *path, unsigned char **out, size_t *size) {
    *out = NULL;
    /* O_NONBLOCK: opening a FIFO must not hang; it is rejected below. */
    const int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) return fail(TG_ERR_IO, fn, path, "cannot open: %s", strerror(errno));
    struct stat sb;
    tg_status st = TG_OK;
    unsigned char hdr[FIXED_PREFIX];
    unsigned char *buf = NULL;
    ssize_t got;
    if (fstat(fd, &sb) != 0) {
        st = fail(TG_ERR_IO, fn, path, "cannot read: %s", strerror(errno));
        goto done;
    }
    if (S_ISDIR(sb.st_mode)) {
        st = fail(TG_ERR_IO, fn, path, "is a directory");
        goto done;
    }
    if (!S_ISREG(sb.st_mode)) {
        st = fail(TG_ERR_IO, fn, path, "is not a regular file");
        goto done;
    }
    const uint64_t m = (uint64_t)sb.st_size;
    got = read_full(fd, hdr, sizeof hdr);
    if (got < 0) {
        st = fail(TG_ERR_IO, fn, path, "cannot read: %s", strerror(errno));
        goto done;
    }
    const size_t h = (size_t)got;
    if (memcmp(hdr, MAGIC, h < sizeof MAGIC ? h : sizeof MAGIC) != 0) {
        st = fail(TG_ERR_FORMAT, fn, path, "not a tapegrad checkpoint");
        goto done;
    }
    if (h < FIXED_PREFIX) { /* a prefix of a checkpoint: an empty file, or a cut one */
        st = fail(TG_ERR_FORMAT, fn, path, "truncated: expected at least %d bytes, file has %zu",
                  MIN_FILE, h);
        goto done;
    }
    const uint64_t declared = get_u64(hdr + OFF_LENGTH);
    if (m > declared) {
        st = fail(TG_ERR_FORMAT, fn, path,
                  "expected %llu bytes, file has %llu: data was appended or the header is "
                  "corrupted",
                  (unsigned long long)declared, (unsigned long long)m);
        goto done;
    }
    if (m > SIZE_MAX || !(buf = tg__malloc((size_t)m))) {
        st =
            fail(TG_ERR_NOMEM, fn, path, "out of memory reading %llu bytes", (unsigned long long)m);
        goto done;
    }
    memcpy(buf, hdr, h);
    got = read_full(fd, buf + h, (size_t)m - h);
    if (got < 0) {
        st = fail(TG_ERR_IO, fn, path, "cannot read: %s", strerror(errno));
        goto done;
    }
    const size_t have = h + (size_t)got; /* less than m if the file shrank meanwhile */
    if (have < declared) {
        /* Cut short, or is the length field itself damaged? A whole file whose length
         * field was flipped passes the checksum once the true length is put back. */
        bool whole = false;
        if (have >= FIXED_PREFIX + TRAILER) {
            unsigned char len[8];
            put_u64(len, have);
            uint32_t crc = crc_update((uint32_t)crc32(0L, Z_NULL, 0), buf, OFF_LENGTH);
            crc = crc_update(crc, len, 8);
            crc = crc_update(crc, buf + FIXED_PREFIX, have - TRAILER - FIXED_PREFIX);
            whole = crc == get_u32(buf + have - TRAILER);
        }
        if (whole)
            st = fail(TG_ERR_FORMAT, fn, path, "checksum mismatch: the file is corrupted");
        else
            st = fail(TG_ERR_FORMAT, fn, path, "truncated: expected %llu bytes, file has %zu",
                      (unsigned long long)declared, have);
        goto done;
    }
    *out = buf;
    *size = have;
    buf = NULL;
done:
    tg__free(buf);
    close(fd);
    return st;
}

/* Parses and checks the file in buf against the n expected entries; fills where[i]
 * with the start of entry i's data. Copies nothing. */
static tg_status validate(const char *fn, const char *path, const char *kind, int n,
                          const tg__ckpt_entry *e, const unsigned char *buf, size_t size,
                          const unsigned char **where, uint32_t *es_out) {
    const uint32_t crc = crc_update((uint32_t)crc32(0L, Z_NULL, 0), buf, size - TRAILER);
    if (crc != get_u32(buf + size - TRAILER))
        return fail(TG_ERR_FORMAT, fn, path, "checksum mismatch: the file is corrupted");
    const uint32_t version = get_u32(buf + OFF_VERSION);
    if (version > VERSION)
        return fail(TG_ERR_UNSUPPORTED, fn, path, "version %u is newer than this library's %d",
                    (unsigned)version, VERSION);
    if (version < 1) return fail(TG_ERR_FORMAT, fn, path, "unknown version %u", (unsigned)version);

    if (size < FIXED_PREFIX + TRAILER)
        return fail(TG_ERR_FORMAT, fn, path, "malformed: the header is cut short");
    reader r = {buf, FIXED_PREFIX, size - TRAILER};
    if (!r_has(&r, 8)) return fail(TG_ERR_FORMAT, fn, path, "malformed: the header is cut short");
    const uint32_t es = get_u32(r_take(&r, 4)), type = get_u32(r_take(&r, 4));
    if (!((es == 4 && type == TYPE_F32) || (es == 8 && type == TYPE_F64)))
        return fail(TG_ERR_FORMAT, fn, path, "unknown element type %u of %u bytes", (unsigned)type,
                    (unsigned)es);
    *es_out = es;

    if (!r_has(&r, 2)) return fail(TG_ERR_FORMAT, fn, path, "malformed: no kind");
    const size_t klen = get_u16(r_take(&r, 2));
    if (klen == 0 || klen > MAX_KIND || !r_has(&r, klen))
        return fail(TG_ERR_FORMAT, fn, path, "malformed: bad kind length %zu", klen);
    const char *fkind = (const char *)r_take(&r, klen);
    if (memchr(fkind, '\0', klen))
        return fail(TG_ERR_FORMAT, fn, path, "malformed: the kind holds a NUL byte");
    if (klen != strlen(kind) || memcmp(fkind, kind, klen) != 0)
        return fail(TG_ERR_FORMAT, fn, path, "holds '%.*s' state, expected '%s'", (int)klen, fkind,
                    kind);

    if (!r_has(&r, 4)) return fail(TG_ERR_FORMAT, fn, path, "malformed: no entry count");
    const uint32_t count = get_u32(r_take(&r, 4));
    for (uint32_t k = 0; k < count; k++) {
        char name[MAX_NAME + 1], shape_str[TG_SHAPE_STR], want_str[TG_SHAPE_STR];
        if (!r_has(&r, 2))
            return fail(TG_ERR_FORMAT, fn, path, "malformed: entry %u of %u is missing",
                        (unsigned)k + 1, (unsigned)count);
        const size_t len = get_u16(r_take(&r, 2));
        if (len == 0 || len > MAX_NAME || !r_has(&r, len + 1))
            return fail(TG_ERR_FORMAT, fn, path, "malformed: entry %u has a bad name length %zu",
                        (unsigned)k + 1, len);
        memcpy(name, r_take(&r, len), len);
        name[len] = '\0';
        if (strlen(name) != len)
            return fail(TG_ERR_FORMAT, fn, path, "malformed: entry %u's name holds a NUL byte",
                        (unsigned)k + 1);
        const int ndim = *r_take(&r, 1);
        if (ndim > TG_MAX_DIMS || !r_has(&r, 4 * (size_t)ndim))
            return fail(TG_ERR_FORMAT, fn, path, "malformed: entry '%s' has %d dimensions", name,
                        ndim);
        int shape[TG_MAX_DIMS];
        bool empty = false;
        for (int d = 0; d < ndim; d++) {
            const uint32_t u = get_u32(r_take(&r, 4));
            if (u > INT32_MAX)
                return fail(TG_ERR_FORMAT, fn, path, "malformed: entry '%s' has a negative size",
                            name);
            shape[d] = (int)u;
            empty |= u == 0;
        }
        tg__shape_str(ndim, shape, shape_str);
        /* The element count, stopped before it exceeds what the remaining bytes could
         * hold (so it never overflows). */
        uint64_t numel = empty ? 0 : 1;
        bool fits = true;
        for (int d = 0; d < ndim && !empty && fits; d++) {
            const uint64_t u = (uint64_t)shape[d];
            if (numel > (r.end - r.pos) / es / u)
                fits = false;
            else
                numel *= u;
        }
        /* Which expected entry is it? Usually the k-th: try that first. */
        int i = (int64_t)k < n && strcmp(e[k].name, name) == 0 ? (int)k : -1;
        for (int j = 0; j < n && i < 0; j++)
            if (strcmp(e[j].name, name) == 0) i = j;
        if (i < 0) return fail(TG_ERR_FORMAT, fn, path, "holds an extra entry '%s'", name);
        if (where[i])
            return fail(TG_ERR_FORMAT, fn, path, "malformed: holds entry '%s' twice", name);
        bool same = e[i].ndim == ndim;
        for (int d = 0; d < ndim && same; d++) same = e[i].shape[d] == shape[d];
        if (!same)
            return fail(TG_ERR_FORMAT, fn, path, "entry '%s' has shape %s, expected %s", name,
                        shape_str, tg__shape_str(e[i].ndim, e[i].shape, want_str));
        if (!fits || !r_has(&r, (size_t)numel * es))
            return fail(TG_ERR_FORMAT, fn, path,
                        "malformed: entry '%s' %s needs more bytes than the file holds", name,
                        shape_str);
        where[i] = r_take(&r, (size_t)numel * es);
        if (es == 8 && ELEM_SIZE == 4) {
            for (int64_t x = 0; x < (int64_t)numel; x++) {
                const double v = get_elem(where[i], es, x);
                if (isfinite(v) && fabs(v) > FLT_MAX)
                    return fail(TG_ERR_FORMAT, fn, path,
                                "entry '%s' holds %g (element %lld), beyond the range of float",
                                name, v, (long long)x);
            }
        }
    }
    if (r.pos != r.end)
        return fail(TG_ERR_FORMAT, fn, path, "malformed: %zu unexpected bytes after the last entry",
                    r.end - r.pos);
    for (int i = 0; i < n; i++)
        if (!where[i]) return fail(TG_ERR_FORMAT, fn, path, "has no entry '%s'", e[i].name);
    return TG_OK;
}

tg_status tg__ckpt_load(const char *fn, const char *path, const char *kind, int n,
                        const tg__ckpt_entry *e) {
    if (!fn) fn = "checkpoint";
    tg_status st = check_args(fn, path, kind, n, e, false);
    if (st != TG_OK) return st;
    const unsigned char **where = NULL;
    if (n > 0) {
        where = tg__malloc((size_t)n * sizeof *where);
        if (!where) return fail(TG_ERR_NOMEM, fn, path, "out of memory");
        for (int i = 0; i < n; i++) where[i] = NULL;
    }
    unsigned char *buf = NULL;
    size_t size = 0;
    uint32_t es = 0;
    st = read_file(fn, path, &buf, &size);
    if (st == TG_OK) st = validate(fn, path, kind, n, e, buf, size, where, &es);
    if (st == TG_OK) {
        /* Only now, with the whole file checked, does anything reach the caller. */
        for (int i = 0; i < n; i++) {
            const int64_t numel = entry_numel(&e[i]);
            tg_real *dst = e[i].dst;
            const unsigned char *p = where[i];
            if (es == ELEM_SIZE) {
                for (int64_t x = 0; x < numel; x++) {
#if TG_PRECISION_DOUBLE
                    const uint64_t u = get_u64(p + 8 * x);
#else
                    const uint32_t u = get_u32(p + 4 * x);
#endif
                    memcpy(&dst[x], &u, sizeof u);
                }
            } else {
                for (int64_t x = 0; x < numel; x++) dst[x] = (tg_real)get_elem(p, es, x);
            }
        }
    }
    tg__free(buf);
    tg__free((void *)where);
    return st;
}
