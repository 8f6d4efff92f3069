/* metrics.h - the seed-compatible metric formulas (spec.md section 2), once. */
#ifndef METRICS_H
#define METRICS_H

#include "../../kernels/attn.h"

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
/* QK^T + PV matmul FLOPs: blocks * 4 * n_seqs * chunk_size * d_head */
double shape_flops(const struct attn_shape *s);
/* K and V read once: blocks * 2 * chunk_size * d_head * bytes(dtype) */
double shape_kv_bytes(const struct attn_shape *s);

/* kv_gbps alone: K/V bytes over the latency (also the ceiling's GB/s) */
double metrics_kv_gbps(const struct attn_shape *s, double latency_ms);

struct metrics metrics_compute(const struct attn_shape *s, double latency_ms,
			       double peak_tflops, double peak_gbps);

#endif
