/* stream_read.cu - streaming-read ceiling kernels (see stream_read.h).
 *
 * Candidates (stream_read_plan.h has the spec of each; docs/kernels/
 * stream_read.md why each exists and what it was predicted to do):
 *   nc4      the original ceiling: 16-byte non-coherent loads that do not
 *            allocate in L1 (ld.global.nc.L1::no_allocate.v4), 256 threads a
 *            CTA, 4 loads in flight per thread, a grid-stride loop over
 *            words on at most 8 CTAs per SM; one CTA per 16 KiB below that.
 *   ld       the same loads, 4/8/16 in flight per thread, CTAs per SM asked
 *            for, each CTA reading whole contiguous pieces (cyclic or one
 *            block per CTA), optional L2 hints and an L2 bulk prefetch ahead.
 *   cpasync  cp.async.cg 16 B into 2-6 shared-memory stages per CTA, each
 *            thread folding the words it copied (no barrier needed).
 *   bulk     1-D bulk copies (cp.async.bulk ... mbarrier::complete_tx, the
 *            copy engine without a tensor map) of one piece per stage into a
 *            ring of 2-8 stages, issued by one elected producer thread;
 *            consumer warps fold each stage from shared memory and release
 *            it on an "empty" mbarrier (sm_90: PTX_BULK).
 * Every kernel reads each byte once and folds it: the xor of the 32-bit
 * words (and of the tail bytes) of each CTA goes to sink[0] as one float
 * (atomicAdd), or exactly into *fold for the check mode of
 * tools/bench-ceiling.c.
 *
 * Which one run-kernel's ceiling runs: the dispatch table at the top of
 * stream_read_plan.c (one spec string per size range; today nc4 for every
 * size).  `make bench-ceiling` times every candidate; put the winner's
 * `variant:params` there.
 */
#include <cuda_runtime.h>
#include <stdint.h>
#include <string.h>

#include "ptx.h"
#include "stream_read.h"

__device__ int sr_bulk_built = PTX_BULK; /* does this device image have cp.async.bulk */

typedef void (*sr_fn)(const uint4 *, const struct sr_geom, float *, unsigned *);

static __device__ __forceinline__ uint32_t fold4(uint4 v)
{
	return v.x ^ v.y ^ v.z ^ v.w;
}

/* CTA 0 reads the tail bytes; the CTA xor-reduces acc and hands it on. */
static __device__ __forceinline__ void sr_finish(uint32_t acc, const struct sr_geom &g, const uint4 *buf,
						 float *sink, unsigned *fold)
{
	__shared__ uint32_t red[32];
	if (blockIdx.x == 0 && (int)threadIdx.x < g.ntail)
		acc ^= ((const unsigned char *)(buf + g.n16))[threadIdx.x];
#pragma unroll
	for (int o = 16; o > 0; o >>= 1)
		acc ^= __shfl_xor_sync(0xffffffffu, acc, o);
	if ((threadIdx.x & 31) == 0)
		red[threadIdx.x >> 5] = acc;
	__syncthreads();
	if (threadIdx.x == 0) {
		uint32_t r = 0;
		for (unsigned w = 0; w < blockDim.x / 32; ++w)
			r ^= red[w];
		if (fold)
			atomicXor(fold, r);
		else
			atomicAdd(sink, (float)(r & 0xffu));
	}
}

/* ---- nc4: the original kernel, its loop as it was ----------------------------- */
__global__ void __launch_bounds__(SR_NC4_THREADS) stream_read_kernel(const uint4 *buf, const struct sr_geom g,
								     float *sink, unsigned *fold)
{
	const size_t n16 = g.n16;
	const size_t stride = (size_t)gridDim.x * SR_NC4_THREADS;
	size_t i = (size_t)blockIdx.x * SR_NC4_THREADS + threadIdx.x;
	uint32_t acc = 0;
	for (; i + (SR_NC4_UNROLL - 1) * stride < n16; i += SR_NC4_UNROLL * stride) {
		uint4 v[SR_NC4_UNROLL];
#pragma unroll
		for (int u = 0; u < SR_NC4_UNROLL; ++u)
			v[u] = ld_nc_na_v4(buf + i + u * stride);
#pragma unroll
		for (int u = 0; u < SR_NC4_UNROLL; ++u)
			acc ^= fold4(v[u]);
	}
	for (; i < n16; i += stride)
		acc ^= fold4(ld_nc_na_v4(buf + i));
	sr_finish(acc, g, buf, sink, fold);
}

