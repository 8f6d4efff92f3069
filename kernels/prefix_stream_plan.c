/* prefix_stream_plan.c - the planner of prefix_stream: pure C, no CUDA (see
 * prefix_stream_plan.h for the stages and the structs).  The rules and the
 * measurements behind them are in docs/kernels/prefix_stream.md (v4 - v6). */
#include "prefix_stream_plan.h"

/* The tile variants, [path][variant]; variant by query rows per K/V head
 * (rows = n_seqs x g: the n_seqs sequences x the g query heads of the K/V
 * head; MHA: n_seqs).  mma.sync: query groups of 16 rows (one warp each),
 * KG key warps per query group; variant by rows <= 32, <= 64, <= 256.
 * wgmma: query groups of 64 rows (one warpgroup each), KG key warpgroups;
 * variant by rows <= 64, <= 128, <= 256.  They must match the template
 * arguments of ps_kernels[][][][] in prefix_stream.cu (KG = 64 / (KEYS *
 * NSUB) there, NSTAGE). */
static const int ps_rows[PS_PATHS] = {16, 64, 64};
static const int ps_kg[PS_PATHS][PS_TILE_VARIANTS] = {{4, 2, 1}, {2, 2, 1}, {2, 2, 1}};
static const int ps_nstage[PS_PATHS][PS_TILE_VARIANTS] = {{3, 3, 4}, {3, 4, 4}, {3, 4, 4}};
static const int ps_maxqg[PS_PATHS][PS_TILE_VARIANTS] = {{2, 4, 16}, {1, 2, 4}, {1, 2, 4}};
static const int ps_group_threads[PS_PATHS] = {32, 128, 128};

const char *ps_plan_check(const struct attn_shape *s, const struct ps_device *d)
{
	/* TMA, wgmma and thread-block clusters: Hopper only (builds for older
	 * GPU_ARCH compile, but the kernel refuses to run there) */
	if ((d->cc_major ? d->cc_major : 9) < 9)
		return "prefix_stream: needs an sm_90 (Hopper) GPU";
	if (s->chunk_size != PS_CHUNK)
		return "prefix_stream: chunk_size must be 64";
	if (s->d_head != PS_D)
		return "prefix_stream: d_head must be 128";
	if (s->n_seqs < 1)
		return "prefix_stream: n_seqs must be >= 1";
	if (s->n_heads < 1 || s->n_chunks < 1)
		return "prefix_stream: n_heads and n_chunks must be >= 1";
	if (s->n_kv_heads < 1 || s->n_kv_heads > s->n_heads || s->n_heads % s->n_kv_heads != 0)
		return "prefix_stream: n_kv_heads must divide n_heads";
	if (s->dtype != ATTN_BF16 && s->dtype != ATTN_FP16)
		return "prefix_stream: dtype must be bf16 or fp16";
	if ((long long)s->n_heads * s->n_chunks > 0x7fffffffLL)
		return "prefix_stream: n_heads x n_chunks too large";
	const char *why = ps_plan_check_levels(s);
	if (why)
		return why;
	/* GQA/MQA: a K/V head's tiles hold the n_seqs x g query rows that read
	 * it, as MHA's hold n_seqs; the tile variants end at 256 rows, and
	 * more run as batches of whole sequences: one sequence's g rows
	 * must fit */
	if (ps_plan_group(s) > PS_MAX_ROWS)
		return "prefix_stream: n_heads / n_kv_heads query heads per K/V head must be <= 256";
	return NULL;
}

const char *ps_plan_check_levels(const struct attn_shape *s)
{
	/* first what the pool's count below needs to be computable */
	if (s->chunk_size != PS_CHUNK)
		return "prefix_stream: chunk_size must be 64";
	if (s->n_seqs < 1 || s->n_kv_heads < 1 || s->n_chunks < 0)
		return NULL; /* ps_plan_check says why */
	if (s->group_chunks < 0 || s->suffix_len < 0 || s->suffix_len > (1 << 30))
		return "prefix_stream: group_chunks and suffix_len must be >= 0 (suffix_len <= 2^30)";
	/* the levels after the prefix run on split_decode's grid (kernels/
	 * split_decode.h): its limits, as hydragen's check says them */
	if (s->group_chunks > 0 && (s->n_groups < 1 || s->n_seqs % s->n_groups != 0))
		return "prefix_stream: n_seqs must be a multiple of n_groups";
	/* the common prefix's chunks are anywhere in the pool (the tables say
	 * where): the tensor maps span the whole pool */
	if (attn_pool_chunks(s) * s->n_kv_heads * PS_CHUNK > 0x7fffffffL)
		return "prefix_stream: the pool's rows must fit the tensor map's 32-bit coordinates";
	if (!ps_plan_is_tree(s))
		return NULL;
	if ((long long)s->n_seqs * s->n_heads > 0x7fffffffLL / 64)
		return "prefix_stream: group chunks or a suffix need n_seqs x n_heads < 2^25";
	if ((long long)attn_seq_chunks(s) * PS_CHUNK >= (1LL << 30))
		return "prefix_stream: a sequence's context must hold < 2^30 tokens";
	return NULL;
}

