/* test_prefix_stream_plan.c - the planner of prefix_stream (kernels/prefix_stream_plan.c)
 * on the CPU: the plans of representative shapes on an H100/H200-like device
 * model, and the invariants the kernels rely on over a grid of shapes, device
 * models and every registry variant's options:
 *   - 1 <= splits <= n_chunks, and every chunk owned by exactly one split
 *     (PS_SPLIT_BEGIN, as the kernels use it); the merges' row slices
 *     partition the query rows;
 *   - a global merge's grid is co-resident (its meet waits for all S CTAs);
 *   - clusters: 2 <= S <= the device's (portable) cluster size, and they fit
 *     (all H with a margin, unless forced);
 *   - spread, PDL, cooperative launch, threads, shared memory and workspace
 *     consistent with each other and with the device;
 *   - each variant gets its path or a reason, never a silent fallback;
 *   - GQA/MQA (n_kv_heads < n_heads, one shared prefix): the grid is per K/V
 *     head and a K/V head's tiles hold its n_seqs x g query rows, so a GQA
 *     shape plans exactly as the MHA shape of n_seqs x g sequences on
 *     n_kv_heads heads; more than 256 rows are refused with a reason.
 * Prints "ok NAME" / "FAIL NAME: why"; last line "plan: N passed, N failed". */
#include "../../kernels/prefix_stream_plan.h"

#include <stdio.h>
#include <string.h>

#include "check.h"

/* --- device models ------------------------------------------------------ */
/* H100 SXM / H200: 132 SMs, 228 KiB shared memory per SM (227 per CTA),
 * clusters of up to 8 CTAs inside one GPC; this model's GPCs hold 18, 18 and
 * six times 16 SMs.  The occupancy model: 2048 threads, 64 Ki registers (the
 * kernels use up to 128 per thread: __launch_bounds__(512)) and the shared
 * memory (+ 1 KiB reserved per CTA) of an SM. */
struct model {
	const char *name;
	struct ps_device d;
	int gpc[16], n_gpc;
};

static const struct model models[] = {
	{"h100", {9, 132, 233472, 232448, 8, 1, 1}, {18, 18, 16, 16, 16, 16, 16, 16}, 8},
	{"h100-sm90-image", {9, 132, 233472, 232448, 8, 0, 0}, {18, 18, 16, 16, 16, 16, 16, 16}, 8},
	{"h100-no-encoder", {9, 132, 233472, 232448, 8, 1, 0}, {18, 18, 16, 16, 16, 16, 16, 16}, 8},
	{"h100-no-clusters", {9, 132, 233472, 232448, 0, 1, 1}, {18, 18, 16, 16, 16, 16, 16, 16}, 8},
	{"small-hopper", {9, 16, 233472, 232448, 8, 1, 1}, {8, 8}, 2},
};
#define N_MODELS ((int)(sizeof models / sizeof models[0]))

static int ctas_per_sm(const struct model *m, int threads, size_t smem)
{
	int k = 2048 / threads;
	const int by_regs = 65536 / (threads * 128), by_smem = (int)(m->d.smem_per_sm / (smem + 1024));
	if (by_regs < k)
		k = by_regs;
	if (by_smem < k)
		k = by_smem;
	return k;
}

/* what ps_occupancy_of() asks CUDA, from the model */
static struct ps_occupancy occupancy(const struct model *m, const struct ps_plan *pl)
{
	struct ps_occupancy o;
	memset(&o, 0, sizeof o);
	o.ctas_per_sm = ctas_per_sm(m, pl->threads, pl->smem);
	for (int spread = 0; spread < 2; ++spread) {
		const int k = ctas_per_sm(m, pl->threads, ps_plan_dyn_smem(pl, spread));
		for (int c = 2; c <= m->d.max_cluster && c <= PS_MAX_CLUSTER; ++c)
			for (int g = 0; g < m->n_gpc; ++g)
				o.clusters[spread][c] += m->gpc[g] * k / c;
	}
	return o;
}

static struct attn_shape shape(int n_seqs, int H, int C, enum attn_dtype dt)
{
	struct attn_shape s = {n_seqs, H, H, C, 1, 0, 0, 64, 128, dt};
	return s;
}

/* GQA/MQA: H query heads on KVH K/V heads, one shared prefix */
static struct attn_shape gqa_shape(int n_seqs, int H, int KVH, int C, enum attn_dtype dt)
{
	struct attn_shape s = {n_seqs, H, KVH, C, 1, 0, 0, 64, 128, dt};
	return s;
}

/* the whole plan, as the launcher makes it; NULL or the reason */
static const char *plan(const struct attn_shape *s, const struct model *m, const struct ps_opts *o,
			struct ps_plan *pl, struct ps_occupancy *occ)
{
	const char *why = ps_plan_check(s, &m->d);
	memset(pl, 0, sizeof *pl);
	memset(occ, 0, sizeof *occ);
	/* more than 256 rows per K/V head: batches of the same launch */
	if (!why)
		why = ps_plan_kernel(s, &m->d, o, pl);
	if (!why) {
		*occ = occupancy(m, pl);
		why = ps_plan_grid(s, &m->d, o, occ, pl);
	}
	return why;
}

/* --- the registry's variants (kernels/prefix_stream.cu) ------------------ */
static const struct {
	const char *name;
	struct ps_opts o;
} variants[] = {
	{"prefix_stream", PS_OPTS_DEFAULT},
	{"prefix_stream_mma", {PS_PATH_MMA, PS_MERGE_AUTO, 0, PS_PDL_AUTO, 0}},
	{"prefix_stream_cpasync", {PS_PATH_WGMMA_CPASYNC, PS_MERGE_AUTO, 0, PS_PDL_AUTO, 0}},
	{"prefix_stream_kv_early", {PS_PATH_AUTO, PS_MERGE_AUTO, 0, 2, 0}},
	{"prefix_stream_global_merge", {PS_PATH_AUTO, PS_MERGE_GLOBAL, 0, PS_PDL_AUTO, 0}},
	{"prefix_stream_cluster_merge", {PS_PATH_AUTO, PS_MERGE_CLUSTER, 0, PS_PDL_AUTO, 0}},
	{"prefix_stream_s1", {PS_PATH_AUTO, PS_MERGE_AUTO, 1, PS_PDL_AUTO, 0}},
	{"prefix_stream_s2", {PS_PATH_AUTO, PS_MERGE_AUTO, 2, PS_PDL_AUTO, 0}},
	{"prefix_stream_s4", {PS_PATH_AUTO, PS_MERGE_AUTO, 4, PS_PDL_AUTO, 0}},
	{"prefix_stream_s8", {PS_PATH_AUTO, PS_MERGE_AUTO, 8, PS_PDL_AUTO, 0}},
	{"prefix_stream_rows2", {PS_PATH_AUTO, PS_MERGE_AUTO, 0, PS_PDL_AUTO, 1}},
	{"prefix_stream_4wg", {PS_PATH_AUTO, PS_MERGE_AUTO, 0, PS_PDL_AUTO, -1}},
	{"prefix_stream_pingpong", {PS_PATH_AUTO, PS_MERGE_AUTO, 0, PS_PDL_AUTO, 2}},
};
#define N_VARIANTS ((int)(sizeof variants / sizeof variants[0]))

