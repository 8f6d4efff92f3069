# plot/style.gp - the one look shared by every template (sweep, compare, roofline).
# Loaded as `load PLOTDIR."style.gp"`; expects OUTDIR and TITLE to be set.
# Columns are always addressed by header name, so extra columns and any order work.

set datafile separator ','
set datafile columnheaders

# PLOT_FORMAT (environment: png, pdf or svg; default png) picks the terminal;
# sizes are given in pixels at 100 per inch, so a PDF page has the PNG's layout.
# pngcairo draws antialiased text; plain png (libgd) is the fallback on minimal builds.
# noenhanced: kernel names like chunk_attn_tk must not turn "_" into subscripts.
FMT = system("printf %s \"${PLOT_FORMAT:-png}\"")
if (FMT ne "png" && FMT ne "pdf" && FMT ne "svg") { exit error "PLOT_FORMAT '".FMT."': expected png, pdf or svg" }
if (FMT ne "png" && !strstrt(GPVAL_TERMINALS, " ".(FMT eq "pdf" ? "pdfcairo" : "svg")." ")) {
    exit error "PLOT_FORMAT ".FMT.": this gnuplot has no ".(FMT eq "pdf" ? "pdfcairo" : "svg")." terminal"
}
TERM = FMT eq "pdf" ? "pdfcairo noenhanced font 'DejaVu Sans,9' linewidth 1.5" \
     : FMT eq "svg" ? "svg noenhanced font 'DejaVu Sans,12' linewidth 1.5" \
     : strstrt(GPVAL_TERMINALS, " pngcairo ") \
     ? "pngcairo noenhanced font 'DejaVu Sans,12' linewidth 1.5" : "png noenhanced"
sz(w, h) = FMT eq "pdf" ? sprintf("size %.2fin,%.2fin", w / 100., h / 100.) : sprintf("size %d,%d", w, h)
SINGLE = sz(1000, 700)
TALL   = sz(1000, 1000)
QUAD   = sz(1600, 1150)

ignore = system("mkdir -p '".OUTDIR."'")
out(name) = OUTDIR."/".name.".".FMT

# Okabe-Ito colours stay distinct for colour-blind readers and in greyscale prints.
# Each kernel k (up to 12: five kernels, four peers and the course curves fit)
# gets colour LC[k] and its own point PT[k]; PTO[k] is the open (or lighter) variant
# for a second metric of the same kernel. The terminal has only six filled/open shape
# pairs, so kernels 7 and 8 get * and x (with + as variant), and 9-12 reuse the first
# four shapes in four more colours (Tol's muted scheme).
array PT[12]  = [7, 5, 9, 13, 11, 15, 3, 2, 5, 7, 9, 13]
array PTO[12] = [6, 4, 8, 12, 10, 14, 1, 1, 4, 6, 8, 12]
array LC[12]  = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#999999", \
                 "#882255", "#117733", "#DDCC77", "#332288"]
do for [k=1:12] { set linetype k lc rgb LC[k] lw 2 pt PT[k] ps 1.3 dt solid }
set style data linespoints
set style line 100 lc rgb "#444444" lw 1.5 dt 2 pt 0      # measured ceilings

# Reference curves - a label starting with "course " (the course project's results) -
# are drawn thin and dashed with small points, so the kernels under study stay in front.
# kvdt(k) is kernel k's dash for its second metric (efficiency's K/V memory curve):
# dashed, or dotted for a reference.
course(l) = strlen(l) > 7 && l[1:7] eq "course "
kvdt(k) = course(KL[k]) ? 3 : 2
# A key below a plot needs a row per kernel at worst (one column when labels are long),
# so past 3 kernels every panel grows by NK-2 key rows (KEYROW px each; efficiency's key
# then has NK+2 entries) and keeps its plotting height. KSTYLE applies the reference look
# and these sizes once the template has filled KL[1..NK].
KEYROW = 24
KSTYLE = 'do for [k=1:NK] { if (course(KL[k])) { set linetype k lc rgb LC[k] lw 1 pt PT[k] ps 0.9 dt 2 } }; ' \
       . 'if (NK > 3) { XH = KEYROW * (NK - 2); SINGLE = sz(1000, 700 + XH); ' \
       . 'TALL = sz(1000, 1000 + 2 * XH); QUAD = sz(1600, 1150 + 2 * XH) }'

set grid xtics ytics mxtics lt 1 lc rgb "#dddddd" lw 1 dt solid, lt 1 lc rgb "#f0f0f0" lw 1 dt solid
# Keys go under the plot: curves rise to the upper right, but a kernel that
# saturates early or a ceiling line would run under any inside corner.
set key below center horizontal Left reverse nobox samplen 3 spacing 1.2 width 2 height 1 noenhanced