int ps_plan_tree_own(const struct attn_shape *s, const struct ps_opts *o)
{
	if (!ps_plan_is_tree(s))
		return 0;
	if (o->tree != PS_TREE_AUTO)
		return o->tree == PS_TREE_OWN;
	/* a variant that forces a choice of the own kernel (its path, merge,
	 * splits, PDL, tiles) runs it on every tree shape: its rows measure
	 * that choice, and its tests reach the prefix's slot-0 stores */
	if (o->path != PS_PATH_AUTO || o->merge != PS_MERGE_AUTO || o->splits != 0 || o->pdl != PS_PDL_AUTO ||
	    o->rows2 != 0)
		return 1;
	/* the levels' chunks of one K/V head: the groups' and the suffixes' */
	const long long levels = attn_pool_chunks(s) - (long long)s->n_chunks;
	return s->n_chunks >= PS_TREE_OWN_MIN_CHUNKS &&
	       levels <= (long long)PS_TREE_OWN_MAX_LEVELS_PER_PREFIX * s->n_chunks;
}

const char *ps_plan_kernel(const struct attn_shape *s, const struct ps_device *d, const struct ps_opts *o,
			   struct ps_plan *pl)
{
	/* the path: TMA + wgmma where the image has sm_90a code and the
	 * driver the tensor-map encoder, wgmma + cp.async without the encoder,
	 * else mma.sync + cp.async */
	int path = d->sm90a ? PS_PATH_WGMMA_TMA : PS_PATH_MMA;
	if (o->path == PS_PATH_MMA || (o->path > PS_PATH_MMA && path == PS_PATH_WGMMA_TMA))
		path = o->path;
	if (path == PS_PATH_WGMMA_TMA && !d->tma)
		path = PS_PATH_WGMMA_CPASYNC; /* no driver entry point: wgmma with cp.async */
	if (o->path != PS_PATH_AUTO && path != o->path)
		return d->sm90a ? "prefix_stream: this variant needs the driver's tensor-map encoder (TMA)"
				: "prefix_stream: this variant needs wgmma (a GPU_ARCH=sm_90a build)";
	if (o->pdl != PS_PDL_AUTO && !d->sm90a)
		return "prefix_stream: this variant needs griddepcontrol (a GPU_ARCH=sm_90a build)";
	if (o->pdl == 2 && path != PS_PATH_WGMMA_TMA)
		return "prefix_stream: K/V loads before the grid wait need the TMA path";

	/* the kernel is planned for the rows of the first (largest) batch */
	const int batches = ps_plan_batches(s), per = ps_plan_batch_seqs(s), g = ps_plan_group(s);
	if (batches > PS_MAX_BATCHES)
		return "prefix_stream: more than 65535 batches of sequences (n_seqs / (256 / (n_heads / n_kv_heads)))";
	const int rows = per * g;
	pl->batches = batches;
	pl->rows_last = (s->n_seqs - (batches - 1) * per) * g;
	const int nqg = (rows + ps_rows[path] - 1) / ps_rows[path];
	const int v = nqg <= ps_maxqg[path][0] ? 0 : nqg <= ps_maxqg[path][1] ? 1 : 2;
	pl->path = path;
	pl->gqa = ps_plan_group(s) > 1;
	pl->rows = rows;
	pl->variant = v;
	pl->nqg = nqg;
	pl->threads = nqg * ps_kg[path][v] * ps_group_threads[path];
	const size_t qbytes = (size_t)ps_rows[path] * PS_D * 2;
	const size_t bars = 64; /* mbarriers: a "full" and (v10, variant 1) an "empty" one per stage, <= 4 stages */
	pl->smem = (size_t)ps_nstage[path][v] * PS_STAGE_BYTES + (size_t)nqg * qbytes + bars;
	/* the function's limit: its variant's largest use, at least the spread size */
	const size_t smax = (size_t)ps_nstage[path][v] * PS_STAGE_BYTES + (size_t)ps_maxqg[path][v] * qbytes + bars;
	pl->smem_attr = smax > PS_SPREAD_SMEM ? smax : PS_SPREAD_SMEM;
	pl->rows2 = 0;
	const int v11 = path == PS_PATH_WGMMA_TMA && rows >= PS_ROWS2_MIN_ROWS;
	if (o->rows2 < 0 && !v11)
		return "prefix_stream: this variant (the 4-warpgroup tiles instead of v11's kernel) differs from the default "
		       "only at 65-256 query rows a K/V head on the TMA path";
	if (o->rows2 > 0 && path != PS_PATH_WGMMA_TMA)
		return "prefix_stream: this variant's kernel (v11) needs the TMA path (an sm_90a build and the driver's encoder)";
	if (o->rows2 == 1 && !v11)
		return "prefix_stream: this variant runs v11's kernel at 65-256 query rows a K/V head only";
	if (o->rows2 == 2 && !v11)
		return "prefix_stream: this variant runs v11's ping-pong kernel at 65-256 query rows a K/V head only";
	if (o->rows2 >= 0 && v11) { /* v11: 2 warpgroups x two 64-row blocks (4 stages, Q padded to 256 rows), or KG2 (6 stages, 128 rows) */
		const int kg = rows <= PS_ROWS2_KG_MAX_ROWS;
		pl->rows2 = o->rows2 == 2 ? (kg ? 4 : 3) : kg ? 2 : 1;
		pl->nqg = kg ? PS_ROWS2_KG_BLOCKS : PS_ROWS2_BLOCKS;
		pl->threads = PS_ROWS2_THREADS;
		const int nstage = kg ? PS_ROWS2_KG_NSTAGE : PS_ROWS2_NSTAGE;
		/* a "full" and an "empty" mbarrier a stage */
		pl->smem = (size_t)nstage * PS_STAGE_BYTES + (size_t)pl->nqg * qbytes + (size_t)nstage * 16;
		pl->smem_attr = pl->smem > PS_SPREAD_SMEM ? pl->smem : PS_SPREAD_SMEM;
	}
	if (pl->smem_attr > (size_t)d->smem_per_block)
		return "prefix_stream: the device's shared memory per CTA is too small for this kernel";
	return NULL;
}

