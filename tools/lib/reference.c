/* reference.c - see reference.h */
#include "reference.h"
#include "parallel.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* One task is one (K/V head, sequence): its context's K and V widened to
 * float once (exact for bf16/fp16), then every query head of the group. */
static size_t task_scratch_bytes(const struct attn_shape *s)
{
	size_t n_tok = (size_t)attn_seq_tokens(s);
	return n_tok * (2 * (size_t)s->d_head * sizeof(float) + sizeof(double)) +
	       (size_t)s->d_head * sizeof(double);
}

double reference_scratch_bytes(const struct attn_shape *s)
{
	long tasks = (long)s->n_kv_heads * s->n_seqs;
	int threads = parallel_cores();
	return (double)(tasks < threads ? tasks : threads) * (double)task_scratch_bytes(s);
}

/* Gathers sequence q's keys of K/V head kvh, walking its tree nodes root
 * first; returns the token count. */
static long gather(const struct inputs *in, int kvh, int q, float *k, float *v)
{
	const struct attn_shape *s = &in->s;
	long n = 0;

	for (int level = 0; level < ATTN_LEVELS; level++) {
		const struct attn_node *nd = tree_node_of(&in->tree.t, level, q);
		for (int t = 0; nd && t < nd->n_tokens; t++, n++) {
			long c = in->tree.t.node_chunks[nd->chunk_begin + t / s->chunk_size];
			size_t src = kv_index(s, c, kvh, t % s->chunk_size, 0);
			half_widen(in->k + src, (size_t)s->d_head, s->dtype, k + (size_t)n * s->d_head);
			half_widen(in->v + src, (size_t)s->d_head, s->dtype, v + (size_t)n * s->d_head);
		}
	}
	return n;
}

struct job {
	const struct inputs *in;
	double *out;
};

static void reference_task(void *ctx, long i, void *scratch)
{
	const struct job *j = ctx;
	const struct attn_shape *s = &j->in->s;
	const int d = s->d_head, g = attn_group_size(s), kvh = (int)(i % s->n_kv_heads);
	const int q = (int)(i / s->n_kv_heads);
	const size_t n_tok = (size_t)attn_seq_tokens(s);
	float *k = scratch, *v = k + n_tok * d;
	double *score = (double *)(v + n_tok * d), *qv = score + n_tok;
	double scale = 1.0 / sqrt((double)d);
	long n = gather(j->in, kvh, q, k, v);

	for (int h = kvh * g; h < (kvh + 1) * g; h++) {
		double *o = j->out + q_index(s, q, h, 0), mx = -INFINITY, sum = 0;
		for (int e = 0; e < d; e++)
			qv[e] = half_to_float(j->in->q[q_index(s, q, h, e)], s->dtype);
		for (long t = 0; t < n; t++) {
			double acc = 0;
			for (int e = 0; e < d; e++)
				acc += qv[e] * k[(size_t)t * d + e];
			score[t] = acc * scale;
			if (score[t] > mx)
				mx = score[t];
		}
		memset(o, 0, (size_t)d * sizeof *o);
		for (long t = 0; t < n; t++) {
			double p = exp(score[t] - mx);
			sum += p;
			for (int e = 0; e < d; e++)
				o[e] += p * v[(size_t)t * d + e];
		}
		for (int e = 0; e < d; e++)
			o[e] /= sum;
	}
}

void reference_attention(const struct inputs *in, double *out)
{
	struct job j = { in, out };
	parallel_for((long)in->s.n_kv_heads * in->s.n_seqs, 0, task_scratch_bytes(&in->s),
		     reference_task, &j);
}

double rel_err_f32(const float *out, const double *ref, size_t n)
{
	double num = 0, den = 0;
	for (size_t i = 0; i < n; i++) {
		double d = (double)out[i] - ref[i];
		num += d * d;
		den += ref[i] * ref[i];
	}
	if (!isfinite(num) || den == 0)
		return NAN;
	return sqrt(num / den);
}

struct out_error out_error(const float *out, const double *ref, const struct attn_shape *s)
{
	struct out_error e = { 0, 0, 0, 0 };
	size_t rows = (size_t)s->n_seqs * s->n_heads, d = (size_t)s->d_head;

	e.rel = rel_err_f32(out, ref, rows * d);
	for (size_t r = 0; r < rows; r++) {
		double x = rel_err_f32(out + r * d, ref + r * d, d);
		if (!(x <= e.max_row)) { /* NaN is the worst */
			e.max_row = x;
			e.worst_seq = (int)(r / s->n_heads);
			e.worst_head = (int)(r % s->n_heads);
			if (isnan(x))
				break;
		}
	}
	return e;
}

double rel_err_tolerance(enum attn_dtype t) { return t == ATTN_FP16 ? 2e-3 : 1e-2; }
