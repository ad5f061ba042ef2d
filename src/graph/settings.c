/* src/graph/settings.c: process-wide settings: threads, BLAS, version. */
#ifdef _OPENMP
#include <omp.h>
#endif

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>
#include <time.h>

#include "internal.h"
#include "../kernels/gemm.h"

static int num_threads = 0; /* 0: not set yet */

static int cores(void) {
#ifdef _OPENMP
    return omp_get_num_procs();
#else
    return 1;
#endif
}

/* ---- adaptive threads (see core.h) --------------------------------------------------
 * State: paused (loops run on one thread until `until`), the last sample (time and
 * involuntary switch count) and the next pause's length. Sampled by tg_graph_reset
 * through tg__threads_tick; tg__threads_observe holds the logic, with the clock and
 * the count passed in, so a test can drive it. */
#define SAMPLE_S    0.1   /* seconds in a sampling window */
#define FIRST_S     0.02  /* the earliest a window is judged */
#define CHECK_S     0.005 /* at most one look in this time */
#define BUSY_WAIT   0.25  /* busy: the thread waited for a core this share of the time */
#define GRACE_S     0.15  /* no judging this soon after the first look: start-up */
#define PAUSE_MIN_S 0.25
#define PAUSE_MAX_S 8.0

static atomic_bool adaptive = true;
static atomic_bool paused = false;
static pthread_mutex_t tick_lock = PTHREAD_MUTEX_INITIALIZER;
typedef struct adapt_state {
    bool started;
    double t, checked; /* the window's start, the last look */
    double until;      /* the end of the pause */
    double pause;      /* the next pause's length */
    double wait;       /* the thread's seconds waiting for a core, at the window's start */
    double first;      /* the first look */
    bool strike;       /* the last window was busy */
    pthread_t who;     /* the thread whose waits are counted */
} adapt_state;
static adapt_state st;

static int configured(void) { return num_threads > 0 ? num_threads : tg_get_num_threads(); }

int tg__threads(void) { return atomic_load_explicit(&paused, memory_order_relaxed) ? 1 : configured(); }

static void set_paused(bool on) {
    atomic_store_explicit(&paused, on, memory_order_relaxed);
    tgk_blas_set_threads(on ? 1 : num_threads); /* 0: OpenMP's default again */
}

/* The sign that other programs hold the cores: the thread running the steps spent
 * BUSY_WAIT or more of the window runnable but waiting for a core (Linux's schedstat).
 * On free cores that is nearly 0 (measured: under 2% in training, 10% with OpenBLAS's
 * own threads beside ours), whatever the program does; with one more runnable thread
 * than cores it is about a third, with two more a half. A window is judged from
 * FIRST_S on and closes after SAMPLE_S; two busy windows in a row make a pause (one
 * alone can be a passing burst), and after a pause one is enough (the machine was
 * busy), so a busy machine costs a try of the threads some tens of milliseconds. A quiet window resets the pause length. Nothing is judged in
 * the first GRACE_S: a program's start is busy with its own thread pools (OpenBLAS's
 * threads spin for a while after they start) and says nothing about the machine. */
void tg__threads_observe(double now, double wait) {
    st.checked = now;
    if (!st.started) {
        st = (adapt_state){.started = true, .t = now, .checked = now, .wait = wait,
                           .first = now, .pause = PAUSE_MIN_S};
        return;
    }
    if (atomic_load_explicit(&paused, memory_order_relaxed)) {
        if (now >= st.until) { /* try the threads again, in a fresh window; the machine
                                  * was busy, so one busy window is enough to pause again */
            set_paused(false);
            st.t = now, st.wait = wait;
            st.strike = true;
        }
        return;
    }
    const double dt = now - st.t;
    if (dt < FIRST_S) return;
    if (now - st.first < GRACE_S) { /* thread pools starting, pages first touched */
        st.t = now, st.wait = wait;
        return;
    }
    if (configured() > 1 && atomic_load(&adaptive) && wait - st.wait >= BUSY_WAIT * dt) {
        if (st.strike) { /* the second busy window in a row */
            set_paused(true);
            st.strike = false;
            st.until = now + st.pause;
            st.pause = st.pause * 2 > PAUSE_MAX_S ? PAUSE_MAX_S : st.pause * 2;
        } else { /* the first: judge a fresh window before pausing */
            st.strike = true;
            st.t = now, st.wait = wait;
        }
        return;
    }
    if (dt >= SAMPLE_S) {
        st.t = now, st.wait = wait;
        st.strike = false;
        st.pause = PAUSE_MIN_S;
    }
}

