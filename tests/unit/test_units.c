/* test_units.c - unit tests of the library pieces every tool and kernel
 * trusts: the online-softmax merge, the bf16/fp16 conversions, strict number
 * parsing, the metric formulas (against the course project's own rows), the
 * thread count of parallel_for, the chunk tables, the CPU reference against
 * an independent naive computation, the per-row error, and the work items of
 * the two-phase GPU kernels (kernels/chunk_items.h: their index math, run on
 * the CPU, against the tables and the naive computation), and how many
 * input copies keep the L2 cold (bench_cold_copies).
 * Prints "ok NAME" / "FAIL NAME: why" per check; exit status = failures. */
#include "../../tools/lib/bench.h"
#include "../../tools/lib/csv.h"
#include "../../tools/lib/err.h"
#include "../../tools/lib/inputs.h"
#include "../../tools/lib/metrics.h"
#include "../../tools/lib/num.h"
#include "../../tools/lib/parallel.h"
#include "../../tools/lib/reference.h"
#include "../../kernels/chunk_items.h"
#include "../../kernels/softmax_merge.h"

#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"

/* --- softmax merge ------------------------------------------------------ */
/* state of scores x[0..n) with values v[0..n): (m, l, o) */
static void state_of(const double *x, const double *v, int n, double *m, double *l, double *o)
{
	*m = -INFINITY;
	*l = 0;
	*o = 0;
	for (int i = 0; i < n; i++)
		if (x[i] > *m)
			*m = x[i];
	for (int i = 0; i < n; i++) {
		*l += exp(x[i] - *m);
		*o += exp(x[i] - *m) * v[i];
	}
}

static void test_merge(void)
{
	double x[] = { 0.3, -2.0, 5.5, 1.25, -40.0, 7.0, 3.0 }, v[] = { 1, -2, 3, 0.5, 9, -1, 2 };
	double m, l, o, m1, l1, o1, m2, l2, o2, mm, ll, a1, a2;

	state_of(x, v, 7, &m, &l, &o);
	for (int split = 0; split <= 7; split++) {
		char name[64];
		state_of(x, v, split, &m1, &l1, &o1);
		state_of(x + split, v + split, 7 - split, &m2, &l2, &o2);
		softmax_merge_d(m1, l1, m2, l2, &mm, &ll, &a1, &a2);
		snprintf(name, sizeof name, "merge split at %d", split);
		CHECK(name, mm == m && fabs(ll - l) < 1e-12 * l && fabs((a1 * o1 + a2 * o2) / ll - o / l) < 1e-12,
		      "m %g vs %g, l %g vs %g", mm, m, ll, l);
	}
	/* two empty states stay empty, without NaN */
	softmax_merge_d(-INFINITY, 0, -INFINITY, 0, &mm, &ll, &a1, &a2);
	CHECK("merge empty+empty", mm == -INFINITY && ll == 0 && a1 == 0 && a2 == 0, "got m %g l %g a %g %g",
	      mm, ll, a1, a2);
	/* float version agrees and never overflows on large score gaps */
	float fm, fl, fa1, fa2;
	softmax_merge_f(1000.0f, 2.0f, -1000.0f, 3.0f, &fm, &fl, &fa1, &fa2);
	CHECK("merge float large gap", fm == 1000.0f && fl == 2.0f && fa1 == 1.0f && fa2 == 0.0f,
	      "got m %g l %g", fm, fl);
	/* associativity: ((A+B)+C) == (A+(B+C)) */
	double mA, lA, oA, mB, lB, oB, mC, lC, oC, m12, l12, m23, l23, r1, r2, b1, b2;
	state_of(x, v, 2, &mA, &lA, &oA);
	state_of(x + 2, v + 2, 3, &mB, &lB, &oB);
	state_of(x + 5, v + 5, 2, &mC, &lC, &oC);
	softmax_merge_d(mA, lA, mB, lB, &m12, &l12, &a1, &a2);
	double o12 = a1 * oA + a2 * oB;
	softmax_merge_d(m12, l12, mC, lC, &mm, &ll, &b1, &b2);
	r1 = (b1 * o12 + b2 * oC) / ll;
	softmax_merge_d(mB, lB, mC, lC, &m23, &l23, &a1, &a2);
	double o23 = a1 * oB + a2 * oC;
	softmax_merge_d(mA, lA, m23, l23, &mm, &ll, &b1, &b2);
	r2 = (b1 * oA + b2 * o23) / ll;
	CHECK("merge associative", fabs(r1 - r2) < 1e-12, "%.17g vs %.17g", r1, r2);
}

