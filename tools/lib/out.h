/* out.h - where a tool's CSV goes.  With -o FILE the rows go to a temp file
 * beside FILE that is renamed over it only when the tool completes (exit 0,
 * or run-kernel's exit 3 with its validated rows), so an error, Ctrl-C or
 * kill never leaves a partial result (and never clobbers an old one).
 * Without -o they go to stdout, which is flushed and checked at the end so a
 * full disk or closed pipe is an error, not silence. */
#ifndef OUT_H
#define OUT_H

#include <stdio.h>

/* Opens the output: path NULL or "-" means stdout. */
FILE *out_open(const char *path);
/* Flushes and checks; renames the temp file into place.  Dies on error.
 * Then out_open may open the next output (one is pending at a time). */
void out_commit(void);
/* Refuses now (dies as out_open would) a path out_open would refuse: for
 * an output written only at the end of a run, after another one. */
void out_check(const char *path);
/* Removes PATH when it is a regular file (an output with nothing to say
 * this run); a link, FIFO or device named there is the user's and stays,
 * as out_open writes through those.  Dies when the removal fails. */
void out_remove(const char *path);
/* a and b name one file: the same string, the same folder and name (`x`
 * and `./x`, the file need not exist), or the same device and inode (a
 * link to it) */
int out_same_file(const char *a, const char *b);

#endif
