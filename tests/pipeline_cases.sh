# tests/pipeline_cases.sh - the tools composed as users compose them.
# Sourced by run_tests.sh (TOOLS_BIN, COURSE, T_ROOT, check/t set).

P=$T_ROOT/pipeline
mkdir -p "$P"

# The course project's CSVs aggregate, join and plot unchanged.
for n in 32 64; do
	if [ $n = 32 ]; then
		tk=$COURSE/n_seqs32/chunk_attn_tk__sweep_kv_4warp.csv
		nat=$COURSE/n_seqs32/chunk_attn_native__sweep_native_kernel_only.csv
	else
		tk=$COURSE/n_seqs64/chunk_attn_tk__sweep.csv
		nat=$COURSE/n_seqs64/chunk_attn_kernel_only__sweep_chunk_first.csv
	fi
	check "course n_seqs=$n: aggregate" "agg-blocks -o $P/tk$n.csv $tk && agg-blocks -o $P/nat$n.csv $nat"
	check "course n_seqs=$n: join" "csv-join -k blocks --suffixes tk,native -o $P/join$n.csv $P/tk$n.csv $P/nat$n.csv 2>/dev/null &&
		head -n1 $P/join$n.csv | grep -q latency_ms_tk,.*latency_ms_native"
	check "course n_seqs=$n: compare plots" "gnuplot -c plot/compare.gp $P/cmp$n 'course H100, n_seqs=$n' $P/tk$n.csv 'TK' $P/nat$n.csv 'native' &&
		for f in latency throughput bandwidth efficiency combined overview; do test -s $P/cmp$n/\$f.png; done"
	check "course n_seqs=$n: sweep plots" "gnuplot -c plot/sweep.gp $P/tk$n.csv $P/sweep$n 'course TK' &&
		for f in latency throughput bandwidth efficiency combined overview; do test -s $P/sweep$n/\$f.png; done"
done
check "pipe: gen-configs | run-kernel | agg-blocks" \
	"gen-configs --pairs 2x2,1x4,4x1 --n-seqs 5 | run-kernel -q -k ref --iters 2 | agg-blocks > $P/pipe.csv &&
	 test \$(wc -l < $P/pipe.csv) = 2 && test \$(csvcol n_heads $P/pipe.csv) = 2.33333"

check "course n_seqs=64: make compare answers 'how much faster' in one table" \
	"make -s compare A=$P/nat64.csv B=$P/tk64.csv > $P/compare.txt &&
	 tail -n1 $P/compare.txt | grep -q '^8 configs matched: geometric-mean ratio B/A 0.6229; 8 FAST, 0 SLOW, 0 SAME; 0 only in A, 4 only in B$' &&
	 head -n1 $P/compare.txt | grep -q 'latency_ms_a *latency_ms_b'"
check "a speed-up figure from compare-runs output" \
	"compare-runs -o $P/cmp.csv $P/nat64.csv $P/tk64.csv 2> /dev/null && gnuplot -c plot/speedup.gp $P/cmp.csv $P/cmpfig 'course' blocks blocks a '' b &&
	 test -s $P/cmpfig/speedup.png"
check "make compare without A/B is a usage error" "! make -s compare A=x 2> $P/compare.err && grep -q '^usage: make compare A=OLD.csv B=NEW.csv' $P/compare.err"
check "PLOT_FORMAT=pdf and svg: every figure in that format" \
	"PLOT_FORMAT=pdf gnuplot -c plot/sweep.gp $P/tk64.csv $P/pdf 'course TK' && PLOT_FORMAT=svg gnuplot -c plot/compare.gp $P/svg 'x' $P/tk64.csv TK $P/nat64.csv native &&
	 for f in latency throughput bandwidth efficiency combined overview; do test -s $P/pdf/\$f.pdf && test -s $P/svg/\$f.svg || exit 1; done &&
	 head -c 5 $P/pdf/latency.pdf | grep -q '%PDF' && ! ls $P/pdf | grep -q png"
