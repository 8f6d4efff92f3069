/* split_decode.h - split-K decode attention over runs of pool chunks: the
 * core that paged (every sequence is its own run) and hydragen (the prefix
 * tree's nodes, shared ones batched across their sequences) are made of.
 * CUDA only; included by those two .cu files.
 *
 * A "node" here is a run of chunks and the query rows that attend to it:
 *   explicit nodes   attn_tree.nodes[i]: the node's n_seqs sequences x the g
 *                    query heads of one K/V head (g = n_heads / n_kv_heads)
 *                    are its rows, R = (seq - seq_begin) * g + (head - kvh*g);
 *                    its chunks node_chunks[chunk_begin ..], n_tokens tokens.
 *   sequence nodes   (nodes == NULL) node i = sequence i over its whole
 *                    chunk_table row, seq_len[i] tokens, rows = the g heads.
 * The grid is cut into up to SD_MAX_SEGMENTS segments (a tree level each);
 * inside one, CTA b decodes, fastest first, as (row tile, split, node, K/V
 * head): the row tiles of one (node, split) read the same chunks at the same
 * time (the second and later from L2), and neighbouring nodes of one K/V
 * head run side by side (paged: sequences sharing chunks meet in L2).
 *
 * One CTA = 4 warps, MT = 1, 2 or 4 m-tiles of 16 rows (per segment, a
 * runtime choice among the instantiated ones).  Warp w owns m-tile w % MT
 * and key slice w / MT of every chunk (64 / (4 / MT) keys), with its own
 * online softmax (exp2 domain) and fp32 O accumulators; Q lives in registers
 * as mma.sync m16n8k16 A fragments.  Pipeline: one stage = one chunk's K + V
 * [64][128] each (32 KiB), 3 stages of cp.async (XOR-swizzled 256-byte
 * rows), one __syncthreads per chunk, the next chunk's pool index loaded one
 * chunk ahead.  Rows past the node's tokens in its last chunk are zero-filled
 * (cp.async src-size 0) and their scores set to -inf before the max, so pool
 * padding never reaches the math.  Epilogue: the 4 / MT key-slice states of
 * each row meet in shared memory (the stage buffers) under the softmax_merge
 * rule; then either out = o / l straight to out (a segment with slot0 < 0:
 * the only partial of its rows) or one partial in merge.h's layout at slot
 * slot0 + split, stored normalized as (m + ln l, 1, o / l) -- the same state
 * under the merge rule -- so a long split's o cannot overflow fp16.
 *
 * Limits: chunk_size 64, d_head 128, bf16/fp16, n_seqs * n_kv_heads and the
 * grid below 2^31; the caller checks them.
 */
#ifndef SPLIT_DECODE_H
#define SPLIT_DECODE_H

#ifndef __CUDACC__
#error "split_decode.h is CUDA device code"
#endif

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>
#include <math.h>
#include <stdint.h>

#include "attn.h"
#include "level_plan.h"
#include "merge.h"
#include "ptx.h"
#include "softmax_merge.h"

/* ---- compile-time configuration ----------------------------------------- */
#define SD_CHUNK 64     /* keys per chunk (attn_shape.chunk_size) */
#define SD_D 128        /* head dimension */
#define SD_WARPS 4
#define SD_THREADS (32 * SD_WARPS)
#define SD_MAX_ROWS 64  /* query rows per CTA: 4 m-tiles of 16 */
#ifndef SD_STAGES
#define SD_STAGES 3     /* chunks of K+V in shared memory (2 in flight while one is used) */
#endif
#define SD_RESCALE_TAU 8.0f /* log2 units: a row's max is raised when a tile passes it by > 8 (a factor 2^8) */
/* No L2 eviction hint on K/V: sequences that share chunks may find them in
 * L2, as a serving system's decode kernel would.  (An evict_first policy on
 * the zero-filling cp.async also raised "illegal instruction" on the H200.) */
