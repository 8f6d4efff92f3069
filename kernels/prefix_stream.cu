/* prefix_stream.cu - "prefix_stream": shared-prefix decode attention that
 * streams the prefix K/V once, at the device's read bandwidth where the
 * config is large enough to fill the chip.
 *
 * Contract: kernels/attn.h (layouts, check/workspace/launch); the one
 * online-softmax merge rule is softmax_merge_f from kernels/softmax_merge.h
 * (per 32-key tile, across key groups, across splits).
 *
 * Files
 *   prefix_stream_plan.h/.c  the planner, plain C (pure: shape + device
 *                            limits -> plan), unit-tested on the CPU
 *   prefix_stream_kernel.h   the kernels' parameters, the mma.sync and wgmma
 *                            kernels
 *   prefix_stream_merge.h    their epilogue: one function per merge path
 *   prefix_stream.cu         (this file) the host side: device facts, the
 *                            plan cache, launch, the registry variants
 *
 * ---------------------------------------------------------------------------
 * Design (v8)
 *   grid      n_kv_heads x S CTAs; CTA (h, j) owns the contiguous chunk range
 *             [j*C/S, (j+1)*C/S) of K/V head h and ALL the query rows that
 *             read it -- the n_seqs sequences x the g = n_heads/n_kv_heads
 *             query heads of h (MHA: g = 1, n_seqs rows; GQA/MQA: row r is
 *             sequence r / g of head h*g + r % g, n_seqs x g <= 256 rows) --
 *             so every K/V byte is read from DRAM exactly once, for all g
 *             heads' queries (matrix-matrix).  S = min(C, SMs/n_kv_heads)
 *             (one CTA per SM; unsplit when n_kv_heads >= SMs; S = 2, two
 *             CTAs an SM, where SMs/2 < n_kv_heads < SMs and each CTA keeps
 *             >= 64 chunks), or a smaller S that lets the head's CTAs form
 *             one cluster (ps_plan_grid() in prefix_stream_plan.c).  Split
 *             grids of at most SMs CTAs launch one CTA per SM
 *             (PS_SPREAD_SMEM).
 *   pipeline  one stage = one chunk of one head = K tile + V tile, each a
 *             contiguous 16 KiB.  sm_90a: TMA (cp.async.bulk.tensor, a 2-D
 *             map of k/v as [rows][128], 64x64 boxes, 128-byte swizzle) on
 *             one mbarrier per stage, thread 0 issuing; 3 stages (4 when
 *             rows > 64).  sm_90 fallback: cp.async 16 B, XOR swizzle.
 *   math      sm_90a: warpgroup MMA.  A warpgroup owns 64 query rows and 32
 *             keys per step: S = Q K^T with wgmma m64n32k16 (Q and K from
 *             shared memory), online softmax in registers, O += P V with
 *             wgmma m64n64k16 (P from registers, V N-major from shared
 *             memory).  rows <= 64: 2 warpgroups split each chunk's 64 keys
 *             (256 threads, 112 KiB, 2 CTAs/SM); <= 128: 4 warpgroups;
 *             <= 256: 4 warpgroups x 64 rows, 2 steps per chunk.  Fallback
 *             (sm_90): mma.sync m16n8k16 + ldmatrix, a warp per 16 rows.
 *             bf16 and fp16 in, fp32 accumulate, P rounded to the input type.
 *   merges    key groups of a CTA through shared memory; splits: S <= 8
 *             as a thread-block cluster exchanging (m, l, o) through
 *             distributed shared memory (no workspace) where all n_kv_heads
 *             clusters fit on the chip at once; else through fp32 partials
 *             in the workspace and a per-K/V-head generation counter (one wave, so
 *             waiting is safe), each CTA then merging a slice of the query
 *             rows.  One launch per forward pass; above 256 query rows
 *             per K/V head the grid's second dimension is batches of
 *             whole sequences (v12), each batch its own heads for the
 *             splits, merges and counters.
 *   launch    programmatic dependent launch where it pays (small or spread
 *             grids, short CTAs): CTAs trigger the next grid at entry and
 *             touch global memory only after griddepcontrol.wait, so the
 *             next launch's start overlaps this one's tail.  Cooperative
 *             launch for the global meet only without PDL.
 *
 * Bytes (bf16/fp16, per forward pass)
 *   K/V read       n_kv_heads * n_chunks * 32 KiB (once; MHA: blocks * 32 KiB)
 *   Q read         n_seqs * n_heads * 256 B per split (L2)
 *   partials       S >= 3: n_kv_heads * S * rows * 520 B written + read (L2)
 *                  (= n_heads * S * n_seqs * 520 B)
 *   out written    n_seqs * n_heads * 512 B
 *   floor          K/V bytes / ~3.0 TB/s: 16 blocks 0.5 MB -> 0.17 us
 *                  (latency-bound), 4096 blocks 134 MB -> 45 us, 65536
 *                  blocks 2.15 GB -> 716 us.
 *
 * Tree workloads (v13): group chunks and suffixes run as three launches --
 * this kernel over the common prefix into partial slot 0, the levels after
 * it on split_decode's grid (kernels/tree_levels.h, hydragen's core) into
 * slots 1.., merge.cu's fold -- see "tree workloads" below.
 *
 * Limits: chunk_size 64, d_head 128, n_heads/n_kv_heads <= 256 query heads
 * per K/V head (check() says so; more than 256 query rows per K/V head run
 * as batches of whole sequences in the same launch, ps_plan_batches).  The
 * global-merge per-head counters are module globals whose count returns to
 * zero at the end of each launch: do not run two such launches of this
 * kernel at once (different streams) on one device.  workspace() and
 * launch() must see the same current device.  The host state (device
 * facts, occupancy, plans, tensor maps) is cached per process, not
 * thread-safe (run-kernel launches from one thread).
 *
 * Variants (registry entries; each forces one plan choice that changes the
 * code path, plans the rest as the default, and refuses with a reason the
 * shapes where its path cannot run): prefix_stream_mma (mma.sync +
 * cp.async), prefix_stream_cpasync (wgmma + cp.async), prefix_stream_kv_early
 * (PDL, K/V TMA loads before the grid wait: valid only where the kernel
 * launched before it in the stream never writes k/v), prefix_stream_global_merge,
 * prefix_stream_cluster_merge, prefix_stream_s1/_s2/_s4/_s8 (that many splits).
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
 * S = SMs/H splits with a cluster merge, v6 PDL, one CTA per SM and
 * cluster merges where all clusters fit (16 blocks 10.2 -> 7.3 us), v7 K/V
 * through the chunk pool's tables (attn_common_chunks), v8 GQA/MQA: the
 * grid per K/V head, its g heads' queries the tiles' rows; v8a the softmax
 * step, v8c no L2 promotion on the tensor maps and S = 2 at SMs/2 < H <
 * SMs (256 x 256 0.537 -> 0.495 ms), v9 more than 256 query rows per K/V
 * head as sub-batch launches, v10 tile variant 1's stages released on
 * empty mbarriers (no __syncthreads a chunk), v13 tree workloads (the
 * prefix into a partial slot, the other levels through tree_levels), v12
 * (current; after v13) the sub-batches as the grid's y in one launch.  The
 * version log with predictions and measurements: docs/kernels/prefix_stream.md.
 */
