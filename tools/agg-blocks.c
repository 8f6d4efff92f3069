/* agg-blocks - one row per group of equal keys (default: blocks), every
 * numeric column averaged, sorted numerically by the key.
 *
 *   run-kernel -k tk < configs.csv | agg-blocks > tk_agg.csv
 *
 * A column is numeric when its first row holds a number (nan and inf count,
 * and are then rejected); every row must then hold a finite number.  A text column keeps its value when the whole
 * group agrees, else it becomes "mixed".  Unknown columns pass through, so the
 * course project's CSVs aggregate unchanged.
 */
#include "lib/csv.h"
#include "lib/err.h"
#include "lib/num.h"
#include "lib/out.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static const struct csv_table *tab;
static int *key, nkey;

static void usage(FILE *f)
{
	fprintf(f, "usage: agg-blocks [-k COLS] [-o FILE] [FILE|-]\n"
		   "Groups rows by the key columns (default: blocks), averages every numeric\n"
		   "column, writes one row per group sorted numerically by the key.\n"
		   "Exit: 0 ok, 1 bad input, 2 usage.\n");
}

static int cmp_rows(const void *a, const void *b)
{
	long i = *(const long *)a, j = *(const long *)b;
	for (int k = 0; k < nkey; k++) {
		double x = csv_table_double(tab, i, key[k]), y = csv_table_double(tab, j, key[k]);
		if (x != y)
			return x < y ? -1 : 1;
	}
	return (i > j) - (i < j); /* stable: keep input order inside a group */
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "key", required_argument, 0, 'k' },
		{ "output", required_argument, 0, 'o' },
		{ "help", no_argument, 0, 'h' },
		{ 0, 0, 0, 0 },
	};
	const char *keys = "blocks", *output = NULL;
	struct csv_table t;
	int opt;

	err_init(argv[0]);
	while ((opt = getopt_long(argc, argv, "k:o:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'k': keys = optarg; break;
		case 'o': output = optarg; break;
		case 'h': usage(stdout); return 0;
		default: die_usage_hint();
		}
	}
	if (argc - optind > 1)
		die_usage("one input file at most");

	csv_load(&t, optind < argc ? argv[optind] : NULL);
	tab = &t;
	nkey = csv_table_cols(&t, keys, &key);

	/* classify columns from the first row, then check every row strictly */
	char *numeric = xcalloc((size_t)t.ncol, 1);
	for (int j = 0; j < t.ncol && t.nrows; j++) {
		double v;
		numeric[j] = parse_is_number_like(parse_double(t.rows[0][j], &v));
	}
	for (int k = 0; k < nkey; k++)
		numeric[key[k]] = 1; /* a text key is an error, reported by the check below */
	for (long i = 0; i < t.nrows; i++)
		for (int j = 0; j < t.ncol; j++)
			if (numeric[j])
				(void)csv_table_double(&t, i, j);

	long *order = xcalloc((size_t)t.nrows, sizeof *order);
	for (long i = 0; i < t.nrows; i++)
		order[i] = i;
	qsort(order, (size_t)t.nrows, sizeof *order, cmp_rows);

	FILE *f = out_open(output);
	csv_write_row(f, t.ncol, (const char *const *)t.names);
	double *sum = xcalloc((size_t)t.ncol, sizeof *sum);
	char (*cell)[32] = xcalloc((size_t)t.ncol, sizeof *cell);
	const char **row = xcalloc((size_t)t.ncol, sizeof *row);
	for (long g = 0; g < t.nrows;) {
		long end = g + 1;
		while (end < t.nrows) {
			int same = 1;
			for (int k = 0; k < nkey && same; k++)
				same = csv_table_double(&t, order[g], key[k]) ==
				       csv_table_double(&t, order[end], key[k]);
			if (!same)
				break;
			end++;
		}
		for (int j = 0; j < t.ncol; j++) {
			const char *first = t.rows[order[g]][j];
			if (numeric[j]) {
				sum[j] = 0;
				for (long r = g; r < end; r++)
					sum[j] += csv_table_double(&t, order[r], j);
				row[j] = fmt_num(cell[j], sum[j] / (double)(end - g));
			} else {
				row[j] = first;
				for (long r = g + 1; r < end; r++)
					if (strcmp(t.rows[order[r]][j], first) != 0)
						row[j] = "mixed";
			}
		}
		csv_write_row(f, t.ncol, row);
		g = end;
	}
	out_commit();
	return 0;
}
