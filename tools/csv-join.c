/* csv-join - join two headered CSVs on key columns, like join(1).
 *
 *   csv-join -k blocks tk_agg.csv native_agg.csv
 *
 * Output: the key columns, then every other column of A suffixed _SA, then
 * every other column of B suffixed _SB (latency_ms_tk, latency_ms_native).
 * The suffix is the file's `kernel` value when the whole file has one, else
 * its base name without .csv; --suffixes overrides.  Keys compare
 * numerically when both are numbers (64 = 64.0).  Rows come in A's order,
 * one per matching (A, B) pair (B's pairs in B's order); rows without a
 * partner are dropped and counted on stderr.  B is sorted once and searched
 * per row of A: 10^6 x 10^6 keys join in about a second.  "-" reads stdin (for one of the two).  An empty suffix
 * (--suffixes ,native) keeps A's names, for chaining joins over many kernels.
 */
#include "lib/csv.h"
#include "lib/err.h"
#include "lib/num.h"
#include "lib/out.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
	fprintf(f, "usage: csv-join -k COLS [--suffixes SA,SB] [-o FILE] A.csv B.csv\n"
		   "Inner join on the key columns; other columns get _SA / _SB suffixes\n"
		   "(default: each file's kernel name, else its base name). '-' is stdin.\n"
		   "Exit: 0 ok, 1 bad input, 2 usage.\n");
}

/* The file's one `kernel` value, else its base name without extension. */
static char *default_suffix(const struct csv_table *t, const char *arg)
{
	int k = csv_table_find(t, "kernel");
	if (k >= 0 && t->nrows > 0) {
		long i;
		for (i = 1; i < t->nrows && strcmp(t->rows[i][k], t->rows[0][k]) == 0; i++)
			;
		if (i == t->nrows)
			return xstrdup(t->rows[0][k]);
	}
	const char *base = strrchr(arg, '/');
	char *s = xstrdup(base ? base + 1 : arg), *dot = strrchr(s, '.');
	if (dot && dot != s)
		*dot = '\0';
	return s;
}

/* NAME_SUFFIX, or NAME unchanged for an empty suffix (chained joins) */
static char *suffixed(const char *name, const char *suffix)
{
	char *s = xmalloc(strlen(name) + strlen(suffix) + 2);
	sprintf(s, *suffix ? "%s_%s" : "%s", name, suffix);
	return s;
}

static int is_key(const int *key, int nkey, int j)
{
	for (int k = 0; k < nkey; k++)
		if (key[k] == j)
			return 1;
	return 0;
}

/* One input of the join: its table, its name on the command line (for the
 * default suffix), the suffix (NULL until chosen) and its key columns. */
struct side {
	struct csv_table t;
	const char *arg;
	char *suffix;
	int *key;
};

/* Where an output column comes from: a column of A or of B. */
struct out_col {
	const struct side *from;
	int col, is_key;
};

/* The output's columns, in order: the keys (from A), then A's other
 * columns, then B's.  The header and every row follow this one list. */
static struct out_col *output_columns(const struct side *a, const struct side *b, int nk, int *ncol)
{
	struct out_col *c = xcalloc((size_t)(a->t.ncol + b->t.ncol), sizeof *c);
	int n = 0;
	for (int k = 0; k < nk; k++)
		c[n++] = (struct out_col){ a, a->key[k], 1 };
	for (int j = 0; j < a->t.ncol; j++)
		if (!is_key(a->key, nk, j))
			c[n++] = (struct out_col){ a, j, 0 };
	for (int j = 0; j < b->t.ncol; j++)
		if (!is_key(b->key, nk, j))
			c[n++] = (struct out_col){ b, j, 0 };
	*ncol = n;
	return c;
}

/* The header: keys keep A's names, the others get their side's suffix.
 * Dies when two output columns would share a name. */
static char **join_header(const struct out_col *c, int ncol)
{
	char **hdr = xcalloc((size_t)ncol, sizeof *hdr);
	for (int n = 0; n < ncol; n++) {
		char *name = c[n].from->t.names[c[n].col];
		hdr[n] = c[n].is_key ? name : suffixed(name, c[n].from->suffix);
	}
	for (int i = 0; i < ncol; i++)
		for (int j = 0; j < i; j++)
			if (strcmp(hdr[i], hdr[j]) == 0)
				die_usage("output column '%s' would appear twice; choose other --suffixes", hdr[i]);
	return hdr;
}

/* A key field parsed once: numbers order before text, numbers by value
 * (64 = 64.0, as csv_value_cmp says), text by bytes -- a total order, so
 * B can be sorted and searched. */
struct keyval {
	int is_num;
	double num;
	const char *text;
};

static struct keyval *parse_keys(const struct side *s, int nk)
{
	struct keyval *kv = xcalloc((size_t)s->t.nrows * nk + 1, sizeof *kv);
	for (long i = 0; i < s->t.nrows; i++)
		for (int k = 0; k < nk; k++) {
			struct keyval *v = &kv[i * nk + k];
			v->text = s->t.rows[i][s->key[k]];
			v->is_num = parse_double(v->text, &v->num) == NULL;
		}
	return kv;
}

static int cmp_keyval(const struct keyval *x, const struct keyval *y, int nk)
{
	for (int k = 0; k < nk; k++) {
		int c = x[k].is_num != y[k].is_num ? (x[k].is_num ? -1 : 1)
			: x[k].is_num ? (x[k].num > y[k].num) - (x[k].num < y[k].num)
				      : strcmp(x[k].text, y[k].text);
		if (c)
			return c;
	}
	return 0;
}

