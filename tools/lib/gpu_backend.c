/* gpu_backend.c - the CUDA backend of run-kernel (built when nvcc exists).
 *
 * Plain C on the CUDA runtime API.  One config's inputs are uploaded once and
 * shared by every kernel of the run.  K/V are rotated over enough copies
 * ("sets", each K then V in one allocation) that consecutive launches never
 * find their K/V in L2 (at least 4x the L2 size between reuses), unless
 * --l2 hot asks for the seed's back-to-back method.  Timing: CUDA events
 * around batches of launches (bench.h has the sampling rule, gpu_util.c
 * runs it); the SM clock and throttle reasons come from NVML, loaded with
 * dlopen so that no build or test needs the driver (gpu_util.c).
 * --launch graph replays batches captured in a CUDA graph instead of
 * launching from the host.  Ceilings: the read ceiling
 * (kernels/stream_read.cu) is timed per config on its own bytes;
 * the tensor-core ceiling (kernels/mma_peak.cu) once per process.  The
 * device's peaks come from its attributes (gpu_peaks()).
 */
#include "backend.h"
#include "err.h"
#include "gpu_util.h"
#include "metrics.h"
#include "../../kernels/attn.h"
#include "../../kernels/mma_peak.h"
#include "../../kernels/stream_read.h"

#include <cuda_runtime_api.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- device -------------------------------------------------------------- */
static struct cudaDeviceProp prop;
static char name[256];
static struct device_peaks peaks;

/* The device's peaks from its attributes (CUDA 13 dropped clockRate and
 * memoryClockRate from cudaDeviceProp; cudaDeviceGetAttribute keeps them):
 * SMs x the peak SM clock (cudaDevAttrClockRate, kHz) x the dense bf16
 * FLOP/clk/SM of the compute capability (metrics.h says where each comes
 * from), and the peak memory clock (cudaDevAttrMemoryClockRate, kHz) x the
 * bus width (cudaDevAttrGlobalMemoryBusWidth, bits) x 2 / 8.  An H200
 * reports 132 SMs at 1980 MHz and 3201 MHz x 6016 bits: 1070.5 TFLOP/s (the
 * datasheet's 989 is at 1830 MHz) and 4814 GB/s (datasheet 4.8 TB/s). */
static void read_peaks(int device)
{
	int major = 0, minor = 0, sms = 0, clk = 0, memclk = 0, bus = 0;
	cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device);
	cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, device);
	cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device);
	cudaDeviceGetAttribute(&clk, cudaDevAttrClockRate, device);
	cudaDeviceGetAttribute(&memclk, cudaDevAttrMemoryClockRate, device);
	cudaDeviceGetAttribute(&bus, cudaDevAttrGlobalMemoryBusWidth, device);
	cudaGetLastError(); /* an attribute this driver lacks reads as 0: unknown */
	memset(&peaks, 0, sizeof peaks);
	peaks.tflops = peak_tflops_bf16(major, minor, sms, clk);
	if (peaks.tflops > 0)
		snprintf(peaks.tflops_from, sizeof peaks.tflops_from,
			 "%d SMs x %.0f MHz x %d dense bf16 FLOP/clk/SM (sm_%d%d)", sms, clk / 1e3,
			 peak_bf16_flop_per_clk_sm(major, minor), major, minor);
	else
		snprintf(peaks.tflops_from, sizeof peaks.tflops_from,
			 "sm_%d%d: dense bf16 FLOP/clk/SM not known", major, minor);
	peaks.gbps = peak_gbps_dram(memclk, bus);
	snprintf(peaks.gbps_from, sizeof peaks.gbps_from, "%.0f MHz x %d-bit bus x 2 (DDR) / 8",
		 memclk / 1e3, bus);
}

static void gpu_peaks(struct device_peaks *p) { *p = peaks; }

static const char *gpu_open(int device)
{
	int n = 0;
	static char why[256];
	cudaError_t e = cudaGetDeviceCount(&n);

	if (e != cudaSuccess || n == 0) {
		snprintf(why, sizeof why, "no CUDA GPU found (%s); -k ref runs the CPU backend",
			 e != cudaSuccess ? cudaGetErrorString(e) : "no device");
		return why;
	}
	if (device < 0 || device >= n) {
		snprintf(why, sizeof why, "--device %d: this machine has %d CUDA GPU(s)", device, n);
		return why;
	}
	CK(cudaSetDevice(device));
	CK(cudaGetDeviceProperties(&prop, device));
	snprintf(name, sizeof name, "%s", prop.name);
	for (char *p = name; *p; p++)
		if (*p == ',')
			*p = ';';
	nvml_open(device);
	read_peaks(device);
	return NULL;
}

