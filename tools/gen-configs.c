/* gen-configs - write benchmark config rows.
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
/* One config without n_seqs, chunk_size, d_head, dtype (those multiply in).
 * kv = 0: n_kv_heads = n_heads. */
struct tmpl {
	long heads, kv, chunks, groups, gchunks, suffix;
};

/* A few small shapes a CPU runs in seconds, odd sizes on purpose, and one of
 * each workload form: GQA, MQA, a second tree level, suffixes with a
 * partial last chunk. */
static const struct tmpl quick_rows[] = {
	{ 1, 0, 1, 1, 0, 0 },  { 2, 0, 3, 1, 0, 0 },  { 4, 0, 4, 1, 0, 0 },  { 4, 0, 8, 1, 0, 0 },
	{ 8, 0, 8, 1, 0, 0 },  { 4, 0, 16, 1, 0, 0 }, { 16, 0, 16, 1, 0, 0 }, { 8, 2, 4, 1, 0, 0 },
	{ 4, 1, 4, 1, 0, 37 }, { 8, 2, 2, 2, 2, 64 }, { 2, 2, 1, 1, 0, 130 },
};
/* GQA and MQA: (32 or 64 query heads, 8/4/1 K/V heads) x prefix 1K-32K. */
static const long gqa_heads[][2] = { { 32, 8 }, { 32, 4 }, { 32, 1 }, { 64, 8 } };
static const long gqa_chunks[] = { 16, 64, 256, 512 };
/* Unique suffixes: prefix 2K/8K/32K x suffix 0..4096, 32 heads on 8. */
static const long suffix_chunks[] = { 32, 128, 512 };
static const long suffix_lens[] = { 0, 63, 256, 1024, 4096 };
/* Sharing against no sharing (ChunkAttention's headline): 32 heads, prefix
 * 1K/4K/16K, as n_seqs grows. */
static const long share_chunks[] = { 16, 64, 256 };
/* A tree: 4K common, then 4 or 16 groups sharing 1K each, suffix 128. */
static const struct tmpl tree_rows[] = { { 32, 8, 64, 4, 16, 128 }, { 32, 8, 64, 16, 16, 128 } };

#define COUNT(a) ((int)(sizeof(a) / sizeof *(a)))

