/* paged.cu - "paged": the no-sharing baseline.  FlashDecoding-style split-K
 * decode attention over each sequence's own chunk table, every query head of
 * one K/V group in one CTA (FlashInfer's GQA decode), as a serving system
 * without prefix awareness runs it: every sequence reads its whole context,
 * shared chunks included, through chunk_table.
 *
 * Design: the CTA, its pipeline and epilogue are split_decode.h's (shared
 * with hydragen); here every sequence is its own node, over its whole table
 * row, and its g = n_heads / n_kv_heads query heads are the rows (MT = 1, 2
 * or 4 m-tiles for g <= 16, 32, 64).  One CTA per (kv head, sequence,
 * split), split fastest: n_kv_heads * n_seqs * P CTAs; split j owns the
 * whole table chunks [j*n/P, (j+1)*n/P), n = ceil(seq_len / 64).  P is
 * chosen on the host from the SM count and the occupancy (2 CTAs per SM on
 * sm_90): the P in 1..min(n, 4 * slots / base) with the fewest "waves x
 * chunks per CTA", base = n_seqs * n_kv_heads (paged_plan_splits).  P = 1:
 * out written by the CTA, no merge launch; P > 1: one partial per split
 * (merge.h's layout, part = split), then attn_merge_launch.
 *
 * Bytes per forward pass (bf16/fp16, d_head 128, chunk 64, L = seq_len):
 *   K/V read   n_seqs * n_kv_heads * L * 512 B (shared chunks read once per
 *              sequence: this is the baseline)
 *   Q read     n_seqs * n_heads * 256 B;  out written n_seqs * n_heads * 512 B
 *   partials   P > 1: n_seqs * n_heads * P * 264 B written + read by the merge
 * FLOPs: 4 * n_seqs * n_kv_heads * L * 128 * 16*ceil(g/16) issued (useful:
 *   g instead of the padded rows).  At g <= 16 this is far below the tensor
 *   rate needed to keep up with the K/V stream, at g = 64 about half of it.
 *
 * Measured (H200, n_seqs 1, cold L2): 4.05-4.46 TB/s, 92-97% of the
 * streaming-read ceiling, for one K/V head per query head from 268 MB up;
 * 86-87% with 4-8 query heads per K/V head at 268 MB, 95% at 1 GB.  Notes
 * and the log: docs/kernels/paged.md.
 *
 * Limits: chunk_size 64, d_head 128, bf16/fp16, n_heads % n_kv_heads == 0,
 * g <= 64, n_seqs * n_kv_heads * P < 2^31.  workspace() and launch() must see
 * the same current device (P depends on its SM count).
 */
#include <cuda_runtime.h>

#include "attn.h"
#include "merge.h"
#include "split_decode.h"

/* ---- host launcher --------------------------------------------------------- */
static const char *paged_check(const struct attn_shape *s)
{
	static_assert(SD_CHUNK == 64 && SD_D == 128, "ATTN_CHECK_TILE_64x128 checks these");
	ATTN_CHECK_TILE_64x128("paged", s);
	if (s->n_kv_heads < 1)
		return "paged needs n_kv_heads >= 1";
	if (s->n_heads % s->n_kv_heads != 0)
		return "paged needs n_heads to be a multiple of n_kv_heads";
	if (attn_group_size(s) > SD_MAX_ROWS)
		return "paged supports n_heads / n_kv_heads <= 64 only";
	if (attn_seq_chunks(s) < 0 || (long long)attn_seq_chunks(s) * SD_CHUNK >= (1LL << 30))
		return "paged needs a sequence's table to hold < 2^30 tokens";
	if ((long long)s->n_seqs * s->n_kv_heads > 0x7fffffffLL / 8)
		return "paged needs n_seqs * n_kv_heads < 2^28";
	return NULL;
}

/* the instantiation for g query rows (one m-tile count per launch) */
static sd_fn paged_pick(const struct attn_shape *s, int *smem)
{
	const int mt = sd_mt_for_rows(attn_group_size(s));
	*smem = SD_SMEM_BYTES(mt);
	if (s->dtype == ATTN_BF16)
		return mt == 1 ? sd_kernel<__nv_bfloat16, 1>
		       : mt == 2 ? sd_kernel<__nv_bfloat16, 2>
				 : sd_kernel<__nv_bfloat16, 4>;
	return mt == 1 ? sd_kernel<__half, 1> : mt == 2 ? sd_kernel<__half, 2> : sd_kernel<__half, 4>;
}

