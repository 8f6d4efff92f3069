/* resume.c - see resume.h */
#include "resume.h"
#include "err.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct resume {
	FILE *f;      /* the partial file, or until the first config ends, memory */
	char *path;
	char *stamp;  /* set while f is memory: the file is not made yet */
	char *mem;
	size_t mem_len;
};

unsigned long long resume_hash(unsigned long long h, const char *s)
{
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return (h ^ 0xff) * 1099511628211ULL; /* a separator: "ab","c" differs from "a","bc" */
}

static void fail(const struct resume *r, const char *what)
{
	die(EXIT_INPUT, "%s: cannot %s: %s", r->path, what, strerror(errno));
}

/* Text held back until its config's "#done" line, then kept. */
struct held {
	char *text;
	size_t len;
};

static void hold(struct held *h, const char *s, size_t n)
{
	h->text = xrealloc(h->text, h->len + n);
	memcpy(h->text + h->len, s, n);
	h->len += n;
}

/* Reads an earlier run's partial file: when its stamp matches, copies the
 * rows up to the last "#done N" to out, the notes of those configs to
 * *notes ("TAG LINE\n" each), and returns N with *keep, the byte length of
 * that part; else returns -1 (another run's file). */
static long read_partial(FILE *f, const char *stamp, FILE *out, long *keep, struct held *notes)
{
	char *line = NULL;
	struct held rows = { 0 }, pending_notes = { 0 };
	size_t cap = 0;
	ssize_t n;
	long done = 0, pos = 0;

	*keep = 0;
	n = getline(&line, &cap, f);
	/* the first line is "#stamp STAMP\n" */
	if (n < 8 || strncmp(line, "#stamp ", 7) || (size_t)n - 8 != strlen(stamp) ||
	    strncmp(line + 7, stamp, (size_t)n - 8)) {
		free(line);
		return -1;
	}
	pos = n;
	/* Rows and notes are held back until their config's "#done" line: a
	 * config cut off mid-way is dropped. */
	while ((n = getline(&line, &cap, f)) > 0 && line[n - 1] == '\n') {
		pos += n;
		if (strncmp(line, "#done ", 6) == 0) {
			if (rows.len && fwrite(rows.text, 1, rows.len, out) != rows.len)
				die(EXIT_INPUT, "cannot write the resumed rows: %s", strerror(errno));
			if (pending_notes.len)
				hold(notes, pending_notes.text, pending_notes.len);
			rows.len = pending_notes.len = 0;
			done = strtol(line + 6, NULL, 10);
			*keep = pos;
			continue;
		}
		if (strncmp(line, "#note ", 6) == 0)
			hold(&pending_notes, line + 6, (size_t)n - 6);
		else
			hold(&rows, line, (size_t)n);
	}
	free(line);
	free(rows.text);
	free(pending_notes.text);
	return done;
}

struct resume *resume_open(const char *out_path, const char *stamp, FILE *out, long *done,
			   void (*note)(void *ctx, const char *tag, const char *line), void *ctx)
{
	struct resume *r = xcalloc(1, sizeof *r);
	struct held notes = { 0 };
	long keep = 0;

	r->path = xmalloc(strlen(out_path) + 9);
	sprintf(r->path, "%s.partial", out_path);
	*done = 0;
	r->f = fopen(r->path, "r+");
	if (!r->f && errno != ENOENT)
		fail(r, "open");
	if (r->f) {
		long n = read_partial(r->f, stamp, out, &keep, &notes);
		if (n < 0)
			warnx("%s: left by a run of other inputs, kernels or settings; starting afresh", r->path);
		else if (n > 0)
			warnx("%s: resuming after %ld finished config(s)", r->path, n);
		*done = n > 0 ? n : 0;
		fclose(r->f);
	}
	for (size_t at = 0; at < notes.len;) { /* "TAG LINE\n" each */
		char *s = notes.text + at, *end = memchr(s, '\n', notes.len - at), *sp;
		*end = '\0';
		at += (size_t)(end - s) + 1;
		if ((sp = strchr(s, ' ')) != NULL) {
			*sp = '\0';
			note(ctx, s, sp + 1);
		}
	}
	free(notes.text);
	if (keep) { /* keep the finished part, then go on appending */
		r->f = fopen(r->path, "r+");
		if (!r->f || ftruncate(fileno(r->f), keep) != 0 || fseek(r->f, 0, SEEK_END) != 0)
			fail(r, "write");
		return r;
	}
	/* Nothing to keep: no file until a config has finished, so a run stopped
	 * before that leaves nothing behind (the first rows wait in memory). */
	if (unlink(r->path) != 0 && errno != ENOENT)
		fail(r, "remove");
	r->stamp = xstrdup(stamp);
	r->f = open_memstream(&r->mem, &r->mem_len);
	if (!r->f)
		fail(r, "buffer");
	return r;
}

/* The first config has finished: the partial file is made, with its stamp
 * and the rows held so far. */
static void make_file(struct resume *r)
{
	if (fclose(r->f) != 0)
		fail(r, "buffer");
	r->f = fopen(r->path, "w");
	if (!r->f || fprintf(r->f, "#stamp %s\n", r->stamp) < 0 || fwrite(r->mem, 1, r->mem_len, r->f) != r->mem_len)
		fail(r, "write");
	free(r->mem);
	free(r->stamp);
	r->mem = r->stamp = NULL;
}

FILE *resume_rows(struct resume *r) { return r->f; }

void resume_note(struct resume *r, const char *tag, const char *line)
{
	if (fprintf(r->f, "#note %s ", tag) < 0)
		fail(r, "write");
	for (; *line; line++) /* one line, whatever the message held */
		if (fputc(*line == '\n' ? ' ' : *line, r->f) == EOF)
			fail(r, "write");
	if (fputc('\n', r->f) == EOF)
		fail(r, "write");
}

void resume_mark(struct resume *r, long config_no)
{
	if (r->stamp)
		make_file(r);
	if (fprintf(r->f, "#done %ld\n", config_no) < 0 || fflush(r->f) != 0 || fsync(fileno(r->f)) != 0)
		fail(r, "write");
}

void resume_finish(struct resume *r)
{
	fclose(r->f);
	free(r->mem);
	free(r->stamp);
	if (unlink(r->path) != 0 && errno != ENOENT)
		fail(r, "remove");
	free(r->path);
	free(r);
}
