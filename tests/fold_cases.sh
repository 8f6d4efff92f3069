# tests/fold_cases.sh - a results folder that holds several runs' sweeps
# (sourced by tests/run_tests.sh; CPU only): re-running one kernel keeps the
# others' records and columns, make peers adds its records, and make fold
# brings in sweeps made elsewhere -- or refuses, leaving the folder as it was.
F=$T_ROOT/fold
mkdir -p "$F"
# a second kernel on a CPU: run-kernel -k K runs as -k ref, its rows named K
cat > "$F/kernel-as" <<'STUB'
#!/bin/bash
args=() out='' k=''
while [ $# -gt 0 ]; do
	case $1 in
	-k) k=$2 && args+=(-k ref) && shift 2 ;;
	-o) out=$2 && args+=(-o "$2") && shift 2 ;;
	*) args+=("$1") && shift ;;
	esac
done
"$RK_REAL" "${args[@]}" || exit
sed -i "s/,ref,/,$k,/" "$out"
STUB
# a peer the same way (make peers' rule: --list, then -k PEER ... -o OUT --failures F CONFIGS)
cat > "$F/peer-as" <<'STUB'
#!/bin/bash
[ "$1" = --list ] && { printf 'flashinfer\tstub\tstub 1.0\n'; exit 0; }
args=() out=''
while [ $# -gt 0 ]; do
	case $1 in
	-k) shift 2 ;;
	--failures) shift 2 ;;
	-o) out=$2 && args+=(-o "$2") && shift 2 ;;
	*) args+=("$1") && shift ;;
	esac
done
"$RK_REAL" -k ref "${args[@]}" || exit
sed -i "s/,ref,/,flashinfer,/" "$out"
STUB
chmod +x "$F/kernel-as" "$F/peer-as"
export RK_REAL=$TOOLS_BIN/run-kernel
D=$F/dir
FMK="make -s RESULTS_NAME=cpu PRESET=quick N_SEQS=8 RUN_FLAGS='--iters 2 --min-time 0 --max-time 0.1'"
check "a folder's second kernel: the first's record and columns kept" \
	"$FMK RESULTS=$D sweeps > /dev/null && $FMK RESULTS=$D KERNELS=other RUN_KERNEL=$F/kernel-as sweeps > /dev/null &&
	 test \"\$(grep '^sweep: ' $D/provenance.txt | tr '\n' ' ')\" = 'sweep: ref-n8 sweep: other-n8 ' &&
	 head -n1 $D/joined-n8.csv | grep -q ',latency_ms_ref,.*,latency_ms_other,' && test \$(wc -l < $D/joined-n8.csv) = 8"
