/* run-kernel - run attention kernels on config rows, one validated result
 * row per (config, kernel).
 *
 *   gen-configs --preset seed | run-kernel -k native,tk -o results.csv
 *
 * For each config: seeded random inputs (inputs.h), the fp64 reference
 * (reference.h), the measured read ceiling for the same bytes (and, at the
 * first config, the device's measured tensor-core ceiling), then for each
 * kernel: one launch on a poisoned output, validated against the reference,
 * and only then timed (bench.h).  A row that fails validation is reported on
 * stderr and not written - a wrong kernel's speed is not a result - and the
 * run ends with exit 3; so does a row a kernel refuses (its check(): a shape
 * it does not run), before any of its work is done, each such line also in
 * --refusals FILE.  Input columns pass through; missing config columns get
 * their defaults (n_seqs 32, chunk_size 64, d_head 128, dtype bf16).
 */
#include "lib/backend.h"
#include "lib/config.h"
#include "lib/csv.h"
#include "lib/err.h"
#include "lib/metrics.h"
#include "lib/num.h"
#include "lib/out.h"
#include "lib/peaks.h"
#include "lib/reference.h"
#include "lib/resume.h"
#include "../kernels/attn.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stddef.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The config columns (lib/config.h): a missing one takes its default. */
#define NINT CONFIG_NINT
#define COL_DTYPE NINT       /* then dtype and blocks */
#define COL_BLOCKS (NINT + 1)
#define NCONFIG (NINT + 2)

/* What one result row is made of. */
struct row {
	const struct attn_shape *s;
	const char *kernel;
	const struct backend *b;
	const struct bench_result *r;
	struct metrics m;
	double ceil_gbps, ceil_tflops;
	struct out_error err;
};

/* The columns this tool writes after the config columns, in order: one line
 * each, its name, how it is printed (NUM: enough digits; SCI: %.3e; STR)
 * and how it is computed.  An input column of the same name is replaced. */
#define RESULT_COLUMNS(X)                                                              \
	X(kernel, STR, r->kernel)                                                          \
	X(latency_ms, NUM, r->m.latency_ms)                                                \
	X(noise_pct, NUM, r->r->noise_pct)                                                 \
	X(tflops, NUM, r->m.tflops)                                                        \
	X(compute_eff_pct, NUM, r->m.compute_eff_pct)                                      \
	X(kv_gbps, NUM, r->m.kv_gbps)                                                      \
	X(kv_mem_eff_pct, NUM, r->m.kv_mem_eff_pct)                                        \
	X(ceil_gbps, NUM, r->ceil_gbps)                                                    \
	X(ceil_tflops, NUM, r->ceil_tflops)                                                \
	X(pct_of_ceiling, NUM, r->ceil_gbps > 0 ? 100.0 * r->m.kv_gbps / r->ceil_gbps : 0) \
	X(rel_err, SCI, r->err.rel)                                                        \
	X(max_row_err, SCI, r->err.max_row)                                                \
	X(ctx_len, NUM, shape_ctx_len(r->s))                                               \
	X(kv_bytes, NUM, shape_kv_bytes(r->s))                                             \
	X(samples, NUM, (double)r->r->samples)                                             \
	X(launches, NUM, (double)r->r->launches)                                           \
	X(warmup, NUM, (double)bopt.warmup)                                                \
	X(throttled_samples, NUM, (double)r->r->throttled)                                 \
	X(sm_clock_mhz, NUM, r->r->sm_clock_mhz)                                           \
	X(l2, STR, bopt.l2_hot ? "hot" : "cold")                                           \
	X(launch, STR, r->b->launch_mode(&bopt))                                           \
	X(seed, NUM, (double)seed)                                                         \
	X(inputs, STR, inputs_profile_name(profile))                                       \
	X(gpu, STR, r->b->device_name())                                                   \
	X(device, STR, device_id(r->b, bopt.device))

/* The `device` column: the GPU as CUDA_VISIBLE_DEVICES names it (entry
 * --device of the list: tools/gpu-slot.sh leaves one GPU there, so the
 * default --device 0 is that GPU), else --device's index; `cpu` for the CPU
 * backend. */
static const char *device_id(const struct backend *b, int device)
{
	static char buf[64];
	const char *v = getenv("CUDA_VISIBLE_DEVICES");
	if (b == &cpu_backend)
		return "cpu";
	for (int i = 0; v && i < device; i++) {
		const char *comma = strchr(v, ',');
		v = comma ? comma + 1 : NULL;
	}
	if (v)
		v += strspn(v, " ");
	size_t n = v ? strcspn(v, ", ") : 0;
	const char *id = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:";
	if (n == 0 || n >= sizeof buf || strspn(v, id) < n) /* no entry, or not a plain id */
		snprintf(buf, sizeof buf, "%d", device);
	else
		snprintf(buf, sizeof buf, "%.*s", (int)n, v);
	return buf;
}

