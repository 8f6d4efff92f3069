/* attn.h - the contract between run-kernel and every attention kernel.
 *
 * Workload.  n_seqs sequences decode one token each.  Sequence s sees, in
 * this order,
 *   - n_chunks chunks common to every sequence (the system prompt),
 *   - group_chunks chunks shared by its group (n_seqs / n_groups
 *     consecutive sequences form a group: few-shot examples, a document),
 *   - suffix_len tokens of its own (the last chunk may be partial).
 * For every sequence s and query head h, with g = n_heads / n_kv_heads
 * query heads per K/V head (GQA; g = 1 is plain multi-head attention):
 *     out[s,h,:] = softmax(q[s,h,:] . K_{s,h/g}^T * scale) . V_{s,h/g}
 * over that sequence's context, scale = 1/sqrt(d_head).
 *
 * Memory layouts (row-major, element type = dtype unless noted):
 *   q    [n_seqs][n_heads][d_head]
 *   k, v [n_pool_chunks][n_kv_heads][chunk_size][d_head]   the chunk pool
 *        (pages): one chunk is [n_kv_heads, chunk_size, d_head].  Every
 *        distinct chunk is stored once, at the pool index the tables give;
 *        the pool order is shuffled, so a kernel must go through the tables.
 *   out  [n_seqs][n_heads][d_head]  fp32, normalized (every element written)
 *
 * The tables (struct attn_tree; int32, device copies in attn_args.tree and
 * host copies in attn_args.host_tree, for launchers that plan on the host):
 *   chunk_table [n_seqs][attn_seq_chunks()]  pool index of each chunk of
 *        each sequence, in context order (the paged-KV block table of vLLM
 *        and FlashInfer); seq_len [n_seqs] its tokens (attn_seq_tokens()).
 *   nodes / node_chunks  the prefix tree, explicitly: each node is a run of
 *        chunks shared by the consecutive sequences [seq_begin, seq_begin +
 *        n_seqs): level 0 the common prefix (one node), level 1 one node per
 *        group (when group_chunks > 0), level 2 one node per sequence (its
 *        suffix, when suffix_len > 0).  A node's pool indices are
 *        node_chunks[chunk_begin .. chunk_begin + n_chunks); its last chunk
 *        holds n_tokens - (n_chunks - 1) * chunk_size tokens.  A kernel can
 *        do shared nodes once for all their sequences and leaves per
 *        sequence (ChunkAttention's two phases) without rediscovering this.
 *
 * A kernel is one `struct attn_kernel` value, exported with C linkage from
 * its .cu file (or, for the CPU reference, from C) and listed once in
 * kernels/registry.c.  This header is plain C so the C11 host tools include
 * it without the CUDA headers.
 */
#ifndef ATTN_H
#define ATTN_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#ifdef __CUDACC__
#define ATTN_FN static __host__ __device__ __forceinline__
#else
#define ATTN_FN static inline
#endif

enum attn_dtype { ATTN_BF16 = 0, ATTN_FP16 = 1 };

struct attn_shape {
	int n_seqs, n_heads, n_kv_heads;
	int n_chunks;                  /* common prefix chunks */
	int n_groups, group_chunks;    /* second tree level */
	int suffix_len;                /* tokens each sequence has alone */
	int chunk_size, d_head;
	enum attn_dtype dtype;
};

/* Query heads that read one K/V head. */
ATTN_FN int attn_group_size(const struct attn_shape *s) { return s->n_heads / s->n_kv_heads; }
/* Chunks of one sequence's suffix (the last may be partial). */
ATTN_FN int attn_suffix_chunks(const struct attn_shape *s)
{
	return (s->suffix_len + s->chunk_size - 1) / s->chunk_size;
}
/* Chunks in one sequence's table: common + group + suffix. */
ATTN_FN int attn_seq_chunks(const struct attn_shape *s)
{
	return s->n_chunks + s->group_chunks + attn_suffix_chunks(s);
}
/* Tokens of one sequence's context (every sequence has the same count). */
ATTN_FN long attn_seq_tokens(const struct attn_shape *s)
{
	return (long)(s->n_chunks + s->group_chunks) * s->chunk_size + s->suffix_len;
}
/* Distinct chunks in the pool. */
ATTN_FN long attn_pool_chunks(const struct attn_shape *s)
{
	return (long)s->n_chunks + (long)s->n_groups * s->group_chunks +
	       (long)s->n_seqs * attn_suffix_chunks(s);
}
/* The seed's workload: one prefix shared by all, one K/V head per query head. */
ATTN_FN int attn_is_single_prefix(const struct attn_shape *s)
{
	return s->n_kv_heads == s->n_heads && s->group_chunks == 0 && s->suffix_len == 0;
}