/* qsort has no context argument: B's parsed keys while it sorts */
static const struct keyval *sort_kv;
static int sort_nk;
static int cmp_b_rows(const void *x, const void *y)
{
	long i = *(const long *)x, j = *(const long *)y;
	int c = cmp_keyval(sort_kv + i * sort_nk, sort_kv + j * sort_nk, sort_nk);
	return c ? c : (i > j) - (i < j); /* equal keys keep B's order */
}

/* The joined row of A's row i and B's row r. */
static void join_row(FILE *f, const struct out_col *c, int ncol, const struct side *a, long i, long r,
		     const char **row)
{
	for (int n = 0; n < ncol; n++)
		row[n] = c[n].from->t.rows[c[n].from == a ? i : r][c[n].col];
	csv_write_row(f, ncol, row);
}

/* One row per matching (A, B) pair, in A's order (B's pairs in B's order);
 * the rows of either side that found no partner are counted on stderr.
 * B is sorted once and searched per row of A: O((n + m) log m). */
static void write_pairs(FILE *f, const struct side *a, const struct side *b, int nk,
			const struct out_col *cols, int ncol)
{
	const char **row = xcalloc((size_t)ncol, sizeof *row);
	char *b_used = xcalloc((size_t)b->t.nrows + 1, 1);
	struct keyval *akv = parse_keys(a, nk), *bkv = parse_keys(b, nk);
	long *order = xcalloc((size_t)b->t.nrows + 1, sizeof *order), a_alone = 0, b_alone = 0;

	for (long r = 0; r < b->t.nrows; r++)
		order[r] = r;
	sort_kv = bkv;
	sort_nk = nk;
	qsort(order, (size_t)b->t.nrows, sizeof *order, cmp_b_rows);
	for (long i = 0; i < a->t.nrows; i++) {
		const struct keyval *key = akv + i * nk;
		long lo = 0, hi = b->t.nrows; /* first B row whose key is >= A's */
		while (lo < hi) {
			long mid = lo + (hi - lo) / 2;
			if (cmp_keyval(bkv + order[mid] * nk, key, nk) < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		int paired = 0;
		for (long m = lo; m < b->t.nrows && cmp_keyval(bkv + order[m] * nk, key, nk) == 0; m++) {
			paired = b_used[order[m]] = 1;
			join_row(f, cols, ncol, a, i, order[m], row);
		}
		a_alone += !paired;
	}
	for (long r = 0; r < b->t.nrows; r++)
		b_alone += !b_used[r];
	if (a_alone || b_alone)
		warnx("%ld row(s) of %s and %ld of %s had no partner and were dropped", a_alone, a->t.path,
		      b_alone, b->t.path);
	free(akv);
	free(bkv);
	free(order);
	free(b_used);
	free(row);
}

/* Joins A and B on the columns in keys.  Every check (keys, suffixes,
 * header) comes before the output is opened, so a bad input or a name clash
 * never creates a file. */
static void csv_join(struct side *a, struct side *b, const char *keys, const char *output)
{
	int nk = csv_table_cols(&a->t, keys, &a->key);
	csv_table_cols(&b->t, keys, &b->key);
	if (!a->suffix) {
		a->suffix = default_suffix(&a->t, a->arg);
		b->suffix = default_suffix(&b->t, b->arg);
	}
	if (strcmp(a->suffix, b->suffix) == 0)
		die_usage("both inputs get the suffix '%s'; name them with --suffixes SA,SB", a->suffix);
	int ncol;
	struct out_col *cols = output_columns(a, b, nk, &ncol);
	char **hdr = join_header(cols, ncol);

	FILE *f = out_open(output);
	csv_write_row(f, ncol, (const char *const *)hdr);
	write_pairs(f, a, b, nk, cols, ncol);
}

/* --suffixes SA,SB: exactly one comma; one side (not both) may be empty. */
static void split_suffixes(const char *arg, struct side *a, struct side *b)
{
	char *comma = strchr(arg, ',');
	if (!comma || strchr(comma + 1, ',') || (comma == arg && !comma[1]))
		die_usage("--suffixes '%s': expected SA,SB (one may be empty)", arg);
	a->suffix = xstrdup(arg);
	a->suffix[comma - arg] = '\0';
	b->suffix = xstrdup(comma + 1);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "key", required_argument, 0, 'k' },
		{ "suffixes", required_argument, 0, 's' },
		{ "output", required_argument, 0, 'o' },
		{ "help", no_argument, 0, 'h' },
		{ 0, 0, 0, 0 },
	};
	const char *keys = NULL, *suffixes = NULL, *output = NULL;
	struct side a = { 0 }, b = { 0 };
	int opt;

	err_init(argv[0]);
	while ((opt = getopt_long(argc, argv, "k:o:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'k': keys = optarg; break;
		case 's': suffixes = optarg; break;
		case 'o': output = optarg; break;
		case 'h': usage(stdout); return 0;
		default: die_usage_hint();
		}
	}
	if (!keys)
		die_usage("-k COLS is required");
	if (argc - optind != 2)
		die_usage("expected two input files, got %d", argc - optind);
	if (strcmp(argv[optind], "-") == 0 && strcmp(argv[optind + 1], "-") == 0)
		die_usage("only one input can be stdin");
	if (suffixes)
		split_suffixes(suffixes, &a, &b);

	a.arg = argv[optind];
	b.arg = argv[optind + 1];
	csv_load(&a.t, a.arg);
	csv_load(&b.t, b.arg);
	csv_join(&a, &b, keys, output);
	out_commit();
	return 0;
}
