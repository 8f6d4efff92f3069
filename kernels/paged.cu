/* paged.cu - "paged": the no-sharing baseline.  FlashDecoding-style split-K
 * decode attention over each sequence's own chunk table, every query head of
 * one K/V group in one CTA (FlashInfer's GQA decode), as a serving system
 * without prefix awareness runs it: every sequence reads its whole context,
 * shared chunks included, through chunk_table.
 *
 * Design
 *   grid      one CTA of 4 warps per (kv head, sequence, split), split
 *             fastest: n_kv_heads * n_seqs * P CTAs.  Split j of a sequence
 *             owns the contiguous run of whole table chunks
 *             [j*n/P, (j+1)*n/P), n = ceil(seq_len / 64) (capped at the
 *             table width).  P is chosen on the host from the SM count and
 *             the occupancy (2 CTAs per SM on sm_90): the P in
 *             1..min(n, 4 * slots / base) with the fewest "waves x chunks per
 *             CTA", base = n_seqs * n_kv_heads (paged_plan_splits).
 *   M         the g = n_heads / n_kv_heads query rows of (seq, kv head) form
 *             the M dimension of mma.sync m16n8k16 tiles: MT = 1, 2 or 4
 *             16-row m-tiles (g <= 16, 32, 64), rows >= g zero-filled.  Warp
 *             w owns m-tile w % MT and key slice w / MT of every chunk
 *             (64 / (4 / MT) keys), with its own online softmax (exp2 domain)
 *             and fp32 O accumulators; Q lives in registers as A fragments.
 *   pipeline  one stage = one chunk = K [64][128] + V [64][128] (32 KiB),
 *             3 stages of cp.async (16 B per thread, a warp copies 512
 *             contiguous bytes, XOR-swizzled 256-byte rows, no L2 hint),
 *             one __syncthreads per chunk; the table entry of the chunk to be
 *             issued next is loaded one iteration ahead.  Rows past seq_len
 *             in the last chunk are zero-filled (cp.async src-size 0) and
 *             their scores set to -inf before the max, so garbage pool rows
 *             never reach the math (P there is exactly 0, V there exactly 0).
 *   epilogue  the KS = 4 / MT key-slice states of each row meet in shared
 *             memory (fp32, reusing the stage buffers) and are merged with
 *             the softmax_merge rule; P = 1: out = o / l written straight to
 *             out (fp32), no merge launch; P > 1: one partial per split in
 *             merge.h's layout (part = split, head = query head, seq = seq),
 *             o in the input dtype, then attn_merge_launch.  Partials are
 *             stored in the equivalent normalized form (m + ln l, 1, o / l)
 *             -- the same state under the merge rule -- so a long split's o
 *             cannot overflow fp16 (merge.h's |v| <= 65504 / n_keys caveat).
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
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>
#include <math.h>
#include <stdint.h>

#include "attn.h"
#include "merge.h"
#include "ptx.h"

/* ---- compile-time configuration ----------------------------------------- */
#define PG_CHUNK 64     /* keys per chunk (attn_shape.chunk_size) */
#define PG_D 128        /* head dimension */
#define PG_WARPS 4
#define PG_THREADS (32 * PG_WARPS)
#define PG_MAX_G 64     /* query heads per K/V head: 4 m-tiles of 16 */
#ifndef PG_STAGES
#define PG_STAGES 3     /* chunks of K+V in shared memory (2 in flight while one is used) */
#endif
/* No L2 eviction hint on K/V: sequences that share chunks may find them in
 * L2, as a serving system's decode kernel would.  (An evict_first policy on
 * the zero-filling cp.async also raised "illegal instruction" on the H200.) */
#define PG_ROW_BYTES (PG_D * 2)                        /* one K/V/Q row, 16-bit */
#define PG_TILE_BYTES (PG_CHUNK * PG_ROW_BYTES)        /* K or V of one chunk: 16 KiB */
#define PG_STAGE_BYTES (2 * PG_TILE_BYTES)             /* K + V */
#define PG_Q_BYTES(MT) ((MT) * 16 * PG_ROW_BYTES)      /* Q m-tiles */
#define PG_SMEM_BYTES(MT) (PG_STAGES * PG_STAGE_BYTES + PG_Q_BYTES(MT))
#define PG_OSTRIDE (PG_D + 8) /* fp32 row stride of the epilogue scratch: conflict-free float2 writes */
#define PG_SCRATCH_ROWS (PG_WARPS * 16) /* KS * MT * 16 = 64 rows for every MT */
#define PG_SCRATCH_BYTES (PG_SCRATCH_ROWS * PG_OSTRIDE * 4 + PG_SCRATCH_ROWS * 8)