/* Split count.  Measured (v4, H100, TMA path, cold): one CTA streams a
 * chunk in ~1.1 us whatever the split, so a config needs ~one busy CTA per
 * SM to approach the read ceiling, and every split costs a merge (~2-5 us,
 * more CTAs, more partials).  The best S of the sweeps was, at every seed
 * point, the one that gives ~one CTA per SM: H*S ~ SMs, S <= n_chunks.
 * (Two CTAs per SM was never better below 256 MB: the merge costs more than
 * the second CTA brings.)  Configs with H >= SMs run unsplit.  H here is
 * the grid's heads: the K/V heads (n_kv_heads; MHA: n_heads), one CTA row
 * of the grid per K/V head for all its g query heads. */
static int plan_splits(int H, int C, int sms, int slots)
{
	if (H >= sms || H > PS_MAX_SPLIT_HEADS)
		return 1;
	int S = sms / H;
	/* v8c (H200, measured): where one CTA an SM leaves the grid unsplit
	 * (sms/2 < H < sms) and two CTAs fit an SM, S = 2 -- two CTAs an SM,
	 * a cluster pair or global merge -- reads faster once each CTA keeps
	 * >= 64 chunks: 128 x 128 0.965x / 0.983x the time (n_seqs 32 / 64),
	 * 128 x 256 0.94x, 100 x 128 0.85x; at 32 chunks a CTA (128 x 64) the
	 * merge costs more: 1.02-1.03x. */
	if (S == 1 && 2 * H <= slots && C >= 2 * PS_S2_MIN_CHUNKS)
		S = 2;
	return S > C ? C : S;
}