#define AS_NAME(name, kind, expr) #name,
static const char *const result_cols[] = { RESULT_COLUMNS(AS_NAME) };
#define NRESULT ((int)(sizeof result_cols / sizeof *result_cols))

/* A kernel as run-kernel sees it: its entry and the backend it runs on. */
struct kernel_choice {
	const struct attn_kernel *k;
	const struct backend *b;
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: run-kernel -k KERNEL[,KERNEL...] [options] [FILE...]\n"
		"Reads config rows (stdin when no FILE or '-'), writes one validated result\n"
		"row per (config, kernel) to stdout or -o FILE (written atomically).\n"
		"  -k, --kernel LIST   kernels to run (--list shows them; 'all' = every one)\n"
		"  -o, --output FILE   write here instead of stdout, only if the run succeeds\n"
		"  --refusals FILE     also write the line of each row a kernel refused (a shape\n"
		"                      its check() does not run; not a failed row) to FILE,\n"
		"                      atomically at the end; no FILE when none was refused\n"
		"  --warmup N          launches before timing (default 10 GPU, 1 CPU)\n"
		"  --iters N           at most N timed samples (default 50)\n"
		"  --min-iters N       at least N samples (default 10)\n"
		"  --min-time S        at least S seconds of sampling per row (default 0.5)\n"
		"  --max-time S        at most S seconds of sampling per row (default 2)\n"
		"  --noise PCT         stop when the median is known to PCT %% (default 0.5)\n"
		"  --sample-ms MS      batch launches so a sample lasts MS (default 2)\n"
		"  --l2 cold|hot       cold: rotate K/V copies past the L2 (default);\n"
		"                      hot: reuse one copy, the course project's method\n"
		"  --launch stream|graph  stream: back-to-back launches from the host\n"
		"                      (default); graph: replay them as one CUDA graph\n"
		"  --no-ceiling        skip the measured ceilings (ceil_gbps = ceil_tflops = 0)\n"
		"  --max-rel-err X     validation tolerance (default 1e-2 bf16, 2e-3 fp16)\n"
		"  --device N          CUDA device (default 0)\n"
		"  --seed N            input seed (default 1)\n"
		"  --inputs P          uniform (default): elements uniform in [-1, 1];\n"
		"                      peak-common|peak-group|peak-suffix: that tree level's\n"
		"                      K times 16, so the largest scores sit in that part\n"
		"  --peak-tflops X     compute_eff_pct denominator (default: the GPU's dense bf16\n"
		"                      peak from its SMs, clock and compute capability; %.1f\n"
		"                      for the CPU backend and GPUs of unknown capability)\n"
		"  --peak-gbps X       kv_mem_eff_pct denominator (default: the GPU's memory clock\n"
		"                      x bus width x 2 / 8; %.1f for the CPU backend)\n"
		"  -q, --quiet         no progress on stderr\n"
		"  --list              list the kernels of this build and exit\n"
		"  --peaks             print the peaks the rows would use (CSV, no launch) and exit\n"
		"  --ceilings          measure both ceilings on the device of -k's backends (CUDA\n"
		"                      without -k) and print them with the peaks (CSV); exit\n"
		"  --columns           check the input, print the header a run would write, exit\n"
		"  --ceiling-only      per config, no kernel: the config columns, ceil_gbps,\n"
		"                      ceil_tflops, device and the peaks its rows would use\n"
		"                      (on -k's backend; default the GPU)\n"
		"Exit: 0 ok, 1 bad input or CUDA error, 2 usage, 3 a row failed validation\n"
		"or could not run (too large, every sample throttled, refused by the kernel).\n",
		PEAK_TFLOPS_DEFAULT, PEAK_GBPS_DEFAULT);
}

static void list_kernels(void)
{
	for (int i = 0; backends[i]; i++) {
		for (int j = 0; backends[i]->kernels[j]; j++)
			printf("%s\t%s\n", backends[i]->kernels[j]->name, backends[i]->kernels[j]->summary);
		if (!backends[i]->kernels[0])
			printf("(%s kernels: none in this build; nvcc was not found)\n", backends[i]->name);
	}
}

