// A tiny fork-join pool for the fused time loops (sequence.c): pool_run(n, fn, ctx)
// runs fn(ctx, tid, n) on n threads (the caller is tid 0; n may come out smaller than
// asked) and returns when all are done; inside, pool_sync() lines the threads up
// between time steps.
//
// Why not OpenBLAS's threads: a time step is a few microseconds of work, and the
// threads must meet after every step. The workers spin (yielding, so other work on the
// core runs) for a while after each job, then sleep on a condition variable.

#ifndef RNNKIT_POOL_H
#define RNNKIT_POOL_H

#include <stdatomic.h>

#define POOL_MAX_THREADS 64

/** Runs fn(ctx, tid, n) for tid in [0, n) (n capped at pool_max()); tid 0 on the calling thread. */
void pool_run(int n, void (*fn)(void *ctx, int tid, int n), void *ctx);

/** Waits until all n threads of the running job have called it; sense starts at 0 in each thread. */
void pool_sync(int *sense);

/** Threads pool_run may use: set by setThreads (gemm.c). */
void pool_set_max(int n);
int pool_max(void);

#endif
