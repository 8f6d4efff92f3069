/* hydragen.cu - Hydragen (Juravsky et al. 2024, arXiv 2402.05099; re-written,
 * not ported): attention decomposed over the prefix tree, each shared level
 * with inter-sequence batching, combined by log-sum-exp.
 *
 * Idea: softmax attention over a sequence's context is the log-sum-exp
 * combination of attention over disjoint parts of it.  For the parts shared
 * by many sequences -- the common prefix, a group's chunks -- the queries of
 * all sequences that share the part (times the g = n_heads / n_kv_heads
 * query heads of one K/V head) are stacked as the rows of one matrix-matrix
 * attention against that part's K/V: the part is read once, the tensor cores
 * see n_seqs * g rows instead of g.  Each sequence's own suffix is a
 * per-sequence part (g rows).  Every part writes partial states (m, l, o);
 * the merge (merge.cu) folds each (sequence, head)'s parts with the rule of
 * softmax_merge.h: m = max, each part weighted by exp(m_part - m) * l_part.
 * (The seed's port weighted the parts wrongly and was never tested; this one
 * is validated on inputs whose largest logits sit in one part only, see
 * tests/gpu/test_gpu.sh.)
 *
 * How, here: one launch of split_decode.h's CTA (the same core as paged)
 * over up to three grid segments, one per tree level, heavy level first:
 *   level 0  the common prefix: one node, rows = n_seqs * g (row tiles of
 *            64 when more), split-K over its chunks;
 *   level 1  one node per group: rows = (n_seqs / n_groups) * g;
 *   level 2  one node per sequence (its suffix, last chunk partial): rows g.
 * The prefix part is the project's own fused tensor-core attention (mma.sync,
 * online softmax in registers), not cuBLAS GEMMs: two GEMMs would write and
 * re-read the score matrix, rows x prefix tokens x 4 B (at 128 sequences x 4
 * heads x 32K tokens, 64 MiB per K/V head, as much as the K/V itself), and
 * run the softmax as a third pass; fused, the prefix is read once and
 * nothing but the (m, l, o) partials is written.
 * Splits: one grain of chunks per CTA for the whole grid, level L gets
 * ceil(chunks_L / grain) splits; the grain minimizes the estimated time of
 * the grid and the merge (hydragen_plan): never one wave and a sliver of
 * long CTAs, never many short CTAs and many partials.  Partial slots: level
 * 0's splits first, then level 1's, then level 2's; a forward pass with one
 * slot in all writes out directly, else the merge folds every slot.
 *
 * Bytes per forward pass: each level's distinct K/V once from DRAM (row tiles
 * past the first re-read it from L2), Q, the partials (n_parts x n_seqs x
 * n_heads x 264 B written and read) and out.
 *
 * Limits: chunk_size 64, d_head 128, bf16/fp16, n_heads % n_kv_heads == 0,
 * fewer than 2^31 CTAs.  workspace() and launch() must see the same current
 * device (the splits depend on its SM count).  Measured and the log:
 * docs/kernels/hydragen.md.
 */
#include <cuda_runtime.h>
#include <string.h>

#include "attn.h"
#include "merge.h"
#include "split_decode.h"

/* every m-tile count in one kernel: levels differ in rows */
#define HG_MTS 7
/* A CTA's fixed cost in chunks (Q load, pipeline fill, epilogue, its
 * partials written and merged): without it the cost rule below chose one
 * chunk per CTA for a 64 x 4-row prefix of 32-128 chunks beside short
 * suffixes, 2-4x slower than 4-8 chunks per CTA (docs/kernels/hydragen.md). */
#define HG_CTA_COST 2

struct hg_plan {
	struct sd_segment seg[SD_MAX_SEGMENTS];
	int n_segments, n_parts;
};

