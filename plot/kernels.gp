# plot/kernels.gp - the argument list shared by compare.gp and roofline.gp, in either form:
#   OUTDIR TITLE A.csv LABEL_A [B.csv LABEL_B [C.csv LABEL_C]]   at most 3 kernels
#   OUTDIR TITLE @LIST                                            up to KMAX = 12 kernels
# LIST is a text file, one kernel a line: FILE<TAB>LABEL. The label is everything after
# the first TAB (spaces allowed); surrounding blanks and a trailing CR are dropped, blank
# lines and lines starting with # are skipped. Relative FILEs are taken from the current
# directory, as on the command line.
# Loaded by the template after it sets ME (its name, for messages), NA (its ARGC) and
# AV[1..NA] (its ARGV: inside `load` ARGC and ARGV read empty). Sets OUTDIR, TITLE, NK,
# KF[1..NK] (files) and KL[1..NK] (labels).

KMAX = 12
USAGE = "usage: gnuplot -c plot/".ME." OUTDIR TITLE A.csv LABEL_A [B.csv LABEL_B [C.csv LABEL_C]]\n" \
      . "   or: gnuplot -c plot/".ME." OUTDIR TITLE @LIST    (LIST: one FILE<TAB>LABEL a line, up to ".KMAX." kernels)"
isat(s) = strlen(s) > 0 && s[1:1] eq "@"

if (NA < 3) { exit error USAGE }
OUTDIR = AV[1]; TITLE = AV[2]

if (isat(AV[3])) {
    if (NA > 3) { exit error "plot/".ME.": the @LIST form takes no more arguments after @LIST\n".USAGE }
    LIST = AV[3][2:]
    if (LIST eq "") { exit error "plot/".ME.": no file name after '@'\n".USAGE }
    if (strstrt(LIST, "'")) { exit error "plot/".ME.": ".LIST.": a list path must not contain a single quote" }
    if (system("test -f '".LIST."' && test -r '".LIST."' && echo ok") ne "ok") {
        exit error "plot/".ME.": ".LIST.": cannot read the kernel list"
    }
    # awk normalises the list: one "K<TAB>FILE<TAB>LABEL" line per kernel, or a single
    # "E<TAB>message" line (and nothing after it) for the first malformed line.
    AWK = '{ sub(/\r$/, "") } /^[ \t]*(#|$)/ { next } ' \
        . '{ i = index($0, "\t"); if (!i) { print "E\tline " NR ": no TAB between FILE and LABEL"; exit } ' \
        . '  f = substr($0, 1, i - 1); l = substr($0, i + 1); ' \
        . '  sub(/^[ \t]+/, "", f); sub(/[ \t]+$/, "", f); sub(/^[ \t]+/, "", l); sub(/[ \t]+$/, "", l); ' \
        . '  if (f == "" || l == "") { print "E\tline " NR ": empty FILE or LABEL"; exit } ' \
        . '  print "K\t" f "\t" l }'
    s = system("awk '".AWK."' '".LIST."'")
    NK = 0; array LF[KMAX]; array LL[KMAX]
    while (strlen(s) > 0) {
        i = strstrt(s, "\n"); line = i ? s[1:i-1] : s; s = i ? s[i+1:] : ""
        if (line[1:2] eq "E\t") { exit error "plot/".ME.": ".LIST.": ".line[3:] }
        if (line[1:2] eq "K\t") {
            NK = NK + 1
            if (NK > KMAX) { exit error sprintf("plot/%s: %s: more than %d kernels; split the list over several calls", ME, LIST, KMAX) }
            line = line[3:]; i = strstrt(line, "\t")
            LF[NK] = line[1:i-1]; LL[NK] = line[i+1:]
        }
    }
    if (NK == 0) { exit error "plot/".ME.": ".LIST.": no kernels (one FILE<TAB>LABEL a line)" }
    array KF[NK]; array KL[NK]
    do for [k=1:NK] { KF[k] = LF[k]; KL[k] = LL[k] }
} else {
    # gnuplot 5.4 passes at most 9 arguments to -c and drops the rest silently, so a
    # 4th kernel arrives as an odd count: say so rather than plot 3 of them.
    if (NA == 9) { exit error "plot/".ME.": at most 3 kernels as arguments (gnuplot -c takes at most 9); put up to ".KMAX." in a list and pass @LIST\n".USAGE }
    if (NA < 4 || NA % 2) { exit error USAGE }
    NK = (NA - 2) / 2
    array KF[NK]; array KL[NK]
    do for [k=1:NK] {
        KF[k] = AV[2*k+1]; KL[k] = AV[2*k+2]
        if (isat(KF[k])) { exit error "plot/".ME.": ".KF[k].": the @LIST form takes no other arguments\n".USAGE }
    }
}
