/* chunk_items.h - the work items of the two-phase chunk kernels (native, tk):
 * ChunkAttention's partition of one forward pass, written once for both.
 *
 * A work item is (tree node, chunk c of the node, K/V head kvh); one block
 * runs it.  Its rows are every query row that reads that chunk through that
 * K/V head: the g = n_heads / n_kv_heads query heads of kvh of each of the
 * node's n_seqs sequences, R in [0, n_seqs * g):
 *     seq  = node.seq_begin + R / g,   head = kvh * g + R % g,
 * so a shared node (the level-0 common prefix for all sequences, a level-1
 * group node for its group: the chunk-first phase) is one matrix-matrix tile
 * of many rows, and a suffix node (level 2, one sequence: the sequence-first
 * phase) has the g rows of its sequence's GQA group.  Each item writes, per
 * row, one partial state (merge.h) at slot j = the chunk's position in the
 * sequence's table (level 0: c; level 1: n_chunks + c; level 2: n_chunks +
 * group_chunks + c), partial row ((j * n_heads + head) * n_seqs + seq), so
 * every (seq, head) gets exactly attn_seq_chunks() partials, none empty, and
 * merge.cu folds them.
 *
 * Blocks, 1-D: block = item * n_kv_heads + kvh, items level by level (heavy
 * items first: level 0, then 1, then 2), inside a level node-major, chunk
 * fastest.  Every node of one level has the same chunk count (tools/lib/
 * tree.c), so the decode is arithmetic on per-level (first item, first node,
 * chunks per node, first slot) that the host takes from attn_args.host_tree
 * (chunk_items_plan); the node itself (seq_begin, n_seqs, chunk_begin,
 * n_tokens) is read on the device from attn_tree.nodes and the chunk's pool
 * index from node_chunks[chunk_begin + c].  For the single-prefix workload
 * (one node, g = 1) this is the original grid (n_heads, n_chunks) in the
 * same order: block = c * n_heads + h, row R = sequence R, partial row
 * (c * n_heads + h) * n_seqs + R.
 *
 * The divisions by n_kv_heads, g and a level's chunks per node are
 * multiply-high divisions (ci_div) with host-made constants: numerators are
 * < 2^31 (CHUNK_ITEMS_CHECK keeps them there).
 *
 * The launch is written here once too: struct chunk_params (both kernels'
 * parameters), chunk_params_make() (fills them from attn_args) and, in CUDA,
 * chunk_forward() (the grid, then the merge); a kernel's launcher adds its
 * check(), its scale, its kernels, block size and shared memory.  Their
 * workspace is attn_chunk_partials_bytes() (merge.h).
 *
 * Plain C (the host plan and the decode run in the C unit tests too); in
 * CUDA the decode reads the tables with __ldg.
 */
#ifndef CHUNK_ITEMS_H
#define CHUNK_ITEMS_H

#include "attn.h"
#include "merge.h"

#ifdef __CUDACC__
#include <cuda_runtime.h>
#endif