/* --- conversions ------------------------------------------------------------ */
static void test_halves(void)
{
	struct { float f; uint16_t bf, hf; } known[] = {
		{ 1.0f, 0x3f80, 0x3c00 },     { -2.0f, 0xc000, 0xc000 }, { 0.5f, 0x3f00, 0x3800 },
		{ 65504.0f, 0x4780, 0x7bff }, { 0.0f, 0x0000, 0x0000 },  { 5.9604645e-08f, 0x3380, 0x0001 },
		{ 6.1035156e-05f, 0x3880, 0x0400 },
	};
	for (size_t i = 0; i < sizeof known / sizeof *known; i++) {
		char name[64];
		snprintf(name, sizeof name, "convert %g", known[i].f);
		CHECK(name, float_to_half(known[i].f, ATTN_BF16) == known[i].bf &&
				    float_to_half(known[i].f, ATTN_FP16) == known[i].hf &&
				    half_to_float(known[i].hf, ATTN_FP16) == known[i].f,
		      "bf16 %04x fp16 %04x back %g", float_to_half(known[i].f, ATTN_BF16),
		      float_to_half(known[i].f, ATTN_FP16), half_to_float(known[i].hf, ATTN_FP16));
	}
	/* every fp16 and bf16 finite value round-trips */
	int bad = 0;
	for (uint32_t h = 0; h < 65536; h++) {
		float f16 = half_to_float((uint16_t)h, ATTN_FP16), fb = half_to_float((uint16_t)h, ATTN_BF16);
		if (isfinite(f16) && float_to_half(f16, ATTN_FP16) != h && !(f16 == 0 && (h & 0x7fff) == 0))
			bad++;
		if (isfinite(fb) && float_to_half(fb, ATTN_BF16) != h)
			bad++;
	}
	CHECK("half round trip, all 2x65536 values", bad == 0, "%d values changed", bad);
	/* round to nearest even: 1 + 2^-11 is halfway between fp16 1 and 1+2^-10 */
	CHECK("fp16 ties to even", float_to_half(1.0f + ldexpf(1, -11), ATTN_FP16) == 0x3c00 &&
					   float_to_half(1.0f + 3 * ldexpf(1, -11), ATTN_FP16) == 0x3c02,
	      "got %04x", float_to_half(1.0f + ldexpf(1, -11), ATTN_FP16));
}

/* --- number parsing ------------------------------------------------------------ */
static void test_numbers(void)
{
	const char *bad_d[] = { "", "abc", "1.5x", "nan", "inf", "-inf", "1e999", " 1", "1 ", "0x10" };
	double d;
	long l, *list;
	const char *why;
	char buf[32];

	for (size_t i = 0; i < sizeof bad_d / sizeof *bad_d; i++) {
		char name[64];
		snprintf(name, sizeof name, "parse_double rejects '%s'", bad_d[i]);
		CHECK(name, parse_double(bad_d[i], &d) != NULL, "accepted as %g", d);
	}
	CHECK("parse_double 1e-3", !parse_double("1e-3", &d) && d == 1e-3, "got %g", d);
	CHECK("parse_long range", parse_long("70000", 1, 65536, &l) && !parse_long("-5", -9, 9, &l) && l == -5,
	      "range check broken");
	CHECK("parse_long rejects 1.5", parse_long("1.5", 0, 9, &l) != NULL, "accepted");
	CHECK("list doubling", parse_int_list("1,4..32", 1, 1000, &list, &why) == 5 && list[4] == 32,
	      "wrong list");
	CHECK("list step", parse_int_list("1..9+4", 1, 1000, &list, &why) == 3 && list[2] == 9, "wrong list");
	CHECK("list rejects 8..4", parse_int_list("8..4", 1, 1000, &list, &why) < 0, "accepted");
	CHECK("fmt_num", !strcmp(fmt_num(buf, 4096), "4096") && !strcmp(fmt_num(buf, 0.0076), "0.0076") &&
				 !strcmp(fmt_num(buf, 1161.2345), "1161.23"),
	      "got %s", buf);
}

/* --- metrics: reproduce the course project's own columns --------------------- */
static void test_metrics_vs_course(const char *dir)
{
	const char *files[] = { "n_seqs64/chunk_attn_tk__sweep.csv",
				"n_seqs32/chunk_attn_tk__sweep_kv_4warp.csv",
				"n_seqs64/chunk_attn_kernel_only__sweep_chunk_first.csv" };
	for (size_t f = 0; f < 3; f++) {
		char path[512], name[600];
		struct csv_table t;
		int *col;
		long worst = 0;
		double worst_rel = 0;

		snprintf(path, sizeof path, "%s/%s", dir, files[f]);
		csv_load(&t, path);
		csv_table_cols(&t, "n_seqs,n_heads,n_chunks,latency_ms,tflops,kv_gbps,kv_mem_eff_pct", &col);
		for (long r = 0; r < t.nrows; r++) {
			struct attn_shape s = { .n_seqs = (int)csv_table_long(&t, r, col[0], 1, 1 << 20),
						.n_heads = (int)csv_table_long(&t, r, col[1], 1, 1 << 20),
						.n_chunks = (int)csv_table_long(&t, r, col[2], 1, 1 << 20),
						.n_groups = 1, .chunk_size = 64, .d_head = 128, .dtype = ATTN_BF16 };
			s.n_kv_heads = s.n_heads;
			struct metrics m = metrics_compute(&s, csv_table_double(&t, r, col[3]), 989.0, 3350.0);
			double got[] = { m.tflops, m.kv_gbps, m.kv_mem_eff_pct };
			for (int i = 0; i < 3; i++) {
				double want = csv_table_double(&t, r, col[4 + i]), rel = fabs(got[i] - want) / want;
				if (rel > worst_rel)
					worst_rel = rel, worst = t.lines[r];
			}
		}
		snprintf(name, sizeof name, "metrics reproduce %s", files[f]);
		/* their CSVs print 4-6 significant digits */
		CHECK(name, worst_rel < 2e-3 && t.nrows > 0, "%ld rows, line %ld off by %.2g", t.nrows, worst,
		      worst_rel);
	}
}

