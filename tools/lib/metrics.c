/* metrics.c - see metrics.h */
#include "metrics.h"

#include <string.h>

int dtype_bytes(enum attn_dtype t) { return t == ATTN_FP16 || t == ATTN_BF16 ? 2 : 0; }

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

double shape_ctx_len(const struct attn_shape *s) { return (double)attn_seq_tokens(s); }

double shape_flops(const struct attn_shape *s)
{
	return 4.0 * s->n_heads * s->d_head * s->n_seqs * shape_ctx_len(s);
}

double shape_kv_tokens(const struct attn_shape *s)
{
	return ((double)s->n_chunks + (double)s->n_groups * s->group_chunks) * s->chunk_size +
	       (double)s->n_seqs * s->suffix_len;
}

double shape_kv_bytes(const struct attn_shape *s)
{
	return shape_kv_tokens(s) * s->n_kv_heads * 2.0 * s->d_head * dtype_bytes(s->dtype);
}

double metrics_kv_gbps(const struct attn_shape *s, double latency_ms)
{
	return shape_kv_bytes(s) / (latency_ms * 1e-3) / 1e9;
}

int peak_bf16_flop_per_clk_sm(int major, int minor)
{
	if (major == 8 && minor == 0)
		return 2048;
	if (major == 9 && minor == 0)
		return 4096;
	return 0;
}

double peak_tflops_bf16(int major, int minor, int sms, double sm_clock_khz)
{
	return (double)sms * sm_clock_khz * 1e3 * peak_bf16_flop_per_clk_sm(major, minor) / 1e12;
}

double peak_gbps_dram(double mem_clock_khz, int bus_bits)
{
	return mem_clock_khz * 1e3 * bus_bits * 2.0 / 8.0 / 1e9;
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
