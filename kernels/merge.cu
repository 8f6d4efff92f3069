/* merge.cu - fold P partial attention states per (seq, head) into the output.
 *
 * Idea: the second (seq-first) phase of a two-phase prefix kernel.  A row is
 * one (seq, head); its lanes each own one 16-byte piece of a partial's o row:
 * bf16/fp16 o (merge.h's o_dtype) -> one half-warp per row, 8 dimensions per
 * lane, widened to fp32 in registers (bf16: a shift; fp16: cvt).  A row's
 * lanes read one coalesced 256-byte run per partial (d_head = 128) and the
 * (m, l) pair as a broadcast.  The P partials are folded in order in fp32 with
 * softmax_fold_f (softmax_merge.h), MERGE_UNROLL at a time with all their
 * loads issued first.  Bytes: P*n_seqs*n_heads*(d_head*esize + 8) read,
 * n_seqs*n_heads*d_head*4 written; at n_seqs = 64 and one partial per 64-token
 * chunk, fp32 partials are as many bytes as the K/V the first phase read,
 * 16-bit partials half that.
 *
 * Launched with programmatic dependent launch (sm_90): its blocks start while
 * the producer's last blocks still run and wait in griddepcontrol.wait, which
 * returns once the producer grid has completed and its writes are visible.
 * That hides one launch latency (a few us, most of a small config's time).
 *
 * The partials are read once: their loads carry an L2 evict_first policy, so
 * the lines this kernel brings in are evicted before partials the producer
 * wrote last and that still sit in L2 unread (5% of the forward pass at
 * n_seqs=64, 64 heads x 64 chunks: 0.1453 ms vs 0.1516 without).
 *
 * Version log (H100 80GB HBM3, SM 1980 MHz; merge alone, back-to-back on the
 * workspace the producer filled):
 *  v1 fp32 o: n_seqs 64, 64 heads x 64 chunks (138 MB): 0.049 ms = 2.8 TB/s
 *     (ncu: 81% of DRAM peak); 256 x 256: 0.718 ms; n_seqs 32, 64 x 64:
 *     0.026 ms.  MERGE_UNROLL 4 / 8 / 16: 0.0501 / 0.0512 / 0.0533 ms.
 *     Without programmatic dependent launch the tk forward pass at 4 heads x
 *     4 chunks took 0.0109 instead of 0.0089 ms.
 *  v2 o in the input dtype (native, tk): predicted half the partial bytes,
 *     half the time.  Measured (same call, v1 -> v2): n_seqs 64, 64 x 64:
 *     0.0481 -> 0.0263 ms (71 MB, 2.7 TB/s); 256 x 256: 0.7175 -> 0.370 ms;
 *     n_seqs 32, 64 x 64: 0.0252 -> 0.0184 ms.  (v1's fp32-o path, kept
 *     unlaunched after v2, has since been removed.)
 */
#include <cuda_fp16.h>
#include <cuda_runtime.h>
#include <math.h>
#include <stdint.h>

#include "merge.h"
#include "ptx.h"
#include "softmax_merge.h"

/* ---- compile-time configuration ----------------------------------------- */
#define MERGE_THREADS 128 /* 4 warps; a row = one (seq, head) per 16 lanes */
#ifndef MERGE_UNROLL
#define MERGE_UNROLL 4    /* partials whose loads are in flight together */
#endif
#ifndef MERGE_EVICT_FIRST
#define MERGE_EVICT_FIRST 1 /* partials read once: L2 evict_first, so lines this
			       kernel brings in go before unread partials still in L2 */
#endif
#ifndef MERGE_PDL
#define MERGE_PDL 1       /* launch as a programmatic dependent of the producer */
#endif
static_assert(MERGE_THREADS % 32 == 0, "whole warps only");
static_assert(MERGE_UNROLL >= 1 && MERGE_UNROLL <= 16,
	      "unrolled loads live in registers: 6 per partial");

