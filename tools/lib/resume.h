/* resume.h - a sweep stopped by Ctrl-C, a kill or a Slurm time limit goes on
 * from its last finished config when run again, so a long sweep can span
 * several jobs.
 *
 * Beside the -o target OUT, OUT.partial holds a stamp line (what the run
 * measures: inputs, kernels, settings), then each finished config's rows,
 * and a "#note TAG LINE" line for each of its rows that was not written (the
 * row's stderr line: a failed validation, a refusal), followed by a "#done N"
 * line, flushed and fsync'd: the rows and notes of configs up to the last
 * "#done" survive any kill.  A new run with the same stamp copies those rows
 * to its output, hands it those notes (so a resumed run still counts and
 * lists the rows an earlier one did not write) and skips those configs; one
 * with another stamp starts afresh (and says so).  The rows of a config cut
 * off mid-way are dropped and measured again.  OUT itself is still only ever
 * written by rename (out.c), once every config ran. */
#ifndef RESUME_H
#define RESUME_H

#include <stdio.h>

struct resume;

/* Opens OUT.partial for the run described by stamp (one line, no '\n').
 * Rows kept from an earlier run are written to out and their configs' notes
 * given to note(ctx, TAG, LINE), in order, after the line that says the run
 * resumes; *done is the number of configs they cover (0 when there is
 * nothing to resume).  Dies (exit 1) when OUT.partial cannot be read or
 * written. */
struct resume *resume_open(const char *out_path, const char *stamp, FILE *out, long *done,
			   void (*note)(void *ctx, const char *tag, const char *line), void *ctx);
/* Where each row is written as well as to the output. */
FILE *resume_rows(struct resume *r);
/* A row of the current config that was not written: tag (one word) and its
 * line, kept with the config's rows. */
void resume_note(struct resume *r, const char *tag, const char *line);
/* Config number config_no (1-based, in run order) has all its rows written:
 * flushed and fsync'd, so a kill from now on keeps them. */
void resume_mark(struct resume *r, long config_no);
/* The output is complete (committed): the partial file is removed. */
void resume_finish(struct resume *r);

/* FNV-1a over a string, chained: for the stamp's digest of the inputs. */
unsigned long long resume_hash(unsigned long long h, const char *s);
#define RESUME_HASH_INIT 14695981039346656037ULL

#endif
