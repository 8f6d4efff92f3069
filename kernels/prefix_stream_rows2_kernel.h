/* prefix_stream_rows2_kernel.h - prefix_stream's v11 kernel for 65-256
 * query rows a K/V head (the compute-heavy regime: issue 11, item 2), on the
 * TMA path (sm_90a).  Included by kernels/prefix_stream.cu after
 * prefix_stream_kernel.h (ps_params, the softmax step, the chunk index, the
 * epilogue's merges).  The default's kernel at 65-256 rows on the TMA path
 * since its H200 run (docs/kernels/prefix_stream.md, v11; v15 the
 * ping-pong form, v16 the descriptors below).
 *
 * Why: v9/v10 give a warpgroup 64 rows and one chain per chunk step --
 * QK^T, wait, softmax, PV, wait -- so the tensor pipe idles through every
 * softmax; with 4 warpgroups of 128 registers a thread there was no room
 * for a second tile in flight (ncu at 32 x 1024, n_seqs 256: 1.08 eligible
 * warps a scheduler, issue 46 % busy, 311-410 TFLOP/s of ~880).
 *
 * How: 2 warpgroups (256 threads, up to 255 registers: one CTA an SM), each
 * owning 128 rows as two 64-row blocks A and B (rows 128 w .. +63 and
 * 128 w + 64 .. +63).  Per chunk (64 keys), both blocks' chains
 * interleaved so that one block's softmax runs while the other's tensor
 * work does:
 *   QK_A, QK_B issued (wgmma m64n64k16 over the whole chunk: 8 k-steps
 *   each, Q and K from shared memory);
 *   wait<1> (QK_A done): softmax A, P_A packed, PV_A issued (m64n64k16,
 *     P from registers, V from shared memory);
 *   wait<1> (QK_B done): softmax B while PV_A runs, PV_B issued;
 *   wait<0>: every group retired inside the iteration (a group in flight
 *     across the loop's back edge makes ptxas serialize every wgmma of the
 *     kernel: warnings C7514/C7515).
 *   v18: chunks taken in pairs, so that between the two the next chunk's
 *   QK_A is issued before the first's PV_B is waited for (the pipe stays
 *   fed across the pair's middle; the wait<0> only at the pair's end).
 * Registers: o 2 x 64, scores 2 x 32, P 16, states 8.  Loads: v10's scheme
 * -- thread 0 issues each chunk's four 64 x 64 TMA boxes on the stage's
 * "full" mbarrier; every thread arrives on the stage's "empty" mbarrier
 * when its reads are retired; warp 0, after chunk i, waits for chunk
 * i - 1's release and refills that stage with chunk i - 1 + NSTAGE.
 * Epilogue: ps_epilogue_2blocks (prefix_stream_merge.h), the same merge
 * paths as every other kernel, per block.
 * Descriptors (v16): built once -- Q's before the loop, a stage's K and V
 * once a chunk -- from warp-uniform values (the warpgroup and the stage
 * address broadcast from lane 0), then stepped with wg_desc_add: they stay
 * in uniform registers (15 R2UR a chunk instead of 108, 824 instructions a
 * chunk instead of 982, 234-236 registers instead of 251-253).
 * Rows past n_rows (129-192 rows: all of block B of warpgroup 1) are zero
 * query rows computed and dropped; a copy of the loop without that block
 * is a later step.  65-128 rows: the key-group form (KG2, below). */
#ifndef PREFIX_STREAM_ROWS2_KERNEL_H
#define PREFIX_STREAM_ROWS2_KERNEL_H

#include "prefix_stream_kernel.h"

/* QK^T of one 64-row block against the whole 64-key chunk at sk: wgmma
 * m64n64k16, Q (sqb) and K both K-major SW128 [2][64][64] tiles, one group */
#if PTX_WGMMA
template <typename T>
static __device__ __forceinline__ void ps_rows2_qk(float (&s)[8][4], uint64_t dq, uint64_t dk)
{
#pragma unroll
	for (int ks = 0; ks < 8; ++ks) {
		const uint32_t off = (ks >> 2) * 8192 + (ks & 3) * 32;
		wgmma_m64n64k16_ss<T>(s, wg_desc_add(dq, off), wg_desc_add(dk, off), ks);
	}
	wg_commit();
}

/* the online-softmax step of one block's scores (P into pa, k16-major as
 * the PV wgmma's A fragments), then its PV issued as one group */
