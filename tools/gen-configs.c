/* gen-configs - write benchmark config rows (spec.md sections 2 and 4).
 *
 *   gen-configs --preset seed --n-seqs 32,64 | run-kernel -k tk | agg-blocks
 *
 * Every column takes a list ("4,16,64"), a doubling range ("4..256") or an
 * additive range ("1..9+2").  (n_heads, n_chunks) come from --pairs, a preset,
 * or the cartesian product of --n-heads and --n-chunks; every other column
 * multiplies in.  All values are checked before the first row is written.
 */
#include "lib/err.h"
#include "lib/metrics.h"
#include "lib/num.h"
#include "lib/out.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The course project's 18 (n_heads, n_chunks) pairs: 16 ... 65,536 blocks. */
static const long seed_pairs[][2] = {
	{ 4, 4 },    { 4, 8 },     { 4, 16 },   { 4, 32 },    { 4, 64 },    { 16, 16 },
	{ 32, 8 },   { 32, 16 },   { 8, 64 },   { 64, 16 },   { 16, 64 },   { 64, 64 },
	{ 128, 64 }, { 64, 128 },  { 128, 128 }, { 256, 128 }, { 128, 256 }, { 256, 256 },
};
/* A few small shapes a CPU runs in seconds; odd sizes on purpose. */
static const long quick_pairs[][2] = {
	{ 1, 1 }, { 2, 3 }, { 4, 4 }, { 4, 8 }, { 8, 8 }, { 4, 16 }, { 16, 16 },
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: gen-configs [--preset seed|quick] [--pairs HxC,...] [--n-heads LIST]\n"
		"                   [--n-chunks LIST] [--n-seqs LIST] [--chunk-size LIST]\n"
		"                   [--d-head LIST] [--dtype bf16,fp16] [-o FILE]\n"
		"Writes config rows n_seqs,n_heads,n_chunks,chunk_size,d_head,dtype,blocks.\n"
		"LIST: 4,16,64 | 4..256 (doubling) | 1..9+2 (step 2), combinable: 1,4..16\n"
		"  --preset seed   the course project's 18 (n_heads, n_chunks) pairs\n"
		"  --preset quick  7 small pairs a CPU runs in seconds (the default)\n"
		"  --pairs 4x4,64x128  explicit (n_heads x n_chunks) pairs\n"
		"Defaults: n_seqs 32, chunk_size 64, d_head 128, dtype bf16.\n"
		"Exit: 0 ok, 1 error, 2 usage.\n");
}

struct list {
	long *v;
	int n;
};

static struct list int_list(const char *opt, const char *arg, long lo, long hi)
{
	struct list l;
	const char *why;
	l.n = parse_int_list(arg, lo, hi, &l.v, &why);
	if (l.n < 0)
		die_usage("--%s '%s': %s (allowed %ld..%ld)", opt, arg, why, lo, hi);
	return l;
}