/* --- the shapes' check ---------------------------------------------------- */
static void test_check(void)
{
	const struct model *h = &models[0];
	struct attn_shape s = shape(32, 8, 4, ATTN_BF16);
	CHECK("check: single prefix bf16 runs", ps_plan_check(&s, &h->d) == NULL, "refused");
	s.dtype = ATTN_FP16;
	CHECK("check: fp16 runs", ps_plan_check(&s, &h->d) == NULL, "refused");
	/* GQA/MQA with one shared prefix: n_seqs x g <= 256 query rows */
	struct {
		const char *name;
		struct attn_shape s;
	} good[] = {
		{"GQA 8 heads on 2 (g 4, 128 rows)", {32, 8, 2, 4, 1, 0, 0, 64, 128, ATTN_BF16}},
		{"GQA fp16", {32, 8, 2, 4, 1, 0, 0, 64, 128, ATTN_FP16}},
		{"GQA g 3 (12 heads on 4)", {7, 12, 4, 3, 1, 0, 0, 64, 128, ATTN_BF16}},
		{"MQA 32 heads on 1, 8 seqs (256 rows)", {8, 32, 1, 16, 1, 0, 0, 64, 128, ATTN_BF16}},
		{"GQA 128 seqs x g 2 (256 rows)", {128, 8, 4, 2, 1, 0, 0, 64, 128, ATTN_BF16}},
		{"GQA 64 seqs x g 4 (256 rows)", {64, 32, 8, 64, 1, 0, 0, 64, 128, ATTN_BF16}},
		{"GQA with n_groups > 1 but no group chunks", {32, 8, 2, 4, 4, 0, 0, 64, 128, ATTN_BF16}},
		/* more than 256 rows: batches of whole sequences */
		{"n_seqs 257 (batches of 129 and 128)", {257, 8, 8, 4, 1, 0, 0, 64, 128, ATTN_BF16}},
		{"GQA 129 seqs x g 2 (258 rows)", {129, 8, 4, 4, 1, 0, 0, 64, 128, ATTN_BF16}},
		{"GQA 65 seqs x g 4 (260 rows)", {65, 32, 8, 4, 1, 0, 0, 64, 128, ATTN_BF16}},
		{"MQA 9 seqs x 32 heads (288 rows)", {9, 32, 1, 4, 1, 0, 0, 64, 128, ATTN_BF16}},
		{"MQA 256 seqs x 2 heads", {256, 2, 1, 4, 1, 0, 0, 64, 128, ATTN_BF16}},
		{"MQA 1 seq x 256 heads (256 rows, one sequence)", {1, 256, 1, 4, 1, 0, 0, 64, 128, ATTN_BF16}},
		/* v13: every workload form (the prefix here, the levels after it
		 * on split_decode's grid) */
		{"a suffix", {32, 8, 8, 4, 1, 0, 5, 64, 128, ATTN_BF16}},
		{"group chunks", {32, 8, 8, 4, 2, 1, 0, 64, 128, ATTN_BF16}},
		{"GQA with a suffix", {4, 8, 2, 4, 1, 0, 1, 64, 128, ATTN_BF16}},
		{"GQA with group chunks and a suffix", {4, 8, 2, 4, 2, 2, 63, 64, 128, ATTN_BF16}},
		{"MQA 300 seqs with a suffix (batches of the prefix)", {300, 2, 1, 4, 3, 1, 130, 64, 128, ATTN_BF16}},
	};
	for (int i = 0; i < (int)(sizeof good / sizeof good[0]); ++i) {
		char name[96];
		snprintf(name, sizeof name, "check: %s runs", good[i].name);
		const char *why = ps_plan_check(&good[i].s, &h->d);
		CHECK(name, why == NULL, "refused: %s", why);
	}
	struct {
		const char *name;
		struct attn_shape s;
	} bad[] = {
		{"chunk_size 32", {32, 8, 8, 4, 1, 0, 0, 32, 128, ATTN_BF16}},
		{"d_head 64", {32, 8, 8, 4, 1, 0, 0, 64, 64, ATTN_BF16}},
		{"n_seqs 0", {0, 8, 8, 4, 1, 0, 0, 64, 128, ATTN_BF16}},
		{"n_chunks 0", {32, 8, 8, 0, 1, 0, 0, 64, 128, ATTN_BF16}},
		{"n_kv_heads not dividing n_heads", {4, 8, 3, 4, 1, 0, 0, 64, 128, ATTN_BF16}},
		{"n_kv_heads 0", {4, 8, 0, 4, 1, 0, 0, 64, 128, ATTN_BF16}},
		{"n_kv_heads > n_heads", {4, 8, 16, 4, 1, 0, 0, 64, 128, ATTN_BF16}},
		{"n_groups not dividing n_seqs", {30, 8, 8, 4, 4, 1, 0, 64, 128, ATTN_BF16}},
		{"n_groups 0 with group chunks", {32, 8, 8, 4, 0, 1, 0, 64, 128, ATTN_BF16}},
		{"a negative suffix", {32, 8, 8, 4, 1, 0, -1, 64, 128, ATTN_BF16}},
		{"n_seqs x n_heads > 2^25 with a suffix", {1 << 19, 128, 1, 4, 1, 0, 1, 64, 128, ATTN_BF16}},
		{"dtype 7", {32, 8, 8, 4, 1, 0, 0, 64, 128, (enum attn_dtype)7}},
		{"MQA 512 query heads on 1 (one sequence's rows > 256)", {1, 512, 1, 4, 1, 0, 0, 64, 128, ATTN_BF16}},
	};
	for (int i = 0; i < (int)(sizeof bad / sizeof bad[0]); ++i) {
		char name[96];
		snprintf(name, sizeof name, "check: %s refused with a reason", bad[i].name);
		const char *why = ps_plan_check(&bad[i].s, &h->d);
		CHECK(name, why && strncmp(why, "prefix_stream", 13) == 0, "got %s", why ? why : "NULL");
		/* the launcher's check(): the levels' rules on the whole shape,
		 * then the plan of its prefix: it must say the same */
		const struct attn_shape c = ps_plan_prefix_shape(&bad[i].s);
		const char *bwhy = ps_plan_check_levels(&bad[i].s);
		if (!bwhy)
			bwhy = ps_plan_check(&c, &h->d);
		snprintf(name, sizeof name, "check: %s refused as its prefix's launch too", bad[i].name);
		CHECK(name, bwhy && why && strcmp(bwhy, why) == 0, "got %s", bwhy ? bwhy : "NULL");
	}
	struct ps_device old = h->d;
	old.cc_major = 8;
	s = shape(32, 8, 4, ATTN_BF16);
	CHECK("check: an sm_80 GPU is refused", ps_plan_check(&s, &old) != NULL, "ran");
	old.cc_major = 0;
	CHECK("check: an unknown capability is taken as sm_90", ps_plan_check(&s, &old) == NULL, "refused");
	/* the row limit's reason names the query heads per K/V head */
	struct attn_shape big = gqa_shape(1, 512, 1, 4, ATTN_BF16);
	const char *why = ps_plan_check(&big, &h->d);
	CHECK("check: 512 query heads on one K/V head refused with the group limit's reason",
	      why && strstr(why, "query heads per K/V head must be <= 256"), "got %s", why ? why : "NULL");
	/* batches (v12): whole sequences of <= 256 rows, as even as they allow,
	 * the last takes the rest; one launch */
	struct {
		int n_seqs, H, KVH, batches, per, last;
	} sb[] = {
		{64, 64, 8, 2, 32, 32},  /* g 8: 512 rows = 2 x 256 */
		{65, 32, 8, 2, 33, 32},  /* g 4: 260 rows = 132 + 128, not 256 + 4 */
		{300, 4, 4, 2, 150, 150}, /* MHA */
		{257, 1, 1, 2, 129, 128},
		{3, 256, 1, 3, 1, 1},    /* g 256: one sequence a batch */
		{5, 64, 1, 2, 3, 2},     /* g 64: 4 a batch at most */
		{1000, 64, 1, 250, 4, 4},
		{7, 32, 8, 1, 7, 7},     /* 28 rows: one batch */
		{9, 8, 1, 1, 9, 9},      /* 72 rows */
	};
	for (int i = 0; i < (int)(sizeof sb / sizeof sb[0]); ++i) {
		const struct attn_shape t = gqa_shape(sb[i].n_seqs, sb[i].H, sb[i].KVH, 4, ATTN_BF16);
		const int g = sb[i].H / sb[i].KVH, B = ps_plan_batches(&t), per = ps_plan_batch_seqs(&t);
		struct ps_plan bp;
		const struct ps_opts def = PS_OPTS_DEFAULT;
		memset(&bp, 0, sizeof bp);
		const char *bwhy = ps_plan_kernel(&t, &h->d, &def, &bp);
		char name[160];
		snprintf(name, sizeof name, "batches: %d seqs x g %d -> %d batches of %d, the last %d (one launch)",
			 sb[i].n_seqs, g, sb[i].batches, sb[i].per, sb[i].last);
		CHECK(name, B == sb[i].batches && per == sb[i].per && !bwhy && bp.batches == B && bp.rows == per * g &&
				    bp.rows_last == sb[i].last * g && bp.rows <= PS_MAX_ROWS &&
				    (B - 1) * per + sb[i].last == sb[i].n_seqs,
		      "%d batches of %d, plan %s: %d batches, rows %d, last %d", B, per, bwhy ? bwhy : "ok", bp.batches,
		      bp.rows, bp.rows_last);
	}
	/* the batches are the grid's heads too: 2 batches of 8 K/V heads split
	 * as 16 heads would */
	struct ps_plan p2, p16;
	struct ps_occupancy o2, o16;
	struct attn_shape two = gqa_shape(64, 64, 8, 256, ATTN_BF16), sixteen = gqa_shape(32, 128, 16, 256, ATTN_BF16);
	const char *w2 = plan(&two, &models[0], &variants[0].o, &p2, &o2);
	const char *w16 = plan(&sixteen, &models[0], &variants[0].o, &p16, &o16);
	CHECK("batches: 2 batches x 8 K/V heads split as 16 K/V heads", !w2 && !w16 && p2.batches == 2 &&
	      p16.batches == 1 && p2.splits == p16.splits && p2.cluster == p16.cluster,
	      "%s / %s: S %d / %d", w2 ? w2 : "ok", w16 ? w16 : "ok", p2.splits, p16.splits);
}