/* The rows of a preset and its default n_seqs list. */
static struct tmpl *preset_rows(const char *name, int *n, const char **seqs)
{
	struct tmpl *t = xcalloc(64, sizeof *t);
	*n = 0;
	*seqs = "32";
	if (strcmp(name, "seed") == 0) {
		for (int i = 0; i < COUNT(seed_pairs); i++)
			t[(*n)++] = (struct tmpl){ seed_pairs[i][0], 0, seed_pairs[i][1], 1, 0, 0 };
	} else if (strcmp(name, "quick") == 0) {
		memcpy(t, quick_rows, sizeof quick_rows);
		*n = COUNT(quick_rows);
	} else if (strcmp(name, "gqa") == 0) {
		*seqs = "8,32,128";
		for (int h = 0; h < COUNT(gqa_heads); h++)
			for (int c = 0; c < COUNT(gqa_chunks); c++)
				t[(*n)++] = (struct tmpl){ gqa_heads[h][0], gqa_heads[h][1], gqa_chunks[c], 1, 0, 0 };
	} else if (strcmp(name, "suffix") == 0) {
		*seqs = "16,64,128";
		for (int c = 0; c < COUNT(suffix_chunks); c++)
			for (int l = 0; l < COUNT(suffix_lens); l++)
				t[(*n)++] = (struct tmpl){ 32, 8, suffix_chunks[c], 1, 0, suffix_lens[l] };
	} else if (strcmp(name, "share") == 0) {
		*seqs = "1,4,16,64,128";
		for (int c = 0; c < COUNT(share_chunks); c++)
			t[(*n)++] = (struct tmpl){ 32, 0, share_chunks[c], 1, 0, 0 };
	} else if (strcmp(name, "tree") == 0) {
		*seqs = "16,64,128";
		memcpy(t, tree_rows, sizeof tree_rows);
		*n = COUNT(tree_rows);
	} else {
		die_usage("--preset '%s': expected seed, quick, gqa, suffix, tree or share", name);
	}
	return t;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: gen-configs [--preset NAME] [--pairs HxC,...] [--n-heads LIST]\n"
		"                   [--n-chunks LIST] [--n-seqs LIST] [--n-kv-heads LIST]\n"
		"                   [--n-groups LIST] [--group-chunks LIST] [--suffix-len LIST]\n"
		"                   [--chunk-size LIST] [--d-head LIST] [--dtype bf16,fp16] [-o FILE]\n"
		"Writes config rows n_seqs,n_heads,n_kv_heads,n_chunks,n_groups,group_chunks,\n"
		"suffix_len,chunk_size,d_head,dtype,blocks.\n"
		"LIST: 4,16,64 | 4..256 (doubling) | 1..9+2 (step 2), combinable: 1,4..16\n"
		"  --preset seed    the course project's 18 (n_heads, n_chunks) pairs\n"
		"  --preset quick   small shapes of every form a CPU runs in seconds (default)\n"
		"  --preset gqa     32/64 query heads on 8/4/1 K/V heads, prefix 1K-32K tokens\n"
		"                   (n_seqs 8,32,128 unless --n-seqs)\n"
		"  --preset suffix  prefix 2K/8K/32K, suffix_len 0/63/256/1024/4096, 32 on 8 heads\n"
		"                   (n_seqs 16,64,128 unless --n-seqs)\n"
		"  --preset tree    4K common, 4 or 16 groups sharing 1K each, suffix 128\n"
		"                   (n_seqs 16,64,128 unless --n-seqs)\n"
		"  --preset share   32 heads sharing a 1K/4K/16K prefix (single-prefix form)\n"
		"                   (n_seqs 1,4,16,64,128 unless --n-seqs)\n"
		"  --pairs 4x4,64x128  explicit (n_heads x n_chunks) pairs\n"
		"A column given as a list replaces the preset's value, each value in turn.\n"
		"Defaults: n_seqs 32, n_kv_heads = n_heads, n_groups 1, group_chunks 0,\n"
		"suffix_len 0, chunk_size 64, d_head 128, dtype bf16.\n"
		"Numbers are decimal (010 is ten); list items are never empty (4,,8 is an error).\n"
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

/* The (n_heads, n_chunks) sources, exactly one: --n-heads x --n-chunks,
 * --pairs, or a preset (quick by default). */
static struct tmpl *base_rows(const char *preset, const char *pairs_arg, struct list heads,
			      struct list chunks, int *n, const char **seqs)
{
	struct tmpl *t;
	*n = 0;
	*seqs = "32";
	if ((preset != NULL) + (pairs_arg != NULL) + (heads.n || chunks.n ? 1 : 0) > 1)
		die_usage("give one of --preset, --pairs, or --n-heads with --n-chunks");
	if (heads.n || chunks.n) {
		if (!heads.n || !chunks.n)
			die_usage("--n-heads and --n-chunks go together");
		t = xcalloc((size_t)heads.n * chunks.n, sizeof *t);
		for (int i = 0; i < heads.n; i++)
			for (int j = 0; j < chunks.n; j++)
				t[(*n)++] = (struct tmpl){ heads.v[i], 0, chunks.v[j], 1, 0, 0 };
		return t;
	}
	if (!pairs_arg)
		return preset_rows(preset ? preset : "quick", n, seqs);
	char *copy = xstrdup(pairs_arg), *save = NULL;
	t = xcalloc(strlen(pairs_arg) / 2 + 1, sizeof *t);
	for (char *p = strtok_r(copy, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
		char *x = strchr(p, 'x');
		const char *why = NULL;
		if (!x)
			die_usage("--pairs '%s': expected HEADSxCHUNKS, e.g. 64x128", p);
		*x = '\0';
		t[*n] = (struct tmpl){ 0, 0, 0, 1, 0, 0 };
		if ((why = parse_long(p, 1, 1 << 16, &t[*n].heads)) ||
		    (why = parse_long(x + 1, 1, 1 << 20, &t[*n].chunks)))
			die_usage("--pairs '%s': %s", pairs_arg, why);
		(*n)++;
	}
	free(copy);
	if (!*n)
		die_usage("--pairs: empty list");
	return t;
}

/* Column lists given on the command line (n = 0: not given). */
struct overrides {
	struct list kv, groups, gchunks, suffix;
};

/* Writes every row of template t with one n_seqs, chunk_size, d_head,
 * dtype: the cartesian product of the overriding lists. */
static void emit(FILE *f, const struct tmpl *t, const struct overrides *o, long seqs, long cs,
		 long dh, enum attn_dtype dt)
{
	struct list kv = o->kv.n ? o->kv : one(t->kv), gr = o->groups.n ? o->groups : one(t->groups);
	struct list gc = o->gchunks.n ? o->gchunks : one(t->gchunks);
	struct list sf = o->suffix.n ? o->suffix : one(t->suffix);

	for (int a = 0; a < kv.n; a++)
		for (int b = 0; b < gr.n; b++)
			for (int c = 0; c < gc.n; c++)
				for (int d = 0; d < sf.n; d++) {
					long k = kv.v[a] ? kv.v[a] : t->heads, g = gr.v[b];
					if (t->heads % k)
						die_usage("n_heads %ld is not a multiple of n_kv_heads %ld", t->heads, k);
					if (seqs % g)
						die_usage("n_seqs %ld is not a multiple of n_groups %ld", seqs, g);
					if (gc.v[c] > 0 && g < 2)
						die_usage("group_chunks %ld needs n_groups >= 2", gc.v[c]);
					fprintf(f, "%ld,%ld,%ld,%ld,%ld,%ld,%ld,%ld,%ld,%s,%ld\n", seqs, t->heads, k,
						t->chunks, g, gc.v[c], sf.v[d], cs, dh, dtype_name(dt),
						t->heads * t->chunks);
				}
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "preset", required_argument, 0, 'P' },     { "pairs", required_argument, 0, 'p' },
		{ "n-heads", required_argument, 0, 'H' },    { "n-chunks", required_argument, 0, 'C' },
		{ "n-seqs", required_argument, 0, 's' },     { "chunk-size", required_argument, 0, 'c' },
		{ "d-head", required_argument, 0, 'd' },     { "dtype", required_argument, 0, 't' },
		{ "n-kv-heads", required_argument, 0, 'K' }, { "n-groups", required_argument, 0, 'G' },
		{ "group-chunks", required_argument, 0, 'g' }, { "suffix-len", required_argument, 0, 'S' },
		{ "output", required_argument, 0, 'o' },     { "help", no_argument, 0, 'h' },
		{ 0, 0, 0, 0 },
	};
	const char *preset = NULL, *pairs_arg = NULL, *dtypes = "bf16", *output = NULL, *seqs_arg = NULL;
	struct list heads = { 0 }, chunks = { 0 }, seqs, csz = one(64), dh = one(128);
	struct overrides ov = { { 0 }, { 0 }, { 0 }, { 0 } };
	int opt;
	enum attn_dtype dt[8];
	int ndt = 0;

