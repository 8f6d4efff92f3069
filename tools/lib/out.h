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

#endif
