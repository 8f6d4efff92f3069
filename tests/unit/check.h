/* check.h - the unit tests' one check: prints "ok NAME" or "FAIL NAME: why"
 * and counts both, for the binary's closing "SUITE: N passed, N failed"
 * line (tests/run_tests.sh reads it).  Include once per test binary. */
#ifndef CHECK_H
#define CHECK_H

#include <stdio.h>

static int failed, passed;

#define CHECK(name, cond, ...)                   \
	do {                                     \
		if (cond) {                      \
			passed++;                \
			printf("ok %s\n", name); \
		} else {                         \
			failed++;                \
			printf("FAIL %s: ", name); \
			printf(__VA_ARGS__);     \
			printf("\n");            \
		}                                \
	} while (0)

#endif