#define SD_ROW_BYTES (SD_D * 2)                        /* one K/V/Q row, 16-bit */
#define SD_TILE_BYTES (SD_CHUNK * SD_ROW_BYTES)        /* K or V of one chunk: 16 KiB */
#define SD_STAGE_BYTES (2 * SD_TILE_BYTES)             /* K + V */
#define SD_Q_BYTES(MT) ((MT) * 16 * SD_ROW_BYTES)      /* Q m-tiles */
#define SD_SMEM_BYTES(MT) (SD_STAGES * SD_STAGE_BYTES + SD_Q_BYTES(MT))
#define SD_OSTRIDE (SD_D + 8) /* fp32 row stride of the epilogue scratch: conflict-free float2 writes */
#define SD_SCRATCH_ROWS (SD_WARPS * 16) /* KS * MT * 16 = 64 rows for every MT */
#define SD_SCRATCH_BYTES (SD_SCRATCH_ROWS * SD_OSTRIDE * 4 + SD_SCRATCH_ROWS * 8)

static_assert(SD_D == 128 && SD_ROW_BYTES == 256, "swizzle assumes 16 pieces of 16 bytes per row");
static_assert(SD_CHUNK == 64 && SD_WARPS == 4,
	      "key slices: 4 warps split a 64-key chunk into 4/MT slices of >= 16 keys");
static_assert(SD_STAGES >= 2 && SD_STAGES <= 4, "cp.async wait counts assume 2..4 stages");
static_assert((SD_CHUNK * 16) % SD_THREADS == 0, "whole 16-byte pieces per thread per tile");
static_assert(SD_SCRATCH_BYTES <= SD_STAGES * SD_STAGE_BYTES,
	      "epilogue scratch reuses the stage buffers");
static_assert(2 * (SD_SMEM_BYTES(4) + 1024) <= 228 * 1024,
	      "2 CTAs per SM on sm_90 (228 KB, +1 KB reserved per CTA) even at MT = 4");
static_assert((SD_OSTRIDE * 4) % 16 == 0, "float4 reads of scratch rows");

/* ---- parameters ------------------------------------------------------------ */
/* struct sd_segment, sd_mt_for_rows(), SD_MAX_SEGMENTS: level_plan.h */
struct sd_params {
	const void *q;                  /* [S][H][128] T */
	const void *k, *v;              /* pool [NP][KVH][64][128] T */
	const struct attn_node *nodes;  /* explicit nodes, or NULL: sequence nodes */
	const int *node_chunks;         /* explicit nodes' pool indices */
	const int *chunk_table;         /* sequence nodes: [S][n_table] pool indices */
	const int *seq_len;             /* sequence nodes: [S] tokens */
	int n_table;                    /* attn_seq_chunks(): table row width */
	float *out;                     /* [S][H][128] fp32 */
	void *po;                       /* partials o  [n_parts][H][S][128] T (merge.h) */
	float *pml;                     /* partials ml [n_parts][H][S][2] */
	int n_seqs, n_heads, n_kv_heads, group; /* S, H, KVH, g = H / KVH */
	int n_segments;
	struct sd_segment seg[SD_MAX_SEGMENTS];
	float scale_log2;               /* scale * log2(e): scores go straight to exp2 */
};

/* ---- device helpers -------------------------------------------------------- */
/* byte offset of 16-byte piece `ch` of row `row` in a swizzled 256-byte-row tile */
static __device__ __forceinline__ uint32_t sd_sw(int row, int ch)
{
	return (uint32_t)(row * SD_ROW_BYTES + ((ch ^ (row & 7)) << 4));
}

/* K and V of one chunk (element offset off in the pool) into one stage; rows
 * >= valid are zero-filled (no bytes read).  Thread tid copies pieces
 * tid + 128 j: row (tid >> 4) + 8 j, piece tid & 15. */
template <typename T>
static __device__ __forceinline__ void sd_load_chunk(uint32_t sK, const T *k, const T *v,
						     size_t off, int valid, int tid)
{
	const T *ks = k + off, *vs = v + off;
#pragma unroll
	for (int j = 0; j < SD_CHUNK * 16 / SD_THREADS; j++) {
		const int i = tid + SD_THREADS * j, row = i >> 4, ch = i & 15;
		const int n = row < valid ? 16 : 0;
		const size_t e = (size_t)row * SD_D + ch * 8;
		cp_async16(sK + sd_sw(row, ch), ks + e, n);
		cp_async16(sK + SD_TILE_BYTES + sd_sw(row, ch), vs + e, n);
	}
}

/* One CTA's work: row tile rt, split `split` of node `node` (segment-local),
 * K/V head kvh. */
