# plot/speedup.gp - each kernel's speed-up over a baseline kernel, from one
# joined CSV (tools/join-all.sh: latency_ms_KERNEL columns side by side).
# usage: gnuplot -c plot/speedup.gp JOINED.csv OUTDIR TITLE XCOL XLABEL BASE FILTER "K1 [K2 ...]"
# writes OUTDIR/speedup.png: latency_ms_BASE / latency_ms_K against XCOL (log x;
# XCOL "config": one labelled point per row, see below),
# one curve per kernel, and the line y = 1 (as fast as the baseline).
# FILTER "" takes every row; "COL=VALUE" only the rows whose COL is VALUE.
# The kernels are one space-separated argument (gnuplot -c passes 9 at most).
# ChunkAttention's and Hydragen's headline plot: the prefix-aware kernels
# against a kernel that reads every sequence's context on its own.
IN = ARG1; OUTDIR = ARG2; TITLE = ARG3; XCOL = ARG4; XLABEL = ARG5; BASE = ARG6; FILTER = ARG7
KLIST = ARG8
NK = words(KLIST)
FCOL = (FILTER eq "") ? "" : FILTER[1:strstrt(FILTER, "=") - 1]
FVAL = (FILTER eq "") ? 0 : real(FILTER[strstrt(FILTER, "=") + 1:])
keep(y) = (FILTER eq "" || column(FCOL) == FVAL) ? y : NaN
PLOTDIR = ""; s = ARG0
while (strstrt(s, "/")) { PLOTDIR = PLOTDIR.s[1:strstrt(s, "/")]; s = s[strstrt(s, "/")+1:] }
load PLOTDIR."style.gp"

set term @TERM @SINGLE
set output out("speedup")
set title "speed-up over ".BASE." (".BASE." latency / kernel latency)".((TITLE eq "") ? "" : "\n".TITLE)
set logscale y 2
set xlabel XLABEL
set ylabel "speed-up over ".BASE." (x)"
set grid
set key outside below
set offsets 0, 0, graph 0.05, graph 0.05
# XCOL "config": one point per row in the file's order (its key order), each
# labelled by its shape: "KV/H " when GQA, the prefix in K tokens, "+GxK" for
# a group level, "+S" for a suffix (the presets whose rows are configs, not a
# blocks grid).  Else XCOL is a numeric column on a log axis.
CS = 64.0
kv(d) = (column("n_kv_heads") == column("n_heads")) ? "" : sprintf("%d/%d ", column("n_kv_heads"), column("n_heads"))
grp(d) = (column("group_chunks") > 0) ? sprintf("+%dx%gK", column("n_groups"), column("group_chunks") * CS / 1024) : ""
sfx(d) = (column("suffix_len") > 0) ? sprintf("+%d", column("suffix_len")) : ""
lab(d) = sprintf("%s%gK%s%s", kv(d), column("n_chunks") * CS / 1024, grp(d), sfx(d))
if (XCOL eq "config") {
    unset logscale x
    set xtics rotate by 60 right font ",9"
    set offsets graph 0.02, graph 0.02, graph 0.05, graph 0.05
    plot for [k=1:NK] IN using 0:(keep(column("latency_ms_".BASE) / column("latency_ms_".word(KLIST, k)))):xticlabels(lab(0)) \
            title word(KLIST, k) lt k, \
         1 title "as fast as ".BASE ls 100
} else {
    set logscale x 2
    plot for [k=1:NK] IN using XCOL:(keep(column("latency_ms_".BASE) / column("latency_ms_".word(KLIST, k)))) \
            title word(KLIST, k) lt k, \
         1 title "as fast as ".BASE ls 100
}