# The roofline (plot/roofline.gp): points at 1000 x tflops / kv_gbps, under the read roof
# (the largest ceil_gbps x intensity) and the flat tensor-core roof (ceil_tflops), which
# meet at the ridge 1000 x 930 / 4400 = 211 FLOP/B; a CSV without ceilings (the course
# project's) gets points only. SVG text says what was drawn.
check "roofline: TFLOP/s against intensity under both measured ceilings (png, pdf, svg)" \
	"printf 'n_seqs,kernel,tflops,kv_gbps,ceil_gbps,ceil_tflops\n32,a,100,3000,4400,930\n1024,a,700,700,4300,930\n' > $P/roof.csv &&
	 gnuplot -c plot/roofline.gp $P/roof 'test' $P/roof.csv a $P/tk64.csv 'course TK' && test -s $P/roof/roofline.png &&
	 PLOT_FORMAT=pdf gnuplot -c plot/roofline.gp $P/roofpdf '' $P/roof.csv a && head -c 5 $P/roofpdf/roofline.pdf | grep -q '%PDF' &&
	 PLOT_FORMAT=svg gnuplot -c plot/roofline.gp $P/roofsvg 'test' $P/roof.csv a && f=$P/roofsvg/roofline.svg &&
	 grep -q 'measured read ceiling x intensity (4400 GB/s)' \$f && grep -q 'measured tensor-core ceiling (930 TFLOP/s' \$f &&
	 grep -q 'ridge 211 FLOP/B' \$f && grep -q 'FLOP per K/V byte' \$f &&
	 PLOT_FORMAT=svg gnuplot -c plot/roofline.gp $P/roofsvg2 '' $P/tk64.csv TK && ! grep -q 'read ceiling x\\|tensor-core ceiling (' $P/roofsvg2/roofline.svg"
check "roofline: rows without a positive rate are refused by name" \
	"printf 'tflops,kv_gbps\n1,0\n' > $P/roof0.csv && ! gnuplot -c plot/roofline.gp $P/roof0 '' $P/roof0.csv z 2> $P/roof0.err &&
	 grep -q 'roof0.csv: no row with tflops and kv_gbps both positive' $P/roof0.err && test ! -e $P/roof0/roofline.png"
check "PLOT_FORMAT=jpg is refused" "! PLOT_FORMAT=jpg gnuplot -c plot/sweep.gp $P/tk64.csv $P/jpg x 2> $P/jpg.err && grep -q \"PLOT_FORMAT 'jpg': expected png, pdf or svg\" $P/jpg.err"
check "speed-up figures over paged from joined CSVs (plot/speedup.gp)" \
	"printf 'blocks,latency_ms_paged,latency_ms_tk,latency_ms_native\n16,2,1,4\n64,8,2,4\n256,32,4,8\n' > $P/joined.csv &&
	 gnuplot -c plot/speedup.gp $P/joined.csv $P/speedup 'test' blocks blocks paged '' 'native tk' && test -s $P/speedup/speedup.png &&
	 gnuplot -c plot/speedup.gp $P/joined.csv $P/speedup-f 'test' blocks blocks paged 'blocks=64' 'tk' && test -s $P/speedup-f/speedup.png"
check "speed-up figure by config: one labelled point per row (GQA, group level, suffix)" \
	"printf 'n_seqs,n_heads,n_kv_heads,n_chunks,n_groups,group_chunks,suffix_len,latency_ms_paged,latency_ms_hydragen\n64,32,8,32,1,0,0,2,1\n64,32,8,32,4,16,128,4,1\n64,8,8,128,1,0,63,6,2\n' > $P/joined-cfg.csv &&
	 PLOT_FORMAT=svg gnuplot -c plot/speedup.gp $P/joined-cfg.csv $P/speedup-cfg 'test' config config paged '' 'hydragen' &&
	 f=$P/speedup-cfg/speedup.svg && grep -q '>8/32 2K<' \$f && grep -q '>8/32 2K+4x1K+128<' \$f && grep -q '>8K+63<' \$f"

# make results with no GPU: ref on the quick preset, CSVs and figures.
R=$P/results
check "make results (CPU) writes CSVs, provenance and figures" \
	"make -s results RESULTS=$R RESULTS_NAME=cpu N_SEQS='8 32' RUN_FLAGS='--iters 3 --max-time 0.5' &&
	 for f in configs-n8.csv ref-n8.sweep.csv ref-n8.agg.csv joined-n32.csv provenance.txt plots/ref-n32/overview.png plots/compare-n8/overview.png plots/roofline-n32/roofline.png; do test -s $R/\$f || { echo missing \$f; exit 1; }; done &&
	 test \$(wc -l < $R/ref-n32.sweep.csv) = 12 && grep -q '^command: make results' $R/merge.txt &&
	 grep -q '^sweep: ref-n8\$' $R/provenance.txt && grep -q '^  command: .*run-kernel -k ref' $R/provenance.txt && ! grep -q '^command:' $R/provenance.txt &&
	 grep -q '^  peaks: cpu,CPU.*,989,3350,default (H100 SXM datasheet)' $R/provenance.txt"
