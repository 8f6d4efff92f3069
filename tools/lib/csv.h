/* csv.h - the one CSV reader/writer of the project (the format is README.md's
 * "CSV schema").
 *
 * One header line, comma-separated, '\n' line ends, no quoting.  Columns are
 * addressed by header name.  Every malformed input (empty file, numeric or
 * duplicate header, ragged row, quotes, CRLF, NUL bytes) stops the tool with
 * "tool: file:line: what" and exit 1.
 */
#ifndef CSV_H
#define CSV_H

#include <stdio.h>

/* A whole file in memory, for the tools that group or join. */
struct csv_table {
	const char *path;
	int ncol;
	char **names;
	long nrows;
	char ***rows;  /* rows[i][j], owned strings */
	long *lines;   /* source line of each row, for messages */
};
void csv_load(struct csv_table *t, const char *path);
/* Frees what csv_load allocated (path stays the caller's); t is zeroed. */
void csv_table_free(struct csv_table *t);
/* Frees what a csv_load that died left behind, for a caller whose die()
 * hook returns control (the fuzz target's longjmp); a no-op otherwise. */
void csv_load_abandon(void);
int csv_table_find(const struct csv_table *t, const char *name);
/* Strict number in row i, column j of a loaded table; dies with file:line. */
double csv_table_double(const struct csv_table *t, long i, int j);
long csv_table_long(const struct csv_table *t, long i, int j, long lo, long hi);

/* Writing: fields joined by ',' and '\n'.  A field that would need quoting
 * (comma, quote, newline) is a runtime error. */
void csv_write_row(FILE *f, int n, const char *const *fields);

/* Columns named in a comma list ("blocks" or "n_heads,n_chunks"), resolved
 * against t; dies "file:1: missing column 'x'".  Returns the count. */
int csv_table_cols(const struct csv_table *t, const char *list, int **idx);
/* Orders two field values: numerically when both are numbers, else as text. */
int csv_value_cmp(const char *a, const char *b);
#endif