/* --- representative plans ------------------------------------------------- */
struct want {
	int n_seqs, H, C;
	int path, variant, threads, splits, cluster, spread, pdl, coop;
	size_t smem;
};

static void test_representative(void)
{
	/* on the h100 model, the default options; the seed grid's corners and
	 * the shapes the version log names (docs/kernels/prefix_stream.md) */
	static const struct want w[] = {
		/* n   H    C    path var thr  S  cl sp pdl coop smem */
		{32, 4, 4, 2, 0, 256, 4, 1, 1, 1, 0, 3 * 32768 + 16384 + 64},      /* 16 blocks: 4-clusters, spread */
		{64, 4, 16, 2, 0, 256, 8, 1, 1, 1, 0, 3 * 32768 + 16384 + 64},     /* S 16 -> 8-clusters (16 fit, 5 needed) */
		{64, 4, 64, 2, 0, 256, 33, 0, 1, 1, 0, 3 * 32768 + 16384 + 64},    /* 8-clusters would carry 6 chunks more */
		{64, 16, 16, 2, 0, 256, 8, 0, 1, 1, 0, 3 * 32768 + 16384 + 64},    /* 16 8-clusters do not fit 20: global */
		{32, 32, 8, 2, 0, 256, 3, 1, 1, 1, 0, 3 * 32768 + 16384 + 64},     /* 4-clusters fit 32 of 40, 3-clusters 42 */
		{32, 32, 64, 2, 0, 256, 4, 0, 1, 1, 0, 3 * 32768 + 16384 + 64},    /* ... but 3 would carry 6 chunks more */
		{64, 64, 64, 2, 0, 256, 2, 1, 1, 1, 0, 3 * 32768 + 16384 + 64},    /* S = 2 pairs, spread */
		{32, 128, 64, 2, 0, 256, 1, 0, 1, 1, 0, 3 * 32768 + 16384 + 64},   /* unsplit (32 chunks a CTA at S = 2), spread: PDL */
		{32, 128, 128, 2, 0, 256, 2, 1, 0, 0, 0, 3 * 32768 + 16384 + 64},  /* v8c: S = 2, two CTAs an SM */
		{64, 100, 256, 2, 0, 256, 2, 1, 0, 0, 0, 3 * 32768 + 16384 + 64},  /* v8c */
		{1, 67, 128, 2, 0, 256, 2, 1, 0, 0, 0, 3 * 32768 + 16384 + 64},   /* v8c: test_gpu.sh's sanitizer row */
		{32, 256, 256, 2, 0, 256, 1, 0, 0, 0, 0, 3 * 32768 + 16384 + 64},  /* 65536 blocks */
		{64, 128, 2, 2, 0, 256, 1, 0, 1, 1, 0, 3 * 32768 + 16384 + 64},    /* unsplit, spread: PDL */
		{64, 128, 3, 2, 0, 256, 1, 0, 1, 1, 0, 3 * 32768 + 16384 + 64},    /* the same at 3 chunks a CTA */
		{64, 200, 2, 2, 0, 256, 1, 0, 0, 1, 0, 3 * 32768 + 16384 + 64},    /* more heads than SMs, short CTAs: PDL */
		{64, 200, 3, 2, 0, 256, 1, 0, 0, 0, 0, 3 * 32768 + 16384 + 64},    /* 3 chunks a CTA: no PDL */
		{1, 1, 1, 2, 0, 256, 1, 0, 0, 1, 0, 3 * 32768 + 16384 + 64},       /* one CTA */
		/* 65-256 rows: v11's kernel (256 threads; 65-128 rows its key-group
		 * form on 6 stages, else 4 stages and 4 row blocks), "full" and
		 * "empty" mbarriers a stage */
		{65, 8, 64, 2, 1, 256, 16, 0, 1, 1, 0, 6 * 32768 + 2 * 16384 + 6 * 16}, /* S > 8: global */
		{256, 32, 64, 2, 2, 256, 4, 0, 1, 1, 0, 4 * 32768 + 4 * 16384 + 4 * 16},
		{256, 200, 64, 2, 2, 256, 1, 0, 0, 0, 0, 4 * 32768 + 4 * 16384 + 4 * 16},
	};
	const struct ps_opts def = PS_OPTS_DEFAULT;
	for (int i = 0; i < (int)(sizeof w / sizeof w[0]); ++i) {
		struct attn_shape s = shape(w[i].n_seqs, w[i].H, w[i].C, ATTN_BF16);
		struct ps_plan pl;
		struct ps_occupancy occ;
		const char *why = plan(&s, &models[0], &def, &pl, &occ);
		char name[128];
		snprintf(name, sizeof name, "plan h100 n_seqs %d, %d heads x %d chunks: path %d v%d, %d threads, S %d %s%s%s%s",
			 w[i].n_seqs, w[i].H, w[i].C, w[i].path, w[i].variant, w[i].threads, w[i].splits,
			 w[i].splits == 1 ? "" : w[i].cluster ? "cluster" : "global", w[i].spread ? " spread" : "",
			 w[i].pdl ? " pdl" : "", w[i].coop ? " coop" : "");
		CHECK(name,
		      !why && pl.path == w[i].path && pl.variant == w[i].variant && pl.threads == w[i].threads &&
			      pl.splits == w[i].splits && pl.cluster == w[i].cluster && pl.spread == w[i].spread &&
			      pl.pdl == w[i].pdl && pl.coop == w[i].coop && pl.smem == w[i].smem,
		      "%s: path %d v%d %d threads S %d cluster %d spread %d pdl %d coop %d smem %zu", why ? why : "",
		      pl.path, pl.variant, pl.threads, pl.splits, pl.cluster, pl.spread, pl.pdl, pl.coop, pl.smem);
	}
	/* the paths by device, and the tiles of the mma.sync path */
	struct attn_shape s = shape(33, 4, 8, ATTN_FP16);
	struct ps_plan pl;
	struct ps_occupancy occ;
	const char *why = plan(&s, &models[1], &def, &pl, &occ);
	CHECK("plan sm_90 image: mma.sync, 3 query warps x 2 key warps, no PDL",
	      !why && pl.path == PS_PATH_MMA && pl.variant == 1 && pl.nqg == 3 && pl.threads == 192 && pl.pdl == 0,
	      "%s path %d v%d nqg %d threads %d pdl %d", why ? why : "", pl.path, pl.variant, pl.nqg, pl.threads, pl.pdl);
	why = plan(&s, &models[2], &def, &pl, &occ);
	CHECK("plan without the driver's encoder: wgmma + cp.async", !why && pl.path == PS_PATH_WGMMA_CPASYNC,
	      "%s path %d", why ? why : "", pl.path);
	s = shape(256, 4, 8, ATTN_BF16);
	why = plan(&s, &models[1], &def, &pl, &occ);
	CHECK("plan sm_90 image, n_seqs 256: 16 query warps, 512 threads, 4 stages",
	      !why && pl.variant == 2 && pl.nqg == 16 && pl.threads == 512 && pl.smem == 4 * 32768 + 16 * 4096 + 64,
	      "%s v%d nqg %d threads %d smem %zu", why ? why : "", pl.variant, pl.nqg, pl.threads, pl.smem);
	s = shape(64, 4, 64, ATTN_BF16);
	why = plan(&s, &models[3], &def, &pl, &occ);
	CHECK("plan without clusters: global merge at S = SMs/H", !why && pl.splits == 33 && !pl.cluster && pl.pdl == 1,
	      "%s S %d cluster %d", why ? why : "", pl.splits, pl.cluster);
	CHECK("workspace of a global merge: H x S x n_seqs x (512 + 8) bytes",
	      ps_plan_workspace(&s, &pl) == (size_t)4 * 33 * 64 * 520, "%zu", ps_plan_workspace(&s, &pl));
}

