/* tree_levels.cu - the levels of a prefix tree on split_decode's grid (see
 * tree_levels.h): the one instantiation of sd_kernel with every m-tile count
 * and lazy rescaling, its plan cache and its launch. */
#include <cuda_runtime.h>
#include <string.h>

#include "tree_levels.h"
#include "split_decode.h"

/* every m-tile count in one kernel: levels differ in rows */
#define TL_MTS 7

static sd_fn tree_levels_fn(const struct attn_shape *s)
{
	return s->dtype == ATTN_FP16 ? sd_kernel<__half, TL_MTS, true> : sd_kernel<__nv_bfloat16, TL_MTS, true>;
}

extern "C" int tree_levels_plan(const struct attn_shape *s, int first_level, int slot_base, struct level_plan *out)
{
	/* a few recent plans: run-kernel -k hydragen,prefix_stream alternates
	 * two per shape (host time per launch) */
	enum { CACHE = 8 };
	static struct {
		struct attn_shape s;
		long long slots;
		int first_level, slot_base;
		struct level_plan pl;
	} cache[CACHE];
	static int n_cached, next;
	long long slots = 0;
	const cudaError_t e = sd_slots(tree_levels_fn(s), SD_SMEM_BYTES(4), &slots);
	if (e != cudaSuccess)
		return (int)e;
	for (int i = 0; i < n_cached; i++)
		if (cache[i].slots == slots && cache[i].first_level == first_level && cache[i].slot_base == slot_base &&
		    memcmp(&cache[i].s, s, sizeof *s) == 0) {
			*out = cache[i].pl;
			return 0;
		}
	level_plan_make(s, slots, first_level, slot_base, out);
	cache[next].s = *s;
	cache[next].slots = slots;
	cache[next].first_level = first_level;
	cache[next].slot_base = slot_base;
	cache[next].pl = *out;
	next = (next + 1) % CACHE;
	if (n_cached < CACHE)
		n_cached++;
	return 0;
}

extern "C" int tree_levels_check(const struct attn_args *a, const struct level_plan *pl, const struct attn_partials *pp)
{
	const struct attn_shape *s = &a->s;
	const struct attn_tree *ht = a->host_tree;
	if (ht == NULL || a->tree.nodes == NULL || pl->n_segments < 1 || pl->n_segments > SD_MAX_SEGMENTS)
		return (int)cudaErrorInvalidValue;
	/* the tables must be the tree the plan assumed */
	for (int i = 0; i < pl->n_segments; i++) {
		const struct sd_segment *sg = &pl->seg[i];
		if (sg->node_first < 0 || sg->node_first + sg->n_nodes > ht->n_nodes ||
		    ht->nodes[sg->node_first].n_seqs * attn_group_size(s) != sg->rows)
			return (int)cudaErrorInvalidValue;
		if (sg->slot0 >= 0 && (pp->o == NULL || sg->slot0 + sg->splits > pp->n_parts))
			return (int)cudaErrorInvalidValue;
	}
	return 0;
}

extern "C" int tree_levels_launch(const struct attn_args *a, const struct level_plan *pl, const struct attn_partials *pp,
				  struct CUstream_st *stream)
{
	const int e = tree_levels_check(a, pl, pp);
	if (e)
		return e;
	const struct attn_shape *s = &a->s;
	struct sd_params p = sd_params_of(a, pp);
	p.nodes = a->tree.nodes;
	p.node_chunks = a->tree.node_chunks;
	p.n_segments = pl->n_segments;
	for (int i = 0; i < pl->n_segments; i++)
		p.seg[i] = pl->seg[i];
	return sd_forward(tree_levels_fn(s), SD_SMEM_BYTES(4), &p, pp, (cudaStream_t)stream);
}

extern "C" size_t tree_levels_all_workspace(const struct attn_shape *s)
{
	struct level_plan pl;
	if (tree_levels_plan(s, ATTN_LEVEL_COMMON, 0, &pl) != 0) {
		(void)cudaGetLastError(); /* the launch reports it */
		return 0;
	}
	if (pl.n_parts <= 1)
		return 0;
	return attn_partials_bytes_t(pl.n_parts, s->n_heads, s->n_seqs, s->d_head, attn_chunk_part_dtype(s));
}

extern "C" int tree_levels_all_launch(const struct attn_args *a, struct CUstream_st *stream)
{
	const struct attn_shape *s = &a->s;
	struct level_plan pl;
	const int e = tree_levels_plan(s, ATTN_LEVEL_COMMON, 0, &pl);
	if (e)
		return e;
	if (pl.n_parts > 1 && a->work == NULL)
		return (int)cudaErrorInvalidValue;
	struct attn_partials pp = {};
	if (pl.n_parts > 1)
		pp = attn_partials_at_t(a->work, pl.n_parts, s->n_heads, s->n_seqs, s->d_head, attn_chunk_part_dtype(s));
	return tree_levels_launch(a, &pl, &pp, stream);
}