static_assert(PG_D == 128 && PG_ROW_BYTES == 256, "swizzle assumes 16 pieces of 16 bytes per row");
static_assert(PG_CHUNK == 64 && PG_WARPS == 4,
	      "key slices: 4 warps split a 64-key chunk into 4/MT slices of >= 16 keys");
static_assert(PG_STAGES >= 2 && PG_STAGES <= 4, "cp.async wait counts assume 2..4 stages");
static_assert((PG_CHUNK * 16) % PG_THREADS == 0, "whole 16-byte pieces per thread per tile");
static_assert(PG_SCRATCH_BYTES <= PG_STAGES * PG_STAGE_BYTES,
	      "epilogue scratch reuses the stage buffers");
static_assert(2 * (PG_SMEM_BYTES(4) + 1024) <= 228 * 1024,
	      "2 CTAs per SM on sm_90 (228 KB, +1 KB reserved per CTA) even at MT = 4");
static_assert((PG_OSTRIDE * 4) % 16 == 0, "float4 reads of scratch rows");

/* ---- parameters ------------------------------------------------------------ */
struct paged_params {
	const void *q;          /* [S][H][128] T */
	const void *k;          /* pool [NP][KVH][64][128] T */
	const void *v;          /* pool [NP][KVH][64][128] T */
	const int *chunk_table; /* [S][NC] pool indices */
	const int *seq_len;     /* [S] tokens */
	float *out;             /* [S][H][128] fp32 (P == 1) */
	void *po;               /* partials o  [P][H][S][128] T (merge.h, P > 1) */
	float *pml;             /* partials ml [P][H][S][2] */
	int n_seqs, n_heads, n_kv_heads, group; /* S, H, KVH, g = H / KVH */
	int n_table;            /* NC = attn_seq_chunks(): table row width */
	int n_splits;           /* P */
	float scale_log2;       /* scale * log2(e): scores go straight to exp2 */
};

/* ---- device helpers -------------------------------------------------------- */
/* byte offset of 16-byte piece `ch` of row `row` in a swizzled 256-byte-row tile */
static __device__ __forceinline__ uint32_t sw(int row, int ch)
{
	return (uint32_t)(row * PG_ROW_BYTES + ((ch ^ (row & 7)) << 4));
}

/* K and V of one chunk (pool index pidx, K/V head kvh) into one stage; rows
 * >= valid are zero-filled (no bytes read).  Thread tid copies pieces
 * tid + 128 j: row (tid >> 4) + 8 j, piece tid & 15. */
template <typename T>
static __device__ __forceinline__ void load_chunk(uint32_t sK, const T *k, const T *v,
						  size_t off, int valid, int tid)
{
	const T *ks = k + off, *vs = v + off;
#pragma unroll
	for (int j = 0; j < PG_CHUNK * 16 / PG_THREADS; j++) {
		const int i = tid + PG_THREADS * j, row = i >> 4, ch = i & 15;
		const int n = row < valid ? 16 : 0;
		const size_t e = (size_t)row * PG_D + ch * 8;
		cp_async16(sK + sw(row, ch), ks + e, n);
		cp_async16(sK + PG_TILE_BYTES + sw(row, ch), vs + e, n);
	}
}

