/* softmax_merge.h - the online-softmax merge rule, written once.
 *
 * A partial attention state over a subset of keys is (m, l, o[]):
 *   m = max of the scaled scores seen, l = sum exp(score - m),
 *   o = sum exp(score - m) * v   (unnormalized).
 * Two states over disjoint key sets merge into one over their union:
 *   m = max(m1, m2); a1 = exp(m1 - m); a2 = exp(m2 - m)
 *   l = a1*l1 + a2*l2; o = a1*o1 + a2*o2
 * The final output is o / l.  An empty state has m = -inf, l = 0, o = 0;
 * its factor is 0 (never exp(-inf - -inf) = NaN), so merging it is a no-op.
 *
 * Used by the CPU reference backend (double), the GPU merge kernel and the
 * GPU kernels' per-tile updates and epilogue merges (float).  Plain C and
 * CUDA alike.
 */
#ifndef SOFTMAX_MERGE_H
#define SOFTMAX_MERGE_H

#include <math.h>

#ifdef __CUDACC__
#define SOFTMAX_FN static __host__ __device__ __forceinline__
#else
#define SOFTMAX_FN static inline
#endif

/* Everything below, instantiated once per precision (S = f: float, expf;
 * S = d: double, exp):
 *
 *   softmax_merge_S(m1, l1, m2, l2, &m, &l, &a1, &a2)
 *       the rule: writes the merged max and sum and the factors a1, a2 to
 *       apply to o1 and o2.
 *   softmax_state_S          the running (m, l) of one row (o lives with
 *                            the caller, in whatever layout it has)
 *   softmax_init_S()         the empty state: m = -inf, l = 0
 *   softmax_update_S(&st, m2, l2, &a1, &a2)
 *       folds a new (m2, l2) into st; the caller rescales its accumulator by
 *       a1 and the new part by a2 (o = a1*o + a2*o2).
 *   softmax_fold_S(&st, acc, m2, l2, o2, n)
 *       folds one whole partial (m2, l2, o2[0..n-1]) into (st, acc[0..n-1]).
 *   softmax_raise_S(&st, m2, tau, &a)
 *       before new scores whose max is m2 are added to st as exp(score - m):
 *       raises st's m to m2 only if m2 > m + tau, rescaling l by a = exp(m_old
 *       - m2) (the caller rescales o by a); else a = 1 and m stays.  Returns
 *       whether m moved.  tau = 0 keeps m the exact running max; tau > 0 is
 *       FlashAttention-4's lazy rescale: m may lag the true max by up to tau,
 *       so the new exponentials are <= exp(tau), and the (m, l, o) state stays
 *       exact (every merge above holds for any reference m).
 */
#define SOFTMAX_DEFINE(T, S, EXP)                                                      \
	SOFTMAX_FN void softmax_merge_##S(T m1, T l1, T m2, T l2, T *m, T *l, T *a1, T *a2) \
	{                                                                              \
		T mm = m1 > m2 ? m1 : m2;                                              \
		T f1 = (m1 == -(T)INFINITY) ? (T)0 : EXP(m1 - mm);                     \
		T f2 = (m2 == -(T)INFINITY) ? (T)0 : EXP(m2 - mm);                     \
		*m = mm;                                                               \
		*l = f1 * l1 + f2 * l2;                                                \
		*a1 = f1;                                                              \
		*a2 = f2;                                                              \
	}                                                                              \
	typedef struct softmax_state_##S {                                             \
		T m, l;                                                                \
	} softmax_state_##S;                                                           \
	SOFTMAX_FN softmax_state_##S softmax_init_##S(void)                            \
	{                                                                              \
		softmax_state_##S st;                                                  \
		st.m = -(T)INFINITY;                                                   \
		st.l = (T)0;                                                           \
		return st;                                                             \
	}                                                                              \
	SOFTMAX_FN void softmax_update_##S(softmax_state_##S *st, T m2, T l2, T *a1, T *a2) \
	{                                                                              \
		softmax_merge_##S(st->m, st->l, m2, l2, &st->m, &st->l, a1, a2);       \
	}                                                                              \
	SOFTMAX_FN int softmax_raise_##S(softmax_state_##S *st, T m2, T tau, T *a)     \
	{                                                                              \
		if (!(m2 > st->m + tau) && st->m != -(T)INFINITY) {                    \
			*a = (T)1;                                                     \
			return 0;                                                      \
		}                                                                      \
		T f = (st->m == -(T)INFINITY) ? (T)0 : EXP(st->m - m2);                \
		st->m = m2;                                                            \
		st->l *= f;                                                            \
		*a = f;                                                                \
		return 1;                                                              \
	}                                                                              \
	SOFTMAX_FN void softmax_fold_##S(softmax_state_##S *st, T *acc, T m2, T l2,     \
					 const T *o2, int n)                           \
	{                                                                              \
		T a1, a2;                                                              \
		softmax_update_##S(st, m2, l2, &a1, &a2);                              \
		for (int e = 0; e < n; e++)                                            \
			acc[e] = a1 * acc[e] + a2 * o2[e];                             \
	}

SOFTMAX_DEFINE(float, f, expf)
SOFTMAX_DEFINE(double, d, exp)
/* the same rule with m (and every exponent) in log2 units, for kernels that
 * fold log2(e) into the score scale and exponentiate with exp2 */
SOFTMAX_DEFINE(float, f2, exp2f)

#undef SOFTMAX_DEFINE

#endif
