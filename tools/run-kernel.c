/* run-kernel - run attention kernels on config rows, one validated result
 * row per (config, kernel).
 *
 *   gen-configs --preset seed | run-kernel -k native,tk -o results.csv
 *
 * For each config: seeded random inputs (inputs.h), the fp64 reference
 * (reference.h), the measured read ceiling for the same bytes, then for each
 * kernel: one launch on a poisoned output, validated against the reference,
 * and only then timed (bench.h).  A row that fails validation is reported on
 * stderr and not written - a wrong kernel's speed is not a result - and the
 * run ends with exit 3.  Input columns pass through; missing config columns
 * get their defaults (n_seqs 32, chunk_size 64, d_head 128, dtype bf16).
 */
#include "lib/backend.h"
#include "lib/csv.h"
#include "lib/err.h"
#include "lib/metrics.h"
#include "lib/num.h"
#include "lib/out.h"
#include "lib/reference.h"
#include "../kernels/attn.h"

#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The columns this tool writes (an input column of the same name is
 * replaced), in output order after the config columns. */
static const char *const result_cols[] = {
	"kernel",   "latency_ms",     "noise_pct",  "tflops",  "compute_eff_pct",
	"kv_gbps",  "kv_mem_eff_pct", "ceil_gbps",  "pct_of_ceiling", "rel_err",
	"samples",  "launches",       "warmup",     "throttled_samples", "sm_clock_mhz",
	"l2",       "launch",  "seed",           "gpu",
};
#define NRESULT ((int)(sizeof result_cols / sizeof *result_cols))
static const char *const config_cols[] = { "n_seqs", "n_heads", "n_chunks", "chunk_size",
					   "d_head", "dtype", "blocks" };
#define NCONFIG 7

/* A kernel as run-kernel sees it: the CPU reference or a GPU entry. */
struct kernel_choice {
	const char *name;
	const struct attn_kernel *gpu; /* NULL: the CPU `ref` backend */
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: run-kernel -k KERNEL[,KERNEL...] [options] [FILE...]\n"
		"Reads config rows (stdin when no FILE or '-'), writes one validated result\n"
		"row per (config, kernel) to stdout or -o FILE (written atomically).\n"
		"  -k, --kernel LIST   kernels to run (--list shows them; 'all' = every one)\n"
		"  -o, --output FILE   write here instead of stdout, only if the run succeeds\n"
		"  --warmup N          launches before timing (default 10 GPU, 1 CPU)\n"
		"  --iters N           at most N timed samples (default 50)\n"
		"  --min-iters N       at least N samples (default 5)\n"
		"  --max-time S        at most S seconds of sampling per row (default 2)\n"
		"  --noise PCT         stop when the median is known to PCT %% (default 0.5)\n"
		"  --sample-ms MS      batch launches so a sample lasts MS (default 2)\n"
		"  --l2 cold|hot       cold: rotate K/V copies past the L2 (default);\n"
		"                      hot: reuse one copy, the course project's method\n"
		"  --launch stream|graph  stream: back-to-back launches from the host\n"
		"                      (default); graph: replay them as one CUDA graph\n"
		"  --no-ceiling        skip the streaming-read ceiling (ceil_gbps = 0)\n"
		"  --max-rel-err X     validation tolerance (default 1e-2 bf16, 2e-3 fp16)\n"
		"  --device N          CUDA device (default 0)\n"
		"  --seed N            input seed (default 1)\n"
		"  --peak-tflops X     compute_eff_pct denominator (default %.1f)\n"
		"  --peak-gbps X       kv_mem_eff_pct denominator (default %.1f)\n"
		"  -q, --quiet         no progress on stderr\n"
		"  --list              list the kernels of this build and exit\n"
		"Exit: 0 ok, 1 bad input or CUDA error, 2 usage, 3 a row failed validation\n"
		"or could not run (too large, unsupported shape).\n",
		PEAK_TFLOPS_DEFAULT, PEAK_GBPS_DEFAULT);
}

static void list_kernels(void)
{
	printf("ref\tCPU reference backend: ChunkAttention's chunked algorithm in fp64\n");
	for (int i = 0; attn_kernels[i]; i++)
		printf("%s\t%s\n", attn_kernels[i]->name, attn_kernels[i]->summary);
	if (!gpu_built)
		printf("(GPU kernels: none in this build; nvcc was not found)\n");
}

