/* ref_kernel.c - the `ref` kernel: ChunkAttention's chunked algorithm on the
 * CPU in fp64.  Each sequence walks its own chunk table (the paged-KV
 * convention the GPU kernels use); every chunk's partial state (max, sum,
 * unnormalized out) is merged into the running state with softmax_merge.h's
 * rule.  So its rows check the tables and the merge rule against
 * reference_attention(), which walks the tree instead and never chunks.
 * It runs on the CPU backend: launch() gets host pointers and no stream. */
#include "inputs.h"
#include "err.h"
#include "parallel.h"
#include "../../kernels/softmax_merge.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct ref_job {
	const struct attn_args *a;
};

/* Scratch of one task: one chunk's K and V as float, the group's queries,
 * running states and one partial, in double. */
static size_t ref_scratch_bytes(const struct attn_shape *s)
{
	size_t d = (size_t)s->d_head, g = (size_t)attn_group_size(s);
	return 2 * (size_t)s->chunk_size * d * sizeof(float) + (g * (2 * d + 2) + d) * sizeof(double);
}

static void ref_task(void *ctx, long i, void *scratch)
{
	const struct attn_args *a = ((const struct ref_job *)ctx)->a;
	const struct attn_shape *s = &a->s;
	const int d = s->d_head, g = attn_group_size(s), cs = s->chunk_size;
	const int kvh = (int)(i % s->n_kv_heads), q = (int)(i / s->n_kv_heads);
	const uint16_t *qb = a->q, *kb = a->k, *vb = a->v;
	float *kc = scratch, *vc = kc + (size_t)cs * d;
	double *acc = (double *)(vc + (size_t)cs * d), *qd = acc + (size_t)g * d;
	double *ml = qd + (size_t)g * d, *part = ml + 2 * g;
	const int *table = a->tree.chunk_table + (size_t)q * attn_seq_chunks(s);
	const int len = a->tree.seq_len[q];
	double scale = 1.0 / sqrt((double)d);

	for (int j = 0; j < g; j++) {
		ml[2 * j] = -INFINITY;
		ml[2 * j + 1] = 0;
		memset(acc + (size_t)j * d, 0, (size_t)d * sizeof *acc);
		for (int e = 0; e < d; e++)
			qd[(size_t)j * d + e] = half_to_float(qb[q_index(s, q, kvh * g + j, e)], s->dtype);
	}
	for (int c = 0; c * cs < len; c++) {
		int n = len - c * cs < cs ? len - c * cs : cs;
		size_t src = kv_index(s, table[c], kvh, 0, 0);
		half_widen(kb + src, (size_t)n * d, s->dtype, kc);
		half_widen(vb + src, (size_t)n * d, s->dtype, vc);
		for (int j = 0; j < g; j++) {
			const double *qv = qd + (size_t)j * d;
			double pm = -INFINITY, pl = 0, nm, nl, a1, a2, *o = acc + (size_t)j * d;

			memset(part, 0, (size_t)d * sizeof *part);
			for (int t = 0; t < n; t++) {
				double sc = 0;
				for (int e = 0; e < d; e++)
					sc += qv[e] * kc[(size_t)t * d + e];
				sc *= scale;
				if (sc > pm) { /* online within the chunk: rescale what is summed */
					double f = pm == -INFINITY ? 0 : exp(pm - sc);
					pl *= f;
					for (int e = 0; e < d; e++)
						part[e] *= f;
					pm = sc;
				}
				double p = exp(sc - pm);
				pl += p;
				for (int e = 0; e < d; e++)
					part[e] += p * vc[(size_t)t * d + e];
			}
			/* merge the chunk's partial into the running state */
			softmax_merge_d(ml[2 * j], ml[2 * j + 1], pm, pl, &nm, &nl, &a1, &a2);
			for (int e = 0; e < d; e++)
				o[e] = a1 * o[e] + a2 * part[e];
			ml[2 * j] = nm;
			ml[2 * j + 1] = nl;
		}
	}
	for (int j = 0; j < g; j++) {
		float *out = a->out + q_index(s, q, kvh * g + j, 0);
		for (int e = 0; e < d; e++)
			out[e] = (float)(acc[(size_t)j * d + e] / ml[2 * j + 1]);
	}
}

static const char *ref_check(const struct attn_shape *s)
{
	(void)s;
	return NULL; /* every shape */
}

static size_t ref_workspace(const struct attn_shape *s)
{
	(void)s;
	return 0;
}

static int ref_launch(const struct attn_args *a, struct CUstream_st *stream)
{
	struct ref_job j = { a };
	(void)stream;
	parallel_for((long)a->s.n_kv_heads * a->s.n_seqs, 0, ref_scratch_bytes(&a->s), ref_task, &j);
	return 0;
}

const struct attn_kernel attn_kernel_ref = {
	"ref",
	"CPU reference backend: ChunkAttention's chunked algorithm in fp64, through the chunk tables",
	ref_check,
	ref_workspace,
	ref_launch,
};
