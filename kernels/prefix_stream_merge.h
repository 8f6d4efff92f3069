/* prefix_stream_merge.h - the epilogue of prefix_stream's two kernels
 * (kernels/prefix_stream_kernel.h includes it after struct ps_params): the
 * merges of the online-softmax states (m, l, o) a CTA's threads hold, one
 * function per merge path, and ps_epilogue() that chains them.
 *
 *   ps_merge_key_groups  the KG key groups of one CTA, through shared memory
 *   ps_merge_cluster     S > 1, the head's S CTAs one cluster: each merges a
 *                        slice of the rows over distributed shared memory
 *                        (ps_cluster_store, then ps_cluster_reduce)
 *   ps_write_rows        S == 1: the output; S > 1 global: this split's partial
 *   ps_meet_global       S > 1 global: the head's S CTAs meet on a counter
 *   ps_merge_global      then each merges a slice of the rows from the partials
 *
 * ps_epilogue_2blocks chains the same paths for v11's kernel, whose
 * threads hold two row blocks each.
 * Every merge folds with softmax_fold_f/softmax_update_f (softmax_merge.h).
 * Which path a launch takes is the plan's (kernels/prefix_stream_plan.h):
 * p.splits and p.cluster.  "Head" h is the CTA's K/V head and "rows" its
 * n_rows query rows throughout; only the stores to out go through ps_qrow
 * (the GQA flag: a row's (sequence, query head)).  On a tree workload
 * (p.part_o, v13) those stores go to partial slot 0 instead (ps_part_row).
 */
#ifndef PREFIX_STREAM_MERGE_H
#define PREFIX_STREAM_MERGE_H

/* Tree workloads (p.part_o): the partial-slot row of out row q (= ps_qrow:
 * sequence q / n_heads, query head q % n_heads) in slot 0 of
 * merge.h's [n_parts][n_heads][n_seqs] rows, and the (m, l) it stores:
 * (m + ln l, 1), the same state as (m, l, o) for o stored divided by l. */
static __device__ __forceinline__ size_t ps_part_row(const ps_params &p, size_t q)
{
	/* q < n_seqs x n_heads < 2^25 on a tree workload (ps_plan_check_levels):
	 * a 32-bit division */
	const unsigned H = (unsigned)p.n_heads, q32 = (unsigned)q, seq = q32 / H, head = q32 - seq * H;
	return (size_t)head * (unsigned)p.part_seqs + seq;
}
static __device__ __forceinline__ uint32_t ps_part_pack(const ps_params &p, float x, float y)
{
	return p.part_fp16 ? pack2<__half>(x, y) : pack2<__nv_bfloat16>(x, y);
}
static __device__ __forceinline__ void ps_store_part_ml(const ps_params &p, size_t prow, float m, float l)
{
	p.part_ml[prow] = make_float2(m + logf(l), 1.f);
}

/* out[ps_qrow(row)][4*d4 .. 4*d4+3] = acc / l: one merged (row, 4 columns)
 * item (tree workloads: partial slot 0, with (m, l) from the d4 = 0 item) */
template <bool GQA>
static __device__ __forceinline__ void ps_store_out(const ps_params &p, int row, int H, int h, int d4, float m,
						    float l, const float (&acc)[4])
{
	const float inv = 1.f / l;
	const size_t q = ps_qrow<GQA>(p, row, H, h);
	if (p.part_o) {
		const size_t prow = ps_part_row(p, q);
		*(uint2 *)((char *)p.part_o + prow * PS_D * 2 + d4 * 8) =
			make_uint2(ps_part_pack(p, acc[0] * inv, acc[1] * inv), ps_part_pack(p, acc[2] * inv, acc[3] * inv));
		if (d4 == 0)
			ps_store_part_ml(p, prow, m, l);
		return;
	}
	*(float4 *)(p.out + q * PS_D + d4 * 4) = make_float4(acc[0] * inv, acc[1] * inv, acc[2] * inv, acc[3] * inv);
}

/* What every merge needs of the CTA, read once at the epilogue's start. */
struct ps_cta {
	int tid, nthr;         /* threadIdx.x, blockDim.x */
	int S, H, nqg, n_rows; /* p.splits, p.n_heads, p.nqg, the batch's rows (ps_batch_rows) */
	int h, split;          /* this CTA's K/V head and split */
	int hb;                /* its (batch, K/V head): the partials' and the counters' head */
};
static __device__ __forceinline__ ps_cta ps_cta_of(const ps_params &p, int h, int split)
{
	return {(int)threadIdx.x, (int)blockDim.x, p.splits, p.n_heads, p.nqg, ps_batch_rows(p), h, split,
		(int)blockIdx.y * p.n_kv_heads + h};
}
/* partial row of (c's head, split sp, row): every batch strided by the
 * first's rows (p.n_rows), so the last batch's fewer rows fit in place */