template <typename T, int MT, bool LAZY>
static __device__ __forceinline__ void sd_cta(const sd_params &p, const sd_segment &sg, int rt,
					      int split, int node, int kvh, unsigned char *smem)
{
	constexpr int KS = SD_WARPS / MT;  /* key slices per chunk */
	constexpr int KW = SD_CHUNK / KS;  /* keys per warp per chunk: 16, 32, 64 */
	constexpr int NT = KW / 8;         /* n8 score tiles per warp */
	static_assert(MT == 1 || MT == 2 || MT == 4, "m-tiles: 1, 2 or 4");
	static_assert(KW % 16 == 0, "P V needs whole k16 slices of keys");

	const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
	const int mt = warp % MT, ks = warp / MT;
	const int g = lane >> 2, tq = lane & 3;
	const int G = p.group, H = p.n_heads, KVH = p.n_kv_heads;
	const int h0 = kvh * G;

	/* the node: its first sequence, tokens and chunk list */
	int seq0, len, maxc;
	const int *nchunks;
	if (p.nodes) {
		const struct attn_node nd = p.nodes[sg.node_first + node];
		seq0 = nd.seq_begin;
		len = nd.n_tokens;
		maxc = nd.n_chunks;
		nchunks = p.node_chunks + nd.chunk_begin;
	} else {
		seq0 = node;
		len = __ldg(p.seq_len + node);
		maxc = p.n_table;
		nchunks = p.chunk_table + (size_t)node * p.n_table;
	}
	len = len < 0 ? 0 : len;
	if ((long long)len > (long long)maxc * SD_CHUNK)
		len = maxc * SD_CHUNK;
	/* this split's chunks [c0, c0 + n) of the node */
	const int P = sg.splits;
	const int ncs = (len + SD_CHUNK - 1) / SD_CHUNK;
	const int c0 = (int)((long long)split * ncs / P);
	const int n = (int)((long long)(split + 1) * ncs / P) - c0;
	const int *tab = nchunks + c0;
	/* this CTA's rows: node rows [r0, r0 + nrows) */
	const int r0 = rt * MT * 16;
	const int nrows = min(MT * 16, sg.rows - r0);

	const uint32_t sbase = smem_u32(smem);
	const uint32_t sQ = sbase + SD_STAGES * SD_STAGE_BYTES;
	const T *kp = (const T *)p.k, *vp = (const T *)p.v;
	const size_t head_off = (size_t)kvh * SD_CHUNK * SD_D;     /* within a pool chunk */
	const size_t chunk_elems = (size_t)KVH * SD_CHUNK * SD_D;  /* one pool chunk */

	/* ---- Q: local row r = node row r0 + r = (sequence, head) below; rows
	 * >= nrows zero : group 0 */
	{
#pragma unroll
		for (int j = 0; j < MT * 16 * 16 / SD_THREADS; j++) {
			const int i = tid + SD_THREADS * j, row = i >> 4, ch = i & 15;
			const bool ok = row < nrows;
			const int R = r0 + row;
			const T *src = (const T *)p.q;
			if (ok)
				src += ((size_t)(seq0 + R / G) * H + h0 + R % G) * SD_D + ch * 8;
			cp_async16(sQ + sd_sw(row, ch), src, ok ? 16 : 0);
		}
		cp_async_commit();
	}
	/* ---- prologue: chunks 0 .. STAGES-2, one group each (empty past n) */
#pragma unroll
	for (int st = 0; st < SD_STAGES - 1; st++) {
		if (st < n) {
			const int pidx = __ldg(tab + st);
			const int valid = min(SD_CHUNK, len - (c0 + st) * SD_CHUNK);
			sd_load_chunk<T>(sbase + st * SD_STAGE_BYTES, kp, vp,
					 (size_t)pidx * chunk_elems + head_off, valid, tid);
		}
		cp_async_commit();
	}
	/* pool index of the next chunk to issue (STAGES-1), loaded a chunk ahead */
	int nxt = SD_STAGES - 1 < n ? __ldg(tab + SD_STAGES - 1) : 0;

	cp_async_wait<SD_STAGES - 1>(); /* Q landed (this thread's copies) */
	__syncthreads();                /* ... and everyone's */

	const bool active = mt * 16 < nrows; /* warp-uniform: this m-tile has a real row */
	uint32_t qf[SD_D / 16][4];
	{
		const int qrow = mt * 16 + (lane & 15);
		const uint32_t qa = sQ + qrow * SD_ROW_BYTES;
		const uint32_t qx = (uint32_t)(((lane >> 4) ^ (qrow & 7)) << 4);
#pragma unroll
		for (int kk = 0; kk < SD_D / 16; kk++)
			ldsm_x4(qf[kk], qa + ((kk * 32) ^ qx));
	}

	/* running state of rows g (0) and g+8 (1): max (log2 domain, quad-uniform),
	 * per-lane partial sums, O accumulators (n8 tile j = dims 8j..8j+7) */
	float m0 = -INFINITY, m1 = -INFINITY, l0 = 0.0f, l1 = 0.0f;
	float oacc[SD_D / 8][4];
#pragma unroll
	for (int j = 0; j < SD_D / 8; j++)
		oacc[j][0] = oacc[j][1] = oacc[j][2] = oacc[j][3] = 0.0f;

	/* ldmatrix lane addresses (row & 7 == lane & 7 for every tile offset used) */
	const int key0 = ks * KW; /* this warp's first key in a chunk */
	const uint32_t k_lane = (uint32_t)(((lane & 7) + ((lane >> 4) << 3) + key0) * SD_ROW_BYTES);
	const uint32_t kx = (uint32_t)((((lane >> 3) & 1) ^ (lane & 7)) << 4);
	const uint32_t v_lane =
		(uint32_t)(((lane & 7) + (((lane >> 3) & 1) << 3) + key0) * SD_ROW_BYTES);
	const uint32_t vx = (uint32_t)(((lane >> 4) ^ (lane & 7)) << 4);

	int ld_stage = SD_STAGES - 1, st_use = 0;
	for (int i = 0; i < n; i++) {
		cp_async_wait<SD_STAGES - 2>(); /* chunk i landed (this thread's copies) */
		__syncthreads();                /* everyone's; and chunk i-1's stage is free */
		{
			const int c = i + SD_STAGES - 1;
			if (c < n) {
				const int valid = min(SD_CHUNK, len - (c0 + c) * SD_CHUNK);
				sd_load_chunk<T>(sbase + ld_stage * SD_STAGE_BYTES, kp, vp,
						 (size_t)nxt * chunk_elems + head_off, valid, tid);
				if (c + 1 < n)
					nxt = __ldg(tab + c + 1);
			}
			cp_async_commit(); /* possibly empty: keeps the group count fixed */
			ld_stage = ld_stage == SD_STAGES - 1 ? 0 : ld_stage + 1;
		}
		const uint32_t sK = sbase + st_use * SD_STAGE_BYTES, sV = sK + SD_TILE_BYTES;
		st_use = st_use == SD_STAGES - 1 ? 0 : st_use + 1;
		if (!active)
			continue;
		const int valid = min(SD_CHUNK, len - (c0 + i) * SD_CHUNK);

		/* S = Q K^T over this warp's KW keys: 16 x KW, k = 128 */
		float sacc[NT][4];
#pragma unroll
		for (int j = 0; j < NT; j++)
			sacc[j][0] = sacc[j][1] = sacc[j][2] = sacc[j][3] = 0.0f;
#pragma unroll
		for (int kk = 0; kk < SD_D / 16; kk++) {
#pragma unroll
			for (int np = 0; np < NT / 2; np++) {
				uint32_t bb[4];
				ldsm_x4(bb, sK + k_lane + np * 16 * SD_ROW_BYTES + ((kk * 32) ^ kx));
				mma_m16n8k16<T>(sacc[2 * np], qf[kk], bb[0], bb[1]);
				mma_m16n8k16<T>(sacc[2 * np + 1], qf[kk], bb[2], bb[3]);
			}
		}
		/* the eager step (paged) works on scores scaled to the log2 domain;
		 * the lazy one (hydragen) keeps them raw: its scale folds into the
		 * exponent's FFMA */
		if constexpr (!LAZY) {
#pragma unroll
			for (int j = 0; j < NT; j++)
#pragma unroll
				for (int e = 0; e < 4; e++)
					sacc[j][e] *= p.scale_log2;
		}
		/* keys >= valid -> -inf (a select: garbage scores, NaN included,
		 * are dropped) */
		if (valid < SD_CHUNK) {
#pragma unroll
			for (int j = 0; j < NT; j++)
#pragma unroll
				for (int e = 0; e < 4; e++)
					if (key0 + 8 * j + 2 * tq + (e & 1) >= valid)
						sacc[j][e] = -INFINITY;
		}
		/* online softmax, rows g (c0, c1) and g+8 (c2, c3): the tile's max */
		float mx0 = -INFINITY, mx1 = -INFINITY;
#pragma unroll
		for (int j = 0; j < NT; j++) {
			mx0 = fmaxf(mx0, fmaxf(sacc[j][0], sacc[j][1]));
			mx1 = fmaxf(mx1, fmaxf(sacc[j][2], sacc[j][3]));
		}
		/* hydragen (LAZY): one FFMA + EX2 a score; m in log2 units, raised
		 * only when a tile's max passes it by more than SD_RESCALE_TAU
		 * (softmax_raise_f2: P <= 256), the output rescaled only in steps
		 * where some row of the warp raised its max.  paged: the eager step
		 * (the lazy one measured 1-2.6 % slower there) */
		if constexpr (LAZY) {
			float al0, al1;
			int up;
			{
				softmax_state_f2 r0 = {m0, l0}, r1 = {m1, l1};
				up = softmax_raise_f2(&r0, quad_max(mx0) * p.scale_log2, SD_RESCALE_TAU, &al0);
				up |= softmax_raise_f2(&r1, quad_max(mx1) * p.scale_log2, SD_RESCALE_TAU, &al1);
				m0 = r0.m;
				m1 = r1.m;
				l0 = r0.l;
				l1 = r1.l;
			}
			if (__any_sync(0xffffffffu, up)) /* warp-uniform */
				acc_scale_rows(oacc, al0, al1);
			/* all keys so far masked: subtract 0, so exp2(-inf) = 0, never -inf - -inf */
			const float b0 = m0 == -INFINITY ? 0.0f : -m0;
			const float b1 = m1 == -INFINITY ? 0.0f : -m1;
			const float k2 = p.scale_log2;
			float s0 = 0.0f, s1 = 0.0f;
#pragma unroll
			for (int j = 0; j < NT; j++) {
				sacc[j][0] = ex2_approx(fmaf(sacc[j][0], k2, b0));
				sacc[j][1] = ex2_approx(fmaf(sacc[j][1], k2, b0));
				sacc[j][2] = ex2_approx(fmaf(sacc[j][2], k2, b1));
				sacc[j][3] = ex2_approx(fmaf(sacc[j][3], k2, b1));
				s0 += sacc[j][0] + sacc[j][1];
				s1 += sacc[j][2] + sacc[j][3];
			}
			l0 += s0; /* per-lane partial sums: the quad is reduced once, at the end */
			l1 += s1;
		} else {
			mx0 = quad_max(mx0);
			mx1 = quad_max(mx1);
			const float mn0 = fmaxf(m0, mx0), mn1 = fmaxf(m1, mx1);
			/* all keys so far masked: subtract 0, so exp2(-inf) = 0, never -inf - -inf */
			const float b0 = mn0 == -INFINITY ? 0.0f : mn0;
			const float b1 = mn1 == -INFINITY ? 0.0f : mn1;
			const float al0 = exp2f(m0 - b0), al1 = exp2f(m1 - b1); /* m = -inf -> 0 */
			m0 = mn0;
			m1 = mn1;
			float s0 = 0.0f, s1 = 0.0f;
#pragma unroll
			for (int j = 0; j < NT; j++) {
				sacc[j][0] = exp2f(sacc[j][0] - b0);
				sacc[j][1] = exp2f(sacc[j][1] - b0);
				sacc[j][2] = exp2f(sacc[j][2] - b1);
				sacc[j][3] = exp2f(sacc[j][3] - b1);
				s0 += sacc[j][0] + sacc[j][1];
				s1 += sacc[j][2] + sacc[j][3];
			}
			l0 = l0 * al0 + s0; /* per-lane partial sums: the quad is reduced once, at the end */
			l1 = l1 * al1 + s1;
			/* acc_scale_rows (ptx.h), written out: the call changed paged's
			 * register allocation and schedule (cuobjdump), unmeasured */
#pragma unroll
			for (int j = 0; j < SD_D / 8; j++) {
				oacc[j][0] *= al0;
				oacc[j][1] *= al0;
				oacc[j][2] *= al1;
				oacc[j][3] *= al1;
			}
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
			for (int dp = 0; dp < SD_D / 16; dp++) {
				uint32_t bb[4];
				ldsm_x4_t(bb, sV + v_lane + kk * 16 * SD_ROW_BYTES + ((dp * 32) ^ vx));
				mma_m16n8k16<T>(oacc[2 * dp], pa[kk], bb[0], bb[1]);
				mma_m16n8k16<T>(oacc[2 * dp + 1], pa[kk], bb[2], bb[3]);
			}
		}
	}
	cp_async_wait<0>();
	__syncthreads(); /* every warp is done with the stages: reuse them as scratch */

	/* ---- epilogue: key-slice states of each row meet in shared memory.
	 * scratch row (ks * MT + mt) * 16 + r, r = local query row 0..15 */
	float *sO = (float *)smem;                                   /* [64][SD_OSTRIDE] */
	float2 *sML = (float2 *)(smem + SD_SCRATCH_ROWS * SD_OSTRIDE * 4); /* [64] (m, l) */
	{
		l0 = quad_sum(l0);
		l1 = quad_sum(l1);
		const int ra = (ks * MT + mt) * 16 + g, rb = ra + 8;
		float *oa = sO + ra * SD_OSTRIDE + 2 * tq, *ob = sO + rb * SD_OSTRIDE + 2 * tq;
#pragma unroll
		for (int j = 0; j < SD_D / 8; j++) {
			*(float2 *)(oa + 8 * j) = make_float2(oacc[j][0], oacc[j][1]);
			*(float2 *)(ob + 8 * j) = make_float2(oacc[j][2], oacc[j][3]);
		}
		if (tq == 0) {
			sML[ra] = make_float2(m0, l0);
			sML[rb] = make_float2(m1, l1);
		}
	}
	__syncthreads();

	/* pieces of 8 dims: nrows rows x 16 pieces; thread tid takes tid, tid + 128, ... */
	for (int pc = tid; pc < nrows * 16; pc += SD_THREADS) {
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
			const float *src = sO + ((k2 * MT + mtr) * 16 + rr) * SD_OSTRIDE + d0;
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
		const int R = r0 + r, s = seq0 + R / G, h = h0 + R % G;
		if (sg.slot0 < 0) {
			float *dst = p.out + ((size_t)s * H + h) * SD_D + d0;
			*(float4 *)dst = make_float4(o[0] * inv, o[1] * inv, o[2] * inv, o[3] * inv);
			*(float4 *)(dst + 4) = make_float4(o[4] * inv, o[5] * inv, o[6] * inv, o[7] * inv);
		} else {
			/* normalized partial: (m + ln l, 1, o / l) is the same state as
			 * (m, l, o) under the merge, and |o / l| <= max |v| */
			const size_t row = ((size_t)(sg.slot0 + split) * H + h) * p.n_seqs + s;
			*(uint4 *)((T *)p.po + row * SD_D + d0) =
				make_uint4(pack2<T>(o[0] * inv, o[1] * inv), pack2<T>(o[2] * inv, o[3] * inv),
					   pack2<T>(o[4] * inv, o[5] * inv), pack2<T>(o[6] * inv, o[7] * inv));
			if (d0 == 0)
				*(float2 *)(p.pml + 2 * row) =
					L > 0.0f ? make_float2(M * 0.69314718055994531f + logf(L), 1.0f)
						 : make_float2(-INFINITY, 0.0f);
		}
	}
}

