/* prefix_stream_kernel.h - the device code of prefix_stream: the kernels'
 * parameters, the mma.sync kernel (any sm_90 image) and the wgmma kernel
 * (sm_90a; cp.async or TMA loads), one CTA per (K/V head, split).  Their
 * epilogue, the merges, is prefix_stream_merge.h; the host side (plan,
 * launch, the registry variants) is prefix_stream.cu, which includes this
 * file once.  The design is in prefix_stream.cu's header comment.
 *
 * Rows.  A CTA of K/V head h (h = blockIdx.x / S) computes n_rows query
 * rows: MHA (template flag GQA false, g = 1) row r is sequence r of query
 * head h; GQA/MQA (GQA true, g = p.group = n_heads / n_kv_heads > 1) row r
 * is sequence r / g of query head h * g + r % g, n_rows = n_seqs x g.
 * ps_qrow() is the one place that maps a row to q's and out's [n_seqs]
 * [n_heads] index; everything else (tiles, partials, merges, the per-head
 * counters) is per (K/V head, row) and the same for both.  The GQA flag
 * is a template argument so that the MHA kernels stay what they were,
 * instruction for instruction (docs/kernels/prefix_stream.md, v8).
 */
#ifndef PREFIX_STREAM_KERNEL_H
#define PREFIX_STREAM_KERNEL_H

#include <cuda.h> /* CUtensorMap (types only: the encoder is fetched at run time) */
#include <cuda_runtime.h>
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <stdint.h>

#include "attn.h"
#include "prefix_stream_plan.h" /* PS_CHUNK, PS_D, ..., PS_SPLIT_BEGIN() */
#include "ptx.h"
#include "softmax_merge.h"

#define PS_SCRATCH_WORDS 68 /* m[2] l[2] o[64] per lane */

/* per-(K/V) head arrive/depart counters for S > 1; zero at load, reset by
 * the last CTA of each head to leave. */
__device__ unsigned int ps_head_ctr[PS_MAX_SPLIT_HEADS];

struct ps_params {
	CUtensorMap tmk, tmv; /* TMA maps of k and v as [rows][128] (wgmma+TMA path) */
	const char *q, *k, *v; /* q [n_seqs][n_heads][128]; k, v: the pool [*][n_kv_heads][64][128] */
	const int *chunks;     /* [C] pool index of each prefix chunk (attn_common_chunks) */
	float *out;            /* [n_seqs][n_heads][128] */
	float *po;   /* [batches*n_kv_heads*S][n_rows][128] unnormalized partial o */
	float2 *pml; /* [batches*n_kv_heads*S][n_rows] (m, l) */
	int n_rows;  /* query rows per K/V head of a batch: its n_seqs x g (MHA: n_seqs) */
	int n_heads, n_chunks, nqg, splits;
	int cluster; /* S > 1: 1 = the head's S CTAs are one cluster (DSMEM merge),
		      * 0 = global partials + per-head counter (one wave) */
	int kv_early; /* 1: K/V loads may start before griddepcontrol.wait (the
		       * previous kernel in the stream must not write k/v) */
	float scale;
	/* read by the GQA instantiations only (after the fields above, whose
	 * offsets the MHA kernels' code keeps) */
	int n_kv_heads; /* the grid's heads: K/V heads */
	int group;      /* g = n_heads / n_kv_heads query heads per K/V head */
	unsigned group_mul; /* floor(2^32 / g) + 1 (g >= 2): r / g = __umulhi(r, group_mul) while r * g < 2^32 */
	/* tree workloads (v13; read by every kernel's epilogue): non-NULL
	 * part_o sends the common prefix's rows to partial slot 0 of merge.h's
	 * layout instead of out (ps_part_row, prefix_stream_merge.h),
	 * normalized as (m + ln l, 1, o / l); the tree's other levels fill the
	 * later slots and merge.cu folds them all (prefix_stream.cu, "tree
	 * workloads") */
	void *part_o;     /* o  [n_parts][n_heads][part_seqs][128], the input dtype */
	float2 *part_ml;  /* ml [n_parts][n_heads][part_seqs] */
	int part_seqs;    /* the forward pass's n_seqs */
	int part_fp16;    /* o stored as fp16 (else bf16): the input dtype */
	/* batches (v12; the grid's y): batch b = blockIdx.y holds n_rows rows
	 * (the last n_rows_last) and starts at q/out row b * batch_qrows */
	int n_rows_last;
	unsigned batch_qrows; /* a batch's sequences x n_heads */
};

