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

/* A plan's levels as the cost of a grain sees them: per segment its CTAs
 * per split (row tiles x nodes x K/V heads) and its chunks; the device's
 * slots, the caller's partial slots and the output rows (n_seqs x heads). */
struct lp_levels {
	int n;
	long long base[SD_MAX_SEGMENTS], chunks[SD_MAX_SEGMENTS];
	long long slots, slot_base, rows_out;
};

/* The two costs of a grain, in units of one chunk per CTA, both with the
 * merge's partial traffic: est, v4's -- the CTAs' work averaged over the
 * slots, at least whole waves of the longest CTAs -- and, where list is not
 * NULL, the list schedule's makespan (-1 where lp_list_schedule gives up).
 * Returns 0 where the grid would pass 2^31 CTAs. */
static int lp_grain_cost(const struct lp_levels *lv, long long grain, double *est, double *list)
{
	long long n = 0, parts = lv->slot_base, longest = 0, n_longest = 0, count[SD_MAX_SEGMENTS],
		  per_seg[SD_MAX_SEGMENTS];
	double work = 0;
	for (int i = 0; i < lv->n; i++) {
		const long long splits = (lv->chunks[i] + grain - 1) / grain;
		const long long per = (lv->chunks[i] + splits - 1) / splits + LP_CTA_COST;
		n += lv->base[i] * splits;
		parts += splits;
		count[i] = lv->base[i] * splits;
		per_seg[i] = per;
		work += (double)count[i] * (double)per;
		if (per > longest)
			longest = per, n_longest = 0;
		if (per == longest)
			n_longest += count[i];
	}
	if (n > 0x7fffffffLL)
		return 0;
	const double waves = (double)((n_longest + lv->slots - 1) / lv->slots) * (double)longest,
		     partials = parts > 1 ? (double)parts * (double)lv->rows_out * LP_PART_BYTES /
						    (LP_CHUNK_BYTES * (double)lv->slots)
					  : 0;
	*est = (work / (double)lv->slots > waves ? work / (double)lv->slots : waves) + partials;
	if (list) {
		const long long l = lp_list_schedule(count, per_seg, lv->n, lv->slots);
		*list = l < 0 ? -1 : (double)l + partials;
	}
	return 1;
}

/* v6's sliver rule (hydragen's v6: its v5 was the softmax step).  v4's
 * estimate averages the CTAs over the slots, so it misses a sliver: CTAs
 * launched after the first wave's slots are taken wait for the first to
 * end, and a few long ones then run alone (a 2K prefix + 4096-token
 * suffixes at n_seqs 32: 272 CTAs for 264 slots, 1.14x the time of 528 CTAs
 * of half the chunks).  The list schedule sees it but overstates it (CTAs
 * running alone read faster than under the whole grid's load): taken as the
 * cost, or averaged with v4's, it lost up to 1.21x elsewhere, and switching
 * to any grain it prefers lost 1.03x at 32K + 4096 (11 splits, itself a
 * sliver by the list).  So v4 chooses and the list schedule only vetoes:
 * where v4's grain's makespan passes its estimate by more than LP_SLIVER,
 * the grain is the one of least makespan among those whose estimate is
 * within LP_EST_TOL of v4's best and whose makespan the estimate agrees
 * with (within LP_AGREE): a grain both models call sliver-free.  The bounds
 * are where the measured grain maps of the suffix and tree presets split
 * wins from losses (docs/kernels/hydragen.md, v6), not derived quantities:
 * the winning two-split grains at 2K + 4096 are 3.02 % above v4's best. */
#define LP_SLIVER 1.22
#define LP_EST_TOL 1.031
#define LP_AGREE 1.1

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
	struct lp_levels ls = {0};
	long long cmax = 1, bmin = 0;
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
		ls.base[i] = (long long)sg->row_tiles * sg->n_nodes * s->n_kv_heads;
		ls.chunks[i] = lv[L].chunks;
		if (ls.chunks[i] > cmax) {
			cmax = ls.chunks[i];
			bmin = ls.base[i];
		}
	}
	pl->n_parts = slot_base;
	if (pl->n_segments == 0)
		return;
	ls.n = pl->n_segments;
	ls.slots = slots < 1 ? 1 : slots;
	ls.slot_base = slot_base;
	ls.rows_out = (long long)s->n_seqs * s->n_heads;
	/* v4: the grain of least estimate; ties go to the larger grain */
	const long long pmax = bmin > 0 ? 8 * ls.slots / bmin + 1 : 1;
	long long best_grain = cmax;
	double best_est = -1, best_list, est, list;
	for (long long p = 1; p <= pmax && p <= cmax; p++) {
		const long long grain = (cmax + p - 1) / p;
		if (!lp_grain_cost(&ls, grain, &est, NULL))
			break;
		if (best_est < 0 || est < best_est - 1e-9)
			best_est = est, best_grain = grain;
	}
	/* v6: the list schedule's veto of a sliver (the list schedules only
	 * where v4's grain has one) */
	if (best_est > 0 && lp_grain_cost(&ls, best_grain, &est, &best_list) && best_list > LP_SLIVER * best_est) {
		double least = best_list;
		long long pick = best_grain;
		for (long long p = 1; p <= pmax && p <= cmax; p++) {
			const long long grain = (cmax + p - 1) / p;
			if (!lp_grain_cost(&ls, grain, &est, &list))
				break;
			if (list >= 0 && est <= LP_EST_TOL * best_est && list <= LP_AGREE * est && list < least - 1e-9)
				least = list, pick = grain;
		}
		best_grain = pick;
	}
	for (int i = 0; i < pl->n_segments; i++) {
		struct sd_segment *sg = &pl->seg[i];
		sg->splits = (int)((ls.chunks[i] + best_grain - 1) / best_grain);
		sg->slot0 = pl->n_parts;
		pl->n_parts += sg->splits;
	}
	if (pl->n_parts == 1)
		pl->seg[0].slot0 = -1; /* the only partial: straight to out */
}
