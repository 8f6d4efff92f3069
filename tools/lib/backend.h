/* backend.h - the two places a kernel can run: the CPU reference backend
 * (always built) and the CUDA backend (built when nvcc is present). */
#ifndef BACKEND_H
#define BACKEND_H

#include "bench.h"
#include "inputs.h"

/* --- CPU: the `ref` kernel (reference.h: cpu_chunked_attention) --------- */
/* Runs once into out (poisoned first), asks v, and times only when v
 * accepts.  Returns 1 when timed, 0 when v rejected the output. */
int cpu_bench(const struct inputs *in, const struct bench_opts *o, float *out,
	      const struct validator *v, struct bench_result *r);
/* Measured read bandwidth of the same byte count (K and V summed once). */
double cpu_ceiling_gbps(const struct inputs *in, const struct bench_opts *o);
const char *cpu_name(void);

/* --- CUDA ------------------------------------------------------------------ */
struct attn_kernel;
struct gpu_config; /* device copies of one config's inputs */

/* Non-zero when this build has the CUDA backend. */
extern const int gpu_built;
/* Every GPU kernel of this build, NULL-terminated (kernels/registry.c). */
extern const struct attn_kernel *const attn_kernels[];

/* Selects the device; NULL on success, else why not (no GPU, ...). */
const char *gpu_open(int device);
const char *gpu_name(void);
/* Uploads inputs (K/V rotated over enough sets to keep L2 cold unless
 * o->l2_hot).  NULL when it does not fit; *why says so. */
struct gpu_config *gpu_prepare(const struct inputs *in, const struct bench_opts *o,
			       const char **why);
/* Validates, then times, one kernel: out receives the first launch's output
 * (poisoned beforehand, so unwritten elements show as NaN) and v judges it.
 * Returns 0 when timed, 1 when v rejected the output (not timed), -1 when
 * the kernel refuses the shape or its workspace does not fit (*why says
 * which).  CUDA errors end the program. */
int gpu_run(struct gpu_config *g, const struct attn_kernel *k, const struct bench_opts *o,
	    float *out, const struct validator *v, struct bench_result *r, const char **why);
double gpu_ceiling_gbps(struct gpu_config *g, const struct bench_opts *o);
void gpu_release(struct gpu_config *g);

#endif