/* this CTA's batch's query rows: p.n_rows, the last batch's p.n_rows_last */
static __device__ __forceinline__ int ps_batch_rows(const ps_params &p)
{
	return blockIdx.y + 1 == gridDim.y ? p.n_rows_last : p.n_rows;
}

/* ---------------------------------------------------------------- helpers */
/* the input element type: bf16 or fp16 */
template <bool FP16> struct ps_type {
	typedef __nv_bfloat16 T;
};
template <> struct ps_type<true> {
	typedef __half T;
};

/* Row r of K/V head h's tiles as an index of q's and out's [n_seqs][n_heads]
 * rows (H = n_heads): MHA sequence r, head h; GQA sequence r / g, head
 * h * g + r % g; sequences counted from the CTA's batch's first.  0 <= r < 256, 2 <= g <= 256: the division is a multiply
 * by the host's group_mul (exact while r * g < 2^32).  The GQA form is
 * written for the register allocator of the mma.sync kernel's 512-thread
 * variant (127 of 128 registers in MHA): with r / g, or with h * g in 32
 * bits added inside, that instantiation spilled 16-24 bytes into its main
 * loop (nvcc 13.0); as below it fits in 127 without spills. */
template <bool GQA>
static __device__ __forceinline__ size_t ps_qrow(const ps_params &p, int r, int H, int h)
{
	const size_t b0 = (size_t)blockIdx.y * p.batch_qrows; /* the batch's first row (v12) */
	if constexpr (GQA) {
		const unsigned g = (unsigned)p.group, sq = __umulhi((unsigned)r, p.group_mul);
		return ((size_t)sq * H + ((unsigned)r - sq * g)) + (size_t)h * g + b0;
	} else {
		return (size_t)r * H + h + b0;
	}
}

/* byte offset of 16-byte column j of row r in a swizzled [rows][256 B] tile */
static __device__ __forceinline__ uint32_t swz(int r, int j)
{
	return (uint32_t)(r * 256 + ((j ^ (r & 7)) << 4));
}

#include "prefix_stream_merge.h" /* ps_epilogue() and the merges it chains */


/* ---- one online-softmax step, shared by the mma.sync and wgmma paths ---- */
/* A row's running max is raised only when a tile's max passes it by more
 * than PS_RESCALE_TAU (softmax_raise_f), so P <= 256 and the output
 * accumulator is rescaled only in the steps where some row of the warp raised
 * its max (after the first chunks, few do). */
#define PS_RESCALE_TAU 5.545177444f /* ln 256 */
#define PS_LOG2E 1.442695041f

/* s: one warp's raw scores (q.k, unscaled) for NT n8 tiles in the m16n8
 * accumulator layout (rows r and r + 8 in elements 0-1 and 2-3; a quad of
 * lanes holds a row).  Takes each row's max over the quad, folds the tile
 * into the running state st, rescales the output accumulator o where it
 * must, and exponentiates s in place into P; st's l is a per-thread partial
 * sum (the quad is reduced in the epilogue).  Two forms of one step:
 *   LAZY (the wgmma kernel, v8a): P = exp(scale*s - m) against st's m, one
 *     FFMA + one MUFU.EX2 per score, st's m raised only when a tile passes
 *     it by more than PS_RESCALE_TAU (softmax_raise_f) and o rescaled only
 *     in steps where some row of the warp raised its max; a2 = 1.
 *   not LAZY (the mma.sync kernel, v7): P against the tile's own max, the
 *     tile folded in by softmax_update_f, o rescaled every step, and the
 *     caller multiplies P by a2 when it packs.  The mma.sync kernel keeps
 *     this form because its GQA instantiations sit at 127-128 registers and
 *     every lazy variant tried made them spill (4-68 bytes). */