check "make results again: nothing to redo" \
	"make -q RESULTS=$R RESULTS_NAME=cpu N_SEQS='8 32' RUN_FLAGS='--iters 3 --max-time 0.5' $R/plots.stamp"
check "make results: a deleted sweep is measured again" \
	"mv $R/ref-n8.sweep.csv $R/ref-n8.sweep.keep && ! make -q RESULTS=$R RESULTS_NAME=cpu N_SEQS='8 32' RUN_FLAGS='--iters 3 --max-time 0.5' $R/plots.stamp;
	 rc=\$?; mv $R/ref-n8.sweep.keep $R/ref-n8.sweep.csv; touch -r $R/ref-n8.agg.csv $R/ref-n8.sweep.csv; exit \$rc"
check "make results: a new N_SEQS value is measured" \
	"! make -q RESULTS=$R RESULTS_NAME=cpu N_SEQS='8 16 32' RUN_FLAGS='--iters 3 --max-time 0.5' $R/plots.stamp"
check "make results: a CSV without its run's record (a committed one) is measured" \
	"mv $R/ref-n8.prov.txt $R/ref-n8.prov.keep && ! make -q RESULTS=$R RESULTS_NAME=cpu N_SEQS='8 32' RUN_FLAGS='--iters 3 --max-time 0.5' $R/ref-n8.sweep.csv $R/ref-n8.prov.txt;
	 rc=\$?; mv $R/ref-n8.prov.keep $R/ref-n8.prov.txt; exit \$rc"
check "results folders are named by every setting that is not the default" \
	"test \"\$(make -s results-dir RESULTS_NAME=h100)\" = results/h100 &&
	 test \"\$(make -s results-dir RESULTS_NAME=h100 PRESET=quick)\" = results/h100-quick &&
	 test \"\$(make -s results-dir RESULTS_NAME=h100 PRESET=gqa DTYPE=fp16 RUN_FLAGS='--l2 hot')\" = results/h100-gqa-fp16-l2-hot &&
	 test \"\$(make -s results-dir RESULTS_NAME=cpu)\" = results/cpu && test \"\$(make -s results-dir RESULTS_NAME=cpu PRESET=seed)\" = results/cpu-seed"
check "make -n leaves settings.txt alone" \
	"cp $R/settings.txt $R/settings.keep && make -n RESULTS=$R RESULTS_NAME=cpu N_SEQS='8 32' RUN_FLAGS='--iters 9' results > /dev/null &&
	 cmp $R/settings.txt $R/settings.keep && rm $R/settings.keep"
check "make results: a changed setting re-runs the sweeps" \
	"! make -q RESULTS=$R RESULTS_NAME=cpu N_SEQS='8 32' RUN_FLAGS='--iters 4 --max-time 0.5' $R/plots.stamp"
check "make plots redraws from CSVs" \
	"rm -rf $R/plots && make -s plots RESULTS_DIRS=$R && test -s $R/plots/compare-n32/overview.png"
# a peer that failed some configs (PEER-nN.failed.txt) stays out of the
# figures (its blocks points would average other shapes), with one line
check "make plots: a peer with failed configs is left out of the figures, said on stderr" \
	"cp $R/ref-n32.agg.csv $R/peerx-n32.agg.csv && echo 'run-peer: x:3: peerx: failed' > $R/peerx-n32.failed.txt &&
	 make -s plots RESULTS_DIRS=$R 2> $P/plots-peer.err; rc=\$?; rm -f $R/peerx-n32.agg.csv $R/peerx-n32.failed.txt;
	 test \$rc = 0 && grep -qx 'draw-plots: peerx-n32 left out of the figures: 1 config(s) failed (peerx-n32.failed.txt)' $P/plots-peer.err &&
	 test ! -e $R/plots/peerx-n32 && test -s $R/plots/compare-n32/overview.png"
# make slurm passes on only what the user set: a login node's CPU defaults
# (KERNELS=ref, PRESET=quick) must not reach the GPU jobs.
check "make slurm passes the user's settings, not the CPU defaults" \
	"make -n slurm KERNELS=tk N_SEQS=64 | grep -qx \"jobs/submit.sh KERNELS='tk' N_SEQS='64' *\" &&
	 make -n slurm | grep -qx 'jobs/submit.sh *'"
