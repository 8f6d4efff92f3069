/* stream_read_plan.c - see stream_read_plan.h: specs, geometry and the
 * dispatch table of the streaming read.  Plain C11, no CUDA. */
#include "stream_read_plan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the dispatch: what stream_read_launch() (run-kernel's ceil_gbps) runs.
 * The first row whose max_bytes >= the read's size wins; the last row must
 * cover every size.  A spec is bench-ceiling's `variant:params` (e.g.
 * "bulk:warps=4;stages=4;stage_kb=32;ctas_sm=2;order=cyclic"): to make a
 * winner of `make bench-ceiling` the ceiling, put its spec in the row of
 * the sizes it wins (one line), or split by size, e.g.
 *	{64u << 20, "nc4"},
 *	{(size_t)-1, "bulk:warps=4;stages=4;stage_kb=32;ctas_sm=2;order=cyclic"},
 * tests/unit/test_stream_read_plan.c checks that every row parses. */
static const struct {
	size_t max_bytes;
	const char *spec;
} dispatch[] = {
	{16u << 20, "nc4"},
	{(size_t)-1, "ld:threads=256;unroll=16;tiles=1;ctas_sm=3;order=cyclic"},
};

int sr_dispatch_row(int i, size_t *max_bytes, const char **spec)
{
	if (i < 0 || i >= (int)(sizeof dispatch / sizeof dispatch[0]))
		return 0;
	*max_bytes = dispatch[i].max_bytes;
	*spec = dispatch[i].spec;
	return 1;
}

const char *sr_dispatch_spec(size_t bytes)
{
	size_t max;
	const char *spec;
	for (int i = 0; sr_dispatch_row(i, &max, &spec); i++)
		if (bytes <= max)
			return spec;
	return NULL;
}

/* ---- the default sweep of tools/bench-ceiling.c (its --list): today's
 * kernel, then each candidate family at the shapes docs/kernels/stream_read.md
 * predicts for.  Every spec must parse (the unit test checks). */
static const char *const sweep[] = {
	"nc4",
	/* ld: loads in flight x CTAs an SM, cyclic pieces vs one range a CTA */
	"ld:threads=256;unroll=4;tiles=1;ctas_sm=8;order=cyclic",
	"ld:threads=256;unroll=4;tiles=4;ctas_sm=8;order=cyclic",
	"ld:threads=256;unroll=8;tiles=1;ctas_sm=4;order=cyclic",
	"ld:threads=256;unroll=8;tiles=1;ctas_sm=4;order=blocked",
	"ld:threads=256;unroll=8;tiles=1;ctas_sm=8;order=cyclic",
	"ld:threads=256;unroll=16;tiles=1;ctas_sm=2;order=cyclic",
	"ld:threads=256;unroll=16;tiles=1;ctas_sm=2;order=blocked",
	"ld:threads=256;unroll=16;tiles=1;ctas_sm=3;order=cyclic",
	"ld:threads=256;unroll=16;tiles=1;ctas_sm=1;order=blocked",
	"ld:threads=512;unroll=16;tiles=1;ctas_sm=1;order=cyclic",
	"ld:threads=512;unroll=16;tiles=1;ctas_sm=1;order=blocked",
	/* ld: L2 hints and the bulk L2 prefetch ahead */
	"ld:threads=256;unroll=8;tiles=1;ctas_sm=4;order=cyclic;hint=pf256",
	"ld:threads=256;unroll=16;tiles=1;ctas_sm=2;order=cyclic;hint=pf256",
	"ld:threads=256;unroll=8;tiles=1;ctas_sm=4;order=cyclic;hint=evict_first",
	"ld:threads=256;unroll=8;tiles=1;ctas_sm=4;order=cyclic;prefetch=2",
	"ld:threads=256;unroll=16;tiles=1;ctas_sm=2;order=blocked;prefetch=1",
	/* cpasync: stages x stage size x CTAs an SM (3 x 32 KiB x 2: the attention kernels' shape) */
	"cpasync:threads=256;unroll=4;stages=4;ctas_sm=2;order=cyclic",
	"cpasync:threads=256;unroll=8;stages=3;ctas_sm=2;order=cyclic",
	"cpasync:threads=256;unroll=8;stages=3;ctas_sm=2;order=blocked",
	"cpasync:threads=256;unroll=8;stages=4;ctas_sm=1;order=cyclic",
	"cpasync:threads=256;unroll=8;stages=6;ctas_sm=1;order=cyclic",
	"cpasync:threads=256;unroll=4;stages=6;ctas_sm=2;order=cyclic",
	"cpasync:threads=128;unroll=8;stages=4;ctas_sm=3;order=cyclic",
	/* bulk: the copy engine, stages x stage size x CTAs an SM */
	"bulk:warps=4;stages=3;stage_kb=32;ctas_sm=2;order=cyclic",
	"bulk:warps=4;stages=3;stage_kb=32;ctas_sm=2;order=blocked",
	"bulk:warps=4;stages=4;stage_kb=16;ctas_sm=2;order=cyclic",
	"bulk:warps=4;stages=4;stage_kb=32;ctas_sm=1;order=cyclic",
	"bulk:warps=4;stages=6;stage_kb=32;ctas_sm=1;order=cyclic",
	"bulk:warps=4;stages=6;stage_kb=16;ctas_sm=2;order=cyclic",
	"bulk:warps=4;stages=8;stage_kb=16;ctas_sm=1;order=cyclic",
	"bulk:warps=2;stages=4;stage_kb=16;ctas_sm=3;order=cyclic",
	"bulk:warps=4;stages=4;stage_kb=8;ctas_sm=4;order=cyclic",
	"bulk:warps=8;stages=3;stage_kb=64;ctas_sm=1;order=cyclic",
	"bulk:warps=4;stages=2;stage_kb=64;ctas_sm=1;order=blocked",
};
int sr_sweep_count(void)
{
	return (int)(sizeof sweep / sizeof sweep[0]);
}

