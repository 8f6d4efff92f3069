/* prefix_stream.cu - "prefix_stream": shared-prefix decode attention that
 * streams the prefix K/V once, at the device's read bandwidth where the
 * config is large enough to fill the chip.
 *
 * Contract: kernels/attn.h (layouts, check/workspace/launch); the one
 * online-softmax merge rule is softmax_merge_f from kernels/softmax_merge.h
 * (per 32-key tile, across key groups, across splits).
 *
 * ---------------------------------------------------------------------------
 * Design (v6)
 *   grid      n_heads x S CTAs; CTA (h, j) owns the contiguous chunk range
 *             [j*C/S, (j+1)*C/S) of head h and ALL n_seqs queries, so every
 *             K/V byte is read from DRAM exactly once.  S = min(C, SMs/H)
 *             (one CTA per SM; unsplit when H >= SMs), see plan_splits(),
 *             or a smaller S that lets the head's CTAs form one cluster
 *             (ps_make_plan).  Split grids launch one CTA per SM
 *             (PS_SPREAD_SMEM).
 *   pipeline  one stage = one chunk of one head = K tile + V tile, each a
 *             contiguous 16 KiB.  sm_90a: TMA (cp.async.bulk.tensor, a 2-D
 *             map of k/v as [rows][128], 64x64 boxes, 128-byte swizzle) on
 *             one mbarrier per stage, thread 0 issuing; 3 stages (4 when
 *             n_seqs > 64).  sm_90 fallback: cp.async 16 B, XOR swizzle.
 *   math      sm_90a: warpgroup MMA.  A warpgroup owns 64 query rows and 32
 *             keys per step: S = Q K^T with wgmma m64n32k16 (Q and K from
 *             shared memory), online softmax in registers, O += P V with
 *             wgmma m64n64k16 (P from registers, V N-major from shared
 *             memory).  n_seqs <= 64: 2 warpgroups split each chunk's 64 keys
 *             (256 threads, 112 KiB, 2 CTAs/SM); <= 128: 4 warpgroups;
 *             <= 256: 4 warpgroups x 64 rows, 2 steps per chunk.  Fallback
 *             (sm_90): mma.sync m16n8k16 + ldmatrix, a warp per 16 rows.
 *             bf16 and fp16 in, fp32 accumulate, P rounded to the input type.
 *   merges    key groups of a CTA through shared memory; splits: S <= 8
 *             as a thread-block cluster exchanging (m, l, o) through
 *             distributed shared memory (no workspace) where all H clusters
 *             fit on the chip at once; else through fp32 partials in the
 *             workspace and a per-head generation counter (one wave, so
 *             waiting is safe), each CTA then merging a slice of the query
 *             rows.  One launch per forward pass.
 *   launch    programmatic dependent launch where it pays (small or spread
 *             grids, short CTAs): CTAs trigger the next grid at entry and
 *             touch global memory only after griddepcontrol.wait, so the
 *             next launch's start overlaps this one's tail.  Cooperative
 *             launch for the global meet only without PDL.
 *
 * Bytes (bf16/fp16, per forward pass)
 *   K/V read       blocks * 32 KiB (once)
 *   Q read         n_seqs * n_heads * 256 B per split (L2)
 *   partials       S >= 3: n_heads * S * n_seqs * 520 B written + read (L2)
 *   out written    n_seqs * n_heads * 512 B
 *   floor          K/V bytes / ~3.0 TB/s: 16 blocks 0.5 MB -> 0.17 us
 *                  (latency-bound), 4096 blocks 134 MB -> 45 us, 65536
 *                  blocks 2.15 GB -> 716 us.
 *
 * Limits: chunk_size 64, d_head 128, n_seqs 1..256 (check() says so).  The
 * global-merge per-head counters are module globals whose count returns to
 * zero at the end of each launch: do not run two such launches of this
 * kernel at once (different streams) on one device.  workspace() and
 * launch() must see the same current device.  Tuning hooks (not part of
 * the contract): PREFIX_STREAM_SPLITS=N, prefix_stream_force_splits/_path/
 * _merge/_pdl/_spread(), prefix_stream_plan().  prefix_stream_force_pdl(2)
 * (K/V loads before the grid wait) is valid only where the kernel launched
 * just before in the stream never writes k/v.
 *
 * ---------------------------------------------------------------------------
 * Measured (H100 80GB HBM3, bf16, L2 cold, one launch per forward pass;
 * results/h100/, made by make sweeps KERNELS='native tk prefix_stream'
 * PRESET=seed N_SEQS='32 64'):  n_seqs 32 / 64: 16 blocks 0.0066 / 0.0073
 * ms, 4096 blocks 0.0522 / 0.0536 ms (87 / 85% of the streaming-read
 * ceiling), 65536 blocks 0.7126 / 0.7171 ms (98%).  H200 (results/h200/,
 * v7c): 4096 blocks 0.0463 / 0.0474 ms (70 / 68%), 65536 blocks 0.5367 /
 * 0.5386 ms (89 / 88%); 8-11% slower than before the chunk tables at 64-128
 * heads, cause open (docs/kernels/prefix_stream.md, v7).
 *
 * History: v1 cp.async + mma.sync with global partials, v3 TMA + wgmma, v5
 * S = SMs/H splits with a cluster merge, v6 (current) PDL, one CTA per SM and
 * cluster merges where all clusters fit (16 blocks 10.2 -> 7.3 us), v7 K/V
 * through the chunk pool's tables (attn_common_chunks).  The
 * version log with predictions and measurements: docs/kernels/prefix_stream.md.
 */
#include <cuda.h> /* CUtensorMap (types only: the encoder is fetched at run time) */
#include <cuda_runtime.h>
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "attn.h"
#include "ptx.h"
#include "softmax_merge.h"

#define PS_CHUNK 64
#define PS_D 128
#define PS_TILE_BYTES (PS_CHUNK * PS_D * 2)   /* 16 KiB: one chunk of K (or V) of one head */
#define PS_STAGE_BYTES (2 * PS_TILE_BYTES)    /* K + V */

#define PS_MAX_SEQS 256
#define PS_MAX_SPLIT_HEADS 4096               /* heads that may use S > 1 */
#define PS_SCRATCH_WORDS 68                   /* m[2] l[2] o[64] per lane */

/* per-head arrive/depart counters for S > 1; zero at load, reset by the last
 * CTA of each head to leave. */
__device__ unsigned int ps_head_ctr[PS_MAX_SPLIT_HEADS];

