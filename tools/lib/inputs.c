/* inputs.c - see inputs.h */
#include "inputs.h"
#include "parallel.h"
#include "rng.h"

#include <pthread.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

float half_to_float(uint16_t h, enum attn_dtype t)
{
	uint32_t bits;
	float f;

	if (t == ATTN_BF16) {
		bits = (uint32_t)h << 16;
		memcpy(&f, &bits, 4);
		return f;
	}
	/* IEEE binary16 */
	uint32_t sign = (uint32_t)(h >> 15) << 31, exp = (h >> 10) & 31, man = h & 1023;
	if (exp == 0) {
		f = ldexpf((float)man, -24);
		return sign ? -f : f;
	}
	if (exp == 31)
		bits = sign | 0x7f800000u | (man << 13);
	else
		bits = sign | ((exp + 112) << 23) | (man << 13);
	memcpy(&f, &bits, 4);
	return f;
}

uint16_t float_to_half(float f, enum attn_dtype t)
{
	uint32_t bits;

	memcpy(&bits, &f, 4);
	if (t == ATTN_BF16) {
		if (isnan(f))
			return 0x7fc0;
		bits += 0x7fff + ((bits >> 16) & 1); /* round to nearest even */
		return (uint16_t)(bits >> 16);
	}
	uint16_t sign = (uint16_t)((bits >> 16) & 0x8000);
	float a = fabsf(f);
	if (isnan(f))
		return 0x7e00;
	if (a >= 65520.0f)
		return sign | 0x7c00;
	if (a < ldexpf(1.0f, -14)) { /* subnormal: multiples of 2^-24 */
		float m = nearbyintf(a * ldexpf(1.0f, 24));
		return sign | (uint16_t)m;
	}
	int e;
	float m = frexpf(a, &e);            /* a = m * 2^e, m in [0.5, 1) */
	float q = nearbyintf(m * 2048.0f);  /* 11 significant bits */
	if (q == 2048.0f) {
		q = 1024.0f;
		e++;
	}
	/* value = q * 2^(e-11); biased exponent = e - 1 + 15 */
	return sign | (uint16_t)(((e + 14) << 10) | ((uint32_t)q - 1024));
}

/* fp16 widening by table: 2^16 floats, built once */
static float fp16_table[1 << 16];
static pthread_once_t fp16_once = PTHREAD_ONCE_INIT;

static void fp16_table_init(void)
{
	for (uint32_t h = 0; h < (1u << 16); h++)
		fp16_table[h] = half_to_float((uint16_t)h, ATTN_FP16);
}

void half_widen(const uint16_t *src, size_t n, enum attn_dtype t, float *dst)
{
	if (t == ATTN_BF16) {
		for (size_t i = 0; i < n; i++) {
			uint32_t bits = (uint32_t)src[i] << 16;
			memcpy(&dst[i], &bits, 4);
		}
		return;
	}
	pthread_once(&fp16_once, fp16_table_init);
	for (size_t i = 0; i < n; i++)
		dst[i] = fp16_table[src[i]];
}

struct fill {
	uint16_t *dst;
	size_t n;
	uint64_t key;
	enum attn_dtype t;
};

#define FILL_BLOCK ((size_t)1 << 16)

static void fill_block(void *ctx, long b, void *scratch)
{
	const struct fill *f = ctx;
	size_t lo = (size_t)b * FILL_BLOCK, hi = lo + FILL_BLOCK < f->n ? lo + FILL_BLOCK : f->n;
	(void)scratch;
	for (size_t i = lo; i < hi; i++) {
		uint64_t r = rng_at(f->key, i);
		float u = (float)((r >> 40) * (1.0 / (1 << 24))) * 2.0f - 1.0f; /* [-1, 1) */
		f->dst[i] = float_to_half(u, f->t);
	}
}

