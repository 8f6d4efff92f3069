/* ptx.h - the inline-PTX wrappers every kernel of kernels/ uses, written once.
 *
 * CUDA only (device code).  Conventions:
 *  - shared-memory operands are 32-bit shared-window addresses (smem_u32());
 *  - ldmatrix and mma fragments are uint32_t r[4] (destination first);
 *  - "memory" clobber on every instruction that reads, writes or orders
 *    memory that ordinary code may also touch, so the compiler neither
 *    caches nor moves ordinary loads and stores across it;
 *  - asm volatile on every instruction with a side effect or an
 *    asynchronous completion, and on the loads (issued as written); the
 *    pure register instructions (mma.sync, mapa, createpolicy) are plain asm;
 *  - a template parameter only where PTX needs an immediate (a cp.async or
 *    wgmma wait_group count, a named barrier's id and thread count) or an
 *    instruction's type (T = __nv_bfloat16 or __half).
 * Instructions by architecture: cp.async, ldmatrix, mma.sync sm_80+;
 * griddepcontrol, mbarrier tx-count, TMA, bulk copies (PTX_BULK), clusters
 * sm_90+; wgmma sm_90a (PTX_WGMMA, defined below).  pdl_trigger()/pdl_wait() are no-ops below
 * sm_90 so that one source builds for every GPU_ARCH.
 */
#ifndef PTX_H
#define PTX_H

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <stdint.h>

#define PTX_FN static __device__ __forceinline__

/* T = __half: the f16 form of an instruction; else bf16 */
template <typename T> struct ptx_is_half {
	enum { value = 0 };
};
template <> struct ptx_is_half<__half> {
	enum { value = 1 };
};

/* ---- addresses ------------------------------------------------------------ */
/* generic pointer into shared memory -> shared-window address */
PTX_FN uint32_t smem_u32(const void *p)
{
	return (uint32_t)__cvta_generic_to_shared(p);
}

/* ---- cp.async (16 bytes, L2 only: .cg) ------------------------------------- */
/* copies src_bytes (0 or 16) and zero-fills the rest of the 16 bytes */
PTX_FN void cp_async16(uint32_t dst, const void *src, int src_bytes)
{
	asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(dst), "l"(src),
		     "r"(src_bytes)
		     : "memory");
}

/* 16 bytes with an L2 cache policy (createpolicy_evict_first()) */
PTX_FN void cp_async16_hint(uint32_t dst, const void *src, uint64_t policy)
{
	asm volatile("cp.async.cg.shared.global.L2::cache_hint [%0], [%1], 16, %2;\n" ::"r"(dst),
		     "l"(src), "l"(policy)
		     : "memory");
}

PTX_FN void cp_async_commit(void)
{
	asm volatile("cp.async.commit_group;\n" ::: "memory");
}

/* wait until at most N of this thread's cp.async groups are pending */
template <int N> PTX_FN void cp_async_wait(void)
{
	asm volatile("cp.async.wait_group %0;\n" ::"n"(N) : "memory");
}

/* ---- global loads ---------------------------------------------------------- */
/* ld.global.nc: data that is read-only for the kernel's lifetime (for the
 * merge: the producer grid has completed).  The pointer is typed: a
 * const void * operand made nvcc derive stream_read's addresses differently. */
/* L2 policy: lines loaded with it are evicted first (data read once) */
PTX_FN uint64_t createpolicy_evict_first(void)
{
	uint64_t pol;
	asm("createpolicy.fractional.L2::evict_first.b64 %0, 1.0;\n" : "=l"(pol));
	return pol;
}

/* read-only (non-coherent) 16-byte load that does not allocate in L1;
 * PF256: that also asks L2 to fetch the whole 256-byte block around the
 * address (.L2::256B prefetch size, sm_75+): fewer, larger DRAM requests */
template <bool PF256 = false> PTX_FN uint4 ld_nc_na_v4(const uint4 *p)
{
	uint4 v;
#define PTX_LD_NC_NA(PF)                                                           \
	asm volatile("ld.global.nc.L1::no_allocate" PF ".v4.u32 {%0,%1,%2,%3}, [%4];\n" \
		     : "=r"(v.x), "=r"(v.y), "=r"(v.z), "=r"(v.w)                      \
		     : "l"(p)                                                          \
		     : "memory")
	if constexpr (PF256)
		PTX_LD_NC_NA(".L2::256B");
	else
		PTX_LD_NC_NA("");
#undef PTX_LD_NC_NA
	return v;
}

