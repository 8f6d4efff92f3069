/* attn.h - the contract between run-kernel and every GPU attention kernel.
 *
 * Workload (spec.md section 2): n_seqs sequences share one prefix of
 * n_chunks x chunk_size tokens.  For every sequence s and head h:
 *     out[s,h,:] = softmax(q[s,h,:] . K_h^T * scale) . V_h
 * with scale = 1/sqrt(d_head).
 *
 * Memory layouts (row-major, element type = dtype unless noted):
 *   q    [n_seqs][n_heads][d_head]
 *   k, v [n_chunks][n_heads][chunk_size][d_head]   ChunkAttention's chunk pool:
 *        one chunk is [n_heads, chunk_size, d_head]
 *   out  [n_seqs][n_heads][d_head]  fp32, normalized (the final attention output)
 *
 * A kernel is one `struct attn_kernel` value, exported with C linkage from its
 * .cu file and listed once in kernels/registry.c.  This header is plain C so the
 * C11 host tools include it without the CUDA headers.
 */
#ifndef ATTN_H
#define ATTN_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

enum attn_dtype { ATTN_BF16 = 0, ATTN_FP16 = 1 };

struct attn_shape {
	int n_seqs, n_heads, n_chunks, chunk_size, d_head;
	enum attn_dtype dtype;
};

struct attn_args {
	struct attn_shape s;
	const void *q, *k, *v; /* device pointers, layouts above */
	float *out;            /* device pointer, every element written */
	void *work;            /* device scratch of workspace(&s) bytes (NULL if 0) */
	float scale;           /* 1/sqrt(d_head) */
};

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