template <int NT, bool LAZY>
static __device__ __forceinline__ void ps_softmax_step(float (&s)[NT][4], float (&o)[16][4],
						       float scale, softmax_state_f (&st)[2],
						       float (&a2)[2])
{
	float mt[2] = {-INFINITY, -INFINITY};
	if constexpr (LAZY) {
#pragma unroll
		for (int t = 0; t < NT; ++t) {
			mt[0] = fmaxf(mt[0], fmaxf(s[t][0], s[t][1]));
			mt[1] = fmaxf(mt[1], fmaxf(s[t][2], s[t][3]));
		}
		float a[2];
		int up = 0;
#pragma unroll
		for (int r = 0; r < 2; ++r)
			up |= softmax_raise_f(&st[r], quad_max(mt[r]) * scale, PS_RESCALE_TAU, &a[r]);
		if (__any_sync(0xffffffffu, up)) /* warp-uniform: o is rescaled by every lane or none */
			acc_scale_rows(o, a[0], a[1]);
		const float k = scale * PS_LOG2E;
		const float b0 = -st[0].m * PS_LOG2E, b1 = -st[1].m * PS_LOG2E;
		float lt[2] = {0.f, 0.f};
#pragma unroll
		for (int t = 0; t < NT; ++t) {
			s[t][0] = ex2_approx(fmaf(s[t][0], k, b0));
			s[t][1] = ex2_approx(fmaf(s[t][1], k, b0));
			s[t][2] = ex2_approx(fmaf(s[t][2], k, b1));
			s[t][3] = ex2_approx(fmaf(s[t][3], k, b1));
			lt[0] += s[t][0] + s[t][1];
			lt[1] += s[t][2] + s[t][3];
		}
		st[0].l += lt[0];
		st[1].l += lt[1];
		a2[0] = a2[1] = 1.f;
	} else {
#pragma unroll
		for (int t = 0; t < NT; ++t) {
			s[t][0] *= scale;
			s[t][1] *= scale;
			s[t][2] *= scale;
			s[t][3] *= scale;
			mt[0] = fmaxf(mt[0], fmaxf(s[t][0], s[t][1]));
			mt[1] = fmaxf(mt[1], fmaxf(s[t][2], s[t][3]));
		}
#pragma unroll
		for (int r = 0; r < 2; ++r)
			mt[r] = quad_max(mt[r]);
		float lt[2] = {0.f, 0.f};
#pragma unroll
		for (int t = 0; t < NT; ++t) {
			s[t][0] = __expf(s[t][0] - mt[0]);
			s[t][1] = __expf(s[t][1] - mt[0]);
			s[t][2] = __expf(s[t][2] - mt[1]);
			s[t][3] = __expf(s[t][3] - mt[1]);
			lt[0] += s[t][0] + s[t][1];
			lt[1] += s[t][2] + s[t][3];
		}
		float a1[2];
		softmax_update_f(&st[0], mt[0], lt[0], &a1[0], &a2[0]);
		softmax_update_f(&st[1], mt[1], lt[1], &a1[1], &a2[1]);
		acc_scale_rows(o, a1[0], a1[1]);
	}
}

/* Pool index of each chunk.  load_chunk asks for chunks c0, c0 + 1, ... in
 * order, warp-uniformly: each warp holds the indices of 32 consecutive
 * chunks, one per lane, and has the next 32 in flight, so a table read never
 * sits in front of a copy.  (Read on demand, the table's line was evicted
 * from L2 by the K/V stream between uses and cost 10-12 % at 64+ heads.) */
static __device__ __forceinline__ int ps_table_at(const int *chunks, int n, int i)
{
	return i < n ? __ldg(&chunks[i]) : 0;
}

struct ps_chunk_index {
	const int *chunks;
	int n, base, cur, nxt; /* lane's entries of chunks base + lane and base + 32 + lane */
	__device__ __forceinline__ int operator()(int c)
	{
		const int lane = threadIdx.x & 31;
		if (base < 0 || c < base || c >= base + 64) { /* the first call, or a jump */
			base = c;
			cur = ps_table_at(chunks, n, c + lane);
			nxt = ps_table_at(chunks, n, c + 32 + lane);
		} else if (c >= base + 32) { /* into the next block: ask for the one after */
			base += 32;
			cur = nxt;
			nxt = ps_table_at(chunks, n, base + 32 + lane);
		}
		return __shfl_sync(0xffffffffu, cur, c - base);
	}
};

/* ---------------------------------------------------------------- kernel */
/* KEYS: keys per online-softmax step of one warp; NSUB: steps per chunk per
 * warp; KG = 64 / (KEYS*NSUB) key groups; NSTAGE: pipeline depth; GQA:
 * rows are (sequence, query head) pairs of the K/V head (ps_qrow). */
