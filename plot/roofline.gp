# plot/roofline.gp - K/V bandwidth of every kernel against the measured read ceiling.
# usage: gnuplot -c plot/roofline.gp OUTDIR TITLE A.csv LABEL_A [B.csv LABEL_B [C.csv LABEL_C]]
#    or: gnuplot -c plot/roofline.gp OUTDIR TITLE @LIST   (up to 8 kernels: LIST is a text file,
#        one FILE<TAB>LABEL a line, labels may hold spaces, blank and # lines skipped; see kernels.gp)
# writes OUTDIR/roofline.png. The ceiling is the first file's ceil_gbps column
# (a property of the GPU and the bytes read, so one kernel's copy is enough).
# A kernel whose label starts with "course " is a reference: thin and dashed.

ME = "roofline.gp"
PLOTDIR = ""; s = ARG0
while (strstrt(s, "/")) { PLOTDIR = PLOTDIR.s[1:strstrt(s, "/")]; s = s[strstrt(s, "/")+1:] }
# `load` empties ARGV, so the arguments are copied before kernels.gp and style.gp are loaded.
NA = ARGC; array AV[9]
do for [i=1:ARGC] { AV[i] = ARGV[i] }
load PLOTDIR."kernels.gp"
load PLOTDIR."style.gp"
@KSTYLE

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