template <typename T>
static __device__ __forceinline__ void ps_rows2_softmax_pv(float (&s)[8][4], float (&o)[16][4],
							   softmax_state_f (&st)[2], float scale, uint64_t dv)
{
	float a2[2]; /* 1: P is against the running max (the lazy step) */
	ps_softmax_step<8, true>(s, o, scale, st, a2);
	uint32_t pa[4][4];
	ps_pack_p<T>(s, pa);
	wg_fence(); /* o (rescaled) and pa were written by ordinary instructions */
#pragma unroll
	for (int kk = 0; kk < 4; ++kk)
#pragma unroll
		for (int dh = 0; dh < 2; ++dh)
			wgmma_m64n64k16_rs<T>(&o[dh * 8], pa[kk], wg_desc_add(dv, dh * 8192 + 16 * kk * 128));
	wg_commit();
}
#endif

/* KG2 (65-128 rows): both warpgroups hold all the rows (blocks 0 and 1) and
 * take alternate chunks as two key groups, merged at the end
 * (ps_merge_key_groups per block); NSTAGE is even (6: three chunks ahead a
 * warpgroup, as the 4-block form's one pipeline of 4), so chunk i's stage only
 * ever holds chunks of i's warpgroup, which refills it itself once its 128
 * threads have retired their reads (a named barrier of the warpgroup; no
 * empty mbarrier). */
/* PP (the variant prefix_stream_pingpong): FA3's warpgroup ping-pong on
 * top -- the two warpgroups issue their QK^T in turn (named barriers
 * PS_PP_BAR + w: "warpgroup w may issue"), so that one's QK^T runs on the
 * tensor cores while the other works its softmax instead of both
 * contending at once.  Counts: warpgroup w syncs its barrier once a chunk
 * of its own; after issuing, it arrives on the other's once if the other
 * issues next (two blocks, 129-256 rows: both take every chunk, so
 * warpgroup 0 always, warpgroup 1 unless it is the last chunk; KG2, 65-128
 * rows, session 12: they take alternate chunks, so either one iff a chunk
 * follows its own), and warpgroup 1 arrives once before its first chunk (so
 * warpgroup 0 goes first): every barrier generation completes, none is
 * left half-arrived at exit. */