/* The kernel: CTA blockIdx.x -> (segment, row tile, split, node, K/V head),
 * then the segment's m-tile count among those in MTS (bit MT set: MT
 * instantiated; one bit for a launcher with one MT per launch). */
template <typename T, int MTS, bool LAZY = false>
__global__ void __launch_bounds__(SD_THREADS, 2) sd_kernel(const __grid_constant__ sd_params p)
{
	extern __shared__ __align__(128) unsigned char smem[];
	int si = 0;
	while (si + 1 < p.n_segments && (int)blockIdx.x >= p.seg[si + 1].block_begin)
		si++;
	const sd_segment &sg = p.seg[si];
	int b = (int)blockIdx.x - sg.block_begin;
	const int rt = b % sg.row_tiles;
	b /= sg.row_tiles;
	const int split = b % sg.splits;
	b /= sg.splits;
	const int node = b % sg.n_nodes, kvh = b / sg.n_nodes;
	if ((MTS & 4) && sg.mt == 4)
		sd_cta<T, 4, LAZY>(p, sg, rt, split, node, kvh, smem);
	else if ((MTS & 2) && sg.mt == 2)
		sd_cta<T, 2, LAZY>(p, sg, rt, split, node, kvh, smem);
	else if (MTS & 1)
		sd_cta<T, 1, LAZY>(p, sg, rt, split, node, kvh, smem);
}

