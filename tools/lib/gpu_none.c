/* gpu_none.c - the CUDA backend of builds without nvcc: no kernels, and
 * open() says why none can run. */
#include "backend.h"

#include <stddef.h>

const struct attn_kernel *const attn_kernels[] = { NULL };

static const char *none_open(int device)
{
	(void)device;
	return "this build has no CUDA backend (nvcc was not found when it was built); "
	       "-k ref runs the CPU backend";
}

const struct backend gpu_backend = { "cuda", attn_kernels, none_open };