#include <cuda.h>
#include <cuda_runtime.h>
#include <stdint.h>
#include <string.h>

#include "attn.h"
#include "level_plan.h"
#include "merge.h"
#include "prefix_stream_plan.h"
#include "prefix_stream_kernel.h"
#include "prefix_stream_rows2_kernel.h"
#include "tree_levels.h" /* the tree's levels after the common prefix (v13) */

/* ---------------------------------------------------------------- host */
typedef void (*ps_kernel_fn)(const ps_params);

/* [gqa: 0 MHA, 1 GQA/MQA rows][path: 0 mma.sync + cp.async, 1 wgmma + cp.async,
 * 2 wgmma + TMA][dtype][variant] */
#define PS_MMA_KERNELS(F, GQA)                                                                    \
	{prefix_stream_mma_kernel<F, 16, 1, 3, GQA>, prefix_stream_mma_kernel<F, 32, 1, 3, GQA>,  \
	 prefix_stream_mma_kernel<F, 32, 2, 4, GQA>}
#define PS_WGMMA_KERNELS(F, TMA, GQA)                                                             \
	{prefix_stream_wgmma_kernel<F, 2, 1, 3, TMA, GQA, false>,                                 \
	 prefix_stream_wgmma_kernel<F, 2, 1, 4, TMA, GQA, TMA && PS_WS>,                          \
	 prefix_stream_wgmma_kernel<F, 1, 2, 4, TMA, GQA, false>}