static int parse_kernels(const char *arg, struct kernel_choice *out, int max)
{
	char *copy = xstrdup(arg), *save = NULL;
	int n = 0;

	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		if (strcmp(t, "all") == 0) {
			for (int i = -1; i < 0 || attn_kernels[i]; i++) { /* ref, then the GPU kernels */
				if (n == max)
					die_usage("too many kernels");
				out[n++] = i < 0 ? (struct kernel_choice){ "ref", NULL }
					       : (struct kernel_choice){ attn_kernels[i]->name, attn_kernels[i] };
			}
			continue;
		}
		if (n == max)
			die_usage("too many kernels");
		int found = strcmp(t, "ref") == 0;
		if (found)
			out[n] = (struct kernel_choice){ "ref", NULL };
		for (int i = 0; !found && attn_kernels[i]; i++)
			if (strcmp(t, attn_kernels[i]->name) == 0) {
				out[n] = (struct kernel_choice){ attn_kernels[i]->name, attn_kernels[i] };
				found = 1;
			}
		if (!found)
			die_usage("unknown kernel '%s' (run-kernel --list)", t);
		n++;
	}
	free(copy);
	if (!n)
		die_usage("-k: empty kernel list");
	return n;
}

/* Options shared by the row loop. */
static struct bench_opts bopt = {
	.warmup = -1, .min_samples = 5, .max_samples = 50, .max_seconds = 2.0,
	.noise_target = 0.005, .sample_ms = 2.0, .l2_hot = 0, .device = 0,
};
static double peak_tflops = PEAK_TFLOPS_DEFAULT, peak_gbps = PEAK_GBPS_DEFAULT;
static unsigned long seed = 1;
static int quiet, no_ceiling, failures;
static int any_gpu, any_cpu; /* the -k list holds GPU kernels / the CPU ref */
static double max_rel_err = -1; /* --max-rel-err; < 0: the dtype's tolerance */

static double opt_double(const char *opt, const char *arg, double lo, double hi)
{
	double v;
	const char *why = parse_double(arg, &v);
	if (why || v < lo || v > hi)
		die_usage("%s '%s': %s (expected %g..%g)", opt, arg, why ? why : "out of range", lo, hi);
	return v;
}

static long opt_long(const char *opt, const char *arg, long lo, long hi)
{
	long v;
	const char *why = parse_long(arg, lo, hi, &v);
	if (why)
		die_usage("%s '%s': %s (expected %ld..%ld)", opt, arg, why, lo, hi);
	return v;
}

/* The output layout: which input columns pass through, then the config
 * columns the input lacks, then result_cols. */
struct layout {
	int nin, *keep;   /* input columns kept (not replaced by a result column) */
	int nkeep;
	int missing[NCONFIG], nmissing;
	int col[NCONFIG]; /* input index of each config column, -1 if absent */
};

static void make_layout(struct layout *L, const struct csv_table *t)
{
	memset(L, 0, sizeof *L);
	L->nin = t->ncol;
	L->keep = xcalloc((size_t)t->ncol, sizeof *L->keep);
	for (int j = 0; j < t->ncol; j++) {
		int replaced = 0;
		for (int r = 0; r < NRESULT; r++)
			replaced |= strcmp(t->names[j], result_cols[r]) == 0;
		if (!replaced)
			L->keep[L->nkeep++] = j;
	}
	for (int i = 0; i < NCONFIG; i++) {
		L->col[i] = csv_table_find(t, config_cols[i]);
		if (L->col[i] < 0)
			L->missing[L->nmissing++] = i;
	}
	for (int i = 1; i <= 2; i++) /* n_heads, n_chunks have no default */
		if (L->col[i] < 0)
			die_at(t->path, 1, "missing column '%s'", config_cols[i]);
}

static void write_header(FILE *f, const struct layout *L, const struct csv_table *t)
{
	const char **hdr = xcalloc((size_t)t->ncol + NCONFIG + NRESULT, sizeof *hdr);
	int n = 0;
	for (int j = 0; j < L->nkeep; j++)
		hdr[n++] = t->names[L->keep[j]];
	for (int i = 0; i < L->nmissing; i++)
		hdr[n++] = config_cols[L->missing[i]];
	for (int r = 0; r < NRESULT; r++)
		hdr[n++] = result_cols[r];
	csv_write_row(f, n, hdr);
	free(hdr);
}

/* Reads and checks the config of row i. */
static struct attn_shape row_shape(const struct csv_table *t, long i, const struct layout *L)
{
	struct attn_shape s;
	long v;