/* ---- kernel ---------------------------------------------------------------- */
template <typename T, int MT>
__global__ void __launch_bounds__(PG_THREADS, 2) paged_kernel(const __grid_constant__ paged_params p)
{
	constexpr int KS = PG_WARPS / MT;  /* key slices per chunk */
	constexpr int KW = PG_CHUNK / KS;  /* keys per warp per chunk: 16, 32, 64 */
	constexpr int NT = KW / 8;         /* n8 score tiles per warp */
	static_assert(MT == 1 || MT == 2 || MT == 4, "m-tiles: 1, 2 or 4");
	static_assert(KW % 16 == 0, "P V needs whole k16 slices of keys");

	extern __shared__ __align__(128) unsigned char smem[];
	const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
	const int mt = warp % MT, ks = warp / MT;
	const int g = lane >> 2, tq = lane & 3;

	const int P = p.n_splits;
	const int split = (int)(blockIdx.x % (unsigned)P);
	const int sk = (int)(blockIdx.x / (unsigned)P); /* kvh * S + s */
	const int s = sk % p.n_seqs, kvh = sk / p.n_seqs;
	const int G = p.group, H = p.n_heads, KVH = p.n_kv_heads;
	const int h0 = kvh * G;

	/* this split's chunks [c0, c0 + n) of the sequence's table */
	int len = __ldg(p.seq_len + s);
	len = len < 0 ? 0 : len;
	if ((long long)len > (long long)p.n_table * PG_CHUNK)
		len = p.n_table * PG_CHUNK;
	const int ncs = (len + PG_CHUNK - 1) / PG_CHUNK;
	const int c0 = (int)((long long)split * ncs / P);
	const int n = (int)((long long)(split + 1) * ncs / P) - c0;
	const int *tab = p.chunk_table + (size_t)s * p.n_table + c0;

	const uint32_t sbase = smem_u32(smem);
	const uint32_t sQ = sbase + PG_STAGES * PG_STAGE_BYTES;
	const T *kp = (const T *)p.k, *vp = (const T *)p.v;
	const size_t head_off = (size_t)kvh * PG_CHUNK * PG_D;     /* within a pool chunk */
	const size_t chunk_elems = (size_t)KVH * PG_CHUNK * PG_D;  /* one pool chunk */

	/* ---- Q: rows h0 .. h0+G-1 of sequence s, MT*16 rows (>= G zero) : group 0 */
	{
		const T *qs = (const T *)p.q + ((size_t)s * H + h0) * PG_D;
#pragma unroll
		for (int j = 0; j < MT * 16 * 16 / PG_THREADS; j++) {
			const int i = tid + PG_THREADS * j, row = i >> 4, ch = i & 15;
			const bool ok = row < G;
			cp_async16(sQ + sw(row, ch), ok ? qs + (size_t)row * PG_D + ch * 8 : qs,
				   ok ? 16 : 0);
		}
		cp_async_commit();
	}
	/* ---- prologue: chunks 0 .. STAGES-2, one group each (empty past n) */
#pragma unroll
	for (int st = 0; st < PG_STAGES - 1; st++) {
		if (st < n) {
			const int pidx = __ldg(tab + st);
			const int valid = min(PG_CHUNK, len - (c0 + st) * PG_CHUNK);
			load_chunk<T>(sbase + st * PG_STAGE_BYTES, kp, vp,
				      (size_t)pidx * chunk_elems + head_off, valid, tid);
		}
		cp_async_commit();
	}
	/* pool index of the next chunk to issue (STAGES-1), loaded a chunk ahead */
	int nxt = PG_STAGES - 1 < n ? __ldg(tab + PG_STAGES - 1) : 0;

	cp_async_wait<PG_STAGES - 1>(); /* Q landed (this thread's copies) */
	__syncthreads();                /* ... and everyone's */

	const bool active = mt * 16 < G; /* warp-uniform: this m-tile has a real row */
	uint32_t qf[PG_D / 16][4];
	{
		const int qrow = mt * 16 + (lane & 15);
		const uint32_t qa = sQ + qrow * PG_ROW_BYTES;
		const uint32_t qx = (uint32_t)(((lane >> 4) ^ (qrow & 7)) << 4);
#pragma unroll
		for (int kk = 0; kk < PG_D / 16; kk++)
			ldsm_x4(qf[kk], qa + ((kk * 32) ^ qx));
	}

	/* running state of rows g (0) and g+8 (1): max (log2 domain, quad-uniform),
	 * per-lane partial sums, O accumulators (n8 tile j = dims 8j..8j+7) */
	float m0 = -INFINITY, m1 = -INFINITY, l0 = 0.0f, l1 = 0.0f;
	float oacc[PG_D / 8][4];
#pragma unroll
	for (int j = 0; j < PG_D / 8; j++)
		oacc[j][0] = oacc[j][1] = oacc[j][2] = oacc[j][3] = 0.0f;

	/* ldmatrix lane addresses (row & 7 == lane & 7 for every tile offset used) */
	const int key0 = ks * KW; /* this warp's first key in a chunk */
	const uint32_t k_lane = (uint32_t)(((lane & 7) + ((lane >> 4) << 3) + key0) * PG_ROW_BYTES);
	const uint32_t kx = (uint32_t)((((lane >> 3) & 1) ^ (lane & 7)) << 4);
	const uint32_t v_lane =
		(uint32_t)(((lane & 7) + (((lane >> 3) & 1) << 3) + key0) * PG_ROW_BYTES);
	const uint32_t vx = (uint32_t)(((lane >> 4) ^ (lane & 7)) << 4);

	int ld_stage = PG_STAGES - 1, st_use = 0;
	for (int i = 0; i < n; i++) {
		cp_async_wait<PG_STAGES - 2>(); /* chunk i landed (this thread's copies) */
		__syncthreads();                /* everyone's; and chunk i-1's stage is free */
		{
			const int c = i + PG_STAGES - 1;
			if (c < n) {
				const int valid = min(PG_CHUNK, len - (c0 + c) * PG_CHUNK);
				load_chunk<T>(sbase + ld_stage * PG_STAGE_BYTES, kp, vp,
					      (size_t)nxt * chunk_elems + head_off, valid, tid);
				if (c + 1 < n)
					nxt = __ldg(tab + c + 1);
			}
			cp_async_commit(); /* possibly empty: keeps the group count fixed */
			ld_stage = ld_stage == PG_STAGES - 1 ? 0 : ld_stage + 1;
		}
		const uint32_t sK = sbase + st_use * PG_STAGE_BYTES, sV = sK + PG_TILE_BYTES;
		st_use = st_use == PG_STAGES - 1 ? 0 : st_use + 1;
		if (!active)
			continue;
		const int valid = min(PG_CHUNK, len - (c0 + i) * PG_CHUNK);

		/* S = Q K^T over this warp's KW keys: 16 x KW, k = 128 */
		float sacc[NT][4];
#pragma unroll
		for (int j = 0; j < NT; j++)
			sacc[j][0] = sacc[j][1] = sacc[j][2] = sacc[j][3] = 0.0f;
#pragma unroll
		for (int kk = 0; kk < PG_D / 16; kk++) {
#pragma unroll
			for (int np = 0; np < NT / 2; np++) {
				uint32_t bb[4];
				ldsm_x4(bb, sK + k_lane + np * 16 * PG_ROW_BYTES + ((kk * 32) ^ kx));
				mma_m16n8k16<T>(sacc[2 * np], qf[kk], bb[0], bb[1]);
				mma_m16n8k16<T>(sacc[2 * np + 1], qf[kk], bb[2], bb[3]);
			}
		}
		/* scale to the log2 domain; keys >= valid -> -inf (a select: garbage
		 * scores, NaN included, are dropped) */
#pragma unroll
		for (int j = 0; j < NT; j++)
#pragma unroll
			for (int e = 0; e < 4; e++)
				sacc[j][e] *= p.scale_log2;
		if (valid < PG_CHUNK) {
#pragma unroll
			for (int j = 0; j < NT; j++)
#pragma unroll
				for (int e = 0; e < 4; e++)
					if (key0 + 8 * j + 2 * tq + (e & 1) >= valid)
						sacc[j][e] = -INFINITY;
		}
		/* online softmax, rows g (c0, c1) and g+8 (c2, c3) */
		float mx0 = -INFINITY, mx1 = -INFINITY;
#pragma unroll
		for (int j = 0; j < NT; j++) {
			mx0 = fmaxf(mx0, fmaxf(sacc[j][0], sacc[j][1]));
			mx1 = fmaxf(mx1, fmaxf(sacc[j][2], sacc[j][3]));
		}
		mx0 = quad_max(mx0);
		mx1 = quad_max(mx1);
		const float mn0 = fmaxf(m0, mx0), mn1 = fmaxf(m1, mx1);
		/* all keys so far masked: subtract 0, so exp2(-inf) = 0, never -inf - -inf */
		const float b0 = mn0 == -INFINITY ? 0.0f : mn0;
		const float b1 = mn1 == -INFINITY ? 0.0f : mn1;
		const float al0 = exp2f(m0 - b0), al1 = exp2f(m1 - b1); /* m = -inf -> 0 */
		m0 = mn0;
		m1 = mn1;
		float r0 = 0.0f, r1 = 0.0f;
#pragma unroll
		for (int j = 0; j < NT; j++) {
			sacc[j][0] = exp2f(sacc[j][0] - b0);
			sacc[j][1] = exp2f(sacc[j][1] - b0);
			sacc[j][2] = exp2f(sacc[j][2] - b1);
			sacc[j][3] = exp2f(sacc[j][3] - b1);
			r0 += sacc[j][0] + sacc[j][1];
			r1 += sacc[j][2] + sacc[j][3];
		}
		l0 = l0 * al0 + r0; /* per-lane partial sums: the quad is reduced once, at the end */
		l1 = l1 * al1 + r1;
#pragma unroll
		for (int j = 0; j < PG_D / 8; j++) {
			oacc[j][0] *= al0;
			oacc[j][1] *= al0;
			oacc[j][2] *= al1;
			oacc[j][3] *= al1;
		}
		/* P in T, in mma's A-operand layout (the accumulator layout of S) */
		uint32_t pa[KW / 16][4];
#pragma unroll
		for (int kk = 0; kk < KW / 16; kk++) {
			pa[kk][0] = pack2<T>(sacc[2 * kk][0], sacc[2 * kk][1]);
			pa[kk][1] = pack2<T>(sacc[2 * kk][2], sacc[2 * kk][3]);
			pa[kk][2] = pack2<T>(sacc[2 * kk + 1][0], sacc[2 * kk + 1][1]);
			pa[kk][3] = pack2<T>(sacc[2 * kk + 1][2], sacc[2 * kk + 1][3]);
		}
		/* O += P V: 16 x 128, k = KW (V rows >= valid are zeros in smem) */
#pragma unroll
		for (int kk = 0; kk < KW / 16; kk++) {
#pragma unroll
			for (int dp = 0; dp < PG_D / 16; dp++) {
				uint32_t bb[4];
				ldsm_x4_t(bb, sV + v_lane + kk * 16 * PG_ROW_BYTES + ((dp * 32) ^ vx));
				mma_m16n8k16<T>(oacc[2 * dp], pa[kk], bb[0], bb[1]);
				mma_m16n8k16<T>(oacc[2 * dp + 1], pa[kk], bb[2], bb[3]);
			}
		}
	}
	cp_async_wait<0>();
	__syncthreads(); /* every warp is done with the stages: reuse them as scratch */

	/* ---- epilogue: key-slice states of each row meet in shared memory.
	 * scratch row (ks * MT + mt) * 16 + r, r = local query row 0..15 */
	float *sO = (float *)smem;                                   /* [64][PG_OSTRIDE] */
	float2 *sML = (float2 *)(smem + PG_SCRATCH_ROWS * PG_OSTRIDE * 4); /* [64] (m, l) */
	{
		l0 = quad_sum(l0);
		l1 = quad_sum(l1);
		const int ra = (ks * MT + mt) * 16 + g, rb = ra + 8;
		float *oa = sO + ra * PG_OSTRIDE + 2 * tq, *ob = sO + rb * PG_OSTRIDE + 2 * tq;
#pragma unroll
		for (int j = 0; j < PG_D / 8; j++) {
			*(float2 *)(oa + 8 * j) = make_float2(oacc[j][0], oacc[j][1]);
			*(float2 *)(ob + 8 * j) = make_float2(oacc[j][2], oacc[j][3]);
		}
		if (tq == 0) {
			sML[ra] = make_float2(m0, l0);
			sML[rb] = make_float2(m1, l1);
		}
	}
	__syncthreads();

	/* pieces of 8 dims: G rows x 16 pieces; thread tid takes tid, tid + 128, ... */
	for (int pc = tid; pc < G * 16; pc += PG_THREADS) {
		const int r = pc >> 4, d0 = (pc & 15) * 8;
		const int mtr = r >> 4, rr = r & 15;
		float mk[KS], lk[KS];
		float M = -INFINITY;
#pragma unroll
		for (int k2 = 0; k2 < KS; k2++) {
			const float2 ml = sML[(k2 * MT + mtr) * 16 + rr];
			mk[k2] = ml.x;
			lk[k2] = ml.y;
			M = fmaxf(M, ml.x);
		}
		float L = 0.0f, o[8];
#pragma unroll
		for (int e = 0; e < 8; e++)
			o[e] = 0.0f;
#pragma unroll
		for (int k2 = 0; k2 < KS; k2++) {
			/* softmax_merge rule; an empty state's factor is exactly 0 */
			const float f = mk[k2] == -INFINITY ? 0.0f : exp2f(mk[k2] - M);
			L += f * lk[k2];
			const float *src = sO + ((k2 * MT + mtr) * 16 + rr) * PG_OSTRIDE + d0;
			const float4 x = *(const float4 *)src, y = *(const float4 *)(src + 4);
			o[0] += f * x.x;
			o[1] += f * x.y;
			o[2] += f * x.z;
			o[3] += f * x.w;
			o[4] += f * y.x;
			o[5] += f * y.y;
			o[6] += f * y.z;
			o[7] += f * y.w;
		}
		const float inv = L > 0.0f ? 1.0f / L : 0.0f;
		const int h = h0 + r;
		if (P == 1) {
			float *dst = p.out + ((size_t)s * H + h) * PG_D + d0;
			*(float4 *)dst = make_float4(o[0] * inv, o[1] * inv, o[2] * inv, o[3] * inv);
			*(float4 *)(dst + 4) = make_float4(o[4] * inv, o[5] * inv, o[6] * inv, o[7] * inv);
		} else {
			/* normalized partial: (m + ln l, 1, o / l) is the same state as
			 * (m, l, o) under the merge, and |o / l| <= max |v| */
			const size_t row = ((size_t)split * H + h) * p.n_seqs + s;
			*(uint4 *)((T *)p.po + row * PG_D + d0) =
				make_uint4(pack2<T>(o[0] * inv, o[1] * inv), pack2<T>(o[2] * inv, o[3] * inv),
					   pack2<T>(o[4] * inv, o[5] * inv), pack2<T>(o[6] * inv, o[7] * inv));
			if (d0 == 0)
				*(float2 *)(p.pml + 2 * row) =
					L > 0.0f ? make_float2(M * 0.69314718055994531f + logf(L), 1.0f)
						 : make_float2(-INFINITY, 0.0f);
		}
	}
}

