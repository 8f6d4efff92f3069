/* agg-blocks - one row per group of equal keys (default: blocks), every
 * numeric column averaged, sorted numerically by the key.
 *
 *   run-kernel -k tk < configs.csv | agg-blocks > tk_agg.csv
 *
 * A column is numeric when any of its rows holds a number (nan, inf, 1e999
 * and blank-padded numbers count, and are then rejected); every row must then
 * hold a finite number, and the first that does not is named (file:line).  A
 * text column keeps its value when the whole group agrees, else it becomes
 * "mixed".  Keys print as read (the first row's text when the group's texts
 * differ only in form, 16 and 16.0, its exact value); a numeric column whose
 * group holds one integer text prints it as read (a seed of 2^62), else the
 * mean, computed without overflow.  Unknown columns pass through, so the
 * course project's CSVs aggregate unchanged.
 *
 * --rates: the rate columns are recomputed from the group's summed work over
 * its summed time instead of averaged (rows of different shapes share a
 * blocks value: 64 x 128 and 128 x 64): tflops, kv_gbps and their _pct
 * efficiencies weighted by latency_ms; ceil_gbps as the group's bytes over
 * the ceiling's summed time; pct_of_ceiling from those two.
 */
#include "lib/csv.h"
#include "lib/err.h"
#include "lib/num.h"
#include "lib/out.h"

#include <ctype.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The sort's view of the table: qsort passes no context.  keyval[i * nkey +
 * k] is row i's key k as a long double, exact for integers up to 2^64 (a
 * double merges seeds 2^62 and 2^62 + 1), parsed once. */
static const int *key;
static int nkey;
static long double *keyval;

static void usage(FILE *f)
{
	fprintf(f, "usage: agg-blocks [-k COLS] [--rates] [-o FILE] [FILE|-]\n"
		   "Groups rows by the key columns (default: blocks), averages every numeric\n"
		   "column, writes one row per group sorted numerically by the key.\n"
		   "--rates: tflops, kv_gbps, their efficiencies, ceil_gbps and pct_of_ceiling\n"
		   "from the group's summed work over its summed time, not averaged.\n"
		   "Exit: 0 ok, 1 bad input, 2 usage.\n");
}

/* Orders rows i and j by their keys: <0, 0 (one group), >0. */
static int same_key(long i, long j)
{
	for (int k = 0; k < nkey; k++) {
		long double x = keyval[i * nkey + k], y = keyval[j * nkey + k];
		if (x != y)
			return x < y ? -1 : 1;
	}
	return 0;
}

static int cmp_rows(const void *a, const void *b)
{
	long i = *(const long *)a, j = *(const long *)b;
	int c = same_key(i, j);
	return c ? c : (i > j) - (i < j); /* stable: keep input order inside a group */
}

/* A field that a reader would take for a number: one, or one with blanks
 * around it (" 4", which the strict check then refuses by line). */
static int looks_numeric(const char *s)
{
	double v;
	char *copy, *end;
	int yes;

	if (parse_is_number_like(parse_double(s, &v)))
		return 1;
	while (isspace((unsigned char)*s))
		s++;
	copy = xstrdup(s);
	for (end = copy + strlen(copy); end > copy && isspace((unsigned char)end[-1]);)
		*--end = '\0';
	yes = *copy && parse_is_number_like(parse_double(copy, &v));
	free(copy);
	return yes;
}

/* Which columns are averaged: numeric when any row holds a number, decided
 * by every row (never the first alone), then every row checked strictly, so a
 * bad value stops the tool, with its line, before any output. */
static char *numeric_columns(const struct csv_table *t)
{
	char *numeric = xcalloc((size_t)t->ncol, 1);
	for (int j = 0; j < t->ncol; j++)
		for (long i = 0; i < t->nrows && !numeric[j]; i++)
			numeric[j] = (char)looks_numeric(t->rows[i][j]);
	for (int k = 0; k < nkey; k++)
		numeric[key[k]] = 1; /* a text key is an error, reported by the check below */
	for (long i = 0; i < t->nrows; i++)
		for (int j = 0; j < t->ncol; j++)
			if (numeric[j])
				(void)csv_table_double(t, i, j);
	return numeric;
}

/* The sort keys, each checked to be a finite number first. */
static long double *key_values(const struct csv_table *t)
{
	long double *v = xcalloc((size_t)t->nrows * (size_t)nkey + 1, sizeof *v);
	for (long i = 0; i < t->nrows; i++)
		for (int k = 0; k < nkey; k++) {
			(void)csv_table_double(t, i, key[k]);
			v[i * nkey + k] = strtold(t->rows[i][key[k]], NULL);
		}
	return v;
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
	while (end < t->nrows && same_key(order[g], order[end]) == 0)
		end++;
	return end;
}

/* An integer as a person writes it: no sign but '-', no leading zero. */
static int is_plain_integer(const char *s)
{
	s += *s == '-';
	if (!isdigit((unsigned char)*s) || (*s == '0' && s[1]))
		return 0;
	while (isdigit((unsigned char)*++s))
		;
	return !*s;
}

