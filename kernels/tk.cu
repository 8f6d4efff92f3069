/* tk.cu - the seed's "4-warp" chunk kernel, hand-written (no ThunderKittens),
 * over ChunkAttention's two-phase partition.
 *
 * Idea: one block of 4 warps per work item (tree node, chunk of the node,
 * K/V head; chunk_items.h), a 1-D grid of attn_pool_chunks() * n_kv_heads
 * blocks, level 0 first: the chunk-first phase is the items of shared nodes
 * (the common prefix for all sequences, a group's chunks for its group), the
 * sequence-first phase the items of each sequence's suffix node, and merge.cu
 * folds every (seq, head)'s attn_seq_chunks() partials.  An item's rows are
 * the g = n_heads / n_kv_heads query heads of its K/V head of each of the
 * node's sequences (GQA: the g heads are rows of the same tiles).  As in the
 * course project's 4-warp configuration, two load-assist warps stream the
 * first Q tiles, then K, then V (from the pool through node_chunks) into
 * shared memory with cp.async (16-byte copies into XOR-swizzled 256-byte
 * rows, so neither the copies nor ldmatrix hit bank conflicts), each in its
 * own commit group, and signal each landing through a named barrier
 * (bar.arrive by the loaders, bar.sync by the consumers): the compute warps
 * start Q K^T as soon as Q and K are in while V is still on its way.  Two
 * compute warps each own a 16-row m-tile of a 32-row tile: Q K^T with
 * mma.sync m16n8k16 (fp32 accumulators), the softmax on those accumulators in
 * registers (exp2, quad shuffles), P re-packed in registers as the A operand
 * of P V (no shared-memory round trip), then the unnormalized o (rounded once
 * from the fp32 accumulators to the input dtype, a quad shuffle-transpose
 * giving each lane 8 contiguous elements: one 16-byte store, a quad writes 64
 * contiguous bytes of a row) and (m, l) in fp32 go from registers straight to
 * the partials workspace (merge.h layout, part = the chunk's table slot).
 * Row tiles past the first TK_NQBUF are fetched by each compute warp itself,
 * for its own 16 rows only, once it has packed P of the tile two back, so any
 * row count runs in 48 KB.
 *
 * Details that matter:
 *  - 48 KB of shared memory (K 16 + V 16 + 2 x Q 8) and 128 registers ->
 *    4 blocks per SM; other blocks' loads overlap a block's compute/stores.
 *  - roles alternate with the block's parity (compute = warps 0,1 or 2,3) so
 *    all four SM sub-partitions' tensor cores get compute warps.
 *  - K/V copies carry an L2 evict_first hint, and the merge reads partials
 *    evict_first too: the partials written last are still in L2 for it.
 *  - padding rows (row counts not a multiple of 16) are zero-filled through
 *    cp.async's src-size operand; m-tiles without a real row are skipped.
 *  - a suffix's partial last chunk (valid < 64 tokens): K/V rows >= valid are
 *    zero-filled by a plain cp.async of 0 source bytes (no L2 hint on those;
 *    the pool's padding is never read) and their scores are set to -inf
 *    before the row max, so P there is exactly 0.
 *  - for the single-prefix workload (one node, g = 1) the items are the
 *    original grid (n_heads, n_chunks) in the same block order and rows, at
 *    the cost of a node read and a multiply-high division per Q row.
 *
 * Contract: attn.h; check() = ATTN_CHECK_TILE_64x128 + CHUNK_ITEMS_CHECK
 * (n_heads % n_kv_heads == 0, whole groups, < 2^31 blocks and partial rows);
 * launch() plans from attn_args.host_tree and reads tree.nodes and
 * tree.node_chunks on the device; workspace = attn_chunk_partials_bytes().
 *
 * Bytes at n_seqs = 64, 64 heads x 64 chunks (4096 blocks): K+V 134 MB read,
 * bf16 partials 67 MB (+2 MB of (m, l)) written and read back by the merge,
 * 2 MB out: 274 MB, a floor of 92 us at the 2.98 TB/s a device copy reaches
 * on this H100 (K/V alone: 45 us; with v1's fp32 partials: 408 MB, 137 us).
 * At n_seqs = 32 the floor is 69 us.
 *
 * Build: nvcc -std=c++17 -O3 -gencode arch=compute_90a,code=sm_90a -c kernels/tk.cu
 *        (plain sm_90 builds too: mma.sync, ldmatrix, cp.async, createpolicy)
 *        128 registers, 0 spills, 48 KB dynamic shared memory (nvcc 13.0;
 *        sm_80: 128 registers, 12 bytes of loop-invariant scalars spilled).
 *
 * Measured (H100 80GB HBM3, bf16, L2 cold, forward pass incl. the merge;
 * results/h100/, made by make sweeps KERNELS='native tk prefix_stream'
 * PRESET=seed N_SEQS='32 64'; v2): n_seqs 32: 4096 blocks 0.0759 ms, 65536
 * blocks 1.114 ms; n_seqs 64: 0.1010 ms, 1.514 ms (1.60-1.76x native from
 * 4096 blocks up).  v3 on the H200: to be measured.
 *
 * History: v1 stored fp32 partial o; v2 stores it in the input dtype,
 * 0.144 -> 0.101 ms at n_seqs 64, 64 x 64; v3 (current) runs every workload
 * form (GQA, group chunks, suffixes) through work items.  The version log,
 * the measurements and what was tried: docs/kernels/tk.md.
 */
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>
#include <stdint.h>