const char *sr_sweep_spec(int i)
{
	return i >= 0 && i < sr_sweep_count() ? sweep[i] : NULL;
}

/* ---- specs ---------------------------------------------------------------- */
static const char *const kind_names[] = {"nc4", "ld", "cpasync", "bulk"};
static const char *const order_names[] = {"cyclic", "blocked"};
static const char *const hint_names[] = {"none", "pf256", "evict_first"};
static const int ld_threads[] = SR_LD_THREADS, ld_unroll[] = SR_LD_UNROLL;
static const int cp_threads[] = SR_CP_THREADS, cp_unroll[] = SR_CP_UNROLL, cp_stages[] = SR_CP_STAGES;
#define COUNT(a) ((int)(sizeof(a) / sizeof((a)[0])))

const char *sr_kind_name(int kind)
{
	return kind >= 0 && kind < COUNT(kind_names) ? kind_names[kind] : "?";
}

static int name_index(const char *const *names, int n, const char *s)
{
	for (int i = 0; i < n; i++)
		if (strcmp(names[i], s) == 0)
			return i;
	return -1;
}

static int in_list(const int *list, int n, int x)
{
	for (int i = 0; i < n; i++)
		if (list[i] == x)
			return 1;
	return 0;
}

/* The keys: name, offset in struct sr_variant, kinds that have it (bit
 * mask), and the names of its values (NULL: an integer). */
#define K(kind) (1 << (kind))
static const struct key {
	const char *name;
	size_t off;
	int kinds;
	const char *const *names;
	int n_names;
} keys[] = {
	{"threads", offsetof(struct sr_variant, threads), K(SR_LD) | K(SR_CPASYNC), NULL, 0},
	{"unroll", offsetof(struct sr_variant, unroll), K(SR_LD) | K(SR_CPASYNC), NULL, 0},
	{"tiles", offsetof(struct sr_variant, tiles), K(SR_LD), NULL, 0},
	{"warps", offsetof(struct sr_variant, warps), K(SR_BULK), NULL, 0},
	{"stages", offsetof(struct sr_variant, stages), K(SR_CPASYNC) | K(SR_BULK), NULL, 0},
	{"stage_kb", offsetof(struct sr_variant, stage_kb), K(SR_BULK), NULL, 0},
	{"ctas_sm", offsetof(struct sr_variant, ctas_sm), K(SR_LD) | K(SR_CPASYNC) | K(SR_BULK), NULL, 0},
	{"order", offsetof(struct sr_variant, order), K(SR_LD) | K(SR_CPASYNC) | K(SR_BULK), order_names, 2},
	{"hint", offsetof(struct sr_variant, hint), K(SR_LD), hint_names, 3},
	{"prefetch", offsetof(struct sr_variant, prefetch), K(SR_LD), NULL, 0},
	{"max_ctas", offsetof(struct sr_variant, max_ctas), K(SR_LD) | K(SR_CPASYNC) | K(SR_BULK), NULL, 0},
};