/* --- GQA / MQA plans ------------------------------------------------------- */
struct want_gqa {
	int n_seqs, H, KVH, C;
	int rows, path, variant, nqg, threads, splits, cluster, spread, pdl, coop;
	size_t smem;
};

static void test_gqa(void)
{
	/* on the h100 model, the default options.  The grid is n_kv_heads x S
	 * with S = min(C, SMs / n_kv_heads), the tiles' rows n_seqs x g; the
	 * expected values worked out by hand from the rules in
	 * prefix_stream_plan.c (wgmma: 64 rows a warpgroup, variant by query
	 * warpgroups <= 1 / <= 2 / <= 4; from 65 rows v11's kernel: 256
	 * threads, 6 stages at <= 128 rows, else 4). */
	static const struct want_gqa w[] = {
		/* n  H   KVH C    rows pa v nqg thr  S  cl sp pdl coop smem */
		/* the gqa preset's (32, 8) at n_seqs 32: 128 rows, 4 warpgroups;
		 * S = 132 / 8 = 16 (not 132 / 32 = 4); 8-clusters would carry 8
		 * chunks, not <= 4 + 1: global, spread (128 CTAs) */
		{32, 32, 8, 64, 128, 2, 1, 2, 256, 16, 0, 1, 1, 0, 6 * 32768 + 2 * 16384 + 6 * 16},
		/* ... at n_seqs 64: 256 rows, 4 warpgroups x 2 steps a chunk */
		{64, 32, 8, 64, 256, 2, 2, 4, 256, 16, 0, 1, 1, 0, 4 * 32768 + 4 * 16384 + 4 * 16},
		/* (64, 8) at n_seqs 32: g 8, 256 rows; 16 chunks: S 16 -> 8-clusters
		 * carry 2 chunks a CTA (<= 1 + 1) and 16 fit >= 8 + 2: cluster S 8 */
		{32, 64, 8, 16, 256, 2, 2, 4, 256, 8, 1, 1, 1, 0, 4 * 32768 + 4 * 16384 + 4 * 16},
		/* (32, 4) at n_seqs 32: g 8, 256 rows; S = min(256, 33) = 33 */
		{32, 32, 4, 256, 256, 2, 2, 4, 256, 33, 0, 1, 1, 0, 4 * 32768 + 4 * 16384 + 4 * 16},
		/* MQA, 8 sequences x 32 heads = 256 rows on one K/V head: S 16 ->
		 * one 8-cluster carries 2 chunks a CTA (<= 1 + 1), 16 fit */
		{8, 32, 1, 16, 256, 2, 2, 4, 256, 8, 1, 1, 1, 0, 4 * 32768 + 4 * 16384 + 4 * 16},
		/* 64 rows on 4 K/V heads, 4 chunks: 4-clusters (32 fit >= 5) */
		{8, 32, 4, 4, 64, 2, 0, 1, 256, 4, 1, 1, 1, 0, 3 * 32768 + 16384 + 64},
		/* 12 K/V heads (g 4, 16 rows): S = 132 / 12 = 11, global, spread */
		{4, 48, 12, 64, 16, 2, 0, 1, 256, 11, 0, 1, 1, 0, 3 * 32768 + 16384 + 64},
		/* n_kv_heads >= SMs: unsplit, no PDL (256 CTAs of 8 chunks) */
		{16, 1024, 256, 8, 64, 2, 0, 1, 256, 1, 0, 0, 0, 0, 3 * 32768 + 16384 + 64},
		/* g 3 (12 heads on 4), 7 sequences: 21 rows; 3 chunks: 3-clusters */
		{7, 12, 4, 3, 21, 2, 0, 1, 256, 3, 1, 1, 1, 0, 3 * 32768 + 16384 + 64},
		/* 128 sequences x g 2 = the 256-row limit */
		{128, 8, 4, 2, 256, 2, 2, 4, 256, 2, 1, 1, 1, 0, 4 * 32768 + 4 * 16384 + 4 * 16},
	};
	const struct ps_opts def = PS_OPTS_DEFAULT;
	for (int i = 0; i < (int)(sizeof w / sizeof w[0]); ++i) {
		struct attn_shape s = gqa_shape(w[i].n_seqs, w[i].H, w[i].KVH, w[i].C, ATTN_BF16);
		struct ps_plan pl;
		struct ps_occupancy occ;
		const char *why = plan(&s, &models[0], &def, &pl, &occ);
		char name[160];
		snprintf(name, sizeof name,
			 "plan h100 GQA n_seqs %d, %d heads on %d K/V x %d chunks: %d rows, v%d, %d threads, S %d %s%s%s",
			 w[i].n_seqs, w[i].H, w[i].KVH, w[i].C, w[i].rows, w[i].variant, w[i].threads, w[i].splits,
			 w[i].splits == 1 ? "" : w[i].cluster ? "cluster" : "global", w[i].spread ? " spread" : "",
			 w[i].pdl ? " pdl" : "");
		CHECK(name,
		      !why && pl.gqa == 1 && pl.rows == w[i].rows && pl.path == w[i].path && pl.variant == w[i].variant &&
			      pl.nqg == w[i].nqg && pl.threads == w[i].threads && pl.splits == w[i].splits &&
			      pl.cluster == w[i].cluster && pl.spread == w[i].spread && pl.pdl == w[i].pdl &&
			      pl.coop == w[i].coop && pl.smem == w[i].smem,
		      "%s: gqa %d rows %d path %d v%d nqg %d %d threads S %d cluster %d spread %d pdl %d coop %d smem %zu",
		      why ? why : "", pl.gqa, pl.rows, pl.path, pl.variant, pl.nqg, pl.threads, pl.splits, pl.cluster,
		      pl.spread, pl.pdl, pl.coop, pl.smem);
	}
	/* MHA keeps the MHA kernels */
	struct attn_shape s = shape(32, 8, 4, ATTN_BF16);
	struct ps_plan pl;
	struct ps_occupancy occ;
	const char *why = plan(&s, &models[0], &def, &pl, &occ);
	CHECK("plan MHA: the MHA instantiation, rows = n_seqs", !why && pl.gqa == 0 && pl.rows == 32,
	      "%s gqa %d rows %d", why ? why : "", pl.gqa, pl.rows);
	/* the workspace of a GQA global merge: per (K/V head, split, row) */
	s = gqa_shape(32, 32, 8, 64, ATTN_BF16);
	why = plan(&s, &models[0], &def, &pl, &occ);
	CHECK("workspace of a GQA global merge: KVH x S x rows x 520 = H x S x n_seqs x 520 bytes",
	      !why && ps_plan_workspace(&s, &pl) == (size_t)8 * 16 * 128 * 520 &&
		      ps_plan_workspace(&s, &pl) == (size_t)32 * 16 * 32 * 520,
	      "%s %zu", why ? why : "", ps_plan_workspace(&s, &pl));
	/* the mma.sync path (sm_90 image): 16 rows a warp; 8 heads on 2, 33
	 * sequences = 132 rows = 9 query warps -> variant 2 (> 4), 1 key warp */
	s = gqa_shape(33, 8, 2, 8, ATTN_FP16);
	why = plan(&s, &models[1], &def, &pl, &occ);
	CHECK("plan sm_90 image GQA: mma.sync, 132 rows = 9 query warps, 288 threads, 4 stages, no PDL",
	      !why && pl.path == PS_PATH_MMA && pl.gqa && pl.rows == 132 && pl.variant == 2 && pl.nqg == 9 &&
		      pl.threads == 288 && pl.smem == 4 * 32768 + 9 * 4096 + 64 && pl.pdl == 0,
	      "%s path %d rows %d v%d nqg %d threads %d smem %zu pdl %d", why ? why : "", pl.path, pl.rows, pl.variant,
	      pl.nqg, pl.threads, pl.smem, pl.pdl);
	/* the ping-pong variant: the two-block form's at 129-256 rows, the
	 * key-group form's at 65-128 (session 12); the default's forms unchanged */
	{
		struct ps_opts pp = PS_OPTS_DEFAULT;
		pp.rows2 = 2;
		const int want[][3] = {{100, 4, 2}, {128, 4, 2}, {129, 3, 1}, {256, 3, 1}};
		for (int i = 0; i < 4; ++i) {
			s = shape(want[i][0], 32, 64, ATTN_BF16);
			why = plan(&s, &models[0], &pp, &pl, &occ);
			const int pp_form = !why ? pl.rows2 : -1;
			why = plan(&s, &models[0], &def, &pl, &occ);
			char name[96];
			snprintf(name, sizeof name, "ping-pong variant at %d rows: form %d, the default's %d", want[i][0],
				 want[i][1], want[i][2]);
			CHECK(name, pp_form == want[i][1] && !why && pl.rows2 == want[i][2], "%s forms %d %d",
			      why ? why : "", pp_form, pl.rows2);
		}
		s = shape(64, 32, 64, ATTN_BF16);
		CHECK("ping-pong variant refuses 64 rows", plan(&s, &models[0], &pp, &pl, &occ) != NULL, "planned");
	}
	/* the split count follows SMs / n_kv_heads on another SM count */
	s = gqa_shape(4, 16, 2, 64, ATTN_BF16);
	why = plan(&s, &models[4], &def, &pl, &occ); /* 16 SMs: S = 8, not 16 / 16 = 1 */
	CHECK("plan small-hopper GQA: S = 16 SMs / 2 K/V heads = 8", !why && pl.splits == 8,
	      "%s S %d", why ? why : "", pl.splits);
	/* forced variants on GQA shapes: s8 on 2 K/V heads (16 CTAs), and
	 * s8 refused where n_kv_heads x 8 CTAs cannot be co-resident */
	const struct ps_opts s8 = {PS_PATH_AUTO, PS_MERGE_AUTO, 8, PS_PDL_AUTO, 0};
	why = plan(&s, &models[0], &s8, &pl, &occ);
	CHECK("plan h100 GQA prefix_stream_s8: 8 splits per K/V head", !why && pl.splits == 8, "%s S %d",
	      why ? why : "", pl.splits);
	s = gqa_shape(64, 256, 64, 64, ATTN_BF16); /* 256 rows: 1 CTA an SM; 64 x 8 > 132 */
	why = plan(&s, &models[0], &s8, &pl, &occ);
	CHECK("plan h100 GQA prefix_stream_s8 refuses 64 K/V heads x 8 (not co-resident)", why != NULL, "ran S %d",
	      pl.splits);
}

