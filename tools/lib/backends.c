/* backends.c - the list of backends and what every backend shares. */
#include "backend.h"

#include <math.h>
#include <string.h>

const struct backend *const backends[] = { &cpu_backend, &gpu_backend, NULL };

const struct attn_kernel *backend_find(const char *name, const struct backend **b)
{
	for (int i = 0; backends[i]; i++)
		for (int j = 0; backends[i]->kernels[j]; j++)
			if (strcmp(backends[i]->kernels[j]->name, name) == 0) {
				*b = backends[i];
				return backends[i]->kernels[j];
			}
	return NULL;
}

struct attn_args backend_args(const struct attn_shape *s, const void *q, const void *k,
			      const void *v, float *out, void *work, const struct attn_tree *tree,
			      const struct attn_tree *host_tree)
{
	struct attn_args a;
	memset(&a, 0, sizeof a);
	a.s = *s;
	a.q = q;
	a.k = k;
	a.v = v;
	a.out = out;
	a.work = work;
	a.scale = (float)(1.0 / sqrt((double)s->d_head));
	a.tree = *tree;
	a.host_tree = host_tree;
	return a;
}