static const char *gpu_name(void) { return name; }

struct backend_config {
	struct attn_shape s;
	const struct inputs *in;
	struct attn_tree tree; /* device copies of in->tree */
	void *tables;          /* one allocation behind tree's pointers */
	size_t nkv;        /* elements of K (= of V) */
	int nsets;
	size_t stride;     /* bytes between sets in pool (256-aligned) */
	char *pool;        /* nsets sets, each K then V, in one allocation */
	void *q;
	float *out, *sink;
	cudaStream_t stream;
	cudaEvent_t ev0, ev1;
};

static void gpu_release(struct backend_config *g)
{
	if (!g)
		return;
	cudaFree(g->tables);
	cudaFree(g->pool);
	cudaFree(g->q);
	cudaFree(g->out);
	cudaFree(g->sink);
	if (g->stream) {
		cudaEventDestroy(g->ev0);
		cudaEventDestroy(g->ev1);
		cudaStreamDestroy(g->stream);
	}
	free(g);
}

/* The tables of in->tree in one device allocation; g->tree points into it. */
static void upload_tree(struct backend_config *g, const struct inputs *in)
{
	const struct tree_tables *tt = &in->tree;
	size_t n_table = tt->table_ints * sizeof(int), n_len = (size_t)in->s.n_seqs * sizeof(int);
	size_t n_nodes = (size_t)tt->t.n_nodes * sizeof(struct attn_node);
	size_t n_pool = (size_t)tt->n_pool * sizeof(int);
	size_t off_len = (n_table + 15) & ~(size_t)15, off_nodes = (off_len + n_len + 15) & ~(size_t)15;
	size_t off_pool = (off_nodes + n_nodes + 15) & ~(size_t)15;
	char *d;

	CK(cudaMalloc(&g->tables, off_pool + n_pool));
	d = g->tables;
	CK(cudaMemcpy(d, tt->chunk_table, n_table, cudaMemcpyHostToDevice));
	CK(cudaMemcpy(d + off_len, tt->seq_len, n_len, cudaMemcpyHostToDevice));
	CK(cudaMemcpy(d + off_nodes, tt->nodes, n_nodes, cudaMemcpyHostToDevice));
	CK(cudaMemcpy(d + off_pool, tt->node_chunks, n_pool, cudaMemcpyHostToDevice));
	g->tree = tt->t;
	g->tree.chunk_table = (const int *)d;
	g->tree.seq_len = (const int *)(d + off_len);
	g->tree.nodes = (const struct attn_node *)(d + off_nodes);
	g->tree.node_chunks = (const int *)(d + off_pool);
}

