/* prefix_stream_plan.h - the host planner of prefix_stream (kernels/prefix_stream.cu),
 * plain C11: what kernel, grid, merge and launch attributes one shape gets.
 *
 * The planner is a pure function (kernels/prefix_stream_plan.c: no CUDA, no
 * globals, no I/O), so it runs and is tested on the CPU (tests/unit/
 * test_prefix_stream_plan.c).  Everything it needs to know about the GPU
 * comes in as plain numbers: struct ps_device (the device's limits and
 * what the loaded image has) and struct ps_occupancy (what the CUDA
 * occupancy API answers for the one kernel the first stage chose).  The
 * launcher asks CUDA for those numbers once, plans once per shape and
 * caches the plan (ps_lookup in prefix_stream.cu).
 *
 *   1. ps_plan_check()   the shapes the kernel runs at all;
 *   2. ps_plan_kernel()  path (mma.sync / wgmma + cp.async / wgmma + TMA),
 *                        tile variant, query groups, threads, shared memory;
 *   3. (the launcher)    struct ps_occupancy of that kernel from CUDA;
 *   4. ps_plan_grid()    splits S, merge (cluster/DSMEM or global partials),
 *                        spread, PDL, cooperative launch.
 * Each returns NULL, or a one-line reason why the shape cannot run with
 * these options (a registry variant's check() returns it).
 *
 * struct ps_opts is what a registry variant forces (prefix_stream_mma,
 * prefix_stream_global_merge, prefix_stream_s1, ...); PS_OPTS_DEFAULT is the
 * default kernel `prefix_stream`.
 */
#ifndef PREFIX_STREAM_PLAN_H
#define PREFIX_STREAM_PLAN_H

#include <stddef.h>

#include "attn.h"

