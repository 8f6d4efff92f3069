# plot/speedup.gp - each kernel's speed-up over a baseline kernel, from one
# joined CSV (tools/join-all.sh: latency_ms_KERNEL columns side by side).
# usage: gnuplot -c plot/speedup.gp JOINED.csv OUTDIR TITLE XCOL XLABEL BASE K1 [K2 ... K5]
# writes OUTDIR/speedup.png: latency_ms_BASE / latency_ms_K against XCOL (log x),
# one curve per kernel, and the line y = 1 (as fast as the baseline).
# ChunkAttention's and Hydragen's headline plot: the prefix-aware kernels
# against a kernel that reads every sequence's context on its own.
IN = ARG1; OUTDIR = ARG2; TITLE = ARG3; XCOL = ARG4; XLABEL = ARG5; BASE = ARG6
NK = ARGC - 6
array KN[5]
do for [k=1:NK] { KN[k] = value("ARG".(k + 6)) }
PLOTDIR = ""; s = ARG0
while (strstrt(s, "/")) { PLOTDIR = PLOTDIR.s[1:strstrt(s, "/")]; s = s[strstrt(s, "/")+1:] }
load PLOTDIR."style.gp"

set term @TERM @SINGLE
set output out("speedup")
set title "speed-up over ".BASE." (".BASE." latency / kernel latency)".((TITLE eq "") ? "" : "\n".TITLE)
set logscale x 2
set logscale y 2
set xlabel XLABEL
set ylabel "speed-up over ".BASE." (x)"
set grid
set key outside below
plot for [k=1:NK] IN using XCOL:(column("latency_ms_".BASE) / column("latency_ms_".KN[k])) \
        title KN[k] lt k, \
     1 title "as fast as ".BASE ls 100