/* ---- host launcher --------------------------------------------------------- */
static const char *paged_check(const struct attn_shape *s)
{
	static_assert(PG_CHUNK == 64 && PG_D == 128, "ATTN_CHECK_TILE_64x128 checks these");
	ATTN_CHECK_TILE_64x128("paged", s);
	if (s->n_kv_heads < 1)
		return "paged needs n_kv_heads >= 1";
	if (s->n_heads % s->n_kv_heads != 0)
		return "paged needs n_heads to be a multiple of n_kv_heads";
	if (attn_group_size(s) > PG_MAX_G)
		return "paged supports n_heads / n_kv_heads <= 64 only";
	if (attn_seq_chunks(s) < 0 || (long long)attn_seq_chunks(s) * PG_CHUNK >= (1LL << 30))
		return "paged needs a sequence's table to hold < 2^30 tokens";
	if ((long long)s->n_seqs * s->n_kv_heads > 0x7fffffffLL / 8)
		return "paged needs n_seqs * n_kv_heads < 2^28";
	return NULL;
}

/* m-tiles for g query rows */
static int paged_mt(const struct attn_shape *s)
{
	const int g = attn_group_size(s);
	return g <= 16 ? 1 : g <= 32 ? 2 : 4;
}

typedef void (*paged_fn)(const paged_params);