check "make plots: a killed run's plots.tmp folder is removed, plots/ is 0755 (umask 022)" \
	"mkdir -p $R/plots.tmp.\$(hostname).2147483646 && touch $R/plots.tmp.\$(hostname).2147483646/overview.png &&
	 mkdir -p $R/plots.tmp.\$(hostname).\$\$ && (umask 022 && make -s plots RESULTS_DIRS=$R > /dev/null) &&
	 test \"\$(stat -c %a $R/plots)\" = 755 && test \$(ls -d $R/plots.tmp.* | wc -l) = 1 && rmdir $R/plots.tmp.\$(hostname).\$\$"
# a sweep merged beside the join (not in joined-nN.csv) that refused some
# configs stays out of the speed-up figure, not its configs: the kernels of
# the join and a complete sweep beside it are drawn
D=$P/results-refx
check "draw-plots: a sweep beside the join with refused configs is left out of the speed-up figure, the rest drawn" \
	"rm -rf $D && mkdir -p $D && cp $R/provenance.txt $D/ &&
	 for k in ref paged extra refx; do sed \"s/,ref,/,\$k,/\" $R/ref-n32.agg.csv > $D/\$k-n32.agg.csv; done &&
	 echo 'run-kernel: x:3: refx: refused' > $D/refx-n32.refused.txt &&
	 tools/join-all.sh bin/csv-join blocks $D/joined-n32.csv $D/ref-n32.agg.csv $D/paged-n32.agg.csv &&
	 tools/draw-plots.sh $D 2> $P/refx.err &&
	 grep -qx 'draw-plots: refx-n32 left out of the speed-up figure: 1 config(s) refused (refx-n32.refused.txt)' $P/refx.err &&
	 test \$(grep -c '^draw-plots:' $P/refx.err) = 1 && test -s $D/plots/speedup-n32/speedup.png && test -s $D/plots/refx-n32/overview.png"
# Two makes at once in one folder take turns (flock): both succeed, and the
# folder holds one dtype, the one settings.txt names.
R2=$P/results-two
check "two makes in one results folder: serialized, one dtype" \
	"mk() { make -s sweeps RESULTS=$R2 RESULTS_NAME=cpu N_SEQS=8 DTYPE=\$1 RUN_FLAGS='--iters 2 --min-time 0 --max-time 0.1' > /dev/null; };
	 mk bf16 & mk fp16; rc=\$?; wait \$! && test \$rc = 0 &&
	 want=\$(sed -n 's/.*DTYPE=\\([a-z0-9]*\\).*/\\1/p' $R2/settings.txt) &&
	 test \"\$(csvcol dtype $R2/ref-n8.sweep.csv | sort -u)\" = \$want && test \"\$(csvcol dtype $R2/configs-n8.csv | sort -u)\" = \$want &&
	 grep -q \"DTYPE=\$want\" $R2/provenance.txt && ! ls $R2 | grep -q tmp"
# A sweep killed mid-way (Ctrl-C, scancel, a time limit) resumes from its last finished
# config: the rows of OUT.partial are kept as they were, the rest measured, OUT whole.
K=$P/resume
mkdir -p $K
check "a killed sweep resumes from its last finished row" \
	"gen-configs --preset quick --n-seqs 16 -o $K/c.csv && F='--iters 20 --min-iters 20 --min-time 0.3 --max-time 0.5' &&
	 { run-kernel -q -k ref \$F -o $K/s.csv $K/c.csv 2> /dev/null & p=\$!; } &&
	 n=0; until grep -q '^#done 3\$' $K/s.csv.partial 2> /dev/null || [ \$n -ge 600 ]; do sleep 0.05; n=\$((n + 1)); done;
	 kill -TERM \$p; wait \$p; test ! -e $K/s.csv && grep -v '^#' $K/s.csv.partial | head -n 3 > $K/kept &&
	 run-kernel -q -k ref \$F -o $K/s.csv $K/c.csv 2> $K/err && grep -q 'resuming after [3-9] finished config' $K/err &&
	 test \$(wc -l < $K/s.csv) = 12 && sed -n 2,4p $K/s.csv | cmp - $K/kept && test ! -e $K/s.csv.partial"
