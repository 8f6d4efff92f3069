# plot/roofline.gp - a roofline: every kernel's achieved TFLOP/s against arithmetic
# intensity, one point per config (row), under the card's two measured ceilings.
# usage: gnuplot -c plot/roofline.gp OUTDIR TITLE A.csv LABEL_A [B.csv LABEL_B [C.csv LABEL_C]]
#    or: gnuplot -c plot/roofline.gp OUTDIR TITLE @LIST   (up to 12 kernels: LIST is a text file,
#        one FILE<TAB>LABEL a line, labels may hold spaces, blank and # lines skipped; see kernels.gp)
# writes OUTDIR/roofline.png (.pdf or .svg with PLOT_FORMAT=pdf|svg), log-log.
#   x: intensity = FLOP per K/V byte = tflops*1e12 / (kv_gbps*1e9) = 1000*tflops/kv_gbps,
#      the row's FLOPs over its distinct K/V bytes (the latency cancels); for one shared
#      prefix it is n_seqs x n_heads/n_kv_heads, the query rows per K/V head.
#   y: tflops.
#   roofs: the measured read ceiling x intensity (ceil_gbps; the largest over the files:
#      the card's read ceiling where the read is large enough to level off) and the flat
#      measured tensor-core ceiling (ceil_tflops), meeting at the ridge. Each is drawn only
#      where a file carries it (> 0): CPU rows, --no-ceiling runs and older CSVs have no
#      ceil_tflops, the course project's CSVs neither ceiling.
# Only tflops and kv_gbps are required, so any result CSV (aggregated or not) plots.
# A kernel whose label starts with "course " is a reference: smaller, lighter points.

ME = "roofline.gp"
PLOTDIR = ""; s = ARG0
while (strstrt(s, "/")) { PLOTDIR = PLOTDIR.s[1:strstrt(s, "/")]; s = s[strstrt(s, "/")+1:] }
# `load` empties ARGV, so the arguments are copied before kernels.gp and style.gp are loaded.
NA = ARGC; array AV[9]
do for [i=1:ARGC] { AV[i] = ARGV[i] }
load PLOTDIR."kernels.gp"
load PLOTDIR."style.gp"
@KSTYLE

NEED = "tflops kv_gbps"
do for [k=1:NK] { f = KF[k]; @CHECK }

AI = "(1e3 * column('tflops') / column('kv_gbps'))"
# The data's span, and the ceilings (0: none).
xlo = 1e300; xhi = -1e300; ylo = 1e300; yhi = -1e300; CG = 0; CT = 0
do for [k=1:NK] {
    # one column at a time: two-column stats fit a line and warn on two rows
    undefine STATS_*
    stats KF[k] using @AI nooutput
    if (!exists("STATS_min")) { exit error KF[k].": no row with tflops and kv_gbps both positive" }
    xlo = (STATS_min < xlo) ? STATS_min : xlo; xhi = (STATS_max > xhi) ? STATS_max : xhi
    stats KF[k] using 'tflops' nooutput
    ylo = (STATS_min < ylo) ? STATS_min : ylo; yhi = (STATS_max > yhi) ? STATS_max : yhi
    if (has(KF[k], "ceil_gbps")) { stats KF[k] using 'ceil_gbps' nooutput; CG = (STATS_max > CG) ? STATS_max : CG }
    if (has(KF[k], "ceil_tflops")) { stats KF[k] using 'ceil_tflops' nooutput; CT = (STATS_max > CT) ? STATS_max : CT }
}
if (!(xlo > 0) || !(ylo > 0)) { exit error "plot/".ME.": tflops and kv_gbps must be positive for a log-log roofline" }
RIDGE = (CG > 0 && CT > 0) ? 1e3 * CT / CG : 0   # intensity where the two roofs meet
# Axes: the data with room around it, the ridge and the roof above the data in view.
X0 = ((RIDGE > 0 && RIDGE < xlo) ? RIDGE : xlo) / 4
X1 = ((RIDGE > xhi) ? RIDGE : xhi) * 4
Y0 = ylo / 4
roof(x) = (CT > 0 && (CG <= 0 || CG * x / 1e3 > CT)) ? CT : CG * x / 1e3
Y1 = ((roof(xhi) > yhi) ? roof(xhi) : yhi) * 2.5

# The roofs as exact segments (datablocks, so no sampling blurs the corner); each
# datablock starts with a header line, as every input here does (columnheaders).
set print $ROOF_BW
print "x,y"
if (CG > 0) { print sprintf("%.9g,%.9g", X0, CG * X0 / 1e3); print sprintf("%.9g,%.9g", (RIDGE > 0 ? RIDGE : X1), CG * (RIDGE > 0 ? RIDGE : X1) / 1e3) }
unset print
set print $ROOF_TC
print "x,y"
if (CT > 0) { print sprintf("%.9g,%.9g", (RIDGE > 0 ? RIDGE : X0), CT); print sprintf("%.9g,%.9g", X1, CT) }
unset print
set style line 101 lc rgb "#444444" lw 1.5 dt solid pt 0    # the tensor-core roof
P_ROOF = ""
if (CG > 0) { P_ROOF = P_ROOF.", $ROOF_BW using 'x':'y' with lines ls 100 title sprintf('measured read ceiling x intensity (%.0f GB/s)', CG)" }
if (CT > 0) { P_ROOF = P_ROOF.", $ROOF_TC using 'x':'y' with lines ls 101 title sprintf('measured tensor-core ceiling (%.0f TFLOP/s, dense bf16)', CT)" }
if (RIDGE > 0) { set label 2 sprintf("ridge %.0f FLOP/B", RIDGE) at RIDGE, CT * 1.35 center textcolor rgb "#444444" }

# log-log, labels 1, 2, 5 per decade on both axes
set logscale x 10
set logscale y 10
set xrange [X0:X1]
set yrange [Y0:Y1]
set offsets 0, 0, 0, 0
set xtics () nomirror
set ytics () nomirror
do for [e=-6:8] { do for [m=1:9] {
    set xtics add ((lab125(m) ? sprintf("%g", m * 10.**e) : "") (m * 10.**e) (lab125(m) ? 0 : 1))
    set ytics add ((lab125(m) ? sprintf("%g", m * 10.**e) : "") (m * 10.**e) (lab125(m) ? 0 : 1))
} }
set xlabel "arithmetic intensity (FLOP per K/V byte = 1000 x tflops / kv_gbps)"
set ylabel "throughput (TFLOP/s)"
SUB = (TITLE eq "") ? "" : "\n".TITLE
set title "Roofline: achieved TFLOP/s under the measured ceilings".SUB

set term @TERM @SINGLE
set output out("roofline")
plot for [k=1:NK] KF[k] using @AI:'tflops' with points title KL[k] lt k ps (course(KL[k]) ? 0.9 : 1.5)@P_ROOF
unset output