	s.n_seqs = L->col[0] >= 0 ? (int)csv_table_long(t, i, L->col[0], 1, 65536) : 32;
	s.n_heads = (int)csv_table_long(t, i, L->col[1], 1, 65536);
	s.n_chunks = (int)csv_table_long(t, i, L->col[2], 1, 1 << 20);
	s.chunk_size = L->col[3] >= 0 ? (int)csv_table_long(t, i, L->col[3], 1, 65536) : 64;
	s.d_head = L->col[4] >= 0 ? (int)csv_table_long(t, i, L->col[4], 1, 4096) : 128;
	s.dtype = ATTN_BF16;
	if (L->col[5] >= 0 && dtype_parse(t->rows[i][L->col[5]], &s.dtype) != 0)
		die_at(t->path, t->lines[i], "column 'dtype': '%.40s': expected bf16 or fp16",
		       t->rows[i][L->col[5]]);
	if (L->col[6] >= 0) {
		v = csv_table_long(t, i, L->col[6], 1, 1L << 40);
		if (v != (long)s.n_heads * s.n_chunks)
			die_at(t->path, t->lines[i], "blocks = %ld but n_heads x n_chunks = %ld", v,
			       (long)s.n_heads * s.n_chunks);
	}
	return s;
}

static void write_row(FILE *f, char **in_row, const struct layout *L,
		      const struct attn_shape *s, const char *kernel, const struct bench_result *r,
		      const struct metrics *mp, double ceil_gbps, double rel_err, int on_gpu)
{
	const char **row = xcalloc((size_t)L->nkeep + NCONFIG + NRESULT, sizeof *row);
	char (*cell)[48] = xcalloc(NCONFIG + NRESULT, sizeof *cell);
	const struct metrics m = *mp;
	double cfg[NCONFIG] = { s->n_seqs, s->n_heads, s->n_chunks, s->chunk_size, s->d_head, 0,
				shape_blocks(s) };
	int n = 0, k = 0;

	for (int j = 0; j < L->nkeep; j++)
		row[n++] = in_row[L->keep[j]];
	for (int i = 0; i < L->nmissing; i++) {
		int which = L->missing[i];
		row[n++] = which == 5 ? dtype_name(s->dtype) : fmt_num(cell[k++], cfg[which]);
	}
	double num[] = { m.latency_ms, r->noise_pct, m.tflops, m.compute_eff_pct, m.kv_gbps,
			 m.kv_mem_eff_pct, ceil_gbps, ceil_gbps > 0 ? 100.0 * m.kv_gbps / ceil_gbps : 0 };
	row[n++] = kernel;
	for (int i = 0; i < 8; i++)
		row[n++] = fmt_num(cell[k++], num[i]);
	snprintf(cell[k], sizeof cell[k], "%.3e", rel_err);
	row[n++] = cell[k++];
	double cnt[] = { r->samples, r->launches, bopt.warmup, r->throttled, r->sm_clock_mhz };
	for (int i = 0; i < 5; i++)
		row[n++] = fmt_num(cell[k++], cnt[i]);
	row[n++] = bopt.l2_hot ? "hot" : "cold";
	row[n++] = !on_gpu ? "cpu" : bopt.graph ? "graph" : "stream";
	snprintf(cell[k], sizeof cell[k], "%lu", seed);
	row[n++] = cell[k++];
	row[n++] = on_gpu ? gpu_name() : cpu_name();
	csv_write_row(f, n, row);
	fflush(f);
	free(row);
	free(cell);
}

/* The validator's state: the reference and the rel_err of the last output. */
struct check {
	const double *ref;
	size_t n;
	double tol, err;
};

static int accept_output(void *ctx, const float *out)
{
	struct check *c = ctx;
	c->err = rel_err_f32(out, c->ref, c->n);
	return c->err <= c->tol; /* NaN fails */
}