#define PS_PP_BAR 3 /* ids 3 and 4 (0: __syncthreads; 1-2: KG2's refills) */
template <bool FP16, bool GQA, bool KG2, bool PP = false>
__global__ void __launch_bounds__(PS_ROWS2_THREADS, 1) prefix_stream_rows2_kernel(const __grid_constant__ ps_params p)
{
#if PTX_WGMMA
	typedef typename ps_type<FP16>::T T;
	constexpr int NSTAGE = KG2 ? PS_ROWS2_KG_NSTAGE : PS_ROWS2_NSTAGE, NTHR = PS_ROWS2_THREADS;
	constexpr int NB = KG2 ? PS_ROWS2_KG_BLOCKS : PS_ROWS2_BLOCKS; /* Q's 64-row blocks */
	static_assert(!KG2 || NSTAGE % 2 == 0, "a stage must hold one warpgroup's chunks only");
	extern __shared__ __align__(1024) unsigned char smem[];

	const int tid = threadIdx.x;
	/* the warpgroup from lane 0: warp-uniform to the compiler, so that the
	 * wgmma descriptors built on it stay in uniform registers */
	const int wgi = (int)warp_uniform((uint32_t)tid >> 7), gidx = tid & 127, lane = tid & 31, wq = gidx >> 5;
	const int S = p.splits, H = p.n_heads, n_rows = ps_batch_rows(p);
	const int KVH = GQA ? p.n_kv_heads : H; /* the pool's heads */
	const int h = blockIdx.x / S, split = blockIdx.x - h * S; /* h: K/V head */
	const int c0 = PS_SPLIT_BEGIN(split, p.n_chunks, S);
	const int nk = PS_SPLIT_BEGIN(split + 1, p.n_chunks, S) - c0;

	const uint32_t sbase = smem_u32(smem);
	const uint32_t sq = sbase + NSTAGE * PS_STAGE_BYTES; /* Q: NB x [2][64][64] SW128 */
	if ((sbase & 1023u) != 0)
		__trap(); /* the swizzle atoms must start on 1024-byte boundaries */
	const uint32_t sbar = sq + NB * 16384;             /* "full" mbarriers, one a stage */
	const uint32_t sempty = sbar + 8 * NSTAGE;         /* "empty" mbarriers (NTHR arrivals) */

	/* prologue as prefix_stream_wgmma_kernel's: the next launch may start,
	 * thread 0 prefetches the maps and sets up the barriers, K/V first */
	pdl_trigger();
	if (tid == 0)
		ps_tma_setup<NSTAGE, true>(p, sbar, sempty, NTHR);
	if (!p.kv_early)
		pdl_wait(); /* q, k, v may be written by the previous kernel */
	ps_chunk_index pool_index = { p.chunks, p.n_chunks, -1, 0, 0 };
	auto load_chunk = [&](int c, int stage) {
		const int pool_c = pool_index(c); /* every thread of the one calling warp, in step */
		if (lane == 0)
			ps_tma_load_chunk(p, sbase + stage * PS_STAGE_BYTES, sbar + 8 * stage, (pool_c * KVH + h) * PS_CHUNK);
	};
	if (tid < 32) {
#pragma unroll
		for (int st = 0; st < NSTAGE; ++st)
			if (st < nk)
				load_chunk(c0 + st, st);
	}
	if (p.kv_early)
		pdl_wait(); /* k, v are read-only for the kernels around this one */

	/* Q: every block's 64 rows, rows past n_rows zero */
	for (int i = tid; i < NB * 64 * 16; i += NTHR) {
		const int r = i >> 4, j = i & 15;
		const bool ok = r < n_rows;
		const char *src = p.q + (ok ? ps_qrow<GQA>(p, r, H, h) * (PS_D * 2) + j * 16 : 0);
		cp_async16(sq + (r >> 6) * 16384 + swz128(r & 63, j, 64), src, ok ? 16 : 0);
	}
	cp_async_commit();
	cp_async_wait<0>();
	fence_proxy_async_smem(); /* Q, written through the generic proxy, read by the tensor cores */
	__syncthreads();          /* mbarrier init and Q visible to every thread */

	float oa[16][4], ob[16][4];
#pragma unroll
	for (int i = 0; i < 16; ++i) {
		oa[i][0] = oa[i][1] = oa[i][2] = oa[i][3] = 0.f;
		ob[i][0] = ob[i][1] = ob[i][2] = ob[i][3] = 0.f;
	}
	softmax_state_f sta[2] = {softmax_init_f(), softmax_init_f()};
	softmax_state_f stb[2] = {softmax_init_f(), softmax_init_f()};
	const float scale = p.scale;
	const int blk0 = KG2 ? 0 : 2 * wgi; /* this warpgroup's first row block */
	const uint32_t sqa = sq + blk0 * 16384, sqb = sqa + 16384;
	const uint64_t dqa = wg_desc(sqa, 16, 1024), dqb = wg_desc(sqb, 16, 1024); /* Q's, fixed */

	if constexpr (PP) {
		if (wgi == 1 && nk > 0)
			bar_arrive<PS_PP_BAR, 256>(); /* warpgroup 0 issues first */
	}
	/* chunk c's stage ready: its K and V descriptors (the stage from lane 0,
	 * warp-uniform: the descriptors stay in uniform registers) */
	auto stage_desc = [&](int c, uint64_t &dk, uint64_t &dv) {
		const int stage = c % NSTAGE;
		mbar_wait(sbar + 8 * stage, (uint32_t)(c / NSTAGE) & 1u);
		const uint32_t sk = warp_uniform(sbase + stage * PS_STAGE_BYTES);
		dk = wg_desc(sk, 16, 1024);
		dv = wg_desc(sk + PS_TILE_BYTES, 1024, 1024);
	};
	/* chunk c's reads retired (its PV_B too): its stage goes back to the loads */
	auto release = [&](int c) {
		const int stage = c % NSTAGE;
		if constexpr (KG2) {
			/* the warpgroup's reads of the stage are done: its warp 0
			 * refills it with its chunk c + NSTAGE */
			if (wgi == 0)
				bar_sync<1, 128>();
			else
				bar_sync<2, 128>();
			if (gidx < 32 && c + NSTAGE < nk)
				load_chunk(c0 + c + NSTAGE, stage);
		} else {
			mbar_arrive(sempty + 8 * stage); /* this thread's reads of the stage are done */
			/* warp 0 (load_chunk reads the chunk table warp-wide): chunk
			 * c - 1's stage, once every thread has released it, takes chunk
			 * c - 1 + NSTAGE */
			const int nc = c - 1 + NSTAGE;
			if (tid < 32 && c >= 1 && nc < nk) {
				const int ps = (c - 1) % NSTAGE;
				mbar_wait(sempty + 8 * ps, (uint32_t)((c - 1) / NSTAGE) & 1u);
				load_chunk(c0 + nc, ps);
			}
		}
	};
	float sa[8][4], sb[8][4]; /* each QK's first k-step overwrites them */
#pragma unroll
	for (int t = 0; t < 8; ++t) {
		sa[t][0] = sa[t][1] = sa[t][2] = sa[t][3] = 0.f;
		sb[t][0] = sb[t][1] = sb[t][2] = sb[t][3] = 0.f;
	}
	/* v18: chunks in pairs (i, j = the warpgroup's next): j's QK_A is issued
	 * while i's PV_B still runs, so the tensor pipe is not drained between
	 * them; every group retires inside the body (none in flight across the
	 * back edge: see the header).  The ping-pong form keeps one chunk a body. */
	/* with a chunk's QK_A and QK_B the last two groups issued: each block's
	 * softmax once its QK retires, its PV issued (PV_A runs through B's) */
	auto softmax_pv_ab = [&](uint64_t dv) {
		wg_wait<1>(); /* QK_A retired (QK_B may run) */
		ps_rows2_softmax_pv<T>(sa, oa, sta, scale, dv);
		wg_wait<1>(); /* QK_B retired (PV_A may run) */
		ps_rows2_softmax_pv<T>(sb, ob, stb, scale, dv);
	};
	constexpr int STEP = KG2 ? 2 : 1, PAIR = PP || KG2 ? 1 : 2;
	/* the pair's middle waits for chunk i + 1 before releasing chunk i: with
	 * two stages chunk i + 1 would only be loaded by that release */
	static_assert(PAIR == 1 || NSTAGE >= 3, "v18's pairs need three stages or more");
	for (int i = KG2 ? wgi : 0; i < nk; i += PAIR * STEP) {
		uint64_t dk, dv;
		stage_desc(i, dk, dv);
		wg_fence();
		if constexpr (PP) { /* this warpgroup's turn to issue */
			if (wgi == 0)
				bar_sync<PS_PP_BAR, 256>();
			else
				bar_sync<PS_PP_BAR + 1, 256>();
		}
		ps_rows2_qk<T>(sa, dqa, dk);
		ps_rows2_qk<T>(sb, dqb, dk);
		if constexpr (PP) { /* the other's turn */
			if (wgi == 0 && (!KG2 || i + 1 < nk))
				bar_arrive<PS_PP_BAR + 1, 256>();
			else if (wgi == 1 && i + 1 < nk)
				bar_arrive<PS_PP_BAR, 256>();
		}
		softmax_pv_ab(dv);
		const int j = i + STEP;
		if (PAIR == 1 || j >= nk) {
			wg_wait<0>(); /* PV_A, PV_B retired */
			release(i);
			continue;
		}
		stage_desc(j, dk, dv);
		/* PV_A(i) retired: sa free -- ptxas packs P_A inside sa's registers,
		 * so this wait (and the next, for P_B in sb's) is what keeps QK(j)
		 * from overwriting a P that a PV still reads; PV_B(i) may run */
		wg_wait<1>();
		wg_fence();
		ps_rows2_qk<T>(sa, dqa, dk);
		wg_wait<1>(); /* PV_B(i) retired: sb and chunk i free (QK_A(j) may run) */
		wg_fence();
		ps_rows2_qk<T>(sb, dqb, dk);
		release(i);
		softmax_pv_ab(dv);
		wg_wait<0>(); /* PV_A(j), PV_B(j) retired: nothing in flight across the back edge */
		release(j);
	}

	__syncthreads(); /* stage buffers (and Q) free from here on */
	/* (head, split) and the warpgroup again from the block and thread
	 * indices: kept through the loop, the key-group form spilled the first
	 * two and v18's paired loop the warpgroup (4-8 bytes, nvcc 13.0) */
	const int eh = (int)blockIdx.x / p.splits, esplit = (int)blockIdx.x - eh * p.splits;
	const int ewgi = (int)(threadIdx.x >> 7), erow0 = (KG2 ? 0 : 2 * ewgi) * 64 + wq * 16 + (lane >> 2);
	ps_epilogue_2blocks<KG2 ? 2 : 1, GQA>(p, oa, sta, ob, stb, KG2 ? ewgi : 0, erow0, gidx, eh, esplit, smem);
#else
	__trap(); /* built without sm_90a: the planner never picks this kernel there */
#endif
}

#endif