static int *field(struct sr_variant *v, const struct key *k)
{
	return (int *)((char *)v + k->off);
}

static void defaults(struct sr_variant *v, int kind)
{
	memset(v, 0, sizeof *v);
	v->kind = kind;
	switch (kind) {
	case SR_LD:
		v->threads = 256, v->unroll = 8, v->tiles = 1, v->ctas_sm = 2;
		break;
	case SR_CPASYNC:
		v->threads = 256, v->unroll = 8, v->stages = 4, v->ctas_sm = 1;
		break;
	case SR_BULK:
		v->warps = 4, v->stages = 4, v->stage_kb = 32, v->ctas_sm = 2;
		break;
	}
}

/* NULL, or why v's values are not ones the kernels are built for */
static const char *validate(const struct sr_variant *v)
{
	switch (v->kind) {
	case SR_LD:
		if (!in_list(ld_threads, COUNT(ld_threads), v->threads))
			return "ld: threads must be 128, 256 or 512";
		if (!in_list(ld_unroll, COUNT(ld_unroll), v->unroll))
			return "ld: unroll must be 4, 8 or 16";
		if (v->tiles < 1 || v->tiles > SR_MAX_TILES)
			return "ld: tiles must be 1..64";
		if (v->prefetch < 0 || v->prefetch > SR_MAX_PREFETCH)
			return "ld: prefetch must be 0..8 (pieces ahead)";
		break;
	case SR_CPASYNC:
		if (!in_list(cp_threads, COUNT(cp_threads), v->threads))
			return "cpasync: threads must be 128 or 256";
		if (!in_list(cp_unroll, COUNT(cp_unroll), v->unroll))
			return "cpasync: unroll must be 4 or 8";
		if (!in_list(cp_stages, COUNT(cp_stages), v->stages))
			return "cpasync: stages must be 2, 3, 4 or 6";
		break;
	case SR_BULK:
		if (v->warps < 1 || v->warps > SR_BULK_MAX_WARPS)
			return "bulk: warps must be 1..8 (consumer warps)";
		if (v->stages < 2 || v->stages > SR_BULK_MAX_STAGES)
			return "bulk: stages must be 2..8";
		if (v->stage_kb < 1 || v->stage_kb > 96)
			return "bulk: stage_kb must be 1..96";
		break;
	}
	if (v->kind != SR_NC4 && (v->ctas_sm < 1 || v->ctas_sm > SR_MAX_CTAS_SM))
		return "ctas_sm must be 1..32";
	if (v->max_ctas < 0)
		return "max_ctas must be >= 0";
	return NULL;
}

const char *sr_parse(const char *spec, struct sr_variant *v)
{
	char buf[256], *p, *save = NULL;
	const char *colon = strchr(spec, ':');
	size_t kl = colon ? (size_t)(colon - spec) : strlen(spec);
	int kind;

	if (kl >= sizeof buf || strlen(spec) >= sizeof buf)
		return "spec too long";
	memcpy(buf, spec, kl);
	buf[kl] = 0;
	if ((kind = name_index(kind_names, COUNT(kind_names), buf)) < 0)
		return "unknown kind (nc4, ld, cpasync, bulk)";
	defaults(v, kind);
	if (!colon)
		return validate(v);
	strcpy(buf, colon + 1);
	for (p = strtok_r(buf, ";", &save); p; p = strtok_r(NULL, ";", &save)) {
		char *eq = strchr(p, '='), *end;
		const struct key *k = NULL;
		if (!eq)
			return "a key without =value";
		*eq = 0;
		for (int i = 0; i < COUNT(keys); i++)
			if (strcmp(keys[i].name, p) == 0 && (keys[i].kinds & K(kind)))
				k = &keys[i];
		if (!k)
			return "a key this kind does not have";
		if (k->names) {
			int x = name_index(k->names, k->n_names, eq + 1);
			if (x < 0)
				return k->names == order_names ? "order must be cyclic or blocked"
							       : "hint must be none, pf256 or evict_first";
			*field(v, k) = x;
		} else {
			long x = strtol(eq + 1, &end, 10);
			if (end == eq + 1 || *end || x < 0 || x > 1000000)
				return "a value that is not a small whole number";
			*field(v, k) = (int)x;
		}
	}
	return validate(v);
}