/* ---- ld: register loads over whole pieces ---------------------------------------- */
template <int H> static __device__ __forceinline__ uint4 sr_load(const uint4 *p, uint64_t pol)
{
	if constexpr (H == SR_HINT_PF256)
		return ld_nc_na_v4<true>(p);
	else if constexpr (H == SR_HINT_EVICT_FIRST)
		return ld_nc_na_hint_v4(p, pol);
	else
		return ld_nc_na_v4(p);
}

/* Within a piece, thread t reads words t, t + T, ...: U of them in flight,
 * each warp instruction 512 contiguous bytes.  The 1 of __launch_bounds__
 * matters: without a minimum of CTAs ptxas aims at 2048 threads an SM (32
 * registers) and interleaves the folds with the loads, so that U = 16 kept
 * only 5 loads in flight (seen in the SASS); with it all U loads issue
 * before the first fold (U = 16: 72 registers, 3 CTAs of 256 an SM). */
template <int T, int U, int H>
__global__ void __launch_bounds__(T, 1) sr_ld_kernel(const uint4 *buf, const struct sr_geom g, float *sink,
						  unsigned *fold)
{
	uint64_t pol = 0;
	if constexpr (H == SR_HINT_EVICT_FIRST)
		pol = createpolicy_evict_first();
	uint32_t acc = 0;
	unsigned long long k, end, step;
	sr_cta_pieces(&g, blockIdx.x, &k, &end, &step);
	for (; k < end; k += step) {
#if PTX_BULK
		if (g.prefetch && threadIdx.x == 0) {
			const unsigned long long kp = k + (unsigned long long)g.prefetch * step;
			if (kp < end)
				bulk_prefetch_l2(buf + kp * g.piece16, sr_piece_len(&g, kp) * 16u);
		}
#endif
		const uint4 *p = buf + k * g.piece16;
		const unsigned len = sr_piece_len(&g, k);
		unsigned w = threadIdx.x;
#pragma unroll 1 /* U loads in flight, not a multiple of U (ptxas would unroll it 4x) */
		for (; w + (U - 1) * T < len; w += U * T) {
			uint4 v[U];
#pragma unroll
			for (int u = 0; u < U; ++u)
				v[u] = sr_load<H>(p + w + u * T, pol);
#pragma unroll
			for (int u = 0; u < U; ++u)
				acc ^= fold4(v[u]);
		}
		for (; w < len; w += T)
			acc ^= fold4(sr_load<H>(p + w, pol));
	}
	sr_finish(acc, g, buf, sink, fold);
}

/* ---- cpasync: 16-byte async copies into a ring of stages ------------------------- */
/* piece k into the stage at dst: thread t copies words t + u*T (zero-filled
 * past the piece's end, which fold to nothing) */
template <int T, int U>
static __device__ __forceinline__ void sr_cp_issue(const uint4 *buf, const struct sr_geom &g, unsigned long long k,
						   uint32_t dst)
{
	const uint4 *src = buf + k * g.piece16;
	const unsigned len = sr_piece_len(&g, k);
#pragma unroll
	for (int u = 0; u < U; ++u) {
		const unsigned w = threadIdx.x + u * T;
		cp_async16(dst + w * 16, w < len ? src + w : buf, w < len ? 16 : 0);
	}
}

/* S stages: S - 1 pieces in flight while one is folded.  Each thread folds
 * only what it copied, after its own cp.async.wait_group: no CTA barrier.
 * The stage refilled at the top of an iteration is the one folded in the
 * iteration before. */
template <int T, int U, int S>
__global__ void __launch_bounds__(T) sr_cpasync_kernel(const uint4 *buf, const struct sr_geom g, float *sink,
						       unsigned *fold)
{
	extern __shared__ __align__(128) unsigned char smem[];
	constexpr unsigned SLOT = T * U * 16;
	const uint32_t sbase = smem_u32(smem);
	uint32_t acc = 0;
	unsigned long long first, end, step;
	sr_cta_pieces(&g, blockIdx.x, &first, &end, &step);
	unsigned long long kin = first;
	int in = 0, out = 0;
#pragma unroll
	for (int j = 0; j < S - 1; ++j) {
		if (kin < end) {
			sr_cp_issue<T, U>(buf, g, kin, sbase + in * SLOT);
			kin += step;
		}
		cp_async_commit();
		in = in + 1 == S ? 0 : in + 1;
	}
	for (unsigned long long k = first; k < end; k += step) {
		if (kin < end) {
			sr_cp_issue<T, U>(buf, g, kin, sbase + in * SLOT);
			kin += step;
		}
		cp_async_commit();
		in = in + 1 == S ? 0 : in + 1;
		cp_async_wait<S - 1>();
		const uint4 *s = (const uint4 *)(smem + out * SLOT);
#pragma unroll
		for (int u = 0; u < U; ++u)
			acc ^= fold4(s[threadIdx.x + u * T]);
		out = out + 1 == S ? 0 : out + 1;
	}
	sr_finish(acc, g, buf, sink, fold);
}