static struct backend_config *gpu_prepare(const struct inputs *in, const struct bench_opts *o,
					  const char **why)
{
	static char msg[256];
	struct backend_config *g = xcalloc(1, sizeof *g);
	size_t set_bytes = 2 * in->nkv * 2, out_bytes, free_b, total_b;
	long want;

	g->s = in->s;
	g->in = in;
	g->nkv = in->nkv;
	g->stride = (set_bytes + 255) & ~(size_t)255;
	out_bytes = (size_t)in->s.n_seqs * in->s.n_heads * in->s.d_head * sizeof(float);
	CK(cudaMemGetInfo(&free_b, &total_b));
	/* enough sets that >= 4x L2 is read between two uses of one set (one set
	 * of a large config is already more than that) */
	want = bench_cold_copies(g->stride, (size_t)prop.l2CacheSize, o->l2_hot);
	/* keep half of free memory for workspaces */
	while (want > 1 && (size_t)want * g->stride > free_b / 2)
		want--;
	if (set_bytes + out_bytes + 2 * in->nq > free_b) {
		snprintf(msg, sizeof msg, "needs %.1f GB of GPU memory, %.1f GB free",
			 (set_bytes + out_bytes) / 1e9, free_b / 1e9);
		*why = msg;
		free(g);
		return NULL;
	}
	CK(cudaMalloc(&g->q, in->nq * 2));
	CK(cudaMalloc((void **)&g->out, out_bytes));
	CK(cudaMalloc((void **)&g->sink, 1024 * sizeof(float)));
	CK(cudaMemcpy(g->q, in->q, in->nq * 2, cudaMemcpyHostToDevice));
	upload_tree(g, in);
	while (cudaMalloc((void **)&g->pool, (size_t)want * g->stride) != cudaSuccess) {
		cudaGetLastError(); /* clear; fewer sets will do */
		if (want == 1) {
			snprintf(msg, sizeof msg, "K/V (%.1f GB) does not fit in GPU memory",
				 set_bytes / 1e9);
			*why = msg;
			gpu_release(g);
			return NULL;
		}
		want /= 2;
	}
	g->nsets = (int)want;
	CK(cudaMemcpy(g->pool, in->k, in->nkv * 2, cudaMemcpyHostToDevice));
	CK(cudaMemcpy(g->pool + in->nkv * 2, in->v, in->nkv * 2, cudaMemcpyHostToDevice));
	for (int i = 1; i < g->nsets; i++)
		CK(cudaMemcpy(g->pool + (size_t)i * g->stride, g->pool, set_bytes,
			      cudaMemcpyDeviceToDevice));
	if (!o->l2_hot && (size_t)g->nsets * g->stride < 4 * (size_t)prop.l2CacheSize &&
	    set_bytes < 4 * (size_t)prop.l2CacheSize)
		warnx("only %d K/V copies fit: L2 is not fully cold for this config", g->nsets);
	CK(cudaStreamCreateWithFlags(&g->stream, cudaStreamNonBlocking));
	CK(cudaEventCreate(&g->ev0));
	CK(cudaEventCreate(&g->ev1));
	CK(cudaDeviceSynchronize());
	return g;
}

/* What gets launched: one attention kernel, the streaming-read ceiling or
 * the tensor-core ceiling. */
struct launcher {
	struct backend_config *g;
	const struct attn_kernel *k; /* NULL: stream_read (or mma_peak) */
	const struct mma_peak_plan *peak; /* non-NULL: mma_peak, iters a launch */
	long iters;
	struct attn_args a;
	long next;                   /* set to use next */
};

static void launch(struct launcher *l)
{
	struct backend_config *g = l->g;
	char *set = g->pool + (size_t)(l->next % g->nsets) * g->stride;
	int e;

	if (l->peak) {
		if ((e = mma_peak_launch(l->peak, l->iters, g->sink, g->stream)) != 0)
			die(EXIT_INPUT, "CUDA error launching mma_peak: %s", cudaGetErrorString((cudaError_t)e));
		return;
	}
	l->next++;
	if (l->k) {
		l->a.k = set;
		l->a.v = set + g->nkv * 2;
		e = l->k->launch(&l->a, g->stream);
	} else {
		e = stream_read_launch(set, 2 * g->nkv * 2, g->sink, g->stream);
	}
	if (e != 0)
		die(EXIT_INPUT, "CUDA error launching %s: %s", l->k ? l->k->name : "stream_read",
		    cudaGetErrorString((cudaError_t)e));
}

static void launch_cb(void *l) { launch(l); }

/* What gpu_measure() needs to time l: its stream and events, and whole
 * rotations of the K/V sets for graph batches (so replays stay L2-cold). */
static struct gpu_timing timing_of(struct launcher *l)
{
	struct gpu_timing t = { l->g->stream, l->g->ev0, l->g->ev1, launch_cb, l,
				l->k ? l->k->name : l->peak ? "mma_peak" : "stream_read", l->peak ? 1 : l->g->nsets };
	return t;
}

static void measure(struct launcher *l, const struct bench_opts *o, struct bench_result *r)
{
	struct gpu_timing t = timing_of(l);
	gpu_measure(&t, o, r);
}

static int gpu_run(struct backend_config *g, const struct attn_kernel *k,
		   const struct bench_opts *o, float *out, const struct validator *v,
		   struct bench_result *r, const char **why)
{
	static char msg[256];
	struct launcher l = { .g = g, .k = k };
	size_t ws, free_b, total_b, out_bytes = (size_t)g->s.n_seqs * g->s.n_heads * g->s.d_head * 4;
	void *work = NULL;