static int parse_kernels(const char *arg, struct kernel_choice *out, int max)
{
	char *copy = xstrdup(arg), *save = NULL;
	int n = 0;

	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		int all = strcmp(t, "all") == 0;
		for (int i = 0; all && backends[i]; i++) /* every backend's kernels */
			for (int j = 0; backends[i]->kernels[j]; j++) {
				if (n == max)
					die_usage("too many kernels");
				out[n++] = (struct kernel_choice){ backends[i]->kernels[j], backends[i] };
			}
		if (all)
			continue;
		if (n == max)
			die_usage("too many kernels");
		out[n].k = backend_find(t, &out[n].b);
		if (!out[n].k)
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
	.warmup = -1, .min_samples = 10, .max_samples = 50, .min_seconds = 0.5, .max_seconds = 2.0,
	.noise_target = 0.005, .sample_ms = 2.0, .l2_hot = 0, .device = 0,
};
static double peak_tflops_flag, peak_gbps_flag; /* --peak-*; 0: not given */
/* The peaks of each backend's rows (peaks_resolve()), by index in backends[]. */
static struct device_peaks bpeaks[8];
static unsigned long seed = 1;
static enum inputs_profile profile = INPUTS_UNIFORM;
static int quiet, no_ceiling, failures;
static int ceiling_only; /* --ceiling-only: the read ceiling of each config, no kernel */
static long total_configs;  /* for the progress lines' [i/N] */
static struct resume *resume; /* -o OUT: finished rows kept in OUT.partial (resume.h) */
static double started;      /* wall clock at the first config */
static const char *refusals_path; /* --refusals FILE */
static char **refused;            /* the lines of the rows kernels refused */
static long nrefused;

/* "12 s" / "3.5 min" / "2.1 h": the time left after `done` configs (a
 * fraction while a config's kernels run), from the pace so far. */
static const char *time_left(double done, char *buf, size_t n)
{
	double t = done > 0 ? (wall_seconds() - started) / done * ((double)total_configs - done) : 0;
	if (t < 90)
		snprintf(buf, n, "%.0f s", t);
	else if (t < 5400)
		snprintf(buf, n, "%.1f min", t / 60);
	else
		snprintf(buf, n, "%.1f h", t / 3600);
	return buf;
}
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

static const char *config_name(int i)
{
	return i < NINT ? config_cols[i].name : i == COL_DTYPE ? "dtype" : "blocks";
}

/* Host memory one row takes: inputs, the fp64 reference and its scratch,
 * the output copies. */
static double host_bytes(const struct attn_shape *s)
{
	double nout = (double)s->n_seqs * s->n_heads * s->d_head;
	return inputs_bytes(s) + reference_scratch_bytes(s) + nout * (8 + 4 + 4);
}

/* This machine's physical memory (0: unknown). */
static double host_memory_bytes(void)
{
	long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGE_SIZE);
	return pages > 0 && size > 0 ? (double)pages * size : 0;
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
		L->col[i] = csv_table_find(t, config_name(i));
		if (L->col[i] < 0)
			L->missing[L->nmissing++] = i;
		if (L->col[i] < 0 && i < NINT && config_cols[i].def == CONFIG_REQUIRED)
			die_at(t->path, 1, "missing column '%s'", config_name(i));
	}
}

/* --ceiling-only's result columns: what a run measures or reads off the
 * device rather than off a kernel (then its rows' peaks, not columns of a run). */
static int ceiling_col(const char *name)
{
	return !strcmp(name, "ceil_gbps") || !strcmp(name, "ceil_tflops") || !strcmp(name, "device");
}

/* The header: the kept input columns, the missing config columns, then
 * the result columns (--ceiling-only: ceiling_col()'s, peak_tflops, peak_gbps). */
static void write_header(FILE *f, const struct layout *L, const struct csv_table *t)
{
	const char **hdr = xcalloc((size_t)t->ncol + NCONFIG + NRESULT, sizeof *hdr);
	int n = 0;
	for (int j = 0; j < L->nkeep; j++)
		hdr[n++] = t->names[L->keep[j]];
	for (int i = 0; i < L->nmissing; i++)
		hdr[n++] = config_name(L->missing[i]);
	for (int r = 0; r < NRESULT; r++)
		if (!ceiling_only || ceiling_col(result_cols[r]))
			hdr[n++] = result_cols[r];
	if (ceiling_only) {
		hdr[n++] = "peak_tflops";
		hdr[n++] = "peak_gbps";
	}
	csv_write_row(f, n, hdr);
	free(hdr);
}

static int *shape_field(struct attn_shape *s, int i) { return (int *)((char *)s + config_cols[i].field); }

/* Reads and checks the config of row i: every column in range, then the
 * workload's own rules, then that its inputs fit in this host's memory. */
static struct attn_shape row_shape(const struct csv_table *t, long i, const struct layout *L)
{
	struct attn_shape s;
	const char *path = t->path;
	long line = t->lines[i], v;