static __device__ __forceinline__ size_t ps_part_idx(const ps_params &p, const ps_cta &c, int sp, int row)
{
	return ((size_t)c.hb * c.S + sp) * (unsigned)p.n_rows + row;
}

/* The thread layout every function here assumes.  A "group" of GT threads
 * (a warp for mma.sync, a warpgroup for wgmma) owns 16 (GT 32) or 64
 * (GT 128) query rows; thread gidx of it holds rows row0 and row0 + 8 in
 * the accumulator layout
 *   o[t][e]: column 8t + 2*(gidx & 3) + (e & 1), row row0 + 8*(e >> 1)
 * (the same for m16n8 mma.sync tiles and wgmma m64nN accumulators).  Groups
 * kgi = 1..KG-1 hold other keys of the same rows as group kgi = 0. */

/* Key groups kgi = 1..KG-1 leave their state in shared memory, kgi 0 folds
 * them into its own.  Ends with the CTA's merged state in kgi 0. */
template <int KG, int GT>
static __device__ __forceinline__ void ps_merge_key_groups(const ps_cta &c, float (&o)[16][4],
							   softmax_state_f (&st)[2], int kgi, int qg, int gidx,
							   unsigned char *smem)
{
	const int nqg = c.nqg;
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
			float a10, a20, a11, a21; /* scalars: see ps_epilogue on the code's shape */
			softmax_update_f(&st[0], w[0 * GT], w[2 * GT], &a10, &a20);
			softmax_update_f(&st[1], w[1 * GT], w[3 * GT], &a11, &a21);
#pragma unroll
			for (int t = 0; t < 16; ++t) {
				o[t][0] = a10 * o[t][0] + a20 * w[(4 + t * 4 + 0) * GT];
				o[t][1] = a10 * o[t][1] + a20 * w[(4 + t * 4 + 1) * GT];
				o[t][2] = a11 * o[t][2] + a21 * w[(4 + t * 4 + 2) * GT];
				o[t][3] = a11 * o[t][3] + a21 * w[(4 + t * 4 + 3) * GT];
			}
		}
	}
}

#if !defined(__CUDA_ARCH__) || __CUDA_ARCH__ >= 900 /* clusters are sm_90+; ps_plan_check refuses older GPUs */
/* S > 1 in a cluster (p.cluster): each CTA leaves its merged state (o, m, l
 * of all its rows) in its own shared memory (ps_cluster_store, once per row
 * block a thread holds), the cluster meets, and CTA j merges query rows
 * [j*n/S, (j+1)*n/S) over the S CTAs' shared memory (distributed shared
 * memory reads), then writes the output (ps_cluster_reduce).  The states
 * take ps_cluster_npad() rows: the padded rows of the CTA's query groups. */
template <int GT>
static __device__ __forceinline__ int ps_cluster_npad(const ps_cta &c)
{
	return c.nqg * (GT == 32 ? 16 : 64);
}

template <int GT>
static __device__ __forceinline__ void ps_cluster_store(const ps_cta &c, float (&o)[16][4], softmax_state_f (&st)[2],
							int kgi, int row0, int gidx, unsigned char *smem)
{
	const int npad = ps_cluster_npad<GT>(c);
	float *st_o = (float *)smem;                                /* [npad][128] */
	float2 *st_ml = (float2 *)(smem + (size_t)npad * PS_D * 4); /* [npad] */
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
}

template <int GT, bool GQA>
static __device__ __forceinline__ void ps_cluster_reduce(const ps_params &p, const ps_cta &c, unsigned char *smem)
{
	const int npad = ps_cluster_npad<GT>(c);
	const int tid = c.tid, nthr = c.nthr;
	const int S = c.S, H = c.H, n_rows = c.n_rows, h = c.h, split = c.split;
	float *st_o = (float *)smem;
	float2 *st_ml = (float2 *)(smem + (size_t)npad * PS_D * 4);
	cluster_sync();
	const int r0 = PS_SPLIT_BEGIN(split, n_rows, S);
	const int R = PS_SPLIT_BEGIN(split + 1, n_rows, S) - r0;
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
		ps_store_out<GQA>(p, row, H, h, d4, ms.m, ms.l, acc);
	}
	/* keep this CTA's shared memory alive until every peer has read it */
	cluster_sync();
}