# Tic labels depend on how far the data spans: SPAN sets lo/hi of column COL over
# the input files KF[1..NK] (each template fills KF before it draws).
SPAN = 'lo = 1e300; hi = -1e300; do for [k=1:NK] { stats KF[k] using (column(COL)) nooutput; lo = (STATS_min < lo) ? STATS_min : lo; hi = (STATS_max > hi) ? STATS_max : hi }'

# blocks are powers of two over decades: base-2 log axis labelled 16, 64, 256, 1k,
# 4k, ... (every power of 4, XSTEP = 2), or every power of 2 when the sweep is short.
set logscale x 2
# blocks is the workload's size axis (the seed's grid of one block per head and
# chunk), not every kernel's grid: prefix_stream launches n_heads x splits CTAs.
set xlabel "blocks = n_heads x n_chunks"
kfmt(x) = x >= 2**20 ? sprintf("%dM", x / 2**20) : x >= 1024 ? sprintf("%dk", x / 1024) : sprintf("%d", x)
XTICS = 'COL = "blocks"; @SPAN; XSTEP = (lo > 0 ? hi / lo : 1) < 64 ? 1 : 2; set xtics () nomirror; do for [i=0:30] { set xtics add ((i % XSTEP ? "" : kfmt(2**i)) (2**i) (i % XSTEP ? 1 : 0)) }'
unset x2tics

# Fit the data, not the next round tic (a log axis would grow a whole decade),
# with a margin so end points are not cut in half by the border; axes that
# start at zero get no bottom margin.
set autoscale fix
OFFS = "set offsets graph 0.03, graph 0.03, graph 0.05, graph 0.05; "
LIN0 = "set offsets graph 0.03, graph 0.03, graph 0.05, 0; unset logscale y; set ytics autofreq nomirror; set mytics 2; set yrange [0:*]"
LINY = OFFS."unset logscale y; set ytics autofreq nomirror; set mytics 2; set yrange [*:*]"
# Log y labels 1, 2, 5 per decade: a wide sweep still gets several labels, and
# latency uses it only when it spans at least a decade (LATY, set by figures.gp).
lab125(m) = (m == 1 || m == 2 || m == 5)
LOGY = OFFS.'set logscale y 10; set yrange [*:*]; set ytics () nomirror; do for [k=-5:5] { do for [m=1:9] { set ytics add ((lab125(m) ? sprintf("%g", m * 10.**k) : "") (m * 10.**k) (lab125(m) ? 0 : 1)) } }'
LATY = LOGY

# Per-metric axis setups, used as macros (@LAT) before a plot; SUB is the figure's
# second title line (the GPU/date TITLE on single figures, empty inside multiplots).
LAT = "set key on; set title 'Latency'.SUB; set ylabel 'latency (ms)'; @LATY"
TFL = "set key on; set title 'Throughput'.SUB; set ylabel 'throughput (TFLOP/s)'; ".LIN0
# Bandwidth spans decades from 16 to 65,536 blocks: a log axis when it does (BWY,
# set by figures.gp like LATY).
BWY = LIN0
BW  = "set key on; set title 'K/V read bandwidth'.SUB; set ylabel 'K/V bandwidth (GB/s)'; @BWY"
EFF = "set key on; set title 'Efficiency (% of peak)'.SUB; set ylabel 'efficiency (%)'; ".LIN0

# Column checks before plotting: gnuplot's own message for a missing column is cryptic.
header(f) = system("head -n 1 '".f."' 2>/dev/null | tr -d '\\r'")
has(f, c) = strstrt(",".header(f).",", ",".c.",") > 0
NEED = "blocks latency_ms tflops kv_gbps compute_eff_pct kv_mem_eff_pct"
rows(f) = system("sed -n '2{p;q}' '".f."' 2>/dev/null")
# Error bars: a file's noise_pct (the samples' robust spread) as +- on latency.
noise(f) = has(f, "noise_pct")
lat_err(hasnoise) = hasnoise ? column("latency_ms") * column("noise_pct") / 100 : 0
# The CPU backend has no device peaks: its efficiency curves would mean nothing.
on_cpu(f) = system("awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == \"gpu\") c = i; next } { print (c && substr($c, 1, 3) == \"CPU\") ? 1 : 0; exit }' '".f."' 2>/dev/null") eq "1"
NO_EFF = "set label 1 'no efficiency against device peaks for the CPU backend' at graph 0.5, graph 0.5 center; set yrange [0:100]; plot -1 notitle; unset label 1"
CHECK = 'if (header(f) eq "") { exit error f.": cannot read the CSV header" }; if (rows(f) eq "") { exit error f.": no data rows" }; do for [c in NEED] { if (!has(f, c)) { exit error f.": no column \"".c."\"" } }'