/* --- invariants over a grid ----------------------------------------------- */
static int bad_partition(int n, int S, int need_nonempty)
{
	int next = 0;
	for (int j = 0; j < S; ++j) {
		const int b = PS_SPLIT_BEGIN(j, n, S), e = PS_SPLIT_BEGIN(j + 1, n, S);
		if (b != next || e < b || (need_nonempty && e == b))
			return j + 1;
		next = e;
	}
	return next != n ? S + 1 : 0;
}

static const char *invariant(const struct attn_shape *s, const struct model *m, const struct ps_opts *o,
			     const struct ps_plan *pl, const struct ps_occupancy *occ)
{
	/* the grid's heads: K/V heads x batches; the tiles' rows: a batch's n_seqs x g */
	const int B = ps_plan_batches(s), H = s->n_kv_heads * B, C = s->n_chunks, S = pl->splits, sms = m->d.sms;
	const int g = s->n_heads / s->n_kv_heads, per = ps_plan_batch_seqs(s), n_rows = per * g;
	const int rows = pl->path == PS_PATH_MMA ? 16 : 64;
	if (pl->rows != n_rows || pl->gqa != (g > 1))
		return "plan rows != (sequences a batch) x g, or the GQA flag != (g > 1)";
	if (pl->batches != B || pl->rows_last != (s->n_seqs - (B - 1) * per) * g || pl->rows_last < 1 ||
	    pl->rows_last > n_rows)
		return "batches or the last batch's rows not the whole sequences left";
	if (n_rows > PS_MAX_ROWS || (B > 1 && (per - 1) * g > PS_MAX_ROWS - g))
		return "more than 256 query rows per K/V head planned, or batches more uneven than whole sequences";
	if (S < 1 || S > C)
		return "splits outside [1, n_chunks]";
	if (bad_partition(C, S, 1))
		return "a chunk not owned by exactly one split, or an empty split";
	if (bad_partition(n_rows, S, 0))
		return "the merge's row slices do not partition the rows";
	/* one CTA an SM, or (v8c) two where S = 1 would leave SMs idle and
	 * each CTA keeps >= PS_S2_MIN_CHUNKS chunks */
	const int two_an_sm = S == 2 && 2 * H > sms && H < sms && 2 * H <= pl->slots && C >= 2 * PS_S2_MIN_CHUNKS;
	if (o->splits == 0 && S > 1 && !two_an_sm && ((long long)S * H > sms || H >= sms || H > PS_MAX_SPLIT_HEADS))
		return "the planner split a grid that fills the SMs";
	if (o->splits == 0 && S == 1 && 2 * H > sms && H < sms && 2 * H <= pl->slots && C >= 2 * PS_S2_MIN_CHUNKS)
		return "the planner left a grid of more than half the SMs unsplit where two CTAs an SM fit";
	if (o->splits > 0 && S != o->splits)
		return "a forced split count not honoured";
	if (S > 1 && !pl->cluster && (long long)S * H > pl->slots)
		return "a global merge whose grid is not co-resident";
	if (pl->slots != occ->ctas_per_sm * sms)
		return "slots != CTAs per SM x SMs";
	if (pl->cluster) {
		if (S < 2 || S > m->d.max_cluster || S > PS_MAX_CLUSTER)
			return "a cluster outside 2..max_cluster";
		if (occ->clusters[pl->spread][S] < 1)
			return "a cluster that does not fit";
		if (o->merge == PS_MERGE_AUTO && occ->clusters[pl->spread][S] < (S == 2 ? H : H + (H + 3) / 4))
			return "an automatic cluster merge whose clusters do not all fit (with the margin)";
	}
	if (o->merge == PS_MERGE_GLOBAL && pl->cluster)
		return "the global-merge variant got a cluster";
	if (o->merge != PS_MERGE_AUTO && S == 1)
		return "a merge variant ran unsplit";
	if (o->merge == PS_MERGE_CLUSTER && !pl->cluster)
		return "the cluster-merge variant got no cluster";
	if (pl->spread && (long long)S * H > sms)
		return "spread on a grid that does not fit one CTA per SM";
	if (pl->spread != ((S > 1 || 2LL * H > sms) && (long long)S * H <= sms))
		return "spread not exactly where the grid is split or fills more than half the SMs, and fits them";
	if (pl->pdl && !m->d.sm90a)
		return "PDL without an sm_90a image";
	if (pl->pdl < 0 || pl->pdl > 2 || (pl->pdl == 2 && pl->path != PS_PATH_WGMMA_TMA))
		return "a bad PDL mode";
	if (o->pdl != PS_PDL_AUTO && pl->pdl != o->pdl)
		return "a forced PDL mode not honoured";
	if (pl->coop != (S > 1 && !pl->cluster && !pl->pdl))
		return "cooperative launch != (global merge without PDL)";
	if (o->path != PS_PATH_AUTO && pl->path != o->path)
		return "a forced path not honoured";
	if (o->path == PS_PATH_AUTO &&
	    pl->path != (!m->d.sm90a ? PS_PATH_MMA : m->d.tma ? PS_PATH_WGMMA_TMA : PS_PATH_WGMMA_CPASYNC))
		return "the automatic path does not follow the image and the encoder";
	if (pl->threads < 32 || pl->threads > 512 || pl->threads % 32)
		return "threads outside 32..512 or not whole warps";
	/* v11's kernel: the default's at 65-256 rows on the TMA path */
	if ((pl->rows2 != 0) != (o->rows2 >= 0 && pl->path == PS_PATH_WGMMA_TMA && n_rows >= PS_ROWS2_MIN_ROWS))
		return "v11's kernel planned off 65-256 rows on the TMA path or where the variant asked for the 4-warpgroup tiles, "
		       "or not planned there";
	if (pl->rows2) {
		/* 129-256 rows: 4 blocks; 65-128: the key-group form, 2 blocks */
		const int kg = n_rows <= PS_ROWS2_KG_MAX_ROWS, nb = kg ? PS_ROWS2_KG_BLOCKS : PS_ROWS2_BLOCKS;
		const int ns = kg ? PS_ROWS2_KG_NSTAGE : PS_ROWS2_NSTAGE;
		/* the epilogue's scratch, in the stages (and Q): the cluster merge's
		 * states, the key groups' exchange (kg) */
		const size_t scratch_cluster = (size_t)nb * 64 * (PS_D * 4 + 8), scratch_kg = kg ? (size_t)nb * 68 * 128 * 4 : 0;
		if (pl->path != PS_PATH_WGMMA_TMA || n_rows < PS_ROWS2_MIN_ROWS ||
		    pl->rows2 != (o->rows2 == 2 ? (kg ? 4 : 3) : kg ? 2 : 1) ||
		    pl->nqg != nb || pl->nqg * 64 < n_rows || pl->threads != PS_ROWS2_THREADS || ns % 2 != 0 ||
		    pl->smem < (size_t)ns * PS_STAGE_BYTES + (size_t)nb * 64 * 256 + (size_t)ns * 16 ||
		    scratch_cluster > (size_t)ns * PS_STAGE_BYTES + (size_t)nb * 64 * 256 ||
		    scratch_kg > (size_t)ns * PS_STAGE_BYTES)
			return "v11's kernel off the TMA path, below 65 rows, or not its blocks x 256 threads x its stages, "
			       "or its epilogue's scratch past the stages";
	} else if (pl->nqg * rows < n_rows || (pl->nqg - 1) * rows >= n_rows)
		return "query groups do not cover the rows (n_seqs x g) tightly";
	if (pl->smem > pl->smem_attr || ps_plan_dyn_smem(pl, pl->spread) > pl->smem_attr ||
	    pl->smem_attr > (size_t)m->d.smem_per_block)
		return "shared memory beyond the function's or the device's limit";
	if (pl->smem < (size_t)pl->nqg * rows * 256 + 3 * PS_STAGE_BYTES)
		return "shared memory without room for Q and 3 stages";
	const size_t ws = ps_plan_workspace(s, pl);
	if ((ws == 0) != (S == 1 || pl->cluster) ||
	    (ws && ws != (size_t)H * S * n_rows * (PS_D * 4 + 8)) ||
	    (ws && ws != (size_t)s->n_heads * B * S * per * (PS_D * 4 + 8)))
		return "workspace not KVH x batches x S x rows (= H x batches x S x sequences a batch) x 520 bytes "
		       "for a global merge (else 0)";
	return NULL;
}