/* --- the device peaks' formulas (metrics.h) ---------------------------------- */
static void test_peaks(void)
{
	/* the datasheets' own numbers back from their clocks */
	double h100 = peak_tflops_bf16(9, 0, 132, 1830000), a100 = peak_tflops_bf16(8, 0, 108, 1410000);
	CHECK("peak: sm_90 132 SMs at 1830 MHz is the H100 datasheet's 989.4 TFLOP/s", fabs(h100 - 989.43) < 0.01,
	      "got %.3f", h100);
	CHECK("peak: sm_80 108 SMs at 1410 MHz is the A100 datasheet's 312 TFLOP/s", fabs(a100 - 311.87) < 0.01,
	      "got %.3f", a100);
	CHECK("peak: sm_86, sm_89, sm_100 unknown (0)",
	      peak_tflops_bf16(8, 6, 84, 1800000) == 0 && peak_tflops_bf16(8, 9, 142, 2520000) == 0 &&
		      peak_tflops_bf16(10, 0, 148, 1965000) == 0,
	      "a guess");
	double h100m = peak_gbps_dram(2619000, 5120), h200m = peak_gbps_dram(3201000, 6016);
	CHECK("peak: HBM3 2619 MHz x 5120 bits is the H100's 3.35 TB/s", fabs(h100m - 3352.32) < 0.01, "got %.3f",
	      h100m);
	CHECK("peak: HBM3e 3201 MHz x 6016 bits is the H200's 4.8 TB/s", fabs(h200m - 4814.30) < 0.01, "got %.3f",
	      h200m);
	CHECK("peak: an unknown clock or bus is 0", peak_gbps_dram(0, 5120) == 0 && peak_gbps_dram(2619000, 0) == 0,
	      "not 0");
}

/* --- the chunk tables ------------------------------------------------------ */
/* Checks the tables against the workload's definition: every pool chunk
 * used once, each sequence's table = common, then its group's, then its own
 * chunks, the tree's nodes agreeing with the tables, and a shuffled pool. */
static void test_tree(void)
{
	struct attn_shape shapes[] = {
		{ 8, 4, 2, 3, 4, 2, 70, 64, 128, ATTN_BF16 }, /* two levels + partial suffix */
		{ 5, 2, 2, 6, 1, 0, 64, 64, 128, ATTN_BF16 }, /* one level + whole-chunk suffix */
		{ 4, 4, 4, 9, 4, 1, 0, 16, 8, ATTN_FP16 },    /* one group per sequence */
		{ 1, 1, 1, 1, 1, 0, 1, 64, 128, ATTN_BF16 },  /* one sequence, one-token suffix */
	};
	for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++) {
		const struct attn_shape *s = &shapes[i];
		struct tree_tables tt;
		char name[128];
		int ok = tree_build(&tt, s, 3 + i) == 0, moved = 0;
		long np = attn_pool_chunks(s);
		int *seen = calloc((size_t)np, sizeof *seen), sc = attn_seq_chunks(s);
		const char *why = ok ? NULL : "tree_build failed";

		for (long c = 0; ok && c < np; c++) {
			ok = tt.node_chunks[c] >= 0 && tt.node_chunks[c] < np && !seen[tt.node_chunks[c]]++;
			moved += tt.node_chunks[c] != c;
		}
		if (!ok && !why)
			why = "node_chunks is not a permutation of the pool";
		for (int q = 0; ok && q < s->n_seqs; q++) {
			const int *row = tt.chunk_table + (size_t)q * sc, grp = q / (s->n_seqs / s->n_groups);
			for (int c = 0; ok && c < sc; c++) {
				long logical = c < s->n_chunks ? c
					       : c < s->n_chunks + s->group_chunks
						       ? s->n_chunks + (long)grp * s->group_chunks + (c - s->n_chunks)
						       : s->n_chunks + (long)s->n_groups * s->group_chunks +
								 (long)q * attn_suffix_chunks(s) + (c - s->n_chunks - s->group_chunks);
				ok = row[c] == tt.node_chunks[logical];
			}
			ok = ok && tt.seq_len[q] == attn_seq_tokens(s);
			for (int level = 0; ok && level < ATTN_LEVELS; level++) {
				const struct attn_node *nd = tree_node_of(&tt.t, level, q);
				ok = !nd || (nd->level == level && q >= nd->seq_begin && q < nd->seq_begin + nd->n_seqs);
			}
			if (!ok && !why)
				why = "a sequence's table or nodes disagree with the workload";
		}
		int want_nodes = (s->n_chunks > 0) + (s->group_chunks ? s->n_groups : 0) +
				 (s->suffix_len ? s->n_seqs : 0);
		if (ok && tt.t.n_nodes != want_nodes)
			ok = 0, why = "wrong node count";
		if (ok && np >= 4 && moved == 0)
			ok = 0, why = "the pool is not shuffled";
		snprintf(name, sizeof name, "tree: tables of shape %zu", i);
		CHECK(name, ok, "%s", why);
		free(seen);
		if (tt.nodes)
			tree_free(&tt);
	}
}