/* 16-bit o: VEC elements = 16 bytes per lane, LPR lanes per row; a row's
 * lanes cover LPR * VEC = 128 dimensions per step. */
#define MERGE_VEC 8
#define MERGE_LPR 16

/* ---- parameters ------------------------------------------------------------ */
struct merge_params {
	const void *o;   /* [P][H][S][D] o_dtype */
	const float *ml; /* [P][H][S][2] */
	float *out;      /* [S][H][D] */
	int n_parts, n_heads, n_seqs, d_head;
};

/* ---- device helpers -------------------------------------------------------- */
/* read-once loads of the partials (non-coherent path: the producer grid is done) */
static __device__ __forceinline__ uint4 ld_part16(const void *p, uint64_t pol)
{
#if MERGE_EVICT_FIRST
	return ld_nc_na_hint_v4((const uint4 *)p, pol);
#else
	(void)pol;
	return __ldg((const uint4 *)p);
#endif
}

static __device__ __forceinline__ float2 ld_part2(const float *p, uint64_t pol)
{
#if MERGE_EVICT_FIRST
	return ld_nc_na_hint_f2(p, pol);
#else
	(void)pol;
	return __ldg((const float2 *)p);
#endif
}

/* 16 loaded bytes -> VEC fp32 values */
template <int OT> static __device__ __forceinline__ void widen(float *f, uint4 u);
template <> __device__ __forceinline__ void widen<ATTN_PART_BF16>(float *f, uint4 u)
{
	const uint32_t w[4] = { u.x, u.y, u.z, u.w };
#pragma unroll
	for (int i = 0; i < 4; i++) { /* bf16 -> fp32 is exact: the bits, shifted */
		f[2 * i] = __uint_as_float(w[i] << 16);
		f[2 * i + 1] = __uint_as_float(w[i] & 0xffff0000u);
	}
}
template <> __device__ __forceinline__ void widen<ATTN_PART_FP16>(float *f, uint4 u)
{
	const uint32_t w[4] = { u.x, u.y, u.z, u.w };
#pragma unroll
	for (int i = 0; i < 4; i++) {
		__half2 h = *(const __half2 *)&w[i];
		float2 x = __half22float2(h);
		f[2 * i] = x.x;
		f[2 * i + 1] = x.y;
	}
}

/* ---- kernel ---------------------------------------------------------------- */
template <int OT>
__global__ void __launch_bounds__(MERGE_THREADS) merge_kernel(const struct merge_params p)
{
	constexpr int VEC = MERGE_VEC, LPR = MERGE_LPR;
	constexpr int ESZ = 16 / VEC; /* bytes per stored element */
	pdl_wait();
	const int sub = threadIdx.x % LPR;
	const long long row = ((long long)blockIdx.x * MERGE_THREADS + threadIdx.x) / LPR;
	const long long n_rows = (long long)p.n_seqs * p.n_heads;
	if (row >= n_rows)
		return;
	const int h = (int)(row / p.n_seqs);
	const int s = (int)(row % p.n_seqs);
	/* distance between the same (h, s) in consecutive parts, in rows */
	const size_t part_rows = (size_t)p.n_heads * p.n_seqs;
	const size_t row0 = (size_t)h * p.n_seqs + s;
	const char *obase = (const char *)p.o;
	uint64_t pol = 0;
#if MERGE_EVICT_FIRST
	pol = createpolicy_evict_first();
#endif

	for (int i = sub * VEC; i < p.d_head; i += LPR * VEC) {
		softmax_state_f st = softmax_init_f();
		float acc[VEC];
#pragma unroll
		for (int e = 0; e < VEC; e++)
			acc[e] = 0.0f;
		int k = 0;
		for (; k + MERGE_UNROLL <= p.n_parts; k += MERGE_UNROLL) {
			float2 pml[MERGE_UNROLL];
			uint4 po[MERGE_UNROLL];
#pragma unroll
			for (int u = 0; u < MERGE_UNROLL; u++) {
				size_t r = row0 + (size_t)(k + u) * part_rows;
				pml[u] = ld_part2(p.ml + 2 * r, pol);
				po[u] = ld_part16(obase + (r * p.d_head + i) * ESZ, pol);
			}
#pragma unroll
			for (int u = 0; u < MERGE_UNROLL; u++) {
				float f[VEC];
				widen<OT>(f, po[u]);
				softmax_fold_f(&st, acc, pml[u].x, pml[u].y, f, VEC);
			}
		}
		for (; k < p.n_parts; k++) {
			size_t r = row0 + (size_t)k * part_rows;
			float2 pml = ld_part2(p.ml + 2 * r, pol);
			float f[VEC];
			widen<OT>(f, ld_part16(obase + (r * p.d_head + i) * ESZ, pol));
			softmax_fold_f(&st, acc, pml.x, pml.y, f, VEC);
		}
		float inv = st.l > 0.0f ? 1.0f / st.l : 0.0f;
		float *dst = p.out + ((size_t)s * p.n_heads + h) * p.d_head + i;
#pragma unroll
		for (int e = 0; e < VEC; e += 4)
			*(float4 *)(dst + e) = make_float4(acc[e] * inv, acc[e + 1] * inv,
							   acc[e + 2] * inv, acc[e + 3] * inv);
	}
}