template <int GT, bool GQA>
static __device__ __forceinline__ void ps_merge_cluster(const ps_params &p, const ps_cta &c, float (&o)[16][4],
							softmax_state_f (&st)[2], int kgi, int row0, int gidx,
							unsigned char *smem)
{
	__syncthreads(); /* the KG scratch is read by now */
	ps_cluster_store<GT>(c, o, st, kgi, row0, gidx, smem);
	ps_cluster_reduce<GT, GQA>(p, c, smem);
}
#endif

/* Key group 0 writes its rows: the final output (S == 1) or this split's
 * partial (unnormalized o, and (m, l)) for the global merge. */
template <bool GQA>
static __device__ __forceinline__ void ps_write_rows(const ps_params &p, const ps_cta &c, float (&o)[16][4],
						     softmax_state_f (&st)[2], int kgi, int row0, int gidx)
{
	const int S = c.S, H = c.H, n_rows = c.n_rows, h = c.h, split = c.split;
	if (kgi == 0) {
#pragma unroll
		for (int half = 0; half < 2; ++half) {
			const int row = row0 + half * 8;
			if (row >= n_rows)
				continue;
			const int col = (gidx & 3) * 2;
			if (S == 1) {
				const float inv = 1.f / st[half].l;
				const size_t q = ps_qrow<GQA>(p, row, H, h);
				if (p.part_o) { /* tree workloads: partial slot 0 */
					const size_t prow = ps_part_row(p, q);
					uint32_t *dst = (uint32_t *)((char *)p.part_o + prow * PS_D * 2) + col / 2;
#pragma unroll
					for (int t = 0; t < 16; ++t)
						dst[t * 4] = ps_part_pack(p, o[t][2 * half] * inv, o[t][2 * half + 1] * inv);
					if ((gidx & 3) == 0)
						ps_store_part_ml(p, prow, st[half].m, st[half].l);
					continue;
				}
				float *dst = p.out + q * PS_D + col;
#pragma unroll
				for (int t = 0; t < 16; ++t)
					*(float2 *)(dst + t * 8) = make_float2(o[t][2 * half] * inv, o[t][2 * half + 1] * inv);
			} else {
				const size_t pidx = ps_part_idx(p, c, split, row);
				float *dst = p.po + pidx * PS_D + col;
#pragma unroll
				for (int t = 0; t < 16; ++t)
					*(float2 *)(dst + t * 8) = make_float2(o[t][2 * half], o[t][2 * half + 1]);
				if ((gidx & 3) == 0)
					p.pml[pidx] = make_float2(st[half].m, st[half].l);
			}
		}
	}
}

/* The S CTAs of head h meet once all have written their partials (all
 * resident: one wave, launched cooperatively or with PDL; see ps_plan.coop).
 * ps_head_ctr[hb] (per batch and K/V head): arrivals in the low 16 bits, a generation above.  The last
 * of the S to arrive zeroes the count and bumps the generation (ready for
 * the next launch), the others wait for the bump: one release + one atomic
 * round trip per CTA. */
static __device__ __forceinline__ void ps_meet_global(const ps_cta &c)
{
	const int S = c.S;
	__syncthreads();
	if (c.tid == 0) {
		unsigned *ctr = &ps_head_ctr[c.hb];
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
}

/* After the meet: split j merges query rows [j*n/S, (j+1)*n/S) of K/V head
 * h from the S partials and writes the output; G groups of threads each fold
 * every G-th partial (up to 4 loads in flight), combined through shared
 * memory when G > 1. */
template <bool GQA>
static __device__ __forceinline__ void ps_merge_global(const ps_params &p, const ps_cta &c, unsigned char *smem)
{
	const int tid = c.tid, nthr = c.nthr;
	const int S = c.S, H = c.H, n_rows = c.n_rows, h = c.h, split = c.split;
	const int r0 = PS_SPLIT_BEGIN(split, n_rows, S);
	const int R = PS_SPLIT_BEGIN(split + 1, n_rows, S) - r0;
	if (R <= 0)
		return;
	const int items = R * 32; /* (row, 4 columns) */
	int G = nthr / items;     /* split groups merged in parallel, then combined */
	if (G < 1)
		G = 1;
	if (G > S)
		G = S;
	const float4 *po4 = (const float4 *)p.po;
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
					const size_t pidx = ps_part_idx(p, c, sp + u * G, row);
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
			ps_store_out<GQA>(p, row, H, h, d4, ms.m, ms.l, acc);
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
			ps_store_out<GQA>(p, row, H, h, d4, ms.m, ms.l, acc);
		}
	}
}