/* ---- bulk: the copy engine into a ring of stages ------------------------------------ */
/* Shared memory: g.stages "full" mbarriers (count 1 + the stage's tx bytes),
 * g.stages "empty" ones (count = consumer threads: each thread arrives
 * after its own reads, so the copy engine's next write into the stage is
 * ordered after every read by the mbarrier alone, as racecheck sees it;
 * one arrive per warp after __syncwarp was flagged as a race), then the
 * stages.  Warp
 * `nwc` (the last) is the producer: its lane 0 waits for a stage to be
 * empty, expects the piece's bytes and issues one cp.async.bulk for it. */
__global__ void __launch_bounds__(32 * (SR_BULK_MAX_WARPS + 1), 1)
	sr_bulk_kernel(const uint4 *buf, const struct sr_geom g, float *sink, unsigned *fold)
{
	uint32_t acc = 0;
#if PTX_BULK
	extern __shared__ __align__(128) unsigned char smem[];
	const int nwc = (int)(blockDim.x >> 5) - 1, warp = (int)(threadIdx.x >> 5), lane = (int)(threadIdx.x & 31);
	const int S = g.stages;
	const uint32_t full = smem_u32(smem), empty = full + 8 * S, data = full + SR_BULK_BAR_BYTES;
	const uint32_t stage_bytes = g.piece16 * 16;
	if (threadIdx.x == 0) {
		for (int s = 0; s < S; ++s) {
			mbar_init(full + 8 * s, 1);
			mbar_init(empty + 8 * s, (unsigned)nwc * 32u);
		}
		fence_mbar_init();
	}
	__syncthreads();
	unsigned long long first, end, step;
	sr_cta_pieces(&g, blockIdx.x, &first, &end, &step);
	int slot = 0;
	uint32_t round = 0;
	if (warp == nwc) {
		if (lane == 0) {
			for (unsigned long long k = first; k < end; k += step) {
				if (round > 0)
					mbar_wait(empty + 8 * slot, (round - 1) & 1u);
				const uint32_t nb = sr_piece_len(&g, k) * 16u;
				mbar_arrive_expect_tx(full + 8 * slot, nb);
				bulk_load_1d(data + slot * stage_bytes, buf + k * g.piece16, nb, full + 8 * slot);
				if (++slot == S)
					slot = 0, ++round;
			}
		}
		__syncwarp();
	} else {
		const unsigned nc = (unsigned)nwc * 32;
		for (unsigned long long k = first; k < end; k += step) {
			mbar_wait(full + 8 * slot, round & 1u);
			const unsigned len = sr_piece_len(&g, k);
			const uint4 *s = (const uint4 *)(smem + SR_BULK_BAR_BYTES + (size_t)slot * stage_bytes);
			unsigned w = threadIdx.x;
			for (; w + 3 * nc < len; w += 4 * nc) { /* 4 loads, then their folds */
				const uint4 a = s[w], b = s[w + nc], c = s[w + 2 * nc], d = s[w + 3 * nc];
				acc ^= fold4(a) ^ fold4(b) ^ fold4(c) ^ fold4(d);
			}
			for (; w < len; w += nc)
				acc ^= fold4(s[w]);
			mbar_arrive(empty + 8 * slot);
			if (++slot == S)
				slot = 0, ++round;
		}
	}
#endif
	sr_finish(acc, g, buf, sink, fold);
}

/* ---- host ---------------------------------------------------------------------------- */
static const int ld_threads[] = SR_LD_THREADS, ld_unroll[] = SR_LD_UNROLL;
static const int cp_threads[] = SR_CP_THREADS, cp_unroll[] = SR_CP_UNROLL, cp_stages[] = SR_CP_STAGES;
#define SR_COUNT(a) ((int)(sizeof(a) / sizeof((a)[0])))