static const char *hydragen_check(const struct attn_shape *s)
{
	static_assert(SD_CHUNK == 64 && SD_D == 128, "ATTN_CHECK_TILE_64x128 checks these");
	ATTN_CHECK_TILE_64x128("hydragen", s);
	if (s->n_kv_heads < 1 || s->n_heads % s->n_kv_heads != 0)
		return "hydragen needs n_heads to be a multiple of n_kv_heads";
	if (s->n_groups < 1 || s->n_seqs % s->n_groups != 0)
		return "hydragen needs n_seqs to be a multiple of n_groups";
	if ((long long)s->n_seqs * s->n_heads > 0x7fffffffLL / 64)
		return "hydragen needs n_seqs * n_heads < 2^25";
	if ((long long)attn_seq_chunks(s) * SD_CHUNK >= (1LL << 30))
		return "hydragen needs a sequence's context to hold < 2^30 tokens";
	return NULL;
}

static sd_fn hydragen_fn(const struct attn_shape *s)
{
	return s->dtype == ATTN_BF16 ? sd_kernel<__nv_bfloat16, HG_MTS, true> : sd_kernel<__half, HG_MTS, true>;
}

/* The plan of a shape on a device of `slots` CTA slots: the tree's levels
 * from the shape alone (tools/lib/tree.c lays the nodes out level by level),
 * so workspace() can size the partials before any table exists.  The grain
 * (chunks per CTA, the same for every level) minimizes an estimate of the
 * forward pass: the larger of (all CTAs' chunks + HG_CTA_COST each) / slots
 * and whole waves of the longest CTAs, plus the merge's partial traffic;
 * ties go to the larger grain (fewer partials).  v2/v3 counted waves of
 * every CTA alike, so a level of one-chunk suffix CTAs pushed the prefix to
 * 9-chunk CTAs, measured slower than 64-chunk ones (docs/kernels/hydragen.md).
 * Candidates: the grains that give the largest level p splits, p = 1 .. 8
 * waves' worth.  The last plan is cached (host time per launch). */
static struct hg_plan hydragen_plan(const struct attn_shape *s, long long slots)
{
	static struct attn_shape c_shape;
	static long long c_slots = -1;
	static struct hg_plan c_plan;
	if (slots == c_slots && memcmp(s, &c_shape, sizeof *s) == 0)
		return c_plan;

	struct hg_plan pl = {};
	const int G = attn_group_size(s);
	struct {
		int nodes, seqs, chunks;
	} lv[SD_MAX_SEGMENTS] = {
		{ 1, s->n_seqs, s->n_chunks },
		{ s->group_chunks > 0 ? s->n_groups : 0, s->n_seqs / s->n_groups, s->group_chunks },
		{ s->suffix_len > 0 ? s->n_seqs : 0, 1, attn_suffix_chunks(s) },
	};
	long long base[SD_MAX_SEGMENTS], chunks[SD_MAX_SEGMENTS], cmax = 1, bmin = 0;
	int first = 0;
	for (int L = 0; L < SD_MAX_SEGMENTS; L++) {
		if (lv[L].nodes == 0 || lv[L].chunks == 0)
			continue;
		const int i = pl.n_segments++;
		struct sd_segment *sg = &pl.seg[i];
		const long long rows = (long long)lv[L].seqs * G;
		sg->n_nodes = lv[L].nodes;
		sg->node_first = first;
		sg->rows = (int)rows;
		sg->mt = sd_mt_for_rows(rows);
		sg->row_tiles = (int)((rows + 16 * sg->mt - 1) / (16 * sg->mt));
		first += lv[L].nodes;
		base[i] = (long long)sg->row_tiles * sg->n_nodes * s->n_kv_heads;
		chunks[i] = lv[L].chunks;
		if (chunks[i] > cmax) {
			cmax = chunks[i];
			bmin = base[i];
		}
	}
	if (slots < 1)
		slots = 1;
	/* time in units of one chunk per CTA: work over the slots, at least the
	 * longest CTA and the whole waves of the longest CTAs, plus the merge's
	 * partial traffic (written and read, 528 B a row, against 32 KiB chunks
	 * read by every slot) */
	const long long rows_out = (long long)s->n_seqs * s->n_heads;
	long long best_grain = cmax;
	double best_cost = -1;
	const long long pmax = bmin > 0 ? 8 * slots / bmin + 1 : 1;
	for (long long p = 1; p <= pmax && p <= cmax; p++) {
		const long long grain = (cmax + p - 1) / p;
		long long n = 0, parts = 0, longest = 0, n_longest = 0;
		double work = 0;
		for (int i = 0; i < pl.n_segments; i++) {
			const long long splits = (chunks[i] + grain - 1) / grain;
			const long long per = (chunks[i] + splits - 1) / splits + HG_CTA_COST;
			n += base[i] * splits;
			parts += splits;
			work += (double)(base[i] * splits) * (double)per;
			if (per > longest)
				longest = per, n_longest = 0;
			if (per == longest)
				n_longest += base[i] * splits;
		}
		if (n > 0x7fffffffLL)
			break;
		double cost = work / (double)slots;
		const double waves = (double)((n_longest + slots - 1) / slots) * (double)longest;
		cost = cost > waves ? cost : waves;
		if (parts > 1)
			cost += (double)parts * (double)rows_out * 528.0 / (32768.0 * (double)slots);
		if (best_cost < 0 || cost < best_cost - 1e-9) {
			best_cost = cost;
			best_grain = grain;
		}
	}
	for (int i = 0; i < pl.n_segments; i++) {
		struct sd_segment *sg = &pl.seg[i];
		sg->splits = (int)((chunks[i] + best_grain - 1) / best_grain);
		sg->slot0 = pl.n_parts;
		pl.n_parts += sg->splits;
	}
	if (pl.n_parts == 1)
		pl.seg[0].slot0 = -1; /* the only partial: straight to out */
	c_shape = *s;
	c_slots = slots;
	c_plan = pl;
	return pl;
}