#define PS_KERNEL_TABLE(GQA)                                                                      \
	{{PS_MMA_KERNELS(false, GQA), PS_MMA_KERNELS(true, GQA)},                                 \
	 {PS_WGMMA_KERNELS(false, false, GQA), PS_WGMMA_KERNELS(true, false, GQA)},               \
	 {PS_WGMMA_KERNELS(false, true, GQA), PS_WGMMA_KERNELS(true, true, GQA)}}
static const ps_kernel_fn ps_kernels[2][3][2][3] = {PS_KERNEL_TABLE(false), PS_KERNEL_TABLE(true)};
/* v11, [form: ps_plan.rows2 - 1 (two blocks, key groups, two blocks in ping-pong, key groups in ping-pong)][gqa][dtype] */
#define PS_ROWS2_KERNELS(KG, PP)                                                                          \
	{{prefix_stream_rows2_kernel<false, false, KG, PP>, prefix_stream_rows2_kernel<true, false, KG, PP>}, \
	 {prefix_stream_rows2_kernel<false, true, KG, PP>, prefix_stream_rows2_kernel<true, true, KG, PP>}}
static const ps_kernel_fn ps_rows2_kernels[4][2][2] = {PS_ROWS2_KERNELS(false, false), PS_ROWS2_KERNELS(true, false),
						     PS_ROWS2_KERNELS(false, true), PS_ROWS2_KERNELS(true, true)};
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

/* k or v as a [pool chunks*n_kv_heads*64][128] matrix (the whole pool of
 * the forward pass's shape: a tree's prefix chunks are anywhere in it), read in 64 x 64 boxes
 * (128 bytes wide: the 128-byte swizzle's atom).  No L2 promotion: with
 * 256-byte promotion (each 128-byte box row fetched with its other half)
 * the big shapes ran 7 % slower (v8c in docs/kernels/prefix_stream.md). */
