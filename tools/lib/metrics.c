/* metrics.c - see metrics.h */
#include "metrics.h"

#include <string.h>

int dtype_bytes(enum attn_dtype t) { (void)t; return 2; }

const char *dtype_name(enum attn_dtype t) { return t == ATTN_FP16 ? "fp16" : "bf16"; }

int dtype_parse(const char *s, enum attn_dtype *t)
{
	if (strcmp(s, "bf16") == 0)
		*t = ATTN_BF16;
	else if (strcmp(s, "fp16") == 0)
		*t = ATTN_FP16;
	else
		return -1;
	return 0;
}

double shape_blocks(const struct attn_shape *s) { return (double)s->n_heads * s->n_chunks; }

double shape_flops(const struct attn_shape *s)
{
	return shape_blocks(s) * 4.0 * s->n_seqs * s->chunk_size * s->d_head;
}

double shape_kv_bytes(const struct attn_shape *s)
{
	return shape_blocks(s) * 2.0 * s->chunk_size * s->d_head * dtype_bytes(s->dtype);
}

double metrics_kv_gbps(const struct attn_shape *s, double latency_ms)
{
	return shape_kv_bytes(s) / (latency_ms * 1e-3) / 1e9;
}

struct metrics metrics_compute(const struct attn_shape *s, double latency_ms,
			       double peak_tflops, double peak_gbps)
{
	struct metrics m;
	double sec = latency_ms * 1e-3;

	m.latency_ms = latency_ms;
	m.tflops = shape_flops(s) / sec / 1e12;
	m.compute_eff_pct = 100.0 * m.tflops / peak_tflops;
	m.kv_gbps = metrics_kv_gbps(s, latency_ms);
	m.kv_mem_eff_pct = 100.0 * m.kv_gbps / peak_gbps;
	return m;
}
