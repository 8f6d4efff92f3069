# plot/roofline.gp - K/V bandwidth of every kernel against the measured read ceiling.
# usage: gnuplot -c plot/roofline.gp OUTDIR TITLE A.csv LABEL_A [B.csv LABEL_B [C.csv LABEL_C]]
# writes OUTDIR/roofline.png. The ceiling is the first file's ceil_gbps column
# (a property of the GPU and the bytes read, so one kernel's copy is enough).

# gnuplot 5.4 passes at most 9 arguments to -c and drops the rest silently, so a
# 4th kernel arrives as an odd count: say so rather than plot 3 of them.
if (ARGC == 9) { exit error "plot/roofline.gp: at most 3 kernels per call (gnuplot -c takes at most 9 arguments)" }
if (ARGC < 4 || ARGC % 2) { exit error "usage: gnuplot -c plot/roofline.gp OUTDIR TITLE A.csv LABEL_A [B.csv LABEL_B [C.csv LABEL_C]]" }
OUTDIR = ARG1; TITLE = ARG2
PLOTDIR = ""; s = ARG0
while (strstrt(s, "/")) { PLOTDIR = PLOTDIR.s[1:strstrt(s, "/")]; s = s[strstrt(s, "/")+1:] }
# `load` empties ARGV, so the kernel list is copied before style.gp is loaded.
NK = (ARGC - 2) / 2
array KF[NK]; array KL[NK]
do for [k=1:NK] { KF[k] = ARGV[2*k+1]; KL[k] = ARGV[2*k+2] }
load PLOTDIR."style.gp"

NEED = "blocks kv_gbps"
do for [k=1:NK] { f = KF[k]; @CHECK }
NEED = "ceil_gbps"; f = KF[1]; @CHECK

@XTICS
SUB = (TITLE eq "") ? "" : "\n".TITLE
set term @TERM @SINGLE
set output out("roofline")
@BW
set title "K/V read bandwidth vs measured ceiling".SUB
plot for [k=1:NK] KF[k] using 'blocks':'kv_gbps' title KL[k] lt k, \
     KF[1] using 'blocks':'ceil_gbps' title 'measured read ceiling' ls 100
unset output