static int sr_index(const int *list, int n, int x)
{
	for (int i = 0; i < n; i++)
		if (list[i] == x)
			return i;
	return -1;
}

/* [threads][unroll][hint], in the orders of SR_LD_THREADS / SR_LD_UNROLL / enum sr_hint */
#define SR_LD_H(T, U) {sr_ld_kernel<T, U, 0>, sr_ld_kernel<T, U, 1>, sr_ld_kernel<T, U, 2>}
#define SR_LD_U(T) {SR_LD_H(T, 4), SR_LD_H(T, 8), SR_LD_H(T, 16)}
static const sr_fn ld_kernels[3][3][3] = {SR_LD_U(128), SR_LD_U(256), SR_LD_U(512)};
/* [threads][unroll][stages], in the orders of SR_CP_* */
#define SR_CP_S(T, U) {sr_cpasync_kernel<T, U, 2>, sr_cpasync_kernel<T, U, 3>, sr_cpasync_kernel<T, U, 4>, sr_cpasync_kernel<T, U, 6>}
#define SR_CP_U(T) {SR_CP_S(T, 4), SR_CP_S(T, 8)}
static const sr_fn cp_kernels[2][2][4] = {SR_CP_U(128), SR_CP_U(256)};

static sr_fn sr_kernel_of(const struct sr_variant *v)
{
	int a, b, c;
	switch (v->kind) {
	case SR_NC4:
		return stream_read_kernel;
	case SR_LD:
		a = sr_index(ld_threads, SR_COUNT(ld_threads), v->threads);
		b = sr_index(ld_unroll, SR_COUNT(ld_unroll), v->unroll);
		c = v->hint;
		return a < 0 || b < 0 || c < 0 || c > 2 ? NULL : ld_kernels[a][b][c];
	case SR_CPASYNC:
		a = sr_index(cp_threads, SR_COUNT(cp_threads), v->threads);
		b = sr_index(cp_unroll, SR_COUNT(cp_unroll), v->unroll);
		c = sr_index(cp_stages, SR_COUNT(cp_stages), v->stages);
		return a < 0 || b < 0 || c < 0 ? NULL : cp_kernels[a][b][c];
	case SR_BULK:
		return sr_bulk_kernel;
	}
	return NULL;
}

/* What a variant needs on a device, asked once (CUDA calls cost host time
 * that a 1 MB read would show). */
struct sr_entry {
	struct sr_variant v;
	int dev, sms, resident, threads;
	size_t smem;
	sr_fn fn;
	const char *why; /* NULL: runs */
	cudaError_t err;
};
/* Raises fn's dynamic shared-memory limit to all the device allows: one
 * kernel (bulk's) serves variants of different sizes, so the limit must not
 * be one variant's. */
static cudaError_t sr_raise_smem(sr_fn fn, int optin)
{
	struct cudaFuncAttributes a;
	cudaError_t e = cudaFuncGetAttributes(&a, (const void *)fn);
	if (e == cudaSuccess)
		e = cudaFuncSetAttribute((const void *)fn, cudaFuncAttributeMaxDynamicSharedMemorySize,
					 optin - (int)a.sharedSizeBytes);
	return e;
}

#define SR_CACHE 256
static struct sr_entry sr_cache[SR_CACHE];
static int sr_cached;