check "a partial file of other settings is not resumed" \
	"printf '#stamp -k ref --seed 9 inputs 0\n1,2\n#done 1\n' > $K/s2.csv.partial &&
	 run-kernel -q -k ref --iters 2 --max-time 0.1 -o $K/s2.csv $K/c.csv 2> $K/err2 && grep -q 'starting afresh' $K/err2 &&
	 test \$(wc -l < $K/s2.csv) = 12 && ! grep -q '^1,2\$' $K/s2.csv && test ! -e $K/s2.csv.partial"
check "no temp files left in results" "! ls $R | grep -q tmp"

# The journal keeps the rows a config did not write ("#note TAG LINE"): a resumed run counts
# them (exit 3) and lists a refused one in --refusals FILE as a whole run would. ref refuses no
# shape, so a refusal by a GPU kernel's check() stands in the journal of a killed run: config
# 2's row made a refused one, then a failed one.
check "a killed sweep's journal: a refused row stays refused when it resumes (exit 3, --refusals)" \
	"F='--iters 20 --min-iters 20 --min-time 0.3 --max-time 0.5' &&
	 { run-kernel -q -k ref \$F --refusals $K/r.txt -o $K/s3.csv $K/c.csv 2> /dev/null & p=\$!; } &&
	 n=0; until grep -q '^#done 3\$' $K/s3.csv.partial 2> /dev/null || [ \$n -ge 600 ]; do sleep 0.05; n=\$((n + 1)); done;
	 kill -TERM \$p; wait \$p; test ! -e $K/s3.csv && test ! -e $K/r.txt && sed -n 1,7p $K/s3.csv.partial > $K/journal &&
	 line='run-kernel: $K/c.csv:3: stand-in: a shape it does not run; row skipped' &&
	 awk -v l=\"\$line\" 'NR == 4 { print \"#note refused \" l; next } { print }' $K/journal > $K/s3.csv.partial &&
	 { run-kernel -q -k ref \$F --refusals $K/r.txt -o $K/s3.csv $K/c.csv 2> $K/err3; test \$? = 3; } &&
	 test \"\$(cat $K/r.txt)\" = \"\$line\" && test \$(wc -l < $K/s3.csv) = 11 && test ! -e $K/s3.csv.partial &&
	 grep -qxF \"\$line\" $K/err3 && tail -n1 $K/err3 | grep -qxF 'run-kernel: 1 row(s) refused by the kernel: shapes it does not run (see above)' &&
	 awk -v l='run-kernel: $K/c.csv:3: ref FAILED validation; row not written' 'NR == 4 { print \"#note failed \" l; next } { print }' $K/journal > $K/s3.csv.partial &&
	 { run-kernel -q -k ref \$F --refusals $K/r.txt -o $K/s3.csv $K/c.csv 2> $K/err4; test \$? = 3; } && test ! -e $K/r.txt &&
	 grep -qF 'c.csv:3: ref FAILED validation; row not written' $K/err4 && tail -n1 $K/err4 | grep -qF '1 row(s) failed or were skipped'"

# tools/keep-rows.sh counts data rows, not lines: a configs file whose last line has no
# newline (3 rows: 1 measured, 1 refused, 1 failed) must not be kept; one with a trailing
# empty line (2 rows: 1 measured, 1 refused) must be.
KR=$P/keep-rows
mkdir -p $KR
check "keep-rows.sh: rows, not lines (no final newline: a failed row still fails; a trailing empty line is no row)" "
	printf 'n_heads,n_chunks\n1,1\n1,2\n1,3' > $KR/c3.csv && printf 'n_heads,n_chunks\n1,1\n' > $KR/s.sweep.csv &&
	printf 'x:3: k: no; row skipped\n' > $KR/s.refused.txt && echo rec > $KR/rec &&
	{ $ROOT/tools/keep-rows.sh refused test 3 $KR/c3.csv $KR/s.sweep.csv $KR/rec 2> /dev/null; test \$? = 3; } &&
	test ! -e $KR/rec && test ! -e $KR/s.refused.txt &&
	printf 'n_heads,n_chunks\n1,1\n1,2\n\n' > $KR/c2.csv && printf 'x:3: k: no; row skipped\n' > $KR/s.refused.txt &&
	echo rec > $KR/rec && $ROOT/tools/keep-rows.sh refused test 3 $KR/c2.csv $KR/s.sweep.csv $KR/rec 2> /dev/null &&
	grep -qxF 'refused_rows: 1 of 2 (the kernel does not run them: s.refused.txt says why)' $KR/rec"

