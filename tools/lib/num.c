/* num.c - see num.h */
#include "num.h"
#include "err.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *parse_double(const char *s, double *out)
{
	char *end;
	double v;

	if (!*s)
		return "empty field where a number is expected";
	/* strtod also takes leading blanks and hex floats: refuse them */
	if (isspace((unsigned char)*s) || strpbrk(s, "xX"))
		return "not a number";
	errno = 0;
	v = strtod(s, &end);
	if (end == s || *end)
		return "not a number";
	if (errno == ERANGE && fabs(v) > 1)
		return "number out of range";
	if (!isfinite(v))
		return "not a finite number";
	*out = v;
	return NULL;
}

int parse_is_number_like(const char *why)
{
	return why == NULL || strcmp(why, "number out of range") == 0 ||
	       strcmp(why, "not a finite number") == 0;
}

const char *parse_long(const char *s, long lo, long hi, long *out)
{
	char *end;
	long v;

	if (!*s)
		return "empty field where an integer is expected";
	if (!strchr("+-0123456789", *s))
		return "not an integer";
	errno = 0;
	v = strtol(s, &end, 10);
	if (end == s || *end)
		return "not an integer";
	if (errno == ERANGE || v < lo || v > hi)
		return "integer out of range";
	*out = v;
	return NULL;
}

/* A double holds every integer up to 2^53: those print as integers. */
static int prints_as_integer(double v)
{
	return v == floor(v) && fabs(v) <= 9007199254740992.0;
}

static char *no_minus_zero(char *buf)
{
	if (strcmp(buf, "-0") == 0)
		strcpy(buf, "0");
	return buf;
}

char *fmt_num(char *buf, double v)
{
	snprintf(buf, 32, prints_as_integer(v) ? "%.0f" : "%.6g", v);
	return no_minus_zero(buf);
}

char *fmt_exact(char *buf, double v)
{
	if (prints_as_integer(v)) {
		snprintf(buf, 32, "%.0f", v);
		return no_minus_zero(buf);
	}
	for (int digits = 1; digits <= 17; digits++) {
		snprintf(buf, 32, "%.*g", digits, v);
		if (strtod(buf, NULL) == v)
			break;
	}
	return no_minus_zero(buf);
}

static int push(long **out, int *n, int *cap, long v)
{
	if (*n == *cap) {
		*cap = *cap ? 2 * *cap : 16;
		*out = xrealloc(*out, (size_t)*cap * sizeof **out);
	}
	(*out)[(*n)++] = v;
	return *n <= 100000;
}

/* Pushes a..b (doubling, or by step): each next value is made only when it
 * stays <= b, so bounds near LONG_MAX never overflow 2*v or v+step. */
static const char *push_range(long **out, int *n, int *cap, long a, long b, long step)
{
	for (long v = a;;) {
		if (!push(out, n, cap, v))
			return "list too long";
		if (step ? b - v < step : v > b / 2)
			return NULL;
		v = step ? v + step : 2 * v;
	}
}

/* One item of a list: "V", "A..B" (doubling) or "A..B+S". */
static const char *parse_item(char *tok, long lo, long hi, long **out, int *n, int *cap)
{
	char *dots = strstr(tok, ".."), *plus;
	long a, b, step = 0;
	const char *why;

	if (!*tok)
		return "empty item in the list";
	if (!dots) {
		if ((why = parse_long(tok, lo, hi, &a)) == NULL && !push(out, n, cap, a))
			why = "list too long";
		return why;
	}
	*dots = '\0';
	plus = strchr(dots + 2, '+');
	if (plus) {
		*plus = '\0';
		if ((why = parse_long(plus + 1, 1, hi, &step)) != NULL)
			return why;
	}
	if ((why = parse_long(tok, lo, hi, &a)) || (why = parse_long(dots + 2, lo, hi, &b)))
		return why;
	if (a > b)
		return "range end is below its start";
	if (!step && a <= 0)
		return "a doubling range must start above 0";
	return push_range(out, n, cap, a, b, step);
}

int parse_int_list(const char *s, long lo, long hi, long **out, const char **why)
{
	char *copy = xstrdup(s), *rest = copy;
	int n = 0, cap = 0;

	*out = NULL;
	*why = NULL;
	/* "," alone is an empty list; "4,,8" an empty item, never skipped */
	if (strspn(s, ",") == strlen(s))
		*why = "empty list";
	while (!*why && rest)
		*why = parse_item(strsep(&rest, ","), lo, hi, out, &n, &cap);
	free(copy);
	if (*why) {
		free(*out);
		*out = NULL;
		return -1;
	}
	return n;
}