struct ps_params {
	CUtensorMap tmk, tmv; /* TMA maps of k and v as [rows][128] (wgmma+TMA path) */
	const char *q, *k, *v; /* k, v: the pool [*][H][64][128] */
	const int *chunks;     /* [C] pool index of each prefix chunk (attn_common_chunks) */
	float *out;
	float *po;   /* [n_heads*S][n_seqs][128] unnormalized partial o */
	float2 *pml; /* [n_heads*S][n_seqs] (m, l) */
	int n_seqs, n_heads, n_chunks, nqg, splits;
	int cluster; /* S > 1: 1 = the head's S CTAs are one cluster (DSMEM merge),
		      * 0 = global partials + per-head counter (one wave) */
	int kv_early; /* 1: K/V loads may start before griddepcontrol.wait (the
		       * previous kernel in the stream must not write k/v) */
	float scale;
};

/* ---------------------------------------------------------------- helpers */
/* the input element type: bf16 or fp16 */
template <bool FP16> struct ps_type {
	typedef __nv_bfloat16 T;
};
template <> struct ps_type<true> {
	typedef __half T;
};

/* byte offset of 16-byte column j of row r in a swizzled [rows][256 B] tile */
static __device__ __forceinline__ uint32_t swz(int r, int j)
{
	return (uint32_t)(r * 256 + ((j ^ (r & 7)) << 4));
}

/* ---------------------------------------------------------------- epilogue */
/* out[row][h][4*d4 .. 4*d4+3] = acc / l: one merged (row, 4 columns) item */
static __device__ __forceinline__ void ps_store_out(const ps_params &p, int row, int H, int h, int d4, float l,
						    const float (&acc)[4])
{
	const float inv = 1.f / l;
	*(float4 *)(p.out + ((size_t)row * H + h) * PS_D + d4 * 4) =
		make_float4(acc[0] * inv, acc[1] * inv, acc[2] * inv, acc[3] * inv);
}

/* Shared by both kernels.  A "group" of GT threads (a warp for mma.sync, a
 * warpgroup for wgmma) owns 16 (GT 32) or 64 (GT 128) query rows; thread
 * gidx of it holds rows row0 and row0 + 8 in the accumulator layout
 *   o[t][e]: column 8t + 2*(gidx & 3) + (e & 1), row row0 + 8*(e >> 1)
 * (the same for m16n8 mma.sync tiles and wgmma m64nN accumulators).  Groups
 * kgi = 1..KG-1 hold other keys of the same rows and are merged into kgi 0
 * through shared memory; then kgi 0 writes the output (S == 1) or the
 * split's partial, and for S > 1 the head's CTAs meet and merge. */