#ifdef __cplusplus
extern "C" {
#endif

#ifdef __CUDACC__
#define CI_FN static __host__ __device__ __forceinline__
#else
#define CI_FN static inline
#endif

#if defined(__CUDA_ARCH__)
#define CI_LD(p) __ldg(p)
#else
#define CI_LD(p) (*(p))
#endif

/* ---- n / d by a multiply-high, for 0 <= n < 2^31 and 1 <= d < 2^31 ---------
 * (Granlund-Montgomery, as CUTLASS's FastDivmod): s = ceil(log2 d),
 * mul = floor(2^32 * (2^s - d) / d) + 1 (< 2^32), n / d = (hi32(n * mul) + n) >> s;
 * d = 1 gives mul = 1, s = 0: n / 1 = n. */
struct ci_div {
	unsigned d, mul, shr;
};

CI_FN struct ci_div ci_div_make(int d)
{
	struct ci_div f;
	unsigned s = 0;
	if (d < 1)
		d = 1; /* an empty level: never divided by */
	while ((1ull << s) < (unsigned long long)d)
		s++;
	f.d = (unsigned)d;
	f.shr = s;
	f.mul = (unsigned)(((1ull << 32) * ((1ull << s) - (unsigned long long)d)) / (unsigned long long)d + 1);
	return f;
}

CI_FN int ci_quot(struct ci_div f, int n)
{
#if defined(__CUDA_ARCH__)
	const unsigned hi = __umulhi((unsigned)n, f.mul);
#else
	const unsigned hi = (unsigned)(((unsigned long long)(unsigned)n * f.mul) >> 32);
#endif
	return (int)((hi + (unsigned)n) >> f.shr);
}

/* ---- the plan: per-level constants, made on the host ---------------------- */
struct chunk_items {
	int item_begin[ATTN_LEVELS + 1]; /* items of level L: [item_begin[L], item_begin[L+1]) */
	int node_begin[ATTN_LEVELS];     /* the tree index of level L's first node */
	int slot_begin[ATTN_LEVELS];     /* table slot of chunk 0 of a level-L node */
	struct ci_div chunks[ATTN_LEVELS]; /* chunks per node of level L (d = 1 when empty) */
	struct ci_div kv_heads;          /* n_kv_heads */
	struct ci_div group;             /* g = n_heads / n_kv_heads */
	int n_heads, n_seqs;
	int n_items;                     /* (node, chunk) pairs = attn_pool_chunks() */
	int n_parts;                     /* partials per (seq, head) = attn_seq_chunks() */
	int n_blocks;                    /* n_items * n_kv_heads */
};

/* check()'s part for the item decomposition: the one-line reason, returned
 * from the calling check().  (ATTN_CHECK_TILE_64x128 comes first.) */
#define CHUNK_ITEMS_CHECK(NAME, S)                                                              \
	do {                                                                                    \
		if ((S)->n_kv_heads < 1 || (S)->n_heads % (S)->n_kv_heads != 0)                 \
			return NAME " needs n_kv_heads >= 1 dividing n_heads";                  \
		if ((S)->group_chunks < 0 || (S)->suffix_len < 0)                               \
			return NAME " needs group_chunks, suffix_len >= 0";                     \
		if ((S)->group_chunks > 0 && ((S)->n_groups < 1 || (S)->n_seqs % (S)->n_groups != 0)) \
			return NAME " needs n_seqs to be a multiple of n_groups";               \
		if (attn_pool_chunks(S) * (long long)(S)->n_kv_heads > 0x7fffffffLL)            \
			return NAME " needs pool chunks * n_kv_heads < 2^31 (one block each)";  \
		if (((long long)(S)->n_chunks + (S)->group_chunks + attn_suffix_chunks(S)) *    \
			    (S)->n_heads * (S)->n_seqs >                                        \
		    0x7fffffffLL)                                                               \
			return NAME " needs table chunks * n_heads * n_seqs < 2^31 (partial rows)"; \
	} while (0)

/* Fills *ci from the shape and the host copy of the tables; NULL, or a
 * one-line reason when the tree is not the shape's (CHUNK_ITEMS_CHECK
 * passed).  Reads the first and last node of each level only. */
static inline const char *chunk_items_plan(struct chunk_items *ci, const struct attn_shape *s,
					   const struct attn_tree *t)
{
	const int want_nodes[ATTN_LEVELS] = { 1, s->group_chunks > 0 ? s->n_groups : 0,
					      s->suffix_len > 0 ? s->n_seqs : 0 };
	const int want_chunks[ATTN_LEVELS] = { s->n_chunks, s->group_chunks, attn_suffix_chunks(s) };
	long long items = 0;
	int slot = 0;
	if (t == NULL || t->nodes == NULL)
		return "no host tree";
	for (int L = 0; L < ATTN_LEVELS; L++) {
		const int n = t->level_begin[L + 1] - t->level_begin[L];
		ci->item_begin[L] = (int)items;
		ci->node_begin[L] = t->level_begin[L];
		ci->slot_begin[L] = slot;
		ci->chunks[L] = ci_div_make(1);
		if (n != want_nodes[L])
			return "tree: a level's node count is not the shape's";
		if (n == 0)
			continue;
		const struct attn_node *a = &t->nodes[t->level_begin[L]], *z = &t->nodes[t->level_begin[L + 1] - 1];
		const int nc = a->n_chunks, ns = a->n_seqs;
		if (nc != want_chunks[L] || z->n_chunks != nc || nc < 1)
			return "tree: a level's chunks per node are not the shape's";
		if (a->seq_begin != 0 || ns < 1 || (long long)ns * n != s->n_seqs || z->n_seqs != ns ||
		    z->seq_begin != (n - 1) * ns)
			return "tree: a level's nodes do not cover every sequence once";
		if (a->n_tokens <= (long long)(nc - 1) * s->chunk_size ||
		    a->n_tokens > (long long)nc * s->chunk_size ||
		    z->n_tokens != a->n_tokens)
			return "tree: a node's token count does not fit its chunks";
		ci->chunks[L] = ci_div_make(nc);
		items += (long long)n * nc;
		slot += nc;
	}
	ci->item_begin[ATTN_LEVELS] = (int)items;
	ci->kv_heads = ci_div_make(s->n_kv_heads);
	ci->group = ci_div_make(s->n_heads / s->n_kv_heads);
	ci->n_heads = s->n_heads;
	ci->n_seqs = s->n_seqs;
	ci->n_items = (int)items;
	ci->n_parts = slot;
	if (slot != attn_seq_chunks(s) || items != attn_pool_chunks(s) ||
	    items * s->n_kv_heads > 0x7fffffffLL)
		return "tree: items or slots are not the shape's";
	ci->n_blocks = (int)(items * s->n_kv_heads);
	return NULL;
}

/* ---- the decode: one block's item ------------------------------------------ */
struct chunk_item {
	int kvh;       /* K/V head */
	int chunk;     /* pool index of the chunk */
	int valid;     /* keys that hold tokens, 1..chunk_size (< chunk_size: a suffix's last chunk) */
	int n_rows;    /* node.n_seqs * g */
	int q_row0;    /* seq_begin * n_heads + kvh * g: q's row (seq * n_heads + head) of row 0 */
	int part_row0; /* (slot * n_heads + kvh * g) * n_seqs + seq_begin: merge.h's row of row 0 */
};

CI_FN struct chunk_item chunk_item_at(const struct chunk_items *ci, const struct attn_node *nodes,
				      const int *node_chunks, int block, int chunk_size)
{
	struct chunk_item it;
	const int item = ci_quot(ci->kv_heads, block);
	const int L = item >= ci->item_begin[ATTN_LEVEL_SUFFIX]  ? ATTN_LEVEL_SUFFIX
		      : item >= ci->item_begin[ATTN_LEVEL_GROUP] ? ATTN_LEVEL_GROUP
								 : ATTN_LEVEL_COMMON;
	const int local = item - ci->item_begin[L];
	const int k = ci_quot(ci->chunks[L], local); /* node within the level */
	const int c = local - k * (int)ci->chunks[L].d;
	const struct attn_node *nd = nodes + ci->node_begin[L] + k;
	const int seq_begin = CI_LD(&nd->seq_begin), n_seqs = CI_LD(&nd->n_seqs);
	const int chunk_begin = CI_LD(&nd->chunk_begin), n_tokens = CI_LD(&nd->n_tokens);
	const int g = (int)ci->group.d;
	const int left = n_tokens - c * chunk_size;
	it.kvh = block - item * (int)ci->kv_heads.d;
	it.chunk = CI_LD(node_chunks + chunk_begin + c);
	it.valid = left < chunk_size ? left : chunk_size;
	it.n_rows = n_seqs * g;
	it.q_row0 = seq_begin * ci->n_heads + it.kvh * g;
	it.part_row0 = ((ci->slot_begin[L] + c) * ci->n_heads + it.kvh * g) * ci->n_seqs + seq_begin;
	return it;
}

/* q's row (seq * n_heads + head) of row R of the item, 0 <= R < n_rows:
 * seq = seq_begin + R / g, head = kvh * g + R % g */
CI_FN int chunk_q_row(const struct chunk_items *ci, const struct chunk_item *it, int R)
{
	const int sl = ci_quot(ci->group, R), hh = R - sl * (int)ci->group.d;
	return it->q_row0 + sl * ci->n_heads + hh;
}

/* merge.h's partial row ((slot * n_heads + head) * n_seqs + seq) of row R */
CI_FN int chunk_part_row(const struct chunk_items *ci, const struct chunk_item *it, int R)
{
	const int sl = ci_quot(ci->group, R), hh = R - sl * (int)ci->group.d;
	return it->part_row0 + hh * ci->n_seqs + sl;
}

/* ---- the launch: parameters and grid, the same for native and tk ---------- */
struct chunk_params {
	const void *q;                 /* [S][H][128] T */
	const void *k;                 /* pool [*][KVH][64][128] T */
	const void *v;                 /* pool [*][KVH][64][128] T */
	const struct attn_node *nodes; /* the tree (attn_tree.nodes, device) */
	const int *node_chunks;        /* pool index of each node's chunks */
	void *po;                      /* partials o  [NP][H][S][128] T (merge.h, o_dtype = T) */
	float *pml;                    /* partials ml [NP][H][S][2] */
	struct chunk_items ci;         /* the item decomposition */
	float scale;                   /* the factor on q.k, the kernel's own (its launcher):
					* 1/sqrt(d_head), times log2(e) for a kernel in exp2 */
};

/* Fills *p and *pp (the partials in a->work, merge.h) from a, p->scale =
 * scale; NULL, or a one-line reason when a has no workspace or device
 * tables or its host tree is not the shape's (the kernel's check() passed).
 * The grid is p->ci.n_blocks blocks. */
static inline const char *chunk_params_make(struct chunk_params *p, struct attn_partials *pp,
					    const struct attn_args *a, float scale)
{
	if (a->work == NULL || a->tree.nodes == NULL || a->tree.node_chunks == NULL)
		return "no workspace or device tables";
	const char *why = chunk_items_plan(&p->ci, &a->s, a->host_tree);
	if (why != NULL)
		return why;
	*pp = attn_chunk_partials(a);
	p->q = a->q;
	p->k = a->k;
	p->v = a->v;
	p->nodes = a->tree.nodes;
	p->node_chunks = a->tree.node_chunks;
	p->po = pp->o;
	p->pml = pp->ml;
	p->scale = scale;
	return NULL;
}

#ifdef __cplusplus
}
#endif