static paged_fn paged_pick(const struct attn_shape *s, int *mt)
{
	*mt = paged_mt(s);
	if (s->dtype == ATTN_BF16)
		return *mt == 1 ? paged_kernel<__nv_bfloat16, 1>
		       : *mt == 2 ? paged_kernel<__nv_bfloat16, 2>
				  : paged_kernel<__nv_bfloat16, 4>;
	return *mt == 1 ? paged_kernel<__half, 1> : *mt == 2 ? paged_kernel<__half, 2> : paged_kernel<__half, 4>;
}

/* CTA slots of the current device for one instantiation (SMs x resident
 * CTAs), set up once per (device, instantiation): the shared-memory opt-in and
 * the occupancy query are host calls a per-launch path should not repeat. */
static cudaError_t paged_setup(const struct attn_shape *s, paged_fn *fn, int *smem, long long *slots)
{
	int mt, dev = 0;
	*fn = paged_pick(s, &mt);
	*smem = PG_SMEM_BYTES(mt);
	cudaError_t e = cudaGetDevice(&dev);
	if (e != cudaSuccess)
		return e;
	if (dev < 0 || dev >= 16)
		dev = 0; /* cache slot only */
	const int v = (s->dtype == ATTN_BF16 ? 0 : 3) + (mt == 1 ? 0 : mt == 2 ? 1 : 2);
	static int occ_cache[16][6], sm_cache[16];
	if (occ_cache[dev][v] == 0) {
		int occ = 0;
		e = cudaFuncSetAttribute((const void *)*fn, cudaFuncAttributeMaxDynamicSharedMemorySize,
					 *smem);
		if (e != cudaSuccess)
			return e;
		e = cudaOccupancyMaxActiveBlocksPerMultiprocessor(&occ, (const void *)*fn, PG_THREADS,
								  (size_t)*smem);
		if (e != cudaSuccess)
			return e;
		if (occ < 1)
			return cudaErrorInvalidConfiguration;
		occ_cache[dev][v] = occ;
	}
	if (sm_cache[dev] == 0) {
		int sms = 0;
		e = cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, dev);
		if (e != cudaSuccess)
			return e;
		sm_cache[dev] = sms > 0 ? sms : 1;
	}
	*slots = (long long)occ_cache[dev][v] * sm_cache[dev];
	return cudaSuccess;
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