/* Shared by both kernels, after the last chunk (stage buffers free): the
 * CTA's key groups merged, then the output (S == 1), or the partials, the
 * meet and the global merge, or the cluster merge (p.cluster).
 * The cluster merge's call comes last in the text on purpose: the inliner
 * places each inlined callee's locals ahead of the earlier ones, and in this
 * order (with scalar rescale factors in ps_merge_key_groups) the kernels'
 * code is the same, instruction for instruction and register for register,
 * as when these merges were one function (cuobjdump -sass on sm_90a, sm_90
 * and sm_80; docs/kernels/prefix_stream.md, "the split").  Reordering them
 * is correct but changes the register allocation. */
template <int KG, int GT, bool GQA>
static __device__ __forceinline__ void ps_epilogue(const ps_params &p, float (&o)[16][4], softmax_state_f (&st)[2],
						   int kgi, int qg, int row0, int gidx, int h,
						   int split, unsigned char *smem)
{
	const ps_cta c = ps_cta_of(p, h, split);
#pragma unroll
	for (int r = 0; r < 2; ++r) {
		st[r].l = quad_sum(st[r].l);
	}
	if constexpr (KG > 1)
		ps_merge_key_groups<KG, GT>(c, o, st, kgi, qg, gidx, smem);
#if !defined(__CUDA_ARCH__) || __CUDA_ARCH__ >= 900
	const bool in_cluster = c.S > 1 && p.cluster;
#else
	const bool in_cluster = false; /* no clusters before sm_90 */
#endif
	if (!in_cluster) {
		ps_write_rows<GQA>(p, c, o, st, kgi, row0, gidx);
		if (c.S == 1)
			return;
		ps_meet_global(c);
		ps_merge_global<GQA>(p, c, smem);
		return;
	}
#if !defined(__CUDA_ARCH__) || __CUDA_ARCH__ >= 900
	ps_merge_cluster<GT, GQA>(p, c, o, st, kgi, row0, gidx, smem);
#endif
}

/* The epilogue of v11's kernel (prefix_stream_rows2_kernel.h): a thread
 * holds two 64-row blocks of one warpgroup (rows row0a, row0a + 8 and
 * those + 64); KG key groups (2: the warpgroups took alternate chunks of
 * the same rows, block b being query group b) merged first; then each merge
 * path as ps_epilogue's, the per-thread stores once per block. */
template <int KG, bool GQA>
static __device__ __forceinline__ void ps_epilogue_2blocks(const ps_params &p, float (&oa)[16][4],
							   softmax_state_f (&sta)[2], float (&ob)[16][4],
							   softmax_state_f (&stb)[2], int kgi, int row0a, int gidx, int h,
							   int split, unsigned char *smem)
{
	const ps_cta c = ps_cta_of(p, h, split);
#pragma unroll
	for (int r = 0; r < 2; ++r) {
		sta[r].l = quad_sum(sta[r].l);
		stb[r].l = quad_sum(stb[r].l);
	}
	if constexpr (KG > 1) {
		ps_merge_key_groups<KG, 128>(c, oa, sta, kgi, 0, gidx, smem);
		ps_merge_key_groups<KG, 128>(c, ob, stb, kgi, 1, gidx, smem);
	}
#if !defined(__CUDA_ARCH__) || __CUDA_ARCH__ >= 900
	if (c.S > 1 && p.cluster) {
		if constexpr (KG > 1)
			__syncthreads(); /* the key groups' scratch is read by now */
		ps_cluster_store<128>(c, oa, sta, kgi, row0a, gidx, smem);
		ps_cluster_store<128>(c, ob, stb, kgi, row0a + 64, gidx, smem);
		ps_cluster_reduce<128, GQA>(p, c, smem);
		return;
	}
#endif
	ps_write_rows<GQA>(p, c, oa, sta, kgi, row0a, gidx);
	ps_write_rows<GQA>(p, c, ob, stb, kgi, row0a + 64, gidx);
	if (c.S == 1)
		return;
	ps_meet_global(c);
	ps_merge_global<GQA>(p, c, smem);
}

#endif
