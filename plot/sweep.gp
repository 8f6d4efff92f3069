# plot/sweep.gp - one kernel's sweep (one row per blocks value) as six PNGs.
# usage: gnuplot -c plot/sweep.gp IN.csv OUTDIR [TITLE]
# writes OUTDIR/{latency,throughput,bandwidth,efficiency,combined,overview}.png
# (.pdf or .svg with PLOT_FORMAT=pdf|svg); latency carries noise_pct error bars.
# TITLE carries what the CSV can't give gnuplot easily (GPU, date, n_seqs);
# without it the file's base name is the title.

if (ARGC < 2) { exit error "usage: gnuplot -c plot/sweep.gp IN.csv OUTDIR [TITLE]" }
IN = ARG1; OUTDIR = ARG2
base = IN; while (strstrt(base, "/")) { base = base[strstrt(base, "/")+1:] }
TITLE = (ARGC >= 3) ? ARG3 : base
# ARG0 is this script's path: style.gp and figures.gp live beside it.
PLOTDIR = ""; s = ARG0
while (strstrt(s, "/")) { PLOTDIR = PLOTDIR.s[1:strstrt(s, "/")]; s = s[strstrt(s, "/")+1:] }
load PLOTDIR."style.gp"

NK = 1; array KF[1] = [IN]
f = IN; @CHECK
# A measured bandwidth ceiling, when the sweep carries one, is the bar to read kv_gbps against.
CEIL = has(IN, "ceil_gbps") ? ", IN using 'blocks':'ceil_gbps' title 'measured read ceiling' ls 100" : ""

# One curve needs no key: it would only repeat the axis label.
HN = noise(IN)
P_LAT = "unset key; plot IN using 'blocks':'latency_ms':(lat_err(HN)) with yerrorlines notitle lt 1"
P_TFL = "unset key; plot IN using 'blocks':'tflops' notitle lt 1"
P_BW  = (CEIL eq "" ? "unset key; " : "")."plot IN using 'blocks':'kv_gbps' title 'K/V bandwidth' lt 1".CEIL
P_EFF = on_cpu(IN) ? NO_EFF : "plot IN using 'blocks':'compute_eff_pct' title 'compute (of peak TFLOP/s)' lt 1, IN using 'blocks':'kv_mem_eff_pct' title 'K/V memory (of peak GB/s)' lt 2"
load PLOTDIR."figures.gp"
