/* merge.h - per-chunk partial attention states, and the kernel that merges them.
 *
 * A two-phase kernel (native, tk, any later split-K / cascade kernel) first
 * writes P partial states per (seq, head), each over a disjoint subset of the
 * keys (a chunk, a prefix, a suffix, ...), then calls attn_merge_launch() to
 * fold them into the normalized fp32 output with the rule of softmax_merge.h.
 *
 * A partial state (softmax_merge.h's (m, l, o)); m and l are fp32, o is stored
 * as o_dtype (bf16 or fp16; always accumulated in fp32 and rounded once when
 * stored, widened back to fp32 by the merge):
 *   m    = max over its keys of the scaled score  q.k * scale  (natural-log
 *          domain; a kernel that works in exp2 converts back: m = m2 * ln 2)
 *   l    = sum over its keys of exp(score - m)
 *   o[d] = sum over its keys of exp(score - m) * v[d]     (unnormalized)
 *   An empty partial is m = -INFINITY, l = 0, o = 0 and merges as a no-op.
 *
 * 16-bit o halves the partials' traffic against fp32 (merge.cu's v1).
 * Range: every weight exp(score - m) is <= 1, so |o[d]| <= n_keys * max|v|
 * (n_keys = the partial's key count, e.g. chunk_size = 64).  bf16 has fp32's
 * range; fp16's largest finite value is 65504, so a producer may store o as
 * fp16 only for inputs with max|v| <= 65504 / n_keys (1023 for 64-key chunks;
 * fp16 inputs are themselves <= 65504, so fp16 V with |v| > 1023 could
 * overflow: such inputs would need fp32 partials, which this merge no longer
 * reads).  Precision: one rounding of o,
 * at most 2^-8 (bf16) / 2^-11 (fp16) relative per element, the order of the inputs'
 * own rounding.
 *
 * Layout in the workspace (one allocation; row = one (part, head, seq)):
 *   o  o_dtype [n_parts][n_heads][n_seqs][d_head]   at work
 *   ml float   [n_parts][n_heads][n_seqs][2]        (m, l) pairs, after o,
 *                                                   256-byte aligned
 * so the P partials that one (head, chunk) block writes for all n_seqs
 * sequences are one contiguous, coalesced run of n_seqs * d_head elements.
 *
 * Output: out[n_seqs][n_heads][d_head] fp32 (attn.h's layout), every element
 * written; a (seq, head) whose partials are all empty gets 0.
 *
 * The merge is launched as a programmatic dependent of the kernel enqueued
 * before it on the stream (sm_90: its launch overlaps the producer's tail;
 * griddepcontrol.wait holds it until the producer grid has completed and its
 * writes are visible), so the producer needs no trigger of its own.
 *
 * Plain C so C host code can size and carve a workspace; the index helpers
 * are also usable in device code.
 */
#ifndef MERGE_H
#define MERGE_H

#include <stddef.h>

#include "attn.h"

#ifdef __cplusplus
extern "C" {
#endif

#ifdef __CUDACC__
#define ATTN_PARTIALS_FN static __host__ __device__ __forceinline__
#else
#define ATTN_PARTIALS_FN static inline
#endif

/* Element type of the stored o (0 is none: a zeroed struct is refused). */
enum attn_part_dtype { ATTN_PART_BF16 = 1, ATTN_PART_FP16 = 2 };

struct attn_partials {
	void *o;     /* o_dtype [n_parts][n_heads][n_seqs][d_head] unnormalized outputs */
	float *ml;   /* float   [n_parts][n_heads][n_seqs][2]      (m, l) */
	int n_parts, n_heads, n_seqs, d_head;
	int o_dtype; /* enum attn_part_dtype */
};

/* Bytes of one stored o element. */
ATTN_PARTIALS_FN size_t attn_part_dtype_size(int o_dtype)
{
	(void)o_dtype;
	return 2;
}

/* bytes rounded up to 256: where the next array of a workspace starts */
ATTN_PARTIALS_FN size_t attn_round256(size_t bytes)
{
	return (bytes + 255) & ~(size_t)255;
}

/* Byte offset of ml inside the workspace (o's bytes rounded up to 256). */
ATTN_PARTIALS_FN size_t attn_partials_ml_offset_t(int n_parts, int n_heads, int n_seqs,
						   int d_head, int o_dtype)
{
	return attn_round256((size_t)n_parts * n_heads * n_seqs * d_head * attn_part_dtype_size(o_dtype));
}

/* Workspace bytes for P partials of every (seq, head), o stored as o_dtype. */
ATTN_PARTIALS_FN size_t attn_partials_bytes_t(int n_parts, int n_heads, int n_seqs, int d_head,
					      int o_dtype)
{
	return attn_partials_ml_offset_t(n_parts, n_heads, n_seqs, d_head, o_dtype) +
	       (size_t)n_parts * n_heads * n_seqs * 2 * sizeof(float);
}

/* The partials view of a workspace of attn_partials_bytes_t() bytes. */
ATTN_PARTIALS_FN struct attn_partials attn_partials_at_t(void *work, int n_parts, int n_heads,
							  int n_seqs, int d_head, int o_dtype)
{
	struct attn_partials p;
	p.o = work;
	p.ml = (float *)((char *)work + attn_partials_ml_offset_t(n_parts, n_heads, n_seqs,
								     d_head, o_dtype));
	p.n_parts = n_parts;
	p.n_heads = n_heads;
	p.n_seqs = n_seqs;
	p.d_head = d_head;
	p.o_dtype = o_dtype;
	return p;
}

/* Chunk kernels (native, tk: chunk_items.h): one partial per chunk of each
 * sequence's table, n_parts = attn_seq_chunks() (part = the chunk's table
 * slot), o stored in the input dtype.  Their workspace size and its view,
 * written once for both. */
ATTN_PARTIALS_FN int attn_chunk_part_dtype(const struct attn_shape *s)
{
	return s->dtype == ATTN_FP16 ? ATTN_PART_FP16 : ATTN_PART_BF16;
}

ATTN_PARTIALS_FN size_t attn_chunk_partials_bytes(const struct attn_shape *s)
{
	return attn_partials_bytes_t(attn_seq_chunks(s), s->n_heads, s->n_seqs, s->d_head,
				     attn_chunk_part_dtype(s));
}

ATTN_PARTIALS_FN struct attn_partials attn_chunk_partials(const struct attn_args *a)
{
	return attn_partials_at_t(a->work, attn_seq_chunks(&a->s), a->s.n_heads, a->s.n_seqs,
				  a->s.d_head, attn_chunk_part_dtype(&a->s));
}

/* Enqueues the merge: out[s][h][:] = (merged o) / (merged l) for every (s, h).
 * Needs n_parts >= 1, d_head % 8 == 0, o_dtype ATTN_PART_BF16 or
 * ATTN_PART_FP16 and o 16-byte aligned (else cudaErrorInvalidValue).
 * Returns a cudaError_t (0 = cudaSuccess), the launch's error included. */
struct CUstream_st;
int attn_merge_launch(const struct attn_partials *p, float *out, struct CUstream_st *stream);

#ifdef __cplusplus
}
#endif

#endif
