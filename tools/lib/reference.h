/* reference.h - the specification: plain loops, fp64 accumulation, and the
 * checks that judge a kernel's output against it.
 *
 * reference_attention() computes out[s,h,:] = softmax(q.K^T/sqrt(d)) . V over
 * each sequence's whole context at once (two passes: max, then exp-sum),
 * finding its keys by walking the prefix tree's nodes (not the per-sequence
 * chunk table the kernels use), with no chunking, so it shares no algorithm
 * with the kernels it judges. */
#ifndef REFERENCE_H
#define REFERENCE_H

#include "inputs.h"

/* out: n_seqs*n_heads*d_head doubles, layout [s][h][d]. */
void reference_attention(const struct inputs *in, double *out);
/* Host bytes of scratch reference_attention() takes (all threads). */
double reference_scratch_bytes(const struct attn_shape *s);

/* How far an output is from the reference. */
struct out_error {
	double rel;           /* ||out - ref||_2 / ||ref||_2 over the whole output */
	double max_row;       /* the same over one (seq, head) row, the worst row */
	int worst_seq, worst_head;
};
/* NaN (in rel and max_row) if out holds a NaN/inf or a reference row is 0. */
struct out_error out_error(const float *out, const double *ref, const struct attn_shape *s);

/* ||out - ref||_2 / ||ref||_2; NaN if out holds a NaN/inf or ref is zero. */
double rel_err_f32(const float *out, const double *ref, size_t n);

/* Largest error (whole output and worst row) that passes validation. */
double rel_err_tolerance(enum attn_dtype t);

#endif
