/* compare-runs - is run B faster than run A, and is that beyond the noise?
 *
 *   compare-runs results/h100/tk-n64.sweep.csv results/h200/tk-n64.sweep.csv --table
 *   compare-runs -k native,tk results/h200/joined.csv    (two kernels of one file)
 *
 * Rows of A and B are matched on the config columns (lib/config.h; a column
 * a file lacks takes its default, so older CSVs compare with newer ones) and
 * the kernel, unless -k names the two kernels to compare.  Per matched config:
 * both latencies, ratio = latency_B / latency_A, change_pct = 100 (ratio - 1),
 * and a verdict after nvbench_compare: SAME when |change_pct| is within the
 * combined noise sqrt(noise_A^2 + noise_B^2) (the rows' noise_pct; 0 where a
 * file has none), else FAST (B faster) or SLOW.  Rows found in one file only
 * are kept, with verdict ONLY_A or ONLY_B: never dropped silently.  The
 * summary (geometric-mean ratio, count of each verdict) goes to stderr with
 * CSV output, and under the table with --table.  --fail-slower PCT exits 1
 * when a config is slower than its noise by more than PCT percent: a gate
 * for CI.  Matching sorts both files: O(n log n).  The output also carries
 * blocks (n_heads x n_chunks), so `gnuplot -c plot/speedup.gp OUT.csv DIR
 * TITLE blocks blocks a "" b` draws B's speed-up over A.
 */
#include "lib/config.h"
#include "lib/csv.h"
#include "lib/err.h"
#include "lib/num.h"
#include "lib/out.h"

#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define NKEY (CONFIG_NINT + 1) /* the integer config columns, then dtype */

static void usage(FILE *f)
{
	fprintf(f, "usage: compare-runs [-k KA,KB] [--table] [--fail-slower PCT] [-o FILE] A.csv [B.csv]\n"
		   "Matches rows of A and B on the config columns and kernel (or, with -k, the two\n"
		   "kernels KA of A and KB of B; B defaults to A), prints both latencies, the ratio\n"
		   "B/A and a verdict FAST/SLOW/SAME from the rows' noise_pct; rows of one file\n"
		   "only are ONLY_A/ONLY_B.  CSV on stdout (summary on stderr), or an aligned\n"
		   "table with --table.  --fail-slower PCT: exit 1 when a config is slower by\n"
		   "more than PCT %% beyond its noise.\n"
		   "Exit: 0 ok, 1 bad input or a --fail-slower gate failed, 2 usage.\n");
}

/* One side of the comparison: a file and the rows of one kernel (or all). */
struct side {
	struct csv_table t;
	const char *kernel;    /* -k: only rows of this kernel */
	int col[NKEY], kcol, lat, noise;
	long n, *rows;         /* the rows taken (table row indices), sorted by key */
};

static const char *key_name(int k) { return k < CONFIG_NINT ? config_cols[k].name : "dtype"; }

/* Key field k of table row i, the default where the file lacks the column
 * (formatted into buf, 32 bytes). */
static const char *key_of(const struct side *s, long i, int k, char *buf)
{
	if (s->col[k] >= 0)
		return s->t.rows[i][s->col[k]];
	if (k == CONFIG_NINT)
		return "bf16";
	return config_default_text(k, s->t.rows[i][s->col[1]], buf);
}

static int with_kernel; /* the kernel is part of the key (no -k) */

/* Row i's kernel ("" in a file without the column). */
static const char *kernel_of(const struct side *s, long i) { return s->kcol >= 0 ? s->t.rows[i][s->kcol] : ""; }

/* Orders table row i of a against table row j of b by key (and kernel):
 * the one order both the sort and the matching walk use. */
static int cmp_keys(const struct side *a, long i, const struct side *b, long j)
{
	char ba[32], bb[32];
	for (int k = 0; k < NKEY; k++) {
		int c = csv_value_cmp(key_of(a, i, k, ba), key_of(b, j, k, bb));
		if (c)
			return c;
	}
	return with_kernel ? strcmp(kernel_of(a, i), kernel_of(b, j)) : 0;
}

static const struct side *sorting; /* qsort passes no context */
static int cmp_taken(const void *x, const void *y)
{
	long i = *(const long *)x, j = *(const long *)y;
	int c = cmp_keys(sorting, i, sorting, j);
	return c ? c : (i > j) - (i < j);
}

/* Takes side s's rows (of s->kernel when set), sorted by key; refuses a
 * config that appears twice (a join would be ambiguous). */