#ifdef __CUDACC__
/* Enqueues kernel K over p's grid, `threads` threads and `smem` bytes of
 * dynamic shared memory per block; the error of the launch.  Above the
 * default 48 KB the limit is raised once per kernel (a host call per launch
 * is host time that back-to-back timing of small configs would count). */
template <void (*K)(struct chunk_params)>
static cudaError_t chunk_enqueue(const struct chunk_params *p, int threads, int smem, cudaStream_t st)
{
	static bool attr_set = false;
	if (smem > 48 * 1024 && !attr_set) {
		cudaError_t e = cudaFuncSetAttribute(K, cudaFuncAttributeMaxDynamicSharedMemorySize, smem);
		if (e != cudaSuccess)
			return e;
		attr_set = true;
	}
	K<<<dim3((unsigned)p->ci.n_blocks), threads, smem, st>>>(*p);
	return cudaGetLastError();
}

/* A forward pass of a chunk kernel, once chunk_params_make() has made p and
 * pp: the kernel of a's dtype (K_BF16 or K_FP16) by chunk_enqueue(), then
 * the merge of pp into a->out.  Returns a cudaError_t. */
template <void (*K_BF16)(struct chunk_params), void (*K_FP16)(struct chunk_params)>
static int chunk_forward(const struct attn_args *a, const struct chunk_params *p,
			 const struct attn_partials *pp, int threads, int smem, struct CUstream_st *stream)
{
	cudaStream_t st = (cudaStream_t)stream;
	cudaError_t e = a->s.dtype == ATTN_BF16 ? chunk_enqueue<K_BF16>(p, threads, smem, st)
						: chunk_enqueue<K_FP16>(p, threads, smem, st);
	if (e != cudaSuccess)
		return (int)e;
	return attn_merge_launch(pp, a->out, stream);
}
#endif

#endif
