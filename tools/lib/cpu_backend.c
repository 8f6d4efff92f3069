/* cpu_backend.c - the `ref` kernel on the CPU: wall-clock timing of
 * cpu_chunked_attention() with the shared sampler (bench.h). */
#include "backend.h"
#include "err.h"
#include "metrics.h"
#include "parallel.h"
#include "reference.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cpu_bench(const struct inputs *in, const struct bench_opts *o, float *out,
	      const struct validator *v, struct bench_result *r)
{
	struct sampler s;
	size_t n = (size_t)in->s.n_seqs * in->s.n_heads * in->s.d_head;
	float *scratch = xmalloc(n * sizeof *scratch);
	double t;

	memset(out, 0xff, n * sizeof *out); /* poison: unwritten = NaN */
	cpu_chunked_attention(in, out);
	if (!v->accept(v->ctx, out)) {
		free(scratch);
		return 0;
	}
	for (int i = 0; i < o->warmup; i++)
		cpu_chunked_attention(in, scratch);
	sampler_init(&s, o);
	do {
		t = wall_seconds();
		cpu_chunked_attention(in, scratch);
		t = wall_seconds() - t;
	} while (sampler_add(&s, 1e3 * t, 0, 0));
	sampler_finish(&s, 1, r);
	free(scratch);
	return 1;
}

struct sum_job {
	const uint16_t *k, *v;
	size_t n;
	unsigned long long *acc;
};

#define SUM_BLOCK ((size_t)1 << 18)

static void sum_block(void *ctx, long b, void *scratch)
{
	const struct sum_job *j = ctx;
	size_t lo = (size_t)b * SUM_BLOCK, hi = lo + SUM_BLOCK < j->n ? lo + SUM_BLOCK : j->n;
	unsigned long long acc = 0;
	(void)scratch;
	for (size_t i = lo; i < hi; i++)
		acc += j->k[i] ^ j->v[i];
	j->acc[b] = acc;
}

double cpu_ceiling_gbps(const struct inputs *in, const struct bench_opts *o)
{
	struct sum_job j = { in->k, in->v, in->nkv, NULL };
	long blocks = (long)((in->nkv + SUM_BLOCK - 1) / SUM_BLOCK);
	struct sampler s;
	struct bench_result r;
	double t;

	j.acc = xcalloc((size_t)blocks, sizeof *j.acc);
	sampler_init(&s, o);
	do {
		t = wall_seconds();
		parallel_for(blocks, 0, 0, sum_block, &j);
		t = wall_seconds() - t;
	} while (sampler_add(&s, 1e3 * t, 0, 0));
	sampler_finish(&s, 1, &r);
	free(j.acc);
	return metrics_kv_gbps(&in->s, r.latency_ms);
}

const char *cpu_name(void)
{
	static char name[128];
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[256];

	snprintf(name, sizeof name, "CPU");
	while (f && fgets(line, sizeof line, f)) {
		char *colon = strchr(line, ':');
		if (strncmp(line, "model name", 10) == 0 && colon) {
			snprintf(name, sizeof name, "CPU %s", colon + 2);
			name[strcspn(name, "\n")] = '\0';
			break;
		}
	}
	if (f)
		fclose(f);
	for (char *p = name; *p; p++)
		if (*p == ',')
			*p = ';';
	return name;
}
