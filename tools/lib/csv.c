/* csv.c - see csv.h */
#include "csv.h"
#include "err.h"
#include "num.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* The line reader behind csv_load: one row at a time, split in place. */
struct csv {
	const char *path; /* as shown in messages: the file name, or "stdin" */
	FILE *f;
	long line;        /* line number of the current row (header = 1) */
	char *buf;
	size_t cap;
	int ncol;
	char **names;     /* header, owned */
	char **field;     /* current row: ncol pointers into buf */
};

/* Reads one line (without '\n') into c->buf.  Returns its length, or -1 at
 * end of input.  Grows the buffer, so lines of any length work. */
static long read_line(struct csv *c)
{
	size_t n = 0;
	int ch;

	while ((ch = getc(c->f)) != EOF) {
		if (n + 1 >= c->cap) {
			c->cap = c->cap ? 2 * c->cap : 4096;
			c->buf = xrealloc(c->buf, c->cap);
		}
		if (ch == '\n')
			break;
		if (ch == '\0')
			die_at(c->path, c->line + 1, "NUL byte in input (binary file?)");
		c->buf[n++] = (char)ch;
	}
	if (ferror(c->f)) /* a directory reads as EISDIR: say so */
		die(EXIT_INPUT, "%s: read error: %s", c->path, strerror(errno));
	if (ch == EOF && n == 0)
		return -1;
	if (!c->buf) /* a lone "\n" as the first line */
		c->buf = xmalloc(c->cap = 4096);
	c->buf[n] = '\0';
	c->line++;
	return (long)n;
}

/* Splits c->buf in place.  Returns the number of fields, storing at most max. */
static int split(struct csv *c, long len, char **out, int max)
{
	int n = 0;
	char *p = c->buf;

	if (len > 0 && p[len - 1] == '\r')
		die_at(c->path, c->line, "CRLF line ending; this tool reads '\\n' line ends only (try dos2unix)");
	if (strchr(p, '\r')) /* caught on reading, not only when a row is written */
		die_at(c->path, c->line, "carriage return inside a field");
	if (strchr(p, '"'))
		die_at(c->path, c->line, "quoted field; CSV here has no quoting");
	for (;;) {
		char *comma = strchr(p, ',');
		if (n < max)
			out[n] = p;
		n++;
		if (!comma)
			break;
		*comma = '\0';
		p = comma + 1;
	}
	return n;
}

/* A header name is a plain identifier, so a byte-order mark, a blank or a
 * stray byte never silently joins a name (a config column would then count
 * as missing and its default be measured instead). */
static int is_identifier(const char *s)
{
	if (!(isalpha((unsigned char)*s) || *s == '_'))
		return 0;
	while (*++s)
		if (!(isalnum((unsigned char)*s) || *s == '_'))
			return 0;
	return 1;
}