static int ps_encode(CUtensorMap *m, const void *base, const struct attn_shape *s, long pool_chunks)
{
	const cuuint64_t dims[2] = {PS_D, (cuuint64_t)pool_chunks * s->n_kv_heads * PS_CHUNK};
	const cuuint64_t strides[1] = {PS_D * 2};
	const cuuint32_t box[2] = {64, 64};
	const cuuint32_t es[2] = {1, 1};
	const CUresult r =
		ps_encoder()(m, s->dtype == ATTN_FP16 ? CU_TENSOR_MAP_DATA_TYPE_FLOAT16 : CU_TENSOR_MAP_DATA_TYPE_BFLOAT16,
			     2, (void *)base, dims, strides, box, es, CU_TENSOR_MAP_INTERLEAVE_NONE,
			     CU_TENSOR_MAP_SWIZZLE_128B, CU_TENSOR_MAP_L2_PROMOTION_NONE, CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
	return r == CUDA_SUCCESS ? 0 : (int)cudaErrorInvalidValue;
}

/* ---------------------------------------------------------------- device facts */
#define PS_MAX_DEVICES 16

/* struct ps_device of device dev (the current one), asked once */
static int ps_device_of(int dev, struct ps_device *out)
{
	static struct ps_device cache[PS_MAX_DEVICES];
	static int known[PS_MAX_DEVICES];
	if (known[dev]) {
		*out = cache[dev];
		return 0;
	}
	struct ps_device d;
	memset(&d, 0, sizeof d);
	int cluster = 0;
	cudaError_t e;
	/* the capability first: an older GPU is refused by ps_plan_check()
	 * without loading the module (a sm_90a image does not load there) */
	if (cudaDeviceGetAttribute(&d.cc_major, cudaDevAttrComputeCapabilityMajor, dev) != cudaSuccess) {
		(void)cudaGetLastError();
		d.cc_major = 0; /* unknown: taken as 9, let the launch report */
	}
	if (d.cc_major != 0 && d.cc_major < 9) {
		cache[dev] = d;
		known[dev] = 1;
		*out = d;
		return 0;
	}
	if ((e = cudaDeviceGetAttribute(&d.sms, cudaDevAttrMultiProcessorCount, dev)) != cudaSuccess ||
	    (e = cudaDeviceGetAttribute(&d.smem_per_sm, cudaDevAttrMaxSharedMemoryPerMultiprocessor, dev)) != cudaSuccess ||
	    (e = cudaDeviceGetAttribute(&d.smem_per_block, cudaDevAttrMaxSharedMemoryPerBlockOptin, dev)) != cudaSuccess ||
	    (e = cudaDeviceGetAttribute(&cluster, cudaDevAttrClusterLaunch, dev)) != cudaSuccess)
		return (int)e;
	d.max_cluster = cluster ? PS_MAX_CLUSTER : 0;
	/* which path the loaded device image has */
	int v = 0;
	if ((e = cudaMemcpyFromSymbol(&v, ps_wgmma_built, sizeof(int))) != cudaSuccess)
		return (int)e;
	d.sm90a = v != 0;
	d.tma = ps_encoder() != NULL;
	cache[dev] = d;
	known[dev] = 1;
	*out = d;
	return 0;
}

/* struct ps_occupancy of kernel fn at pl's threads and shared memory, asked
 * once per (device, function, threads, shared memory) */
static int ps_occupancy_of(int dev, ps_kernel_fn fn, const struct ps_plan *pl, const struct ps_device *d,
			   struct ps_occupancy *out)
{
	struct occ_entry {
		int dev, threads;
		ps_kernel_fn fn;
		size_t smem;
		struct ps_occupancy occ;
	};
	static struct occ_entry cache[64];
	static int n = 0, next = 0;
	for (int i = 0; i < n; ++i)
		if (cache[i].fn == fn && cache[i].dev == dev && cache[i].threads == pl->threads &&
		    cache[i].smem == pl->smem) {
			*out = cache[i].occ;
			return 0;
		}
	struct ps_occupancy occ;
	memset(&occ, 0, sizeof occ);
	cudaError_t e = cudaFuncSetAttribute((const void *)fn, cudaFuncAttributeMaxDynamicSharedMemorySize,
					     (int)pl->smem_attr);
	if (e != cudaSuccess)
		return (int)e;
	e = cudaOccupancyMaxActiveBlocksPerMultiprocessor(&occ.ctas_per_sm, (const void *)fn, pl->threads, pl->smem);
	if (e != cudaSuccess)
		return (int)e;
	/* how many clusters of c CTAs fit on the device at once, spread or not */
	for (int spread = 0; spread < 2 && occ.ctas_per_sm > 0; ++spread)
		for (int c = 2; c <= d->max_cluster && c <= PS_MAX_CLUSTER; ++c) {
			cudaLaunchConfig_t cfg;
			memset(&cfg, 0, sizeof cfg);
			cfg.gridDim = dim3((unsigned)c);
			cfg.blockDim = dim3((unsigned)pl->threads);
			cfg.dynamicSmemBytes = ps_plan_dyn_smem(pl, spread);
			cudaLaunchAttribute at[1];
			memset(at, 0, sizeof at);
			at[0].id = cudaLaunchAttributeClusterDimension;
			at[0].val.clusterDim.x = (unsigned)c;
			at[0].val.clusterDim.y = 1;
			at[0].val.clusterDim.z = 1;
			cfg.attrs = at;
			cfg.numAttrs = 1;
			int f = 0;
			if (cudaOccupancyMaxActiveClusters(&f, (const void *)fn, &cfg) != cudaSuccess) {
				(void)cudaGetLastError();
				f = 0; /* unknown: no cluster */
			}
			occ.clusters[spread][c] = f;
		}
	if (occ.ctas_per_sm > 0) { /* a kernel that fits nowhere is asked again (and refused) */
		cache[next] = (struct occ_entry){dev, pl->threads, fn, pl->smem, occ};
		next = (next + 1) % 64;
		if (n < 64)
			++n;
	}
	*out = occ;
	return 0;
}

/* ---------------------------------------------------------------- plan cache */
/* One plan per (device, shape, variant), made on the first check(),
 * workspace() or launch() of the shape and reused by every later one; the
 * tensor maps of the last K/V buffers launched with (run-kernel rotates
 * through several K/V copies, so those are encoded again on a change). */
struct ps_entry {
	CUtensorMap tmk, tmv;     /* valid for k, v and pool below (TMA path) */
	const void *k, *v;
	long pool;                /* the maps' pool chunks */
	const struct ps_opts *opts; /* the variant */
	struct attn_shape s;
	int dev;
	const char *why;          /* NULL: runs; else check()'s reason */
	struct ps_plan pl;
	ps_kernel_fn fn;
};

static int ps_same_shape(const struct attn_shape *a, const struct attn_shape *b)
{
	return a->n_seqs == b->n_seqs && a->n_heads == b->n_heads && a->n_kv_heads == b->n_kv_heads &&
	       a->n_chunks == b->n_chunks && a->n_groups == b->n_groups && a->group_chunks == b->group_chunks &&
	       a->suffix_len == b->suffix_len && a->chunk_size == b->chunk_size && a->d_head == b->d_head &&
	       a->dtype == b->dtype;
}

/* the cached plan of shape s under opts on the current device (made now if
 * new); returns a cudaError_t met on the way (then nothing is cached) */
static int ps_lookup(const struct attn_shape *s, const struct ps_opts *opts, struct ps_entry **out)
{
	static struct ps_entry cache[64];
	static int n = 0, next = 0;
	int dev = 0;
	cudaError_t ce = cudaGetDevice(&dev);
	if (ce != cudaSuccess)
		return (int)ce;
	if (dev >= PS_MAX_DEVICES)
		return (int)cudaErrorInvalidDevice;
	for (int i = 0; i < n; ++i)
		if (cache[i].opts == opts && cache[i].dev == dev && ps_same_shape(&cache[i].s, s)) {
			*out = &cache[i];
			return 0;
		}
	struct ps_device d;
	int e = ps_device_of(dev, &d);
	if (e)
		return e;
	struct ps_entry *en = &cache[next];
	memset(en, 0, sizeof *en);
	en->opts = opts;
	en->s = *s;
	en->dev = dev;
	en->why = ps_plan_check(s, &d);
	if (!en->why)
		en->why = ps_plan_kernel(s, &d, opts, &en->pl);
	if (!en->why) {
		en->fn = en->pl.rows2 ? ps_rows2_kernels[en->pl.rows2 - 1][en->pl.gqa][s->dtype == ATTN_FP16]
				      : ps_kernels[en->pl.gqa][en->pl.path][s->dtype == ATTN_FP16][en->pl.variant];
		struct ps_occupancy occ;
		if ((e = ps_occupancy_of(dev, en->fn, &en->pl, &d, &occ)) != 0) {
			en->opts = NULL; /* not cached */
			return e;
		}
		en->why = ps_plan_grid(s, &d, opts, &occ, &en->pl);
	}
	next = (next + 1) % 64;
	if (n < 64)
		++n;
	*out = en;
	return 0;
}

/* ---------------------------------------------------------------- tree workloads (v13) */
/* A shape with group chunks or a suffix (ps_plan_is_tree): its common prefix
 * runs as the single-prefix shape ps_plan_prefix_shape() does, every row of
 * it written to partial slot 0 (ps_params.part_o); the other levels run on
 * split_decode's grid -- hydragen's core, kernels/tree_levels.h -- into
 * slots 1.. (level_plan_make from level 1, slot base 1); merge.cu folds
 * every slot into out.  Three launches: prefix, levels, merge.
 * Workspace: the slots (merge.h's layout), then, 256-byte aligned, the
 * prefix's own (global-merge partials). */
static size_t ps_levels_bytes(const struct attn_shape *s, const struct level_plan *lp)
{
	return attn_round256(attn_partials_bytes_t(lp->n_parts, s->n_heads, s->n_seqs, PS_D, attn_chunk_part_dtype(s)));
}

/* ---------------------------------------------------------------- attn_kernel */
/* Every entry below plans the one launch of the common prefix
 * (ps_plan_prefix_shape: the shape itself for the single-prefix form; more
 * than 256 query rows per K/V head as batches of that launch, v12). */
static const char *ps_check_opts(const struct attn_shape *s, const struct ps_opts *o)
{
	if (o->tree != PS_TREE_AUTO && !ps_plan_is_tree(s))
		return "prefix_stream: this variant differs from the default only on tree shapes (group chunks or a suffix)";
	const char *why = ps_plan_check_levels(s);
	if (why)
		return why;
	/* the prefix's shape is checked (and planned) even where the level
	 * grid runs it (ps_plan_tree_own() 0): one set of limits for both */
	const struct attn_shape c = ps_plan_prefix_shape(s);
	struct ps_entry *en;
	if (ps_lookup(&c, o, &en) != 0) {
		(void)cudaGetLastError();
		return NULL; /* a CUDA error: let the launch report it */
	}
	return en->why;
}

static size_t ps_workspace_opts(const struct attn_shape *s, const struct ps_opts *o)
{
	if (ps_check_opts(s, o) != NULL)
		return 0;
	if (ps_plan_is_tree(s) && !ps_plan_tree_own(s, o))
		return tree_levels_all_workspace(s); /* the whole tree on the level grid */
	struct level_plan lp;
	const struct attn_shape c = ps_plan_prefix_shape(s);
	struct ps_entry *en;
	if (ps_lookup(&c, o, &en) != 0 || en->why)
		return 0;
	size_t w = ps_plan_workspace(&c, &en->pl);
	if (ps_plan_is_tree(s)) {
		if (tree_levels_plan(s, ATTN_LEVEL_GROUP, 1, &lp) != 0) {
			(void)cudaGetLastError();
			return 0; /* the launch reports the error */
		}
		w += ps_levels_bytes(s, &lp);
	}
	return w;
}

static int ps_launch_prefix(const struct attn_args *a, struct CUstream_st *stream, const struct ps_opts *o,
			    long pool, const struct attn_partials *pp);

static int ps_launch_opts(const struct attn_args *a, struct CUstream_st *stream, const struct ps_opts *o)
{
	const struct attn_shape *s = &a->s;
	if (ps_plan_check_levels(s) != NULL || a->host_tree == NULL)
		return (int)cudaErrorInvalidValue; /* check() refuses it; the tables are the harness's */
	const int tree = ps_plan_is_tree(s);
	struct level_plan lp;
	struct attn_partials pp;
	memset(&pp, 0, sizeof pp);
	if (tree && !ps_plan_tree_own(s, o)) /* v14: the whole tree, prefix too, as hydragen runs it */
		return tree_levels_all_launch(a, stream);
	struct attn_args b = *a;
	b.s = ps_plan_prefix_shape(s);
	if (tree) {
		int e = tree_levels_plan(s, ATTN_LEVEL_GROUP, 1, &lp);
		if (e)
			return e;
		if (a->work == NULL)
			return (int)cudaErrorInvalidValue;
		pp = attn_partials_at_t(a->work, lp.n_parts, s->n_heads, s->n_seqs, PS_D, attn_chunk_part_dtype(s));
		b.work = (char *)a->work + ps_levels_bytes(s, &lp); /* the prefix's own workspace */
		if ((e = tree_levels_check(a, &lp, &pp)) != 0) /* before anything is enqueued */
			return e;
	}
	const int e = ps_launch_prefix(&b, stream, o, attn_pool_chunks(s), tree ? &pp : NULL);
	if (e || !tree)
		return e;
	/* levels 1-2 into slots 1.., then the merge of every slot into out */
	return tree_levels_launch(a, &lp, &pp, stream);
}

/* the one launch of the common prefix's shape a->s (its K/V pool has
 * `pool` chunks); pp non-NULL: a tree workload's, the rows go to its slot 0 */
static int ps_launch_prefix(const struct attn_args *a, struct CUstream_st *stream, const struct ps_opts *o,
			    long pool, const struct attn_partials *pp)
{
	struct ps_entry *en;
	int e = ps_lookup(&a->s, o, &en);
	if (e)
		return e;
	if (en->why)
		return (int)cudaErrorInvalidValue;
	const struct ps_plan pl = en->pl;
	if ((((uintptr_t)a->q | (uintptr_t)a->k | (uintptr_t)a->v | (uintptr_t)a->out) & 15) != 0)
		return (int)cudaErrorMisalignedAddress;
	ps_params p;
	memset(&p, 0, sizeof p);
	if (pl.path == PS_PATH_WGMMA_TMA) {
		if (en->k != a->k || en->v != a->v || en->pool != pool) {
			en->k = en->v = NULL;
			if ((e = ps_encode(&en->tmk, a->k, &a->s, pool)) != 0 ||
			    (e = ps_encode(&en->tmv, a->v, &a->s, pool)) != 0)
				return e;
			en->k = a->k;
			en->v = a->v;
			en->pool = pool;
		}
		p.tmk = en->tmk;
		p.tmv = en->tmv;
	}
	p.q = (const char *)a->q;
	p.chunks = attn_common_chunks(a);
	p.k = (const char *)a->k;
	p.v = (const char *)a->v;
	p.out = a->out;
	p.n_rows = pl.rows; /* a batch's n_seqs x g */
	p.n_rows_last = pl.rows_last;
	p.batch_qrows = (unsigned)ps_plan_batch_seqs(&a->s) * (unsigned)a->s.n_heads;
	p.n_heads = a->s.n_heads;
	p.n_chunks = a->s.n_chunks;
	p.nqg = pl.nqg;
	p.splits = pl.splits;
	p.cluster = pl.cluster;
	p.scale = a->scale;
	p.n_kv_heads = a->s.n_kv_heads;
	p.group = ps_plan_group(&a->s);
	p.group_mul = p.group > 1 ? (unsigned)(0x100000000ULL / (unsigned)p.group) + 1u : 0u; /* ps_qrow */
	p.po = NULL;
	p.pml = NULL;
	if (pp) {
		p.part_o = pp->o;
		p.part_ml = (float2 *)pp->ml;
		p.part_seqs = pp->n_seqs;
		p.part_fp16 = pp->o_dtype == ATTN_PART_FP16;
	}
	const ps_kernel_fn fn = en->fn;
	const unsigned grid = (unsigned)a->s.n_kv_heads * (unsigned)pl.splits; /* K/V heads x S, x batches */
	cudaStream_t st = (cudaStream_t)stream;
	if (pl.splits > 1 && !pl.cluster) {
		if (!a->work)
			return (int)cudaErrorInvalidValue;
		const size_t n = ps_plan_partial_rows(&a->s, &pl); /* ps_plan_workspace's layout */
		p.po = (float *)a->work;
		p.pml = (float2 *)((char *)a->work + n * PS_D * sizeof(float));
	}
	p.kv_early = pl.pdl == 2;
	cudaLaunchConfig_t cfg;
	memset(&cfg, 0, sizeof cfg);
	cfg.gridDim = dim3(grid, (unsigned)pl.batches);
	cfg.blockDim = dim3(pl.threads);
	cfg.dynamicSmemBytes = ps_plan_dyn_smem(&pl, pl.spread);
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
		if (pl.splits > 1 && !pl.cluster) {
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


/* ---------------------------------------------------------------- the registry */
/* The default kernel and one variant per plan choice that changes the code
 * path (kernels/registry.c lists them; make test-gpu validates each and runs
 * compute-sanitizer on each).  A variant forces its choice through struct
 * ps_opts, plans everything else as the default does, and refuses (check())
 * the shapes where its path cannot run. */
#define PS_KERNEL(NAME, SUMMARY, ...)                                                       \
	static const struct ps_opts ps_opts_##NAME = __VA_ARGS__;                           \
	static const char *ps_check_##NAME(const struct attn_shape *s)                      \
	{                                                                                   \
		return ps_check_opts(s, &ps_opts_##NAME);                                   \
	}                                                                                   \
	static size_t ps_workspace_##NAME(const struct attn_shape *s)                       \
	{                                                                                   \
		return ps_workspace_opts(s, &ps_opts_##NAME);                               \
	}                                                                                   \
	static int ps_launch_##NAME(const struct attn_args *a, struct CUstream_st *stream)  \
	{                                                                                   \
		return ps_launch_opts(a, stream, &ps_opts_##NAME);                          \
	}                                                                                   \
	extern "C" const struct attn_kernel attn_kernel_##NAME = {                          \
		#NAME, SUMMARY, ps_check_##NAME, ps_workspace_##NAME, ps_launch_##NAME};

PS_KERNEL(prefix_stream,
	  "own split-K prefix kernel: K/V streamed once per K/V head for all its query rows (GQA too; TMA pipeline, wgmma QK^T/PV, "
	  "online softmax; sm_90: cp.async + mma.sync), S = SMs/K/V heads splits merged in the same launch",
	  PS_OPTS_DEFAULT)
PS_KERNEL(prefix_stream_mma,
	  "prefix_stream on its sm_90 fallback path: mma.sync + ldmatrix, cp.async K/V loads (plan otherwise the default's)",
	  {PS_PATH_MMA, PS_MERGE_AUTO, 0, PS_PDL_AUTO, 0})
PS_KERNEL(prefix_stream_cpasync,
	  "prefix_stream with wgmma but cp.async K/V loads instead of TMA (its path without the driver's encoder); needs sm_90a",
	  {PS_PATH_WGMMA_CPASYNC, PS_MERGE_AUTO, 0, PS_PDL_AUTO, 0})
PS_KERNEL(prefix_stream_kv_early,
	  "prefix_stream with PDL on every shape and the K/V TMA loads issued before the grid wait "
	  "(valid only where the previous kernel in the stream never writes k/v, as in run-kernel)",
	  {PS_PATH_AUTO, PS_MERGE_AUTO, 0, 2, 0})
PS_KERNEL(prefix_stream_global_merge,
	  "prefix_stream whose split grids always merge through fp32 partials and per-head counters; "
	  "refuses shapes it plans unsplit",
	  {PS_PATH_AUTO, PS_MERGE_GLOBAL, 0, PS_PDL_AUTO, 0})
PS_KERNEL(prefix_stream_cluster_merge,
	  "prefix_stream whose split grids always merge as one cluster per head over DSMEM, all clusters "
	  "co-resident or not; refuses shapes it plans unsplit or with > 8 splits",
	  {PS_PATH_AUTO, PS_MERGE_CLUSTER, 0, PS_PDL_AUTO, 0})
PS_KERNEL(prefix_stream_rows2,
	  "prefix_stream with v11's kernel at 65-256 query rows a K/V head, the default's choice there (2 warpgroups x "
	  "two 64-row blocks, interleaved QK^T/softmax/PV chains; at <= 128 rows two key groups; TMA path); "
	  "refuses shapes of fewer rows",
	  {PS_PATH_AUTO, PS_MERGE_AUTO, 0, PS_PDL_AUTO, 1})
PS_KERNEL(prefix_stream_pingpong,
	  "prefix_stream with v11's kernel at 65-256 query rows a K/V head and its two warpgroups issuing QK^T in turn "
	  "(FA3's ping-pong, named barriers; two blocks at 129-256 rows: measured 1.07x the default's time at 32 x 1024, "
	  "n_seqs 256; the key-group form at 65-128); refuses other shapes",
	  {PS_PATH_AUTO, PS_MERGE_AUTO, 0, PS_PDL_AUTO, 2})
PS_KERNEL(prefix_stream_4wg,
	  "prefix_stream without v11's kernel: at 65-256 query rows a K/V head the wgmma kernel's 4-warpgroup tiles "
	  "(the default before v11); refuses shapes where the default does not use v11's kernel",
	  {PS_PATH_AUTO, PS_MERGE_AUTO, 0, PS_PDL_AUTO, -1})
PS_KERNEL(prefix_stream_tree_own,
	  "prefix_stream with a tree's common prefix always through its own kernel (partial slot 0, the levels after it "
	  "on the split-decode grid, one merge: v13); refuses single-prefix shapes",
	  {PS_PATH_AUTO, PS_MERGE_AUTO, 0, PS_PDL_AUTO, 0, PS_TREE_OWN})
PS_KERNEL(prefix_stream_tree_grid,
	  "prefix_stream with every level of a tree, the common prefix too, on the split-decode grid (hydragen's plan); "
	  "refuses single-prefix shapes",
	  {PS_PATH_AUTO, PS_MERGE_AUTO, 0, PS_PDL_AUTO, 0, PS_TREE_GRID})
PS_KERNEL(prefix_stream_s1, "prefix_stream unsplit: one CTA per head (the S = 1 epilogue on every shape)",
	  {PS_PATH_AUTO, PS_MERGE_AUTO, 1, PS_PDL_AUTO, 0})
PS_KERNEL(prefix_stream_s2,
	  "prefix_stream with exactly 2 splits per head, merge chosen as usual; refuses n_chunks < 2 "
	  "and grids that cannot be co-resident",
	  {PS_PATH_AUTO, PS_MERGE_AUTO, 2, PS_PDL_AUTO, 0})
PS_KERNEL(prefix_stream_s4,
	  "prefix_stream with exactly 4 splits per head, merge chosen as usual; refuses n_chunks < 4 "
	  "and grids that cannot be co-resident",
	  {PS_PATH_AUTO, PS_MERGE_AUTO, 4, PS_PDL_AUTO, 0})
PS_KERNEL(prefix_stream_s8,
	  "prefix_stream with exactly 8 splits per head, merge chosen as usual; refuses n_chunks < 8 "
	  "and grids that cannot be co-resident",
	  {PS_PATH_AUTO, PS_MERGE_AUTO, 8, PS_PDL_AUTO, 0})