/* Levels of the prefix tree. */
enum { ATTN_LEVEL_COMMON = 0, ATTN_LEVEL_GROUP = 1, ATTN_LEVEL_SUFFIX = 2, ATTN_LEVELS = 3 };

struct attn_node {
	int seq_begin, n_seqs;     /* the sequences that share it */
	int chunk_begin, n_chunks; /* its pool indices in node_chunks */
	int n_tokens;              /* tokens it holds (last chunk may be partial) */
	int level;                 /* ATTN_LEVEL_* */
};

struct attn_tree {
	const int *chunk_table;          /* [n_seqs][attn_seq_chunks()] */
	const int *seq_len;              /* [n_seqs] */
	const struct attn_node *nodes;   /* [n_nodes], level by level */
	const int *node_chunks;          /* [attn_pool_chunks()] */
	int n_nodes;
	int level_begin[ATTN_LEVELS + 1]; /* nodes of level L: [level_begin[L], level_begin[L+1]) */
};

struct attn_args {
	struct attn_shape s;
	const void *q, *k, *v;        /* device pointers, layouts above */
	float *out;                   /* device pointer, every element written */
	void *work;                   /* device scratch of workspace(&s) bytes (NULL if 0) */
	float scale;                  /* 1/sqrt(d_head) */
	struct attn_tree tree;        /* device copies of the tables */
	const struct attn_tree *host_tree; /* the same tables in host memory */
};

/* Host code: the device pointer to the common prefix's pool indices (the
 * level-0 node's chunks), in context order: what a single-prefix kernel
 * reads K/V through. */
static inline const int *attn_common_chunks(const struct attn_args *a)
{
	const struct attn_node *root = &a->host_tree->nodes[a->host_tree->level_begin[ATTN_LEVEL_COMMON]];
	return a->tree.node_chunks + root->chunk_begin;
}

/* check()'s common part for the kernels built for 64-token chunks, d_head
 * 128 and bf16/fp16: returns the one-line reason from the calling check(). */
#define ATTN_CHECK_TILE_64x128(NAME, S)                                               \
	do {                                                                          \
		if ((S)->chunk_size != 64)                                            \
			return NAME " supports chunk_size 64 only";                   \
		if ((S)->d_head != 128)                                               \
			return NAME " supports d_head 128 only";                      \
		if ((S)->dtype != ATTN_BF16 && (S)->dtype != ATTN_FP16)               \
			return NAME " supports dtype bf16 and fp16 only";             \
		if ((S)->n_seqs < 1 || (S)->n_heads < 1 || (S)->n_chunks < 1)         \
			return NAME " needs n_seqs, n_heads, n_chunks >= 1";          \
	} while (0)

/* check()'s reason for kernels that run the single-prefix workload only. */
#define ATTN_SINGLE_PREFIX_ONLY(NAME) \
	NAME " runs the single-prefix workload only (n_kv_heads = n_heads, no group chunks, no suffix)"

struct CUstream_st; /* = cudaStream_t, without pulling in cuda_runtime.h */

struct attn_kernel {
	const char *name;    /* run-kernel -k NAME */
	const char *summary; /* one line for run-kernel --list */
	/* NULL when the shape is supported, else a one-line reason. */
	const char *(*check)(const struct attn_shape *s);
	/* bytes of device scratch one launch needs (partials, ...) */
	size_t (*workspace)(const struct attn_shape *s);
	/* enqueue every launch of one forward pass on stream; returns a
	 * cudaError_t (0 = cudaSuccess), launch errors included. */
	int (*launch)(const struct attn_args *a, struct CUstream_st *stream);
};

#ifdef __cplusplus
}
#endif

#endif
