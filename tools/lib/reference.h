/* reference.h - the specification: plain loops, fp64 accumulation.
 *
 * reference_attention() computes out[s,h,:] = softmax(q.K^T/sqrt(d)) . V over
 * the whole prefix at once (two passes: max, then exp-sum), with no chunking,
 * so it shares no algorithm with the kernels it judges. */
#ifndef REFERENCE_H
#define REFERENCE_H

#include "inputs.h"

/* out: n_seqs*n_heads*d_head doubles, layout [s][h][d]. */
void reference_attention(const struct inputs *in, double *out);

/* ||out - ref||_2 / ||ref||_2; NaN if out holds a NaN/inf or ref is zero. */
double rel_err_f32(const float *out, const double *ref, size_t n);

/* Largest rel_err that passes validation for a dtype (spec.md section 5). */
double rel_err_tolerance(enum attn_dtype t);

/* The `ref` backend: ChunkAttention's algorithm on the CPU in fp64 - each
 * chunk's partial (max, sum, unnormalized out) merged with softmax_merge.h -
 * so its rows also check the merge rule against reference_attention(). */
void cpu_chunked_attention(const struct inputs *in, float *out);

#endif