#include "attn.h"
#include "chunk_items.h"
#include "merge.h"
#include "ptx.h"

/* ---- compile-time configuration ----------------------------------------- */
#define TK_CHUNK 64          /* keys per chunk (attn_shape.chunk_size) */
#define TK_D 128             /* head dimension */
#define TK_THREADS 128       /* 2 compute + 2 load-assist warps */
#define TK_MT 16             /* query rows per compute warp (one mma m-tile) */
#define TK_QT (2 * TK_MT)    /* query rows per Q tile: both compute warps */
#ifndef TK_NQBUF
#define TK_NQBUF 2           /* Q tile buffers: 2 -> 48 KB, 4 blocks/SM; 1 -> 40 KB, 5 */
#endif
#ifndef TK_PV_SPLIT
#define TK_PV_SPLIT 2        /* P V in this many d-slices (1: 64 accumulators live, spills with 16-bit stores) */
#endif
#define TK_ROW_BYTES (TK_D * 2)
#define TK_SMEM_V (TK_CHUNK * TK_ROW_BYTES)
#define TK_SMEM_Q (2 * TK_CHUNK * TK_ROW_BYTES)
#define TK_SMEM_BYTES (TK_SMEM_Q + TK_NQBUF * TK_QT * TK_ROW_BYTES)
#define TK_BLOCKS_PER_SM (TK_NQBUF == 1 ? 5 : 4)
#ifndef TK_HEAD_MAJOR
#define TK_HEAD_MAJOR 0      /* 1: block order = all chunks of a head together (1-3% slower) */
#endif
#ifndef TK_KV_EVICT_FIRST
#define TK_KV_EVICT_FIRST 1  /* L2 evict_first hint on K/V copies */
#endif

static_assert(TK_D == 128 && TK_ROW_BYTES == 256,
	      "swizzle assumes 16 chunks of 16 bytes per row");
static_assert(TK_CHUNK % 16 == 0 && TK_D % 16 == 0, "mma m16n8k16 tiles");
static_assert((TK_CHUNK * TK_D / 8) % 64 == 0 && (TK_QT * TK_D / 8) % 64 == 0,
	      "two load warps copy whole 16-byte pieces, the same count each");
static_assert(TK_BLOCKS_PER_SM * (TK_SMEM_BYTES + 1024) <= 228 * 1024,
	      "shared memory (+1 KB reserved per block) for TK_BLOCKS_PER_SM blocks per SM");
static_assert(TK_NQBUF == 1 || TK_NQBUF == 2, "load warps fill tiles 0..TK_NQBUF-1");
static_assert(TK_PV_SPLIT == 1 || TK_PV_SPLIT == 2 || TK_PV_SPLIT == 4,
	      "d-slices of whole 32-column quad-transpose groups");

/* named barriers (0 is __syncthreads); each: 64 arrive + 64 sync = 128 */
enum { BAR_FULLQ0 = 1, BAR_FULLQ1 = 2, BAR_K = 3, BAR_V = 4 };

/* ---- parameters: struct chunk_params (chunk_items.h), its scale
 * 1/sqrt(d_head) * log2(e) (tk_launch): scores go straight to exp2 */