/* ---- host helpers ------------------------------------------------------------ */
typedef void (*sd_fn)(const sd_params);

/* CTA slots of the current device for `fn` with `smem` bytes (SMs x resident
 * CTAs), set up once per (device, fn): the shared-memory opt-in and the
 * occupancy query are host calls a per-launch path should not repeat. */
static cudaError_t sd_slots(sd_fn fn, int smem, long long *slots)
{
	enum { CACHE = 32 };
	static struct {
		sd_fn fn;
		int dev, occ, sms;
	} cache[CACHE];
	static int n_cached;
	int dev = 0;
	cudaError_t e = cudaGetDevice(&dev);
	if (e != cudaSuccess)
		return e;
	for (int i = 0; i < n_cached; i++)
		if (cache[i].fn == fn && cache[i].dev == dev) {
			*slots = (long long)cache[i].occ * cache[i].sms;
			return cudaSuccess;
		}
	int occ = 0, sms = 0;
	e = cudaFuncSetAttribute((const void *)fn, cudaFuncAttributeMaxDynamicSharedMemorySize, smem);
	if (e != cudaSuccess)
		return e;
	e = cudaOccupancyMaxActiveBlocksPerMultiprocessor(&occ, (const void *)fn, SD_THREADS,
							  (size_t)smem);
	if (e != cudaSuccess)
		return e;
	if (occ < 1)
		return cudaErrorInvalidConfiguration;
	e = cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, dev);
	if (e != cudaSuccess)
		return e;
	if (sms < 1)
		sms = 1;
	if (n_cached < CACHE) {
		cache[n_cached].fn = fn;
		cache[n_cached].dev = dev;
		cache[n_cached].occ = occ;
		cache[n_cached].sms = sms;
		n_cached++;
	}
	*slots = (long long)occ * sms;
	return cudaSuccess;
}