const char *ps_plan_grid(const struct attn_shape *s, const struct ps_device *d, const struct ps_opts *o,
			 const struct ps_occupancy *occ, struct ps_plan *pl)
{
	/* the grid: H x S CTAs, H = the K/V heads x the batches (each its own
	 * heads for the splits, merges and counters) */
	const long long hb = (long long)s->n_kv_heads * (pl->batches > 0 ? pl->batches : 1);
	const int H = hb > 0x7fffffffLL ? 0x7fffffff : (int)hb, C = s->n_chunks, sms = d->sms;
	const int max_cluster = d->max_cluster < PS_MAX_CLUSTER ? d->max_cluster : PS_MAX_CLUSTER;
	if (occ->ctas_per_sm < 1)
		return "prefix_stream: no CTA of this kernel fits on an SM";
	pl->slots = occ->ctas_per_sm * sms;
	int S;
	if (o->splits > 0) {
		S = o->splits;
		if (S > C)
			return "prefix_stream: this variant's split count is more than n_chunks";
		if (S > 1 && H > PS_MAX_SPLIT_HEADS)
			return "prefix_stream: split grids need n_kv_heads x batches <= 4096";
		if (S > 1 && (long long)S * H > pl->slots)
			return "prefix_stream: this variant's n_kv_heads x batches x splits CTAs do not fit on the device at once";
	} else {
		S = plan_splits(H, C, sms, pl->slots);
	}
	if (o->merge != PS_MERGE_AUTO && S == 1)
		return "prefix_stream: this variant's merge needs a split grid (the shape plans one split: "
		       "n_kv_heads >= SMs or n_chunks = 1)";
	/* merge and spread (v6, measured): split grids run one CTA per SM
	 * (PS_SPREAD_SMEM: two CTAs on one SM -- co-scheduled cluster peers,
	 * or a PDL-launched next grid's CTAs -- cost 1-3 us); the head's S CTAs
	 * merge as one cluster over DSMEM when all H clusters of S fit on the
	 * chip at once, with a margin for S > 2 (1-2.5 us cheaper than global
	 * partials; clusters that do not fit run in two waves: 1.5-2x
	 * slower).  When the plan's S does not fit, a smaller cluster wins if
	 * its CTAs carry at most one chunk more; else global partials at the
	 * plan's S.  A forced split count tries its own S only.  (Heads are
	 * K/V heads throughout: a cluster or a meet per K/V head.) */
	const int forced_S = o->splits > 0;
	/* an unsplit grid of more than half the SMs is spread too (session 12,
	 * measured: 128 x 64): its PDL-launched successor's CTAs then wait for
	 * free SMs instead of landing two to an SM, and PDL goes on below */
	pl->spread = (S > 1 || 2LL * H > sms) && (long long)S * H <= sms;
	pl->cluster = 0;
	if (o->merge == PS_MERGE_CLUSTER) {
		if (S > max_cluster)
			return max_cluster ? "prefix_stream: the cluster merge needs <= 8 splits (the shape plans more)"
					   : "prefix_stream: the device has no thread-block clusters";
		if (occ->clusters[pl->spread][S] < 1)
			return "prefix_stream: a cluster of this shape's splits does not fit on the device";
		pl->cluster = 1;
	} else if (o->merge == PS_MERGE_AUTO && S > 1) {
		const int pc0 = (C + S - 1) / S;
		for (int c = S < max_cluster ? S : max_cluster; c >= 2; --c) {
			if (c < S && (forced_S || (C + c - 1) / c > pc0 + 1))
				break;
			const int sp = (long long)c * H <= sms;
			/* a margin beyond pairs: clusters that fit exactly measured
			 * slow ((32,8) at S = 4, (16,16) at S = 8, spread) */
			if (occ->clusters[sp][c] >= (c == 2 ? H : H + (H + 3) / 4)) {
				S = c;
				pl->cluster = 1;
				pl->spread = sp;
				break;
			}
		}
	}
	pl->splits = S;
	const long long grid = (long long)S * H;
	const int per_cta = (C + S - 1) / S; /* chunks of the busiest CTA */
	/* PDL (needs griddepcontrol in the device image: the sm_90a build):
	 * on where the next grid's CTAs cannot crowd this one's SMs (spread,
	 * or a grid of at most half the SMs) or where CTAs are short (<= 2
	 * chunks); measured 1.5-2 us per launch there, and 3-20% slower on
	 * unspread grids that fill the chip (their next grid's CTAs land
	 * two to an SM). */
	pl->pdl = 0;
	if (d->sm90a)
		pl->pdl = o->pdl != PS_PDL_AUTO ? o->pdl
						: (2 * grid <= sms || per_cta <= 2 || pl->spread) ? PS_PDL_DEFAULT : 0;
	/* the S >= 3 meet needs the grid co-resident: S * H <= slots holds by
	 * construction, so a plain launch gets it as long as nothing holds
	 * the SMs for good.  Without PDL the launch is cooperative (the
	 * guarantee in writing); with PDL it is plain, and the next kernel's
	 * CTAs only start once all of this one's are resident (they trigger
	 * at entry). */
	pl->coop = S > 1 && !pl->cluster && !pl->pdl;
	return NULL;
}

size_t ps_plan_dyn_smem(const struct ps_plan *pl, int spread)
{
	return spread && pl->smem < PS_SPREAD_SMEM ? PS_SPREAD_SMEM : pl->smem;
}

size_t ps_plan_partial_rows(const struct attn_shape *s, const struct ps_plan *pl)
{
	if (pl->splits <= 1 || pl->cluster)
		return 0;
	/* per (batch, K/V head, split, row): every batch strided by the first's rows */
	return (size_t)s->n_kv_heads * (pl->batches > 0 ? pl->batches : 1) * pl->splits * pl->rows;
}

size_t ps_plan_workspace(const struct attn_shape *s, const struct ps_plan *pl)
{
	const size_t n = ps_plan_partial_rows(s, pl);
	return n * PS_D * sizeof(float) + n * 2 * sizeof(float); /* o, then (m, l) */
}