/* --- the reference against an independent naive computation ---------------- */
/* Straight from the definition, token by token through the chunk table, no
 * max subtraction (inputs in [-1,1] keep exp() small), no shared helpers. */
static void naive(const struct inputs *in, double *out)
{
	const struct attn_shape *s = &in->s;
	const int g = s->n_heads / s->n_kv_heads, sc = attn_seq_chunks(s);
	for (int q = 0; q < s->n_seqs; q++)
		for (int h = 0; h < s->n_heads; h++) {
			double den = 0, *o = out + ((size_t)q * s->n_heads + h) * s->d_head;
			for (int d = 0; d < s->d_head; d++)
				o[d] = 0;
			for (int t = 0; t < in->tree.seq_len[q]; t++) {
				int c = in->tree.chunk_table[(size_t)q * sc + t / s->chunk_size], tt = t % s->chunk_size;
				double dot = 0;
				for (int d = 0; d < s->d_head; d++)
					dot += (double)half_to_float(in->q[((size_t)q * s->n_heads + h) * s->d_head + d], s->dtype) *
					       half_to_float(in->k[kv_index(s, c, h / g, tt, d)], s->dtype);
				double w = exp(dot / sqrt((double)s->d_head));
				den += w;
				for (int d = 0; d < s->d_head; d++)
					o[d] += w * half_to_float(in->v[kv_index(s, c, h / g, tt, d)], s->dtype);
			}
			for (int d = 0; d < s->d_head; d++)
				o[d] /= den;
		}
}

extern const struct attn_kernel attn_kernel_ref;

static void test_reference(void)
{
	/* n_seqs, n_heads, n_kv_heads, n_chunks, n_groups, group_chunks, suffix_len, chunk, d */
	struct attn_shape shapes[] = {
		{ 1, 1, 1, 1, 1, 0, 0, 64, 128, ATTN_BF16 },  { 3, 2, 2, 3, 1, 0, 0, 64, 128, ATTN_FP16 },
		{ 64, 3, 3, 5, 1, 0, 0, 64, 128, ATTN_BF16 }, { 7, 1, 1, 7, 1, 0, 0, 16, 32, ATTN_FP16 },
		{ 3, 2, 2, 1, 1, 0, 0, 5, 8, ATTN_BF16 },     { 6, 8, 2, 2, 3, 1, 20, 16, 32, ATTN_BF16 },
		{ 4, 4, 1, 1, 1, 0, 1, 64, 64, ATTN_FP16 },   { 1, 2, 1, 1, 1, 0, 130, 64, 64, ATTN_BF16 },
		{ 4, 2, 2, 2, 4, 1, 63, 64, 32, ATTN_FP16 },
	};
	for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++) {
		struct attn_shape *s = &shapes[i];
		struct inputs in;
		size_t n = (size_t)s->n_seqs * s->n_heads * s->d_head;
		double *want = calloc(n, sizeof *want), *ref = calloc(n, sizeof *ref), e1, e2;
		float *chunked = calloc(n, sizeof *chunked);
		char name[160];

		inputs_make(&in, s, 42 + i);
		naive(&in, want);
		reference_attention(&in, ref);
		struct attn_args a = { 0 };
		a.s = *s;
		a.q = in.q, a.k = in.k, a.v = in.v, a.out = chunked, a.tree = in.tree.t;
		attn_kernel_ref.launch(&a, NULL);
		/* reference vs naive, in double: only rounding differs */
		double num = 0, den = 0;
		for (size_t j = 0; j < n; j++)
			num += (ref[j] - want[j]) * (ref[j] - want[j]), den += want[j] * want[j];
		e1 = sqrt(num / den);
		e2 = rel_err_f32(chunked, want, n);
		snprintf(name, sizeof name,
			 "reference vs naive n_seqs %d n_heads %d/%d n_chunks %d groups %dx%d suffix %d chunk %d d %d %s",
			 s->n_seqs, s->n_heads, s->n_kv_heads, s->n_chunks, s->n_groups, s->group_chunks,
			 s->suffix_len, s->chunk_size, s->d_head, dtype_name(s->dtype));
		CHECK(name, e1 < 1e-13, "rel_err %.3g", e1);
		snprintf(name, sizeof name, "ref kernel (chunked+merge) vs naive, shape %zu", i);
		CHECK(name, e2 < 1e-6, "rel_err %.3g", e2); /* its output is float */
		inputs_free(&in);
		free(want), free(ref), free(chunked);
	}
	/* rel_err: NaN anywhere fails */
	float o[2] = { 1.0f, NAN };
	double r[2] = { 1.0, 1.0 };
	CHECK("rel_err NaN", isnan(rel_err_f32(o, r, 2)), "NaN output did not give NaN");
	/* inputs depend on the seed only */
	struct attn_shape s = { 2, 2, 2, 2, 1, 0, 0, 64, 128, ATTN_BF16 };
	struct inputs a, b;
	inputs_make(&a, &s, 7);
	inputs_make(&b, &s, 7);
	int same = !memcmp(a.k, b.k, a.nkv * 2), zeros = 0;
	for (size_t j = 0; j < a.nkv; j++)
		zeros += a.k[j] == 0;
	CHECK("inputs reproducible and non-zero", same && zeros < 10, "same %d zeros %d", same, zeros);
	inputs_free(&a);
	inputs_free(&b);
}

