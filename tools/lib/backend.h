/* backend.h - where a kernel runs.  A backend owns one config's inputs in
 * its memory, runs a kernel of its own on them (validate first, then time),
 * measures the streaming-read ceiling of the same bytes and, once per
 * process, the device's tensor-core ceiling.  Two exist: the
 * CPU (cpu_backend.c, always built; its one kernel is `ref`) and CUDA
 * (gpu_backend.c, built when nvcc is present; its kernels are
 * kernels/registry.c's).  A new backend is one more `struct backend` and a
 * line in backends[] (backends.c); a new kernel goes in its backend's list. */
#ifndef BACKEND_H
#define BACKEND_H

#include "bench.h"
#include "inputs.h"

struct backend_config; /* one config's inputs, as the backend holds them */

/* A device's peaks (compute_eff_pct's and kv_mem_eff_pct's denominators). */
struct device_peaks {
	double tflops, gbps; /* dense bf16 tensor TFLOP/s, DRAM GB/s; 0 = unknown */
	char tflops_from[160], gbps_from[160]; /* how each was derived (no commas) */
};

struct backend {
	const char *name;                        /* "cpu", "cuda" */
	const struct attn_kernel *const *kernels; /* NULL-terminated */
	/* Gets the device ready: NULL, or why this backend cannot run here. */
	const char *(*open)(int device);
	const char *(*device_name)(void);        /* the `gpu` column */
	/* Copies one config's inputs in: NULL when they do not fit (*why says
	 * so).  K/V are rotated over enough copies to keep the cache cold
	 * unless o->l2_hot. */
	struct backend_config *(*prepare)(const struct inputs *in, const struct bench_opts *o,
					  const char **why);
	/* Validates, then times, kernel k: out receives the first launch's
	 * output (poisoned beforehand, so unwritten elements show as NaN) and v
	 * judges it.  Returns 0 when timed, 1 when v rejected the output (not
	 * timed), -1 when the kernel refuses the shape or its workspace does
	 * not fit (*why says which).  Device errors end the program. */
	int (*run)(struct backend_config *c, const struct attn_kernel *k,
		   const struct bench_opts *o, float *out, const struct validator *v,
		   struct bench_result *r, const char **why);
	/* Measured read bandwidth (GB/s) of the config's K/V bytes. */
	double (*ceiling_gbps)(struct backend_config *c, const struct bench_opts *o);
	void (*release)(struct backend_config *c); /* NULL is fine */
	/* The `launch` column: how timed launches were issued. */
	const char *(*launch_mode)(const struct bench_opts *o);
	/* Measured dense bf16 tensor-core rate (TFLOP/s) of the device: a
	 * property of the card, not of the config, so it is measured on the
	 * first call (with c's stream) and cached for the process; *how (may be
	 * NULL) says how.  0 where the backend has none; NULL is the same. */
	double (*ceiling_tflops)(struct backend_config *c, const struct bench_opts *o, const char **how);
	/* The device's own peaks, from its attributes (called after open):
	 * fills what it knows, leaves the rest 0.  NULL: none known. */
	void (*peaks)(struct device_peaks *p);
};

extern const struct backend cpu_backend, gpu_backend;
/* Every backend of this build, NULL-terminated: the CPU first. */
extern const struct backend *const backends[];

/* Every GPU kernel of this build, NULL-terminated (kernels/registry.c). */
extern const struct attn_kernel *const attn_kernels[];

/* Finds kernel `name` in any backend; NULL if none has it. */
const struct attn_kernel *backend_find(const char *name, const struct backend **b);

/* The attn_args of one launch over inputs that live at q/k/v/tree. */
struct attn_args backend_args(const struct attn_shape *s, const void *q, const void *k,
			      const void *v, float *out, void *work, const struct attn_tree *tree,
			      const struct attn_tree *host_tree);

#endif
