/* native.cu - ChunkAttention's two-phase partition (chunk-first, sequence-
 * first, one merge), in CUDA C.
 *
 * Idea (microsoft/chunk-attention, arXiv 2402.15220; re-written, not copied):
 * a chunk shared by several sequences is read once and attended by all of
 * them as one matrix-matrix tile (chunk-first), a sequence's own chunks are
 * attended per sequence (sequence-first), and the per-chunk partial states
 * are merged.  Both phases are one launch of one kernel here: one block of
 * 128 threads (4 warps) per work item (tree node, chunk of the node, K/V
 * head), a 1-D grid of attn_pool_chunks() * n_kv_heads blocks, level-0
 * items (the common prefix, all sequences) first, then level 1 (a group's
 * chunks, its sequences), then level 2 (a sequence's suffix, the
 * sequence-first phase); chunk_items.h decodes blockIdx into the item and
 * says which query rows it has: the g = n_heads / n_kv_heads query heads of
 * its K/V head of each of the node's sequences (GQA: g heads as rows of the
 * same tile, not g passes).  The block loads the chunk's K and V ([64][128]
 * each, from the pool through node_chunks) into shared memory with plain
 * 16-byte loads, then takes its rows in tiles of 64 (one 16-row WMMA tile
 * per warp, zero-padded past the last row): S = Q K^T with nvcuda::wmma
 * 16x16x16 (fp32 accumulate) into shared memory, a row softmax over the
 * chunk's 64 keys there (P written back as bf16/fp16), O = P V with WMMA
 * (fp32 accumulate), O staged through shared memory in fp32 and written as
 * the row's partial for the chunk's table slot (m, l in fp32, unnormalized o
 * rounded once to the input dtype: a half-warp per 256-byte row, one 16-byte
 * store per lane; merge.h layout, attn_seq_chunks() parts).  merge.cu, shared
 * with tk.cu, folds each (seq, head)'s partials.
 *
 * A suffix's partial last chunk (valid = its tokens < 64): K/V rows >= valid
 * are zeros in shared memory (never read from the pool) and their scores are
 * set to -inf in S before the row max, so their P is exactly 0.
 *
 * This is the baseline the tk kernel is measured against, so it is kept
 * close to the original design: synchronous loads (no copy/compute overlap
 * inside a block), WMMA through shared memory (S and O round-trip through
 * shared memory), 86 KB of shared memory -> 2 blocks per SM.  Rows of K, V
 * and Q are padded by 16 bytes (ldm 136) so WMMA's loads avoid the 8-way
 * bank conflicts of a 256-byte row stride.  For the single-prefix workload
 * (one node, g = 1) the items are the original grid (n_heads, n_chunks) in
 * the same block order and rows, at the cost of a node read and a
 * multiply-high division per Q row (chunk_items.h).
 *
 * Contract: attn.h; check() = ATTN_CHECK_TILE_64x128 + CHUNK_ITEMS_CHECK
 * (n_heads % n_kv_heads == 0, whole groups, < 2^31 blocks and partial rows);
 * launch() plans from attn_args.host_tree and reads tree.nodes and
 * tree.node_chunks on the device; workspace = attn_chunk_partials_bytes().
 *
 * Build: nvcc -std=c++17 -O3 -gencode arch=compute_90a,code=sm_90a -c kernels/native.cu
 *        236 (bf16) / 192 (fp16) registers, 0 spills, 86 KB dynamic shared memory
 *        (v2, single-prefix only: 236 / 167).
 *
 * Measured (H100 80GB HBM3, bf16, L2 cold, forward pass incl. the merge;
 * results/h100/, made by make sweeps KERNELS='native tk prefix_stream'
 * PRESET=seed N_SEQS='32 64'; v2): n_seqs 32: 4096 blocks 0.1335 ms, 65536
 * blocks 1.862 ms; n_seqs 64: 0.1627 ms, 2.432 ms.  v3 on the H200: to be
 * measured.
 *
 * History: v1 stored fp32 partial o; v2 stores it in the input dtype,
 * 0.2065 -> 0.161 ms at n_seqs 64, 64 x 64; v3 (current) runs every workload
 * form (GQA, group chunks, suffixes) through work items.  The version log:
 * docs/kernels/native.md.
 */
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>
#include <mma.h>
#include <stdint.h>

#include "attn.h"
#include "chunk_items.h"
#include "merge.h"
#include "ptx.h"