/* The mean of column j over order[g..end): summed plainly (the same digits as
 * ever for ordinary values), or, where that sum overflows (1e308 + 1.5e308),
 * as the sum of each value over the count, which cannot. */
static double group_mean(const struct csv_table *t, const long *order, long g, long end, int j)
{
	double n = (double)(end - g), sum = 0;
	for (long r = g; r < end; r++)
		sum += csv_table_double(t, order[r], j);
	if (isfinite(sum))
		return sum / n;
	sum = 0;
	for (long r = g; r < end; r++)
		sum += csv_table_double(t, order[r], j) / n;
	return sum;
}

/* --rates: a column that is work over time (rate_work) or the ceiling. */
static int rates, lat_col = -1, gbps_col = -1;
static int is_rate(const char *name)
{
	return !strcmp(name, "tflops") || !strcmp(name, "kv_gbps") || !strcmp(name, "compute_eff_pct") ||
	       !strcmp(name, "kv_mem_eff_pct");
}

/* Summed work over summed time: the rate of column j weighted by latency. */
static double group_rate(const struct csv_table *t, const long *order, long g, long end, int j)
{
	double work = 0, time = 0;
	for (long r = g; r < end; r++) {
		double lat = csv_table_double(t, order[r], lat_col);
		work += csv_table_double(t, order[r], j) * lat;
		time += lat;
	}
	return time > 0 ? work / time : 0;
}

/* The group's bytes over the time the ceiling takes to read them. */
static double group_ceiling(const struct csv_table *t, const long *order, long g, long end, int j)
{
	double bytes = 0, time = 0;
	for (long r = g; r < end; r++) {
		double b = csv_table_double(t, order[r], gbps_col) * csv_table_double(t, order[r], lat_col);
		double c = csv_table_double(t, order[r], j);
		bytes += b;
		time += c > 0 ? b / c : 0;
	}
	return time > 0 ? bytes / time : 0;
}

/* One output cell of the group order[g..end): a key or one integer text as
 * read; the mean of a numeric column (formatted into cell); else the group's
 * common text or "mixed". */
static const char *group_cell(const struct csv_table *t, const long *order, long g, long end, int j,
			      int numeric, int is_key, char cell[32])
{
	const char *first = t->rows[order[g]][j];
	long r = g + 1;

	while (r < end && strcmp(t->rows[order[r]][j], first) == 0)
		r++;
	if (r == end && (!numeric || is_key || is_plain_integer(first)))
		return first;
	if (is_key) /* 16 and 16.0: one value, written exactly */
		return fmt_exact(cell, csv_table_double(t, order[g], j));
	if (numeric && rates) {
		const char *name = t->names[j];
		if (is_rate(name))
			return fmt_num(cell, group_rate(t, order, g, end, j));
		if (!strcmp(name, "ceil_gbps") && gbps_col >= 0)
			return fmt_num(cell, group_ceiling(t, order, g, end, j));
		if (!strcmp(name, "pct_of_ceiling") && gbps_col >= 0 && csv_table_find(t, "ceil_gbps") >= 0) {
			double c = group_ceiling(t, order, g, end, csv_table_find(t, "ceil_gbps"));
			return fmt_num(cell, c > 0 ? 100.0 * group_rate(t, order, g, end, gbps_col) / c : 0);
		}
	}
	return numeric ? fmt_num(cell, group_mean(t, order, g, end, j)) : "mixed";
}

/* Aggregates t by the columns in keys.  The output is opened only once the
 * whole input has been checked, so bad input never creates a file. */
static void agg_blocks(const struct csv_table *t, const char *keys, const char *output)
{
	int *idx;
	nkey = csv_table_cols(t, keys, &idx);
	key = idx;
	char *numeric = numeric_columns(t);
	char *is_key = xcalloc((size_t)t->ncol, 1);
	for (int k = 0; k < nkey; k++)
		is_key[key[k]] = 1;
	keyval = key_values(t);
	if (rates) {
		lat_col = csv_table_find(t, "latency_ms");
		gbps_col = csv_table_find(t, "kv_gbps");
		if (lat_col < 0 || !numeric[lat_col])
			die_at(t->path, 1, "--rates needs a numeric column 'latency_ms'");
		if (gbps_col >= 0 && !numeric[gbps_col])
			gbps_col = -1;
	}
	long *order = sorted_rows(t);

	FILE *f = out_open(output);
	csv_write_row(f, t->ncol, (const char *const *)t->names);
	char (*cell)[32] = xcalloc((size_t)t->ncol, sizeof *cell);
	const char **row = xcalloc((size_t)t->ncol, sizeof *row);
	for (long g = 0, end; g < t->nrows; g = end) {
		end = group_end(t, order, g);
		for (int j = 0; j < t->ncol; j++)
			row[j] = group_cell(t, order, g, end, j, numeric[j], is_key[j], cell[j]);
		csv_write_row(f, t->ncol, row);
	}
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "key", required_argument, 0, 'k' },
		{ "output", required_argument, 0, 'o' },
		{ "rates", no_argument, 0, 'r' },
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
		case 'r': rates = 1; break;
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