/* Peaked inputs (--inputs peak-LEVEL): the level's K scaled, so most (> 90 %) of
 * every row's softmax mass sits in that part (the case that catches a merge
 * that weights its parts wrongly), and uniform inputs are untouched. */
static void test_peaked_inputs(void)
{
	struct attn_shape s = { 4, 4, 2, 3, 2, 2, 40, 64, 128, ATTN_BF16 };
	for (int prof = INPUTS_PEAK_COMMON; prof <= INPUTS_PEAK_SUFFIX; prof++) {
		struct inputs in, u;
		inputs_make_profile(&in, &s, 5, (enum inputs_profile)prof);
		inputs_make(&u, &s, 5);
		const int level = prof - 1, g = s.n_heads / s.n_kv_heads;
		double worst = 1.0; /* smallest share of a row's softmax mass in the level */
		for (int q = 0; q < s.n_seqs; q++)
			for (int h = 0; h < s.n_heads; h++) {
				double mass[ATTN_LEVELS] = { 0 }, m = -INFINITY, sc[4096];
				int lev[4096], n = 0;
				for (int L = 0; L < ATTN_LEVELS; L++) {
					const struct attn_node *nd = tree_node_of(&in.tree.t, L, q);
					for (int t = 0; nd && t < nd->n_tokens; t++, n++) {
						int pc = in.tree.t.node_chunks[nd->chunk_begin + t / s.chunk_size];
						double d = 0;
						for (int e = 0; e < s.d_head; e++)
							d += (double)half_to_float(in.q[q_index(&s, q, h, e)], s.dtype) *
							     half_to_float(in.k[kv_index(&s, pc, h / g, t % s.chunk_size, e)], s.dtype);
						sc[n] = d / sqrt((double)s.d_head);
						lev[n] = L;
						m = sc[n] > m ? sc[n] : m;
					}
				}
				double tot = 0;
				for (int i = 0; i < n; i++) {
					mass[lev[i]] += exp(sc[i] - m);
					tot += exp(sc[i] - m);
				}
				worst = mass[level] / tot < worst ? mass[level] / tot : worst;
			}
		int v_same = !memcmp(in.v, u.v, in.nkv * 2);
		char name[64];
		snprintf(name, sizeof name, "inputs %s: the level holds the softmax mass", inputs_profile_name(prof));
		CHECK(name, worst > 0.9 && v_same, "worst share %.4f, V untouched %d", worst, v_same);
		inputs_free(&in);
		inputs_free(&u);
	}
	CHECK("inputs profile names", inputs_profile_parse("peak-suffix") == INPUTS_PEAK_SUFFIX &&
					      inputs_profile_parse("uniform") == INPUTS_UNIFORM &&
					      inputs_profile_parse("peak") == -1, "parse mismatch");
}

/* --- the two-phase kernels' work items (kernels/chunk_items.h) ------------- */
static const char *items_check(const struct attn_shape *s)
{
	CHUNK_ITEMS_CHECK("k", s);
	return NULL;
}

/* ci_quot against '/' near every multiple that matters */
static int divmod_bad(void)
{
	static const int big[] = { 3, 5, 7, 63, 64, 65, 127, 255, 1000, 4095, 65535, 65536, 65537,
				   1 << 20, (1 << 20) + 1, 1 << 30, (1 << 30) + 1, 0x7ffffffe, 0x7fffffff };
	int bad = 0;
	for (int k = 0; k < 1200 + (int)(sizeof big / sizeof *big); k++) {
		const int d = k < 1200 ? k + 1 : big[k - 1200];
		const struct ci_div f = ci_div_make(d);
		for (int n = 0; n < 4096; n++)
			bad += ci_quot(f, n) != n / d;
		for (long long m = 1; m < 0x7fffffffLL / d && m < (1LL << 40); m = m * 3 + 1)
			for (int e = -1; e <= 1; e++) {
				long long n = m * d + e;
				if (n >= 0 && n <= 0x7fffffffLL)
					bad += ci_quot(f, (int)n) != (int)(n / d);
			}
		for (int e = 0; e < 4; e++)
			bad += ci_quot(f, 0x7fffffff - e) != (0x7fffffff - e) / d;
	}
	return bad;
}

/* Every block of the plan decoded on the CPU: its rows' q rows, partial rows
 * and K/V against the tables; then the two phases emulated in double from
 * those indices (a partial per row over the item's valid keys, merged per
 * (seq, head) over its attn_seq_chunks() slots) against naive(). */