template <bool FP16, int KEYS, int NSUB, int NSTAGE, bool GQA>
__global__ void __launch_bounds__(512) prefix_stream_mma_kernel(const __grid_constant__ ps_params p)
{
	typedef typename ps_type<FP16>::T T;
	constexpr int KG = PS_CHUNK / (KEYS * NSUB);
	constexpr int NT = KEYS / 8;  /* n8 tiles of scores per step */
	constexpr int KK = KEYS / 16; /* k16 steps of PV per step */
	extern __shared__ __align__(1024) unsigned char smem[];

	const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
	const int nthr = blockDim.x;
	const int S = p.splits, H = p.n_heads, nqg = p.nqg, n_rows = ps_batch_rows(p);
	const int KVH = GQA ? p.n_kv_heads : H; /* the pool's heads */
	const int h = blockIdx.x / S, split = blockIdx.x - h * S; /* h: K/V head */
	const int c0 = PS_SPLIT_BEGIN(split, p.n_chunks, S);
	const int nk = PS_SPLIT_BEGIN(split + 1, p.n_chunks, S) - c0;
	const int qg = warp % nqg, kgi = warp / nqg;

	const uint32_t sbase = smem_u32(smem);
	const uint32_t sq = sbase + NSTAGE * PS_STAGE_BYTES;
	pdl_trigger();
	pdl_wait(); /* every global access below follows the previous kernel */

	/* ---- Q (zero rows past n_rows) joins the first cp.async group */
	for (int i = tid; i < nqg * 16 * 16; i += nthr) {
		const int r = i >> 4, j = i & 15;
		const bool ok = r < n_rows;
		const char *src = p.q + (ok ? ps_qrow<GQA>(p, r, H, h) * (PS_D * 2) + j * 16 : 0);
		cp_async16(sq + swz(r, j), src, ok ? 16 : 0);
	}

	const size_t head_off = (size_t)h * PS_TILE_BYTES;
	const size_t chunk_stride = (size_t)KVH * PS_TILE_BYTES;
	ps_chunk_index pool_index = { p.chunks, p.n_chunks, -1, 0, 0 };
	auto load_chunk = [&](int c, int stage) {
		const size_t pc = (size_t)pool_index(c) * chunk_stride;
		const char *ks = p.k + pc + head_off;
		const char *vs = p.v + pc + head_off;
		const uint32_t dst = sbase + stage * PS_STAGE_BYTES;
#pragma unroll 4
		for (int i = tid; i < 2 * PS_CHUNK * 16; i += nthr) {
			const int kv = i >> 10, r = (i >> 4) & 63, j = i & 15;
			const char *src = (kv ? vs : ks) + r * 256 + j * 16;
			cp_async16(dst + kv * PS_TILE_BYTES + swz(r, j), src, 16);
		}
	};

#pragma unroll
	for (int st = 0; st < NSTAGE - 1; ++st) {
		if (st < nk)
			load_chunk(c0 + st, st);
		cp_async_commit();
	}

	float o[16][4];
#pragma unroll
	for (int i = 0; i < 16; ++i)
		o[i][0] = o[i][1] = o[i][2] = o[i][3] = 0.f;
	softmax_state_f st[2] = {softmax_init_f(), softmax_init_f()};

	/* per-thread ldmatrix addresses.  Every row a lane addresses has
	 * (row & 7) == (lane & 7), so with y = (lane & 7) >> 1 the swizzled
	 * offset of 16-byte column 2*c + b is  t + 128*(c >> 2) + 32*((c & 3) ^ y),
	 * t holding the row and the low column bit: one register per tile plus
	 * zq[c & 3], the rest immediates. */
	const int x0 = lane & 1, y = (lane & 7) >> 1;
	uint32_t zq[4];
#pragma unroll
	for (int b = 0; b < 4; ++b)
		zq[b] = (uint32_t)(32 * (b ^ y));
	const uint32_t tq = sq + (uint32_t)((qg * 16 + (lane & 15)) * 256 + 16 * ((lane >> 4) ^ x0));
	const uint32_t tk = (uint32_t)(((lane & 7) + ((lane >> 4) << 3)) * 256 + 16 * (((lane >> 3) & 1) ^ x0));
	const uint32_t tv = (uint32_t)(((lane & 7) + (((lane >> 3) & 1) << 3)) * 256 + 16 * ((lane >> 4) ^ x0));
	const float scale = p.scale;

	for (int i = 0; i < nk; ++i) {
		cp_async_wait<NSTAGE - 2>();
		__syncthreads();
		{
			const int nc = i + NSTAGE - 1;
			if (nc < nk)
				load_chunk(c0 + nc, nc % NSTAGE);
			cp_async_commit();
		}
		const uint32_t sk = sbase + (i % NSTAGE) * PS_STAGE_BYTES;
		const uint32_t sv = sk + PS_TILE_BYTES;

#pragma unroll 1
		for (int sub = 0; sub < NSUB; ++sub) {
			const int key0 = (kgi * NSUB + sub) * KEYS;
			const uint32_t skk = sk + tk + key0 * 256, svv = sv + tv + key0 * 256;
			float s[NT][4];
#pragma unroll
			for (int t = 0; t < NT; ++t)
				s[t][0] = s[t][1] = s[t][2] = s[t][3] = 0.f;

			/* S = Q K^T over d = 128 (8 k16 steps) */
#pragma unroll
			for (int ks = 0; ks < 8; ++ks) {
				uint32_t a[4];
				ldsm_x4(a, tq + zq[ks & 3] + 128 * (ks >> 2));
#pragma unroll
				for (int np = 0; np < NT / 2; ++np) {
					uint32_t b[4];
					ldsm_x4(b, skk + zq[ks & 3] + (128 * (ks >> 2) + 4096 * np));
					mma_m16n8k16<T>(s[2 * np], a, b[0], b[1]);
					mma_m16n8k16<T>(s[2 * np + 1], a, b[2], b[3]);
				}
			}

			/* online softmax: s becomes P against the tile's max */
			float a2[2];
			ps_softmax_step<NT, false>(s, o, scale, st, a2);

			/* O += P V (P from the score accumulators, scaled by a2) */
#pragma unroll
			for (int kk = 0; kk < KK; ++kk) {
				uint32_t pa[4];
				pa[0] = pack2<T>(s[2 * kk][0] * a2[0], s[2 * kk][1] * a2[0]);
				pa[1] = pack2<T>(s[2 * kk][2] * a2[1], s[2 * kk][3] * a2[1]);
				pa[2] = pack2<T>(s[2 * kk + 1][0] * a2[0], s[2 * kk + 1][1] * a2[0]);
				pa[3] = pack2<T>(s[2 * kk + 1][2] * a2[1], s[2 * kk + 1][3] * a2[1]);
#pragma unroll
				for (int dp = 0; dp < 8; ++dp) {
					uint32_t b[4];
					ldsm_x4_t(b, svv + zq[dp & 3] + (128 * (dp >> 2) + 4096 * kk));
					mma_m16n8k16<T>(o[2 * dp], pa, b[0], b[1]);
					mma_m16n8k16<T>(o[2 * dp + 1], pa, b[2], b[3]);
				}
			}
		}
	}

	cp_async_wait<0>();
	__syncthreads(); /* stage buffers free from here on */
	ps_epilogue<KG, 32, GQA>(p, o, st, kgi, qg, qg * 16 + (lane >> 2), lane, h, split, smem);
}

