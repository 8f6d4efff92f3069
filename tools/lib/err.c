/* err.c - see err.h */
#include "err.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char *progname = "tool";
static void (*cleanup)(void);

/* A tool started with fd 0, 1 or 2 closed would get it back from its first
 * open(): the output CSV could become fd 2, and every diagnostic a line of
 * it.  /dev/null takes each closed one first. */
static void occupy_std_fds(void)
{
	for (int fd = 0; fd <= 2; fd++)
		if (fcntl(fd, F_GETFD) == -1 && errno == EBADF &&
		    open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY) != fd)
			_exit(EXIT_INPUT); /* nowhere to say it */
}

void err_init(const char *argv0)
{
	const char *slash = strrchr(argv0, '/');
	occupy_std_fds();
	progname = slash ? slash + 1 : argv0;
}

void err_set_cleanup(void (*fn)(void)) { cleanup = fn; }

static void vmsg(const char *fmt, va_list ap)
{
	fprintf(stderr, "%s: ", progname);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void warnx(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vmsg(fmt, ap);
	va_end(ap);
}

_Noreturn static void finish(int code)
{
	if (cleanup)
		cleanup();
	exit(code);
}

void die(int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vmsg(fmt, ap);
	va_end(ap);
	finish(code);
}

void die_at(const char *path, long line, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "%s: %s:%ld: ", progname, path, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	finish(EXIT_INPUT);
}

void die_usage(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vmsg(fmt, ap);
	va_end(ap);
	fprintf(stderr, "usage: see '%s --help'\n", progname);
	finish(EXIT_USAGE);
}

void die_usage_hint(void)
{
	fprintf(stderr, "usage: see '%s --help'\n", progname);
	finish(EXIT_USAGE);
}

static void *check(void *p)
{
	if (!p)
		die(EXIT_INPUT, "out of memory");
	return p;
}

void *xmalloc(size_t n) { return check(malloc(n ? n : 1)); }
void *xcalloc(size_t n, size_t size) { return check(calloc(n ? n : 1, size ? size : 1)); }
void *xrealloc(void *p, size_t n) { return check(realloc(p, n ? n : 1)); }
char *xstrdup(const char *s) { return check(strdup(s)); }
