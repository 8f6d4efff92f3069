/* parallel.c - see parallel.h */
#include "parallel.h"
#include "err.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

struct job {
	long n;
	atomic_long next;
	size_t scratch_bytes;
	void (*fn)(void *, long, void *);
	void *ctx;
};

static void *worker(void *arg)
{
	struct job *j = arg;
	void *scratch = j->scratch_bytes ? xcalloc(1, j->scratch_bytes) : NULL;
	long i;

	while ((i = atomic_fetch_add(&j->next, 1)) < j->n)
		j->fn(j->ctx, i, scratch);
	free(scratch);
	return NULL;
}

static int default_threads; /* 0: one per online core */

void parallel_set_threads(int n) { default_threads = n > 0 ? n : 0; }

int parallel_cores(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n < 1 ? 1 : n > 256 ? 256 : (int)n;
}

void parallel_for(long n, int nthreads, size_t scratch_bytes,
		  void (*fn)(void *ctx, long i, void *scratch), void *ctx)
{
	struct job j = { .n = n, .scratch_bytes = scratch_bytes, .fn = fn, .ctx = ctx };
	pthread_t tid[256];
	int t, started = 0;

	atomic_init(&j.next, 0);
	if (nthreads <= 0)
		nthreads = default_threads ? default_threads : parallel_cores();
	if (nthreads > n)
		nthreads = n > 0 ? (int)n : 1;
	if (nthreads > 256)
		nthreads = 256;
	for (t = 1; t < nthreads; t++)
		if (pthread_create(&tid[started], NULL, worker, &j) == 0)
			started++;
	worker(&j); /* the caller works too; if no thread started it does it all */
	for (t = 0; t < started; t++)
		pthread_join(tid[t], NULL);
}
