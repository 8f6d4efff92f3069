/* tree_levels.h - the levels of a prefix tree run on split_decode's grid
 * (kernels/split_decode.h: split-K decode over the tree's nodes, each shared
 * node's sequences x g query heads batched as the rows of one CTA's tiles):
 * one instantiation of its kernel, every m-tile count, in
 * kernels/tree_levels.cu.  Plain C declarations.
 *
 * Users: hydragen runs every level through it (tree_levels_all_*);
 * prefix_stream on a tree workload with a long prefix runs its own kernel
 * over the common prefix (partial slot 0) and the levels after it through
 * this one (slots 1..), with a short prefix every level as hydragen.  The plan is
 * level_plan_make's (kernels/level_plan.c). */
#ifndef TREE_LEVELS_H
#define TREE_LEVELS_H

#include "attn.h"
#include "level_plan.h"
#include "merge.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The plan of levels first_level .. 2 of shape s for the current device
 * (its CTA slots for the kernel), slots 0 .. slot_base - 1 the caller's;
 * the last few plans are cached.  Returns a cudaError_t. */
int tree_levels_plan(const struct attn_shape *s, int first_level, int slot_base, struct level_plan *out);

/* 0 if a's tree tables are the tree plan pl assumed and pp holds its
 * slots, else cudaErrorInvalidValue (tree_levels_launch checks it too; a
 * caller that enqueues work of its own first asks before it) */
int tree_levels_check(const struct attn_args *a, const struct level_plan *pl, const struct attn_partials *pp);

/* Enqueues the grid of plan pl over a's tree tables, its partials into pp's
 * slots (a segment with slot0 < 0: straight to a->out), then, when pp holds
 * more than one slot, merge.cu's fold of every slot into a->out.  The
 * tables must be the tree the plan assumed (else cudaErrorInvalidValue).
 * Returns a cudaError_t. */
int tree_levels_launch(const struct attn_args *a, const struct level_plan *pl, const struct attn_partials *pp,
		       struct CUstream_st *stream);

/* The whole tree, every level from the common prefix on, in one grid and
 * the merge (hydragen's plan; prefix_stream's for short prefixes, v14): the
 * workspace it needs (0 where the plan fails: the launch reports it), and
 * its launch (a cudaError_t). */
size_t tree_levels_all_workspace(const struct attn_shape *s);
int tree_levels_all_launch(const struct attn_args *a, struct CUstream_st *stream);

#ifdef __cplusplus
}
#endif

#endif
