/* The kernels' own worker threads: a call's parts shared by the calling thread and up to
 * nthreads - 1 workers that stay awake for a moment after each call (compiled into pool.pyx,
 * whose run_parts the other kernel modules cimport: one pool per process).
 *
 *   mg_pool_run(fn, job, nparts, nthreads)   runs fn(job, i) once for every part
 *                                            i < nparts, and returns when all have run.
 *
 * Why not OpenMP: an OpenMP parallel region ends with every thread of its team checking
 * in. minigrad used to set OMP_WAIT_POLICY=PASSIVE (idle OpenMP threads sleep at once, so
 * that they leave the second core to other libraries), and on a 2-core virtual machine a
 * sleeping thread took 100-250 us to wake: a forward call of 2.4-4.7M multiply-adds ran up
 * to 2.2x slower on two threads than on one, and the benchmark's 2D forward (1.5 ms on two
 * awake threads) took 2.1. Here instead:
 *
 *   - the caller claims parts too, and never waits for a worker that has not started one: a
 *     worker that wakes late finds the parts taken and goes back to waiting, so a call on
 *     two threads costs at most one part more than on one;
 *   - a worker that finishes a call keeps watching for the next for MG_POOL_SPIN_US before
 *     it sleeps: the calls of a training step come a few microseconds apart and find it
 *     awake. After its first MG_POOL_PAUSE_SPINS turns it offers the core to any other
 *     thread at every turn (sched_yield): three 2-thread 128x128 BLAS products right after
 *     a depthwise call took 0.45-0.50 ms while it only paused, 0.18-0.25 ms with the yield,
 *     as long as without a depthwise call before them.
 *
 * Measured on a 2-core VM (benchmarks/README.md): the 2D benchmark forward, 2.1 ms on two
 * OpenMP threads, 1.2-1.65 ms here; calls of 2.4-4.7M multiply-adds, 1.6-2.2x slower on two
 * OpenMP threads than on one, 0.58-0.85x of one here.
 *
 * Results never depend on which thread runs a part (the loop nests write disjoint rows, and
 * the kernel gradient's partial sums are added in part order afterwards).
 *
 * How a worker knows which call a part belongs to: `ticket` holds the call's number (high 32
 * bits) and its next unclaimed part (low 32). A worker copies the call's description
 * between two reads of `gen` (odd while the caller writes it), then claims parts with a
 * compare-and-swap that also checks the call number: a part is only ever claimed while its
 * own call is running, and the caller does not return before every claimed part is done.
 * A second thread calling while a call runs (Python threads release the GIL in the kernels)
 * runs its parts itself.
 *
 * After fork() the child has none of the parent's workers: it starts its own when needed.
 * Without POSIX threads (Windows) the parts run under OpenMP if the build has it, else in
 * order on the calling thread.
 */
#ifndef MINIGRAD_POOL_H
#define MINIGRAD_POOL_H

#include <stddef.h>
#include <stdint.h>

typedef void (*mg_task)(void *job, ptrdiff_t part);

/* How long an idle worker watches for the next call before it sleeps, and how many of its
   first turns only pause (the rest also yield the core). */
#define MG_POOL_SPIN_US 300
#define MG_POOL_MAX_WORKERS 63
#define MG_POOL_PAUSE_SPINS 2048

#if defined(__unix__) || defined(__APPLE__)
#include <pthread.h>
#include <sched.h>
#include <time.h>
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define MG_POOL_RELAX() _mm_pause()
#else
#define MG_POOL_RELAX() ((void)0)
#endif

static struct {
    pthread_mutex_t lock;          /* worker start-up and sleep */
    pthread_cond_t wake;
    int workers;                   /* started */
    int sleeping;                  /* waiting on `wake` */
    int busy;                      /* a call is running */
    unsigned gen;                  /* call number x 2, odd while a call is being described */
    uint64_t ticket;               /* (call number << 32) | next unclaimed part */
    ptrdiff_t done;                /* parts of the current call finished */
    /* the current call */
    mg_task fn;
    void *job;
    ptrdiff_t nparts;
    int helpers;                   /* workers 0 .. helpers-1 may take part */
} mg_pool = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};

#define MG_LOAD(p) __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define MG_STORE(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)

static double mg_pool_now_us(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e6 + t.tv_nsec * 1e-3;
}

/* Claim and run parts of call `call` while there are any. */
static void mg_pool_work(unsigned call, mg_task fn, void *job, ptrdiff_t nparts) {
    uint64_t t = MG_LOAD(&mg_pool.ticket);
    while ((unsigned)(t >> 32) == call && (ptrdiff_t)(t & 0xffffffffu) < nparts) {
        if (!__atomic_compare_exchange_n(&mg_pool.ticket, &t, t + 1, 0, __ATOMIC_ACQ_REL,
                                         __ATOMIC_ACQUIRE))
            continue;                               /* t now holds the current ticket */
        fn(job, (ptrdiff_t)(t & 0xffffffffu));
        __atomic_add_fetch(&mg_pool.done, 1, __ATOMIC_RELEASE);
        t = MG_LOAD(&mg_pool.ticket);
    }
}

