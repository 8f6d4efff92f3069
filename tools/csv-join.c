/* csv-join - join two headered CSVs on key columns, like join(1).
 *
 *   csv-join -k blocks tk_agg.csv native_agg.csv
 *
 * Output: the key columns, then every other column of A suffixed _SA, then
 * every other column of B suffixed _SB (latency_ms_tk, latency_ms_native).
 * The suffix is the file's `kernel` value when the whole file has one, else
 * its base name without .csv; --suffixes overrides.  Keys compare
 * numerically when both are numbers (64 = 64.0).  Rows come in A's order,
 * one per matching (A, B) pair; rows without a partner are dropped and
 * counted on stderr.  "-" reads stdin (for one of the two).  An empty suffix
 * (--suffixes ,native) keeps A's names, for chaining joins over many kernels.
 */
#include "lib/csv.h"
#include "lib/err.h"
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
	struct csv_table a, b;
	char *sa, *sb;
	int *ka, *kb, nk, opt;

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
	if (suffixes) {
		char *comma = strchr(suffixes, ',');
		if (!comma || strchr(comma + 1, ',') || (comma == suffixes && !comma[1]))
			die_usage("--suffixes '%s': expected SA,SB (one may be empty)", suffixes);
		sa = xstrdup(suffixes);
		sa[comma - suffixes] = '\0';
		sb = xstrdup(comma + 1);
	}

	csv_load(&a, argv[optind]);
	csv_load(&b, argv[optind + 1]);
	nk = csv_table_cols(&a, keys, &ka);
	csv_table_cols(&b, keys, &kb);
	if (!suffixes) {
		sa = default_suffix(&a, argv[optind]);
		sb = default_suffix(&b, argv[optind + 1]);
	}
	if (strcmp(sa, sb) == 0)
		die_usage("both inputs get the suffix '%s'; name them with --suffixes SA,SB", sa);

	/* header */
	int ncol = nk + (a.ncol - nk) + (b.ncol - nk), n = 0;
	char **hdr = xcalloc((size_t)ncol, sizeof *hdr);
	const char **row = xcalloc((size_t)ncol, sizeof *row);
	for (int k = 0; k < nk; k++)
		hdr[n++] = a.names[ka[k]];
	for (int j = 0; j < a.ncol; j++)
		if (!is_key(ka, nk, j)) {
			hdr[n++] = suffixed(a.names[j], sa);
		}
	for (int j = 0; j < b.ncol; j++)
		if (!is_key(kb, nk, j)) {
			hdr[n++] = suffixed(b.names[j], sb);
		}

	for (int i = 0; i < ncol; i++)
		for (int j = 0; j < i; j++)
			if (strcmp(hdr[i], hdr[j]) == 0)
				die_usage("output column '%s' would appear twice; choose other --suffixes", hdr[i]);

	FILE *f = out_open(output);
	csv_write_row(f, ncol, (const char *const *)hdr);
	char *b_used = xcalloc((size_t)b.nrows + 1, 1);
	long a_alone = 0, b_alone = 0;
	for (long i = 0; i < a.nrows; i++) {
		int paired = 0;
		for (long r = 0; r < b.nrows; r++) {
			int k;
			for (k = 0; k < nk; k++)
				if (csv_value_cmp(a.rows[i][ka[k]], b.rows[r][kb[k]]) != 0)
					break;
			if (k < nk)
				continue;
			paired = b_used[r] = 1;
			n = 0;
			for (k = 0; k < nk; k++)
				row[n++] = a.rows[i][ka[k]];
			for (int j = 0; j < a.ncol; j++)
				if (!is_key(ka, nk, j))
					row[n++] = a.rows[i][j];
			for (int j = 0; j < b.ncol; j++)
				if (!is_key(kb, nk, j))
					row[n++] = b.rows[r][j];
			csv_write_row(f, ncol, row);
		}
		a_alone += !paired;
	}
	for (long r = 0; r < b.nrows; r++)
		b_alone += !b_used[r];
	if (a_alone || b_alone)
		warnx("%ld row(s) of %s and %ld of %s had no partner and were dropped", a_alone, a.path,
		      b_alone, b.path);
	out_commit();
	return 0;
}