static void take_rows(struct side *s)
{
	s->kcol = csv_table_find(&s->t, "kernel");
	if (s->kcol < 0 && s->kernel)
		die_at(s->t.path, 1, "missing column 'kernel' (for -k)");
	for (int k = 0; k < NKEY; k++) {
		s->col[k] = csv_table_find(&s->t, key_name(k));
		if (s->col[k] < 0 && k < CONFIG_NINT && config_cols[k].def == CONFIG_REQUIRED)
			die_at(s->t.path, 1, "missing column '%s'", key_name(k));
	}
	s->lat = csv_table_find(&s->t, "latency_ms");
	if (s->lat < 0)
		die_at(s->t.path, 1, "missing column 'latency_ms'");
	s->noise = csv_table_find(&s->t, "noise_pct");
	s->rows = xcalloc((size_t)s->t.nrows + 1, sizeof *s->rows);
	for (long i = 0; i < s->t.nrows; i++)
		if (!s->kernel || strcmp(s->t.rows[i][s->kcol], s->kernel) == 0)
			s->rows[s->n++] = i;
	sorting = s;
	qsort(s->rows, (size_t)s->n, sizeof *s->rows, cmp_taken);
	for (long r = 1; r < s->n; r++)
		if (cmp_keys(s, s->rows[r - 1], s, s->rows[r]) == 0)
			die_at(s->t.path, s->t.lines[s->rows[r]], "the same config as line %ld: rows to compare must be unique",
			       s->t.lines[s->rows[r - 1]]);
	if (s->n == 0 && s->kernel)
		die_at(s->t.path, 1, "no rows of kernel '%s'", s->kernel);
	if (s->n == 0)
		die_at(s->t.path, 1, "no rows");
}

static double value(const struct side *s, long r, int col)
{
	return col < 0 ? 0 : csv_table_double(&s->t, s->rows[r], col);
}

/* The output, kept in memory for --table's widths. */
struct out_rows {
	int ncol;
	long n, cap;
	char ***cell;
};

static void add_row(struct out_rows *o, char **fields)
{
	if (o->n == o->cap) {
		o->cap = o->cap ? 2 * o->cap : 64;
		o->cell = xrealloc(o->cell, (size_t)o->cap * sizeof *o->cell);
	}
	o->cell[o->n] = xcalloc((size_t)o->ncol, sizeof **o->cell);
	for (int j = 0; j < o->ncol; j++)
		o->cell[o->n][j] = xstrdup(fields[j] ? fields[j] : "");
	o->n++;
}

struct summary {
	double log_ratio_sum;
	long matched, fast, slow, same, only_a, only_b, gate;
};

/* One output row: the key, the kernels, A's and B's numbers, the verdict.
 * ra / rb < 0: that side has no such row. */
static void compare_row(struct out_rows *o, const struct side *a, long ra, const struct side *b,
			long rb, double fail_slower, struct summary *sum)
{
	char *f[NKEY + 10], num[9][32], dflt[NKEY][32];
	const struct side *k = ra >= 0 ? a : b;
	long rk = k->rows[ra >= 0 ? ra : rb];
	int n = 0;

	for (int j = 0; j < NKEY; j++)
		f[n++] = (char *)key_of(k, rk, j, dflt[j]);
	/* blocks = n_heads x n_chunks, the x axis of every figure (plot/speedup.gp) */
	f[n++] = fmt_num(num[8], strtod(f[1], NULL) * strtod(f[3], NULL));
	f[n++] = ra >= 0 ? (char *)kernel_of(a, a->rows[ra]) : "";
	f[n++] = rb >= 0 ? (char *)kernel_of(b, b->rows[rb]) : "";
	double la = ra >= 0 ? value(a, ra, a->lat) : NAN, lb = rb >= 0 ? value(b, rb, b->lat) : NAN;
	double na = ra >= 0 ? value(a, ra, a->noise) : NAN, nb = rb >= 0 ? value(b, rb, b->noise) : NAN;
	f[n++] = ra >= 0 ? fmt_num(num[0], la) : "";
	f[n++] = rb >= 0 ? fmt_num(num[1], lb) : "";
	f[n++] = ra >= 0 ? fmt_num(num[2], na) : "";
	f[n++] = rb >= 0 ? fmt_num(num[3], nb) : "";
	if (ra < 0 || rb < 0) {
		f[n++] = "";
		f[n++] = "";
		f[n++] = ra < 0 ? "ONLY_B" : "ONLY_A";
		ra < 0 ? sum->only_b++ : sum->only_a++;
	} else {
		double ratio = lb / la, change = 100.0 * (ratio - 1), noise = sqrt(na * na + nb * nb);
		f[n++] = fmt_num(num[4], ratio);
		f[n++] = fmt_num(num[5], change);
		f[n++] = fabs(change) <= noise ? "SAME" : change < 0 ? "FAST" : "SLOW";
		sum->matched++;
		sum->log_ratio_sum += log(ratio);
		fabs(change) <= noise ? sum->same++ : change < 0 ? sum->fast++ : sum->slow++;
		if (fail_slower >= 0 && change - noise > fail_slower)
			sum->gate++;
	}
	add_row(o, f);
}

