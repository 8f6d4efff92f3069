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
 * Used by the CPU reference backend (double), the GPU merge kernels and the
 * GPU kernels' per-tile updates (float).  Plain C and CUDA alike.
 */
#ifndef SOFTMAX_MERGE_H
#define SOFTMAX_MERGE_H

#include <math.h>

#ifdef __CUDACC__
#define SOFTMAX_FN static __host__ __device__ __forceinline__
#else
#define SOFTMAX_FN static inline
#endif

/* Body of the merge, instantiated once per precision below.  Writes the
 * merged max and sum and the factors a1, a2 to apply to o1 and o2. */
#define SOFTMAX_MERGE_DEFINE(T, NAME, EXP)                                     \
	SOFTMAX_FN void NAME(T m1, T l1, T m2, T l2, T *m, T *l, T *a1, T *a2)     \
	{                                                                          \
		T mm = m1 > m2 ? m1 : m2;                                              \
		T f1 = (m1 == -(T)INFINITY) ? (T)0 : EXP(m1 - mm);                     \
		T f2 = (m2 == -(T)INFINITY) ? (T)0 : EXP(m2 - mm);                     \
		*m = mm;                                                               \
		*l = f1 * l1 + f2 * l2;                                                \
		*a1 = f1;                                                              \
		*a2 = f2;                                                              \
	}

SOFTMAX_MERGE_DEFINE(float, softmax_merge_f, expf)
SOFTMAX_MERGE_DEFINE(double, softmax_merge_d, exp)

#undef SOFTMAX_MERGE_DEFINE

#endif
