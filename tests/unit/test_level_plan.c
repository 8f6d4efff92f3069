/* test_level_plan.c - the split plan of a prefix tree's levels
 * (kernels/level_plan.c) on the CPU: hydragen's (every level, slot base 0)
 * and prefix_stream's (the levels after the common prefix, slot base 1),
 * over a grid of shapes and device sizes, against the tables
 * tools/lib/tree.c builds for the same shape:
 *   - one segment per level that has nodes and chunks, from first_level on,
 *     in level order; its nodes are that level's nodes of the tables
 *     (node_first, n_nodes) and its rows their sequences x g;
 *   - m-tiles and row tiles cover the rows; 1 <= splits <= chunks;
 *   - the slots: slot_base, then each segment's splits in order, n_parts
 *     their end; one partial in all (hydragen) goes straight to out;
 *   - the grid fits 2^31 CTAs; the same input gives the same plan;
 * and a few plans as measured-for (docs/kernels/hydragen.md).
 * Prints "ok NAME" / "FAIL NAME: why"; last line "level_plan: N passed, N failed". */
#include "../../kernels/level_plan.h"
#include "../../tools/lib/tree.h"

#include <stdio.h>
#include <string.h>

#include "check.h"

static int level_chunks(const struct attn_shape *s, int L)
{
	return L == ATTN_LEVEL_COMMON ? s->n_chunks : L == ATTN_LEVEL_GROUP ? s->group_chunks : attn_suffix_chunks(s);
}

/* hydragen's plan of a prefix + suffix shape on 264 slots: two segments of
 * the given splits */
static void two_level_splits(const char *name, const struct attn_shape *s, int prefix_splits, int suffix_splits)
{
	struct level_plan pl;
	level_plan_make(s, 264, ATTN_LEVEL_COMMON, 0, &pl);
	CHECK(name, pl.n_segments == 2 && pl.seg[0].splits == prefix_splits && pl.seg[1].splits == suffix_splits,
	      "%d segments, splits %d, %d", pl.n_segments, pl.seg[0].splits, pl.n_segments > 1 ? pl.seg[1].splits : 0);
}

/* the invariants of pl for s against its tables; "" or what is wrong */
static const char *plan_wrong(const struct attn_shape *s, const struct attn_tree *t, long long slots, int first_level,
			      int slot_base, const struct level_plan *pl)
{
	static char why[160];
	int i = 0, slot = slot_base;
	long long ctas = 0;
	for (int L = first_level; L < ATTN_LEVELS; L++) {
		const int nodes = t->level_begin[L + 1] - t->level_begin[L];
		if (nodes == 0 || level_chunks(s, L) == 0)
			continue;
		if (i >= pl->n_segments)
			return "a level with nodes has no segment";
		const struct sd_segment *sg = &pl->seg[i++];
		const struct attn_node *nd = &t->nodes[t->level_begin[L]];
		if (sg->node_first != t->level_begin[L] || sg->n_nodes != nodes) {
			snprintf(why, sizeof why, "level %d: nodes %d..+%d, the tables' %d..+%d", L, sg->node_first,
				 sg->n_nodes, t->level_begin[L], nodes);
			return why;
		}
		if (nd->level != L || sg->rows != nd->n_seqs * attn_group_size(s))
			return "a segment's rows are not its nodes' sequences x g";
		if (sg->mt != sd_mt_for_rows(sg->rows) || (long long)sg->row_tiles * 16 * sg->mt < sg->rows ||
		    (long long)(sg->row_tiles - 1) * 16 * sg->mt >= sg->rows)
			return "m-tiles or row tiles do not cover the rows";
		if (sg->splits < 1 || sg->splits > level_chunks(s, L))
			return "splits outside 1 .. the level's chunks";
		if (pl->n_parts == 1 && slot_base == 0) {
			if (sg->slot0 != -1)
				return "one partial in all is not written straight to out";
		} else if (sg->slot0 != slot) {
			snprintf(why, sizeof why, "level %d: slot0 %d, want %d", L, sg->slot0, slot);
			return why;
		}
		slot += sg->splits;
		ctas += (long long)sg->row_tiles * sg->splits * sg->n_nodes * s->n_kv_heads;
	}
	if (i != pl->n_segments)
		return "more segments than levels with nodes";
	if (pl->n_parts != slot)
		return "n_parts is not the end of the slots";
	if (ctas > 0x7fffffffLL)
		return "the grid has 2^31 CTAs or more";
	struct level_plan again;
	level_plan_make(s, slots, first_level, slot_base, &again);
	if (memcmp(&again, pl, sizeof again) != 0)
		return "the same input gave another plan";
	return "";
}

