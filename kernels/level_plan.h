/* level_plan.h - how split_decode's grid (kernels/split_decode.h) covers the
 * levels of a prefix tree: its segments, and the plan that cuts each level's
 * chunks into splits.  Plain C11 (no CUDA), so the planner runs and is tested
 * on the CPU (tests/unit/test_level_plan.c).
 *
 * Users: hydragen (every level of the tree, kernels/hydragen.cu) and
 * prefix_stream on tree workloads (the levels after the common prefix; the
 * prefix itself is its own kernel's, kernels/prefix_stream.cu).  paged fills
 * one segment of sequence nodes by hand.
 *
 * The levels are attn.h's: 0 the common prefix (one node, n_seqs x g rows),
 * 1 a node per group ((n_seqs / n_groups) x g rows), 2 a node per sequence
 * (its suffix, g rows, last chunk partial); nodes are numbered level by
 * level as tools/lib/tree.c lays them out, so the plan is a function of the
 * shape alone and workspace() can size the partials before any table exists.
 */
#ifndef LEVEL_PLAN_H
#define LEVEL_PLAN_H

#include "attn.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SD_MAX_SEGMENTS 3 /* tree levels */

/* One segment of the grid: a level's nodes x K/V heads x splits x row tiles. */
struct sd_segment {
	int block_begin; /* its first CTA (the launcher fills it in: sd_launch) */
	int n_nodes;     /* nodes (explicit: nodes[node_first ..]; else sequences) */
	int node_first;
	int rows;        /* query rows of each node: its sequences x g */
	int row_tiles;   /* ceil(rows / (16 * mt)) */
	int mt;          /* m-tiles per CTA: 1, 2 or 4 */
	int splits;      /* CTAs per (row tile, node, K/V head), each a run of whole chunks */
	int slot0;       /* partial slot of split 0; < 0: write out directly (splits == 1) */
};

/* m-tiles for a node of `rows` query rows (more than 64: row tiles of 64) */
static inline int sd_mt_for_rows(long long rows)
{
	return rows <= 16 ? 1 : rows <= 32 ? 2 : 4;
}

struct level_plan {
	struct sd_segment seg[SD_MAX_SEGMENTS]; /* the planned levels, in level order */
	int n_segments;
	int n_parts; /* partial slots per (sequence, head): slot_base + every segment's splits */
};

/* Plans levels first_level .. 2 of shape s (the levels with nodes and
 * chunks) for a device of `slots` CTA slots of sd_kernel.  slot_base slots
 * are the caller's (0 for hydragen; 1 for prefix_stream, whose slot 0 is
 * the common prefix): the levels' splits take slots slot_base, ... in level
 * order.  With slot_base 0 and one partial in all, that one writes out
 * directly (seg[0].slot0 = -1, n_parts 1).
 *
 * One grain (chunks per CTA) for the whole grid; level L gets ceil(chunks_L
 * / grain) splits.  The grain minimizes an estimate of the forward pass, in
 * units of one chunk per CTA: the larger of (all CTAs' work: chunks + a
 * fixed cost each) / slots and whole waves of the longest CTAs, plus the
 * merge's partial traffic; ties go to the larger grain (fewer partials).
 * Where the grid's list schedule (CTAs into the earliest-free slot in
 * launch order) says that grain leaves a sliver of long CTAs past the
 * first wave, a grain of nearly the same estimate and a clearly shorter
 * schedule is taken instead (v6).  The measurements behind both:
 * docs/kernels/hydragen.md.  s must pass the
 * caller's check (n_seqs % n_groups == 0 where group_chunks > 0). */
void level_plan_make(const struct attn_shape *s, long long slots, int first_level, int slot_base,
		     struct level_plan *pl);

#ifdef __cplusplus
}
#endif

#endif
