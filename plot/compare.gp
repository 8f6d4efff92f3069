# plot/compare.gp - several kernels' sweeps, one curve per kernel, as six PNGs.
# usage: gnuplot -c plot/compare.gp OUTDIR TITLE A.csv LABEL_A [B.csv LABEL_B [C.csv LABEL_C]]
# writes OUTDIR/{latency,throughput,bandwidth,efficiency,combined,overview}.png
# Kernel k keeps the same colour and point in every figure; in the efficiency
# figure compute is solid/filled and K/V memory dashed/open.

# gnuplot 5.4 passes at most 9 arguments to -c and drops the rest silently, so a
# 4th kernel arrives as an odd count: say so rather than plot 3 of them.
if (ARGC == 9) { exit error "plot/compare.gp: at most 3 kernels per call (gnuplot -c takes at most 9 arguments)" }
if (ARGC < 4 || ARGC % 2) { exit error "usage: gnuplot -c plot/compare.gp OUTDIR TITLE A.csv LABEL_A [B.csv LABEL_B [C.csv LABEL_C]]" }
OUTDIR = ARG1; TITLE = ARG2
PLOTDIR = ""; s = ARG0
while (strstrt(s, "/")) { PLOTDIR = PLOTDIR.s[1:strstrt(s, "/")]; s = s[strstrt(s, "/")+1:] }
# `load` empties ARGV, so the kernel list is copied before style.gp is loaded.
NK = (ARGC - 2) / 2
array KF[NK]; array KL[NK]
do for [k=1:NK] { KF[k] = ARGV[2*k+1]; KL[k] = ARGV[2*k+2] }
load PLOTDIR."style.gp"

do for [k=1:NK] { f = KF[k]; @CHECK }
# A measured ceiling is a property of the GPU, so the first kernel's is enough.
CEIL = has(KF[1], "ceil_gbps") ? ", KF[1] using 'blocks':'ceil_gbps' title 'measured read ceiling' ls 100" : ""

K = "for [k=1:NK] KF[k] using 'blocks':"
P_LAT = "plot ".K."'latency_ms' title KL[k] lt k"
P_TFL = "plot ".K."'tflops' title KL[k] lt k"
P_BW  = "plot ".K."'kv_gbps' title KL[k] lt k".CEIL
P_EFF = "plot ".K."'compute_eff_pct' title KL[k].' compute' lt k, ".K."'kv_mem_eff_pct' title KL[k].' K/V mem' lt k dt 2 pt PT[k]-1"
load PLOTDIR."figures.gp"