#ifdef __cplusplus
extern "C" {
#endif

#define PS_CHUNK 64
#define PS_D 128
#define PS_TILE_BYTES (PS_CHUNK * PS_D * 2) /* 16 KiB: one chunk of K (or V) of one head */
#define PS_STAGE_BYTES (2 * PS_TILE_BYTES)  /* K + V */

/* Query rows of one K/V head's tiles: n_seqs x g, g = n_heads / n_kv_heads
 * (row r is sequence r / g, query head kvh * g + r % g; MHA: g = 1, the
 * n_seqs sequences).  The tile variants go up to 256 rows; more run as
 * batches of sequences in the same launch (ps_plan_batches). */
#define PS_MAX_ROWS 256
#define PS_MAX_SPLIT_HEADS 4096     /* K/V heads x batches that may use S > 1 (the per-head meet counters) */
#define PS_MAX_CLUSTER 8            /* portable cluster size */
#define PS_PDL_DEFAULT 1            /* see ps_plan.pdl */
#define PS_S2_MIN_CHUNKS 64          /* chunks a CTA keeps where the planner doubles S to 2 (plan_splits) */
#define PS_SPREAD_SMEM (116 * 1024) /* > half an SM's 228 KiB: one CTA per SM */
/* v10: the TMA path's tile variant 1 (65-128 rows) releases stages on
 * "empty" mbarriers instead of a __syncthreads per chunk (prefix_stream_
 * wgmma_kernel's WS; validated, its speed not yet measured: see
 * docs/kernels/prefix_stream.md v10); NVCCFLAGS+=-DPS_WS=0 in a clean build
 * folder builds variant 1 as before, for A/B runs */
#ifndef PS_WS
#define PS_WS 1
#endif

/* v11 (kernels/prefix_stream_rows2_kernel.h): 65-256 query rows a K/V head
 * on the TMA path as 2 warpgroups x two 64-row blocks with interleaved
 * chains (at 65-128 rows the warpgroups as two key groups on the same
 * rows); the default there since its H200 run (0.83-0.90x the time from
 * 128 chunks a K/V head up, 0.95-1.08x below: docs/kernels/prefix_stream.md
 * v11); ps_opts.rows2 = -1 (the registry variant prefix_stream_4wg) keeps
 * the wgmma kernel's tile variants 1-2 there instead */
#define PS_ROWS2_THREADS 256
#define PS_ROWS2_NSTAGE 4
#define PS_ROWS2_BLOCKS 4 /* 64-row blocks of Q (2 a warpgroup), padded past n_rows */
#define PS_ROWS2_KG_BLOCKS 2 /* 65-128 rows: both warpgroups on blocks 0-1, alternate chunks */
#define PS_ROWS2_KG_NSTAGE 6 /* there: even (a stage holds one warpgroup's chunks), 3 a warpgroup */
#define PS_ROWS2_MIN_ROWS 65
#define PS_ROWS2_KG_MAX_ROWS 128

/* The kernel paths, the first index of the launcher's kernel table. */
enum ps_path {
	PS_PATH_MMA = 0,          /* mma.sync m16n8k16 + ldmatrix, cp.async loads (any sm_90 image) */
	PS_PATH_WGMMA_CPASYNC = 1, /* wgmma, cp.async loads (sm_90a image) */
	PS_PATH_WGMMA_TMA = 2,     /* wgmma, TMA loads on mbarriers (sm_90a image + the driver's encoder) */
	PS_PATHS = 3
};
#define PS_PATH_AUTO (-1)
#define PS_TILE_VARIANTS 3 /* per path, by query rows: see ps_plan_kernel() */

enum ps_merge {
	PS_MERGE_AUTO = 0,    /* cluster where all clusters fit (with a margin), else global */
	PS_MERGE_GLOBAL = 1,  /* S > 1: fp32 partials in the workspace + per-K/V-head counters */
	PS_MERGE_CLUSTER = 2  /* S > 1: the K/V head's S CTAs are one cluster, merged over DSMEM */
};
#define PS_PDL_AUTO (-1)

/* What the planner knows about the device: plain numbers, from
 * cudaDeviceGetAttribute and the loaded module (prefix_stream.cu). */
struct ps_device {
	int cc_major;       /* compute capability major (0: unknown, taken as 9) */
	int sms;            /* multiprocessors */
	int smem_per_sm;    /* shared memory per SM, bytes */
	int smem_per_block; /* the most dynamic shared memory one CTA may opt in to, bytes */
	int max_cluster;    /* thread-block clusters: the largest size the planner may use (0: none) */
	int sm90a;          /* the loaded image has the sm_90a code: wgmma, TMA, griddepcontrol */
	int tma;            /* the driver's tensor-map encoder (cuTensorMapEncodeTiled) was found */
};

/* What CUDA's occupancy calculator says about the kernel ps_plan_kernel()
 * chose (its function, threads and shared memory). */
struct ps_occupancy {
	int ctas_per_sm; /* cudaOccupancyMaxActiveBlocksPerMultiprocessor at pl->smem */
	/* [spread][c], c = 2..PS_MAX_CLUSTER: cudaOccupancyMaxActiveClusters of
	 * clusters of c CTAs at ps_plan_dyn_smem() for that spread (0 where
	 * unknown or failed: no cluster) */
	int clusters[2][PS_MAX_CLUSTER + 1];
};

/* What a registry variant forces; PS_OPTS_DEFAULT forces nothing. */
struct ps_opts {
	int path;   /* PS_PATH_AUTO, or an enum ps_path the shape must get (else refused) */
	int merge;  /* enum ps_merge; GLOBAL and CLUSTER refuse shapes with S = 1 */
	int splits; /* 0: the planner's S; N >= 1: exactly N splits (refused where N cannot run) */
	int pdl;    /* PS_PDL_AUTO, or a ps_plan.pdl mode (sm_90a images only) */
	int rows2;  /* 0: v11's kernel (PS_ROWS2_*) at 65-256 rows on the TMA path; 1: the same,
		     * refusing other shapes; 2: its ping-pong form (two blocks at 129-256 rows, key
		     * groups at 65-128), refusing other shapes; -1: never (tile variants 1-2;
		     * refuses < 65 rows) */
	int tree;   /* enum ps_tree: how a tree shape runs its common prefix (ps_plan_tree) */
};
#define PS_OPTS_DEFAULT { PS_PATH_AUTO, PS_MERGE_AUTO, 0, PS_PDL_AUTO, 0, PS_TREE_AUTO }

/* A tree shape's common prefix (v14): through this kernel into partial slot
 * 0, the levels after it on split_decode's grid (v13: "own"), or as one more
 * level of that grid, the whole tree in one grid (hydragen's plan: "grid").
 * The variants that force one refuse single-prefix shapes. */
enum ps_tree { PS_TREE_AUTO = 0, PS_TREE_OWN = 1, PS_TREE_GRID = 2 };
/* measured (H200, session 8; docs/kernels/prefix_stream.md v14): the own
 * kernel pays from a 32K-token prefix (512 chunks) while the levels after it
 * hold at most twice its chunks, and loses at 2K-8K prefixes */
#define PS_TREE_OWN_MIN_CHUNKS 256
#define PS_TREE_OWN_MAX_LEVELS_PER_PREFIX 2

struct ps_plan {
	/* the kernel: ps_plan_kernel() */
	int path;         /* enum ps_path */
	int gqa;          /* 1: g > 1, the GQA instantiation (rows map to (sequence, head)) */
	int rows;         /* query rows per K/V head of a batch: ps_plan_batch_seqs x g (MHA: the sequences) */
	int rows_last;    /* those of the last batch (= rows with one batch) */
	int batches;      /* ps_plan_batches: the grid's second dimension */
	int variant;      /* tile variant 0..2 (by rows) */
	int rows2;        /* 1: v11's kernel instead of the path's variant 2 (ps_opts.rows2 >= 0);
			   * 3: its ping-pong form (ps_opts.rows2 = 2);
			   * 2: its key-group form instead of variant 1 (65-128 rows);
			   * 4: the key-group form in ping-pong (ps_opts.rows2 = 2, 65-128 rows) */
	int nqg;          /* query groups: ceil(rows / rows per group) */
	int threads;
	size_t smem;      /* dynamic shared memory the kernel needs */
	size_t smem_attr; /* cudaFuncAttributeMaxDynamicSharedMemorySize for its function */
	/* the grid: ps_plan_grid() */
	int splits;  /* S: CTA (kvh, j) owns chunks [PS_SPLIT_BEGIN(j, C, S), PS_SPLIT_BEGIN(j + 1, C, S));
		      * the grid is (n_kv_heads x S) x batches */
	int cluster; /* S > 1: 1 = cluster/DSMEM merge, 0 = global partials + counters (one wave) */
	int spread;  /* 1: launch with PS_SPREAD_SMEM so that no two CTAs share an SM */
	int pdl;     /* 0 off, 1 PDL (every global access after the grid wait), 2 PDL with K/V before it */
	int coop;    /* cooperative launch (the global meet without PDL) */
	int slots;   /* co-resident CTAs of this kernel on the device */
};

/* The first of n items (chunks, or query rows in a merge) that split j of S
 * owns: split j owns [PS_SPLIT_BEGIN(j, n, S), PS_SPLIT_BEGIN(j + 1, n, S)).
 * The kernels use it as it is (a macro: the same expression as before it
 * was shared, so the device code did not change). */
#define PS_SPLIT_BEGIN(j, n, S) ((int)((long long)(j) * (n) / (S)))

/* Query heads per K/V head; for a shape ps_plan_check() accepts. */
static inline int ps_plan_group(const struct attn_shape *s) { return s->n_heads / s->n_kv_heads; }

/* Batches (v12): a shape with more than PS_MAX_ROWS query rows per K/V head
 * (n_seqs x g) runs as ps_plan_batches() batches of whole sequences, all in
 * one launch: the grid's second dimension is the batch, CTA (kvh, j, b)
 * computes the rows of the ps_plan_batch_seqs() sequences of batch b (the
 * last batch takes the rest) against the same K/V as every other batch (read
 * by each; concurrently, so from L2 after the first).  The batches are as
 * even as whole sequences allow (n_seqs 320 at g 1: two of 160, not 256 +
 * 64), so the first batch's rows -- the plan's -- are the fewest that every
 * batch fits in. */
static inline int ps_plan_batch_max(const struct attn_shape *s)
{
	const int g = ps_plan_group(s);
	return g <= PS_MAX_ROWS ? PS_MAX_ROWS / g : 1;
}
static inline int ps_plan_batches(const struct attn_shape *s)
{
	/* a shape ps_plan_check() refuses for its heads (n_kv_heads < 1 or
	 * > n_heads) or sequences: one batch, so that the check says why */
	if (s->n_kv_heads < 1 || s->n_heads < s->n_kv_heads || s->n_seqs < 1)
		return 1;
	const int per = ps_plan_batch_max(s);
	return (int)(((long long)s->n_seqs + per - 1) / per);
}
static inline int ps_plan_batch_seqs(const struct attn_shape *s)
{
	const int b = ps_plan_batches(s);
	return (int)(((long long)s->n_seqs + b - 1) / b);
}
#define PS_MAX_BATCHES 65535 /* the grid's y dimension */

/* Tree workloads (v13): a shape with group chunks or a suffix runs its
 * common prefix -- ps_plan_prefix_shape(), the same shape without them --
 * through this kernel as every single-prefix shape (batches and all),
 * into partial slot 0; the other levels through split_decode's grid
 * (level_plan.h), and merge.cu folds the slots (prefix_stream.cu). */
static inline int ps_plan_is_tree(const struct attn_shape *s) { return s->group_chunks > 0 || s->suffix_len > 0; }
static inline struct attn_shape ps_plan_prefix_shape(const struct attn_shape *s)
{
	struct attn_shape c = *s;
	c.n_groups = 1;
	c.group_chunks = 0;
	c.suffix_len = 0;
	return c;
}

/* For a tree shape (ps_plan_is_tree): 1 if its common prefix runs through
 * this kernel (PS_TREE_OWN), 0 if the whole tree runs on split_decode's grid
 * (PS_TREE_GRID); o->tree forces one, PS_TREE_AUTO chooses by the rule above
 * for the default and the own kernel for a variant that forces anything
 * else (its rows measure its choice).
 * 0 for a single-prefix shape (nothing to choose). */
int ps_plan_tree_own(const struct attn_shape *s, const struct ps_opts *o);

/* NULL if the kernel runs shape s (any workload form) on device d at all,
 * else why not; ps_plan_check_levels(): the part of it that is about the
 * tree's levels and the pool (no device needed) */
const char *ps_plan_check(const struct attn_shape *s, const struct ps_device *d);
const char *ps_plan_check_levels(const struct attn_shape *s);
/* path, tile variant, threads and shared memory of pl */
const char *ps_plan_kernel(const struct attn_shape *s, const struct ps_device *d, const struct ps_opts *o,
			   struct ps_plan *pl);
/* the rest of pl, from the occupancy of the kernel ps_plan_kernel() chose */
const char *ps_plan_grid(const struct attn_shape *s, const struct ps_device *d, const struct ps_opts *o,
			 const struct ps_occupancy *occ, struct ps_plan *pl);
/* the dynamic shared memory a launch asks for (PS_SPREAD_SMEM when spread) */
size_t ps_plan_dyn_smem(const struct ps_plan *pl, int spread);
/* the global merge's partial rows, [batches][n_kv_heads][S][rows] (0 where
 * pl merges in a cluster or runs unsplit), and the bytes of workspace they
 * take: o [n][128] floats, then (m, l) [n] */
size_t ps_plan_partial_rows(const struct attn_shape *s, const struct ps_plan *pl);
size_t ps_plan_workspace(const struct attn_shape *s, const struct ps_plan *pl);

#ifdef __cplusplus
}
#endif

#endif
