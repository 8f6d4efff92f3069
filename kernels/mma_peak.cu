/* mma_peak.cu - dense bf16 tensor-core loop: the measured compute ceiling
 * (see mma_peak.h).
 *
 * A grid of SMs x resident CTAs (MP_THREADS threads each; 1 a SM on the
 * wgmma path), every warp issuing tensor-core MMAs
 * back to back on operands that never leave the SM, fp32 accumulators in
 * registers; nothing else in the loop.  The FLOPs are counted as the
 * instructions' M x N x K x 2, so the rate is directly comparable with
 * the datasheet's dense bf16 figure and with the `tflops` column.
 *
 *   sm_90a (wgmma): each warpgroup runs `wgmma.mma_async m64n256k16
 *     .f32.bf16.bf16` with both operands in shared memory (A 64x64 and B
 *     256x64 bf16, K-major, 128-byte swizzle: 40 KiB per CTA, one copy read
 *     by every warpgroup) into one 64x256 fp32 accumulator (128 registers a
 *     thread).  An iteration is 4 wgmmas (k = 0, 16, 32, 48: 2 MFLOP a
 *     warpgroup) in one commit group; up to 2 groups are in flight
 *     (wgmma.wait_group 1), the shape and pipelining of CUTLASS's Hopper
 *     GEMM main loop without its loads.  m64n256 is the widest wgmma: the A
 *     operand is read once per 256 columns, so shared-memory bandwidth
 *     (80 B/clk of the 128 the SM has) is not the limit either.
 *   other builds (sm_80, plain sm_90): `mma.sync m16n8k16` with A and B
 *     fragments in registers (loaded once) and MP_NACC = 16 independent
 *     accumulators a warp, so the tensor pipe always has work while each
 *     MMA's ~30-cycle latency runs (8 warps a CTA, 3 CTAs a SM at 75
 *     registers: 6 warps and 96 independent MMAs a sub-partition).
 *
 * Operands are seeded random bf16 values (mp_random_bf16x2), not zeros.
 *
 * Measured on an H200 (132 SMs, 1980 MHz peak clock; CUDA 13.0 runtime
 * and driver; with +-2^-8 operands, before they were made random): wgmma
 * 937-939 TFLOP/s median over 2.4 ms launches (best launch 970), 932
 * TFLOP/s sustained over 2.5 s at 1905-1920 MHz under the power cap; the
 * same with 1 warpgroup x 3 CTAs/SM or 3 warpgroups a CTA, so 2 is not the
 * limit.  mma.sync (the plain sm_90 build): 637 TFLOP/s.  SASS of the
 * sm_90a loop: WARPGROUP.ARRIVE, 4 x HGMMA.64x256x16.F32.BF16, DEPBAR.LE
 * gsb0 1, branch.  Registers: 154 (sm_90a; 41984 B shared), 75 (mma.sync),
 * no spills.
 *
 * The kernel cannot be optimized away: the MMAs are asm whose outputs feed
 * the next iteration (wgmma: asm volatile), the mma.sync chains start from
 * distinct values (so no two are the same expression), and every thread's
 * accumulator sum is reduced per warp and atomically added to sink[1].
 * The loop count is a kernel argument.  The device image says which path
 * it has (mp_wgmma_built) and how many FLOPs a CTA does per iteration
 * (mp_cta_flop), so the host never assumes what the compiler built.
 */
#include <cuda_runtime.h>
#include <limits.h>
#include <stdint.h>

#include "ptx.h"
#include "mma_peak.h"

#ifndef MP_WG
#define MP_WG 2                   /* warpgroups a CTA (the wgmma path) */
#endif
#define MP_THREADS (128 * MP_WG)
#ifndef MP_NACC
#define MP_NACC 16                /* independent m16n8 accumulators a warp (mma.sync path) */
#endif
#define MP_A_BYTES (64 * 128)     /* A: 64 rows of 64 bf16 */
#define MP_B_BYTES (256 * 128)    /* B: 256 rows of 64 bf16 */

