/* inputs.h - seeded random inputs, the same for every backend and its
 * reference.  Values are uniform in [-1, 1] rounded to the config's dtype
 * (never zeros: zeros hide unwritten outputs and run faster than real data).
 * Each element is a pure function of (seed, tensor, index), so the bits do not
 * depend on thread count or on which kernel asked. */
#ifndef INPUTS_H
#define INPUTS_H

#include <stddef.h>
#include <stdint.h>

#include "../../kernels/attn.h"

struct inputs {
	struct attn_shape s;
	uint16_t *q;    /* [n_seqs][n_heads][d_head] */
	uint16_t *k;    /* [n_chunks][n_heads][chunk_size][d_head] */
	uint16_t *v;
	size_t nq, nkv; /* element counts */
};

/* Returns 0, or -1 when the host cannot hold them or their sizes overflow
 * (prefix over 2^31 tokens; nothing allocated). */
int inputs_make(struct inputs *in, const struct attn_shape *s, uint64_t seed);
void inputs_free(struct inputs *in);

/* bf16/fp16 bits <-> float, round to nearest even. */
float half_to_float(uint16_t h, enum attn_dtype t);
uint16_t float_to_half(float f, enum attn_dtype t);

/* Index of element (chunk c, head h, token t, dim d) in k/v. */
static inline size_t kv_index(const struct attn_shape *s, int c, int h, int t, int d)
{
	return (((size_t)c * s->n_heads + h) * s->chunk_size + t) * s->d_head + d;
}

#endif