check "run-kernel --refusals: a FIFO named there is the user's, never removed when nothing is refused" "
	mkfifo $KR/fifo && printf 'n_heads,n_chunks\n1,1\n' | run-kernel -q -k ref --iters 1 --refusals $KR/fifo > /dev/null && test -p $KR/fifo"

check "run-kernel: --refusals and -o naming one file by two paths is a usage error (new or existing file)" "
	cd $KR && printf 'n_heads,n_chunks\n1,1\n' > c1.csv &&
	{ run-kernel -q -k ref --iters 1 -o new.csv --refusals ./new.csv c1.csv 2> /dev/null; test \$? = 2; } && test ! -e new.csv &&
	: > old.csv && ln -s old.csv link.csv &&
	{ run-kernel -q -k ref --iters 1 -o old.csv --refusals link.csv c1.csv 2> /dev/null; test \$? = 2; }"

# make's kernel sweep rule with a stand-in for run-kernel (RUN_KERNEL=): a kernel that runs
# the single-prefix rows only (the real run-kernel's ref on them), its check() refusing the
# rest as a kernel's check() refuses a form it does not run. Exit 3 with every row measured or refused keeps
# the sweep, the refused rows listed in KERNEL-nN.refused.txt and counted in the record; a
# failed row beside them, no row measured or a crash leave no file.
cat > "$T_ROOT/kernel-stub" <<'STUB'
#!/bin/bash
# STUB=fail: the last row not run failed validation instead; none: every row refused; crash: exit 1
args=() refusals='' in=${!#} t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
while [ $# -gt 1 ]; do case $1 in --refusals) refusals=$2; shift 2 ;; *) args+=("$1"); shift ;; esac; done
awk -F, -v stub="${STUB:-}" -v f="$in" -v t="$t" 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; print > (t "/run"); next }
	stub != "none" && $c["n_kv_heads"] == $c["n_heads"] && $c["suffix_len"] == 0 && $c["group_chunks"] == 0 { print > (t "/run"); next }
	{ print "run-kernel: " f ":" NR ": stand-in: runs the single-prefix workload only; row skipped" > (t "/no") }' "$in"
[ "${STUB:-}" = fail ] && sed -i '$s/: stand-in: .*/: stand-in FAILED validation: rel_err 1; row not written/' "$t/no"
"$RK_REAL" "${args[@]}" "$t/run" || exit
cat "$t/no" >&2
[ "${STUB:-}" = fail ] && sed -i '$d' "$t/no"
cp "$t/no" "$refusals"
[ "${STUB:-}" = crash ] && exit 1
exit 3
STUB
chmod +x "$T_ROOT/kernel-stub"
RR=$P/refused
KMK="make -s RESULTS=$RR RESULTS_NAME=cpu N_SEQS=8 RUN_FLAGS='--iters 2 --min-time 0 --max-time 0.1'"
check "make sweeps: a kernel's refused rows listed, the rows it measured kept, the sweep made" \
	"RK_REAL=$TOOLS_BIN/run-kernel $KMK RUN_KERNEL=$T_ROOT/kernel-stub sweeps > $P/ref.out 2> $P/ref.err &&
	 test \$(wc -l < $RR/ref-n8.sweep.csv) = 8 && test \$(wc -l < $RR/ref-n8.refused.txt) = 4 &&
	 grep -qxF 'run-kernel: $RR/configs-n8.csv:9: stand-in: runs the single-prefix workload only; row skipped' $RR/ref-n8.refused.txt &&
	 grep -qxF 'refused_rows: 4 of 11 (the kernel does not run them: ref-n8.refused.txt says why)' $RR/ref-n8.prov.txt &&
	 grep -qxF '  refused_rows: 4 of 11 (the kernel does not run them: ref-n8.refused.txt says why)' $RR/provenance.txt &&
	 grep -qxF 'sweeps: ref-n8: 7 row(s) measured and kept; the rows refused are in $RR/ref-n8.refused.txt' $P/ref.err &&
	 tail -n1 $P/ref.out | grep -qxF 'sweeps: ref-n8: 4 of 11 rows refused (the kernel does not run them), each with its reason in $RR/ref-n8.refused.txt' &&
	 test -s $RR/ref-n8.agg.csv && test -s $RR/joined-n8.csv && $KMK RUN_KERNEL=$T_ROOT/kernel-stub -q $RR/ref-n8.sweep.csv $RR/ref-n8.prov.txt"
check "make sweeps: the sweep made again with nothing refused leaves no refused.txt" \
	"$KMK FORCE=1 $RR/ref-n8.sweep.csv $RR/ref-n8.prov.txt 2> /dev/null && test ! -e $RR/ref-n8.refused.txt &&
	 test \$(wc -l < $RR/ref-n8.sweep.csv) = 12 && ! grep -q refused_rows $RR/ref-n8.prov.txt"
for stub in fail none crash; do
	case $stub in
	fail) why="a row that failed validation beside the refused ones" ;;
	none) why="every row refused (none measured)" ;;
	crash) why="a crash after the rows" ;;
	esac
	check "make sweeps: $why leaves no file" \
		"rm -rf $RR && ! STUB=$stub RK_REAL=$TOOLS_BIN/run-kernel $KMK RUN_KERNEL=$T_ROOT/kernel-stub sweeps > /dev/null 2> $P/ref-$stub.err &&
		 test \"\$(ls $RR | tr '\n' ' ')\" = 'configs-n8.csv settings.txt '"