static const struct sr_entry *sr_entry_of(const struct sr_variant *v)
{
	struct sr_entry e;
	int dev = 0, optin = 0, built = 0;

	if (cudaGetDevice(&dev) != cudaSuccess)
		return NULL;
	for (int i = 0; i < sr_cached; i++)
		if (sr_cache[i].dev == dev && memcmp(&sr_cache[i].v, v, sizeof *v) == 0)
			return &sr_cache[i];
	memset(&e, 0, sizeof e);
	e.v = *v;
	e.dev = dev;
	e.fn = sr_kernel_of(v);
	e.threads = sr_threads(v);
	e.smem = sr_smem_bytes(v);
	if (!e.fn) {
		e.why = "no kernel of this build has those values";
		e.err = cudaErrorNotSupported;
	} else if ((e.err = cudaDeviceGetAttribute(&e.sms, cudaDevAttrMultiProcessorCount, dev)) != cudaSuccess ||
		   (e.err = cudaDeviceGetAttribute(&optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, dev)) != cudaSuccess) {
		e.why = "the device's attributes could not be read";
	} else if ((v->kind == SR_BULK || (v->kind == SR_LD && v->prefetch > 0)) &&
		   ((e.err = cudaMemcpyFromSymbol(&built, sr_bulk_built, sizeof built)) != cudaSuccess || !built)) {
		e.why = "cp.async.bulk needs an sm_90 device image (GPU_ARCH=sm_90 or sm_90a)";
		if (e.err == cudaSuccess)
			e.err = cudaErrorNotSupported;
	} else if (e.smem + sizeof(uint32_t) * 32 > (size_t)optin) { /* + sr_finish's red[] */
		e.why = "more shared memory a CTA than the device allows";
		e.err = cudaErrorNotSupported;
	} else if (e.smem > 48 * 1024 && (e.err = sr_raise_smem(e.fn, optin)) != cudaSuccess) {
		e.why = "the kernel's shared-memory limit could not be raised";
	} else if ((e.err = cudaOccupancyMaxActiveBlocksPerMultiprocessor(&e.resident, (const void *)e.fn, e.threads,
									   e.smem)) != cudaSuccess) {
		e.why = "the occupancy could not be read";
	} else if (e.resident < 1 && v->kind != SR_NC4) {
		e.why = "no CTA of it fits on an SM";
		e.err = cudaErrorNotSupported;
	}
	if (e.err != cudaSuccess && e.err != cudaErrorNotSupported)
		(void)cudaGetLastError(); /* a failed call leaves its error behind */
	if (sr_cached == SR_CACHE)
		sr_cached = 0; /* a bench of more variants than this: start over */
	sr_cache[sr_cached] = e;
	return &sr_cache[sr_cached++];
}

extern "C" const char *stream_read_check(const struct sr_variant *v)
{
	const struct sr_entry *e = sr_entry_of(v);
	return !e ? "no CUDA device" : e->why;
}

extern "C" int stream_read_launch_variant(const struct sr_variant *v, const void *buf, size_t bytes, float *sink,
					  unsigned *fold, struct CUstream_st *stream, struct stream_read_info *info)
{
	const struct sr_entry *e;
	struct sr_geom g;

	if (info)
		memset(info, 0, sizeof *info);
	if (bytes == 0)
		return 0;
	if (((uintptr_t)buf & 15) != 0 || !sink)
		return (int)cudaErrorInvalidValue;
	if (!(e = sr_entry_of(v)))
		return (int)cudaErrorNoDevice;
	if (e->why)
		return (int)e->err;
	if (sr_plan(v, bytes, e->sms, e->resident, &g))
		return (int)cudaErrorInvalidValue;
	if (info) {
		info->grid = g.grid;
		info->threads = e->threads;
		info->resident = e->resident;
		info->smem_bytes = e->smem;
		info->piece_bytes = (unsigned long long)g.piece16 * 16;
	}
	e->fn<<<g.grid, e->threads, e->smem, (cudaStream_t)stream>>>((const uint4 *)buf, g, sink, fold);
	return (int)cudaGetLastError();
}

extern "C" const struct sr_variant *stream_read_dispatch(size_t bytes)
{
	static struct sr_variant rows[16];
	static int state[16]; /* 0 not parsed, 1 ok, -1 bad */
	size_t max;
	const char *spec;

	for (int i = 0; i < 16 && sr_dispatch_row(i, &max, &spec); i++) {
		if (bytes > max)
			continue;
		if (state[i] == 0)
			state[i] = sr_parse(spec, &rows[i]) ? -1 : 1;
		return state[i] > 0 ? &rows[i] : NULL;
	}
	return NULL;
}

extern "C" int stream_read_launch(const void *buf, size_t bytes, float *sink, struct CUstream_st *stream)
{
	static const struct sr_variant nc4 = {SR_NC4};
	const struct sr_variant *v = stream_read_dispatch(bytes);
	if (bytes == 0)
		return 0;
	if (!v)
		return (int)cudaErrorInvalidValue;
	/* the table is tuned for one card: where its variant cannot run (an
	 * sm_80 image has no bulk copies, a smaller GPU less shared memory),
	 * the kernel of before, which runs everywhere */
	if (v->kind != SR_NC4 && stream_read_check(v))
		v = &nc4;
	return stream_read_launch_variant(v, buf, bytes, sink, NULL, stream, NULL);
}