/* the same with an L2 cache policy */
PTX_FN uint4 ld_nc_na_hint_v4(const uint4 *p, uint64_t pol)
{
	uint4 v;
	asm volatile("ld.global.nc.L1::no_allocate.L2::cache_hint.v4.u32 {%0,%1,%2,%3}, [%4], %5;\n"
		     : "=r"(v.x), "=r"(v.y), "=r"(v.z), "=r"(v.w)
		     : "l"(p), "l"(pol)
		     : "memory");
	return v;
}

/* two floats, read-only, no L1 allocation, L2 cache policy */
PTX_FN float2 ld_nc_na_hint_f2(const float *p, uint64_t pol)
{
	float2 v;
	asm volatile("ld.global.nc.L1::no_allocate.L2::cache_hint.v2.f32 {%0,%1}, [%2], %3;\n"
		     : "=f"(v.x), "=f"(v.y)
		     : "l"(p), "l"(pol)
		     : "memory");
	return v;
}

/* ---- gpu-scope synchronization in global memory ---------------------------- */
PTX_FN unsigned ld_acquire_gpu_u32(const unsigned *p)
{
	unsigned v;
	asm volatile("ld.acquire.gpu.global.u32 %0, [%1];\n" : "=r"(v) : "l"(p) : "memory");
	return v;
}

/* returns the old value */
PTX_FN unsigned atom_add_relaxed_gpu_u32(unsigned *p, unsigned v)
{
	unsigned r;
	asm volatile("atom.relaxed.gpu.global.add.u32 %0, [%1], %2;\n"
		     : "=r"(r)
		     : "l"(p), "r"(v)
		     : "memory");
	return r;
}

PTX_FN void fence_acq_rel_gpu(void)
{
	asm volatile("fence.acq_rel.gpu;\n" ::: "memory");
}

/* ---- programmatic dependent launch (griddepcontrol, sm_90) ----------------- */
/* trigger: the next kernel of the stream may be scheduled now (its CTAs then
 * wait in pdl_wait); wait: every kernel before this one in the stream has
 * completed and its memory is visible.  No-ops when the launch has no PDL
 * attribute, and below sm_90. */
PTX_FN void pdl_trigger(void)
{
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
	asm volatile("griddepcontrol.launch_dependents;\n" ::: "memory");
#endif
}

PTX_FN void pdl_wait(void)
{
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
	asm volatile("griddepcontrol.wait;\n" ::: "memory");
#endif
}

/* ---- named barriers --------------------------------------------------------- */
/* ID 1..15 (0 is __syncthreads), NT threads (a multiple of 32) take part:
 * immediates, so ptxas reserves only the ids used */
template <int ID, int NT> PTX_FN void bar_sync(void)
{
	asm volatile("bar.sync %0, %1;\n" ::"n"(ID), "n"(NT) : "memory");
}

template <int ID, int NT> PTX_FN void bar_arrive(void)
{
	asm volatile("bar.arrive %0, %1;\n" ::"n"(ID), "n"(NT) : "memory");
}

/* ---- ldmatrix (four 8x8 b16 matrices) -------------------------------------- */
PTX_FN void ldsm_x4(uint32_t r[4], uint32_t addr)
{
	asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
		     : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
		     : "r"(addr)
		     : "memory");
}

PTX_FN void ldsm_x4_t(uint32_t r[4], uint32_t addr)
{
	asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
		     : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
		     : "r"(addr)
		     : "memory");
}

/* ---- mma.sync m16n8k16, fp32 accumulators ----------------------------------- */
/* c += a * b; T = __nv_bfloat16 or __half picks the input type */
template <typename T>
PTX_FN void mma_m16n8k16(float c[4], const uint32_t a[4], uint32_t b0, uint32_t b1)
{
#define PTX_MMA(TY)                                                               \
	asm("mma.sync.aligned.m16n8k16.row.col.f32." TY "." TY ".f32 "                \
	    "{%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"                 \
	    : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])                          \
	    : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1))
	if constexpr (ptx_is_half<T>::value)
		PTX_MMA("f16");
	else
		PTX_MMA("bf16");
#undef PTX_MMA
}

/* N fp32 accumulator tiles in the m16n8 layout (wgmma's m64 fragment has it
 * too): elements 0-1 are row g, 2-3 row g + 8; row g times a0, g + 8 times
 * a1 (the online softmax's output rescale) */
template <int N>
PTX_FN void acc_scale_rows(float (&acc)[N][4], float a0, float a1)
{
#pragma unroll
	for (int t = 0; t < N; ++t) {
		acc[t][0] *= a0;
		acc[t][1] *= a0;
		acc[t][2] *= a1;
		acc[t][3] *= a1;
	}
}

/* two floats -> one register of two T (round to nearest; x in the low half):
 * an mma A fragment or a packed 16-bit store */