template <int KG, int GT>
static __device__ __forceinline__ void ps_epilogue(const ps_params &p, float (&o)[16][4], softmax_state_f (&st)[2],
						   int kgi, int qg, int row0, int gidx, int h,
						   int split, unsigned char *smem)
{
	const int tid = threadIdx.x, nthr = blockDim.x;
	const int S = p.splits, H = p.n_heads, nqg = p.nqg, n_seqs = p.n_seqs;
#pragma unroll
	for (int r = 0; r < 2; ++r) {
		st[r].l = quad_sum(st[r].l);
	}

	/* ---- merge the KG key groups of each query group (shared memory) */
	if constexpr (KG > 1) {
		float *scr = (float *)smem;
		if (kgi > 0) {
			float *w = scr + (size_t)((kgi - 1) * nqg + qg) * PS_SCRATCH_WORDS * GT + gidx;
			w[0 * GT] = st[0].m;
			w[1 * GT] = st[1].m;
			w[2 * GT] = st[0].l;
			w[3 * GT] = st[1].l;
#pragma unroll
			for (int t = 0; t < 16; ++t)
#pragma unroll
				for (int e = 0; e < 4; ++e)
					w[(4 + t * 4 + e) * GT] = o[t][e];
		}
		__syncthreads();
		if (kgi == 0) {
#pragma unroll 1
			for (int g = 1; g < KG; ++g) {
				const float *w = scr + (size_t)((g - 1) * nqg + qg) * PS_SCRATCH_WORDS * GT + gidx;
				float a1[2], a2[2];
				softmax_update_f(&st[0], w[0 * GT], w[2 * GT], &a1[0], &a2[0]);
				softmax_update_f(&st[1], w[1 * GT], w[3 * GT], &a1[1], &a2[1]);
#pragma unroll
				for (int t = 0; t < 16; ++t) {
					o[t][0] = a1[0] * o[t][0] + a2[0] * w[(4 + t * 4 + 0) * GT];
					o[t][1] = a1[0] * o[t][1] + a2[0] * w[(4 + t * 4 + 1) * GT];
					o[t][2] = a1[1] * o[t][2] + a2[1] * w[(4 + t * 4 + 2) * GT];
					o[t][3] = a1[1] * o[t][3] + a2[1] * w[(4 + t * 4 + 3) * GT];
				}
			}
		}
	}

#if !defined(__CUDA_ARCH__) || __CUDA_ARCH__ >= 900 /* clusters are sm_90+; ps_check refuses older GPUs */
	/* ---- S > 1 in a cluster: each CTA leaves its merged state (o, m, l of
	 * all its rows) in its own shared memory, the cluster meets, and CTA j
	 * merges query rows [j*n/S, (j+1)*n/S) over the S CTAs' shared memory
	 * (distributed shared memory reads), then writes the output. */
	if (S > 1 && p.cluster) {
		const int npad = nqg * (GT == 32 ? 16 : 64);
		float *st_o = (float *)smem;                           /* [npad][128] */
		float2 *st_ml = (float2 *)(smem + (size_t)npad * PS_D * 4); /* [npad] */
		__syncthreads(); /* the KG scratch above is read by now */
		if (kgi == 0) {
#pragma unroll
			for (int half = 0; half < 2; ++half) {
				const int row = row0 + half * 8;
				float *dst = st_o + (size_t)row * PS_D + (gidx & 3) * 2;
#pragma unroll
				for (int t = 0; t < 16; ++t)
					*(float2 *)(dst + t * 8) = make_float2(o[t][2 * half], o[t][2 * half + 1]);
				if ((gidx & 3) == 0)
					st_ml[row] = make_float2(st[half].m, st[half].l);
			}
		}
		cluster_sync();
		const int r0 = (int)((long long)split * n_seqs / S);
		const int R = (int)((long long)(split + 1) * n_seqs / S) - r0;
		const uint32_t so = smem_u32(st_o), sml = smem_u32(st_ml);
		for (int it = tid; it < R * 32; it += nthr) {
			const int row = r0 + (it >> 5), d4 = it & 31;
			float4 ov[8];
			float2 ml[8];
#pragma unroll
			for (int u = 0; u < 8; ++u) {
				if (u < S) {
					ov[u] = ld_shared_cluster_f4(mapa_shared(so + (uint32_t)(row * PS_D + d4 * 4) * 4, u));
					ml[u] = ld_shared_cluster_f2(mapa_shared(sml + (uint32_t)row * 8, u));
				}
			}
			softmax_state_f ms = softmax_init_f();
			float acc[4] = {0.f, 0.f, 0.f, 0.f};
#pragma unroll
			for (int u = 0; u < 8; ++u)
				if (u < S)
					softmax_fold_f(&ms, acc, ml[u].x, ml[u].y, &ov[u].x, 4);
			ps_store_out(p, row, H, h, d4, ms.l, acc);
		}
		/* keep this CTA's shared memory alive until every peer has read it */
		cluster_sync();
		return;
	}
#endif

	/* ---- write: the final output (S == 1) or this split's partial */
	if (kgi == 0) {
#pragma unroll
		for (int half = 0; half < 2; ++half) {
			const int row = row0 + half * 8;
			if (row >= n_seqs)
				continue;
			const int col = (gidx & 3) * 2;
			if (S == 1) {
				const float inv = 1.f / st[half].l;
				float *dst = p.out + ((size_t)row * H + h) * PS_D + col;
#pragma unroll
				for (int t = 0; t < 16; ++t)
					*(float2 *)(dst + t * 8) = make_float2(o[t][2 * half] * inv, o[t][2 * half + 1] * inv);
			} else {
				const size_t pidx = ((size_t)h * S + split) * n_seqs + row;
				float *dst = p.po + pidx * PS_D + col;
#pragma unroll
				for (int t = 0; t < 16; ++t)
					*(float2 *)(dst + t * 8) = make_float2(o[t][2 * half], o[t][2 * half + 1]);
				if ((gidx & 3) == 0)
					p.pml[pidx] = make_float2(st[half].m, st[half].l);
			}
		}
	}
	if (S == 1)
		return;

	/* ---- meet the other S-1 CTAs of this head (all resident: one wave,
	 * launched cooperatively), then merge a slice of the query rows */
	__syncthreads();
	if (tid == 0) {
		/* ps_head_ctr[h]: arrivals in the low 16 bits, a generation above.
		 * The last of the S to arrive zeroes the count and bumps the
		 * generation (ready for the next launch), the others wait for the
		 * bump: one release + one atomic round trip per CTA. */
		unsigned *ctr = &ps_head_ctr[h];
		fence_acq_rel_gpu(); /* release this CTA's partials (bar.sync above) */
		const unsigned old = atom_add_relaxed_gpu_u32(ctr, 1u);
		if ((old & 0xffffu) == (unsigned)S - 1u) {
			fence_acq_rel_gpu(); /* acquire the others', release the bump */
			atom_add_relaxed_gpu_u32(ctr, 0x10000u - (unsigned)S);
		} else {
			while (((ld_acquire_gpu_u32(ctr) ^ old) >> 16) == 0u)
				__nanosleep(20);
		}
	}
	__syncthreads();

	const int r0 = (int)((long long)split * n_seqs / S);
	const int R = (int)((long long)(split + 1) * n_seqs / S) - r0;
	if (R <= 0)
		return;
	const int items = R * 32; /* (row, 4 columns) */
	int G = nthr / items;     /* split groups merged in parallel, then combined */
	if (G < 1)
		G = 1;
	if (G > S)
		G = S;
	const float4 *po4 = (const float4 *)p.po;
	const size_t head_base = (size_t)h * S;
	float *scr = (float *)smem;

	for (int t = tid; t < items * G; t += nthr) {
		const int g = t / items, it = t - g * items;
		const int row = r0 + (it >> 5), d4 = it & 31;
		softmax_state_f ms = softmax_init_f();
		float acc[4] = {0.f, 0.f, 0.f, 0.f};
		for (int sp = g; sp < S; sp += 4 * G) {
			/* up to 4 partials: all loads first, then the merges */
			float2 ml[4];
			float4 ov[4];
#pragma unroll
			for (int u = 0; u < 4; ++u) {
				if (sp + u * G < S) {
					const size_t pidx = (head_base + sp + u * G) * n_seqs + row;
					ml[u] = __ldcg(p.pml + pidx);
					ov[u] = __ldcg(po4 + pidx * 32 + d4);
				} else {
					ml[u] = make_float2(-INFINITY, 0.f);
					ov[u] = make_float4(0.f, 0.f, 0.f, 0.f);
				}
			}
#pragma unroll
			for (int u = 0; u < 4; ++u)
				softmax_fold_f(&ms, acc, ml[u].x, ml[u].y, &ov[u].x, 4);
		}
		if (G == 1) {
			ps_store_out(p, row, H, h, d4, ms.l, acc);
		} else {
			float *w = scr + (size_t)t * 6;
			w[0] = ms.m;
			w[1] = ms.l;
			w[2] = acc[0];
			w[3] = acc[1];
			w[4] = acc[2];
			w[5] = acc[3];
		}
	}
	if (G > 1) { /* CTA-uniform */
		__syncthreads();
		for (int it = tid; it < items; it += nthr) {
			const int row = r0 + (it >> 5), d4 = it & 31;
			softmax_state_f ms = softmax_init_f();
			float acc[4] = {0.f, 0.f, 0.f, 0.f};
			for (int g = 0; g < G; ++g) {
				const float *w = scr + (size_t)(g * items + it) * 6;
				softmax_fold_f(&ms, acc, w[0], w[1], w + 2, 4);
			}
			ps_store_out(p, row, H, h, d4, ms.l, acc);
		}
	}
}

/* ---- one online-softmax step, shared by the mma.sync and wgmma paths ---- */
/* s: one warp's scores for NT n8 tiles in the m16n8 accumulator layout (rows
 * r and r + 8 in elements 0-1 and 2-3; a quad of lanes holds a row).  Scales
 * them, takes each row's max over the quad, exponentiates in place (s becomes
 * P), folds the tile's (max, sum) into the running state st with
 * softmax_update_f, rescales the output accumulator o by the old state's
 * factor, and returns in a2 the factor the caller applies to P. */
