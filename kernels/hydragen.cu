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
 * How, here: one launch of split_decode.h's CTA (the same core as paged;
 * launched through kernels/tree_levels.h) over up to three grid segments,
 * one per tree level, heavy level first:
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
 * the grid and the merge (level_plan_make, kernels/level_plan.c): never one wave and a sliver of
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
#include "tree_levels.h"

static const char *hydragen_check(const struct attn_shape *s)
{
	ATTN_CHECK_TILE_64x128("hydragen", s);
	if (s->n_kv_heads < 1 || s->n_heads % s->n_kv_heads != 0)
		return "hydragen needs n_heads to be a multiple of n_kv_heads";
	if (s->n_groups < 1 || s->n_seqs % s->n_groups != 0)
		return "hydragen needs n_seqs to be a multiple of n_groups";
	if ((long long)s->n_seqs * s->n_heads > 0x7fffffffLL / 64)
		return "hydragen needs n_seqs * n_heads < 2^25";
	if ((long long)attn_seq_chunks(s) * s->chunk_size >= (1LL << 30))
		return "hydragen needs a sequence's context to hold < 2^30 tokens";
	return NULL;
}

/* The plan (kernels/tree_levels.h, level_plan_make): every level of the
 * tree, one grain of chunks per CTA.  v2/v3 counted waves of every CTA
 * alike, so a level of one-chunk suffix CTAs pushed the prefix to 9-chunk
 * CTAs, measured slower than 64-chunk ones (docs/kernels/hydragen.md). */
static size_t hydragen_workspace(const struct attn_shape *s)
{
	return hydragen_check(s) != NULL ? 0 : tree_levels_all_workspace(s);
}

static int hydragen_launch(const struct attn_args *a, struct CUstream_st *stream)
{
	if (hydragen_check(&a->s) != NULL)
		return (int)cudaErrorInvalidValue;
	return tree_levels_all_launch(a, stream);
}

extern "C" const struct attn_kernel attn_kernel_hydragen = {
	"hydragen",
	"Hydragen: each prefix-tree level one batched matrix-matrix attention (n_seqs x g rows), suffixes per sequence, log-sum-exp merge",
	hydragen_check,
	hydragen_workspace,
	hydragen_launch,
};