/* ---- device helpers -------------------------------------------------------- */
/* byte offset of 16-byte piece `ch` of row `row` in a swizzled 256-byte-row tile */
static __device__ __forceinline__ uint32_t sw(int row, int ch)
{
	return (uint32_t)(row * TK_ROW_BYTES + ((ch ^ (row & 7)) << 4));
}

/* 4x4 transpose of 32-bit words within a quad (lanes 4g..4g+3, tq = lane & 3):
 * in, w[j] = this lane's word of n8 tile j (columns 8j + 2tq, +1); out, w[k] =
 * lane k's word of tile tq, i.e. columns 8tq + 2k, +1: the 8 contiguous
 * elements of tile tq, one 16-byte store.  Two butterfly stages, 4 shuffles. */
static __device__ __forceinline__ uint4 quad_transpose(uint32_t w0, uint32_t w1, uint32_t w2,
						       uint32_t w3, int tq)
{
	const bool o1 = tq & 1, o2 = tq & 2;
	uint32_t r0 = __shfl_xor_sync(0xffffffffu, o1 ? w0 : w1, 1);
	uint32_t r1 = __shfl_xor_sync(0xffffffffu, o1 ? w2 : w3, 1);
	if (o1) {
		w0 = r0;
		w2 = r1;
	} else {
		w1 = r0;
		w3 = r1;
	}
	r0 = __shfl_xor_sync(0xffffffffu, o2 ? w0 : w2, 2);
	r1 = __shfl_xor_sync(0xffffffffu, o2 ? w1 : w3, 2);
	if (o2) {
		w0 = r0;
		w1 = r1;
	} else {
		w2 = r0;
		w3 = r1;
	}
	return make_uint4(w0, w1, w2, w3);
}

/* NT threads (lt = 0..NT-1) copy the Q rows of item rows r0 .. r0+ROWS-1
 * (chunk_items.h) into rows row0.. of a swizzled tile; tile rows >= valid are
 * zero-filled. */
template <typename T, int ROWS, int NT>
static __device__ __forceinline__ void load_q_rows(uint32_t dst, int row0, const T *q,
						   const struct chunk_items *ci,
						   const struct chunk_item *it, int r0, int valid,
						   int lt)
{
	static_assert(ROWS * 16 % NT == 0, "whole pieces per thread");
#pragma unroll
	for (int j = 0; j < ROWS * 16 / NT; j++) {
		int i = lt + NT * j, row = i >> 4, ch = i & 15;
		bool ok = row < valid;
		const T *g = ok ? q + (size_t)chunk_q_row(ci, it, r0 + row) * TK_D + ch * 8 : q;
		cp_async16(dst + sw(row0 + row, ch), g, ok ? 16 : 0);
	}
}

/* One contiguous [64][128] K or V chunk; rows >= valid (past a suffix's last
 * token) are zero-filled by a plain cp.async of 0 source bytes (no L2 hint on
 * those: the pool's padding is never read). */
template <typename T>
static __device__ __forceinline__ void load_kv_tile(uint32_t dst, const T *src, uint64_t policy,
						    int valid, int lt)
{
#pragma unroll
	for (int j = 0; j < TK_CHUNK * 16 / 64; j++) {
		int i = lt + 64 * j, row = i >> 4, ch = i & 15;
		if (row >= valid) {
			cp_async16(dst + sw(row, ch), src, 0);
			continue;
		}
#if TK_KV_EVICT_FIRST
		cp_async16_hint(dst + sw(row, ch), src + row * TK_D + ch * 8, policy);
#else
		(void)policy;
		cp_async16(dst + sw(row, ch), src + row * TK_D + ch * 8, 16);
#endif
	}
}