done

# The GPU kernels build wherever nvcc is (CI has nvcc but no GPU);
# make test passes HAVE_NVCC.
if [ -n "${HAVE_NVCC:-}" ]; then
	for cu in kernels/*.cu; do
		k=$(basename "$cu" .cu)
		# no spills, and no wgmma serialized by ptxas (warnings C7510-C7519:
		# a wgmma group in flight where ptxas cannot keep its registers
		# untouched runs every wgmma of the kernel one at a time)
		check "kernel builds: $k" "test -s build/kernels/$k.o && ! grep -qE '[1-9][0-9]* bytes spill|C751[0-9]' build/kernels/$k.o.ptxas"
	done
	check "GPU_ARCH=sm_80 builds too (prefix_stream then refuses at run time)" \
		"make -s GPU_ARCH=sm_80 BUILD=$T_ROOT/build-sm80 BIN=$T_ROOT/bin-sm80 tools > $T_ROOT/sm80.log 2>&1 ||
		{ grep -v '^ptxas info' $T_ROOT/sm80.log | tail -n 20; exit 1; }"
	check "run-kernel --list has the GPU kernels" "run-kernel --list | cut -f1 | grep -qx native && run-kernel --list | cut -f1 | grep -qx tk"
	# bench-ceiling (the streaming-read candidates) is one of the tools
	# where nvcc is; its bulk copies need sm_90, not sm_90a, and an sm_80
	# image leaves them out (they refuse at run time)
	check "GPU_ARCH=sm_90 builds bench-ceiling (bulk copies: sm_90, not sm_90a)" \
		"make -s GPU_ARCH=sm_90 BUILD=$T_ROOT/build-sm90 BIN=$T_ROOT/bin-sm90 $T_ROOT/bin-sm90/bench-ceiling > $T_ROOT/sm90.log 2>&1 ||
		{ grep -v '^ptxas info' $T_ROOT/sm90.log | tail -n 20; exit 1; }"
	check "GPU_ARCH=sm_80 builds bench-ceiling too" "test -x $T_ROOT/bin-sm80/bench-ceiling"
	check "bench-ceiling --list: the sweep (nc4 first), then dispatch" \
		"bench-ceiling --list > $T_ROOT/sweep.txt && head -n1 $T_ROOT/sweep.txt | grep -qx nc4 &&
		 tail -n1 $T_ROOT/sweep.txt | grep -qx dispatch && test \$(grep -c '^bulk:' $T_ROOT/sweep.txt) -ge 4"
	check "bench-ceiling refuses a bad spec with a reason before touching a GPU (exit 2)" \
		"bench-ceiling --variants 'nc4,bulk:stages=99' 2> $T_ROOT/bc.err; test \$? = 2 && grep -q 'bulk: stages must be 2..8' $T_ROOT/bc.err"
	if gpu_kernels_without_gpu; then
		check "bench-ceiling without a GPU says so (exit 1)" \
			"bench-ceiling --check 2> $T_ROOT/bc2.err; test \$? = 1 && grep -q 'no CUDA GPU' $T_ROOT/bc2.err"
	fi
fi
check "make bench-ceiling without nvcc says what it needs (exit 1)" \
	"! make -s bench-ceiling NVCC= 2> $T_ROOT/bcm.err && grep -q 'needs nvcc' $T_ROOT/bcm.err"