template <typename T> PTX_FN uint32_t pack2(float x, float y);
template <> __device__ __forceinline__ uint32_t pack2<__nv_bfloat16>(float x, float y)
{
	__nv_bfloat162 h = __floats2bfloat162_rn(x, y);
	return *(uint32_t *)&h;
}
template <> __device__ __forceinline__ uint32_t pack2<__half>(float x, float y)
{
	__half2 h = __floats2half2_rn(x, y);
	return *(uint32_t *)&h;
}

/* 2^x, the SFU's approximation (MUFU.EX2, flush-to-zero): exp(x) is
 * ex2_approx(x * log2(e)), so a scale folds into one FFMA before it */
PTX_FN float ex2_approx(float x)
{
	float y;
	asm("ex2.approx.ftz.f32 %0, %1;" : "=f"(y) : "f"(x));
	return y;
}

/* A row of an m16n8k16 (or wgmma) accumulator lives in the 4 lanes of a quad
 * (lane & ~3 .. lane | 3): its max and sum over those lanes, in every lane. */
static __device__ __forceinline__ float quad_max(float x)
{
	x = fmaxf(x, __shfl_xor_sync(0xffffffffu, x, 1));
	return fmaxf(x, __shfl_xor_sync(0xffffffffu, x, 2));
}

static __device__ __forceinline__ float quad_sum(float x)
{
	x += __shfl_xor_sync(0xffffffffu, x, 1);
	return x + __shfl_xor_sync(0xffffffffu, x, 2);
}

/* ---- async proxy, mbarrier, TMA (sm_90) ------------------------------------ */
/* order this thread's generic-proxy shared-memory writes (st.shared,
 * cp.async) before later async-proxy reads (wgmma, TMA) */
PTX_FN void fence_proxy_async_smem(void)
{
	asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory");
}

PTX_FN void mbar_init(uint32_t bar, unsigned count)
{
	asm volatile("mbarrier.init.shared::cta.b64 [%0], %1;\n" ::"r"(bar), "r"(count) : "memory");
}

/* makes the mbarrier inits visible to the async proxy and the cluster */
PTX_FN void fence_mbar_init(void)
{
	asm volatile("fence.mbarrier_init.release.cluster;\n" ::: "memory");
}

/* one arrival that also expects tx bytes of asynchronous copies */
PTX_FN void mbar_arrive_expect_tx(uint32_t bar, uint32_t bytes)
{
	asm volatile("mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;\n" ::"r"(bar), "r"(bytes)
		     : "memory");
}

/* one plain arrival (a consumer releasing a stage to its producer) */
PTX_FN void mbar_arrive(uint32_t bar)
{
	asm volatile("mbarrier.arrive.shared::cta.b64 _, [%0];\n" ::"r"(bar) : "memory");
}

/* spins until the phase of the given parity has completed */
PTX_FN void mbar_wait(uint32_t bar, uint32_t parity)
{
	asm volatile("{\n.reg .pred P1;\nWAIT_%=:\n"
		     "mbarrier.try_wait.parity.shared::cta.b64 P1, [%0], %1;\n"
		     "@!P1 bra WAIT_%=;\n}\n" ::"r"(bar),
		     "r"(parity)
		     : "memory");
}

/* tensor map (a CUtensorMap kernel parameter, __grid_constant__) into cache */
PTX_FN void prefetch_tensormap(const void *map)
{
	asm volatile("prefetch.tensormap [%0];\n" ::"l"((uint64_t)map) : "memory");
}

/* TMA: the box at coordinates (x, y) of a 2-D tensor map into shared memory
 * at dst, completing tx bytes on the mbarrier bar */
PTX_FN void tma_load_2d(uint32_t dst, const void *map, int x, int y, uint32_t bar)
{
	asm volatile("cp.async.bulk.tensor.2d.shared::cluster.global.tile.mbarrier::complete_tx::bytes"
		     " [%0], [%1, {%2, %3}], [%4];\n" ::"r"(dst),
		     "l"((uint64_t)map), "r"(x), "r"(y), "r"(bar)
		     : "memory");
}

/* ---- bulk copies, 1-D (cp.async.bulk, sm_90; no tensor map) ----------------- */
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
#define PTX_BULK 1
#else
#define PTX_BULK 0
#endif

#if PTX_BULK
/* bytes (a multiple of 16; src and dst 16-byte aligned) from global src into
 * shared memory at dst by the copy engine, completing tx bytes on the
 * mbarrier bar (expect them first: mbar_arrive_expect_tx) */