static void fill(uint16_t *dst, size_t n, uint64_t seed, enum rng_stream tensor, enum attn_dtype t)
{
	struct fill f = { dst, n, rng_key(seed, tensor), t };
	parallel_for((long)((n + FILL_BLOCK - 1) / FILL_BLOCK), 0, 0, fill_block, &f);
}

double inputs_bytes(const struct attn_shape *s)
{
	double kv = (double)attn_pool_chunks(s) * s->n_kv_heads * s->chunk_size * s->d_head;
	return 2.0 * ((double)s->n_seqs * s->n_heads * s->d_head + 2 * kv) + tree_bytes(s);
}

static const char *const profile_names[] = { "uniform", "peak-common", "peak-group", "peak-suffix" };

const char *inputs_profile_name(enum inputs_profile p)
{
	return (unsigned)p < sizeof profile_names / sizeof *profile_names ? profile_names[p] : "?";
}

int inputs_profile_parse(const char *name)
{
	for (int i = 0; i < (int)(sizeof profile_names / sizeof *profile_names); i++)
		if (strcmp(name, profile_names[i]) == 0)
			return i;
	return -1;
}

/* K of every chunk of the level's nodes times INPUTS_PEAK (exact in bf16 and
 * fp16: a power of two, and 16 * 1 stays far below either's range). */
static void peak_level(struct inputs *in, int level)
{
	const struct attn_shape *s = &in->s;
	const struct attn_tree *t = &in->tree.t;
	const size_t per_chunk = (size_t)s->n_kv_heads * s->chunk_size * s->d_head;
	for (int i = t->level_begin[level]; i < t->level_begin[level + 1]; i++)
		for (int c = 0; c < t->nodes[i].n_chunks; c++) {
			uint16_t *k = in->k + (size_t)t->node_chunks[t->nodes[i].chunk_begin + c] * per_chunk;
			for (size_t e = 0; e < per_chunk; e++)
				k[e] = float_to_half(half_to_float(k[e], s->dtype) * INPUTS_PEAK, s->dtype);
		}
}

int inputs_make(struct inputs *in, const struct attn_shape *s, uint64_t seed)
{
	return inputs_make_profile(in, s, seed, INPUTS_UNIFORM);
}

int inputs_make_profile(struct inputs *in, const struct attn_shape *s, uint64_t seed,
			enum inputs_profile profile)
{
	memset(in, 0, sizeof *in);
	in->s = *s;
	/* sizes in size_t with overflow checks: a config can ask for more than
	 * any machine has, and a wrapped size would be a tiny malloc */
	size_t kv_bytes;
	if (__builtin_mul_overflow((size_t)s->n_seqs * s->n_heads, (size_t)s->d_head, &in->nq) ||
	    __builtin_mul_overflow((size_t)attn_pool_chunks(s) * s->n_kv_heads, (size_t)s->chunk_size,
				   &in->nkv) ||
	    __builtin_mul_overflow(in->nkv, (size_t)s->d_head, &in->nkv) ||
	    __builtin_mul_overflow(in->nkv, (size_t)4, &kv_bytes)) /* K and V, 2 bytes each */
		return -1;
	if (tree_build(&in->tree, s, seed) != 0)
		return -1;
	in->q = malloc(in->nq * 2);
	in->k = malloc(in->nkv * 2);
	in->v = malloc(in->nkv * 2);
	if (!in->q || !in->k || !in->v) {
		inputs_free(in);
		return -1;
	}
	fill(in->q, in->nq, seed, RNG_Q, s->dtype);
	fill(in->k, in->nkv, seed, RNG_K, s->dtype);
	fill(in->v, in->nkv, seed, RNG_V, s->dtype);
	if (profile != INPUTS_UNIFORM)
		peak_level(in, (int)profile - 1);
	return 0;
}

void inputs_free(struct inputs *in)
{
	free(in->q);
	free(in->k);
	free(in->v);
	in->q = in->k = in->v = NULL;
	tree_free(&in->tree);
}