static void check_name(const struct csv *c, int i, const char *name)
{
	double dummy;
	if (!*name)
		die_at(c->path, 1, "header: column %d has an empty name", i + 1);
	if (!parse_double(name, &dummy))
		die_at(c->path, 1, "missing header: first line starts with data ('%s')", name);
	if (!is_identifier(name))
		die_at(c->path, 1, "header: column %d name '%.40s' is not a plain identifier ([A-Za-z_][A-Za-z0-9_]*)",
		       i + 1, name);
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Duplicates found by sorting a copy: a million columns take a second, not
 * the hours of comparing every pair. */
static void check_unique(const struct csv *c)
{
	char **sorted = xcalloc((size_t)c->ncol, sizeof *sorted);
	memcpy(sorted, c->names, (size_t)c->ncol * sizeof *sorted);
	qsort(sorted, (size_t)c->ncol, sizeof *sorted, cmp_names);
	for (int i = 1; i < c->ncol; i++)
		if (strcmp(sorted[i - 1], sorted[i]) == 0)
			die_at(c->path, 1, "header: duplicate column '%s'", sorted[i]);
	free(sorted);
}

/* path NULL or "-" reads stdin.  Reads and checks the header. */
static void csv_open(struct csv *c, const char *path)
{
	long len;
	int n;

	memset(c, 0, sizeof *c);
	if (!path || strcmp(path, "-") == 0) {
		c->path = "stdin";
		c->f = stdin;
	} else {
		c->path = path;
		c->f = fopen(path, "r");
		if (!c->f)
			die(EXIT_INPUT, "%s: cannot open: %s", path, strerror(errno));
	}
	len = read_line(c);
	if (len < 0)
		die_at(c->path, 1, "empty input: expected a header line");
	/* refused, not stripped: one rule for every reader, and the file gets fixed */
	if (len >= 3 && memcmp(c->buf, "\xef\xbb\xbf", 3) == 0)
		die_at(c->path, 1, "UTF-8 byte-order mark: save the file without it");
	if (len == 0)
		die_at(c->path, 1, "empty header line");
	/* count, then split for real */
	n = 1;
	for (const char *p = c->buf; *p; p++)
		n += *p == ',';
	c->names = xcalloc((size_t)n, sizeof *c->names);
	c->field = xcalloc((size_t)n, sizeof *c->field);
	c->ncol = split(c, len, c->field, n);
	for (int i = 0; i < c->ncol; i++) {
		check_name(c, i, c->field[i]);
		c->names[i] = xstrdup(c->field[i]);
	}
	check_unique(c);
}

/* Reads the next row into c->field.  Returns 1, or 0 at end of input. */
static int csv_read(struct csv *c)
{
	long len = read_line(c);
	int n;

	if (len < 0)
		return 0;
	if (len == 0) {
		/* one blank line at the very end (an editor's habit) ends the
		 * input; a blank line with more after it is an error */
		int ch = getc(c->f);
		if (ch == EOF && !ferror(c->f))
			return 0;
		die_at(c->path, c->line, "empty line");
	}
	n = split(c, len, c->field, c->ncol);
	if (n != c->ncol)
		die_at(c->path, c->line, "row has %d fields, header has %d", n, c->ncol);
	return 1;
}

static void csv_close(struct csv *c)
{
	if (c->f && c->f != stdin)
		fclose(c->f);
	for (int i = 0; c->names && i < c->ncol; i++)
		free(c->names[i]);
	free(c->names);
	free(c->field);
	free(c->buf);
	memset(c, 0, sizeof *c);
}

long csv_table_long(const struct csv_table *t, long i, int j, long lo, long hi)
{
	long v;
	const char *why = parse_long(t->rows[i][j], lo, hi, &v);
	if (why)
		die_at(t->path, t->lines[i], "column '%s': '%.40s': %s (expected %ld..%ld)", t->names[j],
		       t->rows[i][j], why, lo, hi);
	return v;
}

/* The load in progress, on the heap, so that csv_load_abandon can free it
 * after a die() that jumped out of csv_load (its stack frame is gone). */
struct csv_loading {
	struct csv c;
	struct csv_table t;
};
static struct csv_loading *loading;

void csv_load(struct csv_table *t, const char *path)
{
	struct csv_loading *ld = xcalloc(1, sizeof *ld);
	struct csv *c = &ld->c;
	long cap = 0;

	loading = ld;
	csv_open(c, path);
	ld->t.path = c->path;
	ld->t.ncol = c->ncol;
	ld->t.names = c->names;
	c->names = NULL; /* moved to the table (csv_close frees none) */
	while (csv_read(c)) {
		if (ld->t.nrows == cap) {
			cap = cap ? 2 * cap : 64;
			ld->t.rows = xrealloc(ld->t.rows, (size_t)cap * sizeof *ld->t.rows);
			ld->t.lines = xrealloc(ld->t.lines, (size_t)cap * sizeof *ld->t.lines);
		}
		char **row = xcalloc((size_t)c->ncol, sizeof *row);
		for (int i = 0; i < c->ncol; i++)
			row[i] = xstrdup(c->field[i]);
		ld->t.rows[ld->t.nrows] = row;
		ld->t.lines[ld->t.nrows++] = c->line;
	}
	csv_close(c);
	*t = ld->t;
	loading = NULL;
	free(ld);
}

void csv_load_abandon(void)
{
	if (!loading)
		return;
	csv_close(&loading->c);
	csv_table_free(&loading->t);
	free(loading);
	loading = NULL;
}

void csv_table_free(struct csv_table *t)
{
	for (long r = 0; r < t->nrows; r++) {
		for (int j = 0; j < t->ncol; j++)
			free(t->rows[r][j]);
		free(t->rows[r]);
	}
	for (int j = 0; j < t->ncol; j++)
		free(t->names[j]);
	free(t->names);
	free(t->rows);
	free(t->lines);
	memset(t, 0, sizeof *t);
}

int csv_table_find(const struct csv_table *t, const char *name)
{
	for (int i = 0; i < t->ncol; i++)
		if (strcmp(t->names[i], name) == 0)
			return i;
	return -1;
}

double csv_table_double(const struct csv_table *t, long i, int j)
{
	double v;
	const char *why = parse_double(t->rows[i][j], &v);
	if (why)
		die_at(t->path, t->lines[i], "column '%s': '%.40s': %s", t->names[j], t->rows[i][j], why);
	return v;
}

void csv_write_row(FILE *f, int n, const char *const *fields)
{
	for (int i = 0; i < n; i++) {
		if (strpbrk(fields[i], ",\"\n\r"))
			die(EXIT_INPUT, "field '%.40s' would need CSV quoting", fields[i]);
		if (i)
			putc(',', f);
		fputs(fields[i], f);
	}
	putc('\n', f);
}

int csv_table_cols(const struct csv_table *t, const char *list, int **idx)
{
	char *copy = xstrdup(list), *save = NULL;
	int n = 0;

	*idx = xcalloc(strlen(list) + 1, sizeof **idx);
	for (char *name = strtok_r(copy, ",", &save); name; name = strtok_r(NULL, ",", &save)) {
		int j = csv_table_find(t, name);
		if (j < 0)
			die_at(t->path, 1, "missing column '%s'", name);
		for (int k = 0; k < n; k++)
			if ((*idx)[k] == j)
				die_usage("column '%s' named twice in '%s'", name, list);
		(*idx)[n++] = j;
	}
	free(copy);
	if (!n)
		die_usage("empty column list '%s'", list);
	return n;
}

int csv_value_cmp(const char *a, const char *b)
{
	double x, y;
	if (!parse_double(a, &x) && !parse_double(b, &y))
		return (x > y) - (x < y);
	return strcmp(a, b);
}