/* ---- compile-time configuration ----------------------------------------- */
#define NV_CHUNK 64                  /* keys per chunk */
#define NV_D 128                     /* head dimension */
#define NV_WARPS 4
#define NV_THREADS (NV_WARPS * 32)   /* 128, as ChunkAttention */
#define NV_WM 16                     /* WMMA tile: 16x16x16 */
#define NV_QT (NV_WARPS * NV_WM)     /* query rows per tile: one 16-row tile per warp */
#define NV_LDT (NV_D + 8)            /* K, V, Q row stride (elements): +16 B vs bank conflicts */
#define NV_LDS (NV_CHUNK + 4)        /* S row stride (floats) */
#define NV_LDP (NV_CHUNK + 8)        /* P row stride (elements) */
#define NV_LDO (NV_D + 4)            /* O staging row stride (floats) */
/* shared memory map (bytes) */
#define NV_SM_K 0
#define NV_SM_V (NV_SM_K + NV_CHUNK * NV_LDT * 2)
#define NV_SM_Q (NV_SM_V + NV_CHUNK * NV_LDT * 2)
#define NV_SM_W (NV_SM_Q + NV_QT * NV_LDT * 2)  /* per-warp scratch from here */
#define NV_W_S 0                                 /* S fp32 [16][NV_LDS] */
#define NV_W_P (NV_WM * NV_LDS * 4)              /* P T [16][NV_LDP], after S */
#define NV_W_BYTES (NV_WM * NV_LDO * 4)          /* O staging [16][NV_LDO] fp32 overlays S, P */
#define NV_SMEM_BYTES (NV_SM_W + NV_WARPS * NV_W_BYTES)

static_assert(NV_CHUNK % NV_WM == 0 && NV_D % NV_WM == 0, "whole WMMA tiles");
static_assert(NV_LDT % 8 == 0 && NV_LDP % 8 == 0 && NV_LDS % 4 == 0 && NV_LDO % 4 == 0,
	      "WMMA ldm: multiple of 16 bytes");
static_assert((NV_WM * NV_LDT * 2) % 32 == 0 && (NV_WM * NV_LDP * 2) % 32 == 0 &&
		      (NV_WM * NV_LDS * 4) % 32 == 0 && (NV_WM * NV_LDO * 4) % 32 == 0,
	      "WMMA tile pointers 32-byte aligned");
static_assert(NV_W_P + NV_WM * NV_LDP * 2 <= NV_W_BYTES, "S and P fit under the O staging");
static_assert(NV_SM_W % 128 == 0 && NV_W_BYTES % 128 == 0, "aligned scratch");
static_assert(NV_SMEM_BYTES <= 113 * 1024, "2 blocks per 228 KB SM");
static_assert(NV_THREADS == 2 * 64, "softmax: two lanes per row of a 16-row tile");

/* ---- parameters: struct chunk_params (chunk_items.h), scale = 1/sqrt(d_head) */

/* ---- device helpers -------------------------------------------------------- */
template <typename T> static __device__ __forceinline__ T to_t(float x);
template <> __device__ __forceinline__ __nv_bfloat16 to_t<__nv_bfloat16>(float x)
{
	return __float2bfloat16_rn(x);
}
template <> __device__ __forceinline__ __half to_t<__half>(float x)
{
	return __float2half_rn(x);
}

/* the Q rows of item rows [r0, r0 + NV_QT) into a padded tile; tile rows
 * >= valid are zero.  All 128 threads. */
template <typename T>
static __device__ __forceinline__ void load_q(T *dst, const T *q, const struct chunk_items *ci,
					      const struct chunk_item *it, int r0, int valid)
{
	constexpr int N = NV_QT * 16 / NV_THREADS;
	uint4 buf[N];
#pragma unroll
	for (int j = 0; j < N; j++) {
		int i = threadIdx.x + NV_THREADS * j, row = i >> 4, ch = i & 15;
		buf[j] = row < valid
				 ? __ldg((const uint4 *)(q + (size_t)chunk_q_row(ci, it, r0 + row) * NV_D +
							 ch * 8))
				 : make_uint4(0, 0, 0, 0);
	}
#pragma unroll
	for (int j = 0; j < N; j++) {
		int i = threadIdx.x + NV_THREADS * j, row = i >> 4, ch = i & 15;
		*(uint4 *)(dst + row * NV_LDT + ch * 8) = buf[j];
	}
}

