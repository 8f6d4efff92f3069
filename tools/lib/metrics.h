/* metrics.h - the metric formulas, once.  For the seed's workload (one
 * prefix shared by all, n_kv_heads = n_heads) they equal the course
 * project's own columns (checked by the unit tests on its CSVs). */
#ifndef METRICS_H
#define METRICS_H

#include "../../kernels/attn.h"

/* The peaks when neither the device nor a flag gives them: the CPU
 * backend, a GPU of a compute capability peak_bf16_flop_per_clk_sm() does
 * not know. */
#define PEAK_TFLOPS_DEFAULT 989.0   /* H100 SXM bf16 dense, datasheet */
#define PEAK_GBPS_DEFAULT 3350.0    /* H100 SXM HBM3, datasheet */

struct metrics {
	double latency_ms, tflops, compute_eff_pct, kv_gbps, kv_mem_eff_pct;
};

int dtype_bytes(enum attn_dtype t);
const char *dtype_name(enum attn_dtype t);
/* "bf16"/"fp16" -> 0 and *t; else -1 */
int dtype_parse(const char *s, enum attn_dtype *t);

/* blocks = n_heads * n_chunks */
double shape_blocks(const struct attn_shape *s);
/* tokens of one sequence's context (every sequence has the same count) */
double shape_ctx_len(const struct attn_shape *s);
/* QK^T + PV FLOPs: 4 * n_heads * d_head * sum over sequences of ctx_len */
double shape_flops(const struct attn_shape *s);
/* distinct tokens in the pool: the common prefix, each group's chunks and
 * each sequence's suffix, each once */
double shape_kv_tokens(const struct attn_shape *s);
/* K and V of the distinct tokens, each read once - the least any kernel
 * must read: kv_tokens * n_kv_heads * 2 * d_head * bytes(dtype) */
double shape_kv_bytes(const struct attn_shape *s);

/* kv_gbps alone: K/V bytes over the latency (also the ceiling's GB/s) */
double metrics_kv_gbps(const struct attn_shape *s, double latency_ms);

/* Dense bf16 tensor-core FLOPs per clock per SM (fp32 accumulation) of
 * compute capability major.minor, from NVIDIA's whitepapers: sm_80 (A100)
 * 1024 dense FP16/BF16 FMA/clk/SM = 2048 FLOP (312 TFLOP/s = 108 SMs x
 * 1410 MHz x 2048); sm_90 (H100, H200, GH200) twice that, 4096 FLOP (989.4
 * TFLOP/s = 132 SMs x 1830 MHz x 4096).  0 for any other: the consumer
 * parts of one major version differ (sm_86/sm_89 GeForce run fp32
 * accumulation at half the rate of their workstation siblings), so they
 * are not guessed. */
int peak_bf16_flop_per_clk_sm(int major, int minor);
/* sms x sm_clock x peak_bf16_flop_per_clk_sm() in TFLOP/s; 0 when unknown */
double peak_tflops_bf16(int major, int minor, int sms, double sm_clock_khz);
/* DRAM bandwidth in GB/s: memory clock x bus width x 2 (double data rate)
 * / 8 bits; 0 when either is unknown (0) */
double peak_gbps_dram(double mem_clock_khz, int bus_bits);

struct metrics metrics_compute(const struct attn_shape *s, double latency_ms,
			       double peak_tflops, double peak_gbps);

#endif