/* Runs every kernel on one config; writes the rows that validate. */
static void run_config(FILE *f, const struct csv_table *t, long i, const struct layout *L,
		       const struct kernel_choice *ks, int nk, long rowno)
{
	struct attn_shape s = row_shape(t, i, L);
	struct inputs in;
	size_t nout = (size_t)s.n_seqs * s.n_heads * s.d_head;
	double *ref, gpu_ceil = 0, cpu_ceil = 0;
	float *out;
	struct gpu_config *g = NULL;
	const char *why = NULL;

	ref = malloc(nout * sizeof *ref);
	out = malloc(nout * sizeof *out);
	if (!ref || !out || inputs_make(&in, &s, seed) != 0) {
		warnx("%s:%ld: inputs of %.1f GB (K, V, Q, outputs) do not fit in host memory; row "
		      "skipped", t->path, t->lines[i],
		      (shape_kv_bytes(&s) + (double)nout * (2 + 4 + 8)) / 1e9);
		free(ref);
		free(out);
		failures++;
		return;
	}
	reference_attention(&in, ref);
	if (any_gpu) {
		g = gpu_prepare(&in, &bopt, &why);
		if (!g) {
			warnx("%s:%ld: %s; GPU rows skipped", t->path, t->lines[i], why);
			failures++;
		} else if (!no_ceiling) {
			gpu_ceil = gpu_ceiling_gbps(g, &bopt);
		}
	}
	if (any_cpu && !no_ceiling)
		cpu_ceil = cpu_ceiling_gbps(&in, &bopt);

	struct check chk = { ref, nout, max_rel_err >= 0 ? max_rel_err : rel_err_tolerance(s.dtype), 0 };
	struct validator v = { accept_output, &chk };
	for (int j = 0; j < nk; j++) {
		struct bench_result r;
		const struct attn_kernel *k = ks[j].gpu;
		int rc;

		if (k && !g)
			continue;
		rc = k ? gpu_run(g, k, &bopt, out, &v, &r, &why) : !cpu_bench(&in, &bopt, out, &v, &r);
		if (rc < 0) {
			warnx("%s:%ld: %s: %s; row skipped", t->path, t->lines[i], k->name, why);
			failures++;
			continue;
		}
		if (rc > 0) { /* validated before timing: a wrong kernel is not timed */
			warnx("%s:%ld: %s FAILED validation: rel_err %.3e > %.0e (%s, n_seqs %d, n_heads %d, "
			      "n_chunks %d); row not written",
			      t->path, t->lines[i], ks[j].name, chk.err, chk.tol, dtype_name(s.dtype),
			      s.n_seqs, s.n_heads, s.n_chunks);
			failures++;
			continue;
		}
		if (r.samples == 0) {
			warnx("%s:%ld: %s: every sample was taken while the GPU throttled; row skipped",
			      t->path, t->lines[i], ks[j].name);
			failures++;
			continue;
		}
		struct metrics m = metrics_compute(&s, r.latency_ms, peak_tflops, peak_gbps);
		write_row(f, t->rows[i], L, &s, ks[j].name, &r, &m, k ? gpu_ceil : cpu_ceil, chk.err,
			  k != NULL);
		if (!quiet)
			fprintf(stderr,
				"run-kernel: [%ld] %-8s n_seqs %d n_heads %d n_chunks %d %s: %.4g ms (+-%.2g%%), "
				"%.1f GB/s, rel_err %.1e\n",
				rowno, ks[j].name, s.n_seqs, s.n_heads, s.n_chunks, dtype_name(s.dtype),
				r.latency_ms, r.noise_pct, m.kv_gbps, chk.err);
	}
	gpu_release(g);
	inputs_free(&in);
	free(ref);
	free(out);
}