__device__ int mp_wgmma_built = PTX_WGMMA;
/* FLOPs one CTA does per loop iteration, as this device image does them */
__device__ double mp_cta_flop = PTX_WGMMA ? MP_WG * 4.0 * (2.0 * 64 * 256 * 16)
					  : (MP_THREADS / 32) * (double)MP_NACC * (2.0 * 16 * 8 * 16);

/* Two seeded random bf16 values in +-[0.5, 2) (random sign, exponent and
 * mantissa), packed: realistic operands, since a tensor core's power (and
 * so its clock under the power cap) depends on how many bits toggle, and
 * zeros or constants would flatter the ceiling. */
static __device__ __forceinline__ uint32_t mp_random_bf16x2(uint32_t i)
{
	uint32_t h = (i + 1u) * 0x9E3779B1u;
	h ^= h >> 15;
	h *= 0x85EBCA77u;
	h ^= h >> 13;
	h *= 0xC2B2AE3Du;
	h ^= h >> 16;
	const uint32_t lo = (h & 0x8000u) | ((126u + ((h >> 14) & 1u)) << 7) | (h & 0x7fu);
	const uint32_t hi = ((h >> 16) & 0x8000u) | ((126u + ((h >> 30) & 1u)) << 7) | ((h >> 16) & 0x7fu);
	return lo | hi << 16;
}

#if PTX_WGMMA
/* d += A x B, m64n256k16, A and B from shared memory through descriptors
 * (K-major both), fp32 accumulators: the 64x256 tile's 128 per thread */
#define MP_F4(i) "+f"(d[i]), "+f"(d[i + 1]), "+f"(d[i + 2]), "+f"(d[i + 3])
#define MP_F16(i) MP_F4(i), MP_F4(i + 4), MP_F4(i + 8), MP_F4(i + 12)
PTX_FN void mp_wgmma_m64n256k16(float (&d)[128], uint64_t da, uint64_t db)
{
	asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %130, 0;\n"
		     "wgmma.mma_async.sync.aligned.m64n256k16.f32.bf16.bf16 {"
		     "%0,%1,%2,%3,%4,%5,%6,%7,%8,%9,%10,%11,%12,%13,%14,%15,"
		     "%16,%17,%18,%19,%20,%21,%22,%23,%24,%25,%26,%27,%28,%29,%30,%31,"
		     "%32,%33,%34,%35,%36,%37,%38,%39,%40,%41,%42,%43,%44,%45,%46,%47,"
		     "%48,%49,%50,%51,%52,%53,%54,%55,%56,%57,%58,%59,%60,%61,%62,%63,"
		     "%64,%65,%66,%67,%68,%69,%70,%71,%72,%73,%74,%75,%76,%77,%78,%79,"
		     "%80,%81,%82,%83,%84,%85,%86,%87,%88,%89,%90,%91,%92,%93,%94,%95,"
		     "%96,%97,%98,%99,%100,%101,%102,%103,%104,%105,%106,%107,%108,%109,%110,%111,"
		     "%112,%113,%114,%115,%116,%117,%118,%119,%120,%121,%122,%123,%124,%125,%126,%127}, "
		     "%128, %129, p, 1, 1, 0, 0;\n}\n"
		     : MP_F16(0), MP_F16(16), MP_F16(32), MP_F16(48), MP_F16(64), MP_F16(80), MP_F16(96),
		       MP_F16(112)
		     : "l"(da), "l"(db), "r"(1)
		     : "memory");
}
#undef MP_F16
#undef MP_F4
#endif