/* Walks both sorted sides once, matching equal keys. */
static void compare_runs(const struct side *a, const struct side *b, double fail_slower,
			 struct out_rows *o, struct summary *sum)
{
	long i = 0, j = 0;
	while (i < a->n || j < b->n) {
		int c = i == a->n ? 1 : j == b->n ? -1 : cmp_keys(a, a->rows[i], b, b->rows[j]);
		if (c == 0)
			compare_row(o, a, i++, b, j++, fail_slower, sum);
		else if (c < 0)
			compare_row(o, a, i++, b, -1, fail_slower, sum);
		else
			compare_row(o, a, -1, b, j++, fail_slower, sum);
	}
}

static void write_table(FILE *f, const struct out_rows *o)
{
	int *w = xcalloc((size_t)o->ncol, sizeof *w);
	for (long r = 0; r < o->n; r++)
		for (int j = 0; j < o->ncol; j++)
			if ((int)strlen(o->cell[r][j]) > w[j])
				w[j] = (int)strlen(o->cell[r][j]);
	for (long r = 0; r < o->n; r++)
		for (int j = 0; j < o->ncol; j++)
			fprintf(f, "%-*s%s", j + 1 < o->ncol ? w[j] : 0, o->cell[r][j], j + 1 < o->ncol ? "  " : "\n");
	free(w);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "kernels", required_argument, 0, 'k' },     { "table", no_argument, 0, 't' },
		{ "fail-slower", required_argument, 0, 'F' }, { "output", required_argument, 0, 'o' },
		{ "help", no_argument, 0, 'h' },              { 0, 0, 0, 0 },
	};
	const char *kernels = NULL, *output = NULL;
	double fail_slower = -1;
	int table = 0, opt;
	struct side a = { 0 }, b = { 0 };

	err_init(argv[0]);
	while ((opt = getopt_long(argc, argv, "k:o:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'k': kernels = optarg; break;
		case 't': table = 1; break;
		case 'F': {
			const char *why = parse_double(optarg, &fail_slower);
			if (why || fail_slower < 0)
				die_usage("--fail-slower '%s': %s", optarg, why ? why : "must be >= 0");
			break;
		}
		case 'o': output = optarg; break;
		case 'h': usage(stdout); return 0;
		default: die_usage_hint();
		}
	}
	int nfiles = argc - optind;
	if (nfiles < 1 || nfiles > 2 || (nfiles == 1 && !kernels))
		die_usage(nfiles > 2 ? "at most two files" : "give A.csv and B.csv, or -k KA,KB with one file");
	if (kernels) {
		char *ka = xstrdup(kernels), *kb = strchr(ka, ',');
		if (!kb || !*ka || !kb[1] || strchr(kb + 1, ','))
			die_usage("-k '%s': expected two kernel names KA,KB", kernels);
		*kb++ = '\0';
		a.kernel = ka;
		b.kernel = kb;
	}
	with_kernel = kernels == NULL;
	csv_load(&a.t, argv[optind]);
	if (nfiles == 2)
		csv_load(&b.t, argv[optind + 1]);
	else
		b.t = a.t; /* -k with one file: both kernels from it (stdin is read once) */
	take_rows(&a);
	take_rows(&b);

	struct out_rows o = { NKEY + 10, 0, 0, NULL };
	char *hdr[NKEY + 10];
	int n = 0;
	for (int k = 0; k < NKEY; k++)
		hdr[n++] = (char *)key_name(k);
	const char *names[] = { "blocks", "kernel_a", "kernel_b", "latency_ms_a", "latency_ms_b", "noise_pct_a",
				"noise_pct_b", "ratio", "change_pct", "verdict" };
	for (int j = 0; j < 10; j++)
		hdr[n++] = (char *)names[j];
	add_row(&o, hdr);
	struct summary sum = { 0 };
	compare_runs(&a, &b, fail_slower, &o, &sum);

	char line[320];
	snprintf(line, sizeof line,
		 "compare-runs: %ld configs matched: geometric-mean ratio B/A %.4g; %ld FAST, %ld SLOW, %ld SAME; "
		 "%ld only in A, %ld only in B",
		 sum.matched, sum.matched ? exp(sum.log_ratio_sum / sum.matched) : NAN, sum.fast, sum.slow,
		 sum.same, sum.only_a, sum.only_b);
	FILE *f = out_open(output);
	if (table)
		write_table(f, &o);
	else
		for (long r = 0; r < o.n; r++)
			csv_write_row(f, o.ncol, (const char *const *)o.cell[r]);
	if (table)
		fprintf(f, "%s\n", line + strlen("compare-runs: "));
	out_commit();
	/* one stderr line: the summary (CSV output) and the gate's verdict */
	if (sum.gate)
		fprintf(stderr, "%s%s%ld config(s) slower than their noise by more than %g%% (--fail-slower)\n",
			table ? "compare-runs: " : line, table ? "" : "; ", sum.gate, fail_slower);
	else if (!table)
		fprintf(stderr, "%s\n", line);
	if (sum.gate)
		return EXIT_INPUT;
	return 0;
}