/* The parameters every launcher fills alike: tensors, output, partials
 * (pp may be empty: n_parts 0, direct output), sizes and the scale; the
 * caller adds its nodes or tables and its segments. */
static sd_params sd_params_of(const struct attn_args *a, const struct attn_partials *pp)
{
	const struct attn_shape *s = &a->s;
	sd_params p = {};
	p.q = a->q;
	p.k = a->k;
	p.v = a->v;
	p.out = a->out;
	p.po = pp->o;
	p.pml = pp->ml;
	p.n_seqs = s->n_seqs;
	p.n_heads = s->n_heads;
	p.n_kv_heads = s->n_kv_heads;
	p.group = attn_group_size(s);
	p.scale_log2 = a->scale * 1.4426950408889634f;
	return p;
}

/* Enqueue the grid of p's segments (their block_begin filled in here);
 * cudaErrorInvalidValue for an empty grid or one past 2^31 - 1 CTAs. */
static cudaError_t sd_launch(sd_fn fn, int smem, sd_params *p, cudaStream_t st)
{
	long long total = 0;
	for (int i = 0; i < p->n_segments; i++) {
		sd_segment *sg = &p->seg[i];
		if (total > 0x7fffffffLL)
			return cudaErrorInvalidValue;
		sg->block_begin = (int)total;
		total += (long long)sg->row_tiles * sg->splits * sg->n_nodes * p->n_kv_heads;
	}
	if (total < 1 || total > 0x7fffffffLL)
		return cudaErrorInvalidValue;
	fn<<<(unsigned)total, SD_THREADS, smem, st>>>(*p);
	return cudaGetLastError();
}

/* One forward pass: the grid, then the merge when the partials are more
 * than one per (sequence, head).  Returns a cudaError_t. */
static int sd_forward(sd_fn fn, int smem, sd_params *p, const struct attn_partials *pp,
		      cudaStream_t st)
{
	cudaError_t e = sd_launch(fn, smem, p, st);
	if (e != cudaSuccess)
		return (int)e;
	if (pp->n_parts > 1)
		return attn_merge_launch(pp, p->out, (struct CUstream_st *)st);
	return 0;
}

#endif
