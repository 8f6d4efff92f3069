/* inputs.h - one config's workload: seeded random Q and K/V pool, and the
 * chunk tables (tree.h), the same for every backend and its reference.
 * Values are uniform in [-1, 1] rounded to the config's dtype (never zeros:
 * zeros hide unwritten outputs and run faster than real data).  Each element
 * is a pure function of (seed, tensor, index) (rng.h), so the bits do not
 * depend on thread count or on which kernel asked. */
#ifndef INPUTS_H
#define INPUTS_H

#include <stddef.h>
#include <stdint.h>

#include "tree.h"
#include "../../kernels/attn.h"

struct inputs {
	struct attn_shape s;
	uint16_t *q;    /* [n_seqs][n_heads][d_head] */
	uint16_t *k;    /* the pool: [n_pool_chunks][n_kv_heads][chunk_size][d_head] */
	uint16_t *v;
	size_t nq, nkv; /* element counts */
	struct tree_tables tree;
};

/* What the values look like.  Uniform: every element uniform in [-1, 1].
 * Peaked at a tree level: the same, with the K of that level's chunks
 * scaled by INPUTS_PEAK (16): the scaled scores there spread about 16 times
 * wider (std ~5 against ~0.3 with d_head 128), so each sequence's largest
 * scores sit in that part only and the other parts' weights in the
 * log-sum-exp combination are orders of magnitude apart: the inputs that
 * catch a merge that weights its parts wrongly. */
enum inputs_profile {
	INPUTS_UNIFORM = 0,
	INPUTS_PEAK_COMMON, /* = 1 + ATTN_LEVEL_COMMON */
	INPUTS_PEAK_GROUP,
	INPUTS_PEAK_SUFFIX,
};
#define INPUTS_PEAK 16.0f
/* The profile's name ("uniform", "peak-common", "peak-group", "peak-suffix"),
 * and the profile of a name (-1: none). */
const char *inputs_profile_name(enum inputs_profile p);
int inputs_profile_parse(const char *name);

/* Host bytes inputs_make() allocates for s (Q, K/V pool, tables). */
double inputs_bytes(const struct attn_shape *s);
/* Returns 0, or -1 when the host cannot hold them or their sizes overflow
 * (nothing allocated). */
int inputs_make(struct inputs *in, const struct attn_shape *s, uint64_t seed);
/* The same with a profile (inputs_make is INPUTS_UNIFORM). */
int inputs_make_profile(struct inputs *in, const struct attn_shape *s, uint64_t seed,
			enum inputs_profile profile);
void inputs_free(struct inputs *in);

/* bf16/fp16 bits <-> float, round to nearest even. */
float half_to_float(uint16_t h, enum attn_dtype t);
uint16_t float_to_half(float f, enum attn_dtype t);
/* dst[i] = half_to_float(src[i]) for n elements (a table lookup for fp16). */
void half_widen(const uint16_t *src, size_t n, enum attn_dtype t, float *dst);

/* Index of element (pool chunk c, K/V head h, token t, dim d) in k/v. */
static inline size_t kv_index(const struct attn_shape *s, long c, int h, int t, int d)
{
	return (((size_t)c * s->n_kv_heads + h) * s->chunk_size + t) * s->d_head + d;
}

/* Index of element (sequence q, query head h, dim d) in q and in outputs. */
static inline size_t q_index(const struct attn_shape *s, int q, int h, int d)
{
	return ((size_t)q * s->n_heads + h) * s->d_head + d;
}

#endif