static void test_chunk_items(void)
{
	CHECK("chunk items: ci_quot = n / d (d 1..1200 and large, n near multiples, to 2^31-1)",
	      divmod_bad() == 0, "%d wrong quotients", divmod_bad());

	/* n_seqs, n_heads, n_kv_heads, n_chunks, n_groups, group_chunks, suffix_len, chunk, d */
	struct attn_shape shapes[] = {
		{ 5, 4, 4, 3, 1, 0, 0, 64, 16, ATTN_BF16 },    /* single prefix (the seed's form) */
		{ 7, 8, 2, 2, 1, 0, 130, 64, 16, ATTN_BF16 },  /* GQA 4, suffix 2 chunks + 2 tokens */
		{ 8, 4, 1, 2, 4, 3, 37, 64, 16, ATTN_FP16 },   /* MQA, two levels, partial suffix */
		{ 4, 6, 3, 1, 4, 1, 64, 64, 16, ATTN_BF16 },   /* one group per sequence, whole chunk */
		{ 1, 2, 1, 1, 1, 0, 1, 64, 16, ATTN_FP16 },    /* one sequence, one-token suffix */
		{ 3, 6, 2, 2, 3, 2, 63, 16, 8, ATTN_BF16 },    /* g = 3, 16-token chunks */
		{ 65, 2, 2, 1, 1, 0, 63, 64, 8, ATTN_BF16 },   /* many rows per shared item */
	};
	for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++) {
		const struct attn_shape *s = &shapes[i];
		const int S = s->n_seqs, H = s->n_heads, D = s->d_head, cs = s->chunk_size;
		const int G = H / s->n_kv_heads, np = attn_seq_chunks(s);
		struct inputs in;
		struct chunk_items ci;
		char name[200];
		const char *why = NULL;

		inputs_make(&in, s, 100 + i);
		const size_t rows = (size_t)np * H * S;
		int *written = calloc(rows, sizeof *written);
		double *pm = calloc(rows, sizeof *pm), *pl = calloc(rows, sizeof *pl);
		double *po = calloc(rows * D, sizeof *po), *want = calloc((size_t)S * H * D, sizeof *want);
		double *x = calloc((size_t)cs, sizeof *x);
		if (items_check(s))
			why = items_check(s);
		else if ((why = chunk_items_plan(&ci, s, &in.tree.t)) == NULL &&
			 (ci.n_blocks != attn_pool_chunks(s) * s->n_kv_heads || ci.n_parts != np))
			why = "block or slot count";
		int last_level = 0;
		for (int b = 0; !why && b < ci.n_blocks; b++) {
			const struct chunk_item it =
				chunk_item_at(&ci, in.tree.t.nodes, in.tree.t.node_chunks, b, cs);
			const int item = b / s->n_kv_heads;
			const int level = item >= ci.item_begin[2] ? 2 : item >= ci.item_begin[1] ? 1 : 0;
			if (level < last_level)
				why = "items not level by level";
			last_level = level;
			if (it.kvh != b % s->n_kv_heads || it.valid < 1 || it.valid > cs || it.n_rows < G)
				why = "kvh, valid or n_rows";
			if (!why && i == 0 &&
			    (it.kvh != b % H || it.chunk != in.tree.t.node_chunks[b / H] || it.n_rows != S))
				why = "single prefix: not the grid (n_heads, n_chunks)";
			for (int R = 0; !why && R < it.n_rows; R++) {
				const int qr = chunk_q_row(&ci, &it, R), pr = chunk_part_row(&ci, &it, R);
				const int seq = qr / H, head = qr % H;
				const int j = pr / (H * S), ph = pr / S % H, pseq = pr % S;
				if (qr < 0 || qr >= S * H || pr < 0 || (size_t)pr >= rows)
					why = "row out of range";
				else if (head / G != it.kvh || ph != head || pseq != seq)
					why = "q row and partial row disagree (head, seq)";
				else if (in.tree.chunk_table[(size_t)seq * np + j] != it.chunk)
					why = "the item's chunk is not the sequence's chunk at its slot";
				else if (it.valid != (in.tree.seq_len[seq] - j * cs < cs ? in.tree.seq_len[seq] - j * cs : cs))
					why = "valid is not the chunk's token count";
				else if (written[pr]++)
					why = "a partial row written twice";
				else if (i == 0 && (qr != R * H + it.kvh || pr != (b / H * H + it.kvh) * S + R))
					why = "single prefix: rows moved";
				if (why)
					break;
				/* the partial of this row over keys [0, valid) */
				double m = -INFINITY, l = 0;
				for (int t = 0; t < it.valid; t++) {
					double dot = 0;
					for (int d = 0; d < D; d++)
						dot += (double)half_to_float(in.q[(size_t)qr * D + d], s->dtype) *
						       half_to_float(in.k[kv_index(s, it.chunk, it.kvh, t, d)], s->dtype);
					x[t] = dot / sqrt((double)D);
					m = x[t] > m ? x[t] : m;
				}
				for (int t = 0; t < it.valid; t++) {
					const double w = exp(x[t] - m);
					l += w;
					for (int d = 0; d < D; d++)
						po[(size_t)pr * D + d] +=
							w * half_to_float(in.v[kv_index(s, it.chunk, it.kvh, t, d)], s->dtype);
				}
				pm[pr] = m, pl[pr] = l;
			}
		}
		for (size_t r = 0; !why && r < rows; r++)
			if (written[r] != 1)
				why = "a partial row never written";
		double err = 0;
		if (!why) {
			/* the merge: merge.h's rows ((j * H + h) * S + q), j = 0..np-1 */
			double num = 0, den = 0, *o = calloc((size_t)D, sizeof *o);
			naive(&in, want);
			for (int q = 0; q < S; q++)
				for (int h = 0; h < H; h++) {
					double M = -INFINITY, L = 0;
					for (int j = 0; j < np; j++)
						M = fmax(M, pm[((size_t)j * H + h) * S + q]);
					for (int d = 0; d < D; d++)
						o[d] = 0;
					for (int j = 0; j < np; j++) {
						const size_t r = ((size_t)j * H + h) * S + q;
						const double f = exp(pm[r] - M);
						L += f * pl[r];
						for (int d = 0; d < D; d++)
							o[d] += f * po[r * D + d];
					}
					for (int d = 0; d < D; d++) {
						const double w = want[q_index(s, q, h, d)], e = o[d] / L - w;
						num += e * e, den += w * w;
					}
				}
			free(o);
			err = sqrt(num / den);
		}
		snprintf(name, sizeof name,
			 "chunk items: n_seqs %d n_heads %d/%d n_chunks %d groups %dx%d suffix %d chunk %d: "
			 "rows, slots, chunks, two phases + merge = naive",
			 S, H, s->n_kv_heads, s->n_chunks, s->n_groups, s->group_chunks, s->suffix_len, cs);
		CHECK(name, !why && err < 1e-12, "%s (rel_err %.3g)", why ? why : "values", err);
		free(written), free(pm), free(pl), free(po), free(want), free(x);
		inputs_free(&in);
	}

	/* check() and the plan refuse what they cannot run */
	struct attn_shape ok = { 64, 64, 64, 64, 1, 0, 0, 64, 128, ATTN_BF16 };
	struct attn_shape bad_g = ok, bad_grp = ok, big_grid = ok, big_rows = ok;
	bad_g.n_kv_heads = 48;
	bad_grp.n_groups = 3, bad_grp.group_chunks = 1;
	big_grid.n_seqs = 1, big_grid.n_heads = big_grid.n_kv_heads = 65536, big_grid.n_chunks = 32768;
	big_rows.n_seqs = 1 << 16, big_rows.n_kv_heads = 1, big_rows.n_chunks = 1 << 9;
	CHECK("chunk items: check passes the seed shape, refuses g not whole, uneven groups, "
	      "grid >= 2^31, partial rows >= 2^31",
	      !items_check(&ok) && items_check(&bad_g) && items_check(&bad_grp) && items_check(&big_grid) &&
		      items_check(&big_rows),
	      "%s / %s / %s / %s / %s", items_check(&ok) ? items_check(&ok) : "-",
	      items_check(&bad_g) ? "refused" : "passed", items_check(&bad_grp) ? "refused" : "passed",
	      items_check(&big_grid) ? "refused" : "passed", items_check(&big_rows) ? "refused" : "passed");
	struct attn_shape a = { 4, 4, 2, 2, 2, 1, 70, 64, 16, ATTN_BF16 }, other = a;
	struct tree_tables tt;
	struct chunk_items ci;
	int built = tree_build(&tt, &a, 5) == 0;
	other.suffix_len = 200; /* one more suffix chunk than the tree has */
	const char *r1 = built ? chunk_items_plan(&ci, &a, &tt.t) : "tree_build failed";
	const char *r2 = built ? chunk_items_plan(&ci, &other, &tt.t) : NULL;
	other = a, other.group_chunks = 0;
	const char *r3 = built ? chunk_items_plan(&ci, &other, &tt.t) : NULL;
	CHECK("chunk items: the plan takes its own tree, refuses a tree of another shape", !r1 && r2 && r3,
	      "%s / %s / %s", r1 ? r1 : "ok", r2 ? r2 : "accepted", r3 ? r3 : "accepted");
	if (built)
		tree_free(&tt);
}