__global__ void __launch_bounds__(MP_THREADS, 1) mma_peak_kernel(int iters, float *sink)
{
	float sum = 0.f;
#if PTX_WGMMA
	/* A then B, each a whole number of 1024-byte swizzle atoms (8 rows of
	 * 128 B), from a 1024-aligned base: 1 KiB of slack to align it */
	__shared__ __align__(1024) unsigned char raw[MP_A_BYTES + MP_B_BYTES + 1024];
	const uint32_t base = smem_u32(raw), sa = (base + 1023u) & ~1023u, sb = sa + MP_A_BYTES;
	for (int i = threadIdx.x; i < (MP_A_BYTES + MP_B_BYTES + 1024) / 4; i += MP_THREADS)
		((uint32_t *)raw)[i] = mp_random_bf16x2((uint32_t)i);
	fence_proxy_async_smem(); /* these generic-proxy writes, before wgmma's async-proxy reads */
	__syncthreads();

	float d[128];
#pragma unroll
	for (int i = 0; i < 128; ++i)
		d[i] = 0.f;
#pragma unroll 1
	for (int it = 0; it < iters; ++it) {
		wg_fence(); /* as CUTLASS's main loop: the accumulators' registers, before this group */
#pragma unroll
		for (int ks = 0; ks < 4; ++ks) /* k = 16 * ks: 32 bytes into the 128-byte rows */
			mp_wgmma_m64n256k16(d, wg_desc(sa + ks * 32, 16, 1024), wg_desc(sb + ks * 32, 16, 1024));
		wg_commit();
		wg_wait<1>();
	}
	wg_wait<0>();
#pragma unroll
	for (int i = 0; i < 128; ++i) {
		asm volatile("" : "+f"(d[i])::"memory"); /* read only after the wait */
		sum += d[i];
	}
#else
	uint32_t a[4];
#pragma unroll
	for (int j = 0; j < 4; ++j)
		a[j] = mp_random_bf16x2(threadIdx.x * 8u + j);
	const uint32_t b0 = mp_random_bf16x2(threadIdx.x * 8u + 4), b1 = mp_random_bf16x2(threadIdx.x * 8u + 5);
	float c[MP_NACC][4];
#pragma unroll
	for (int j = 0; j < MP_NACC; ++j)
#pragma unroll
		for (int q = 0; q < 4; ++q)
			c[j][q] = (float)(4 * j + q); /* distinct: no two chains are one expression */
#pragma unroll 1
	for (int it = 0; it < iters; ++it) {
#pragma unroll
		for (int j = 0; j < MP_NACC; ++j)
			mma_m16n8k16<__nv_bfloat16>(c[j], a, b0, b1);
	}
#pragma unroll
	for (int j = 0; j < MP_NACC; ++j)
		sum += (c[j][0] + c[j][1]) + (c[j][2] + c[j][3]);
#endif
#pragma unroll
	for (int o = 16; o > 0; o >>= 1)
		sum += __shfl_xor_sync(0xffffffffu, sum, o);
	if ((threadIdx.x & 31) == 0)
		atomicAdd(sink + 1, sum);
}

extern "C" int mma_peak_plan(struct mma_peak_plan *p)
{
	static struct mma_peak_plan cache[16];
	int dev = 0, sms = 0, occ = 0, wg = 0;
	double cta_flop = 0;
	cudaError_t e = cudaGetDevice(&dev);
	if (e != cudaSuccess)
		return (int)e;
	if (dev < 16 && cache[dev].grid) {
		*p = cache[dev];
		return 0;
	}
	if ((e = cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, dev)) != cudaSuccess ||
	    (e = cudaOccupancyMaxActiveBlocksPerMultiprocessor(&occ, mma_peak_kernel, MP_THREADS, 0)) != cudaSuccess ||
	    (e = cudaMemcpyFromSymbol(&wg, mp_wgmma_built, sizeof wg)) != cudaSuccess ||
	    (e = cudaMemcpyFromSymbol(&cta_flop, mp_cta_flop, sizeof cta_flop)) != cudaSuccess)
		return (int)e;
	if (occ < 1)
		return (int)cudaErrorInvalidConfiguration;
	p->grid = sms * occ;
	p->threads = MP_THREADS;
	p->flop_per_iter = cta_flop * p->grid;
	p->path = wg ? "wgmma m64n256k16" : "mma.sync m16n8k16";
	if (dev < 16)
		cache[dev] = *p;
	return 0;
}

extern "C" int mma_peak_launch(const struct mma_peak_plan *p, long iters, float *sink, struct CUstream_st *stream)
{
	if (!sink || iters < 0 || iters > INT_MAX || p->grid < 1)
		return (int)cudaErrorInvalidValue;
	mma_peak_kernel<<<p->grid, MP_THREADS, 0, (cudaStream_t)stream>>>((int)iters, sink);
	return (int)cudaGetLastError();
}
