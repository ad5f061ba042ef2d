/* src/graph/fileio.c: replacing a file whole, and running a helper program; shared by
 * the DOT export (src/graph/dot.c), the plot (src/nn/train.c) and checkpoints
 * (src/nn/ckpt.c).
 *
 * A save writes a temporary beside its target (so the rename stays on one file system),
 * syncs it, and renames it over the target: a crash or a failed write leaves the
 * previous file as it was, and a reader never sees half a file. Helper programs (dot,
 * gnuplot) are found on PATH as execvp would find them and spawned without a shell, so
 * no path or title is ever parsed by one. */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "internal.h"

extern char **environ;

/* ---- files ----------------------------------------------------------------------- */

int tg__temp_beside(const char *path, const char *tag, const char *ext, char *buf, size_t n) {
    static atomic_uint counter;
    const char *slash = strrchr(path, '/');
    const int dirlen = slash ? (int)(slash - path + 1) : 0;
    const char *rel = path[0] == '/' ? "" : "./";
    for (int attempt = 0; attempt < 100; attempt++) {
        const unsigned k = atomic_fetch_add(&counter, 1u);
        const int len = snprintf(buf, n, "%s%.*s.tg%s-%ld-%u%s", rel, dirlen, path, tag,
                                 (long)getpid(), k, ext);
        if (len < 0 || (size_t)len >= n) {
            errno = ENAMETOOLONG;
            return -1;
        }
        const int fd = open(buf, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd >= 0 || errno != EEXIST) return fd;
    }
    return -1;
}

int tg__fsync(int fd) {
    /* EINVAL: the descriptor is of a kind that cannot be synced; nothing to wait for. */
    return fsync(fd) != 0 && errno != EINVAL ? errno : 0;
}

int tg__replace_file(const char *tmp, const char *path) {
    struct stat st;
    if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) (void)chmod(tmp, st.st_mode & 07777);
    if (rename(tmp, path) != 0) {
        const int e = errno;
        unlink(tmp);
        return e;
    }
    return 0;
}

tg_status tg__commit_file(const char *fn, const char *tmp, const char *path) {
    const int e = tg__replace_file(tmp, path);
    if (e) return tg__set_error(TG_ERR_IO, "%s: cannot write %s: %s", fn, path, strerror(e));
    return TG_OK;
}

void tg__sync_dir(const char *path) {
    char dir[4096];
    const char *slash = strrchr(path, '/');
    if (!slash) {
        strcpy(dir, ".");
    } else {
        const size_t len = slash == path ? 1 : (size_t)(slash - path);
        if (len >= sizeof dir) return;
        memcpy(dir, path, len);
        dir[len] = '\0';
    }
    const int fd = open(dir, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;
    fsync(fd);
    close(fd);
}

/* ---- programs -------------------------------------------------------------------- */

bool tg__find_program(const char *name, char *buf, size_t n) {
    const char *p = getenv("PATH");
    if (!p) p = "/usr/bin:/bin";
    for (;;) {
        const char *end = strchr(p, ':');
        const int len = end ? (int)(end - p) : (int)strlen(p);
        const int w =
            len ? snprintf(buf, n, "%.*s/%s", len, p, name) : snprintf(buf, n, "./%s", name);
        struct stat st;
        if (w > 0 && (size_t)w < n && stat(buf, &st) == 0 && S_ISREG(st.st_mode) &&
            access(buf, X_OK) == 0)
            return true;
        if (!end) return false;
        p = end + 1;
    }
}

/* Reads the program's stderr to the end (so it never blocks on a full pipe), keeping
 * its start with line breaks as spaces and its last non-empty line. */
static void read_stderr(int fd, tg__run_result *r) {
    char line[sizeof r->err_last];
    size_t head = 0, used = 0;
    for (;;) {
        char chunk[512];
        const ssize_t got = read(fd, chunk, sizeof chunk);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) break;
        for (ssize_t i = 0; i < got; i++) {
            const bool eol = chunk[i] == '\n' || chunk[i] == '\r';
            if (head + 1 < sizeof r->err_head) r->err_head[head++] = eol ? ' ' : chunk[i];
            if (eol) {
                if (used) memcpy(r->err_last, line, used), r->err_last[used] = '\0';
                used = 0;
            } else if (used + 1 < sizeof line) {
                line[used++] = chunk[i];
            }
        }
    }
    if (used) memcpy(r->err_last, line, used), r->err_last[used] = '\0';
    while (head > 0 && r->err_head[head - 1] == ' ') head--;
    r->err_head[head] = '\0';
}

tg_status tg__run_program(const char *fn, const char *prog, char *const argv[], tg__run_result *r) {
    r->how = TG__RUN_UNKNOWN;
    r->code = 0;
    r->err_head[0] = r->err_last[0] = '\0';
    int pfd[2];
    if (pipe(pfd) != 0) return tg__set_error(TG_ERR_IO, "%s: pipe: %s", fn, strerror(errno));
    fcntl(pfd[0], F_SETFD, FD_CLOEXEC);
    fcntl(pfd[1], F_SETFD, FD_CLOEXEC);
    posix_spawn_file_actions_t fa;
    pid_t pid;
    int rc = posix_spawn_file_actions_init(&fa);
    if (rc == 0) {
        /* stderr into the pipe (dup2 clears close-on-exec); stdin, stdout: /dev/null. */
        posix_spawn_file_actions_adddup2(&fa, pfd[1], 2);
        if (pfd[0] != 2) posix_spawn_file_actions_addclose(&fa, pfd[0]);
        if (pfd[1] != 2) posix_spawn_file_actions_addclose(&fa, pfd[1]);
        posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
        posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
        rc = posix_spawn(&pid, prog, &fa, NULL, argv, environ);
        posix_spawn_file_actions_destroy(&fa);
    }
    close(pfd[1]);
    if (rc != 0) {
        close(pfd[0]);
        return tg__set_error(TG_ERR_IO, "%s: cannot run %s: %s", fn, prog, strerror(rc));
    }
    read_stderr(pfd[0], r);
    close(pfd[0]);
    int status;
    pid_t w;
    while ((w = waitpid(pid, &status, 0)) < 0 && errno == EINTR) {
    }
    if (w < 0) return TG_OK; /* the caller ignores SIGCHLD: no status to be had */
    if (WIFEXITED(status)) {
        r->how = TG__RUN_EXITED;
        r->code = WEXITSTATUS(status);
    } else {
        r->how = TG__RUN_KILLED;
        r->code = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
    }
    return TG_OK;
}