/* the chunk's K and V, [64][128] each, contiguous: all 16 loads of a thread
 * are issued before the first store.  Rows >= valid (past a suffix's last
 * token) are zeros: the pool's padding is never read.  All 128 threads. */
template <typename T>
static __device__ __forceinline__ void load_kv(T *dk, T *dv, const T *k, const T *v, int valid)
{
	constexpr int N = NV_CHUNK * 16 / NV_THREADS;
	uint4 bk[N], bv[N];
#pragma unroll
	for (int j = 0; j < N; j++) {
		int i = threadIdx.x + NV_THREADS * j, row = i >> 4;
		const bool ok = row < valid;
		bk[j] = ok ? __ldg((const uint4 *)k + i) : make_uint4(0, 0, 0, 0);
		bv[j] = ok ? __ldg((const uint4 *)v + i) : make_uint4(0, 0, 0, 0);
	}
#pragma unroll
	for (int j = 0; j < N; j++) {
		int i = threadIdx.x + NV_THREADS * j, row = i >> 4, ch = i & 15;
		*(uint4 *)(dk + row * NV_LDT + ch * 8) = bk[j];
		*(uint4 *)(dv + row * NV_LDT + ch * 8) = bv[j];
	}
}

/* ---- kernel ---------------------------------------------------------------- */
template <typename T>
__global__ void __launch_bounds__(NV_THREADS, 2)
	native_kernel(const __grid_constant__ struct chunk_params p)
{
	using namespace nvcuda;
	extern __shared__ __align__(128) unsigned char smem[];
	T *sK = (T *)(smem + NV_SM_K);
	T *sV = (T *)(smem + NV_SM_V);
	T *sQ = (T *)(smem + NV_SM_Q);
	const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
	unsigned char *wbuf = smem + NV_SM_W + warp * NV_W_BYTES;
	float *sS = (float *)(wbuf + NV_W_S);
	T *sP = (T *)(wbuf + NV_W_P);
	float *sO = (float *)wbuf;

	/* this block's item: (node, chunk, K/V head) and its n_rows query rows */
	const struct chunk_item it =
		chunk_item_at(&p.ci, p.nodes, p.node_chunks, (int)blockIdx.x, NV_CHUNK);
	const int NR = it.n_rows;
	const size_t kv_off = ((size_t)it.chunk * p.ci.kv_heads.d + it.kvh) * NV_CHUNK * NV_D;
	load_kv<T>(sK, sV, (const T *)p.k + kv_off, (const T *)p.v + kv_off, it.valid);
	const T *q = (const T *)p.q;

	for (int t0 = 0; t0 < NR; t0 += NV_QT) {
		__syncthreads(); /* previous tile's Q reads are done (first: nothing) */
		load_q<T>(sQ, q, &p.ci, &it, t0, NR - t0);
		__syncthreads(); /* K, V, Q in */
		const int s0 = t0 + warp * NV_WM; /* this warp's first row */
		if (s0 >= NR)
			continue;

		/* S = Q K^T (16 x 64) */
		for (int n = 0; n < NV_CHUNK / NV_WM; n++) {
			wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc;
			wmma::fill_fragment(acc, 0.0f);
#pragma unroll
			for (int kk = 0; kk < NV_D / NV_WM; kk++) {
				wmma::fragment<wmma::matrix_a, 16, 16, 16, T, wmma::row_major> fa;
				wmma::fragment<wmma::matrix_b, 16, 16, 16, T, wmma::col_major> fb;
				wmma::load_matrix_sync(fa, sQ + warp * NV_WM * NV_LDT + kk * NV_WM,
						       NV_LDT);
				wmma::load_matrix_sync(fb, sK + n * NV_WM * NV_LDT + kk * NV_WM,
						       NV_LDT);
				wmma::mma_sync(acc, fa, fb, acc);
			}
			wmma::store_matrix_sync(sS + n * NV_WM, acc, NV_LDS, wmma::mem_row_major);
		}
		__syncwarp();

		/* softmax: lane owns half a row (32 keys) of row lane/2 */
		const int r = lane >> 1, half = lane & 1;
		float *srow = sS + r * NV_LDS + half * (NV_CHUNK / 2);
		if (it.valid < NV_CHUNK) {
			/* a suffix's partial last chunk: keys >= valid score -inf, so
			 * their P is exactly 0 (key 0 is always valid: the max is finite) */
#pragma unroll
			for (int j = 0; j < NV_CHUNK / 2; j++)
				if (half * (NV_CHUNK / 2) + j >= it.valid)
					srow[j] = -INFINITY;
		}
		float mx = -INFINITY;
#pragma unroll
		for (int j = 0; j < NV_CHUNK / 2; j++)
			mx = fmaxf(mx, srow[j] * p.scale);
		mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 1));
		float l = 0.0f;
		T *prow = sP + r * NV_LDP + half * (NV_CHUNK / 2);