/* ---- host launcher --------------------------------------------------------- */
template <int OT>
static cudaError_t merge_enqueue(const struct merge_params *p, cudaStream_t st)
{
	constexpr int LPR = MERGE_LPR;
	long long n_rows = (long long)p->n_seqs * p->n_heads;
	long long blocks = (n_rows * LPR + MERGE_THREADS - 1) / MERGE_THREADS;
	if (blocks > 0x7fffffffLL)
		return cudaErrorInvalidValue;

	cudaLaunchConfig_t cfg = {};
	cfg.gridDim = dim3((unsigned)blocks);
	cfg.blockDim = dim3(MERGE_THREADS);
	cfg.dynamicSmemBytes = 0;
	cfg.stream = st;
	cudaLaunchAttribute attr[1];
	attr[0].id = cudaLaunchAttributeProgrammaticStreamSerialization;
	attr[0].val.programmaticStreamSerializationAllowed = 1;
	cfg.attrs = attr;
	cfg.numAttrs = MERGE_PDL ? 1 : 0;
	cudaError_t e = cudaLaunchKernelEx(&cfg, merge_kernel<OT>, *p);
	if (e != cudaSuccess && MERGE_PDL) {
		/* a device or stream without programmatic launch: plain launch */
		(void)cudaGetLastError();
		cfg.numAttrs = 0;
		e = cudaLaunchKernelEx(&cfg, merge_kernel<OT>, *p);
	}
	if (e != cudaSuccess)
		return e;
	return cudaGetLastError();
}

extern "C" int attn_merge_launch(const struct attn_partials *pp, float *out,
				 struct CUstream_st *stream)
{
	const int vec = MERGE_VEC;
	if (pp->n_parts < 1 || pp->d_head < vec || pp->d_head % vec != 0 || pp->n_seqs < 1 ||
	    pp->n_heads < 1 || ((uintptr_t)pp->o & 15) != 0 ||
	    (pp->o_dtype != ATTN_PART_BF16 && pp->o_dtype != ATTN_PART_FP16))
		return (int)cudaErrorInvalidValue;
	struct merge_params p;
	p.o = pp->o;
	p.ml = pp->ml;
	p.out = out;
	p.n_parts = pp->n_parts;
	p.n_heads = pp->n_heads;
	p.n_seqs = pp->n_seqs;
	p.d_head = pp->d_head;
	cudaStream_t st = (cudaStream_t)stream;
	cudaError_t e = pp->o_dtype == ATTN_PART_BF16 ? merge_enqueue<ATTN_PART_BF16>(&p, st)
						      : merge_enqueue<ATTN_PART_FP16>(&p, st);
	return (int)e;
}
