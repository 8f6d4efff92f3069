# plot/compare.gp - several kernels' sweeps, one curve per kernel, as six PNGs.
# usage: gnuplot -c plot/compare.gp OUTDIR TITLE A.csv LABEL_A [B.csv LABEL_B [C.csv LABEL_C]]
#    or: gnuplot -c plot/compare.gp OUTDIR TITLE @LIST   (up to 12 kernels: LIST is a text file,
#        one FILE<TAB>LABEL a line, labels may hold spaces, blank and # lines skipped; see kernels.gp)
# writes OUTDIR/{latency,throughput,bandwidth,efficiency,combined,overview}.png
# (.pdf or .svg with PLOT_FORMAT=pdf|svg); latency carries noise_pct error bars.
# Kernel k keeps the same colour and point in every figure; in the efficiency
# figure compute is solid/filled and K/V memory dashed/open. A kernel whose label
# starts with "course " is a reference: thin and dashed (dotted for K/V memory).

ME = "compare.gp"
PLOTDIR = ""; s = ARG0
while (strstrt(s, "/")) { PLOTDIR = PLOTDIR.s[1:strstrt(s, "/")]; s = s[strstrt(s, "/")+1:] }
# `load` empties ARGV, so the arguments are copied before kernels.gp and style.gp are loaded.
NA = ARGC; array AV[9]
do for [i=1:ARGC] { AV[i] = ARGV[i] }
load PLOTDIR."kernels.gp"
load PLOTDIR."style.gp"
@KSTYLE

do for [k=1:NK] { f = KF[k]; @CHECK }
# A measured ceiling is a property of the GPU, so the first kernel's is enough.
CEIL = has(KF[1], "ceil_gbps") ? ", KF[1] using 'blocks':'ceil_gbps' title 'measured read ceiling' ls 100" : ""

K = "for [k=1:NK] KF[k] using 'blocks':"
array HN[NK]
ALLCPU = 1
do for [k=1:NK] { HN[k] = noise(KF[k]); ALLCPU = ALLCPU && on_cpu(KF[k]) }
P_LAT = "plot ".K."'latency_ms':(lat_err(HN[k])) with yerrorlines title KL[k] lt k"
P_TFL = "plot ".K."'tflops' title KL[k] lt k"
P_BW  = "plot ".K."'kv_gbps' title KL[k] lt k".CEIL
P_EFF = "plot ".K."'compute_eff_pct' title KL[k].' compute' lt k, ".K."'kv_mem_eff_pct' title KL[k].' K/V mem' lt k dt kvdt(k) pt PTO[k]"
# Past 3 kernels two key entries per kernel crowd the figure out: the key names each
# kernel once (its compute curve) and two grey entries say which curve is which metric.
ANYC = 0; do for [k=1:NK] { ANYC = ANYC || course(KL[k]) }
KVT = "K/V memory: dashed".(ANYC ? " (references dotted)" : "").", open point"
MK = "with linespoints lc rgb '#555555' lw 1 ps 1.3"   # thin: dashes show in a short key sample
if (NK > 3) { P_EFF = "plot ".K."'compute_eff_pct' title KL[k] lt k, ".K."'kv_mem_eff_pct' notitle lt k dt kvdt(k) pt PTO[k], " \
                    . "NaN title 'compute: solid, filled point' ".MK." pt 7 dt solid, NaN title KVT ".MK." pt 6 dt 2" }
if (ALLCPU) { P_EFF = NO_EFF }
load PLOTDIR."figures.gp"
