/* fuzz_csv.c - libFuzzer target for the CSV reader and the number parsers
 * (make fuzz; README "Fuzzing").  An input is a CSV file; bad input must end
 * in the reader's die(), which lands back here (the cleanup hook longjmps),
 * never in a crash or a sanitizer report.  On input the reader accepts:
 *   - each row's fields joined by ',' are its source line;
 *   - each number re-parses, from its shortest exact text, to the same value;
 *   - the table written by csv_write_row reads back as the same table.
 * The first line is also parsed as a gen-configs list with bounds up to
 * LONG_MAX (ranges near it must not overflow). */
#include "../../tools/lib/csv.h"
#include "../../tools/lib/err.h"
#include "../../tools/lib/num.h"

#include <limits.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static jmp_buf bail;
static void back_here(void) { longjmp(bail, 1); }

static char *write_temp(const uint8_t *data, size_t size)
{
	static char path[64];
	FILE *f;
	snprintf(path, sizeof path, "/tmp/fuzz_csv.%ld.csv", (long)getpid());
	f = fopen(path, "wb");
	if (!f || fwrite(data, 1, size, f) != size || fclose(f) != 0)
		abort();
	return path;
}

/* Source line n (1-based) of data, as a malloc'd string without '\n'. */
static char *source_line(const uint8_t *data, size_t size, long n)
{
	size_t start = 0, end;
	for (long i = 1; i < n; i++) {
		const uint8_t *nl = memchr(data + start, '\n', size - start);
		start = (size_t)(nl - data) + 1;
	}
	const uint8_t *nl = memchr(data + start, '\n', size - start);
	end = nl ? (size_t)(nl - data) : size;
	char *s = malloc(end - start + 1);
	memcpy(s, data + start, end - start);
	s[end - start] = '\0';
	return s;
}

static void check_rejoin(const struct csv_table *t, const uint8_t *data, size_t size)
{
	for (long r = 0; r < t->nrows; r++) {
		char *line = source_line(data, size, t->lines[r]), *p = line;
		for (int j = 0; j < t->ncol; j++) {
			size_t n = strlen(t->rows[r][j]);
			if (strncmp(p, t->rows[r][j], n) != 0 || p[n] != (j + 1 < t->ncol ? ',' : '\0'))
				abort();
			p += n + 1;
		}
		free(line);
	}
}

static void check_numbers(const struct csv_table *t)
{
	for (long r = 0; r < t->nrows; r++)
		for (int j = 0; j < t->ncol; j++) {
			double v, w;
			long l, m;
			char buf[32];
			if (!parse_double(t->rows[r][j], &v) && (parse_double(fmt_exact(buf, v), &w) || w != v))
				abort();
			if (!parse_long(t->rows[r][j], LONG_MIN, LONG_MAX, &l)) {
				snprintf(buf, sizeof buf, "%ld", l);
				if (parse_long(buf, LONG_MIN, LONG_MAX, &m) || m != l)
					abort();
			}
		}
}

static void check_rewrite(const struct csv_table *t, const char *path)
{
	struct csv_table u;
	FILE *f = fopen(path, "w");
	csv_write_row(f, t->ncol, (const char *const *)t->names);
	for (long r = 0; r < t->nrows; r++)
		csv_write_row(f, t->ncol, (const char *const *)t->rows[r]);
	if (fclose(f) != 0)
		abort();
	csv_load(&u, path);
	if (u.ncol != t->ncol || u.nrows != t->nrows)
		abort();
	for (int j = 0; j < t->ncol; j++)
		if (strcmp(u.names[j], t->names[j]) != 0)
			abort();
	for (long r = 0; r < t->nrows; r++)
		for (int j = 0; j < t->ncol; j++)
			if (strcmp(u.rows[r][j], t->rows[r][j]) != 0)
				abort();
	csv_table_free(&u);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct csv_table t;
	const char *path = write_temp(data, size);
	char *first = source_line(data, size, 1);

	err_set_cleanup(back_here);
	{
		long *v;
		const char *why;
		if (parse_int_list(first, 0, LONG_MAX, &v, &why) > 0)
			free(v);
	}
	free(first);
	/* read as stdin, which the reader never closes: a die() that jumps back
	 * here leaks no file descriptor */
	if (!freopen(path, "r", stdin))
		abort();
	if (setjmp(bail) == 0) {
		csv_load(&t, "-");
		check_rejoin(&t, data, size);
		check_numbers(&t);
		check_rewrite(&t, path);
		/* an accepted table is freed: kept, a 30 s run's tables grew past
		 * libFuzzer's 2 GB RSS limit (an "out-of-memory" in CI) */
		csv_table_free(&t);
	} else {
		csv_load_abandon(); /* the reader and rows of the input it refused */
	}
	unlink(path);
	return 0;
}