static void *mg_pool_worker(void *arg) {
    const int me = (int)(intptr_t)arg;
    unsigned seen = MG_LOAD(&mg_pool.gen) & ~1u;
    for (;;) {
        /* wait for a new call: watch for a while, then sleep */
        double start = mg_pool_now_us();
        unsigned g;
        for (int spins = 0; ; spins++) {
            g = MG_LOAD(&mg_pool.gen);
            if (g != seen && !(g & 1u))
                break;
            if ((spins & 255) == 255 && mg_pool_now_us() - start > MG_POOL_SPIN_US) {
                pthread_mutex_lock(&mg_pool.lock);
                __atomic_add_fetch(&mg_pool.sleeping, 1, __ATOMIC_SEQ_CST);
                while ((g = __atomic_load_n(&mg_pool.gen, __ATOMIC_SEQ_CST)) == seen || (g & 1u))
                    pthread_cond_wait(&mg_pool.wake, &mg_pool.lock);
                __atomic_sub_fetch(&mg_pool.sleeping, 1, __ATOMIC_SEQ_CST);
                pthread_mutex_unlock(&mg_pool.lock);
                break;
            }
            if (spins < MG_POOL_PAUSE_SPINS)
                MG_POOL_RELAX();
            else
                sched_yield();
        }
        seen = g;
        /* copy the call's description; it is whole if gen did not change meanwhile */
        mg_task fn = __atomic_load_n(&mg_pool.fn, __ATOMIC_RELAXED);
        void *job = __atomic_load_n(&mg_pool.job, __ATOMIC_RELAXED);
        ptrdiff_t nparts = __atomic_load_n(&mg_pool.nparts, __ATOMIC_RELAXED);
        int helpers = __atomic_load_n(&mg_pool.helpers, __ATOMIC_RELAXED);
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
        if (__atomic_load_n(&mg_pool.gen, __ATOMIC_RELAXED) != g || me >= helpers)
            continue;
        mg_pool_work(g >> 1, fn, job, nparts);
    }
    return NULL;
}

static void mg_pool_after_fork(void) {      /* in the child: no workers, a fresh lock */
    pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    pthread_cond_t wake = PTHREAD_COND_INITIALIZER;
    mg_pool.lock = lock;
    mg_pool.wake = wake;
    mg_pool.workers = mg_pool.sleeping = mg_pool.busy = 0;
}

/* Start workers until there are n (fewer if the system refuses). */
static void mg_pool_start(int n) {
    static int registered = 0;
    pthread_mutex_lock(&mg_pool.lock);
    if (!registered) {
        pthread_atfork(NULL, NULL, mg_pool_after_fork);
        registered = 1;
    }
    while (mg_pool.workers < n) {
        pthread_t thread;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        int failed = pthread_create(&thread, &attr, mg_pool_worker,
                                    (void *)(intptr_t)mg_pool.workers);
        pthread_attr_destroy(&attr);
        if (failed)
            break;
        mg_pool.workers++;
    }
    pthread_mutex_unlock(&mg_pool.lock);
}

static int mg_pool_workers(void) { return MG_LOAD(&mg_pool.workers); }

static void mg_pool_run(mg_task fn, void *job, ptrdiff_t nparts, int nthreads) {
    int helpers = nthreads - 1;
    if (helpers > MG_POOL_MAX_WORKERS)
        helpers = MG_POOL_MAX_WORKERS;
    if (nparts > 0xffffffffLL)        /* (the ticket's part field) */
        helpers = 0;
    if (helpers > 0 && __atomic_exchange_n(&mg_pool.busy, 1, __ATOMIC_ACQUIRE))
        helpers = 0;                  /* another thread's call is running */
    if (helpers <= 0 || nparts < 2) {
        for (ptrdiff_t i = 0; i < nparts; i++)
            fn(job, i);
        if (helpers > 0)
            MG_STORE(&mg_pool.busy, 0);
        return;
    }
    if (MG_LOAD(&mg_pool.workers) < helpers)
        mg_pool_start(helpers);
    /* describe the call (gen odd meanwhile), then publish it */
    unsigned gen = mg_pool.gen + 1;
    __atomic_store_n(&mg_pool.gen, gen, __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_RELEASE);
    __atomic_store_n(&mg_pool.fn, fn, __ATOMIC_RELAXED);
    __atomic_store_n(&mg_pool.job, job, __ATOMIC_RELAXED);
    __atomic_store_n(&mg_pool.nparts, nparts, __ATOMIC_RELAXED);
    __atomic_store_n(&mg_pool.helpers, helpers, __ATOMIC_RELAXED);
    __atomic_store_n(&mg_pool.done, 0, __ATOMIC_RELAXED);
    MG_STORE(&mg_pool.ticket, (uint64_t)((gen + 1) >> 1) << 32);
    __atomic_store_n(&mg_pool.gen, gen + 1, __ATOMIC_SEQ_CST);
    if (__atomic_load_n(&mg_pool.sleeping, __ATOMIC_SEQ_CST) > 0) {
        pthread_mutex_lock(&mg_pool.lock);
        pthread_cond_broadcast(&mg_pool.wake);
        pthread_mutex_unlock(&mg_pool.lock);
    }
    mg_pool_work((gen + 1) >> 1, fn, job, nparts);
    while (MG_LOAD(&mg_pool.done) < nparts)      /* parts a worker is still running */
        MG_POOL_RELAX();
    MG_STORE(&mg_pool.busy, 0);
}

#else    /* no POSIX threads: OpenMP if the build has it, else one thread */

static int mg_pool_workers(void) { return 0; }

static void mg_pool_run(mg_task fn, void *job, ptrdiff_t nparts, int nthreads) {
#if defined(_OPENMP)
    if (nthreads > 1 && nparts > 1 && nparts <= 0x7fffffff) {
        const int n = (int)nparts;           /* (MSVC's OpenMP 2.0 loops take an int) */
        int i;
        #pragma omp parallel for schedule(dynamic, 1) num_threads(nthreads)
        for (i = 0; i < n; i++)
            fn(job, i);
        return;
    }
    for (ptrdiff_t i = 0; i < nparts; i++)
        fn(job, i);
#else
    (void)nthreads;
    for (ptrdiff_t i = 0; i < nparts; i++)
        fn(job, i);
#endif
}

#endif
#endif