static struct list one(long v)
{
	struct list l = { xmalloc(sizeof(long)), 1 };
	l.v[0] = v;
	return l;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "preset", required_argument, 0, 'P' },   { "pairs", required_argument, 0, 'p' },
		{ "n-heads", required_argument, 0, 'H' },  { "n-chunks", required_argument, 0, 'C' },
		{ "n-seqs", required_argument, 0, 's' },   { "chunk-size", required_argument, 0, 'c' },
		{ "d-head", required_argument, 0, 'd' },   { "dtype", required_argument, 0, 't' },
		{ "output", required_argument, 0, 'o' },   { "help", no_argument, 0, 'h' },
		{ 0, 0, 0, 0 },
	};
	const char *preset = NULL, *pairs_arg = NULL, *dtypes = "bf16", *output = NULL;
	struct list heads = { 0 }, chunks = { 0 }, seqs = one(32), csz = one(64), dh = one(128);
	long (*pairs)[2] = NULL;
	int npairs = 0, opt;
	enum attn_dtype dt[8];
	int ndt = 0;

	err_init(argv[0]);
	while ((opt = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'P': preset = optarg; break;
		case 'p': pairs_arg = optarg; break;
		case 'H': heads = int_list("n-heads", optarg, 1, 1 << 16); break;
		case 'C': chunks = int_list("n-chunks", optarg, 1, 1 << 20); break;
		case 's': seqs = int_list("n-seqs", optarg, 1, 1 << 16); break;
		case 'c': csz = int_list("chunk-size", optarg, 1, 1 << 16); break;
		case 'd': dh = int_list("d-head", optarg, 1, 1 << 12); break;
		case 't': dtypes = optarg; break;
		case 'o': output = optarg; break;
		case 'h': usage(stdout); return 0;
		default: die_usage_hint();
		}
	}
	if (optind < argc)
		die_usage("unexpected argument '%s'", argv[optind]);

	/* dtypes */
	{
		char *copy = xstrdup(dtypes), *save = NULL;
		for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
			if (ndt == 8 || dtype_parse(t, &dt[ndt]) != 0)
				die_usage("--dtype '%s': expected bf16 or fp16", t);
			ndt++;
		}
		free(copy);
		if (!ndt)
			die_usage("--dtype: empty list");
	}

	/* (n_heads, n_chunks) pairs: exactly one source */
	if ((preset != NULL) + (pairs_arg != NULL) + (heads.n || chunks.n ? 1 : 0) > 1)
		die_usage("give one of --preset, --pairs, or --n-heads with --n-chunks");
	if (heads.n || chunks.n) {
		if (!heads.n || !chunks.n)
			die_usage("--n-heads and --n-chunks go together");
		pairs = xcalloc((size_t)heads.n * chunks.n, sizeof *pairs);
		for (int i = 0; i < heads.n; i++)
			for (int j = 0; j < chunks.n; j++) {
				pairs[npairs][0] = heads.v[i];
				pairs[npairs++][1] = chunks.v[j];
			}
	} else if (pairs_arg) {
		char *copy = xstrdup(pairs_arg), *save = NULL;
		pairs = xcalloc(strlen(pairs_arg) / 2 + 1, sizeof *pairs);
		for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
			char *x = strchr(t, 'x');
			const char *why = NULL;
			if (!x)
				die_usage("--pairs '%s': expected HEADSxCHUNKS, e.g. 64x128", t);
			*x = '\0';
			if ((why = parse_long(t, 1, 1 << 16, &pairs[npairs][0])) ||
			    (why = parse_long(x + 1, 1, 1 << 20, &pairs[npairs][1])))
				die_usage("--pairs '%s': %s", pairs_arg, why);
			npairs++;
		}
		free(copy);
		if (!npairs)
			die_usage("--pairs: empty list");
	} else {
		int seed = preset && strcmp(preset, "seed") == 0;
		if (preset && !seed && strcmp(preset, "quick") != 0)
			die_usage("--preset '%s': expected seed or quick", preset);
		npairs = seed ? 18 : 7;
		pairs = xcalloc((size_t)npairs, sizeof *pairs);
		memcpy(pairs, seed ? (const void *)seed_pairs : (const void *)quick_pairs,
		       (size_t)npairs * sizeof *pairs);
	}

	FILE *f = out_open(output);
	fputs("n_seqs,n_heads,n_chunks,chunk_size,d_head,dtype,blocks\n", f);
	for (int t = 0; t < ndt; t++)
		for (int s = 0; s < seqs.n; s++)
			for (int p = 0; p < npairs; p++)
				for (int c = 0; c < csz.n; c++)
					for (int d = 0; d < dh.n; d++)
						fprintf(f, "%ld,%ld,%ld,%ld,%ld,%s,%ld\n", seqs.v[s], pairs[p][0],
							pairs[p][1], csz.v[c], dh.v[d], dtype_name(dt[t]),
							pairs[p][0] * pairs[p][1]);
	out_commit();
	return 0;
}