/* ---------------------------------------------------------------- wgmma */
/* Hopper path (sm_90a): one warpgroup per (64 query rows, key group).  Tiles
 * are stored in the 128-byte-swizzle canonical layout: a [64 rows][128 d]
 * tile is two column halves [2][64][64] (d 0-63, 64-127), each row 128 B,
 * 16-byte column c of row r at (c ^ (r & 7)) -- exactly what the tensor
 * core's SW128 mode reads.  QK^T: m64n32k16, A = Q and B = K both K-major
 * from shared memory (8 k16 steps; a step inside a 128-B row advances the
 * start address by 32 B).  PV: m64n64k16 with A = P from registers and
 * B = V N-major (transposed) from shared memory, one instruction per d half
 * so that the descriptor's leading-byte offset is never used.  Shared memory
 * is read by the tensor cores only: no ldmatrix, no per-warp re-reads. */
__device__ int ps_wgmma_built = PTX_WGMMA; /* which path this device image has */

#if PTX_WGMMA
/* TMA path, thread 0: the tensor maps prefetched (kernel parameters: no
 * dependence on earlier kernels), one "full" mbarrier a stage (one arrival
 * plus the bytes) and, with EMPTY, one "empty" mbarrier a stage (nthr
 * arrivals), made visible to the async proxy */
template <int NSTAGE, bool EMPTY>
static __device__ __forceinline__ void ps_tma_setup(const ps_params &p, uint32_t sbar, uint32_t sempty, int nthr)
{
	prefetch_tensormap(&p.tmk);
	prefetch_tensormap(&p.tmv);
#pragma unroll
	for (int st = 0; st < NSTAGE; ++st) {
		mbar_init(sbar + 8 * st, 1);
		if constexpr (EMPTY)
			mbar_init(sempty + 8 * st, (unsigned)nthr);
	}
	fence_mbar_init();
}