int main(void)
{
	const int seqs[] = {1, 3, 16, 64, 256}, chunks[] = {1, 7, 128, 1024}, gch[] = {0, 1, 16}, ngr[] = {1, 4, 16};
	const int sfx[] = {0, 1, 63, 64, 130, 4096}, heads[][2] = {{8, 8}, {32, 8}, {32, 1}};
	const long long slots_of[] = {1, 264, 528};
	long shapes = 0, bad[2] = {0, 0};
	char first_bad[2][256] = {"", ""};
	for (int a = 0; a < 5; a++)
		for (int b = 0; b < 4; b++)
			for (int c = 0; c < 3; c++)
				for (int d = 0; d < 3; d++)
					for (int e = 0; e < 6; e++)
						for (int h = 0; h < 3; h++) {
							if (seqs[a] % ngr[d] != 0 || (gch[c] == 0 && ngr[d] > 1))
								continue;
							const struct attn_shape s = {seqs[a], heads[h][0], heads[h][1], chunks[b], ngr[d],
										     gch[c], sfx[e], 64, 128, ATTN_BF16};
							struct tree_tables tt;
							if (tree_build(&tt, &s, 1) != 0)
								continue;
							shapes++;
							for (int sl = 0; sl < 3; sl++)
								for (int m = 0; m < 2; m++) { /* hydragen, prefix_stream */
									struct level_plan pl;
									level_plan_make(&s, slots_of[sl], m, m, &pl);
									const char *w = plan_wrong(&s, &tt.t, slots_of[sl], m, m, &pl);
									if (*w && bad[m]++ == 0)
										snprintf(first_bad[m], sizeof first_bad[m],
											 "%d seqs %dx%d heads %d chunks %d groups of %d, suffix %d, %lld slots: %s",
											 s.n_seqs, s.n_heads, s.n_kv_heads, s.n_chunks, s.n_groups,
											 s.group_chunks, s.suffix_len, slots_of[sl], w);
								}
							tree_free(&tt);
						}
	CHECK("every level of the tree (hydragen): segments, nodes, rows, tiles, splits, slots", bad[0] == 0,
	      "%ld of %ld shapes x slots wrong, first: %s", bad[0], shapes * 3, first_bad[0]);
	CHECK("the levels after the prefix, slot base 1 (prefix_stream): the same", bad[1] == 0,
	      "%ld of %ld shapes x slots wrong, first: %s", bad[1], shapes * 3, first_bad[1]);
	CHECK("the shape grid is not empty", shapes > 500, "%ld shapes", shapes);

	/* prefix_stream's side, by hand: 64 sequences, 32 query heads on 8 K/V
	 * heads, 4 groups of 16 with 2 chunks, a 130-token suffix (3 chunks) */
	struct attn_shape s = {64, 32, 8, 512, 4, 2, 130, 64, 128, ATTN_BF16};
	struct level_plan pl;
	level_plan_make(&s, 264, ATTN_LEVEL_GROUP, 1, &pl);
	CHECK("prefix_stream: group and suffix levels, nodes 1.. (node 0 is the prefix)",
	      pl.n_segments == 2 && pl.seg[0].node_first == 1 && pl.seg[0].n_nodes == 4 && pl.seg[0].rows == 64 &&
		      pl.seg[1].node_first == 5 && pl.seg[1].n_nodes == 64 && pl.seg[1].rows == 4,
	      "%d segments, first nodes %d+%d rows %d", pl.n_segments, pl.seg[0].node_first, pl.seg[0].n_nodes,
	      pl.seg[0].rows);
	CHECK("prefix_stream: the levels' slots start at 1", pl.seg[0].slot0 == 1 && pl.n_parts >= 3,
	      "slot0 %d, n_parts %d", pl.seg[0].slot0, pl.n_parts);
	s.group_chunks = 0;
	level_plan_make(&s, 264, ATTN_LEVEL_GROUP, 1, &pl);
	CHECK("prefix_stream: a suffix alone is one segment of sequence nodes from node 1",
	      pl.n_segments == 1 && pl.seg[0].node_first == 1 && pl.seg[0].n_nodes == 64 && pl.seg[0].slot0 == 1 &&
		      pl.n_parts == 1 + pl.seg[0].splits,
	      "%d segments, node_first %d", pl.n_segments, pl.seg[0].node_first);
	s.suffix_len = 0;
	level_plan_make(&s, 264, ATTN_LEVEL_GROUP, 1, &pl);
	CHECK("prefix_stream: a single-prefix shape has no levels after the prefix", pl.n_segments == 0 && pl.n_parts == 1,
	      "%d segments, %d parts", pl.n_segments, pl.n_parts);

	/* hydragen: one short level is one partial, straight to out */
	const struct attn_shape one = {4, 8, 8, 1, 1, 0, 0, 64, 128, ATTN_BF16};
	level_plan_make(&one, 264, ATTN_LEVEL_COMMON, 0, &pl);
	CHECK("hydragen: one chunk, one partial: written to out", pl.n_segments == 1 && pl.n_parts == 1 && pl.seg[0].slot0 == -1,
	      "%d parts, slot0 %d", pl.n_parts, pl.seg[0].slot0);
	/* the v4 rule (docs/kernels/hydragen.md): a 64 x 4-row prefix of 128
	 * chunks beside one-chunk suffixes gets CTAs of several chunks, not one */
	const struct attn_shape sfx1 = {64, 32, 8, 128, 1, 0, 1, 64, 128, ATTN_BF16};
	level_plan_make(&sfx1, 264, ATTN_LEVEL_COMMON, 0, &pl);
	CHECK("hydragen: a 128-chunk prefix beside 1-token suffixes is not cut into 1-chunk CTAs",
	      pl.n_segments == 2 && 128 / pl.seg[0].splits >= 4, "%d splits of the prefix", pl.seg[0].splits);

	/* v6 (docs/kernels/hydragen.md), on 264 slots, the plans measured for:
	 * a 2K prefix + 4096-token suffixes at n_seqs 32 -- v4 gave the
	 * suffixes one split (16 + 256 = 272 CTAs, 8 of them a sliver after
	 * the first wave: measured 1.14x the time of two splits); the list
	 * schedule's veto gives two (528 CTAs, two whole waves) ... */
	const struct attn_shape sliver = {32, 32, 8, 32, 1, 0, 4096, 64, 128, ATTN_BF16};
	two_level_splits("hydragen: no sliver of long CTAs past the first wave (2K prefix + 4096 suffix, n_seqs 32)",
			 &sliver, 1, 2);
	/* ... where there is no sliver the veto keeps v4's grain: 8K prefix +
	 * 1024-token suffixes at n_seqs 32 (the averaged rule tried in v6's
	 * making gave 16 / 2 and measured 1.21x slower) ... */
	const struct attn_shape nosliver = {32, 32, 8, 128, 1, 0, 1024, 64, 128, ATTN_BF16};
	two_level_splits("hydragen: no sliver, v4's grain (8K prefix + 1024 suffix, n_seqs 32: 6 and 1 splits)", &nosliver,
			 6, 1);
	/* ... nor where the list schedule's own choice is a sliver too: 32K
	 * prefix + 4096-token suffixes at n_seqs 32 stays 6 / 1 (11 / 2, the
	 * list's pick, measured 1.03x slower) */
	const struct attn_shape sliver2 = {32, 32, 8, 512, 1, 0, 4096, 64, 128, ATTN_BF16};
	two_level_splits("hydragen: a grain the list calls a sliver too is not taken (32K + 4096, n_seqs 32: 6 and 1)",
			 &sliver2, 6, 1);
	/* single-level shapes keep v4's plans: 64 x 64 seed shape, n_seqs 32
	 * (64 K/V heads, 1 row tile): 4 splits of 16 chunks */
	const struct attn_shape seed = {32, 64, 64, 64, 1, 0, 0, 64, 128, ATTN_BF16};
	level_plan_make(&seed, 264, ATTN_LEVEL_COMMON, 0, &pl);
	CHECK("hydragen: a single-prefix seed shape keeps v4's plan (64 x 64: 4 splits)",
	      pl.n_segments == 1 && pl.seg[0].splits == 4, "%d splits", pl.seg[0].splits);
	/* a device of one slot: every CTA after the first waits (no crash, a plan) */
	level_plan_make(&sliver, 1, ATTN_LEVEL_COMMON, 0, &pl);
	CHECK("hydragen: one slot still plans every level", pl.n_segments == 2 && pl.seg[1].splits >= 1,
	      "%d segments", pl.n_segments);

	printf("level_plan: %d passed, %d failed\n", passed, failed);
	return failed != 0;
}