/* Split count: the P in 1..min(NC, 4*slots/base) with the fewest
 * waves * chunks-per-CTA (base = n_seqs * n_kv_heads CTAs per split), ties
 * to the smaller P (fewer partials).  Below one wave this fills the machine;
 * past it, it avoids a nearly empty last wave (e.g. 288 CTAs on 264 slots).
 * The last answer is cached: the loop is host time on every launch. */
static int paged_plan_splits(long long base, int nc, long long slots)
{
	static long long c_base = -1, c_slots = -1;
	static int c_nc = -1, c_p = 1;
	if (base == c_base && nc == c_nc && slots == c_slots)
		return c_p;
	int best = 1;
	if (nc > 1 && base > 0 && slots > 0) {
		long long pmax = (4 * slots + base - 1) / base;
		if (pmax > nc)
			pmax = nc;
		long long best_cost = ((base + slots - 1) / slots) * (long long)nc;
		for (long long P = 2; P <= pmax; P++) {
			const long long cost = ((base * P + slots - 1) / slots) * ((nc + P - 1) / P);
			if (cost < best_cost) {
				best_cost = cost;
				best = (int)P;
			}
		}
	}
	c_base = base;
	c_nc = nc;
	c_slots = slots;
	c_p = best;
	return best;
}

static int paged_splits(const struct attn_shape *s, sd_fn *fn, int *smem, cudaError_t *err)
{
	long long slots = 0;
	*fn = paged_pick(s, smem);
	*err = sd_slots(*fn, *smem, &slots);
	if (*err != cudaSuccess)
		return 1;
	return paged_plan_splits((long long)s->n_seqs * s->n_kv_heads, attn_seq_chunks(s), slots);
}

static size_t paged_workspace(const struct attn_shape *s)
{
	if (paged_check(s) != NULL)
		return 0;
	sd_fn fn;
	int smem;
	cudaError_t e;
	const int P = paged_splits(s, &fn, &smem, &e);
	if (e != cudaSuccess || P <= 1)
		return 0;
	return attn_partials_bytes_t(P, s->n_heads, s->n_seqs, s->d_head, attn_chunk_part_dtype(s));
}

static int paged_launch(const struct attn_args *a, struct CUstream_st *stream)
{
	const struct attn_shape *s = &a->s;
	if (paged_check(s) != NULL || a->tree.seq_len == NULL ||
	    (attn_seq_chunks(s) > 0 && a->tree.chunk_table == NULL))
		return (int)cudaErrorInvalidValue;
	sd_fn fn;
	int smem;
	cudaError_t e;
	const int P = paged_splits(s, &fn, &smem, &e);
	if (e != cudaSuccess)
		return (int)e;
	if (P > 1 && a->work == NULL)
		return (int)cudaErrorInvalidValue;
	struct attn_partials pp = {};
	if (P > 1)
		pp = attn_partials_at_t(a->work, P, s->n_heads, s->n_seqs, s->d_head,
					attn_chunk_part_dtype(s));
	struct sd_params p = sd_params_of(a, &pp);
	p.nodes = NULL; /* sequence nodes: each sequence over its whole table row */
	p.chunk_table = a->tree.chunk_table;
	p.seq_len = a->tree.seq_len;
	p.n_table = attn_seq_chunks(s);
	p.n_segments = 1;
	p.seg[0].n_nodes = s->n_seqs;
	p.seg[0].node_first = 0;
	p.seg[0].rows = p.group;
	p.seg[0].row_tiles = 1;
	p.seg[0].mt = sd_mt_for_rows(p.group);
	p.seg[0].splits = P;
	p.seg[0].slot0 = P > 1 ? 0 : -1;
	return sd_forward(fn, smem, &p, &pp, (cudaStream_t)stream);
}

extern "C" const struct attn_kernel attn_kernel_paged = {
	"paged",
	"no-sharing baseline: split-K decode over each sequence's chunk table, GQA group per CTA, mma.sync + 3-stage cp.async (+ merge)",
	paged_check,
	paged_workspace,
	paged_launch,
};