template <int NT>
static __device__ __forceinline__ void ps_softmax_step(float (&s)[NT][4], float (&o)[16][4],
						       float scale, softmax_state_f (&st)[2],
						       float (&a2)[2])
{
	float mt[2] = {-INFINITY, -INFINITY};
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
	for (int r = 0; r < 2; ++r) {
		mt[r] = quad_max(mt[r]);
	}
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
#pragma unroll
	for (int t = 0; t < 16; ++t) {
		o[t][0] *= a1[0];
		o[t][1] *= a1[0];
		o[t][2] *= a1[1];
		o[t][3] *= a1[1];
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
 * warp; KG = 64 / (KEYS*NSUB) key groups; NSTAGE: pipeline depth. */
template <bool FP16, int KEYS, int NSUB, int NSTAGE>
__global__ void __launch_bounds__(512) prefix_stream_mma_kernel(const __grid_constant__ ps_params p)
{
	typedef typename ps_type<FP16>::T T;
	constexpr int KG = PS_CHUNK / (KEYS * NSUB);
	constexpr int NT = KEYS / 8;  /* n8 tiles of scores per step */
	constexpr int KK = KEYS / 16; /* k16 steps of PV per step */
	extern __shared__ __align__(1024) unsigned char smem[];

	const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
	const int nthr = blockDim.x;
	const int S = p.splits, H = p.n_heads, nqg = p.nqg, n_seqs = p.n_seqs;
	const int h = blockIdx.x / S, split = blockIdx.x - h * S;
	const int c0 = (int)((long long)split * p.n_chunks / S);
	const int nk = (int)((long long)(split + 1) * p.n_chunks / S) - c0;
	const int qg = warp % nqg, kgi = warp / nqg;

	const uint32_t sbase = smem_u32(smem);
	const uint32_t sq = sbase + NSTAGE * PS_STAGE_BYTES;
	pdl_trigger();
	pdl_wait(); /* every global access below follows the previous kernel */

	/* ---- Q (zero rows past n_seqs) joins the first cp.async group */
	for (int i = tid; i < nqg * 16 * 16; i += nthr) {
		const int r = i >> 4, j = i & 15;
		const bool ok = r < n_seqs;
		const char *src = p.q + (ok ? ((size_t)r * H + h) * (PS_D * 2) + j * 16 : 0);
		cp_async16(sq + swz(r, j), src, ok ? 16 : 0);
	}

	const size_t head_off = (size_t)h * PS_TILE_BYTES;
	const size_t chunk_stride = (size_t)H * PS_TILE_BYTES;
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

			/* online softmax: tile state (mt, lt), merged into (m, l) */
			float a2[2];
			ps_softmax_step(s, o, scale, st, a2);

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
	ps_epilogue<KG, 32>(p, o, st, kgi, qg, qg * 16 + (lane >> 2), lane, h, split, smem);
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
/* byte offset of 16-byte column j (0..15) of row r in a SW128 [2][rows][64] tile */
static __device__ __forceinline__ uint32_t swz128(int r, int j, int rows)
{
	return (uint32_t)((j >> 3) * rows * 128 + r * 128 + (((j & 7) ^ (r & 7)) << 4));
}
#endif


/* KGW key groups of warpgroups, NSUB steps of 32 keys each per chunk:
 * KGW * NSUB * 32 == 64.  NQG = ceil(n_seqs/64) query warpgroups. */
template <bool FP16, int KGW, int NSUB, int NSTAGE, bool TMA>
__global__ void __launch_bounds__(512) prefix_stream_wgmma_kernel(const __grid_constant__ ps_params p)
{
#if PTX_WGMMA
	typedef typename ps_type<FP16>::T T;
	constexpr int KEYS = 32;
	static_assert(KGW * NSUB * KEYS == PS_CHUNK, "a chunk is 64 keys");
	extern __shared__ __align__(1024) unsigned char smem[];

	const int tid = threadIdx.x, nthr = blockDim.x;
	const int wgi = tid >> 7, gidx = tid & 127, lane = tid & 31, wq = gidx >> 5;
	const int S = p.splits, H = p.n_heads, nqg = p.nqg, n_seqs = p.n_seqs;
	const int h = blockIdx.x / S, split = blockIdx.x - h * S;
	const int c0 = (int)((long long)split * p.n_chunks / S);
	const int nk = (int)((long long)(split + 1) * p.n_chunks / S) - c0;
	const int qg = wgi % nqg, kgi = wgi / nqg;

	const uint32_t sbase = smem_u32(smem);
	const uint32_t sq = sbase + NSTAGE * PS_STAGE_BYTES;
	if ((sbase & 1023u) != 0)
		__trap(); /* the swizzle atoms must start on 1024-byte boundaries */

	const size_t head_off = (size_t)h * PS_TILE_BYTES;
	const size_t chunk_stride = (size_t)H * PS_TILE_BYTES;
	/* TMA: one mbarrier per stage, after the Q tiles */
	const uint32_t sbar = sq + nqg * 16384;
	/* ---- prologue, shortest path to the first K/V bytes: the next launch
	 * may start (PDL); thread 0 prefetches the tensor maps (kernel
	 * parameters: no dependence on earlier kernels) and sets up the
	 * mbarriers while the grid dependency resolves, then issues the first
	 * stages' TMA loads before Q (see the load loop below). */
	pdl_trigger();
	if constexpr (TMA) {
		if (tid == 0) {
			prefetch_tensormap(&p.tmk);
			prefetch_tensormap(&p.tmv);
#pragma unroll
			for (int st = 0; st < NSTAGE; ++st)
				mbar_init(sbar + 8 * st, 1);
			fence_mbar_init();
		}
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
			if (tid == 0) {
				const uint32_t bar = sbar + 8 * stage;
				const int row = (pool_c * H + h) * PS_CHUNK;
				mbar_arrive_expect_tx(bar, PS_STAGE_BYTES);
#pragma unroll
				for (int q4 = 0; q4 < 4; ++q4)
					tma_load_2d(dst + q4 * 8192, (q4 < 2) ? &p.tmk : &p.tmv, (q4 & 1) * 64, row, bar);
			}
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
	 * long pole); the cp.async path queues them after Q */
	if constexpr (TMA) {
#pragma unroll
		for (int st = 0; st < NSTAGE - 1; ++st)
			if (st < nk)
				load_chunk(c0 + st, st);
		if (p.kv_early)
			pdl_wait(); /* k, v are read-only for the kernels around this one */
	}

	/* ---- Q: [qg][2][64][64] SW128, rows past n_seqs zero */
	for (int i = tid; i < nqg * 64 * 16; i += nthr) {
		const int r = i >> 4, j = i & 15; /* r: 0 .. nqg*64-1 */
		const bool ok = r < n_seqs;
		const char *src = p.q + (ok ? ((size_t)r * H + h) * (PS_D * 2) + j * 16 : 0);
		cp_async16(sq + (r >> 6) * 16384 + swz128(r & 63, j, 64), src, ok ? 16 : 0);
	}

	if constexpr (TMA) {
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

	for (int i = 0; i < nk; ++i) {
		if constexpr (TMA) {
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
			float s[4][4];
#pragma unroll
			for (int t = 0; t < 4; ++t)
				s[t][0] = s[t][1] = s[t][2] = s[t][3] = 0.f;
			wg_fence();
#pragma unroll
			for (int ks = 0; ks < 8; ++ks) {
				const uint32_t off = (ks >> 2) * 8192 + (ks & 3) * 32;
				wgmma_m64n32k16_ss<T>(s, wg_desc(sqg + off, 16, 1024), wg_desc(sk + key0 * 128 + off, 16, 1024), ks);
			}
			wg_commit();
			wg_wait<0>();

			/* online softmax over these 32 keys (rows row0, row0 + 8) */
			float a2[2];
			ps_softmax_step(s, o, scale, st, a2);
			uint32_t pa[2][4];
#pragma unroll
			for (int kk = 0; kk < 2; ++kk) {
				pa[kk][0] = pack2<T>(s[2 * kk][0] * a2[0], s[2 * kk][1] * a2[0]);
				pa[kk][1] = pack2<T>(s[2 * kk][2] * a2[1], s[2 * kk][3] * a2[1]);
				pa[kk][2] = pack2<T>(s[2 * kk + 1][0] * a2[0], s[2 * kk + 1][1] * a2[0]);
				pa[kk][3] = pack2<T>(s[2 * kk + 1][2] * a2[1], s[2 * kk + 1][3] * a2[1]);
			}
			wg_fence();
#pragma unroll
			for (int kk = 0; kk < 2; ++kk)
#pragma unroll
				for (int dh = 0; dh < 2; ++dh)
					wgmma_m64n64k16_rs<T>(&o[dh * 8], pa[kk],
						    wg_desc(sv + dh * 8192 + (key0 + 16 * kk) * 128, 1024, 1024));
			wg_commit();
			wg_wait<0>();
		}
	}

	cp_async_wait<0>();
	__syncthreads(); /* stage buffers free from here on */
	ps_epilogue<KGW, 128>(p, o, st, kgi, qg, qg * 64 + wq * 16 + (lane >> 2), gidx, h, split, smem);
#else
	__trap(); /* built without sm_90a: the host uses the mma.sync kernel */
#endif
}

/* ---------------------------------------------------------------- host */
typedef void (*ps_kernel_fn)(const ps_params);

/* [path: 0 mma.sync + cp.async, 1 wgmma + cp.async, 2 wgmma + TMA][dtype][variant] */
static const ps_kernel_fn ps_kernels[3][2][3] = {
	{{prefix_stream_mma_kernel<false, 16, 1, 3>, prefix_stream_mma_kernel<false, 32, 1, 3>,
	  prefix_stream_mma_kernel<false, 32, 2, 4>},
	 {prefix_stream_mma_kernel<true, 16, 1, 3>, prefix_stream_mma_kernel<true, 32, 1, 3>,
	  prefix_stream_mma_kernel<true, 32, 2, 4>}},
	{{prefix_stream_wgmma_kernel<false, 2, 1, 3, false>, prefix_stream_wgmma_kernel<false, 2, 1, 4, false>,
	  prefix_stream_wgmma_kernel<false, 1, 2, 4, false>},
	 {prefix_stream_wgmma_kernel<true, 2, 1, 3, false>, prefix_stream_wgmma_kernel<true, 2, 1, 4, false>,
	  prefix_stream_wgmma_kernel<true, 1, 2, 4, false>}},
	{{prefix_stream_wgmma_kernel<false, 2, 1, 3, true>, prefix_stream_wgmma_kernel<false, 2, 1, 4, true>,
	  prefix_stream_wgmma_kernel<false, 1, 2, 4, true>},
	 {prefix_stream_wgmma_kernel<true, 2, 1, 3, true>, prefix_stream_wgmma_kernel<true, 2, 1, 4, true>,
	  prefix_stream_wgmma_kernel<true, 1, 2, 4, true>}},
};
/* mma.sync: query groups of 16 rows, KG key warps; variant by n_seqs <= 32,
 * <= 64, <= 256.  wgmma: query groups of 64 rows, KG key warpgroups;
 * variant by n_seqs <= 64, <= 128, <= 256. */
static const int ps_rows[3] = {16, 64, 64};
static const int ps_kg[3][3] = {{4, 2, 1}, {2, 2, 1}, {2, 2, 1}};
static const int ps_nstage[3][3] = {{3, 3, 4}, {3, 4, 4}, {3, 4, 4}};
static const int ps_maxqg[3][3] = {{2, 4, 16}, {1, 2, 4}, {1, 2, 4}};
static const int ps_group_threads[3] = {32, 128, 128};

struct ps_plan {
	int path, variant, nqg, threads, splits, coop, cluster;
	int pdl; /* 0 off, 1 PDL (every global access after the grid wait), 2 PDL with K/V before it */
	int spread; /* 1: launch with PS_SPREAD_SMEM so that no two CTAs share an SM */
	size_t smem;
	int slots; /* co-resident CTAs of this shape on the device */
};

/* tuning hooks (not part of the attn_kernel contract) */
static int ps_forced_splits = -1; /* -1: read PREFIX_STREAM_SPLITS once */
static int ps_forced_path = -1;   /* -1 auto, else a path (0..2) */
static int ps_forced_plain = 0;   /* 1: S > 1 without cooperative launch (unsafe) */
static int ps_forced_merge = 0;   /* 0 auto, 1 global partials + counters, 2 cluster/DSMEM */
static int ps_forced_pdl = -1;    /* -1 auto, else a ps_plan.pdl mode */
static int ps_forced_spread = -1; /* -1 auto, else ps_plan.spread (where the grid fits one per SM) */
#define PS_MAX_CLUSTER 8          /* portable cluster size */
#define PS_PDL_DEFAULT 1          /* see ps_plan.pdl */
#define PS_SPREAD_SMEM (116 * 1024) /* > half an SM's 228 KiB: one CTA per SM */

extern "C" void prefix_stream_force_splits(int s)
{
	ps_forced_splits = s > 0 ? s : 0;
}
extern "C" void prefix_stream_force_path(int path)
{
	ps_forced_path = path;
}
extern "C" void prefix_stream_force_plain(int on)
{
	ps_forced_plain = on;
}
extern "C" void prefix_stream_force_merge(int mode)
{
	ps_forced_merge = mode;
}
extern "C" void prefix_stream_force_pdl(int mode)
{
	ps_forced_pdl = mode;
}
extern "C" void prefix_stream_force_spread(int on)
{
	ps_forced_spread = on;
}

static int forced_splits(void)
{
	if (ps_forced_splits < 0) {
		const char *e = getenv("PREFIX_STREAM_SPLITS");
		ps_forced_splits = e ? atoi(e) : 0;
		if (ps_forced_splits < 0)
			ps_forced_splits = 0;
	}
	return ps_forced_splits;
}

/* Split count.  Measured (v4, H100, TMA path, cold): one CTA streams a
 * chunk in ~1.1 us whatever the split, so a config needs ~one busy CTA per
 * SM to approach the read ceiling, and every split costs a merge (~2-5 us,
 * more CTAs, more partials).  The best S of the sweeps was, at every seed
 * point, the one that gives ~one CTA per SM: H*S ~ SMs, S <= n_chunks.
 * (Two CTAs per SM was never better below 256 MB: the merge costs more than
 * the second CTA brings.)  Configs with H >= SMs run unsplit. */
static int plan_splits(int H, int C, int sms)
{
	if (H >= sms || H > PS_MAX_SPLIT_HEADS)
		return 1;
	int S = sms / H;
	return S > C ? C : S;
}

/* cuTensorMapEncodeTiled, fetched from the driver once (no -lcuda needed) */
typedef CUresult (*ps_encode_fn)(CUtensorMap *, CUtensorMapDataType, cuuint32_t, void *, const cuuint64_t *,
				 const cuuint64_t *, const cuuint32_t *, const cuuint32_t *, CUtensorMapInterleave,
				 CUtensorMapSwizzle, CUtensorMapL2promotion, CUtensorMapFloatOOBfill);

static ps_encode_fn ps_encoder(void)
{
	static ps_encode_fn fn = NULL;
	static int tried = 0;
	if (!tried) {
		tried = 1;
		void *f = NULL;
		cudaDriverEntryPointQueryResult q = cudaDriverEntryPointSymbolNotFound;
#if CUDART_VERSION >= 12050
		cudaError_t e = cudaGetDriverEntryPointByVersion("cuTensorMapEncodeTiled", &f, 12000, cudaEnableDefault, &q);
#else
		cudaError_t e = cudaGetDriverEntryPoint("cuTensorMapEncodeTiled", &f, cudaEnableDefault, &q);
#endif
		if (e == cudaSuccess && q == cudaDriverEntryPointSuccess && f)
			fn = (ps_encode_fn)f;
		else
			(void)cudaGetLastError();
	}
	return fn;
}

/* k or v as a [n_chunks*n_heads*64][128] matrix, read in 64 x 64 boxes
 * (128 bytes wide: the 128-byte swizzle's atom) */
static int ps_encode(CUtensorMap *m, const void *base, const struct attn_shape *s)
{
	const cuuint64_t dims[2] = {PS_D, (cuuint64_t)attn_pool_chunks(s) * s->n_kv_heads * PS_CHUNK};
	const cuuint64_t strides[1] = {PS_D * 2};
	const cuuint32_t box[2] = {64, 64};
	const cuuint32_t es[2] = {1, 1};
	const CUresult r =
		ps_encoder()(m, s->dtype == ATTN_FP16 ? CU_TENSOR_MAP_DATA_TYPE_FLOAT16 : CU_TENSOR_MAP_DATA_TYPE_BFLOAT16,
			     2, (void *)base, dims, strides, box, es, CU_TENSOR_MAP_INTERLEAVE_NONE,
			     CU_TENSOR_MAP_SWIZZLE_128B, CU_TENSOR_MAP_L2_PROMOTION_L2_256B, CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
	return r == CUDA_SUCCESS ? 0 : (int)cudaErrorInvalidValue;
}

/* how many clusters of c CTAs (pl's shape, spread or not) fit on the
 * device at once; cached per (device, kernel, c, spread) */
static cudaError_t ps_cluster_fit(ps_kernel_fn fn, const struct ps_plan *pl, int c, int spread, int *fit)
{
	struct fit_entry {
		ps_kernel_fn fn;
		int dev, threads, c, spread, fit;
		size_t smem;
	};
	static struct fit_entry cache[64];
	static int n = 0;
	int dev = 0;
	cudaError_t e = cudaGetDevice(&dev);
	if (e != cudaSuccess)
		return e;
	const size_t smem = spread && pl->smem < PS_SPREAD_SMEM ? PS_SPREAD_SMEM : pl->smem;
	for (int i = 0; i < n; ++i)
		if (cache[i].fn == fn && cache[i].dev == dev && cache[i].threads == pl->threads && cache[i].c == c &&
		    cache[i].spread == spread && cache[i].smem == smem) {
			*fit = cache[i].fit;
			return cudaSuccess;
		}
	cudaLaunchConfig_t cfg;
	memset(&cfg, 0, sizeof cfg);
	cfg.gridDim = dim3((unsigned)c);
	cfg.blockDim = dim3((unsigned)pl->threads);
	cfg.dynamicSmemBytes = smem;
	cudaLaunchAttribute at[1];
	memset(at, 0, sizeof at);
	at[0].id = cudaLaunchAttributeClusterDimension;
	at[0].val.clusterDim.x = (unsigned)c;
	at[0].val.clusterDim.y = 1;
	at[0].val.clusterDim.z = 1;
	cfg.attrs = at;
	cfg.numAttrs = 1;
	int f = 0;
	e = cudaOccupancyMaxActiveClusters(&f, (const void *)fn, &cfg);
	if (e != cudaSuccess) {
		(void)cudaGetLastError();
		f = 0; /* unknown: no cluster */
	}
	if (n < 64)
		cache[n++] = (struct fit_entry){fn, dev, pl->threads, c, spread, f, smem};
	*fit = f;
	return cudaSuccess;
}

static int ps_make_plan(const struct attn_shape *s, struct ps_plan *pl)
{
	int dev = 0;
	cudaError_t e = cudaGetDevice(&dev);
	if (e != cudaSuccess)
		return (int)e;
	if (dev >= 16)
		return (int)cudaErrorInvalidDevice;

	/* which path the loaded device image has (read once per device) */
	static int wg_built[16]; /* 0 unknown, 1 no, 2 yes */
	if (wg_built[dev] == 0) {
		int v = 0;
		e = cudaMemcpyFromSymbol(&v, ps_wgmma_built, sizeof(int));
		if (e != cudaSuccess)
			return (int)e;
		wg_built[dev] = v ? 2 : 1;
	}
	int path = wg_built[dev] == 2 ? 2 : 0;
	if (ps_forced_path == 0 || (ps_forced_path > 0 && path == 2))
		path = ps_forced_path;
	if (path == 2 && !ps_encoder())
		path = 1; /* no driver entry point: wgmma with cp.async */

	const int nqg = (s->n_seqs + ps_rows[path] - 1) / ps_rows[path];
	const int v = nqg <= ps_maxqg[path][0] ? 0 : nqg <= ps_maxqg[path][1] ? 1 : 2;
	pl->path = path;
	pl->variant = v;
	pl->nqg = nqg;
	pl->threads = nqg * ps_kg[path][v] * ps_group_threads[path];
	const size_t qbytes = (size_t)ps_rows[path] * PS_D * 2;
	pl->smem = (size_t)ps_nstage[path][v] * PS_STAGE_BYTES + (size_t)nqg * qbytes + 64 /* mbarriers */;

	/* occupancy per (device, path, dtype, variant, threads/32), cached */
	static int occ_cache[16][3][2][3][17];
	const int dt = s->dtype == ATTN_FP16;
	const int w = pl->threads / 32;
	int occ = occ_cache[dev][path][dt][v][w];
	if (occ == 0) {
		ps_kernel_fn fn = ps_kernels[path][dt][v];
		const size_t smax =
			(size_t)ps_nstage[path][v] * PS_STAGE_BYTES + (size_t)ps_maxqg[path][v] * qbytes + 64;
		e = cudaFuncSetAttribute((const void *)fn, cudaFuncAttributeMaxDynamicSharedMemorySize,
					 (int)(smax > PS_SPREAD_SMEM ? smax : PS_SPREAD_SMEM));
		if (e != cudaSuccess)
			return (int)e;
		e = cudaOccupancyMaxActiveBlocksPerMultiprocessor(&occ, (const void *)fn, pl->threads, pl->smem);
		if (e != cudaSuccess)
			return (int)e;
		if (occ < 1)
			return (int)cudaErrorInvalidConfiguration;
		occ_cache[dev][path][dt][v][w] = occ;
	}
	static int sm_cache[16];
	int sms = sm_cache[dev];
	if (sms == 0) {
		e = cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, dev);
		if (e != cudaSuccess)
			return (int)e;
		sm_cache[dev] = sms;
	}
	pl->slots = occ * sms;
	int S = forced_splits();
	if (S > 0) {
		if (S > s->n_chunks)
			S = s->n_chunks;
		if (s->n_heads > PS_MAX_SPLIT_HEADS)
			S = 1;
		else if ((long long)S * s->n_heads > pl->slots)
			S = pl->slots / s->n_heads > 0 ? pl->slots / s->n_heads : 1;
	} else {
		S = plan_splits(s->n_heads, s->n_chunks, sms);
	}
	/* merge and spread (v6, measured): split grids run one CTA per SM
	 * (PS_SPREAD_SMEM: two CTAs on one SM -- co-scheduled cluster peers,
	 * or a PDL-launched next grid's CTAs -- cost 1-3 us); the head's S CTAs
	 * merge as one cluster over DSMEM when all H clusters of S fit on the
	 * chip at once, with a margin for S > 2 (1-2.5 us cheaper than global
	 * partials; clusters that do not fit run in two waves: 1.5-2x
	 * slower).  When the plan's S does
	 * not fit, a smaller cluster wins if its CTAs carry at most one chunk
	 * more; else global partials at the plan's S. */
	const int forced_S = forced_splits() > 0;
	pl->spread = S > 1 && (long long)S * s->n_heads <= sms && ps_forced_spread != 0;
	pl->cluster = 0;
	if (ps_forced_merge == 2) {
		pl->cluster = S > 1 && S <= PS_MAX_CLUSTER;
	} else if (ps_forced_merge == 0 && S > 1) {
		const int pc0 = (s->n_chunks + S - 1) / S;
		for (int c = S < PS_MAX_CLUSTER ? S : PS_MAX_CLUSTER; c >= 2; --c) {
			if (c < S && (forced_S || (s->n_chunks + c - 1) / c > pc0 + 1))
				break;
			const int sp = (long long)c * s->n_heads <= sms && ps_forced_spread != 0;
			int fit = 0;
			e = ps_cluster_fit(ps_kernels[path][dt][v], pl, c, sp, &fit);
			if (e != cudaSuccess)
				return (int)e;
			/* a margin beyond pairs: clusters that fit exactly measured
			 * slow ((32,8) at S = 4, (16,16) at S = 8, spread) */
			if (fit >= (c == 2 ? s->n_heads : s->n_heads + (s->n_heads + 3) / 4)) {
				S = c;
				pl->cluster = 1;
				pl->spread = sp;
				break;
			}
		}
	}
	pl->splits = S;
	const long long grid = (long long)S * s->n_heads;
	const int per_cta = (s->n_chunks + S - 1) / S; /* chunks of the busiest CTA */
	/* PDL (needs griddepcontrol in the device image: the sm_90a build):
	 * on where the next grid's CTAs cannot crowd this one's SMs (spread,
	 * or a grid of at most half the SMs) or where CTAs are short (<= 2
	 * chunks); measured 1.5-2 us per launch there, and 3-20% slower on
	 * unspread grids that fill the chip (their next grid's CTAs land
	 * two to an SM). */
	pl->pdl = 0;
	if (wg_built[dev] == 2)
		pl->pdl = ps_forced_pdl >= 0 ? ps_forced_pdl
					     : (2 * grid <= sms || per_cta <= 2 || pl->spread) ? PS_PDL_DEFAULT : 0;
	/* the S >= 3 meet needs the grid co-resident: S * H <= slots holds by
	 * construction, so a plain launch gets it as long as nothing holds
	 * the SMs for good.  Without PDL the launch is cooperative (the
	 * guarantee in writing); with PDL it is plain, and the next kernel's
	 * CTAs only start once all of this one's are resident (they trigger
	 * at entry). */
	pl->coop = S > 1 && !pl->cluster && !ps_forced_plain && !pl->pdl;
	return 0;
}

static const char *ps_check(const struct attn_shape *s);

/* tuning hook: the split count (and merge) launch() would use, for reports */
extern "C" int prefix_stream_plan(const struct attn_shape *s, int *splits, int *path, int *cluster)
{
	struct ps_plan pl;
	if (ps_check(s))
		return (int)cudaErrorInvalidValue;
	int e = ps_make_plan(s, &pl);
	if (e)
		return e;
	*splits = pl.splits;
	*path = pl.path;
	*cluster = pl.cluster;
	return 0;
}

static const char *ps_check(const struct attn_shape *s)
{
	/* TMA, wgmma and thread-block clusters: Hopper only (builds for older
	 * GPU_ARCH compile, but the kernel refuses to run there).  Asked once:
	 * ps_launch checks on every launch, inside the timed loop. */
	static int major = -1;
	if (major < 0) {
		int dev = 0;
		if (cudaGetDevice(&dev) != cudaSuccess ||
		    cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, dev) != cudaSuccess)
			major = 0; /* unknown: let the launch report */
		if (major == 0)
			major = 9;
	}
	if (major < 9)
		return "prefix_stream: needs an sm_90 (Hopper) GPU";
	if (s->chunk_size != PS_CHUNK)
		return "prefix_stream: chunk_size must be 64";
	if (s->d_head != PS_D)
		return "prefix_stream: d_head must be 128";
	if (s->n_seqs < 1 || s->n_seqs > PS_MAX_SEQS)
		return "prefix_stream: n_seqs must be 1..256";
	if (s->n_heads < 1 || s->n_chunks < 1)
		return "prefix_stream: n_heads and n_chunks must be >= 1";
	if (s->dtype != ATTN_BF16 && s->dtype != ATTN_FP16)
		return "prefix_stream: dtype must be bf16 or fp16";
	if ((long long)s->n_heads * s->n_chunks > 0x7fffffffLL)
		return "prefix_stream: n_heads x n_chunks too large";
	if (!attn_is_single_prefix(s))
		return ATTN_SINGLE_PREFIX_ONLY("prefix_stream");
	if (attn_pool_chunks(s) * s->n_heads * PS_CHUNK > 0x7fffffffL)
		return "prefix_stream: the pool's rows must fit the tensor map's 32-bit coordinates";
	return NULL;
}

static size_t ps_workspace(const struct attn_shape *s)
{
	struct ps_plan pl;
	if (ps_check(s) || ps_make_plan(s, &pl) != 0 || pl.splits <= 1 || pl.cluster)
		return 0;
	const size_t n = (size_t)s->n_heads * pl.splits * s->n_seqs;
	return n * PS_D * sizeof(float) + n * sizeof(float2);
}

static int ps_launch(const struct attn_args *a, struct CUstream_st *stream)
{
	if (ps_check(&a->s))
		return (int)cudaErrorInvalidValue;
	struct ps_plan pl;
	int e = ps_make_plan(&a->s, &pl);
	if (e)
		return e;
	if ((((uintptr_t)a->q | (uintptr_t)a->k | (uintptr_t)a->v | (uintptr_t)a->out) & 15) != 0)
		return (int)cudaErrorMisalignedAddress;
	ps_params p;
	memset(&p, 0, sizeof p);
	if (pl.path == 2) {
		if ((e = ps_encode(&p.tmk, a->k, &a->s)) != 0 || (e = ps_encode(&p.tmv, a->v, &a->s)) != 0)
			return e;
	}
	p.q = (const char *)a->q;
	p.chunks = attn_common_chunks(a);
	p.k = (const char *)a->k;
	p.v = (const char *)a->v;
	p.out = a->out;
	p.n_seqs = a->s.n_seqs;
	p.n_heads = a->s.n_heads;
	p.n_chunks = a->s.n_chunks;
	p.nqg = pl.nqg;
	p.splits = pl.splits;
	p.cluster = pl.cluster;
	p.scale = a->scale;
	p.po = NULL;
	p.pml = NULL;
	const ps_kernel_fn fn = ps_kernels[pl.path][a->s.dtype == ATTN_FP16][pl.variant];
	const unsigned grid = (unsigned)a->s.n_heads * (unsigned)pl.splits;
	cudaStream_t st = (cudaStream_t)stream;
	if (pl.splits > 1 && !pl.cluster) {
		if (!a->work)
			return (int)cudaErrorInvalidValue;
		const size_t n = (size_t)a->s.n_heads * pl.splits * a->s.n_seqs;
		p.po = (float *)a->work;
		p.pml = (float2 *)((char *)a->work + n * PS_D * sizeof(float));
	}
	p.kv_early = pl.pdl == 2;
	cudaLaunchConfig_t cfg;
	memset(&cfg, 0, sizeof cfg);
	cfg.gridDim = dim3(grid);
	cfg.blockDim = dim3(pl.threads);
	cfg.dynamicSmemBytes = pl.spread && pl.smem < PS_SPREAD_SMEM ? PS_SPREAD_SMEM : pl.smem;
	cfg.stream = st;
	cudaLaunchAttribute at[3];
	memset(at, 0, sizeof at);
	unsigned na = 0;
	if (pl.splits > 1 && pl.cluster) {
		at[na].id = cudaLaunchAttributeClusterDimension;
		at[na].val.clusterDim.x = (unsigned)pl.splits;
		at[na].val.clusterDim.y = 1;
		at[na].val.clusterDim.z = 1;
		++na;
	}
	if (pl.coop) {
		at[na].id = cudaLaunchAttributeCooperative;
		at[na].val.cooperative = 1;
		++na;
	}
	if (pl.pdl) {
		at[na].id = cudaLaunchAttributeProgrammaticStreamSerialization;
		at[na].val.programmaticStreamSerializationAllowed = 1;
		++na;
	}
	cfg.attrs = at;
	cfg.numAttrs = na;
	void *args[] = {(void *)&p};
	cudaError_t ce = cudaLaunchKernelExC(&cfg, (const void *)fn, args);
	if (ce != cudaSuccess && pl.pdl) {
		/* a stream or driver that refuses PDL: launch as before */
		(void)cudaGetLastError();
		p.kv_early = 0;
		cfg.numAttrs = na - 1;
		if (pl.splits > 1 && !pl.cluster && !ps_forced_plain) {
			at[na - 1].id = cudaLaunchAttributeCooperative;
			at[na - 1].val.cooperative = 1;
			cfg.numAttrs = na;
		}
		ce = cudaLaunchKernelExC(&cfg, (const void *)fn, args);
	}
	if (ce != cudaSuccess)
		return (int)ce;
	return (int)cudaGetLastError();
}

extern "C" const struct attn_kernel attn_kernel_prefix_stream = {
	"prefix_stream",
	"own split-K prefix kernel: K/V streamed once per head (TMA pipeline, wgmma QK^T/PV, "
	"online softmax; sm_90: cp.async + mma.sync), S = SMs/heads splits merged in the same launch",
	ps_check,
	ps_workspace,
	ps_launch,
};