/* This thread's seconds spent runnable but waiting for a core, from Linux's
 * /proc/thread-self/schedstat (its second field, in nanoseconds), read with plain
 * system calls (no stdio buffer to allocate). Negative where it cannot be read. */
static double thread_wait_seconds(void) {
#ifdef __linux__
    char buf[128];
    const int fd = open("/proc/thread-self/schedstat", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    const ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) return -1;
    buf[n] = '\0';
    char *end;
    strtoull(buf, &end, 10); /* time on a core */
    if (end == buf) return -1;
    const char *p = end;
    const unsigned long long w = strtoull(p, &end, 10);
    return end == p ? -1 : 1e-9 * (double)w;
#else
    return -1;
#endif
}

void tg__threads_adaptive_restart(void) {
    pthread_mutex_lock(&tick_lock);
    st.started = false;
    set_paused(false);
    pthread_mutex_unlock(&tick_lock);
}

void tg__threads_tick(void) {
    static atomic_bool env_read = false;
    if (!atomic_load_explicit(&env_read, memory_order_relaxed) &&
        !atomic_exchange(&env_read, true)) { /* TG_ADAPTIVE_THREADS=0 turns it off */
        const char *e = getenv("TG_ADAPTIVE_THREADS");
        if (e && strcmp(e, "0") == 0) atomic_store(&adaptive, false);
    }
    if (!atomic_load_explicit(&adaptive, memory_order_relaxed) || configured() <= 1) return;
    if (pthread_mutex_trylock(&tick_lock) != 0) return; /* another graph is sampling */
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    const double now = (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
    const bool due = !st.started ||
                     (atomic_load_explicit(&paused, memory_order_relaxed) ? now >= st.until
                                                                          : now - st.checked >= CHECK_S);
    if (due) {
        const double wait = thread_wait_seconds();
        if (wait >= 0) {
            /* the count is per thread: another thread's steps start a fresh window */
            if (st.started && !pthread_equal(st.who, pthread_self())) st.t = now, st.wait = wait;
            st.who = pthread_self();
            tg__threads_observe(now, wait);
        }
    }
    pthread_mutex_unlock(&tick_lock);
}

TG_API bool tg_set_adaptive_threads(bool on) {
    const bool was = atomic_exchange(&adaptive, on);
    if (!on) tg__threads_adaptive_restart();
    return was;
}

TG_API int tg_threads_in_use(void) { return tg__threads(); }

/* An absurd count (tg_set_num_threads(100000)) crashes the OpenMP runtime at the next
 * parallel loop; more threads than this, or than the cores of a bigger machine, only
 * cost memory. Counts above it are capped (the count in effect is returned). */
#define TG_MAX_THREADS 256

TG_API int tg_set_num_threads(int n) {
    const int all = cores();
    if (n <= 0) n = all;
    if (n > TG_MAX_THREADS && n > all) n = all > TG_MAX_THREADS ? all : TG_MAX_THREADS;
#ifdef _OPENMP
    if (n > omp_get_thread_limit()) n = omp_get_thread_limit();
    omp_set_num_threads(n);
#else
    n = 1;
#endif
    num_threads = n;
    if (!atomic_load_explicit(&paused, memory_order_relaxed)) tgk_blas_set_threads(n);
    return n;
}

TG_API int tg_get_num_threads(void) {
    if (num_threads > 0) return num_threads;
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}

TG_API bool tg_use_blas(bool on) { return tgk_blas_enable(on); }
TG_API bool tg_has_blas(void) { return tgk_blas_available(); }

TG_API const char *tg_version(void) { return TG_VERSION_STRING; }
TG_API const char *tg_precision(void) { return TG_PRECISION_DOUBLE ? "double" : "float"; }