/* why a variant must refuse shape s on m (NULL: it must run it) */
static int must_refuse(const struct attn_shape *s, const struct model *m, const struct ps_opts *o,
		       const struct ps_plan *def_pl, const struct ps_occupancy *def_occ)
{
	if (o->path == PS_PATH_WGMMA_CPASYNC && !m->d.sm90a)
		return 1;
	if (o->pdl == 2 && (!m->d.sm90a || !m->d.tma))
		return 1;
	/* v11's kernel: the TMA path, 65-256 rows in the first batch */
	if (o->rows2 != 0 && (!m->d.sm90a || !m->d.tma || def_pl->rows < PS_ROWS2_MIN_ROWS))
		return 1; /* and the 4-warpgroup variant: it equals the default there */
	const int H = s->n_kv_heads * ps_plan_batches(s); /* the grid's heads */
	if (o->splits > 1 && (o->splits > s->n_chunks || H > PS_MAX_SPLIT_HEADS ||
			      (long long)o->splits * H > def_pl->slots))
		return 1;
	/* the merge variants plan S as the default would before its cluster
	 * search: min(C, SMs/H), 1 when H >= SMs; 2 (v8c) where that is 1 but
	 * two CTAs an SM fit and each keeps >= PS_S2_MIN_CHUNKS chunks */
	int S0 = H >= m->d.sms || H > PS_MAX_SPLIT_HEADS
			 ? 1
			 : (m->d.sms / H < s->n_chunks ? m->d.sms / H : s->n_chunks);
	if (S0 == 1 && H < m->d.sms && 2 * H <= def_pl->slots && s->n_chunks >= 2 * PS_S2_MIN_CHUNKS)
		S0 = 2;
	if (o->merge != PS_MERGE_AUTO && S0 == 1)
		return 1;
	if (o->merge == PS_MERGE_CLUSTER &&
	    (S0 > m->d.max_cluster || def_occ->clusters[S0 * H <= m->d.sms][S0] < 1))
		return 1;
	return 0;
}