int main(int argc, char **argv)
{
	enum { O_WARMUP = 256, O_ITERS, O_MIN_ITERS, O_MAX_TIME, O_NOISE, O_SAMPLE_MS, O_L2,
	       O_NO_CEIL, O_LAUNCH, O_MAX_ERR, O_DEVICE, O_SEED, O_PEAK_TF, O_PEAK_GB, O_LIST };
	static const struct option opts[] = {
		{ "kernel", required_argument, 0, 'k' },      { "output", required_argument, 0, 'o' },
		{ "warmup", required_argument, 0, O_WARMUP }, { "iters", required_argument, 0, O_ITERS },
		{ "min-iters", required_argument, 0, O_MIN_ITERS },
		{ "max-time", required_argument, 0, O_MAX_TIME },
		{ "noise", required_argument, 0, O_NOISE },
		{ "sample-ms", required_argument, 0, O_SAMPLE_MS },
		{ "l2", required_argument, 0, O_L2 },         { "no-ceiling", no_argument, 0, O_NO_CEIL },
		{ "launch", required_argument, 0, O_LAUNCH },
		{ "max-rel-err", required_argument, 0, O_MAX_ERR },
		{ "device", required_argument, 0, O_DEVICE }, { "seed", required_argument, 0, O_SEED },
		{ "peak-tflops", required_argument, 0, O_PEAK_TF },
		{ "peak-gbps", required_argument, 0, O_PEAK_GB },
		{ "list", no_argument, 0, O_LIST },           { "quiet", no_argument, 0, 'q' },
		{ "help", no_argument, 0, 'h' },              { 0, 0, 0, 0 },
	};
	const char *kernels = NULL, *output = NULL;
	struct kernel_choice ks[64];
	int nk, opt;
	long rowno = 0;
	struct layout L;

	err_init(argv[0]);
	while ((opt = getopt_long(argc, argv, "k:o:qh", opts, NULL)) != -1) {
		switch (opt) {
		case 'k': kernels = optarg; break;
		case 'o': output = optarg; break;
		case 'q': quiet = 1; break;
		case O_WARMUP: bopt.warmup = (int)opt_long("--warmup", optarg, 0, 100000); break;
		case O_ITERS: bopt.max_samples = (int)opt_long("--iters", optarg, 1, 1000000); break;
		case O_MIN_ITERS: bopt.min_samples = (int)opt_long("--min-iters", optarg, 1, 1000000); break;
		case O_MAX_TIME: bopt.max_seconds = opt_double("--max-time", optarg, 0, 3600); break;
		case O_NOISE: bopt.noise_target = opt_double("--noise", optarg, 0, 100) / 100; break;
		case O_SAMPLE_MS: bopt.sample_ms = opt_double("--sample-ms", optarg, 0, 10000); break;
		case O_L2:
			if (strcmp(optarg, "hot") && strcmp(optarg, "cold"))
				die_usage("--l2 '%s': expected cold or hot", optarg);
			bopt.l2_hot = strcmp(optarg, "hot") == 0;
			break;
		case O_NO_CEIL: no_ceiling = 1; break;
		case O_MAX_ERR: max_rel_err = opt_double("--max-rel-err", optarg, 0, 1); break;
		case O_LAUNCH:
			if (strcmp(optarg, "stream") && strcmp(optarg, "graph"))
				die_usage("--launch '%s': expected stream or graph", optarg);
			bopt.graph = strcmp(optarg, "graph") == 0;
			break;
		case O_DEVICE: bopt.device = (int)opt_long("--device", optarg, 0, 1023); break;
		case O_SEED: seed = (unsigned long)opt_long("--seed", optarg, 0, 1L << 62); break;
		case O_PEAK_TF: peak_tflops = opt_double("--peak-tflops", optarg, 1e-9, 1e9); break;
		case O_PEAK_GB: peak_gbps = opt_double("--peak-gbps", optarg, 1e-9, 1e9); break;
		case O_LIST: list_kernels(); return 0;
		case 'h': usage(stdout); return 0;
		default: die_usage_hint();
		}
	}
	if (!kernels)
		die_usage("-k KERNEL is required (run-kernel --list shows them)");
	if (bopt.min_samples > bopt.max_samples)
		bopt.min_samples = bopt.max_samples;
	nk = parse_kernels(kernels, ks, 64);
	for (int i = 0; i < nk; i++) {
		any_gpu |= ks[i].gpu != NULL;
		any_cpu |= ks[i].gpu == NULL;
	}
	if (bopt.warmup < 0)
		bopt.warmup = any_gpu ? 10 : 1;
	if (any_gpu) {
		const char *why = gpu_open(bopt.device);
		if (why)
			die(EXIT_INPUT, "%s", why);
	}

	/* Every input is read and every row checked before the first launch, so
	 * bad input costs no GPU time and leaves no output. */
	int nfiles = optind < argc ? argc - optind : 1;
	struct csv_table *tabs = xcalloc((size_t)nfiles, sizeof *tabs);
	for (int i = 0; i < nfiles; i++) {
		csv_load(&tabs[i], optind < argc ? argv[optind + i] : NULL);
		if (i == 0)
			make_layout(&L, &tabs[0]);
		int same = tabs[i].ncol == tabs[0].ncol;
		for (int j = 0; same && j < tabs[i].ncol; j++)
			same = strcmp(tabs[i].names[j], tabs[0].names[j]) == 0;
		if (!same)
			die_at(tabs[i].path, 1, "header differs from the first input's (%s)", tabs[0].path);
		for (long r = 0; r < tabs[i].nrows; r++)
			(void)row_shape(&tabs[i], r, &L);
	}

	FILE *f = out_open(output);
	write_header(f, &L, &tabs[0]);
	for (int i = 0; i < nfiles; i++)
		for (long r = 0; r < tabs[i].nrows; r++)
			run_config(f, &tabs[i], r, &L, ks, nk, ++rowno);
	out_commit();
	if (failures)
		warnx("%d row(s) failed or were skipped (see above)", failures);
	return failures ? EXIT_INVALID : 0;
}
