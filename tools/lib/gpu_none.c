/* gpu_none.c - the CUDA backend's stand-in for builds without nvcc: the
 * same symbols, and gpu_open() says why no GPU kernel can run. */
#include "backend.h"

#include <stddef.h>

const int gpu_built = 0;
const struct attn_kernel *const attn_kernels[] = { NULL };

const char *gpu_open(int device)
{
	(void)device;
	return "this build has no CUDA backend (nvcc was not found when it was built)";
}

const char *gpu_name(void) { return ""; }

struct gpu_config *gpu_prepare(const struct inputs *in, const struct bench_opts *o,
			       const char **why)
{
	(void)in;
	(void)o;
	*why = "no CUDA backend";
	return NULL;
}

int gpu_run(struct gpu_config *g, const struct attn_kernel *k, const struct bench_opts *o,
	    float *out, const struct validator *v, struct bench_result *r, const char **why)
{
	(void)g, (void)k, (void)o, (void)out, (void)v, (void)r;
	*why = "no CUDA backend";
	return -1;
}

double gpu_ceiling_gbps(struct gpu_config *g, const struct bench_opts *o)
{
	(void)g, (void)o;
	return 0;
}

void gpu_release(struct gpu_config *g) { (void)g; }
