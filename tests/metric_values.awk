# tests/metric_values.awk - checks every metric column of run-kernel's CSV
# (read by header name) against the formulas in README.md's "CSV schema":
# each derived value recomputed from latency_ms, the config and the peaks
# (-v peak_tflops=... -v peak_gbps=..., as given to run-kernel).  Prints one
# line per wrong value and exits 1; silent and 0 when every row is right.
BEGIN { FS = "," }
NR == 1 {
	for (i = 1; i <= NF; i++)
		col[$i] = i
	next
}
function v(name) {
	if (!(name in col)) {
		printf "line %d: no column %s\n", NR, name
		bad = 1
		return ""
	}
	return $col[name]
}
# got within 1e-4 of want (the CSV prints 6 significant digits)
function near(name, want,    got) {
	got = v(name)
	if (!(want > 0) || got == "" || got / want - 1 > 1e-4 || 1 - got / want > 1e-4) {
		printf "line %d: %s = %s, the formula gives %.6g\n", NR, name, got, want
		bad = 1
	}
}
function holds(name, ok) {
	if (!ok) {
		printf "line %d: %s = %s\n", NR, name, v(name)
		bad = 1
	}
}
{
	rows++
	sec = v("latency_ms") / 1e3
	blocks = v("n_heads") * v("n_chunks")
	tflops = blocks * 4 * v("n_seqs") * v("chunk_size") * v("d_head") / sec / 1e12
	gbps = blocks * 2 * v("chunk_size") * v("d_head") * 2 / sec / 1e9 # bf16 and fp16: 2 bytes
	holds("latency_ms", sec > 0)
	near("tflops", tflops)
	near("compute_eff_pct", 100 * tflops / peak_tflops)
	near("kv_gbps", gbps)
	near("kv_mem_eff_pct", 100 * gbps / peak_gbps)
	holds("ceil_gbps", v("ceil_gbps") > 0)
	holds("ceil_tflops", v("ceil_tflops") == 0) # the CPU backend has no tensor cores
	near("pct_of_ceiling", 100 * gbps / v("ceil_gbps"))
	holds("rel_err", v("rel_err") ~ /^[0-9.e+-]+$/ && v("rel_err") < 1e-6)
	holds("noise_pct", v("noise_pct") ~ /^[0-9.e+-]+$/ && v("noise_pct") >= 0)
	holds("samples", v("samples") ~ /^[1-9][0-9]*$/)
	holds("gpu", v("gpu") ~ /^CPU /)
}
END {
	if (!rows) {
		print "no rows"
		bad = 1
	}
	exit bad
}
