/* peaks.c - each backend's peaks and the --peaks / --ceilings tables
 * (peaks.h). */
#include "peaks.h"

#include "csv.h"
#include "err.h"
#include "inputs.h"
#include "metrics.h"
#include "num.h"

#include <string.h>

/* One peak of backend b's rows: *v and from[n] hold the device's value and
 * how it was derived (backend peaks(); *v 0: unknown, from then says why,
 * `unknown` the device's reason as the warning words it).  The flag
 * (flag_name) wins when set; else an unknown device value becomes def, the
 * H100 datasheet's, and a GPU says once, here, that the column `eff` is
 * against it. */
static void resolve_peak(const struct backend *b, double *v, char *from, size_t n, double flag,
			 const char *flag_name, const char *unknown, double def, const char *unit,
			 const char *eff)
{
	if (flag > 0) {
		*v = flag;
		snprintf(from, n, "%s", flag_name);
	} else if (!(*v > 0)) {
		*v = def;
		snprintf(from, n, "default (H100 SXM datasheet)%s",
			 b->peaks ? "" : ": the CPU backend has no device peaks");
		if (b->peaks)
			warnx("%s: %s; %s is against %.1f %s (H100 SXM datasheet); %s sets it",
			      b->device_name(), unknown, eff, def, unit, flag_name);
	}
}

void peaks_resolve(const struct backend *b, struct device_peaks *p, double flag_tflops, double flag_gbps)
{
	struct device_peaks d;
	char gbps_unknown[sizeof d.gbps_from + 48];

	memset(&d, 0, sizeof d);
	if (b->peaks)
		b->peaks(&d);
	*p = d;
	snprintf(gbps_unknown, sizeof gbps_unknown, "memory clock or bus width unknown (%s)", d.gbps_from);
	resolve_peak(b, &p->tflops, p->tflops_from, sizeof p->tflops_from, flag_tflops, "--peak-tflops",
		     d.tflops_from, PEAK_TFLOPS_DEFAULT, "TFLOP/s", "compute_eff_pct");
	resolve_peak(b, &p->gbps, p->gbps_from, sizeof p->gbps_from, flag_gbps, "--peak-gbps",
		     gbps_unknown, PEAK_GBPS_DEFAULT, "GB/s", "kv_mem_eff_pct");
}

void peaks_print(FILE *f, const int *used, const struct device_peaks *bp)
{
	static const char *const hdr[] = { "backend", "gpu", "peak_tflops", "peak_gbps", "peak_tflops_from",
					   "peak_gbps_from" };
	char a[48], b[48];
	csv_write_row(f, 6, hdr);
	for (int i = 0; backends[i]; i++)
		if (used[i]) {
			const char *row[] = { backends[i]->name, backends[i]->device_name(),
					      fmt_num(a, bp[i].tflops), fmt_num(b, bp[i].gbps),
					      bp[i].tflops_from, bp[i].gbps_from };
			csv_write_row(f, 6, row);
		}
}

void ceilings_print(FILE *f, const int *used, const struct device_peaks *bp, const struct bench_opts *o,
		    unsigned long seed)
{
	static const char *const hdr[] = { "backend", "gpu", "peak_tflops", "peak_gbps", "ceil_tflops",
					   "ceil_gbps", "ceil_bytes", "ceil_tflops_how", "peak_tflops_from",
					   "peak_gbps_from" };
	char cell[5][48];
	csv_write_row(f, 10, hdr);
	for (int i = 0; backends[i]; i++) {
		if (!used[i])
			continue;
		const struct backend *b = backends[i];
		struct attn_shape s = { .n_seqs = 1, .n_heads = 64, .n_kv_heads = 64, .n_chunks = 128,
					.n_groups = 1, .chunk_size = 64, .d_head = 128, .dtype = ATTN_BF16 };
		struct inputs in;
		const char *why = NULL, *how = "not measured";
		if (b == &cpu_backend)
			s.n_heads = s.n_kv_heads = 32, s.n_chunks = 4;
		if (inputs_make(&in, &s, seed) != 0)
			die(EXIT_INPUT, "--ceilings: inputs of %.1f GB do not fit in host memory",
			    shape_kv_bytes(&s) / 1e9);
		struct backend_config *c = b->prepare(&in, o, &why);
		if (!c)
			die(EXIT_INPUT, "--ceilings: %s", why);
		double gbps = b->ceiling_gbps(c, o);
		double tflops = b->ceiling_tflops ? b->ceiling_tflops(c, o, &how) : 0;
		const char *row[] = { b->name, b->device_name(), fmt_num(cell[0], bp[i].tflops),
				      fmt_num(cell[1], bp[i].gbps), fmt_num(cell[2], tflops),
				      fmt_num(cell[3], gbps), fmt_num(cell[4], shape_kv_bytes(&s)), how,
				      bp[i].tflops_from, bp[i].gbps_from };
		csv_write_row(f, 10, row);
		fflush(f);
		if (b->release)
			b->release(c);
		inputs_free(&in);
	}
}