/* a GQA shape's plan is the plan of its MHA twin: n_seqs x g sequences on
 * n_kv_heads heads (the kernel's rows and grid are the same), apart from the
 * GQA flag; NULL if they agree */
static const char *twin_differs(const struct attn_shape *s, const struct model *m, const struct ps_opts *o,
				const char *why, const struct ps_plan *pl)
{
	const int g = s->n_heads / s->n_kv_heads;
	if (g <= 1 || s->n_seqs * g > PS_MAX_ROWS)
		return NULL;
	struct attn_shape t = shape(s->n_seqs * g, s->n_kv_heads, s->n_chunks, s->dtype);
	struct ps_plan tp;
	struct ps_occupancy tocc;
	const char *twhy = plan(&t, m, o, &tp, &tocc);
	if (!why != !twhy)
		return why ? "refused where its MHA twin runs" : "runs where its MHA twin is refused";
	if (why)
		return NULL;
	if (pl->gqa != 1 || tp.gqa != 0 || pl->rows != tp.rows || pl->path != tp.path || pl->variant != tp.variant ||
	    pl->nqg != tp.nqg || pl->threads != tp.threads || pl->smem != tp.smem || pl->smem_attr != tp.smem_attr ||
	    pl->splits != tp.splits || pl->cluster != tp.cluster || pl->spread != tp.spread || pl->pdl != tp.pdl ||
	    pl->coop != tp.coop || pl->slots != tp.slots || pl->batches != tp.batches || pl->rows_last != tp.rows_last ||
	    ps_plan_workspace(s, pl) != ps_plan_workspace(&t, &tp))
		return "plans differently from its MHA twin";
	return NULL;
}