#pragma unroll
		for (int j = 0; j < NV_CHUNK / 2; j++) {
			float e = __expf(srow[j] * p.scale - mx);
			l += e;
			prow[j] = to_t<T>(e);
		}
		l += __shfl_xor_sync(0xffffffffu, l, 1);
		__syncwarp();

		/* O = P V (16 x 128) */
		wmma::fragment<wmma::accumulator, 16, 16, 16, float> oacc[NV_D / NV_WM];
#pragma unroll
		for (int n = 0; n < NV_D / NV_WM; n++)
			wmma::fill_fragment(oacc[n], 0.0f);
#pragma unroll
		for (int kk = 0; kk < NV_CHUNK / NV_WM; kk++) {
			wmma::fragment<wmma::matrix_a, 16, 16, 16, T, wmma::row_major> fa;
			wmma::load_matrix_sync(fa, sP + kk * NV_WM, NV_LDP);
#pragma unroll
			for (int n = 0; n < NV_D / NV_WM; n++) {
				wmma::fragment<wmma::matrix_b, 16, 16, 16, T, wmma::row_major> fb;
				wmma::load_matrix_sync(fb, sV + kk * NV_WM * NV_LDT + n * NV_WM,
						       NV_LDT);
				wmma::mma_sync(oacc[n], fa, fb, oacc[n]);
			}
		}
		__syncwarp(); /* P and S reads done: O staging overlays them */
#pragma unroll
		for (int n = 0; n < NV_D / NV_WM; n++)
			wmma::store_matrix_sync(sO + n * NV_WM, oacc[n], NV_LDO, wmma::mem_row_major);
		__syncwarp();

		/* partial o in T: rows of 256 bytes, two per iteration (a half-warp
		 * each), 8 elements = one 16-byte store per lane, rounded once from
		 * the fp32 staging */
		const int rows = NR - s0 < NV_WM ? NR - s0 : NV_WM;
		T *po = (T *)p.po;
		const int hr = lane >> 4, col = (lane & 15) * 8;
		for (int rr = hr; rr < rows; rr += 2) {
			const float *src = sO + rr * NV_LDO + col;
			float4 x0 = *(const float4 *)src, x1 = *(const float4 *)(src + 4);
			uint4 w;
			w.x = pack2<T>(x0.x, x0.y);
			w.y = pack2<T>(x0.z, x0.w);
			w.z = pack2<T>(x1.x, x1.y);
			w.w = pack2<T>(x1.z, x1.w);
			const size_t prow = (size_t)chunk_part_row(&p.ci, &it, s0 + rr);
			*(uint4 *)(po + prow * NV_D + col) = w;
		}
		if (half == 0 && r < rows)
			*(float2 *)(p.pml + 2 * (size_t)chunk_part_row(&p.ci, &it, s0 + r)) =
				make_float2(mx, l);
	}
}

/* ---- host launcher --------------------------------------------------------- */
static const char *native_check(const struct attn_shape *s)
{
	static_assert(NV_CHUNK == 64 && NV_D == 128, "ATTN_CHECK_TILE_64x128 checks these");
	ATTN_CHECK_TILE_64x128("native", s);
	CHUNK_ITEMS_CHECK("native", s);
	return NULL;
}

static int native_launch(const struct attn_args *a, struct CUstream_st *stream)
{
	struct chunk_params p;
	struct attn_partials pp;
	if (native_check(&a->s) != NULL || chunk_params_make(&p, &pp, a, a->scale) != NULL)
		return (int)cudaErrorInvalidValue;
	return chunk_forward<native_kernel<__nv_bfloat16>, native_kernel<__half>>(a, &p, &pp, NV_THREADS,
									  NV_SMEM_BYTES, stream);
}

extern "C" const struct attn_kernel attn_kernel_native = {
	"native",
	"ChunkAttention two-phase: chunk-first over shared chunks, seq-first over suffixes (WMMA 16x16x16, 4 warps) + merge",
	native_check,
	attn_chunk_partials_bytes, /* o in the input dtype (merge.h) */
	native_launch,
};
