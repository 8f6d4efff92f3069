/* gpu_util.h - what every C program on the CUDA runtime shares (run-kernel's
 * CUDA backend, bench-ceiling): the error check, the SM clock / throttle
 * reading through NVML (loaded with dlopen, so that no build or test needs
 * the driver) and the timing of launches by bench.h's rule.  Built only
 * when nvcc is present. */
#ifndef GPU_UTIL_H
#define GPU_UTIL_H

#include "bench.h"

#include <cuda_runtime_api.h>

/* Dies (exit 1, "CUDA error at FILE:LINE: CALL: why") unless e is success. */
void check_cuda(cudaError_t e, const char *what, const char *file, int line);
#define CK(call) check_cuda((call), #call, __FILE__, __LINE__)

/* NVML for `device` (a CUDA ordinal); without NVML nvml_read says 0 MHz. */
void nvml_open(int device);
/* The SM clock now (MHz, 0 = unknown) and whether the GPU is slowed by a
 * thermal, power-brake or hardware reason that makes a sample unrepresentative. */
void nvml_read(double *mhz, int *throttled);

/* One thing to time: launch(ctx) enqueues one launch on stream (and dies on
 * a launch error); name is for messages; graph batches are whole multiples
 * of rotation launches (the input copies rotated over; 1: any). */
struct gpu_timing {
	cudaStream_t stream;
	cudaEvent_t ev0, ev1;
	void (*launch)(void *ctx);
	void *ctx;
	const char *name;
	long rotation;
};
/* Per-launch ms of n launches between the two events: launched one by one
 * from the host, or as one replay of exec (graph mode). */
double gpu_time_launches(const struct gpu_timing *t, cudaGraphExec_t exec, long n);
/* bench.h's rule on the device: o->warmup launches, batches of about
 * o->sample_ms (CUDA-graph replays with o->graph), samples until the sampler
 * stops, each with the SM clock and throttle state from NVML. */
void gpu_measure(const struct gpu_timing *t, const struct bench_opts *o, struct bench_result *r);

#endif