PTX_FN void bulk_load_1d(uint32_t dst, const void *src, uint32_t bytes, uint32_t bar)
{
	asm volatile("cp.async.bulk.shared::cluster.global.mbarrier::complete_tx::bytes [%0], [%1], %2, [%3];\n" ::"r"(dst),
		     "l"(src), "r"(bytes), "r"(bar)
		     : "memory");
}

/* asks L2 to fetch bytes (a multiple of 16) at global src; no completion */
PTX_FN void bulk_prefetch_l2(const void *src, uint32_t bytes)
{
	asm volatile("cp.async.bulk.prefetch.L2.global [%0], %1;\n" ::"l"(src), "r"(bytes) : "memory");
}
#endif /* PTX_BULK */

/* ---- thread-block clusters and distributed shared memory (sm_90) ------------ */
/* a cluster-wide barrier: release this CTA's memory, acquire the others' */
PTX_FN void cluster_sync(void)
{
	asm volatile("barrier.cluster.arrive.release.aligned;\n" ::: "memory");
	asm volatile("barrier.cluster.wait.acquire.aligned;\n" ::: "memory");
}

/* this CTA's shared-window address -> the same offset in CTA `rank` */
PTX_FN uint32_t mapa_shared(uint32_t addr, uint32_t rank)
{
	uint32_t r;
	asm("mapa.shared::cluster.u32 %0, %1, %2;\n" : "=r"(r) : "r"(addr), "r"(rank));
	return r;
}

PTX_FN float4 ld_shared_cluster_f4(uint32_t addr)
{
	float4 v;
	asm volatile("ld.shared::cluster.v4.f32 {%0,%1,%2,%3}, [%4];\n"
		     : "=f"(v.x), "=f"(v.y), "=f"(v.z), "=f"(v.w)
		     : "r"(addr)
		     : "memory");
	return v;
}

PTX_FN float2 ld_shared_cluster_f2(uint32_t addr)
{
	float2 v;
	asm volatile("ld.shared::cluster.v2.f32 {%0,%1}, [%2];\n"
		     : "=f"(v.x), "=f"(v.y)
		     : "r"(addr)
		     : "memory");
	return v;
}

/* ---- wgmma (sm_90a) ----------------------------------------------------------- */
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
#define PTX_WGMMA 1
#else
#define PTX_WGMMA 0
#endif

#if PTX_WGMMA
/* shared-memory matrix descriptor, 128-byte swizzle: start address, leading
 * and stride byte offsets (16-byte units) */
PTX_FN uint64_t wg_desc(uint32_t saddr, uint32_t lbo, uint32_t sbo)
{
	return (uint64_t)((saddr & 0x3FFFFu) >> 4) | ((uint64_t)((lbo & 0x3FFFFu) >> 4) << 16) |
	       ((uint64_t)((sbo & 0x3FFFFu) >> 4) << 32) | (1ull << 62);
}

/* x as lane 0 holds it: the same value for a warp-uniform x, but one the
 * compiler knows is warp-uniform (CUTLASS's idiom), so that values built
 * on it -- wgmma descriptors -- can live in uniform registers.  Every lane
 * of the warp must execute it. */
PTX_FN uint32_t warp_uniform(uint32_t x)
{
	return __shfl_sync(0xffffffffu, x, 0);
}

/* the descriptor of the address `bytes` past desc's: the start address field
 * (bits 0-13, the address / 16) never carries, shared memory being < 256 KiB,
 * so a 32-bit add on the low word (no descriptor rebuilt per wgmma) */
PTX_FN uint64_t wg_desc_add(uint64_t desc, uint32_t bytes)
{
	return (desc & 0xFFFFFFFF00000000ull) | (uint32_t)((uint32_t)desc + (bytes >> 4));
}

PTX_FN void wg_fence(void)
{
	asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory");
}

PTX_FN void wg_commit(void)
{
	asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory");
}

/* wait until at most N of this warpgroup's wgmma groups are pending */
template <int N> PTX_FN void wg_wait(void)
{
	asm volatile("wgmma.wait_group.sync.aligned %0;\n" ::"n"(N) : "memory");
}

/* d[4][4] (+)= A(smem, K-major) x B(smem, K-major), m64n32k16; accumulate = 0
 * overwrites d.  T = __nv_bfloat16 or __half. */