	err_init(argv[0]);
	while ((opt = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'P': preset = optarg; break;
		case 'p': pairs_arg = optarg; break;
		case 'H': heads = int_list("n-heads", optarg, 1, 1 << 16); break;
		case 'C': chunks = int_list("n-chunks", optarg, 1, 1 << 20); break;
		case 's': seqs_arg = optarg; (void)int_list("n-seqs", optarg, 1, 1 << 16); break;
		case 'c': csz = int_list("chunk-size", optarg, 1, 1 << 16); break;
		case 'd': dh = int_list("d-head", optarg, 1, 1 << 12); break;
		case 't': dtypes = optarg; break;
		case 'K': ov.kv = int_list("n-kv-heads", optarg, 1, 1 << 16); break;
		case 'G': ov.groups = int_list("n-groups", optarg, 1, 1 << 16); break;
		case 'g': ov.gchunks = int_list("group-chunks", optarg, 0, 1 << 20); break;
		case 'S': ov.suffix = int_list("suffix-len", optarg, 0, 1 << 26); break;
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
			if (dtype_parse(t, &dt[ndt < 8 ? ndt : 7]) != 0)
				die_usage("--dtype '%s': expected bf16 or fp16", t);
			if (ndt == 8)
				die_usage("--dtype '%s': more than 8 entries", dtypes);
			ndt++;
		}
		free(copy);
		if (!ndt)
			die_usage("--dtype: empty list");
	}

	int nrows;
	const char *preset_seqs;
	struct tmpl *rows = base_rows(preset, pairs_arg, heads, chunks, &nrows, &preset_seqs);
	seqs = int_list("n-seqs", seqs_arg ? seqs_arg : preset_seqs, 1, 1 << 16);

	/* every row is checked before the first is written: a bad combination
	 * leaves no output */
	FILE *f = tmpfile();
	if (!f)
		die(EXIT_INPUT, "temporary file: cannot create");
	for (int t = 0; t < ndt; t++)
		for (int s = 0; s < seqs.n; s++)
			for (int p = 0; p < nrows; p++)
				for (int c = 0; c < csz.n; c++)
					for (int d = 0; d < dh.n; d++)
						emit(f, &rows[p], &ov, seqs.v[s], csz.v[c], dh.v[d], dt[t]);
	FILE *out = out_open(output);
	fputs("n_seqs,n_heads,n_kv_heads,n_chunks,n_groups,group_chunks,suffix_len,chunk_size,d_head,"
	      "dtype,blocks\n", out);
	rewind(f);
	for (int ch; (ch = getc(f)) != EOF;)
		putc(ch, out);
	fclose(f);
	out_commit();
	return 0;
}
