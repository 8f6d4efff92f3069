/* reference.c - see reference.h */
#include "reference.h"
#include "err.h"
#include "parallel.h"
#include "../../kernels/softmax_merge.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* One head's K and V (all chunks) and Q, widened to double once per head so
 * the inner loops are plain double arithmetic. */
struct head_view {
	int n_tok, d;
	double *k, *v, *q; /* [n_tok][d], [n_tok][d], [n_seqs][d] */
};

static size_t head_scratch_bytes(const struct attn_shape *s)
{
	size_t n_tok = (size_t)s->n_chunks * s->chunk_size;
	return (2 * n_tok + (size_t)s->n_seqs) * s->d_head * sizeof(double);
}

static void head_load(const struct inputs *in, int h, void *scratch, struct head_view *hv)
{
	const struct attn_shape *s = &in->s;
	hv->n_tok = s->n_chunks * s->chunk_size;
	hv->d = s->d_head;
	hv->k = scratch;
	hv->v = hv->k + (size_t)hv->n_tok * hv->d;
	hv->q = hv->v + (size_t)hv->n_tok * hv->d;
	for (int c = 0; c < s->n_chunks; c++)
		for (int t = 0; t < s->chunk_size; t++)
			for (int d = 0; d < s->d_head; d++) {
				size_t src = kv_index(s, c, h, t, d);
				size_t dst = ((size_t)c * s->chunk_size + t) * s->d_head + d;
				hv->k[dst] = half_to_float(in->k[src], s->dtype);
				hv->v[dst] = half_to_float(in->v[src], s->dtype);
			}
	for (int q = 0; q < s->n_seqs; q++)
		for (int d = 0; d < s->d_head; d++)
			hv->q[(size_t)q * s->d_head + d] =
				half_to_float(in->q[((size_t)q * s->n_heads + h) * s->d_head + d], s->dtype);
}

static double dot(const double *a, const double *b, int n)
{
	double acc = 0;
	for (int i = 0; i < n; i++)
		acc += a[i] * b[i];
	return acc;
}

struct job {
	const struct inputs *in;
	double *ref_out;
	float *chunked_out;
};

static void reference_head(void *ctx, long h, void *scratch)
{
	const struct job *j = ctx;
	const struct attn_shape *s = &j->in->s;
	struct head_view hv;
	double scale = 1.0 / sqrt((double)s->d_head);
	double *score;

	head_load(j->in, (int)h, scratch, &hv);
	score = xmalloc((size_t)hv.n_tok * sizeof *score);
	for (int q = 0; q < s->n_seqs; q++) {
		const double *qv = hv.q + (size_t)q * hv.d;
		double *o = j->ref_out + ((size_t)q * s->n_heads + h) * hv.d;
		double mx = -INFINITY, sum = 0;

		for (int t = 0; t < hv.n_tok; t++) {
			score[t] = dot(qv, hv.k + (size_t)t * hv.d, hv.d) * scale;
			if (score[t] > mx)
				mx = score[t];
		}
		memset(o, 0, (size_t)hv.d * sizeof *o);
		for (int t = 0; t < hv.n_tok; t++) {
			double p = exp(score[t] - mx);
			const double *vv = hv.v + (size_t)t * hv.d;
			sum += p;
			for (int d = 0; d < hv.d; d++)
				o[d] += p * vv[d];
		}
		for (int d = 0; d < hv.d; d++)
			o[d] /= sum;
	}
	free(score);
}

void reference_attention(const struct inputs *in, double *out)
{
	struct job j = { in, out, NULL };
	parallel_for(in->s.n_heads, 0, head_scratch_bytes(&in->s), reference_head, &j);
}

static void chunked_head(void *ctx, long h, void *scratch)
{
	const struct job *j = ctx;
	const struct attn_shape *s = &j->in->s;
	struct head_view hv;
	double scale = 1.0 / sqrt((double)s->d_head);
	double *acc = xmalloc(2 * (size_t)s->d_head * sizeof *acc), *part = acc + s->d_head;

	head_load(j->in, (int)h, scratch, &hv);
	for (int q = 0; q < s->n_seqs; q++) {
		const double *qv = hv.q + (size_t)q * hv.d;
		double m = -INFINITY, l = 0;

		memset(acc, 0, (size_t)hv.d * sizeof *acc);
		for (int c = 0; c < s->n_chunks; c++) {
			/* this chunk's partial state */
			const double *kc = hv.k + (size_t)c * s->chunk_size * hv.d;
			const double *vc = hv.v + (size_t)c * s->chunk_size * hv.d;
			double pm = -INFINITY, pl = 0, nm, nl, a1, a2;

			for (int t = 0; t < s->chunk_size; t++) {
				double sc = dot(qv, kc + (size_t)t * hv.d, hv.d) * scale;
				if (sc > pm)
					pm = sc;
			}
			memset(part, 0, (size_t)hv.d * sizeof *part);
			for (int t = 0; t < s->chunk_size; t++) {
				double p = exp(dot(qv, kc + (size_t)t * hv.d, hv.d) * scale - pm);
				pl += p;
				for (int d = 0; d < hv.d; d++)
					part[d] += p * vc[(size_t)t * hv.d + d];
			}
			/* merge it into the running state */
			softmax_merge_d(m, l, pm, pl, &nm, &nl, &a1, &a2);
			for (int d = 0; d < hv.d; d++)
				acc[d] = a1 * acc[d] + a2 * part[d];
			m = nm;
			l = nl;
		}
		float *o = j->chunked_out + ((size_t)q * s->n_heads + h) * hv.d;
		for (int d = 0; d < hv.d; d++)
			o[d] = (float)(acc[d] / l);
	}
	free(acc);
}

void cpu_chunked_attention(const struct inputs *in, float *out)
{
	struct job j = { in, NULL, out };
	parallel_for(in->s.n_heads, 0, head_scratch_bytes(&in->s), chunked_head, &j);
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

double rel_err_tolerance(enum attn_dtype t) { return t == ATTN_FP16 ? 2e-3 : 1e-2; }