static int paged_splits(const struct attn_shape *s, paged_fn *fn, int *smem, cudaError_t *err)
{
	long long slots = 0;
	*err = paged_setup(s, fn, smem, &slots);
	if (*err != cudaSuccess)
		return 1;
	return paged_plan_splits((long long)s->n_seqs * s->n_kv_heads, attn_seq_chunks(s), slots);
}

static size_t paged_workspace(const struct attn_shape *s)
{
	if (paged_check(s) != NULL)
		return 0;
	paged_fn fn;
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
	paged_fn fn;
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
	struct paged_params p;
	p.q = a->q;
	p.k = a->k;
	p.v = a->v;
	p.chunk_table = a->tree.chunk_table;
	p.seq_len = a->tree.seq_len;
	p.out = a->out;
	p.po = pp.o;
	p.pml = pp.ml;
	p.n_seqs = s->n_seqs;
	p.n_heads = s->n_heads;
	p.n_kv_heads = s->n_kv_heads;
	p.group = attn_group_size(s);
	p.n_table = attn_seq_chunks(s);
	p.n_splits = P;
	p.scale_log2 = a->scale * 1.4426950408889634f;
	const long long blocks = (long long)s->n_seqs * s->n_kv_heads * P;
	if (blocks > 0x7fffffffLL)
		return (int)cudaErrorInvalidValue;
	cudaStream_t st = (cudaStream_t)stream;
	fn<<<(unsigned)blocks, PG_THREADS, smem, st>>>(p);
	e = cudaGetLastError();
	if (e != cudaSuccess)
		return (int)e;
	if (P > 1)
		return attn_merge_launch(&pp, a->out, stream);
	return 0;
}

extern "C" const struct attn_kernel attn_kernel_paged = {
	"paged",
	"no-sharing baseline: split-K decode over each sequence's chunk table, GQA group per CTA, mma.sync + 3-stage cp.async (+ merge)",
	paged_check,
	paged_workspace,
	paged_launch,
};