template <typename T>
PTX_FN void wgmma_m64n32k16_ss(float (&d)[4][4], uint64_t da, uint64_t db, int accumulate)
{
#define PTX_WG_QK(TY)                                                                                            \
	asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %18, 0;\n"                                                \
		     "wgmma.mma_async.sync.aligned.m64n32k16.f32." TY "." TY " "                                  \
		     "{%0,%1,%2,%3,%4,%5,%6,%7,%8,%9,%10,%11,%12,%13,%14,%15}, %16, %17, p, 1, 1, 0, 0;\n}\n"      \
		     : "+f"(d[0][0]), "+f"(d[0][1]), "+f"(d[0][2]), "+f"(d[0][3]), "+f"(d[1][0]), "+f"(d[1][1]),  \
		       "+f"(d[1][2]), "+f"(d[1][3]), "+f"(d[2][0]), "+f"(d[2][1]), "+f"(d[2][2]), "+f"(d[2][3]),  \
		       "+f"(d[3][0]), "+f"(d[3][1]), "+f"(d[3][2]), "+f"(d[3][3])                                 \
		     : "l"(da), "l"(db), "r"(accumulate)                                                          \
		     : "memory")
	if constexpr (ptx_is_half<T>::value)
		PTX_WG_QK("f16");
	else
		PTX_WG_QK("bf16");
#undef PTX_WG_QK
}

/* the 32 fp32 accumulators of an m64n64 wgmma tile, X[8][4], as asm in/out operands %0..%31 */
#define PTX_ACC32_OUT(X)                                                                                         \
	"+f"(X[0][0]), "+f"(X[0][1]), "+f"(X[0][2]), "+f"(X[0][3]), "+f"(X[1][0]), "+f"(X[1][1]), "+f"(X[1][2]),  \
		"+f"(X[1][3]), "+f"(X[2][0]), "+f"(X[2][1]), "+f"(X[2][2]), "+f"(X[2][3]), "+f"(X[3][0]),         \
		"+f"(X[3][1]), "+f"(X[3][2]), "+f"(X[3][3]), "+f"(X[4][0]), "+f"(X[4][1]), "+f"(X[4][2]),         \
		"+f"(X[4][3]), "+f"(X[5][0]), "+f"(X[5][1]), "+f"(X[5][2]), "+f"(X[5][3]), "+f"(X[6][0]),         \
		"+f"(X[6][1]), "+f"(X[6][2]), "+f"(X[6][3]), "+f"(X[7][0]), "+f"(X[7][1]), "+f"(X[7][2]),         \
		"+f"(X[7][3])

/* d[8][4] (+)= A(smem, K-major) x B(smem, K-major), m64n64k16; accumulate = 0
 * overwrites d.  T = __nv_bfloat16 or __half. */
template <typename T>
PTX_FN void wgmma_m64n64k16_ss(float (&d)[8][4], uint64_t da, uint64_t db, int accumulate)
{
#define PTX_WG_QK64(TY)                                                                                          \
	asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %34, 0;\n"                                                \
		     "wgmma.mma_async.sync.aligned.m64n64k16.f32." TY "." TY " "                                  \
		     "{%0,%1,%2,%3,%4,%5,%6,%7,%8,%9,%10,%11,%12,%13,%14,%15,"                                    \
		     "%16,%17,%18,%19,%20,%21,%22,%23,%24,%25,%26,%27,%28,%29,%30,%31}, %32, %33, p, 1, 1, 0, 0;\n}\n" \
		     : PTX_ACC32_OUT(d)                                                                         \
		     : "l"(da), "l"(db), "r"(accumulate)                                                          \
		     : "memory")
	if constexpr (ptx_is_half<T>::value)
		PTX_WG_QK64("f16");
	else
		PTX_WG_QK64("bf16");
#undef PTX_WG_QK64
}

/* o[8 tiles][4] += A(registers) x B(smem, N-major), m64n64k16 */
template <typename T>
PTX_FN void wgmma_m64n64k16_rs(float (*o)[4], const uint32_t (&a)[4], uint64_t db)
{
#define PTX_WG_PV(TY)                                                                                            \
	asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %37, 0;\n"                                                \
		     "wgmma.mma_async.sync.aligned.m64n64k16.f32." TY "." TY " "                                  \
		     "{%0,%1,%2,%3,%4,%5,%6,%7,%8,%9,%10,%11,%12,%13,%14,%15,"                                    \
		     "%16,%17,%18,%19,%20,%21,%22,%23,%24,%25,%26,%27,%28,%29,%30,%31}, "                         \
		     "{%32,%33,%34,%35}, %36, p, 1, 1, 1;\n}\n"                                                  \
		     : PTX_ACC32_OUT(o)                                                                         \
		     : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(db), "r"(1)                                \
		     : "memory")
	if constexpr (ptx_is_half<T>::value)
		PTX_WG_PV("f16");
	else
		PTX_WG_PV("bf16");
#undef PTX_WG_PV
}
#endif /* PTX_WGMMA */

#endif