/* ---- kernel ---------------------------------------------------------------- */
template <typename T>
__global__ void __launch_bounds__(TK_THREADS, TK_BLOCKS_PER_SM)
	tk_kernel(const __grid_constant__ struct chunk_params p)
{
	extern __shared__ __align__(128) unsigned char smem[];
	const int lin = (int)blockIdx.x;
#if TK_HEAD_MAJOR
	/* launch order kvh-major: block lin = kvh * n_items + item */
	const int blk = (lin % p.ci.n_items) * (int)p.ci.kv_heads.d + lin / p.ci.n_items;
#else
	const int blk = lin; /* item * n_kv_heads + kvh */
#endif
	/* this block's item: (node, chunk, K/V head) and its n_rows query rows */
	const struct chunk_item it = chunk_item_at(&p.ci, p.nodes, p.node_chunks, blk, TK_CHUNK);
	const int lane = threadIdx.x & 31;
	const int role = (threadIdx.x >> 5) ^ ((lin & 1) << 1); /* 0,1 compute; 2,3 load */
	const int NR = it.n_rows;
	const uint32_t sK = smem_u32(smem), sV = sK + TK_SMEM_V, sQ = sK + TK_SMEM_Q;
	const T *q = (const T *)p.q;

	if (role >= 2) {
		/* ---- load-assist warps ---- */
		const int lt = (role - 2) * 32 + lane;
		const size_t kv_off =
			((size_t)it.chunk * p.ci.kv_heads.d + it.kvh) * TK_CHUNK * TK_D;
		uint64_t policy = 0;
#if TK_KV_EVICT_FIRST
		policy = createpolicy_evict_first();
#endif
		load_q_rows<T, TK_QT, 64>(sQ, 0, q, &p.ci, &it, 0, NR, lt);
		cp_async_commit();
		load_kv_tile<T>(sK, (const T *)p.k + kv_off, policy, it.valid, lt);
		cp_async_commit();
		load_kv_tile<T>(sV, (const T *)p.v + kv_off, policy, it.valid, lt);
		cp_async_commit();
		if (TK_NQBUF > 1) {
			if (NR > TK_QT)
				load_q_rows<T, TK_QT, 64>(sQ + TK_QT * TK_ROW_BYTES, 0, q, &p.ci,
							  &it, TK_QT, NR - TK_QT, lt);
			cp_async_commit(); /* possibly empty: keeps the group count fixed */
		}

		cp_async_wait<TK_NQBUF + 1>();
		bar_arrive<BAR_FULLQ0, TK_THREADS>();
		cp_async_wait<TK_NQBUF>();
		bar_arrive<BAR_K, TK_THREADS>();
		cp_async_wait<TK_NQBUF - 1>();
		bar_arrive<BAR_V, TK_THREADS>();
		if (TK_NQBUF > 1) {
			cp_async_wait<0>();
			if (NR > TK_QT)
				bar_arrive<BAR_FULLQ1, TK_THREADS>();
		}
		return;
	}

	/* ---- compute warps ---- */
	const int cw = role;
	const int g = lane >> 2, tq = lane & 3;
	bar_sync<BAR_K, TK_THREADS>();
	for (int t = 0; t * TK_QT < NR; t++) {
		const int b = t % TK_NQBUF;
		const int s0 = t * TK_QT + cw * TK_MT;
		const bool active = s0 < NR;
		const uint32_t sQb = sQ + b * TK_QT * TK_ROW_BYTES;
		float sacc[TK_CHUNK / 8][4];
		if (t == 0) {
			bar_sync<BAR_FULLQ0, TK_THREADS>();
		} else if (t < TK_NQBUF) {
			bar_sync<BAR_FULLQ1, TK_THREADS>();
		} else {
			/* this warp's rows of tile t, fetched at tile t - TK_NQBUF */
			cp_async_wait<TK_NQBUF - 1>();
			__syncwarp();
		}
		if (active) {
			/* S = Q K^T: 16 x 64, k = 128 */
#pragma unroll
			for (int j = 0; j < TK_CHUNK / 8; j++)
				sacc[j][0] = sacc[j][1] = sacc[j][2] = sacc[j][3] = 0.0f;
			/* sw(row, 2kk + c) = row*256 + (32kk ^ ((c ^ (row&7)) << 4)) */
			const int qrow = cw * TK_MT + (lane & 15);
			const uint32_t qa = sQb + qrow * TK_ROW_BYTES;
			const uint32_t qx = (uint32_t)(((lane >> 4) ^ (qrow & 7)) << 4);
			const uint32_t ka = sK + ((lane & 7) + ((lane >> 4) << 3)) * TK_ROW_BYTES;
			const uint32_t kx = (uint32_t)((((lane >> 3) & 1) ^ (lane & 7)) << 4);
#pragma unroll
			for (int kk = 0; kk < TK_D / 16; kk++) {
				uint32_t a[4];
				ldsm_x4(a, qa + ((kk * 32) ^ qx));
#pragma unroll
				for (int np = 0; np < TK_CHUNK / 16; np++) {
					uint32_t bb[4];
					ldsm_x4(bb, ka + np * 16 * TK_ROW_BYTES + ((kk * 32) ^ kx));
					mma_m16n8k16<T>(sacc[2 * np], a, bb[0], bb[1]);
					mma_m16n8k16<T>(sacc[2 * np + 1], a, bb[2], bb[3]);
				}
			}
		}
		if (t == 0)
			bar_sync<BAR_V, TK_THREADS>();
		if (!active)
			continue; /* and so are the tiles after: this warp reads no more Q */

		/* softmax over the chunk's 64 keys; rows g (c0,c1) and g+8 (c2,c3) */
#pragma unroll
		for (int j = 0; j < TK_CHUNK / 8; j++)
#pragma unroll
			for (int e = 0; e < 4; e++)
				sacc[j][e] *= p.scale; /* times log2(e) */
		if (it.valid < TK_CHUNK) {
			/* a suffix's partial last chunk: keys >= valid -> -inf (a
			 * select), so P there is exactly 0; key 0 is always valid */
#pragma unroll
			for (int j = 0; j < TK_CHUNK / 8; j++)
#pragma unroll
				for (int e = 0; e < 4; e++)
					if (8 * j + 2 * tq + (e & 1) >= it.valid)
						sacc[j][e] = -INFINITY;
		}
		float mx0 = -INFINITY, mx1 = -INFINITY;
#pragma unroll
		for (int j = 0; j < TK_CHUNK / 8; j++) {
			mx0 = fmaxf(mx0, fmaxf(sacc[j][0], sacc[j][1]));
			mx1 = fmaxf(mx1, fmaxf(sacc[j][2], sacc[j][3]));
		}
		mx0 = quad_max(mx0);
		mx1 = quad_max(mx1);
		float l0 = 0.0f, l1 = 0.0f;
#pragma unroll
		for (int j = 0; j < TK_CHUNK / 8; j++) {
			sacc[j][0] = exp2f(sacc[j][0] - mx0);
			sacc[j][1] = exp2f(sacc[j][1] - mx0);
			sacc[j][2] = exp2f(sacc[j][2] - mx1);
			sacc[j][3] = exp2f(sacc[j][3] - mx1);
			l0 += sacc[j][0] + sacc[j][1];
			l1 += sacc[j][2] + sacc[j][3];
		}
		l0 = quad_sum(l0);
		l1 = quad_sum(l1);

		/* P in T, already in mma's A-operand layout (accumulator layout of S) */
		uint32_t pa[TK_CHUNK / 16][4];
#pragma unroll
		for (int kk = 0; kk < TK_CHUNK / 16; kk++) {
			pa[kk][0] = pack2<T>(sacc[2 * kk][0], sacc[2 * kk][1]);
			pa[kk][1] = pack2<T>(sacc[2 * kk][2], sacc[2 * kk][3]);
			pa[kk][2] = pack2<T>(sacc[2 * kk + 1][0], sacc[2 * kk + 1][1]);
			pa[kk][3] = pack2<T>(sacc[2 * kk + 1][2], sacc[2 * kk + 1][3]);
		}

		/* Tiles t >= TK_NQBUF reuse buffer b: each compute warp reads only
		 * its own 16 rows of a Q tile, so it refills them itself (cp.async,
		 * one group per active tile, empty when there is nothing to fetch)
		 * once its Q K^T for tile t is done, here where the scores are
		 * packed into P (fewer live registers than right after Q K^T); the
		 * copy lands during P V and the stores of tile t and is waited for
		 * at tile t + TK_NQBUF.  No barrier with another warp is needed. */
		__syncwarp(); /* every lane's ldmatrix reads of these rows are done */
		{
			const int s2 = s0 + TK_NQBUF * TK_QT; /* this warp's first row of tile t+NQBUF */
			if (s2 < NR)
				load_q_rows<T, TK_MT, 32>(sQb, cw * TK_MT, q, &p.ci, &it, s2, NR - s2,
							  lane);
			cp_async_commit();
		}

		/* O = P V: 16 x 128, k = 64, in TK_PV_SPLIT slices of d; each slice
		 * goes to the partials as soon as it is done.  Rows s0+g and s0+g+8;
		 * each quad writes 32 contiguous bytes of a row. */
		const int sa = s0 + g, sb = s0 + g + 8;
		const uint32_t va = sV + ((lane & 7) + (((lane >> 3) & 1) << 3)) * TK_ROW_BYTES;
		const uint32_t vx = (uint32_t)(((lane >> 4) ^ (lane & 7)) << 4);
		const int pra = chunk_part_row(&p.ci, &it, sa), prb = chunk_part_row(&p.ci, &it, sb);
		T *oa = (T *)p.po + (size_t)pra * TK_D, *ob = (T *)p.po + (size_t)prb * TK_D;
#pragma unroll
		for (int hp = 0; hp < TK_PV_SPLIT; hp++) {
			constexpr int NJ = TK_D / 8 / TK_PV_SPLIT; /* n8 tiles per slice */
			float oacc[NJ][4];
#pragma unroll
			for (int j = 0; j < NJ; j++)
				oacc[j][0] = oacc[j][1] = oacc[j][2] = oacc[j][3] = 0.0f;
#pragma unroll
			for (int kk = 0; kk < TK_CHUNK / 16; kk++) {
				const uint32_t *a = pa[kk];
#pragma unroll
				for (int dp = 0; dp < NJ / 2; dp++) {
					uint32_t bb[4];
					ldsm_x4_t(bb, va + kk * 16 * TK_ROW_BYTES +
							      (((hp * NJ / 2 + dp) * 32) ^ vx));
					mma_m16n8k16<T>(oacc[2 * dp], a, bb[0], bb[1]);
					mma_m16n8k16<T>(oacc[2 * dp + 1], a, bb[2], bb[3]);
				}
			}
			/* o in T: per 4 n8 tiles, a quad transpose gives each lane the
			 * 8 contiguous elements of one tile: a quad stores 64 contiguous
			 * bytes of a row, 16 per lane (every lane shuffles; only real
			 * rows store) */
#pragma unroll
			for (int jg = 0; jg < NJ / 4; jg++) {
				const int j = 4 * jg;
				uint4 wa = quad_transpose(
					pack2<T>(oacc[j][0], oacc[j][1]),
					pack2<T>(oacc[j + 1][0], oacc[j + 1][1]),
					pack2<T>(oacc[j + 2][0], oacc[j + 2][1]),
					pack2<T>(oacc[j + 3][0], oacc[j + 3][1]), tq);
				uint4 wb = quad_transpose(
					pack2<T>(oacc[j][2], oacc[j][3]),
					pack2<T>(oacc[j + 1][2], oacc[j + 1][3]),
					pack2<T>(oacc[j + 2][2], oacc[j + 2][3]),
					pack2<T>(oacc[j + 3][2], oacc[j + 3][3]), tq);
				const int col = 8 * (hp * NJ + j + tq);
				if (sa < NR)
					*(uint4 *)(oa + col) = wa;
				if (sb < NR)
					*(uint4 *)(ob + col) = wb;
			}
		}
		if (tq == 0 && sa < NR)
			*(float2 *)(p.pml + 2 * (size_t)pra) =
				make_float2(mx0 * 0.69314718055994531f, l0);
		if (tq == 0 && sb < NR)
			*(float2 *)(p.pml + 2 * (size_t)prb) =
				make_float2(mx1 * 0.69314718055994531f, l1);
	}
}

