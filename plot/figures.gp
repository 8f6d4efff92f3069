# plot/figures.gp - the six figures every template draws, from the plot macros
# P_LAT, P_TFL, P_BW, P_EFF that the calling template defines (one curve per kernel
# or one per metric). Kept apart from style.gp so sweep and compare lay out alike.

@XTICS
COL = "latency_ms"; @SPAN
LATY = (lo > 0 ? hi / lo : 0) >= 10 ? LOGY : LINY   # a log axis needs positive values
COL = "kv_gbps"; @SPAN
BWY = (lo > 0 ? hi / lo : 0) >= 30 ? LOGY : LIN0
SUB = (TITLE eq "") ? "" : "\n".TITLE
set term @TERM @SINGLE
set output out("latency");    @LAT; @P_LAT
set output out("throughput"); @TFL; @P_TFL
set output out("bandwidth");  @BW;  @P_BW
set output out("efficiency"); @EFF; @P_EFF
unset output

# The multiplots carry TITLE once, on top; panel titles stay one line.
SUB = ""
set term @TERM @TALL
set output out("combined")
set multiplot layout 2,1 title TITLE font ",14"
@LAT; @P_LAT
@BW;  @P_BW
unset multiplot
unset output

set term @TERM @QUAD
set output out("overview")
set multiplot layout 2,2 title TITLE font ",14"
@LAT; @P_LAT
@TFL; @P_TFL
@BW;  @P_BW
@EFF; @P_EFF
unset multiplot
unset output
