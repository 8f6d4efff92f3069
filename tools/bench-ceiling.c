/* bench-ceiling - time every candidate streaming read of
 * kernels/stream_read.cu (stream_read_plan.h lists them) on the GPU, to
 * choose what run-kernel's ceil_gbps runs (the dispatch table of
 * kernels/stream_read_plan.c); or, with --check, validate that each reads
 * every byte of awkward sizes exactly once.
 *
 *   bench-ceiling [-o FILE]                  the sweep: CSV, one row per (variant, size)
 *   bench-ceiling --check                    exact xor folds against the host's
 *   bench-ceiling --variants 'bulk:stages=6;stage_kb=32,nc4' --sizes 2G
 *
 * Timing is run-kernel's (bench.h's sampler through gpu_util.h's
 * gpu_measure: warm-up, batches of back-to-back launches between CUDA
 * events, median, noise = 1.4826 MAD / median, throttled samples dropped),
 * L2 cold: each size rotates over enough copies of random data that 4x the
 * L2 is read between two uses of one (bench_cold_copies, as run-kernel).
 * Rows: variant (the kind, or `dispatch` for what stream_read_launch()
 * runs at that size), params (the rest of the spec: `variant:params` is a
 * spec for --variants and the dispatch table), bytes, median_us, gbps
 * (1e9 bytes/s), noise_pct, then samples, grid, threads, resident (CTAs of
 * it an SM holds), piece_bytes, smem_bytes, sm_clock_mhz.  A summary of the
 * best per size goes to stderr at the end.
 */
#include "lib/bench.h"
#include "lib/err.h"
#include "lib/gpu_util.h"
#include "lib/num.h"
#include "lib/out.h"
#include "lib/rng.h"
#include "../kernels/stream_read.h"

#include <cuda_runtime_api.h>
#include <getopt.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DISPATCH "dispatch" /* --variants name of what stream_read_launch() runs */

/* 1 MiB .. 4 GiB: 128 and 256 MiB are the seed grid's 134 and 268 MB K/V,
 * 2 GiB its largest (2.147 GB, 256 x 256 x 64 tokens x 128 x 2 x 2 B) */
static const char *const default_sizes = "1M,16M,128M,256M,512M,1G,2G,4G";
/* awkward sizes for --check: empty, tails only, one word, words + tails,
 * partial pieces, several pieces a CTA (64 MiB + 4113 on every grid) */
static const char *const check_sizes = "0,1,15,16,17,48,4095,4097,65552,1048624,3145735,67112977";
static const int check_offsets[] = {0, 16, 48};
/* the second pass of --check: a grid of 3 CTAs at most (max_ctas) */
#define CHECK_CTAS 3
#define CHECK_CTAS_TEXT "3"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: bench-ceiling [--check] [--variants SPEC,...] [--sizes LIST] [--list] [-o FILE]\n"
		"                     [--device N] [--warmup N] [--min-iters N] [--max-time S] [--budget S] [-q]\n"
		"Times every streaming-read candidate of kernels/stream_read.cu on sizes 1 MiB .. 4 GiB,\n"
		"L2 cold, and writes CSV: variant,params,bytes,median_us,gbps,noise_pct,samples,grid,\n"
		"threads,resident,piece_bytes,smem_bytes,sm_clock_mhz; the best per size on stderr.\n"
		"  --variants LIST  specs (kind:key=value;...) separated by commas; 'dispatch' is what\n"
		"                   stream_read_launch() (run-kernel's ceiling) runs; default: --list\n"
		"  --sizes LIST     bytes, with k/M/G = 2^10/2^20/2^30 (default %s)\n"
		"  --check          instead of timing: each variant's exact xor fold of random data\n"
		"                   against the host's, sizes %s\n"
		"                   at offsets 0,16,48, as planned and on 3 CTAs (many pieces each);\n"
		"                   prints ok/FAIL lines, exit 3 on a failure\n"
		"  --list           print the default sweep's specs and exit\n"
		"  --max-time S     most seconds of samples per (variant, size) (default 0.3)\n"
		"  --min-iters N    fewest samples (default 10); --warmup N launches first (default 3)\n"
		"  --budget S       stop timing after S seconds in all, keeping the rows so far (default 110)\n"
		"Exit: 0 ok, 1 CUDA error, 2 usage, 3 --check found a wrong fold.\n",
		default_sizes, check_sizes);
}