static void test_grid(void)
{
	static const int n_seqs[] = {1, 7, 16, 17, 32, 33, 64, 65, 128, 129, 200, 256};
	/* K/V heads; the query heads are g times as many */
	static const int heads[] = {1, 2, 3, 4, 8, 16, 32, 33, 64, 66, 100, 128, 131, 132, 133, 256, 1024, 4097};
	static const int chunks[] = {1, 2, 3, 4, 7, 8, 9, 16, 64, 256, 1000};
	static const int groups[] = {1, 2, 3, 8, 32}; /* g = n_heads / n_kv_heads: MHA, GQA, MQA-like */
	for (int mi = 0; mi < N_MODELS; ++mi)
		for (int vi = 0; vi < N_VARIANTS; ++vi) {
			const struct model *m = &models[mi];
			const struct ps_opts *o = &variants[vi].o;
			long plans = 0, refused = 0, bad = 0, wrong_refusal = 0, gqa_plans = 0;
			char first[256] = "";
			for (int a = 0; a < (int)(sizeof n_seqs / sizeof *n_seqs); ++a)
				for (int b = 0; b < (int)(sizeof heads / sizeof *heads); ++b)
					for (int c = 0; c < (int)(sizeof chunks / sizeof *chunks); ++c)
						for (int gi = 0; gi < (int)(sizeof groups / sizeof *groups); ++gi)
						for (int dt = 0; dt < 2; ++dt) {
							struct attn_shape s = gqa_shape(n_seqs[a], heads[b] * groups[gi], heads[b],
											chunks[c], dt ? ATTN_FP16 : ATTN_BF16);
							struct ps_plan pl, dpl;
							struct ps_occupancy occ, docc;
							const struct ps_opts def = PS_OPTS_DEFAULT;
							const char *why = plan(&s, m, o, &pl, &occ);
							/* the default's occupancy of the same kernel config
							 * (the variants' refusal rule needs the slots) */
							struct ps_opts po = def;
							po.path = o->path == PS_PATH_WGMMA_CPASYNC && m->d.sm90a ? o->path
								  : o->path == PS_PATH_MMA ? o->path : PS_PATH_AUTO;
							const char *dwhy = plan(&s, m, &po, &dpl, &docc);
							const int refuse = !dwhy && must_refuse(&s, m, o, &dpl, &docc);
							const char *twin = twin_differs(&s, m, o, why, &pl);
							if (twin && !bad++)
								snprintf(first, sizeof first, "n_seqs %d H %d KVH %d C %d: %s",
									 s.n_seqs, s.n_heads, s.n_kv_heads, s.n_chunks, twin);
							if (why) {
								++refused;
								if (!refuse && !dwhy && !wrong_refusal++)
									snprintf(first, sizeof first,
										 "refused n_seqs %d H %d KVH %d C %d: %s",
										 s.n_seqs, s.n_heads, s.n_kv_heads, s.n_chunks, why);
								if (strncmp(why, "prefix_stream", 13) != 0 && !bad++)
									snprintf(first, sizeof first, "a reason without the kernel's name: %s",
										 why);
								continue;
							}
							++plans;
							gqa_plans += groups[gi] > 1;
							if (refuse && !wrong_refusal++)
								snprintf(first, sizeof first, "ran n_seqs %d H %d KVH %d C %d, must refuse",
									 s.n_seqs, s.n_heads, s.n_kv_heads, s.n_chunks);
							const char *inv = invariant(&s, m, o, &pl, &occ);
							if (inv && !bad++)
								snprintf(first, sizeof first,
									 "n_seqs %d H %d KVH %d C %d: %s (S %d cluster %d spread %d pdl %d)",
									 s.n_seqs, s.n_heads, s.n_kv_heads, s.n_chunks, inv, pl.splits,
									 pl.cluster, pl.spread, pl.pdl);
						}
			char name[192];
			snprintf(name, sizeof name,
				 "grid %s %s: %ld plans (%ld GQA/MQA) hold the invariants, %ld refused with a reason",
				 m->name, variants[vi].name, plans, gqa_plans, refused);
			CHECK(name, bad == 0 && wrong_refusal == 0,
			      "%ld broken, %ld wrong refusals; first: %s", bad, wrong_refusal, first);
		}
}

/* the default kernel never refuses a shape ps_plan_check() takes, on any
 * model: MHA, and GQA/MQA up to 256 rows per K/V head */
static void test_default_runs_everything(void)
{
	const struct ps_opts def = PS_OPTS_DEFAULT;
	long n = 0, refused = 0;
	for (int mi = 0; mi < N_MODELS; ++mi)
		for (int g = 1; g <= 64; g *= 2)
			for (int ns = 1; ns * g <= 1024; ns += 15) /* > 256 rows: batches */
				for (int H = 1; H <= 300; H += 13)
					for (int C = 1; C <= 70; C += 3) {
						struct attn_shape s = gqa_shape(ns, H * g, H, C, ATTN_BF16);
						struct ps_plan pl;
						struct ps_occupancy occ;
						++n;
						refused += plan(&s, &models[mi], &def, &pl, &occ) != NULL;
					}
	CHECK("the default plans every accepted shape on every model (MHA and GQA up to 1024 rows)", refused == 0,
	      "%ld of %ld refused", refused, n);
}

/* v14: a tree shape's common prefix through the own kernel or on the level
 * grid (ps_plan_tree_own), by the rule fitted to session 8's sweeps */
static void test_tree_choice(void)
{
	static const struct {
		int n_seqs, C, n_groups, group_chunks, suffix, own;
		const char *why;
	} t[] = {
		{64, 512, 1, 0, 63, 1, "32K prefix + 63: the own kernel (measured 1.21x hydragen)"},
		{32, 512, 1, 0, 1024, 1, "32K + 1024 at n_seqs 32: levels = the prefix's chunks"},
		{64, 512, 1, 0, 1024, 1, "32K + 1024 at n_seqs 64: levels = 2x the prefix's (the limit)"},
		{32, 512, 1, 0, 4096, 0, "32K + 4096: levels 4x the prefix's (measured 0.96x)"},
		{64, 128, 1, 0, 63, 0, "8K + 63: under 256 chunks (measured 0.90x)"},
		{64, 32, 1, 0, 256, 0, "2K + 256 (measured 0.61x)"},
		{64, 64, 4, 16, 128, 0, "the tree preset (measured 0.68x)"},
		{64, 256, 4, 16, 1, 1, "256 chunks, 4 groups of 16, a 1-token suffix: levels 128 chunks"},
		{64, 256, 4, 16, 600, 0, "256 chunks + 4 groups of 16 + 600 tokens: levels 704 chunks"},
	};
	const struct ps_opts def = PS_OPTS_DEFAULT;
	for (int i = 0; i < (int)(sizeof t / sizeof t[0]); ++i) {
		struct attn_shape s = {t[i].n_seqs, 32, 8, t[i].C, t[i].n_groups, t[i].group_chunks, t[i].suffix, 64, 128,
				       ATTN_BF16};
		char name[160];
		snprintf(name, sizeof name, "tree: %s -> %s", t[i].why, t[i].own ? "own kernel" : "level grid");
		CHECK(name, ps_plan_tree_own(&s, &def) == t[i].own, "got %d", ps_plan_tree_own(&s, &def));
	}
	struct attn_shape one = gqa_shape(64, 32, 8, 512, ATTN_BF16), tree = one;
	tree.suffix_len = 4096;
	struct ps_opts own = def, grid = def;
	own.tree = PS_TREE_OWN;
	grid.tree = PS_TREE_GRID;
	struct ps_opts mma = def;
	mma.path = PS_PATH_MMA;
	struct attn_shape short_tree = gqa_shape(64, 32, 8, 32, ATTN_BF16);
	short_tree.suffix_len = 256;
	CHECK("tree: a variant forcing a choice of the own kernel runs it on a short-prefix tree (the default does not)",
	      ps_plan_tree_own(&short_tree, &mma) == 1 && ps_plan_tree_own(&short_tree, &def) == 0, "mma %d, default %d",
	      ps_plan_tree_own(&short_tree, &mma), ps_plan_tree_own(&short_tree, &def));
	CHECK("tree: the forced choices win over the rule", ps_plan_tree_own(&tree, &own) == 1 &&
	      ps_plan_tree_own(&tree, &grid) == 0 && ps_plan_tree_own(&one, &own) == 0 && ps_plan_tree_own(&one, &def) == 0,
	      "own %d grid %d, single-prefix %d", ps_plan_tree_own(&tree, &own), ps_plan_tree_own(&tree, &grid),
	      ps_plan_tree_own(&one, &own));
}

int main(void)
{
	test_tree_choice();
	test_check();
	test_representative();
	test_gqa();
	test_grid();
	test_default_runs_everything();
	printf("plan: %d passed, %d failed\n", passed, failed);
	return failed != 0;
}