/* One wrong (seq, head) row hides in the whole-output norm; max_row_err
 * finds it and names it. */
static void test_row_error(void)
{
	struct attn_shape s = { 64, 256, 256, 1, 1, 0, 0, 64, 128, ATTN_BF16 };
	size_t n = (size_t)s.n_seqs * s.n_heads * s.d_head;
	double *ref = malloc(n * sizeof *ref);
	float *out = malloc(n * sizeof *out);
	for (size_t i = 0; i < n; i++)
		ref[i] = sin((double)i), out[i] = (float)ref[i];
	memset(out + ((size_t)5 * s.n_heads + 17) * s.d_head, 0, s.d_head * sizeof *out);
	struct out_error e = out_error(out, ref, &s);
	double tol = rel_err_tolerance(s.dtype);
	CHECK("one zeroed row: rel_err alone passes", e.rel < tol, "rel_err %.3g", e.rel);
	CHECK("one zeroed row: max_row_err fails and names it",
	      e.max_row > tol && e.worst_seq == 5 && e.worst_head == 17, "max_row %.3g at %d,%d", e.max_row,
	      e.worst_seq, e.worst_head);
	free(ref);
	free(out);
}

/* --- the thread count ------------------------------------------------------ */
/* Items that meet: each records its thread, then waits (up to wait_ms) until
 * `want` items have started.  They all meet only when that many threads run
 * at once; on fewer threads the wait times out. */
