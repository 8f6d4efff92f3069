/* agg-blocks - one row per group of equal keys (default: blocks), every
 * numeric column averaged, sorted numerically by the key.
 *
 *   run-kernel -k tk < configs.csv | agg-blocks > tk_agg.csv
 *
 * A column is numeric when its first row holds a number (nan and inf count,
 * and are then rejected); every row must then hold a finite number.  A text
 * column keeps its value when the whole group agrees, else it becomes
 * "mixed".  Unknown columns pass through, so the course project's CSVs
 * aggregate unchanged.
 */
#include "lib/csv.h"
#include "lib/err.h"
#include "lib/num.h"
#include "lib/out.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

/* The sort's view of the table: qsort passes no context. */
static const struct csv_table *tab;
static const int *key;
static int nkey;

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

/* Which columns are averaged: classified from the first row, then every row
 * checked strictly, so a bad value stops the tool before any output. */
static char *numeric_columns(const struct csv_table *t)
{
	char *numeric = xcalloc((size_t)t->ncol, 1);
	for (int j = 0; j < t->ncol && t->nrows; j++) {
		double v;
		numeric[j] = parse_is_number_like(parse_double(t->rows[0][j], &v));
	}
	for (int k = 0; k < nkey; k++)
		numeric[key[k]] = 1; /* a text key is an error, reported by the check below */
	for (long i = 0; i < t->nrows; i++)
		for (int j = 0; j < t->ncol; j++)
			if (numeric[j])
				(void)csv_table_double(t, i, j);
	return numeric;
}

/* Row numbers sorted by the key, input order kept inside a group. */
static long *sorted_rows(const struct csv_table *t)
{
	long *order = xcalloc((size_t)t->nrows, sizeof *order);
	for (long i = 0; i < t->nrows; i++)
		order[i] = i;
	qsort(order, (size_t)t->nrows, sizeof *order, cmp_rows);
	return order;
}

/* The end of the group that starts at order[g]: the first row with another key. */
static long group_end(const struct csv_table *t, const long *order, long g)
{
	long end = g + 1;
	while (end < t->nrows) {
		int same = 1;
		for (int k = 0; k < nkey && same; k++)
			same = csv_table_double(t, order[g], key[k]) == csv_table_double(t, order[end], key[k]);
		if (!same)
			break;
		end++;
	}
	return end;
}

/* One output cell of the group order[g..end): the mean of a numeric column
 * (formatted into cell), else the group's common text or "mixed". */
static const char *group_cell(const struct csv_table *t, const long *order, long g, long end, int j,
			      int numeric, char cell[32])
{
	const char *first = t->rows[order[g]][j];
	if (numeric) {
		double sum = 0;
		for (long r = g; r < end; r++)
			sum += csv_table_double(t, order[r], j);
		return fmt_num(cell, sum / (double)(end - g));
	}
	for (long r = g + 1; r < end; r++)
		if (strcmp(t->rows[order[r]][j], first) != 0)
			return "mixed";
	return first;
}

/* Aggregates t by the columns in keys.  The output is opened only once the
 * whole input has been checked, so bad input never creates a file. */
static void agg_blocks(const struct csv_table *t, const char *keys, const char *output)
{
	int *idx;
	nkey = csv_table_cols(t, keys, &idx);
	key = idx;
	tab = t;
	char *numeric = numeric_columns(t);
	long *order = sorted_rows(t);

	FILE *f = out_open(output);
	csv_write_row(f, t->ncol, (const char *const *)t->names);
	char (*cell)[32] = xcalloc((size_t)t->ncol, sizeof *cell);
	const char **row = xcalloc((size_t)t->ncol, sizeof *row);
	for (long g = 0, end; g < t->nrows; g = end) {
		end = group_end(t, order, g);
		for (int j = 0; j < t->ncol; j++)
			row[j] = group_cell(t, order, g, end, j, numeric[j], cell[j]);
		csv_write_row(f, t->ncol, row);
	}
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
	agg_blocks(&t, keys, output);
	out_commit();
	return 0;
}
