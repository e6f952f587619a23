// Fork-join pool and spin barrier (pool.h).

#include "pool.h"

#include <pthread.h>
#include <sched.h>
#include <stdbool.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define cpu_relax() _mm_pause()
#else
#define cpu_relax() ((void)0)
#endif

// Sense-reversing barrier of the running job.
static _Atomic int bar_count = 0, bar_sense = 0;
static int job_n = 0;

void pool_sync(int *local_sense) {
  int s = !*local_sense;
  *local_sense = s;
  if (job_n <= 1) return;
  if (atomic_fetch_add_explicit(&bar_count, 1, memory_order_acq_rel) == job_n - 1) {
    atomic_store_explicit(&bar_count, 0, memory_order_relaxed);
    atomic_store_explicit(&bar_sense, s, memory_order_release);
  } else {
    for (unsigned spins = 0; atomic_load_explicit(&bar_sense, memory_order_acquire) != s; spins++) {
      cpu_relax();
      if ((spins & 1023) == 1023) sched_yield();  // a descheduled partner needs this core
    }
  }
}

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;
static int started = 1;  // threads running, the caller included
static int max_threads = 1;
static _Atomic unsigned generation = 0;
static _Atomic int remaining = 0;
static int sleepers = 0;
static void (*job_fn)(void *, int, int);
static void *job_ctx;

// Spin this many yields for the next job before sleeping: ~1 ms, longer than the gap
// between the time loops of one training step, far shorter than a pause between runs.
#define IDLE_SPINS 2000

static unsigned start_gen[POOL_MAX_THREADS];

static void *worker(void *arg) {
  int tid = (int)(long)arg;
  // the generation when it was created: it may only start running after the next job is posted
  unsigned seen = start_gen[tid];
  for (;;) {
    unsigned g;
    int spins = 0;
    while ((g = atomic_load_explicit(&generation, memory_order_acquire)) == seen && spins < IDLE_SPINS) {
      sched_yield();
      spins++;
    }
    if (g == seen) {
      pthread_mutex_lock(&lock);
      sleepers++;
      while ((g = atomic_load(&generation)) == seen) pthread_cond_wait(&wake, &lock);
      sleepers--;
      pthread_mutex_unlock(&lock);
    }
    seen = g;
    if (tid < job_n) {
      job_fn(job_ctx, tid, job_n);
      atomic_fetch_sub_explicit(&remaining, 1, memory_order_acq_rel);
    }
  }
  return NULL;
}

void pool_set_max(int n) {
  max_threads = n < 1 ? 1 : n > POOL_MAX_THREADS ? POOL_MAX_THREADS : n;
}

int pool_max(void) { return max_threads; }

void pool_run(int n, void (*fn)(void *ctx, int tid, int n), void *ctx) {
  if (n > max_threads) n = max_threads;
  while (started < n) {  // workers start on first use and live as long as the process
    pthread_t t;
    start_gen[started] = atomic_load(&generation);
    if (pthread_create(&t, NULL, worker, (void *)(long)started) != 0) break;
    pthread_detach(t);
    started++;
  }
  if (n > started) n = started;
  if (n < 1) n = 1;
  job_n = n;
  // every thread starts with sense 0: the barrier's must be 0 too
  atomic_store_explicit(&bar_count, 0, memory_order_relaxed);
  atomic_store_explicit(&bar_sense, 0, memory_order_relaxed);
  if (n == 1) { fn(ctx, 0, 1); return; }
  job_fn = fn;
  job_ctx = ctx;
  atomic_store_explicit(&remaining, n - 1, memory_order_relaxed);
  atomic_fetch_add_explicit(&generation, 1, memory_order_release);
  pthread_mutex_lock(&lock);
  if (sleepers) pthread_cond_broadcast(&wake);
  pthread_mutex_unlock(&lock);
  fn(ctx, 0, n);
  for (unsigned spins = 0; atomic_load_explicit(&remaining, memory_order_acquire) > 0; spins++) {
    cpu_relax();
    if ((spins & 1023) == 1023) sched_yield();
  }
}