char *sr_format(const struct sr_variant *v, char *buf, size_t n)
{
	size_t len = (size_t)snprintf(buf, n, "%s", sr_kind_name(v->kind));
	char sep = ':';
	for (int i = 0; i < COUNT(keys) && len < n; i++) {
		const struct key *k = &keys[i];
		int x;
		if (!(k->kinds & K(v->kind)))
			continue;
		x = *field((struct sr_variant *)v, k);
		if (k->off == offsetof(struct sr_variant, max_ctas) && x == 0)
			continue;
		if (k->names)
			len += (size_t)snprintf(buf + len, n - len, "%c%s=%s", sep, k->name,
						x >= 0 && x < k->n_names ? k->names[x] : "?");
		else
			len += (size_t)snprintf(buf + len, n - len, "%c%s=%d", sep, k->name, x);
		sep = ';';
	}
	return buf;
}

/* ---- geometry ----------------------------------------------------------------- */
int sr_threads(const struct sr_variant *v)
{
	switch (v->kind) {
	case SR_NC4:
		return SR_NC4_THREADS;
	case SR_BULK:
		return 32 * (v->warps + 1);
	default:
		return v->threads;
	}
}

size_t sr_smem_bytes(const struct sr_variant *v)
{
	switch (v->kind) {
	case SR_CPASYNC:
		return (size_t)v->stages * v->threads * v->unroll * 16;
	case SR_BULK:
		return SR_BULK_BAR_BYTES + (size_t)v->stages * v->stage_kb * 1024;
	default:
		return 0;
	}
}

static unsigned piece_words(const struct sr_variant *v)
{
	switch (v->kind) {
	case SR_NC4:
		return SR_NC4_THREADS * SR_NC4_UNROLL;
	case SR_LD:
		return (unsigned)(v->threads * v->unroll * v->tiles);
	case SR_CPASYNC:
		return (unsigned)(v->threads * v->unroll);
	default:
		return (unsigned)v->stage_kb * 1024 / 16;
	}
}

const char *sr_plan(const struct sr_variant *v, size_t bytes, int sms, int resident, struct sr_geom *g)
{
	const char *why = validate(v);
	unsigned long long grid;
	int per_sm;

	memset(g, 0, sizeof *g);
	if (why)
		return why;
	if (bytes == 0)
		return "nothing to read";
	if (sms < 1)
		return "no SMs";
	if (v->kind == SR_NC4) {
		per_sm = 2048 / SR_NC4_THREADS;
	} else {
		if (resident < 1)
			return "no CTA of it fits on an SM (shared memory or registers)";
		per_sm = v->ctas_sm < resident ? v->ctas_sm : resident;
	}
	g->n16 = bytes / 16;
	g->ntail = (int)(bytes % 16);
	g->piece16 = piece_words(v);
	g->npieces = (g->n16 + g->piece16 - 1) / g->piece16;
	g->order = v->kind == SR_NC4 ? SR_CYCLIC : v->order;
	g->stages = v->stages;
	g->prefetch = v->kind == SR_LD ? v->prefetch : 0;
	grid = (unsigned long long)sms * per_sm;
	if (v->max_ctas > 0 && grid > (unsigned long long)v->max_ctas)
		grid = (unsigned long long)v->max_ctas;
	if (grid > g->npieces)
		grid = g->npieces;
	g->grid = grid < 1 ? 1 : (unsigned)grid;
	return NULL;
}
