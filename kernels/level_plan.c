/* level_plan.c - the split plan of a prefix tree's levels over split_decode's
 * grid: pure C, no CUDA (see level_plan.h). */
#include "level_plan.h"

/* A CTA's fixed cost in chunks (Q load, pipeline fill, epilogue, its
 * partials written and merged): without it the cost rule chose one chunk per
 * CTA for a 64 x 4-row prefix of 32-128 chunks beside short suffixes, 2-4x
 * slower than 4-8 chunks per CTA (docs/kernels/hydragen.md, v4). */
#define LP_CTA_COST 2
/* bytes of one partial row, written and read by the merge (o 256 B + (m, l),
 * both ways), against the 32 KiB of K/V one chunk of one K/V head is */
#define LP_PART_BYTES 528.0
#define LP_CHUNK_BYTES 32768.0

/* The grid as the hardware runs it: CTAs take slots in launch order (the
 * segments in level order), the earliest-free slot first, each as long as
 * its chunks + LP_CTA_COST; returns the end of the last one, or -1 where the
 * slots' finish times take more than LP_LIST_GROUPS distinct values.  The
 * slots are kept as groups of equal finish times, sorted: a segment's CTAs
 * all last the same, so a whole group takes its CTAs at once. */
#define LP_LIST_GROUPS 256
static long long lp_list_schedule(const long long *count, const long long *per, int n_seg, long long slots)
{
	long long t[LP_LIST_GROUPS], k[LP_LIST_GROUPS], end = 0;
	int n = 1;
	t[0] = 0, k[0] = slots;
	for (int g = 0; g < n_seg; g++) {
		for (long long left = count[g]; left > 0;) {
			/* the earliest group: as many of its slots as CTAs are left */
			const long long take = k[0] < left ? k[0] : left, done = t[0] + per[g];
			left -= take;
			k[0] -= take;
			if (done > end)
				end = done;
			if (k[0] == 0) { /* the group is used up */
				for (int i = 1; i < n; i++)
					t[i - 1] = t[i], k[i - 1] = k[i];
				n--;
			}
			/* its slots, busy until done, into their place */
			int i = 0;
			while (i < n && t[i] < done)
				i++;
			if (i < n && t[i] == done) {
				k[i] += take;
				continue;
			}
			if (n == LP_LIST_GROUPS)
				return -1;
			for (int j = n; j > i; j--)
				t[j] = t[j - 1], k[j] = k[j - 1];
			t[i] = done, k[i] = take;
			n++;
		}
	}
	return end;
}

void level_plan_make(const struct attn_shape *s, long long slots, int first_level, int slot_base,
		     struct level_plan *pl)
{
	const int G = attn_group_size(s);
	const struct {
		int nodes, seqs, chunks;
	} lv[SD_MAX_SEGMENTS] = {
		{ s->n_chunks > 0 ? 1 : 0, s->n_seqs, s->n_chunks },
		{ s->group_chunks > 0 ? s->n_groups : 0, s->n_groups > 0 ? s->n_seqs / s->n_groups : 0, s->group_chunks },
		{ s->suffix_len > 0 ? s->n_seqs : 0, 1, attn_suffix_chunks(s) },
	};
	*pl = (struct level_plan){0};
	long long base[SD_MAX_SEGMENTS], chunks[SD_MAX_SEGMENTS], cmax = 1, bmin = 0;
	int first = 0; /* the level's first node: tools/lib/tree.c numbers them level by level */
	for (int L = 0; L < SD_MAX_SEGMENTS; L++) {
		const int present = lv[L].nodes > 0 && lv[L].chunks > 0;
		if (!present || L < first_level) {
			first += present ? lv[L].nodes : 0;
			continue;
		}
		const int i = pl->n_segments++;
		struct sd_segment *sg = &pl->seg[i];
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
	pl->n_parts = slot_base;
	if (pl->n_segments == 0)
		return;
	if (slots < 1)
		slots = 1;
	/* time in units of one chunk per CTA: work over the slots, at least the
	 * whole waves of the longest CTAs, plus the merge's partial traffic */
	const long long rows_out = (long long)s->n_seqs * s->n_heads;
	long long best_grain = cmax;
	double best_cost = -1;
	const long long pmax = bmin > 0 ? 8 * slots / bmin + 1 : 1;
	for (long long p = 1; p <= pmax && p <= cmax; p++) {
		const long long grain = (cmax + p - 1) / p;
		long long n = 0, parts = slot_base, longest = 0, n_longest = 0, count[SD_MAX_SEGMENTS],
			  per_seg[SD_MAX_SEGMENTS];
		double work = 0;
		for (int i = 0; i < pl->n_segments; i++) {
			const long long splits = (chunks[i] + grain - 1) / grain;
			const long long per = (chunks[i] + splits - 1) / splits + LP_CTA_COST;
			n += base[i] * splits;
			parts += splits;
			count[i] = base[i] * splits;
			per_seg[i] = per;
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
		/* v5: the estimate above averages the CTAs over the slots, so it
		 * misses a sliver -- CTAs launched after the first wave's slots are
		 * taken wait for the first to end, and a few long ones then run
		 * alone (a 2K prefix + 4096-token suffixes at n_seqs 32: 272 CTAs
		 * for 264 slots, 1.13x the time of 528 CTAs of half the chunks).
		 * The list schedule of fixed-length CTAs overstates that tail (CTAs
		 * running alone read faster than under the full grid's load), so
		 * the cost is the mean of the two; on single-level shapes the two
		 * agree and the plans are v4's.  Measured: docs/kernels/hydragen.md, v5. */
		const long long list = lp_list_schedule(count, per_seg, pl->n_segments, slots);
		if (list >= 0)
			cost = 0.5 * (cost + (double)list);
		if (parts > 1)
			cost += (double)parts * (double)rows_out * LP_PART_BYTES / (LP_CHUNK_BYTES * (double)slots);
		if (best_cost < 0 || cost < best_cost - 1e-9) {
			best_cost = cost;
			best_grain = grain;
		}
	}
	for (int i = 0; i < pl->n_segments; i++) {
		struct sd_segment *sg = &pl->seg[i];
		sg->splits = (int)((chunks[i] + best_grain - 1) / best_grain);
		sg->slot0 = pl->n_parts;
		pl->n_parts += sg->splits;
	}
	if (pl->n_parts == 1)
		pl->seg[0].slot0 = -1; /* the only partial: straight to out */
}
