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

char *fmt_num(char *buf, double v)
{
	if (v == floor(v) && fabs(v) < 1e15)
		snprintf(buf, 32, "%.0f", v);
	else
		snprintf(buf, 32, "%.6g", v);
	if (strcmp(buf, "-0") == 0)
		strcpy(buf, "0");
	return buf;
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

int parse_int_list(const char *s, long lo, long hi, long **out, const char **why)
{
	char *copy = xstrdup(s), *save = NULL, *tok;
	int n = 0, cap = 0;

	*out = NULL;
	*why = NULL;
	if (!*s)
		*why = "empty list";
	for (tok = strtok_r(copy, ",", &save); tok && !*why; tok = strtok_r(NULL, ",", &save)) {
		char *dots = strstr(tok, ".."), *plus;
		long a, b, step = 0;

		if (!dots) {
			if ((*why = parse_long(tok, lo, hi, &a)) == NULL)
				push(out, &n, &cap, a);
			continue;
		}
		*dots = '\0';
		plus = strchr(dots + 2, '+');
		if (plus) {
			*plus = '\0';
			if ((*why = parse_long(plus + 1, 1, hi, &step)) != NULL)
				break;
		}
		if ((*why = parse_long(tok, lo, hi, &a)) || (*why = parse_long(dots + 2, lo, hi, &b)))
			break;
		if (a > b) {
			*why = "range end is below its start";
			break;
		}
		if (!step && a <= 0) {
			*why = "a doubling range must start above 0";
			break;
		}
		for (long v = a; v <= b; v = step ? v + step : 2 * v)
			if (!push(out, &n, &cap, v)) {
				*why = "list too long";
				break;
			}
	}
	free(copy);
	if (!*why && n == 0)
		*why = "empty list";
	if (*why) {
		free(*out);
		*out = NULL;
		return -1;
	}
	return n;
}
