/* err.h - diagnostics and exit codes shared by every tool.
 *
 * Every message is one line on stderr: "tool: context: what".  die*() also
 * removes a pending output temp file (see out.h) so bad input never leaves a
 * partial result behind.
 */
#ifndef ERR_H
#define ERR_H

#include <stddef.h>

/* Success is exit 0 (main returns 0); these are the failures. */
enum exit_code {
	EXIT_INPUT = 1,   /* bad input, runtime or CUDA error */
	EXIT_USAGE = 2,   /* bad command line */
	EXIT_INVALID = 3, /* run-kernel: a row failed validation */
};

extern const char *progname;

void err_init(const char *argv0);
void warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
_Noreturn void die(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* "tool: path:line: what" */
_Noreturn void die_at(const char *path, long line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* "usage: ..." hint on stderr, exit 2 */
_Noreturn void die_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* After getopt's own complaint: the usage hint, exit 2. */
_Noreturn void die_usage_hint(void);

/* Run at die(): removes the pending temp file, if any. */
void err_set_cleanup(void (*fn)(void));

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);

#endif