	memset(&s, 0, sizeof s);
	for (int c = 0; c < NINT; c++) {
		const struct config_col *cc = &config_cols[c];
		*shape_field(&s, c) = L->col[c] >= 0 ? (int)csv_table_long(t, i, L->col[c], cc->lo, cc->hi)
			: cc->def == CONFIG_DEFAULT_N_HEADS ? s.n_heads : (int)cc->def;
	}
	s.dtype = ATTN_BF16;
	if (L->col[COL_DTYPE] >= 0 && dtype_parse(t->rows[i][L->col[COL_DTYPE]], &s.dtype) != 0)
		die_at(path, line, "column 'dtype': '%.40s': expected bf16 or fp16",
		       t->rows[i][L->col[COL_DTYPE]]);
	if (L->col[COL_BLOCKS] >= 0) {
		v = csv_table_long(t, i, L->col[COL_BLOCKS], 1, 1L << 40);
		if (v != (long)s.n_heads * s.n_chunks)
			die_at(path, line, "blocks = %ld but n_heads x n_chunks = %ld", v,
			       (long)s.n_heads * s.n_chunks);
	}
	if (s.n_heads % s.n_kv_heads)
		die_at(path, line, "n_heads %d is not a multiple of n_kv_heads %d", s.n_heads,
		       s.n_kv_heads);
	if (s.n_seqs % s.n_groups)
		die_at(path, line, "n_seqs %d is not a multiple of n_groups %d", s.n_seqs, s.n_groups);
	if (s.group_chunks > 0 && s.n_groups < 2)
		die_at(path, line, "group_chunks %d needs n_groups >= 2 (one group is the common prefix)",
		       s.group_chunks);
	if (attn_seq_tokens(&s) > 0x7fffffffL || attn_pool_chunks(&s) > 0x7fffffffL)
		die_at(path, line, "a sequence of %ld tokens or a pool of %ld chunks is over 2^31",
		       attn_seq_tokens(&s), attn_pool_chunks(&s));
	double host = host_bytes(&s), have = host_memory_bytes();
	if (have > 0 && host > have)
		die_at(path, line, "needs %.1f GB of host memory (inputs, reference, outputs); this "
		       "machine has %.1f GB", host / 1e9, have / 1e9);
	return s;
}

static void put_NUM(char **cell, double v, char *buf) { *cell = fmt_num(buf, v); }
static void put_SCI(char **cell, double v, char *buf)
{
	snprintf(buf, 48, "%.3e", v);
	*cell = buf;
}
static void put_STR(char **cell, const char *v, char *buf)
{
	(void)buf;
	*cell = (char *)v;
}

/* The config part of an output row: the kept input fields, then the
 * missing config columns' values (text in cell[0..]); returns the count. */
static int config_cells(const char **row, char **in_row, const struct layout *L,
			struct attn_shape s, char (*cell)[48], int *k)
{
	int n = 0;
	for (int j = 0; j < L->nkeep; j++)
		row[n++] = in_row[L->keep[j]];
	for (int i = 0; i < L->nmissing; i++) {
		int c = L->missing[i];
		row[n++] = c == COL_DTYPE ? dtype_name(s.dtype)
			 : fmt_num(cell[(*k)++], c == COL_BLOCKS ? shape_blocks(&s) : *shape_field(&s, c));
	}
	return n;
}

static void write_row(FILE *f, char **in_row, const struct layout *L, const struct row *r)
{
	const char **row = xcalloc((size_t)L->nkeep + NCONFIG + NRESULT, sizeof *row);
	char (*cell)[48] = xcalloc(NCONFIG + NRESULT, sizeof *cell);
	int k = 0, n = config_cells(row, in_row, L, *r->s, cell, &k);

#define AS_CELL(name, kind, expr) put_##kind((char **)&row[n++], (expr), cell[k++]);
	RESULT_COLUMNS(AS_CELL)
#undef AS_CELL
	csv_write_row(f, n, row);
	fflush(f);
	if (resume)
		csv_write_row(resume_rows(resume), n, row);
	free(row);
	free(cell);
}

/* The validator's state: the reference and the error of the last output. */
struct check {
	const double *ref;
	const struct attn_shape *s;
	double tol;
	struct out_error err;
};

static int accept_output(void *ctx, const float *out)
{
	struct check *c = ctx;
	c->err = out_error(out, c->ref, c->s);
	return c->err.rel <= c->tol && c->err.max_row <= c->tol; /* NaN fails */
}

/* One config's inputs on one backend, prepared when a kernel first needs it. */
struct prepared {
	struct backend_config *c;
	double ceil_gbps, ceil_tflops;
	int tried;
};

/* Backend b's tensor-core ceiling: measured at its first call, then the
 * backend's cached value (it is the card's, not the config's). */
static double ceiling_tflops(const struct backend *b, struct backend_config *c)
{
	static const struct backend *said[8];
	const char *how = NULL;
	double v = b->ceiling_tflops ? b->ceiling_tflops(c, &bopt, &how) : 0;
	int i = 0;
	while (i < 7 && said[i] && said[i] != b)
		i++;
	if (!said[i] && v > 0) { /* once per backend */
		said[i] = b;
		if (!quiet)
			fprintf(stderr, "run-kernel: tensor-core ceiling %.1f TFLOP/s (%s)\n", v, how ? how : "?");
	}
	return v;
}