/* ---- host launcher --------------------------------------------------------- */
static const char *tk_check(const struct attn_shape *s)
{
	static_assert(TK_CHUNK == 64 && TK_D == 128, "ATTN_CHECK_TILE_64x128 checks these");
	ATTN_CHECK_TILE_64x128("tk", s);
	CHUNK_ITEMS_CHECK("tk", s);
	return NULL;
}

static int tk_launch(const struct attn_args *a, struct CUstream_st *stream)
{
	struct chunk_params p;
	struct attn_partials pp;
	if (tk_check(&a->s) != NULL ||
	    chunk_params_make(&p, &pp, a, a->scale * 1.4426950408889634f /* log2(e) */) != NULL)
		return (int)cudaErrorInvalidValue;
	return chunk_forward<tk_kernel<__nv_bfloat16>, tk_kernel<__half>>(a, &p, &pp, TK_THREADS,
									  TK_SMEM_BYTES, stream);
}

extern "C" const struct attn_kernel attn_kernel_tk = {
	"tk",
	"4-warp two-phase chunk kernel (2 mma.sync compute + 2 cp.async load warps; shared chunks once, suffixes per sequence) + merge",
	tk_check,
	attn_chunk_partials_bytes, /* o in the input dtype (merge.h) */
	tk_launch,
};
