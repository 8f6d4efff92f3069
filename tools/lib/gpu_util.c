/* gpu_util.c - see gpu_util.h */
#include "gpu_util.h"
#include "err.h"

#include <dlfcn.h>

void check_cuda(cudaError_t e, const char *what, const char *file, int line)
{
	if (e != cudaSuccess)
		die(EXIT_INPUT, "CUDA error at %s:%d: %s: %s", file, line, what, cudaGetErrorString(e));
}

/* --- NVML, optional ------------------------------------------------------ */
typedef int (*nvml_fn_void)(void);
typedef int (*nvml_fn_pci)(const char *, void **);
typedef int (*nvml_fn_clock)(void *, int, unsigned *);
typedef int (*nvml_fn_reasons)(void *, unsigned long long *);
static struct {
	void *dev;
	nvml_fn_clock clock;
	nvml_fn_reasons reasons;
} nvml;

/* Throttle reasons that make a sample unrepresentative: HW slowdown, SW and
 * HW thermal slowdown, HW power brake (nvml.h clocksEventReasons). */
#define THROTTLE_BAD (0x8ull | 0x20ull | 0x40ull | 0x80ull)

void nvml_open(int device)
{
	void *h = dlopen("libnvidia-ml.so.1", RTLD_NOW);
	char bus[32];
	if (!h)
		return;
	nvml_fn_void init = (nvml_fn_void)dlsym(h, "nvmlInit_v2");
	nvml_fn_pci by_pci = (nvml_fn_pci)dlsym(h, "nvmlDeviceGetHandleByPciBusId_v2");
	nvml.clock = (nvml_fn_clock)dlsym(h, "nvmlDeviceGetClockInfo");
	nvml.reasons = (nvml_fn_reasons)dlsym(h, "nvmlDeviceGetCurrentClocksEventReasons");
	if (!nvml.reasons)
		nvml.reasons = (nvml_fn_reasons)dlsym(h, "nvmlDeviceGetCurrentClocksThrottleReasons");
	if (!init || !by_pci || !nvml.clock || init() != 0 ||
	    cudaDeviceGetPCIBusId(bus, sizeof bus, device) != cudaSuccess || by_pci(bus, &nvml.dev) != 0)
		nvml.dev = NULL;
}

void nvml_read(double *mhz, int *throttled)
{
	unsigned clk = 0;
	unsigned long long why = 0;
	*mhz = 0;
	*throttled = 0;
	if (!nvml.dev)
		return;
	if (nvml.clock(nvml.dev, 1 /* NVML_CLOCK_SM */, &clk) == 0)
		*mhz = clk;
	if (nvml.reasons && nvml.reasons(nvml.dev, &why) == 0)
		*throttled = (why & THROTTLE_BAD) != 0;
}

/* --- timing ---------------------------------------------------------------- */
double gpu_time_launches(const struct gpu_timing *t, cudaGraphExec_t exec, long n)
{
	float ms;
	CK(cudaEventRecord(t->ev0, t->stream));
	if (exec)
		CK(cudaGraphLaunch(exec, t->stream));
	else
		for (long i = 0; i < n; i++)
			t->launch(t->ctx);
	CK(cudaEventRecord(t->ev1, t->stream));
	CK(cudaEventSynchronize(t->ev1));
	CK(cudaEventElapsedTime(&ms, t->ev0, t->ev1));
	return (double)ms / (double)n;
}

/* Graph mode: one CUDA graph holds a whole batch of launches, and a sample
 * is one replay.  It removes the host's per-launch cost, as serving systems
 * do for decode; stream mode (the default) launches back to back like the
 * seed. */
static cudaGraphExec_t capture_batch(const struct gpu_timing *t, long n)
{
	cudaGraph_t graph;
	cudaGraphExec_t exec;
	cudaError_t e;

	CK(cudaStreamBeginCapture(t->stream, cudaStreamCaptureModeThreadLocal));
	for (long i = 0; i < n; i++)
		t->launch(t->ctx);
	CK(cudaStreamEndCapture(t->stream, &graph));
	e = cudaGraphInstantiate(&exec, graph, 0);
	cudaGraphDestroy(graph);
	if (e != cudaSuccess)
		die(EXIT_INPUT, "%s: cannot run as a CUDA graph (--launch graph): %s", t->name, cudaGetErrorString(e));
	return exec;
}

void gpu_measure(const struct gpu_timing *t, const struct bench_opts *o, struct bench_result *r)
{
	struct sampler s;
	long batch;
	double est, dt, mhz;
	int hot;
	cudaGraphExec_t exec = NULL;

	for (int i = 0; i < o->warmup; i++)
		t->launch(t->ctx);
	est = gpu_time_launches(t, NULL, 1);
	batch = sampler_batch(o, est);
	if (o->graph) {
		/* whole rotations, so no input copy comes back sooner than a rotation */
		if (t->rotation > 1)
			batch = (batch + t->rotation - 1) / t->rotation * t->rotation;
		exec = capture_batch(t, batch);
		(void)gpu_time_launches(t, exec, batch); /* the first replay uploads the graph */
	}
	sampler_init(&s, o);
	do {
		dt = gpu_time_launches(t, exec, batch);
		nvml_read(&mhz, &hot);
	} while (sampler_add(&s, dt, mhz, hot));
	sampler_finish(&s, batch, r);
	if (exec)
		CK(cudaGraphExecDestroy(exec));
}