check "a kernel re-run in the folder: its record replaced in place, the other kept" \
	"old=\$(sed -n '/^sweep: ref-n8/,/^sweep:/s/^  date: //p' $D/provenance.txt) && sleep 1 &&
	 $FMK RESULTS=$D FORCE=1 $D/ref-n8.sweep.csv $D/ref-n8.prov.txt $D/joined-n8.csv $D/provenance.txt > /dev/null &&
	 new=\$(sed -n '/^sweep: ref-n8/,/^sweep:/s/^  date: //p' $D/provenance.txt) && test \"\$new\" != \"\$old\" &&
	 test \"\$(grep '^sweep: ' $D/provenance.txt | tr '\n' ' ')\" = 'sweep: ref-n8 sweep: other-n8 ' &&
	 { grep -q '^date: \$old (first sweep)\$' $D/provenance.txt || grep -q \"^date: \$(sed -n 's/^date: //p' $D/other-n8.prov.txt) (first sweep)\$\" $D/provenance.txt; }"
check "make peers: the peers' records join provenance.txt, the join stays the kernels'" \
	"$FMK RESULTS=$D RESULTS_NAME=h200 GPUS=0 RUN_PEER=$F/peer-as PEERS=flashinfer peers > /dev/null &&
	 test \"\$(grep '^sweep: ' $D/provenance.txt | tr '\n' ' ')\" = 'sweep: ref-n8 sweep: other-n8 sweep: flashinfer-n8 ' &&
	 grep -qx '  peer: flashinfer	stub 1.0' $D/provenance.txt &&
	 test \"\$(tools/folder-sweeps.sh $D 8 | tr '\n' ' ')\" = '$D/ref-n8.agg.csv $D/other-n8.agg.csv '"
S=$F/src
check "make fold: a sweep made elsewhere replaces its own, the folder's others kept" \
	"$FMK RESULTS=$S KERNELS=other RUN_KERNEL=$F/kernel-as sweeps > /dev/null && cp $D/merge.txt $F/merge.before &&
	 $FMK RESULTS=$D FROM=$S fold > $F/fold.out 2> $F/fold.err &&
	 grep -qx 'fold-sweeps: $D: 1 sweep(s) folded from $S (other-n8)' $F/fold.err &&
	 cmp $S/other-n8.sweep.csv $D/other-n8.sweep.csv && cmp $S/other-n8.prov.txt $D/other-n8.prov.txt &&
	 test \"\$(grep '^sweep: ' $D/provenance.txt | tr '\n' ' ')\" = 'sweep: ref-n8 sweep: other-n8 sweep: flashinfer-n8 ' &&
	 sed -n '/^sweep: other-n8/,/^sweep:/p' $D/provenance.txt | grep -qxF \"  date: \$(sed -n 's/^date: //p' $S/other-n8.prov.txt)\" &&
	 grep -q '^command: tools/fold-sweeps.sh (make fold RESULTS=$D FROM=$S): folded other-n8' $D/merge.txt &&
	 grep -qxF \"earlier: \$(sed -n 's/^command: //p' $F/merge.before)\" $D/merge.txt && test \$(grep -c '^earlier: ' $D/merge.txt) = \$((\$(grep -c '^earlier: ' $F/merge.before) + 1)) &&
	 { ! command -v gnuplot > /dev/null || test -s $D/plots/other-n8/overview.png; } && test \$(wc -l < $D/joined-n8.csv) = 8 && ! ls -a $D | grep -q '^\.fold'"
check "make fold: the folded folder is made as far as make is concerned" \
	"$FMK RESULTS=$D KERNELS='ref other' -q $D/other-n8.sweep.csv $D/other-n8.prov.txt $D/ref-n8.agg.csv"
check "make fold again: merge.txt's history grows by one line" \
	"n=\$(grep -c '^earlier: ' $D/merge.txt) && $FMK RESULTS=$D FROM=$S fold > /dev/null 2>&1 && test \$(grep -c '^earlier: ' $D/merge.txt) = \$((n + 1)) &&
	 sed -n 2p $D/merge.txt | grep -q '^command: tools/fold-sweeps.sh' && grep -q '^earlier: tools/fold-sweeps.sh' $D/merge.txt"
check "make's next merge keeps the folds in merge.txt's history" \
	"cp -r $D $F/dir2 && $FMK RESULTS=$F/dir2 FORCE=1 $F/dir2/ref-n8.sweep.csv $F/dir2/ref-n8.prov.txt $F/dir2/provenance.txt > /dev/null 2>&1 &&
	 sed -n 2p $F/dir2/merge.txt | grep -q '^command: make ' && test \$(grep -c '^earlier: tools/fold-sweeps.sh' $F/dir2/merge.txt) = 2 &&
	 test \$(grep -c '^earlier: ' $F/dir2/merge.txt) = \$((\$(grep -c '^earlier: ' $D/merge.txt) + 1))"
N=$F/fresh
check "make fold into a new folder: configs, settings and a merge note of its own; made as far as make is concerned" \
	"$FMK RESULTS=$N FROM=$S fold > /dev/null 2>&1 && cmp $S/configs-n8.csv $N/configs-n8.csv &&
	 grep -q '^command: tools/fold-sweeps.sh' $N/merge.txt && ! grep -q '^earlier: ' $N/merge.txt &&
	 test \"\$(grep '^sweep: ' $N/provenance.txt)\" = 'sweep: other-n8' &&
	 $FMK RESULTS=$N KERNELS=other RUN_KERNEL=$F/kernel-as -q $N/other-n8.sweep.csv $N/other-n8.prov.txt $N/other-n8.agg.csv $N/joined-n8.csv $N/provenance.txt"
O=$F/old-format
mkdir -p "$O"
printf 'date: 2026-11-26T13:27:19Z\ncommand: make sweeps RESULTS=x\n' > "$O/provenance.txt"
t "fold: a folder of the older record format" 1 "'$ROOT/tools/fold-sweeps.sh' 'PRESET=quick DTYPE=bf16 RUN_FLAGS=--iters 2 --min-time 0 --max-time 0.1' blocks '$TOOLS_BIN' '$O' '$S'" '' '' \
	"^fold-sweeps: $O/provenance.txt: no sweep: records \(an older format, one command for the folder\): its sweeps cannot be kept beside new ones; re-make the folder with make sweeps$"
t "provenance --keep: a folder of the older record format, said" 0 "'$ROOT/tools/provenance.sh' --sweeps X=1 --keep '$O/provenance.txt' | grep -c '^sweep'; true" '' '0\n' \
	"^provenance.sh: $O/provenance.txt: no sweep: records \(an older format, one command for the folder\): nothing of it kept$"
t "provenance --sweeps: a record that cannot be read" 1 "'$ROOT/tools/provenance.sh' --sweeps X=1 --into p.txt nope-n1.prov.txt" '' '' \
	'^provenance.sh: nope-n1.prov.txt: cannot read \(a sweep.s record\)$'
t "folder-sweeps: make's own kernels after the recorded ones, once" 0 "'$ROOT/tools/folder-sweeps.sh' '$D' 8 '$D/other-n8.agg.csv' x-n8.agg.csv" '' \
	"$D/ref-n8.agg.csv\n$D/other-n8.agg.csv\nx-n8.agg.csv\n" ''
# the refusals: one line, exit 1, the folder as it was
sum() { (cd "$D" && find . -type f ! -name .lock -print0 | sort -z | xargs -0 md5sum | md5sum); }
before=$(sum)
FS="'$ROOT/tools/fold-sweeps.sh' 'PRESET=quick DTYPE=bf16 RUN_FLAGS=--iters 2 --min-time 0 --max-time 0.1' blocks '$TOOLS_BIN' '$D'"
t "fold: other settings than the folder's" 1 "'$ROOT/tools/fold-sweeps.sh' 'PRESET=seed DTYPE=bf16 RUN_FLAGS=' blocks '$TOOLS_BIN' '$D' '$S'" '' '' \
	"^fold-sweeps: $D/provenance.txt:1: the folder's settings are 'PRESET=quick DTYPE=bf16 RUN_FLAGS=--iters 2 --min-time 0 --max-time 0.1', not 'PRESET=seed DTYPE=bf16 RUN_FLAGS=' \(give make fold those: PRESET, DTYPE, RUN_FLAGS\)$"
t "fold: a record of other settings" 1 "mkdir s && cp '$S'/configs-n8.csv '$S'/other-n8.sweep.csv s/ && sed 's/DTYPE=bf16/DTYPE=fp16/' '$S'/other-n8.prov.txt > s/other-n8.prov.txt && $FS s" '' '' \
	"^fold-sweeps: s/other-n8.prov.txt:[0-9]+: settings 'PRESET=quick DTYPE=fp16 RUN_FLAGS=--iters 2 --min-time 0 --max-time 0.1' are not 'PRESET=quick DTYPE=bf16 RUN_FLAGS=--iters 2 --min-time 0 --max-time 0.1'$"
t "fold: a record without its CSV" 1 "mkdir s && cp '$S'/configs-n8.csv '$S'/other-n8.prov.txt s/ && $FS s" '' '' \
	'^fold-sweeps: s/other-n8.prov.txt: no other-n8.sweep.csv beside it \(a sweep that did not finish\)$'
t "fold: other configs than the folder's" 1 "mkdir s && cp '$S'/other-n8.* s/ && head -n 3 '$S'/configs-n8.csv > s/configs-n8.csv && $FS s" '' '' \
	"^fold-sweeps: s/configs-n8.csv: differs from $D/configs-n8.csv \(other rows than the folder's\)$"
t "fold: no sweep in FROM" 1 "mkdir s && $FS s" '' '' '^fold-sweeps: s: no sweep to fold \(KERNEL-nN.prov.txt with its .sweep.csv\)$'
t "fold: FROM the folder itself" 1 "$FS '$D'" '' '' "^fold-sweeps: $D: the folder itself \(FROM must be another folder\)$"
t "fold: a sweep whose CSV does not aggregate" 1 "mkdir s && cp '$S'/configs-n8.csv '$S'/other-n8.prov.txt s/ && printf 'blocks,x\n1,2,3\n' > s/other-n8.sweep.csv && $FS s" '' '' \
	'^agg-blocks: s/other-n8.sweep.csv:2: row has 3 fields, header has 2$'
t "fold: usage" 2 "'$ROOT/tools/fold-sweeps.sh' a b" '' '' '^usage: tools/fold-sweeps.sh SETTINGS AGG_KEYS BIN DIR SRC'
t "make fold without FROM" 2 "make -s -C '$ROOT' RESULTS='$D' fold 2> e; rc=\$?; head -n1 e >&2; exit \$rc" '' '' '^fold: give FROM=DIR, the folder whose sweeps go into '
check "make fold's refusals left the folder as it was" "test \"\$(sum)\" = '$before'"
# provenance.sh --keep: records that no longer describe the folder are dropped, said once each
t "provenance --keep: a record of other settings or without its CSV dropped, one line each" 0 \
	"printf 'date: 2026-12-03T00:00:00Z\nsettings: X=1\n' > a-n1.prov.txt && printf 'date: 2026-12-02T00:00:00Z\nsettings: X=2\n' > b-n1.prov.txt &&
	 printf 'date: 2026-12-01T00:00:00Z\nsettings: X=1\n' > c-n1.prov.txt && touch a-n1.sweep.csv b-n1.sweep.csv &&
	 '$ROOT/tools/provenance.sh' --sweeps X=1 a-n1.prov.txt b-n1.prov.txt c-n1.prov.txt > p.txt &&
	 mkdir new && printf 'date: 2026-12-09T00:00:00Z\nsettings: X=1\n' > new/d-n1.prov.txt &&
	 '$ROOT/tools/provenance.sh' --sweeps X=1 --keep p.txt new/d-n1.prov.txt 2> e.txt | grep -e '^sweep' -e '^date'; cat e.txt" '' \
	"date: 2026-12-03T00:00:00Z (first sweep)\nsweep: a-n1\nsweep: d-n1\nprovenance.sh: p.txt: the record of b-n1 dropped: its settings are not 'X=1' (its CSVs are of another run)\nprovenance.sh: p.txt: the record of c-n1 dropped: ./c-n1.sweep.csv is gone\n" ''
t "provenance --into: written in place, no temp file left" 0 \
	"printf 'date: 2026-12-03T00:00:00Z\nsettings: X=1\n' > a-n1.prov.txt && touch a-n1.sweep.csv && '$ROOT/tools/provenance.sh' --sweeps X=1 --into p.txt a-n1.prov.txt &&
	 mkdir new && printf 'date: 2026-12-01T00:00:00Z\nsettings: X=1\n' > new/a-n1.prov.txt && '$ROOT/tools/provenance.sh' --sweeps X=1 --into p.txt new/a-n1.prov.txt && ls | grep -v '^std' && cat p.txt" '' \
	'a-n1.prov.txt\na-n1.sweep.csv\nnew\np.txt\nsettings: X=1\ndate: 2026-12-01T00:00:00Z (first sweep)\nsweep: a-n1\n  date: 2026-12-01T00:00:00Z\n  settings: X=1\n' ''