/* TMA path, thread 0: one chunk (pool rows row .. row + 63 of K and V) into
 * the stage at dst as four 64 x 64 SW128 boxes, 32 KiB on mbarrier bar */
static __device__ __forceinline__ void ps_tma_load_chunk(const ps_params &p, uint32_t dst, uint32_t bar, int row)
{
	mbar_arrive_expect_tx(bar, PS_STAGE_BYTES);
#pragma unroll
	for (int q4 = 0; q4 < 4; ++q4)
		tma_load_2d(dst + q4 * 8192, (q4 < 2) ? &p.tmk : &p.tmv, (q4 & 1) * 64, row, bar);
}

/* P (scores exponentiated in place, n8 tiles in the accumulator layout) as
 * the A fragments of k16 steps for the PV wgmma: KK steps of 16 keys */
template <typename T, int KK>
static __device__ __forceinline__ void ps_pack_p(const float (&s)[2 * KK][4], uint32_t (&pa)[KK][4])
{
#pragma unroll
	for (int kk = 0; kk < KK; ++kk) {
		pa[kk][0] = pack2<T>(s[2 * kk][0], s[2 * kk][1]);
		pa[kk][1] = pack2<T>(s[2 * kk][2], s[2 * kk][3]);
		pa[kk][2] = pack2<T>(s[2 * kk + 1][0], s[2 * kk + 1][1]);
		pa[kk][3] = pack2<T>(s[2 * kk + 1][2], s[2 * kk + 1][3]);
	}
}

/* byte offset of 16-byte column j (0..15) of row r in a SW128 [2][rows][64] tile */
static __device__ __forceinline__ uint32_t swz128(int r, int j, int rows)
{
	return (uint32_t)((j >> 3) * rows * 128 + r * 128 + (((j & 7) ^ (r & 7)) << 4));
}
#endif


/* KGW key groups of warpgroups, NSUB steps of 32 keys each per chunk:
 * KGW * NSUB * 32 == 64.  NQG = ceil(n_rows/64) query warpgroups.  GQA:
 * rows are (sequence, query head) pairs of the K/V head (ps_qrow).
 * WS (TMA only, v10): no __syncthreads per chunk.  Every thread arrives on
 * a stage's "empty" mbarrier when its reads of the chunk there are done;
 * warp 0, at the end of its chunk i, waits for chunk i - 1's release and
 * loads chunk i - 1 + NSTAGE into that stage.  The warpgroups no longer meet
 * every chunk: warpgroup 0 runs at most ~2 chunks ahead of the slowest, the
 * others up to NSTAGE - 1 ahead of it.  (A producer warp of its own, 544
 * threads, left 96 registers a thread and spilled: 5 warps on one SMSP.) */
