/* mma_peak.h - a dense bf16 tensor-core loop: the measured compute ceiling.
 *
 * run-kernel times it once per process on the device it runs on and
 * reports the rate as ceil_tflops beside ceil_gbps (the read ceiling,
 * stream_read.h): the flat line of the roofline.  Operands live in shared
 * memory and registers only, so memory is never the limit; the only global
 * traffic is one atomic add per warp at the end.  Plain C header (no CUDA
 * headers needed).
 */
#ifndef MMA_PEAK_H
#define MMA_PEAK_H

#ifdef __cplusplus
extern "C" {
#endif

struct CUstream_st; /* = cudaStream_t */

/* How the current device runs the loop (asked once per device, cached). */
struct mma_peak_plan {
	int grid, threads;       /* CTAs (SMs x resident CTAs per SM) and threads per CTA */
	double flop_per_iter;    /* FLOPs one loop iteration of the whole grid does */
	const char *path;        /* "wgmma m64n256k16" or "mma.sync m16n8k16" (which the
				    device image has: sm_90a builds the first) */
};

/* Fills *p for the current device; returns a cudaError_t (0 = success). */
int mma_peak_plan(struct mma_peak_plan *p);

/* Enqueue one launch of `iters` iterations (p->flop_per_iter * iters FLOPs)
 * on `stream`.  A reduction of the accumulators is added to sink[1] (device
 * memory, 2 floats at least) so the loop cannot be optimized away; its value
 * is meaningless.  Returns a cudaError_t (0 = success). */
int mma_peak_launch(const struct mma_peak_plan *p, long iters, float *sink, struct CUstream_st *stream);

#ifdef __cplusplus
}
#endif

#endif
