/* cpu_backend.c - the CPU backend: its kernels (the `ref` kernel,
 * ref_kernel.c) run on the host over the inputs in place, timed by the wall
 * clock with the shared sampler (bench.h). */
#include "backend.h"
#include "err.h"
#include "metrics.h"
#include "parallel.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern const struct attn_kernel attn_kernel_ref;
static const struct attn_kernel *const cpu_kernels[] = { &attn_kernel_ref, NULL };

struct backend_config {
	const struct inputs *in; /* used in place: the host is the device */
};

static const char *cpu_open(int device)
{
	(void)device;
	return NULL;
}

static const char *cpu_name(void)
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

static struct backend_config *cpu_prepare(const struct inputs *in, const struct bench_opts *o,
					  const char **why)
{
	struct backend_config *c = xcalloc(1, sizeof *c);
	(void)o;
	(void)why;
	c->in = in;
	return c;
}

static int cpu_run(struct backend_config *c, const struct attn_kernel *k,
		   const struct bench_opts *o, float *out, const struct validator *v,
		   struct bench_result *r, const char **why)
{
	const struct inputs *in = c->in;
	struct sampler s;
	size_t n = (size_t)in->s.n_seqs * in->s.n_heads * in->s.d_head;
	float *scratch;
	struct attn_args a;
	double t;

	if ((*why = k->check(&in->s)) != NULL)
		return -1;
	a = backend_args(&in->s, in->q, in->k, in->v, out, NULL, &in->tree.t, &in->tree.t);
	memset(out, 0xff, n * sizeof *out); /* poison: unwritten = NaN */
	k->launch(&a, NULL);
	if (!v->accept(v->ctx, out))
		return 1;
	scratch = xmalloc(n * sizeof *scratch);
	a.out = scratch;
	for (int i = 0; i < o->warmup; i++)
		k->launch(&a, NULL);
	sampler_init(&s, o);
	do {
		t = wall_seconds();
		k->launch(&a, NULL);
		t = wall_seconds() - t;
	} while (sampler_add(&s, 1e3 * t, 0, 0));
	sampler_finish(&s, 1, r);
	free(scratch);
	return 0;
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

static double cpu_ceiling_gbps(struct backend_config *c, const struct bench_opts *o)
{
	const struct inputs *in = c->in;
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

static void cpu_release(struct backend_config *c) { free(c); }

/* No tensor cores: ceil_tflops is 0 ("none"), as ceil_gbps is under
 * --no-ceiling, and the roofline draws no flat line.  The peaks stay the
 * defaults (no `peaks` callback), as they always were for this backend. */
static double cpu_ceiling_tflops(struct backend_config *c, const struct bench_opts *o, const char **how)
{
	(void)c;
	(void)o;
	if (how)
		*how = "none: the CPU backend has no tensor cores";
	return 0;
}

static const char *cpu_launch_mode(const struct bench_opts *o)
{
	(void)o;
	return "cpu";
}

const struct backend cpu_backend = {
	"cpu",        cpu_kernels,      cpu_open,    cpu_name,        cpu_prepare,
	cpu_run,      cpu_ceiling_gbps, cpu_release, cpu_launch_mode, cpu_ceiling_tflops,
	NULL,
};