template <bool FP16, int KGW, int NSUB, int NSTAGE, bool TMA, bool GQA, bool WS>
__global__ void __launch_bounds__(512) prefix_stream_wgmma_kernel(const __grid_constant__ ps_params p)
{
#if PTX_WGMMA
	typedef typename ps_type<FP16>::T T;
	constexpr int KEYS = 32;
	static_assert(KGW * NSUB * KEYS == PS_CHUNK, "a chunk is 64 keys");
	static_assert(TMA || !WS, "the empty-mbarrier release is for the TMA path");
	extern __shared__ __align__(1024) unsigned char smem[];

	const int tid = threadIdx.x, nthr = blockDim.x;
	/* the warpgroup from lane 0: warp-uniform to the compiler, so that the
	 * wgmma descriptors built on it stay in uniform registers (v17) */
	const int wgi = (int)warp_uniform((uint32_t)tid >> 7), gidx = tid & 127, lane = tid & 31, wq = gidx >> 5;
	const int S = p.splits, H = p.n_heads, nqg = p.nqg, n_rows = ps_batch_rows(p);
	const int KVH = GQA ? p.n_kv_heads : H; /* the pool's heads */
	const int h = blockIdx.x / S, split = blockIdx.x - h * S; /* h: K/V head */
	const int c0 = PS_SPLIT_BEGIN(split, p.n_chunks, S);
	const int nk = PS_SPLIT_BEGIN(split + 1, p.n_chunks, S) - c0;
	const int qg = wgi % nqg, kgi = wgi / nqg;

	const uint32_t sbase = smem_u32(smem);
	const uint32_t sq = sbase + NSTAGE * PS_STAGE_BYTES;
	if ((sbase & 1023u) != 0)
		__trap(); /* the swizzle atoms must start on 1024-byte boundaries */

	const size_t head_off = (size_t)h * PS_TILE_BYTES;
	const size_t chunk_stride = (size_t)KVH * PS_TILE_BYTES;
	/* TMA: one mbarrier per stage, after the Q tiles; WS: then one "empty"
	 * mbarrier per stage (nthr arrivals: every thread) */
	const uint32_t sbar = sq + nqg * 16384;
	const uint32_t sempty = sbar + 8 * NSTAGE;
	/* ---- prologue, shortest path to the first K/V bytes: the next launch
	 * may start (PDL); thread 0 prefetches the tensor maps (kernel
	 * parameters: no dependence on earlier kernels) and sets up the
	 * mbarriers while the grid dependency resolves, then issues the first
	 * stages' TMA loads before Q (see the load loop below). */
	pdl_trigger();
	if constexpr (TMA) {
		if (tid == 0)
			ps_tma_setup<NSTAGE, WS>(p, sbar, sempty, nthr);
	}
	if (!(TMA && p.kv_early))
		pdl_wait(); /* q, k, v may be written by the previous kernel */
	/* cp.async: a thread copies column j of rows rr, rr + nthr/16, ... of K
	 * (rr < 64) and V (rr >= 64).  TMA: thread 0 asks for the four 64x64
	 * boxes (K, V x two d halves) of the chunk, 32 KiB on the stage's
	 * mbarrier; the copy engine writes them 128-byte swizzled. */
	const int ld_j = tid & 15, ld_r0 = tid >> 4, ld_step = nthr >> 4;
	ps_chunk_index pool_index = { p.chunks, p.n_chunks, -1, 0, 0 };
	auto load_chunk = [&](int c, int stage) {
		const uint32_t dst = sbase + stage * PS_STAGE_BYTES;
		const int pool_c = pool_index(c); /* every warp, in step */
		if constexpr (TMA) {
			if (tid == 0)
				ps_tma_load_chunk(p, dst, sbar + 8 * stage, (pool_c * KVH + h) * PS_CHUNK);
		} else {
			const size_t pc = (size_t)pool_c * chunk_stride;
			const char *ks = p.k + pc + head_off + ld_j * 16;
			const char *vs = p.v + pc + head_off + ld_j * 16;
			for (int rr = ld_r0; rr < 128; rr += ld_step) {
				const int r = rr & 63;
				const char *src = (rr < 64 ? ks : vs) + r * 256;
				cp_async16(dst + (rr >> 6) * PS_TILE_BYTES + swz128(r, ld_j, 64), src, 16);
			}
		}
	};

	/* TMA: thread 0 asks for the first stages now (K/V first: they are the
	 * long pole; WS: every stage, nothing to reuse yet); the cp.async path
	 * queues them after Q */
	if constexpr (TMA) {
#pragma unroll
		for (int st = 0; st < (WS ? NSTAGE : NSTAGE - 1); ++st)
			if (st < nk)
				load_chunk(c0 + st, st);
		if (p.kv_early)
			pdl_wait(); /* k, v are read-only for the kernels around this one */
	}

	/* ---- Q: [qg][2][64][64] SW128, rows past n_rows zero */
	for (int i = tid; i < nqg * 64 * 16; i += nthr) {
		const int r = i >> 4, j = i & 15; /* r: 0 .. nqg*64-1 */
		const bool ok = r < n_rows;
		const char *src = p.q + (ok ? ps_qrow<GQA>(p, r, H, h) * (PS_D * 2) + j * 16 : 0);
		cp_async16(sq + (r >> 6) * 16384 + swz128(r & 63, j, 64), src, ok ? 16 : 0);
	}

	if constexpr (WS) {
		/* no __syncthreads in the loop: Q (copied by every thread) is
		 * complete and visible to the tensor cores before it starts */
		cp_async_commit();
		cp_async_wait<0>();
		fence_proxy_async_smem();
		__syncthreads(); /* mbarrier init and Q visible to every thread */
	} else if constexpr (TMA) {
		cp_async_commit();
		__syncthreads(); /* mbarrier init visible to every waiter */
	} else {
#pragma unroll
		for (int st = 0; st < NSTAGE - 1; ++st) {
			if (st < nk)
				load_chunk(c0 + st, st);
			cp_async_commit();
		}
	}

	float o[16][4];
#pragma unroll
	for (int i = 0; i < 16; ++i)
		o[i][0] = o[i][1] = o[i][2] = o[i][3] = 0.f;
	softmax_state_f st[2] = {softmax_init_f(), softmax_init_f()};
	const float scale = p.scale;
	const uint32_t sqg = sq + qg * 16384;
	const uint64_t dq = wg_desc(sqg, 16, 1024); /* Q's, fixed; stepped by wg_desc_add */

	for (int i = 0; i < nk; ++i) {
		if constexpr (WS) {
			mbar_wait(sbar + 8 * (i % NSTAGE), (uint32_t)(i / NSTAGE) & 1u);
		} else if constexpr (TMA) {
			if (i == 0) {
				cp_async_wait<0>(); /* Q */
				fence_proxy_async_smem();
			}
			mbar_wait(sbar + 8 * (i % NSTAGE), (uint32_t)(i / NSTAGE) & 1u);
		} else {
			cp_async_wait<NSTAGE - 2>();
			/* cp.async wrote through the generic proxy; the tensor cores
			 * read through the async proxy */
			fence_proxy_async_smem();
		}
		if constexpr (!WS) {
			__syncthreads();
			const int nc = i + NSTAGE - 1;
			if (nc < nk)
				load_chunk(c0 + nc, nc % NSTAGE);
			cp_async_commit();
		}
		/* the stage from lane 0 (warp-uniform: its descriptors in uniform registers) */
		const uint32_t sk = warp_uniform(sbase + (i % NSTAGE) * PS_STAGE_BYTES);
		const uint32_t sv = sk + PS_TILE_BYTES;

#pragma unroll 1
		for (int sub = 0; sub < NSUB; ++sub) {
			const int key0 = (kgi * NSUB + sub) * KEYS;
			float s[4][4];
#pragma unroll
			for (int t = 0; t < 4; ++t)
				s[t][0] = s[t][1] = s[t][2] = s[t][3] = 0.f;
			wg_fence();
			const uint64_t dk = wg_desc(sk + key0 * 128, 16, 1024), dv = wg_desc(sv + key0 * 128, 1024, 1024);
#pragma unroll
			for (int ks = 0; ks < 8; ++ks) {
				const uint32_t off = (ks >> 2) * 8192 + (ks & 3) * 32;
				wgmma_m64n32k16_ss<T>(s, wg_desc_add(dq, off), wg_desc_add(dk, off), ks);
			}
			wg_commit();
			wg_wait<0>();

			/* online softmax over these 32 keys (rows row0, row0 + 8) */
			float a2[2]; /* 1: P is against the running max */
			ps_softmax_step<4, true>(s, o, scale, st, a2);
			uint32_t pa[2][4];
			ps_pack_p<T>(s, pa);
			wg_fence();
#pragma unroll
			for (int kk = 0; kk < 2; ++kk)
#pragma unroll
				for (int dh = 0; dh < 2; ++dh)
					wgmma_m64n64k16_rs<T>(&o[dh * 8], pa[kk], wg_desc_add(dv, dh * 8192 + 16 * kk * 128));
			wg_commit();
			wg_wait<0>();
		}
		if constexpr (WS) {
			mbar_arrive(sempty + 8 * (i % NSTAGE)); /* this thread's reads of the stage are done */
			/* warp 0 (load_chunk reads the chunk table warp-wide): chunk
			 * i - 1's stage, once every thread has released it, takes
			 * chunk i - 1 + NSTAGE */
			const int nc = i - 1 + NSTAGE;
			if (tid < 32 && i >= 1 && nc < nk) {
				const int stage = (i - 1) % NSTAGE;
				mbar_wait(sempty + 8 * stage, (uint32_t)((i - 1) / NSTAGE) & 1u);
				load_chunk(c0 + nc, stage);
			}
		}
	}

	cp_async_wait<0>();
	__syncthreads(); /* stage buffers free from here on */
	ps_epilogue<KGW, 128, GQA>(p, o, st, kgi, qg, qg * 64 + wq * 16 + (lane >> 2), gidx, h, split, smem);
#else
	__trap(); /* built without sm_90a: the host uses the mma.sync kernel */
#endif
}

#endif