struct meeting {
	atomic_int started, met;
	int want, wait_ms;
	pthread_t who[8];
};

static double now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static void meet(void *ctx, long i, void *scratch)
{
	struct meeting *m = ctx;
	double t0 = now_ms();
	(void)scratch;
	m->who[i] = pthread_self();
	atomic_fetch_add(&m->started, 1);
	while (atomic_load(&m->started) < m->want && now_ms() - t0 < m->wait_ms)
		sched_yield();
	if (atomic_load(&m->started) >= m->want)
		atomic_fetch_add(&m->met, 1);
}

static void test_thread_count(void)
{
	struct meeting m = { .want = 4, .wait_ms = 5000 };
	parallel_set_threads(4);
	parallel_for(4, 0, 0, meet, &m);
	CHECK("parallel_set_threads(4): 4 items run at once", atomic_load(&m.met) == 4,
	      "%d of 4 met", atomic_load(&m.met));

	/* on one thread the caller runs every item, though each waits for a partner */
	struct meeting one = { .want = 2, .wait_ms = 50 };
	int mine = 0;
	parallel_set_threads(1);
	parallel_for(2, 0, 0, meet, &one);
	for (int i = 0; i < 2; i++)
		mine += pthread_equal(one.who[i], pthread_self()) != 0;
	CHECK("parallel_set_threads(1): the caller runs every item", mine == 2, "%d of 2", mine);

	/* inputs and the reference do not depend on the thread count: a shape of
	 * several fill blocks (64 Ki elements each) and heads, so threads split it */
	struct attn_shape s = { 129, 4, 4, 9, 1, 0, 0, 64, 128, ATTN_FP16 };
	size_t nout = (size_t)s.n_seqs * s.n_heads * s.d_head;
	double *ref1 = calloc(nout, sizeof *ref1), *ref = calloc(nout, sizeof *ref);
	struct inputs in1, in;
	int differ = 0;
	parallel_set_threads(1);
	inputs_make(&in1, &s, 11);
	reference_attention(&in1, ref1);
	for (int threads = 2; threads <= 5; threads += 3) {
		parallel_set_threads(threads);
		inputs_make(&in, &s, 11);
		reference_attention(&in, ref);
		if (memcmp(in.q, in1.q, in.nq * 2) || memcmp(in.k, in1.k, in.nkv * 2) ||
		    memcmp(in.v, in1.v, in.nkv * 2) || memcmp(ref, ref1, nout * sizeof *ref))
			differ = threads;
		inputs_free(&in);
	}
	CHECK("inputs and reference the same on 1, 2 and 5 threads", !differ,
	      "on %d threads they differ from 1 thread", differ);
	parallel_set_threads(0);
	inputs_free(&in1);
	free(ref1), free(ref);
}

/* --- cold L2: input copies to rotate over (run-kernel, bench-ceiling) --- */
static void test_cold_copies(void)
{
	const size_t l2 = 60 << 20; /* an H200's 60 MiB */
	CHECK("cold copies: 1 MiB on a 60 MiB L2 rotates over 241 (4 x L2 between reuses, + 1)",
	      bench_cold_copies(1 << 20, l2, 0) == 241, "%ld", bench_cold_copies(1 << 20, l2, 0));
	CHECK("cold copies: 2 GiB (more than 4 x L2 already) over 2", bench_cold_copies((size_t)2 << 30, l2, 0) == 2,
	      "%ld", bench_cold_copies((size_t)2 << 30, l2, 0));
	CHECK("cold copies: at most 65536, and 1 when hot",
	      bench_cold_copies(256, l2, 0) == 65536 && bench_cold_copies(1 << 20, l2, 1) == 1, "%ld",
	      bench_cold_copies(256, l2, 0));
	long bad = 0;
	for (size_t s = 256; s < ((size_t)8 << 30); s = s * 3 + 256) {
		long n = bench_cold_copies(s, l2, 0);
		if (n < 65536 && (double)(n - 1) * (double)s < 4.0 * l2)
			bad = (long)s;
	}
	CHECK("cold copies: always >= 4 x L2 read between two uses of one copy (below the cap)", bad == 0,
	      "not at %ld bytes", bad);
}

int main(int argc, char **argv)
{
	err_init("test_units");
	test_merge();
	test_halves();
	test_numbers();
	test_metrics_vs_course(argc > 1 ? argv[1] : "tests/data/course-results");
	test_peaks();
	test_tree();
	test_reference();
	test_peaked_inputs();
	test_chunk_items();
	test_row_error();
	test_thread_count();
	test_cold_copies();
	printf("unit: %d passed, %d failed\n", passed, failed);
	return failed != 0;
}
