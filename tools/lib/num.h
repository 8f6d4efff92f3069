/* num.h - strict number parsing (never atoi): the whole string must be one
 * finite number in range, or the caller gets a reason it can print. */
#ifndef NUM_H
#define NUM_H

/* Each returns NULL on success, else a static reason ("not a number", ...). */
const char *parse_double(const char *s, double *out);
/* True when parse_double's reason says the text is a number, just not a
 * usable one (nan, inf, 1e999): such a column is numeric and the value bad. */
int parse_is_number_like(const char *why);
const char *parse_long(const char *s, long lo, long hi, long *out);

/* Formats v with enough digits (6 significant) for aggregation; integers up
 * to 2^53 (where a double holds every integer) print as integers.  buf must hold 32 bytes.  Returns buf. */
char *fmt_num(char *buf, double v);
/* The shortest text that reads back as exactly v (integers as integers).
 * buf must hold 32 bytes.  Returns buf. */
char *fmt_exact(char *buf, double v);

/* A list of integers "4,16,64", with doubling ranges "4..256" (4,8,...,256)
 * and additive ranges "1..9+2".  Returns the count; *out is malloc'd.  On
 * error returns -1 and sets *why. */
int parse_int_list(const char *s, long lo, long hi, long **out, const char **why);

#endif