/* A row not written, as its line on stderr (tag "refused": the kernel's
 * check() refused the shape; "failed": anything else): counted (exit 3),
 * refused ones also kept for --refusals.  Also how a resumed run takes the
 * rows an earlier run of its journal did not write (resume.h). */
static void row_not_written(void *ctx, const char *tag, const char *line)
{
	(void)ctx;
	fprintf(stderr, "%s\n", line);
	failures++;
	if (!strcmp(tag, "refused")) {
		refused = xrealloc(refused, (size_t)(nrefused + 1) * sizeof *refused);
		refused[nrefused++] = xstrdup(line);
	}
}

/* The same for a row of this run: "run-kernel: " and the message, kept in
 * the resume journal with the config's rows. */
static void not_written(const char *tag, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void not_written(const char *tag, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	size_t at = strlen(progname) + 2;
	char *line = xmalloc(at + (size_t)n + 1);
	sprintf(line, "%s: ", progname);
	va_start(ap, fmt);
	vsnprintf(line + at, (size_t)n + 1, fmt, ap);
	va_end(ap);
	row_not_written(NULL, tag, line);
	if (resume)
		resume_note(resume, tag, line);
	free(line);
}

/* --refusals FILE: the refused rows' lines, written as -o writes (a temp
 * file renamed into place); removed when no row was refused. */
static void write_refusals(void)
{
	if (!refusals_path)
		return;
	if (!nrefused) {
		out_remove(refusals_path); /* an old list goes */
		return;
	}
	FILE *f = out_open(refusals_path);
	for (long i = 0; i < nrefused; i++)
		fprintf(f, "%s\n", refused[i]);
	out_commit();
}

/* Runs every kernel on one config; writes the rows that validate.  A kernel
 * that refuses the shape costs nothing: no inputs, reference or device
 * copy are made for it. */
static void run_config(FILE *f, const struct csv_table *t, long i, const struct layout *L,
		       const struct kernel_choice *ks, int nk, long rowno)
{
	struct attn_shape s = row_shape(t, i, L);
	struct inputs in;
	size_t nout = (size_t)s.n_seqs * s.n_heads * s.d_head;
	double *ref;
	float *out;
	struct prepared prep[8] = { { 0 } };
	const char *why = NULL, *where = t->path;
	long line = t->lines[i];
	int runs[64], nrun = 0; /* ks[j] runs the shape */

	for (int j = 0; j < nk; j++) {
		const char *no = ks[j].k->check(&s);
		if (no)
			not_written("refused", "%s:%ld: %s: %s; row skipped", where, line, ks[j].k->name, no);
		nrun += runs[j] = !no;
	}
	if (!nrun)
		return;
	ref = malloc(nout * sizeof *ref);
	out = malloc(nout * sizeof *out);
	if (!ref || !out || inputs_make_profile(&in, &s, seed, profile) != 0) {
		not_written("failed", "%s:%ld: inputs of %.1f GB do not fit in host memory; row skipped",
			    where, line, host_bytes(&s) / 1e9);
		free(ref);
		free(out);
		return;
	}
	reference_attention(&in, ref);

	struct check chk = { ref, &s, max_rel_err >= 0 ? max_rel_err : rel_err_tolerance(s.dtype), { 0 } };
	struct validator v = { accept_output, &chk };
	for (int j = 0; j < nk; j++) {
		struct bench_result r;
		const struct attn_kernel *k = ks[j].k;
		int bi = 0, rc;

		if (!runs[j])
			continue;
		while (backends[bi] != ks[j].b)
			bi++;
		struct prepared *p = &prep[bi];
		if (!p->tried) { /* the backend's copy of the inputs and its ceiling */
			p->tried = 1;
			p->c = ks[j].b->prepare(&in, &bopt, &why);
			if (!p->c)
				not_written("failed", "%s:%ld: %s; %s rows skipped", where, line, why, ks[j].b->name);
			else if (!no_ceiling) {
				p->ceil_gbps = ks[j].b->ceiling_gbps(p->c, &bopt);
				p->ceil_tflops = ceiling_tflops(ks[j].b, p->c);
			}
		}
		if (!p->c)
			continue;
		rc = ks[j].b->run(p->c, k, &bopt, out, &v, &r, &why);
		if (rc < 0) { /* its workspace does not fit (check() said yes above) */
			not_written("failed", "%s:%ld: %s: %s; row skipped", where, line, k->name, why);
			continue;
		}
		if (rc > 0) { /* validated before timing: a wrong kernel is not timed */
			not_written("failed", "%s:%ld: %s FAILED validation: rel_err %.3e, max_row_err %.3e at "
				    "seq %d head %d (tolerance %.0e; %s, n_seqs %d, n_heads %d, n_kv_heads %d, "
				    "n_chunks %d, suffix_len %d); row not written",
				    where, line, k->name, chk.err.rel, chk.err.max_row, chk.err.worst_seq,
				    chk.err.worst_head, chk.tol, dtype_name(s.dtype), s.n_seqs, s.n_heads,
				    s.n_kv_heads, s.n_chunks, s.suffix_len);
			continue;
		}
		if (r.samples == 0) {
			not_written("failed", "%s:%ld: %s: every sample was taken while the GPU throttled; row skipped",
				    where, line, k->name);
			continue;
		}
		struct row row = { &s, k->name, ks[j].b, &r,
				   metrics_compute(&s, r.latency_ms, bpeaks[bi].tflops, bpeaks[bi].gbps),
				   p->ceil_gbps, p->ceil_tflops, chk.err };
		write_row(f, t->rows[i], L, &row);
		char left[32];
		if (!quiet)
			fprintf(stderr,
				"run-kernel: [%ld/%ld] %-13s n_seqs %d n_heads %d/%d n_chunks %d suffix %d %s: %.4g ms "
				"(+-%.2g%%), %.1f GB/s, rel_err %.1e; about %s left\n",
				rowno, total_configs, k->name, s.n_seqs, s.n_heads, s.n_kv_heads, s.n_chunks,
				s.suffix_len, dtype_name(s.dtype), r.latency_ms, r.noise_pct, row.m.kv_gbps,
				chk.err.rel, time_left((double)(rowno - 1) + (double)(j + 1) / nk, left, sizeof left));
	}
	for (int b = 0; backends[b]; b++)
		if (prep[b].c)
			backends[b]->release(prep[b].c);
	inputs_free(&in);
	free(ref);
	free(out);
}

/* --ceiling-only: what a run of one config measures or knows on backend b
 * but no kernel gives - the read ceiling of its bytes, the tensor-core
 * ceiling, the device column - and the peaks its rows would divide by,
 * after the config columns (a ceiling that cannot run is 0, with a
 * warning; --no-ceiling makes both 0), so that a tool timing kernels
 * elsewhere (tools/run-peer) writes the values run-kernel's rows hold. */
static void ceiling_row(FILE *f, const struct csv_table *t, long i, const struct layout *L,
			const struct backend *b, long rowno)
{
	struct attn_shape s = row_shape(t, i, L);
	struct inputs in;
	struct backend_config *c;
	const char *why = NULL, **row = xcalloc((size_t)L->nkeep + NCONFIG + NRESULT + 2, sizeof *row);
	char (*cell)[48] = xcalloc(NCONFIG + NRESULT + 2, sizeof *cell);
	double gbps = 0, tflops = 0;
	int k = 0, n, bi = 0;

	while (backends[bi] != b)
		bi++;
	if (no_ceiling) {
		/* nothing to measure */
	} else if (inputs_make_profile(&in, &s, seed, profile) != 0) {
		warnx("%s:%ld: inputs of %.1f GB do not fit in host memory; ceil_gbps 0", t->path,
		      t->lines[i], inputs_bytes(&s) / 1e9);
		failures++;
	} else {
		if ((c = b->prepare(&in, &bopt, &why)) != NULL) {
			gbps = b->ceiling_gbps(c, &bopt);
			tflops = ceiling_tflops(b, c);
			b->release(c);
		} else {
			warnx("%s:%ld: %s; ceil_gbps 0", t->path, t->lines[i], why);
			failures++;
		}
		inputs_free(&in);
	}
	n = config_cells(row, t->rows[i], L, s, cell, &k);
	for (int r = 0; r < NRESULT; r++)
		if (ceiling_col(result_cols[r]))
			row[n++] = !strcmp(result_cols[r], "device") ? device_id(b, bopt.device)
				 : fmt_num(cell[k++], !strcmp(result_cols[r], "ceil_gbps") ? gbps : tflops);
	row[n++] = fmt_num(cell[k++], bpeaks[bi].tflops);
	row[n++] = fmt_num(cell[k++], bpeaks[bi].gbps);
	csv_write_row(f, n, row);
	fflush(f);
	if (!quiet && !no_ceiling)
		fprintf(stderr, "run-kernel: [%ld/%ld] read ceiling n_seqs %d n_heads %d/%d n_chunks %d "
			"suffix %d %s: %.1f GB/s\n", rowno, total_configs, s.n_seqs, s.n_heads,
			s.n_kv_heads, s.n_chunks, s.suffix_len, dtype_name(s.dtype), gbps);
	free(row);
	free(cell);
}

/* What a resumed run must share with the stopped one: every option (kernels,
 * timing, seed, -o) and the inputs' content (a digest of every cell), not
 * their paths. */
static char *run_stamp(char **argv, const struct csv_table *tabs, int nfiles)
{
	unsigned long long h = RESUME_HASH_INIT;
	size_t len = 64;
	for (int i = 1; i < optind; i++)
		len += strlen(argv[i]) + 1;
	char *stamp = xmalloc(len);
	char *p = stamp;
	for (int i = 1; i < optind; i++)
		p += sprintf(p, "%s ", argv[i]);
	for (int i = 0; i < nfiles; i++) {
		for (int j = 0; j < tabs[i].ncol; j++)
			h = resume_hash(h, tabs[i].names[j]);
		for (long r = 0; r < tabs[i].nrows; r++)
			for (int j = 0; j < tabs[i].ncol; j++)
				h = resume_hash(h, tabs[i].rows[r][j]);
	}
	sprintf(p, "inputs %016llx", h);
	for (p = stamp; *p; p++) /* one line, whatever the options held */
		if (*p == '\n')
			*p = ' ';
	return stamp;
}

int main(int argc, char **argv)
{
	enum { O_WARMUP = 256, O_ITERS, O_MIN_ITERS, O_MIN_TIME, O_MAX_TIME, O_NOISE, O_SAMPLE_MS, O_L2,
	       O_NO_CEIL, O_LAUNCH, O_MAX_ERR, O_DEVICE, O_SEED, O_INPUTS, O_PEAK_TF, O_PEAK_GB, O_LIST,
	       O_PEAKS, O_CEILINGS, O_COLUMNS, O_CEIL_ONLY, O_REFUSALS };
	static const struct option opts[] = {
		{ "kernel", required_argument, 0, 'k' },      { "output", required_argument, 0, 'o' },
		{ "refusals", required_argument, 0, O_REFUSALS },
		{ "warmup", required_argument, 0, O_WARMUP }, { "iters", required_argument, 0, O_ITERS },
		{ "min-iters", required_argument, 0, O_MIN_ITERS },
		{ "min-time", required_argument, 0, O_MIN_TIME },
		{ "max-time", required_argument, 0, O_MAX_TIME },
		{ "noise", required_argument, 0, O_NOISE },
		{ "sample-ms", required_argument, 0, O_SAMPLE_MS },
		{ "l2", required_argument, 0, O_L2 },         { "no-ceiling", no_argument, 0, O_NO_CEIL },
		{ "launch", required_argument, 0, O_LAUNCH },
		{ "max-rel-err", required_argument, 0, O_MAX_ERR },
		{ "device", required_argument, 0, O_DEVICE }, { "seed", required_argument, 0, O_SEED },
		{ "inputs", required_argument, 0, O_INPUTS },
		{ "peak-tflops", required_argument, 0, O_PEAK_TF },
		{ "peak-gbps", required_argument, 0, O_PEAK_GB },
		{ "list", no_argument, 0, O_LIST },           { "quiet", no_argument, 0, 'q' },
		{ "peaks", no_argument, 0, O_PEAKS },         { "ceilings", no_argument, 0, O_CEILINGS },
		{ "columns", no_argument, 0, O_COLUMNS },
		{ "ceiling-only", no_argument, 0, O_CEIL_ONLY },
		{ "help", no_argument, 0, 'h' },              { 0, 0, 0, 0 },
	};
	const char *kernels = NULL, *output = NULL;
	struct kernel_choice ks[64];
	int nk = 0, opt, mode = 0, columns_only = 0; /* mode O_PEAKS, O_CEILINGS: print those and exit */
	long rowno = 0;
	struct layout L;

	err_init(argv[0]);
	while ((opt = getopt_long(argc, argv, "k:o:qh", opts, NULL)) != -1) {
		switch (opt) {
		case 'k': kernels = optarg; break;
		case 'o': output = optarg; break;
		case O_REFUSALS:
			if (!*optarg)
				die_usage("--refusals '': empty file name");
			if (!strcmp(optarg, "-"))
				die_usage("--refusals '-': a file name, not stdout (stdout carries the rows)");
			refusals_path = optarg;
			break;
		case 'q': quiet = 1; break;
		case O_WARMUP: bopt.warmup = (int)opt_long("--warmup", optarg, 0, 100000); break;
		case O_ITERS: bopt.max_samples = (int)opt_long("--iters", optarg, 1, 1000000); break;
		case O_MIN_ITERS: bopt.min_samples = (int)opt_long("--min-iters", optarg, 1, 1000000); break;
		case O_MIN_TIME: bopt.min_seconds = opt_double("--min-time", optarg, 0, 3600); break;
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
		case O_INPUTS: {
			const int pr = inputs_profile_parse(optarg);
			if (pr < 0)
				die_usage("--inputs '%s': expected uniform, peak-common, peak-group or peak-suffix", optarg);
			profile = (enum inputs_profile)pr;
			break;
		}
		case O_PEAK_TF: peak_tflops_flag = opt_double("--peak-tflops", optarg, 1e-9, 1e9); break;
		case O_PEAK_GB: peak_gbps_flag = opt_double("--peak-gbps", optarg, 1e-9, 1e9); break;
		case O_LIST: list_kernels(); return 0;
		case O_PEAKS: mode = mode ? -1 : O_PEAKS; break;
		case O_CEILINGS: mode = mode ? -1 : O_CEILINGS; break;
		case O_COLUMNS: columns_only = 1; break;
		case O_CEIL_ONLY: ceiling_only = 1; break;
		case 'h': usage(stdout); return 0;
		default: die_usage_hint();
		}
	}
	if (mode < 0)
		die_usage("--peaks and --ceilings: give one of them");
	if (!kernels && !mode && !columns_only && !ceiling_only)
		die_usage("-k KERNEL is required (run-kernel --list shows them)");
	if (columns_only && ceiling_only)
		die_usage("--columns and --ceiling-only do not go together");
	if (refusals_path && output && out_same_file(refusals_path, output))
		die_usage("--refusals and -o name the same file '%s'", output);
	if (bopt.min_samples > bopt.max_samples)
		bopt.min_samples = bopt.max_samples;
	if (bopt.min_seconds > bopt.max_seconds)
		bopt.min_seconds = bopt.max_seconds;
	if (kernels && !columns_only)
		nk = parse_kernels(kernels, ks, 64);
	else if (mode) /* --peaks/--ceilings without -k: the GPU's */
		nk = 1, ks[0] = (struct kernel_choice){ NULL, &gpu_backend };
	if (ceiling_only) { /* the ceiling of -k's (first) backend, else the GPU's */
		if (!nk)
			ks[nk++] = (struct kernel_choice){ NULL, &gpu_backend };
		nk = 1;
	}
	int any_gpu = 0;
	for (int i = 0; i < nk; i++)
		any_gpu |= ks[i].b != &cpu_backend;
	if (bopt.warmup < 0)
		bopt.warmup = any_gpu ? 10 : 1;
	int used[8] = { 0 };
	for (int b = 0; backends[b]; b++) { /* open each backend the -k list uses */
		for (int i = 0; i < nk; i++)
			used[b] |= ks[i].b == backends[b];
		const char *why = used[b] ? backends[b]->open(bopt.device) : NULL;
		if (why)
			die(EXIT_INPUT, "%s", why);
		if (used[b])
			peaks_resolve(backends[b], &bpeaks[b], peak_tflops_flag, peak_gbps_flag);
	}
	if (mode) {
		FILE *f = out_open(output);
		if (mode == O_PEAKS)
			peaks_print(f, used, bpeaks);
		else
			ceilings_print(f, used, bpeaks, &bopt, seed);
		out_commit();
		return 0;
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

	for (int i = 0; i < nfiles; i++)
		total_configs += tabs[i].nrows;
	if (refusals_path && !columns_only && !ceiling_only) /* written at the end: refused now if it cannot be */
		out_check(refusals_path);
	FILE *f = out_open(output);
	write_header(f, &L, &tabs[0]);
	if (columns_only) { /* the input is checked: its header is the answer */
		out_commit();
		return 0;
	}
	if (ceiling_only) {
		for (int i = 0; i < nfiles; i++)
			for (long r = 0; r < tabs[i].nrows; r++)
				ceiling_row(f, &tabs[i], r, &L, ks[0].b, ++rowno);
		out_commit();
		return failures ? EXIT_INVALID : 0;
	}
	/* Configs an earlier, stopped run of the same sweep finished.  Only for
	 * configs read from files (what make and the Slurm jobs pass): a run
	 * again is then the same command, while an interrupted pipe keeps -o's
	 * all-or-nothing rule and leaves no file behind. */
	long done = 0;
	int from_files = optind < argc;
	for (int i = optind; i < argc; i++)
		from_files &= strcmp(argv[i], "-") != 0;
	if (output && strcmp(output, "-") && from_files) {
		char *stamp = run_stamp(argv, tabs, nfiles);
		resume = resume_open(output, stamp, f, &done, row_not_written, NULL);
		free(stamp);
	}
	started = wall_seconds();
	for (int i = 0; i < nfiles; i++)
		for (long r = 0; r < tabs[i].nrows; r++) {
			if (++rowno <= done)
				continue;
			run_config(f, &tabs[i], r, &L, ks, nk, rowno);
			if (resume)
				resume_mark(resume, rowno);
		}
	out_commit();
	write_refusals();
	if (resume) /* after the refusals: a run that dies writing them can resume */
		resume_finish(resume);
	if (failures && nrefused == failures)
		warnx("%d row(s) refused by the kernel: shapes it does not run (see above)", failures);
	else if (failures)
		warnx("%d row(s) failed or were skipped (see above)%s", failures,
		      nrefused ? ", some refused by the kernel: shapes it does not run" : "");
	return failures ? EXIT_INVALID : 0;
}
