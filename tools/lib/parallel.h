/* parallel.h - a minimal parallel-for over the machine's cores (pthreads).
 * Work items are handed out one at a time, so uneven items balance. */
#ifndef PARALLEL_H
#define PARALLEL_H

#include <stddef.h>

/* Calls fn(ctx, i, scratch) for i in [0, n) on up to nthreads threads
 * (0 = the default: parallel_set_threads's count, else one per online
 * core).  Each thread gets its own scratch_bytes of zeroed scratch memory
 * (may be 0). */
void parallel_for(long n, int nthreads, size_t scratch_bytes,
		  void (*fn)(void *ctx, long i, void *scratch), void *ctx);

int parallel_cores(void);
/* Sets the default thread count for the callers that pass 0 (n > 0; 0 goes
 * back to one per core), so a test can check that a result does not depend
 * on it.  Call it before starting work, not while a parallel_for runs. */
void parallel_set_threads(int n);

#endif
