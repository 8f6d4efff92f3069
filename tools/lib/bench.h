/* bench.h - how every backend measures one (config, kernel): the options,
 * the result, and the one sampling/stopping rule they share.
 *
 * Method (after NVIDIA's nvbench; README "How a row is measured"): warm up; then take samples, each
 * a batch of back-to-back launches long enough to dwarf timer resolution;
 * throw away samples taken while the GPU throttled; stop when the median is
 * known to noise_target (relative standard error of the median) or at
 * max_samples / max_seconds.  latency = median per-launch time; noise = robust
 * relative spread (1.4826 * MAD / median). */
#ifndef BENCH_H
#define BENCH_H

#include "inputs.h"

#include <stddef.h>

struct bench_opts {
	int warmup;            /* launches before the first sample */
	int min_samples, max_samples;
	double min_seconds;    /* sample at least this long (nvbench's floor) */
	double max_seconds;    /* wall-clock budget for one measurement */
	double noise_target;   /* stop when rel. std. error of the median < this */
	double sample_ms;      /* aim for samples at least this long */
	int l2_hot;            /* 1: reuse one K/V set (the seed's method) */
	int graph;             /* 1: time CUDA-graph replays of each batch */
	int device;
};

struct bench_result {
	double latency_ms;     /* median per-launch time */
	double noise_pct;      /* 100 * 1.4826 * MAD / median */
	long samples;          /* samples kept */
	long launches;         /* launches per sample */
	long throttled;        /* samples thrown away: the GPU was throttling */
	double sm_clock_mhz;   /* median SM clock over kept samples (0: unknown) */
};

/* Judges a backend's first output before any timing (a wrong kernel is not
 * timed): accept() returns 1 to go on and time, 0 to stop. */
struct validator {
	int (*accept)(void *ctx, const float *out);
	void *ctx;
};

/* The sampler: feed it per-launch times until it says stop. */
struct sampler {
	const struct bench_opts *o;
	double *t;
	long n, cap;
	double *clock;
	long throttled;
	double t0;             /* wall clock at start */
};
void sampler_init(struct sampler *s, const struct bench_opts *o);
/* Adds one sample (per-launch ms; clock_mhz 0 if unknown); throttled samples
 * are counted and dropped.  Returns 1 while more samples are wanted. */
int sampler_add(struct sampler *s, double per_launch_ms, double clock_mhz, int throttled);
/* Launches per sample so a sample lasts about o->sample_ms. */
long sampler_batch(const struct bench_opts *o, double est_launch_ms);
void sampler_finish(struct sampler *s, long launches, struct bench_result *r);

double wall_seconds(void);

/* Cold L2: how many copies of a `stride`-byte input (the bytes between two
 * copies) to rotate over so that at least 4x the L2 size is read between
 * two uses of one copy (one copy of a large input already is that), at most
 * 65536; 1 when l2_hot.  The caller may keep fewer when memory runs short. */
long bench_cold_copies(size_t stride, size_t l2_bytes, int l2_hot);

#endif