	if ((*why = k->check(&g->s)) != NULL)
		return -1;
	ws = k->workspace(&g->s);
	CK(cudaMemGetInfo(&free_b, &total_b));
	if (ws && (ws > free_b || cudaMalloc(&work, ws) != cudaSuccess)) {
		cudaGetLastError();
		snprintf(msg, sizeof msg, "workspace of %.1f GB does not fit (%.1f GB free)", ws / 1e9,
			 free_b / 1e9);
		*why = msg;
		return -1;
	}
	l.a = backend_args(&g->s, g->q, NULL, NULL, g->out, work, &g->tree, &g->in->tree.t);

	/* validation launch: poisoned output, checked, copied back */
	CK(cudaMemsetAsync(g->out, 0xff, out_bytes, g->stream));
	launch(&l);
	CK(cudaStreamSynchronize(g->stream));
	CK(cudaGetLastError());
	CK(cudaMemcpy(out, g->out, out_bytes, cudaMemcpyDeviceToHost));
	if (!v->accept(v->ctx, out)) {
		cudaFree(work);
		return 1;
	}

	measure(&l, o, r);
	CK(cudaGetLastError());
	cudaFree(work);
	return 0;
}

static double gpu_ceiling_gbps(struct backend_config *g, const struct bench_opts *o)
{
	struct launcher l = { .g = g, .k = NULL };
	struct bench_result r;

	measure(&l, o, &r);
	CK(cudaGetLastError());
	return metrics_kv_gbps(&g->s, r.latency_ms);
}

/* A launch of the tensor-core loop lasts about this long: ~1 us of launch
 * gap and ramp on 2 ms is 0.05 %. */
#define PEAK_LAUNCH_MS 2.0

/* The tensor-core ceiling: kernels/mma_peak.cu (a dense bf16 MMA loop on
 * operands in shared memory/registers, one CTA per SM) sized so a launch
 * lasts PEAK_LAUNCH_MS, then timed like any kernel (warm-up, samples until
 * the median is known to --noise, throttled samples dropped; --launch graph
 * replays graphs).  Rate = the grid's MMA FLOPs a launch / the median
 * launch time.  Measured once per process: the device is opened once. */
static double gpu_ceiling_tflops(struct backend_config *g, const struct bench_opts *o, const char **how)
{
	static double tflops;
	static char desc[256];
	static struct mma_peak_plan plan;
	struct launcher l = { .g = g, .peak = &plan, .iters = 256 };
	struct bench_result r;
	int e;

	if (tflops <= 0) {
		if ((e = mma_peak_plan(&plan)) != 0)
			die(EXIT_INPUT, "CUDA error preparing mma_peak: %s", cudaGetErrorString((cudaError_t)e));
		launch(&l); /* first launch: module load, clocks up */
		struct gpu_timing t = timing_of(&l);
		double ms = gpu_time_launches(&t, NULL, 1);
		if (ms > 0)
			l.iters = (long)(l.iters * PEAK_LAUNCH_MS / ms);
		l.iters = l.iters < 16 ? 16 : l.iters > (1L << 30) ? 1L << 30 : l.iters;
		measure(&l, o, &r);
		CK(cudaGetLastError());
		if (r.samples > 0 && r.latency_ms > 0) {
			tflops = plan.flop_per_iter * (double)l.iters / (r.latency_ms * 1e-3) / 1e12;
			snprintf(desc, sizeof desc,
				 "%s bf16 (fp32 accumulate) on shared-memory and register operands; %d CTAs x %d "
				 "threads; %ld iterations (%.3g ms) a launch; median of %ld samples (+-%.2g%%)%s",
				 plan.path, plan.grid, plan.threads, l.iters, r.latency_ms, r.samples, r.noise_pct,
				 r.throttled ? "; throttled samples dropped" : "");
		} else {
			warnx("tensor-core ceiling: every sample was taken while the GPU throttled; ceil_tflops 0");
		}
	}
	if (how)
		*how = desc;
	return tflops;
}

static const char *gpu_launch_mode(const struct bench_opts *o) { return o->graph ? "graph" : "stream"; }

const struct backend gpu_backend = {
	"cuda",  attn_kernels,     gpu_open,    gpu_name,        gpu_prepare,
	gpu_run, gpu_ceiling_gbps, gpu_release, gpu_launch_mode, gpu_ceiling_tflops,
	gpu_peaks,
};