/* "4G" -> 4 << 30 */
static size_t parse_size(const char *s)
{
	char buf[64];
	size_t n = strlen(s), mul = 1;
	long v;
	const char *why;
	if (n == 0 || n >= sizeof buf)
		die_usage("--sizes: '%s' is not a size", s);
	memcpy(buf, s, n + 1);
	switch (buf[n - 1]) {
	case 'k': case 'K': mul = (size_t)1 << 10; buf[n - 1] = 0; break;
	case 'm': case 'M': mul = (size_t)1 << 20; buf[n - 1] = 0; break;
	case 'g': case 'G': mul = (size_t)1 << 30; buf[n - 1] = 0; break;
	}
	if ((why = parse_long(buf, 0, (long)(((size_t)1 << 40) / mul), &v)) != NULL)
		die_usage("--sizes: '%s': %s", s, why);
	return (size_t)v * mul;
}

/* Splits s at commas into a malloc'd array of malloc'd strings. */
static int split(const char *s, char ***out)
{
	char *copy = xstrdup(s), *p, *save = NULL;
	int n = 0;
	*out = NULL;
	for (p = strtok_r(copy, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
		*out = xrealloc(*out, (size_t)(n + 1) * sizeof **out);
		(*out)[n++] = xstrdup(p);
	}
	free(copy);
	return n;
}

/* One candidate: its spec, or the dispatch (v resolved per size). */
struct cand {
	const char *spec;
	int dispatch;
	struct sr_variant v;
};

static const struct sr_variant *variant_at(const struct cand *c, size_t bytes)
{
	return c->dispatch ? stream_read_dispatch(bytes) : &c->v;
}

/* --- timing ------------------------------------------------------------------ */
struct runner {
	const struct sr_variant *v;
	char *pool;
	size_t bytes, stride;
	long nsets, next;
	float *sink;
	cudaStream_t stream;
	struct stream_read_info info;
};

static void launch_one(void *ctx)
{
	struct runner *r = ctx;
	const char *set = r->pool + (size_t)(r->next++ % r->nsets) * r->stride;
	int e = stream_read_launch_variant(r->v, set, r->bytes, r->sink, NULL, r->stream, &r->info);
	if (e)
		die(EXIT_INPUT, "CUDA error launching stream_read: %s", cudaGetErrorString((cudaError_t)e));
}

struct row {
	size_t bytes;
	int cand;
	double us, gbps;
};

static void fill_random(char *dev, size_t bytes, uint64_t seed)
{
	const size_t chunk = (size_t)64 << 20;
	size_t first = bytes < chunk ? bytes : chunk, done;
	uint64_t *h = xmalloc((first + 7) / 8 * 8), st = seed;
	for (size_t i = 0; i < (first + 7) / 8; i++)
		h[i] = rng_next(&st);
	CK(cudaMemcpy(dev, h, first, cudaMemcpyHostToDevice));
	free(h);
	/* the rest: copies of what is there, doubling */
	for (done = first; done < bytes;) {
		size_t n = done < bytes - done ? done : bytes - done;
		CK(cudaMemcpy(dev + done, dev, n, cudaMemcpyDeviceToDevice));
		done += n;
	}
}

static void print_summary(const struct row *rows, int nrows, const struct cand *cands, const size_t *sizes,
			  int nsizes)
{
	fprintf(stderr, "%s: GB/s (1e9 B/s), L2 cold; nc4 = the ceiling before this bench, dispatch = what "
			"run-kernel's ceil_gbps runs now:\n",
		progname);
	fprintf(stderr, "%12s %9s %9s  %s\n", "bytes", "nc4", "dispatch", "best three (GB/s variant:params)");
	for (int s = 0; s < nsizes; s++) {
		double nc4 = 0, disp = 0;
		int best[3] = {-1, -1, -1};
		for (int i = 0; i < nrows; i++) {
			if (rows[i].bytes != sizes[s])
				continue;
			const struct cand *c = &cands[rows[i].cand];
			if (c->dispatch)
				disp = rows[i].gbps;
			else if (c->v.kind == SR_NC4 && nc4 == 0)
				nc4 = rows[i].gbps;
			for (int b = 0; b < 3; b++)
				if (!c->dispatch && (best[b] < 0 || rows[i].gbps > rows[best[b]].gbps)) {
					for (int m = 2; m > b; m--)
						best[m] = best[m - 1];
					best[b] = i;
					break;
				}
		}
		fprintf(stderr, "%12zu %9.1f %9.1f ", sizes[s], nc4, disp);
		for (int b = 0; b < 3 && best[b] >= 0; b++)
			fprintf(stderr, " %.1f %s", rows[best[b]].gbps, cands[rows[best[b]].cand].spec);
		fputc('\n', stderr);
	}
}

static int run_sweep(struct cand *cands, int ncand, const size_t *sizes, int nsizes, const struct bench_opts *o,
		     double budget, int quiet, FILE *out)
{
	struct cudaDeviceProp prop;
	size_t pool_bytes = 0, free_b, total_b;
	char *pool;
	float *sink;
	cudaStream_t stream;
	cudaEvent_t ev0, ev1;
	struct row *rows = xcalloc((size_t)ncand * nsizes, sizeof *rows);
	int nrows = 0, dev;
	double t0 = wall_seconds();

	CK(cudaGetDevice(&dev));
	CK(cudaGetDeviceProperties(&prop, dev));
	CK(cudaMemGetInfo(&free_b, &total_b));
	/* one pool for every size: the largest rotation */
	for (int s = 0; s < nsizes; s++) {
		size_t stride = (sizes[s] + 255) & ~(size_t)255;
		size_t need = (size_t)bench_cold_copies(stride, (size_t)prop.l2CacheSize, 0) * stride;
		if (need > pool_bytes)
			pool_bytes = need;
	}
	if (pool_bytes > free_b * 9 / 10)
		die(EXIT_INPUT, "the sizes need %.1f GB of GPU memory, %.1f GB free: ask for smaller --sizes",
		    pool_bytes / 1e9, free_b / 1e9);
	CK(cudaMalloc((void **)&pool, pool_bytes));
	CK(cudaMalloc((void **)&sink, 1024 * sizeof(float)));
	CK(cudaMemset(sink, 0, 1024 * sizeof(float)));
	fill_random(pool, pool_bytes, 1);
	CK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
	CK(cudaEventCreate(&ev0));
	CK(cudaEventCreate(&ev1));
	CK(cudaDeviceSynchronize());
	if (!quiet)
		warnx("%s, %d SMs, L2 %.0f MB; %d variants x %d sizes over a %.1f GB pool", prop.name,
		      prop.multiProcessorCount, prop.l2CacheSize / 1e6, ncand, nsizes, pool_bytes / 1e9);
	fprintf(out, "variant,params,bytes,median_us,gbps,noise_pct,samples,grid,threads,resident,piece_bytes,"
		     "smem_bytes,sm_clock_mhz\n");
	for (int s = 0; s < nsizes; s++) {
		struct runner r = {0};
		r.pool = pool;
		r.bytes = sizes[s];
		r.stride = (sizes[s] + 255) & ~(size_t)255;
		r.nsets = bench_cold_copies(r.stride, (size_t)prop.l2CacheSize, 0);
		r.sink = sink;
		r.stream = stream;
		if (sizes[s] == 0)
			continue;
		for (int c = 0; c < ncand; c++) {
			struct bench_result res;
			const char *why;
			char spec[256];
			if (wall_seconds() - t0 > budget) {
				warnx("--budget of %.0f s spent: the rest of the sweep is not timed", budget);
				goto done;
			}
			r.v = variant_at(&cands[c], sizes[s]);
			if (!r.v)
				die(EXIT_INPUT, "the dispatch table has a spec that does not parse");
			if ((why = stream_read_check(r.v)) != NULL) {
				if (s == 0)
					warnx("%s skipped: %s", cands[c].spec, why);
				continue;
			}
			struct gpu_timing t = {stream, ev0, ev1, launch_one, &r, cands[c].spec, r.nsets};
			gpu_measure(&t, o, &res);
			CK(cudaGetLastError());
			sr_format(r.v, spec, sizeof spec);
			char *params = strchr(spec, ':');
			const double us = res.latency_ms * 1e3, gbps = sizes[s] / (res.latency_ms * 1e-3) / 1e9;
			fprintf(out, "%s,%s,%zu,%.4f,%.2f,%.3f,%ld,%u,%d,%d,%llu,%zu,%.0f\n",
				cands[c].dispatch ? DISPATCH : sr_kind_name(r.v->kind), params ? params + 1 : "", sizes[s],
				us, gbps, res.noise_pct, res.samples, r.info.grid, r.info.threads, r.info.resident,
				r.info.piece_bytes, r.info.smem_bytes, res.sm_clock_mhz);
			if (!quiet)
				fprintf(stderr, "%s: %10zu B %-66s %9.2f us %8.1f GB/s +-%.2f%%\n", progname, sizes[s],
					cands[c].spec, us, gbps, res.noise_pct);
			rows[nrows].bytes = sizes[s];
			rows[nrows].cand = c;
			rows[nrows].us = us;
			rows[nrows++].gbps = gbps;
		}
	}
done:
	fflush(out);
	print_summary(rows, nrows, cands, sizes, nsizes);
	warnx("%d rows in %.1f s", nrows, wall_seconds() - t0);
	free(rows);
	cudaFree(pool);
	cudaFree(sink);
	return 0;
}

/* --- check ----------------------------------------------------------------------- */
/* The fold the kernels compute: the xor of the 32-bit words of the 16-byte
 * words, then of the tail bytes, zero-extended. */
static uint32_t host_fold(const unsigned char *p, size_t bytes)
{
	const size_t n16 = bytes / 16;
	uint32_t acc = 0, w;
	for (size_t i = 0; i < n16 * 4; i++) {
		memcpy(&w, p + 4 * i, 4);
		acc ^= w;
	}
	for (size_t i = n16 * 16; i < bytes; i++)
		acc ^= p[i];
	return acc;
}

static int run_check(struct cand *cands, int ncand, const size_t *sizes, int nsizes)
{
	size_t max = 0, total;
	unsigned char *h, *d;
	unsigned *fold;
	float *sink;
	uint32_t *want;
	uint64_t st = 7;
	int nofs = (int)(sizeof check_offsets / sizeof check_offsets[0]), passed = 0, failed = 0;
	cudaStream_t stream;

	for (int s = 0; s < nsizes; s++)
		if (sizes[s] > max)
			max = sizes[s];
	/* random bytes beyond the last one read too: a read past the end folds them in */
	total = max + 64 + 4096;
	h = xmalloc((total + 7) / 8 * 8);
	for (size_t i = 0; i < (total + 7) / 8; i++)
		((uint64_t *)h)[i] = rng_next(&st);
	CK(cudaMalloc((void **)&d, total));
	CK(cudaMalloc((void **)&fold, sizeof *fold));
	CK(cudaMalloc((void **)&sink, 1024 * sizeof(float)));
	CK(cudaMemset(sink, 0, 1024 * sizeof(float)));
	CK(cudaMemcpy(d, h, total, cudaMemcpyHostToDevice));
	CK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
	want = xmalloc((size_t)nsizes * nofs * sizeof *want);
	for (int s = 0; s < nsizes; s++)
		for (int o = 0; o < nofs; o++)
			want[s * nofs + o] = host_fold(h + check_offsets[o], sizes[s]);
	for (int c = 0; c < ncand; c++) {
		char why_fail[256] = "";
		int reads = 0, skipped = 0, wrapped = 0;
		/* pass 1: as planned; pass 2: on at most CHECK_CTAS CTAs, so that
		 * each reads many pieces of these sizes and wraps its ring */
		for (int pass = 0; pass < 2 && !why_fail[0] && !skipped; pass++) {
			for (int s = 0; s < nsizes && !why_fail[0]; s++) {
				const struct sr_variant *dv = variant_at(&cands[c], sizes[s]);
				struct sr_variant v;
				const char *why;
				if (!dv) {
					snprintf(why_fail, sizeof why_fail, "the dispatch table has a spec that does not parse");
					break;
				}
				v = *dv;
				if (pass == 1) {
					if (v.kind == SR_NC4)
						continue; /* its grid rule is fixed */
					v.max_ctas = CHECK_CTAS;
				}
				if ((why = stream_read_check(&v)) != NULL) {
					printf("skip stream_read %s: %s\n", cands[c].spec, why);
					skipped = 1;
					break;
				}
				for (int o = 0; o < nofs && !why_fail[0]; o++) {
					unsigned got = 0xdeadbeefu;
					int e;
					CK(cudaMemset(fold, 0, sizeof *fold));
					e = stream_read_launch_variant(&v, d + check_offsets[o], sizes[s], sink, fold, stream, NULL);
					if (e == 0)
						e = (int)cudaStreamSynchronize(stream);
					/* the dispatch's other entry point, as run-kernel calls it */
					if (e == 0 && pass == 0 && cands[c].dispatch &&
					    (e = stream_read_launch(d + check_offsets[o], sizes[s], sink, stream)) == 0)
						e = (int)cudaStreamSynchronize(stream);
					if (e != 0) {
						snprintf(why_fail, sizeof why_fail, "%zu bytes at offset %d%s: CUDA error %s", sizes[s],
							 check_offsets[o], pass ? " on " CHECK_CTAS_TEXT " CTAs" : "",
							 cudaGetErrorString((cudaError_t)e));
						break;
					}
					CK(cudaMemcpy(&got, fold, sizeof got, cudaMemcpyDeviceToHost));
					if (got != want[s * nofs + o])
						snprintf(why_fail, sizeof why_fail, "%zu bytes at offset %d%s: fold %08x, want %08x",
							 sizes[s], check_offsets[o], pass ? " on " CHECK_CTAS_TEXT " CTAs" : "", got,
							 want[s * nofs + o]);
					if (pass)
						wrapped++;
					else
						reads++;
				}
			}
		}
		if (skipped)
			continue;
		if (why_fail[0]) {
			printf("FAIL stream_read %s: %s\n", cands[c].spec, why_fail);
			failed++;
			if (cudaGetLastError() != cudaSuccess || cudaDeviceSynchronize() != cudaSuccess)
				die(EXIT_INPUT, "the device is in an error state after %s", cands[c].spec);
		} else {
			printf("ok stream_read %s: %d reads exact (%d sizes x %d offsets)", cands[c].spec, reads, nsizes, nofs);
			if (wrapped)
				printf(", and %d on " CHECK_CTAS_TEXT " CTAs", wrapped);
			printf("\n");
			passed++;
		}
	}
	printf("check: %d passed, %d failed\n", passed, failed);
	free(want);
	free(h);
	cudaFree(d);
	cudaFree(fold);
	cudaFree(sink);
	return failed ? EXIT_INVALID : 0;
}

int main(int argc, char **argv)
{
	enum { O_CHECK = 256, O_VARIANTS, O_SIZES, O_LIST, O_DEVICE, O_WARMUP, O_MIN_ITERS, O_MAX_TIME, O_BUDGET };
	static const struct option longs[] = {
		{"check", no_argument, 0, O_CHECK},          {"variants", required_argument, 0, O_VARIANTS},
		{"sizes", required_argument, 0, O_SIZES},    {"list", no_argument, 0, O_LIST},
		{"device", required_argument, 0, O_DEVICE},  {"warmup", required_argument, 0, O_WARMUP},
		{"min-iters", required_argument, 0, O_MIN_ITERS}, {"max-time", required_argument, 0, O_MAX_TIME},
		{"budget", required_argument, 0, O_BUDGET},  {"help", no_argument, 0, 'h'},
		{0, 0, 0, 0},
	};
	struct bench_opts o = {
		.warmup = 3, .min_samples = 10, .max_samples = 50, .min_seconds = 0.02, .max_seconds = 0.3,
		.noise_target = 0.005, .sample_ms = 2.0,
	};
	const char *variants = NULL, *size_list = NULL, *out_path = NULL, *why;
	int check = 0, quiet = 0, device = 0, c, ncand, nsizes, rc, ndev = 0;
	double budget = 110;
	long x;
	char **specs, **size_strs;
	struct cand *cands;
	size_t *sizes;

	err_init(argv[0]);
	while ((c = getopt_long(argc, argv, "o:qh", longs, NULL)) != -1) {
		switch (c) {
		case O_CHECK: check = 1; break;
		case O_VARIANTS: variants = optarg; break;
		case O_SIZES: size_list = optarg; break;
		case O_LIST:
			for (int i = 0; i < sr_sweep_count(); i++)
				printf("%s\n", sr_sweep_spec(i));
			printf("%s\n", DISPATCH);
			return 0;
		case O_DEVICE:
			if ((why = parse_long(optarg, 0, 1024, &x)) != NULL)
				die_usage("--device: %s", why);
			device = (int)x;
			break;
		case O_WARMUP:
			if ((why = parse_long(optarg, 0, 100000, &x)) != NULL)
				die_usage("--warmup: %s", why);
			o.warmup = (int)x;
			break;
		case O_MIN_ITERS:
			if ((why = parse_long(optarg, 1, 50, &x)) != NULL)
				die_usage("--min-iters: %s (1..50)", why);
			o.min_samples = (int)x;
			break;
		case O_MAX_TIME:
			if ((why = parse_double(optarg, &o.max_seconds)) != NULL || o.max_seconds < 0)
				die_usage("--max-time: %s", why ? why : "negative");
			if (o.min_seconds > o.max_seconds)
				o.min_seconds = o.max_seconds;
			break;
		case O_BUDGET:
			if ((why = parse_double(optarg, &budget)) != NULL || budget <= 0)
				die_usage("--budget: %s", why ? why : "not positive");
			break;
		case 'o': out_path = optarg; break;
		case 'q': quiet = 1; break;
		case 'h': usage(stdout); return 0;
		default: die_usage_hint();
		}
	}
	if (optind < argc)
		die_usage("unexpected argument '%s'", argv[optind]);

	/* the candidates: every spec parsed before the GPU is touched */
	if (variants) {
		ncand = split(variants, &specs);
	} else {
		ncand = sr_sweep_count() + 1;
		specs = xmalloc((size_t)ncand * sizeof *specs);
		for (int i = 0; i < sr_sweep_count(); i++)
			specs[i] = xstrdup(sr_sweep_spec(i));
		specs[sr_sweep_count()] = xstrdup(DISPATCH);
	}
	if (ncand == 0)
		die_usage("--variants: no spec");
	cands = xcalloc((size_t)ncand, sizeof *cands);
	for (int i = 0; i < ncand; i++) {
		cands[i].spec = specs[i];
		cands[i].dispatch = strcmp(specs[i], DISPATCH) == 0;
		if (!cands[i].dispatch && (why = sr_parse(specs[i], &cands[i].v)) != NULL)
			die_usage("--variants: '%s': %s", specs[i], why);
	}
	nsizes = split(size_list ? size_list : check ? check_sizes : default_sizes, &size_strs);
	if (nsizes == 0)
		die_usage("--sizes: no size");
	sizes = xmalloc((size_t)nsizes * sizeof *sizes);
	for (int i = 0; i < nsizes; i++)
		sizes[i] = parse_size(size_strs[i]);

	if (cudaGetDeviceCount(&ndev) != cudaSuccess || ndev == 0)
		die(EXIT_INPUT, "no CUDA GPU found");
	if (device >= ndev)
		die_usage("--device %d: this machine has %d CUDA GPU(s)", device, ndev);
	CK(cudaSetDevice(device));
	nvml_open(device);
	if (check) {
		rc = run_check(cands, ncand, sizes, nsizes);
	} else {
		FILE *out = out_open(out_path);
		rc = run_sweep(cands, ncand, sizes, nsizes, &o, budget, quiet, out);
		out_commit();
	}
	for (int i = 0; i < ncand; i++)
		free(specs[i]);
	for (int i = 0; i < nsizes; i++)
		free(size_strs[i]);
	free(specs);
	free(size_strs);
	free(cands);
	free(sizes);
	return rc;
}