static cudaError_t hydragen_setup(const struct attn_shape *s, struct hg_plan *pl)
{
	long long slots = 0;
	cudaError_t e = sd_slots(hydragen_fn(s), SD_SMEM_BYTES(4), &slots);
	if (e == cudaSuccess)
		*pl = hydragen_plan(s, slots);
	return e;
}

static size_t hydragen_workspace(const struct attn_shape *s)
{
	struct hg_plan pl;
	if (hydragen_check(s) != NULL || hydragen_setup(s, &pl) != cudaSuccess || pl.n_parts <= 1)
		return 0;
	return attn_partials_bytes_t(pl.n_parts, s->n_heads, s->n_seqs, s->d_head,
				     attn_chunk_part_dtype(s));
}

static int hydragen_launch(const struct attn_args *a, struct CUstream_st *stream)
{
	const struct attn_shape *s = &a->s;
	const struct attn_tree *ht = a->host_tree;
	if (hydragen_check(s) != NULL || ht == NULL || a->tree.nodes == NULL)
		return (int)cudaErrorInvalidValue;
	struct hg_plan pl;
	cudaError_t e = hydragen_setup(s, &pl);
	if (e != cudaSuccess)
		return (int)e;
	if (pl.n_parts > 1 && a->work == NULL)
		return (int)cudaErrorInvalidValue;
	/* the tables must be the tree the plan assumed */
	for (int i = 0; i < pl.n_segments; i++) {
		const struct sd_segment *sg = &pl.seg[i];
		const struct attn_node *nd = &ht->nodes[sg->node_first];
		if (sg->node_first + sg->n_nodes > ht->n_nodes || nd->n_seqs * attn_group_size(s) != sg->rows)
			return (int)cudaErrorInvalidValue;
	}
	struct attn_partials pp = {};
	if (pl.n_parts > 1)
		pp = attn_partials_at_t(a->work, pl.n_parts, s->n_heads, s->n_seqs, s->d_head,
					attn_chunk_part_dtype(s));
	struct sd_params p = sd_params_of(a, &pp);
	p.nodes = a->tree.nodes;
	p.node_chunks = a->tree.node_chunks;
	p.n_segments = pl.n_segments;
	for (int i = 0; i < pl.n_segments; i++)
		p.seg[i] = pl.seg[i];
	return sd_forward(hydragen_fn(s), SD_SMEM_BYTES(4), &p, &pp, (cudaStream_t)stream);
}

extern "C" const struct attn_kernel attn_kernel_hydragen = {
	"hydragen",
	"Hydragen: each prefix-tree level one batched matrix-matrix attention (n_seqs x g rows), suffixes per sequence, log-sum-exp merge",
	hydragen_check,
	hydragen_workspace,
	hydragen_launch,
};
