/* bench.c - see bench.h */
#include "bench.h"
#include "err.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

double wall_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static double median(double *v, long n)
{
	qsort(v, (size_t)n, sizeof *v, cmp_double);
	return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* median and 1.4826*MAD of v (v is left sorted) */
static void robust(const double *v, long n, double *med, double *sigma)
{
	double *tmp = xmalloc((size_t)n * sizeof *tmp);
	memcpy(tmp, v, (size_t)n * sizeof *tmp);
	*med = median(tmp, n);
	for (long i = 0; i < n; i++)
		tmp[i] = fabs(v[i] - *med);
	*sigma = 1.4826 * median(tmp, n);
	free(tmp);
}

void sampler_init(struct sampler *s, const struct bench_opts *o)
{
	memset(s, 0, sizeof *s);
	s->o = o;
	s->cap = o->max_samples > 0 ? o->max_samples : 1;
	s->t = xcalloc((size_t)s->cap, sizeof *s->t);
	s->clock = xcalloc((size_t)s->cap, sizeof *s->clock);
	s->t0 = wall_seconds();
}

int sampler_add(struct sampler *s, double per_launch_ms, double clock_mhz, int throttled)
{
	double med, sigma;

	if (throttled)
		s->throttled++;
	else if (s->n < s->cap) {
		s->t[s->n] = per_launch_ms;
		s->clock[s->n++] = clock_mhz;
	}
	if (s->n >= s->cap)
		return 0;
	if (wall_seconds() - s->t0 > s->o->max_seconds && s->n >= 3)
		return 0;
	/* a GPU throttling throughout must not spin forever */
	if (s->throttled > 4L * s->cap)
		return 0;
	if (s->n < s->o->min_samples || wall_seconds() - s->t0 < s->o->min_seconds)
		return 1;
	robust(s->t, s->n, &med, &sigma);
	/* standard error of the median ~ 1.2533 * sigma / sqrt(n) */
	return 1.2533 * sigma / sqrt((double)s->n) > s->o->noise_target * med;
}

long sampler_batch(const struct bench_opts *o, double est_launch_ms)
{
	double n = est_launch_ms > 0 ? ceil(o->sample_ms / est_launch_ms) : 1;
	return n < 1 ? 1 : n > 100000 ? 100000 : (long)n;
}

void sampler_finish(struct sampler *s, long launches, struct bench_result *r)
{
	double sigma;

	memset(r, 0, sizeof *r);
	r->launches = launches;
	r->samples = s->n;
	r->throttled = s->throttled;
	if (s->n) {
		robust(s->t, s->n, &r->latency_ms, &sigma);
		r->noise_pct = r->latency_ms > 0 ? 100.0 * sigma / r->latency_ms : 0;
		r->sm_clock_mhz = median(s->clock, s->n);
	} else {
		r->latency_ms = NAN;
	}
	free(s->t);
	free(s->clock);
}

long bench_cold_copies(size_t stride, size_t l2_bytes, int l2_hot)
{
	long want;
	if (l2_hot || stride == 0)
		return 1;
	want = (long)ceil(4.0 * (double)l2_bytes / (double)stride) + 1;
	return want > 65536 ? 65536 : want;
}
