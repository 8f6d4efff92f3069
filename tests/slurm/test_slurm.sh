#!/bin/bash
# tests/slurm/test_slurm.sh — the Slurm pipeline (jobs/) on a real single-node Slurm:
# munged, slurmctld and slurmd from Debian's packages, started from a config this test
# writes into a fresh temp dir (tests/slurm/cluster.sh), stopped again at the end — only
# the daemons it started. Jobs run the ref backend on the quick preset; the node has fake
# h100-80 GPUs, so the job scripts' unchanged #SBATCH lines (-p GPU-shared,
# --gpus=h100-80:1) are what is scheduled.
#
#   tests/slurm/test_slurm.sh        as root, after `make` (BIN=DIR to use other tools)
#
# Prints `ok NAME` or `FAIL NAME: why` per check and a closing count; exits 0 only if every
# check passed. If Slurm cannot start, that is a FAIL with the reason, never a skip.
# Keeps its temp dir (logs, results, daemon logs) when a check failed, or with
# SLURM_TEST_KEEP=1, and says where. SLURM_TEST_WAIT: seconds one graph may take (120).

# ok and bad both return 0, so `COND && ok NAME || bad NAME WHY` is an if/else here.
# shellcheck disable=SC2015
set -u -o pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd) || exit 1
cd "$ROOT" || exit 1
# shellcheck source=tests/slurm/cluster.sh
. "$ROOT/tests/slurm/cluster.sh"
# shellcheck source=jobs/lib.sh
. "$ROOT/jobs/lib.sh" # slice_done: the same "done" rule as the jobs
export PATH=$PATH:/usr/sbin:/sbin
WAIT=${SLURM_TEST_WAIT:-120} # seconds any one submitted graph may take before it is a FAIL
# The pipeline is under test, not the timing: few samples per row keep each task ~1 s.
FAST="--warmup 1 --min-iters 2 --iters 3 --max-time 0.2"

pass=0 fail=0 T='' up=0
ok() { echo "ok $1"; pass=$((pass + 1)); }
bad() {
	echo "FAIL $1: $2"
	fail=$((fail + 1))
	[ $# -ge 3 ] && [ -n "$3" ] && printf '%s\n' "$3" | sed 's/^/  # /'
	return 0
}
finish() {
	local rc=$?
	trap - EXIT INT TERM
	if [ "$up" -eq 1 ]; then
		cluster_down "$T/cluster"
		up=0
	fi
	if [ -n "$T" ]; then
		if [ "$fail" -eq 0 ] && [ "$rc" -eq 0 ] && [ -z "${SLURM_TEST_KEEP:-}" ]; then
			rm -rf "$T"
		else
			echo "# kept for inspection: $T (cluster/log: daemon logs, logs: job logs)"
		fi
	fi
	echo "slurm: $pass passed, $fail failed"
	[ "$fail" -eq 0 ] && [ "$rc" -eq 0 ] || exit 1
	exit 0
}
trap finish EXIT
trap 'exit 130' INT TERM

# jobcomp FIELD JOBID: a field of a finished job's record (jobcomp/filetxt: no sacct here).
jobcomp() {
	grep -E "^JobId=$2 " "$T/cluster/log/jobcomp.txt" 2>/dev/null | tail -n 1 |
		tr ' ' '\n' | sed -n "s/^$1=//p"
}
# array_tasks ARRAYID: "TASK STATE EXIT" for every finished task of an array job.
array_tasks() {
	grep -E " ArrayJobId=$1 " "$T/cluster/log/jobcomp.txt" 2>/dev/null |
		sed -E 's/.*JobState=([A-Z_]+) .*ArrayTaskId=([0-9]+) .*ExitCode=([0-9]+):.*/\2 \1 \3/' | sort -n
}
# submit NAME ARGS...: jobs/submit.sh --wait under a time limit; sets sub_out, sub_rc,
# array_id, merge_id.
submit() {
	local name=$1 t=$SECONDS
	shift
	sub_out=$(timeout "$WAIT" "$ROOT/jobs/submit.sh" "$@" OUT="$OUT" LOGS="$T/logs" --wait 2>&1)
	sub_rc=$?
	took="$((SECONDS - t))s"
	array_id=$(printf '%s\n' "$sub_out" | sed -n 's/^array job \([0-9][0-9]*\):.*/\1/p' | head -n 1)
	merge_id=$(printf '%s\n' "$sub_out" | sed -n 's/^merge job \([0-9][0-9]*\):.*/\1/p' | head -n 1)
	if [ "$sub_rc" -eq 124 ]; then
		bad "$name" "jobs/submit.sh --wait did not finish in ${WAIT}s" "$sub_out
$(squeue 2>&1)"
		return 1
	fi
	[ -n "$merge_id" ] || { bad "$name" "no merge job id printed (exit $sub_rc)" "$sub_out"; return 1; }
	return 0
}
rows() { echo $(($(wc -l <"$1") - 1)); }
mtime() { stat -c %Y.%y "$1" 2>/dev/null; }
is_png() { [ -s "$1" ] && [ "$(head -c 8 "$1" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ]; }

# --- static checks: no cluster needed ---------------------------------------------------
scripts=(jobs/lib.sh jobs/sweep.sbatch jobs/merge.sbatch jobs/submit.sh jobs/status.sh
	env/bridges2.sh tests/slurm/cluster.sh tests/slurm/test_slurm.sh)
why=''
for f in "${scripts[@]}"; do why="$why$(bash -n "$f" 2>&1)"; done
[ -z "$why" ] && ok "slurm-scripts-parse" || bad "slurm-scripts-parse" "bash -n failed" "$why"
if command -v shellcheck >/dev/null 2>&1; then
	why=$(shellcheck -x "${scripts[@]}" 2>&1) && ok "slurm-scripts-shellcheck" ||
		bad "slurm-scripts-shellcheck" "shellcheck found problems" "$why"
fi

for f in sweep merge; do
	why=$(env -u SLURM_JOB_ID bash "jobs/$f.sbatch" 2>&1 >/dev/null)
	rc=$?
	if [ "$rc" -eq 2 ] && [ "$(printf '%s\n' "$why" | wc -l)" -eq 1 ] && [[ $why == *"not inside a Slurm job"* ]]; then
		ok "$f-sbatch-refuses-outside-slurm"
	else
		bad "$f-sbatch-refuses-outside-slurm" "want exit 2 and one line, got exit $rc" "$why"
	fi
done

# Outside a cluster (no controller to reach): one line, no DNS-SRV noise, no "array job none".
why=$(env -u SLURM_CONF timeout 20 "$ROOT/jobs/submit.sh" KERNELS=ref PRESET=quick \
	N_SEQS=16 OUT="${TMPDIR:-/tmp}/no-controller.$$" 2>&1)
rc=$?
rm -rf "${TMPDIR:-/tmp}/no-controller.$$"
# (no sbatch at all -- a machine without Slurm's client -- is the same one-line refusal, said so)
want="sbatch found no Slurm controller"
command -v sbatch >/dev/null 2>&1 || want="sbatch not found"
[ "$rc" -eq 1 ] && [ "$(printf '%s\n' "$why" | wc -l)" -eq 1 ] && [[ $why == *"$want"* ]] &&
	ok "slurm-no-controller-one-line" || bad "slurm-no-controller-one-line" "want exit 1 and one line, got exit $rc" "$why"

# --- the cluster -----------------------------------------------------------------------
BINDIR=${BIN:-bin}
case $BINDIR in /*) ;; *) BINDIR=$ROOT/$BINDIR ;; esac
for t in gen-configs run-kernel agg-blocks csv-join; do
	[ -x "$BINDIR/$t" ] || { bad "slurm-tools-built" "$BINDIR/$t missing: run make first"; exit 1; }
done
if ! command -v gnuplot >/dev/null 2>&1; then
	[ -x env/require.sh ] && env/require.sh gnuplot >/dev/null 2>&1
	command -v gnuplot >/dev/null 2>&1 || { bad "slurm-gnuplot" "gnuplot missing (Debian: gnuplot-nox); the merge job draws figures"; exit 1; }
fi

T=$(mktemp -d "${TMPDIR:-/tmp}/test-slurm.XXXXXX") || exit 1
chmod 0755 "$T"
# The jobs' GPU locks (tools/gpu-slot.sh; --export=ALL takes this in): here, not in /tmp.
export GPU_LOCK_DIR=$T/locks
t0=$SECONDS
# Not in $(...): cluster_up exports SLURM_CONF for the clients below.
if ! cluster_up "$T/cluster" 2>"$T/cluster-up.log"; then
	up=1 # stop whatever did start
	bad "slurm-cluster-up" "Slurm could not start" "$(cat "$T/cluster-up.log")"
	exit 1
fi
up=1
ok "slurm-cluster-up ($((SECONDS - t0))s; node idle, partition GPU-shared, gres gpu:h100-80:4)"

# --- 1. the whole graph: array of 2 slices + dependent merge ----------------------------
OUT=$T/out
if submit slurm-submit-graph KERNELS=ref PRESET=quick N_SEQS=16,32 RUN_FLAGS="$FAST"; then
	if [ "$sub_rc" -eq 0 ] && [ -n "$array_id" ] && [[ $sub_out == *"status: complete"* ]]; then
		ok "slurm-submit-graph (array $array_id, merge $merge_id; $took)"
	else
		bad "slurm-submit-graph" "exit $sub_rc" "$sub_out"
	fi
fi
tasks=$(array_tasks "$array_id")
[ "$tasks" = $'0 COMPLETED 0\n1 COMPLETED 0' ] && ok "slurm-array-tasks-completed" ||
	bad "slurm-array-tasks-completed" "want tasks 0 and 1 COMPLETED, got: ${tasks//$'\n'/; }"
[ "$(jobcomp JobState "$merge_id")" = COMPLETED ] && [ "$(jobcomp NodeList "$merge_id")" = testnode ] &&
	ok "slurm-merge-ran-after-array" ||
	bad "slurm-merge-ran-after-array" "merge job $merge_id: $(jobcomp JobState "$merge_id")" "$(cat "$T"/logs/pa-merge-"$merge_id".out 2>&1)"

# The unchanged `#SBATCH --gpus=h100-80:1` was scheduled on the fake GPUs.
grep -q '^slurm_gpus: h100-80:1$' "$OUT/ref-n16.prov.txt" 2>/dev/null &&
	grep -q '^cuda_visible_devices: [0-9]' "$OUT/ref-n16.prov.txt" &&
	ok "slurm-gres-h100-80" || bad "slurm-gres-h100-80" "the slice's provenance shows no h100-80 GPU" \
	"$(grep -E '^(slurm_gpus|cuda_visible)' "$OUT/ref-n16.prov.txt" 2>&1)"

why=''
for n in 16 32; do
	f=$OUT/ref-n$n.sweep.csv
	want=$(rows "$OUT/configs-n$n.csv" 2>/dev/null)
	if [ ! -f "$f" ]; then why="$why $f missing;"; continue; fi
	[ "$(rows "$f")" = "$want" ] || why="$why $f: $(rows "$f") rows, want $want;"
	awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
		$c["kernel"] != "ref" || $c["n_seqs"] != n || $c["latency_ms"] <= 0 || $c["rel_err"] > 1e-2 { bad = 1 }
		END { exit bad }' n="$n" "$f" || why="$why $f: a row is not ref/n_seqs=$n/positive latency/valid;"
done
[ -z "$why" ] && ok "slurm-slice-csvs" || bad "slurm-slice-csvs" "$why"

# The merged CSVs: one row per distinct blocks value, the metric columns present.
why=''
for n in 16 32; do
	f=$OUT/joined-n$n.csv
	[ -f "$f" ] || { why="$why $f missing;"; continue; }
	want=$(awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "blocks") c = i; next } { print $c }' \
		"$OUT/configs-n$n.csv" | sort -u | wc -l)
	[ "$(rows "$f")" = "$want" ] || why="$why $f: $(rows "$f") rows, want $want (distinct blocks);"
	for col in blocks latency_ms tflops kv_gbps compute_eff_pct kv_mem_eff_pct; do
		head -n 1 "$f" | tr ',' '\n' | grep -qx "$col" || why="$why $f: no column $col;"
	done
done
[ -z "$why" ] && ok "slurm-merged-csv" || bad "slurm-merged-csv" "$why"

why='' npng=0
for d in compare-n16 compare-n32 ref-n16 ref-n32; do
	for p in latency throughput bandwidth efficiency combined overview; do
		f=$OUT/plots/$d/$p.png
		if is_png "$f"; then npng=$((npng + 1)); else why="$why $d/$p.png;"; fi
	done
done
[ -z "$why" ] && ok "slurm-pngs ($npng figures)" || bad "slurm-pngs" "missing or not PNG:$why" "$(find "$OUT/plots" 2>&1 | head -n 20)"

# Provenance belongs to the sweeps: provenance.txt is each slice's record as its task wrote
# it (its own array task's slurm_job), the merge's own record is merge.txt beside it.
why=''
for key in settings date sweep; do
	grep -q "^$key: " "$OUT/provenance.txt" 2>/dev/null || why="$why $key"
done
[ "$(grep -c '^sweep: ref-n' "$OUT/provenance.txt" 2>/dev/null)" = 2 ] || why="$why (the 2 slices' records)"
[ "$(grep -c "^  slurm_job: [0-9]* array_task=[01] " "$OUT/provenance.txt" 2>/dev/null)" = 2 ] || why="$why (each slice's own array task)"
[ "$(grep -c '^date: ' "$OUT/provenance.txt" 2>/dev/null)" = 1 ] || why="$why (exactly one top-level date)"
grep -q "^slurm_job: $merge_id " "$OUT/merge.txt" 2>/dev/null || why="$why (merge.txt: the merge job's record)"
grep -q "^slurm_job: $merge_id " "$OUT/provenance.txt" 2>/dev/null && why="$why (the merge job's record is in provenance.txt)"
[ -z "$why" ] && ok "slurm-provenance" || bad "slurm-provenance" "provenance.txt lacks:$why" "$(head -n 30 "$OUT/provenance.txt" 2>&1)"

st=$("$ROOT/jobs/status.sh" "$OUT" 2>&1)
rc=$?
[ "$rc" -eq 0 ] && [ "$(printf '%s\n' "$st" | tail -n 1)" = "status: complete" ] &&
	ok "slurm-status-complete" || bad "slurm-status-complete" "jobs/status.sh exit $rc" "$st"

# --- 2. re-submitting re-runs only what is missing ----------------------------------------
rm -f "$OUT/ref-n16.sweep.csv"
: >"$OUT/ref-n16.sweep.csv.tmp.4242" # a temp file left by a killed writer: not "done"
keep=$(mtime "$OUT/ref-n32.sweep.csv")
if submit slurm-resubmit-missing KERNELS=ref PRESET=quick N_SEQS=16,32 RUN_FLAGS="$FAST"; then
	tasks=$(array_tasks "$array_id")
	if [ "$sub_rc" -eq 0 ] && [ "$tasks" = "0 COMPLETED 0" ] &&
		[[ $sub_out == *"1 slice(s) to run: ref-n16; already done, skipped: ref-n32"* ]] &&
		[ "$(mtime "$OUT/ref-n32.sweep.csv")" = "$keep" ] && slice_done "$OUT/ref-n16.sweep.csv" &&
		[ "$(cut -d' ' -f1 "$OUT/slurm/merge.done")" = "$merge_id" ]; then
		ok "slurm-resubmit-runs-only-missing ($took)"
	else
		bad "slurm-resubmit-runs-only-missing" "exit $sub_rc, tasks: ${tasks//$'\n'/; }" "$sub_out"
	fi
fi
rm -f "$OUT/ref-n16.sweep.csv.tmp.4242"

# A CSV cut off mid-line (copied by hand, a full disk) is not taken as done either.
head -c 150 "$OUT/ref-n32.sweep.csv" >"$OUT/ref-n32.cut" && mv "$OUT/ref-n32.cut" "$OUT/ref-n32.sweep.csv"
keep=$(mtime "$OUT/ref-n16.sweep.csv")
if submit slurm-half-written-csv KERNELS=ref PRESET=quick N_SEQS=16,32 RUN_FLAGS="$FAST"; then
	if [ "$sub_rc" -eq 0 ] && [ "$(array_tasks "$array_id")" = "0 COMPLETED 0" ] &&
		[[ $sub_out == *"1 slice(s) to run: ref-n32;"* ]] && [ "$(mtime "$OUT/ref-n16.sweep.csv")" = "$keep" ] &&
		[ "$(rows "$OUT/ref-n32.sweep.csv")" = "$(rows "$OUT/configs-n32.csv")" ]; then
		ok "slurm-half-written-csv-reruns ($took)"
	else
		bad "slurm-half-written-csv-reruns" "exit $sub_rc" "$sub_out"
	fi
fi

# Nothing missing: no array at all, only the merge, which finds nothing stale: it rewrites
# neither a sweep nor its record nor the folder's provenance.
keep=$(md5sum "$OUT"/ref-n*.prov.txt "$OUT"/ref-n*.sweep.csv "$OUT/provenance.txt" 2>&1)
if submit slurm-resubmit-nothing-missing KERNELS=ref PRESET=quick N_SEQS=16,32 RUN_FLAGS="$FAST"; then
	[ "$sub_rc" -eq 0 ] && [[ $sub_out == *"array job none"* ]] && [ "$(jobcomp JobState "$merge_id")" = COMPLETED ] &&
		[ "$(md5sum "$OUT"/ref-n*.prov.txt "$OUT"/ref-n*.sweep.csv "$OUT/provenance.txt" 2>&1)" = "$keep" ] &&
		ok "slurm-resubmit-nothing-missing-keeps-provenance ($took)" || bad "slurm-resubmit-nothing-missing-keeps-provenance" "exit $sub_rc" "$sub_out"
fi

# Another RUN_FLAGS into the same folder: every slice is measured again (settings.txt).
if submit slurm-settings-change KERNELS=ref PRESET=quick N_SEQS=16,32 RUN_FLAGS="$FAST --seed 7"; then
	[ "$sub_rc" -eq 0 ] && [[ $sub_out == *"2 slice(s) to run: ref-n16 ref-n32"* ]] &&
		grep -q '^  settings: .*--seed 7$' "$OUT/provenance.txt" &&
		ok "slurm-settings-change-reruns ($took)" || bad "slurm-settings-change-reruns" "exit $sub_rc" "$sub_out"
fi

# --- 2b. a fresh clone: committed CSVs are the reference, not this user's run ----------------
# A folder as git checks it out: the CSVs and provenance of another machine, no .prov.txt.
OUT=$T/clone
mkdir -p "$OUT"
cp "$T"/out/*.csv "$OUT"/ && rm -f "$OUT"/settings.txt
printf 'date: 2026-11-01T00:00:00Z\nhost: h100-node\ngpu: 0, NVIDIA H100 80GB HBM3, 550.54, 1980 MHz\n' >"$OUT/provenance.txt"
if submit slurm-fresh-clone-measures KERNELS=ref PRESET=quick N_SEQS=16,32 RUN_FLAGS="$FAST"; then
	[ "$sub_rc" -eq 0 ] && [[ $sub_out == *"2 slice(s) to run: ref-n16 ref-n32"* ]] &&
		[ -f "$OUT/ref-n16.prov.txt" ] && [ "$(grep -c '^sweep: ref-n' "$OUT/provenance.txt")" = 2 ] &&
		ok "slurm-fresh-clone-measures ($took)" || bad "slurm-fresh-clone-measures" "exit $sub_rc" "$sub_out"
fi

# --- 2c. a subset submission beside a committed folder leaves that folder alone -------------
# KERNELS=ref PRESET=quick N_SEQS=32 with the folder named by make (RESULTS_ROOT/h100-...):
# the seed folder results/h100 keeps its configs and joined files byte for byte.
mkdir -p "$T/results/h100"
cp "$ROOT"/results/h100/configs-n32.csv "$ROOT"/results/h100/joined-n32.csv "$T/results/h100/"
keep=$(cd "$T/results/h100" && md5sum ./*)
sub_out=$(timeout "$WAIT" "$ROOT/jobs/submit.sh" KERNELS=ref PRESET=quick N_SEQS=32 RUN_FLAGS="$FAST" \
	RESULTS_ROOT="$T/results" LOGS="$T/logs" --wait 2>&1)
sub_rc=$?
sub_dir=$T/results/$(tools/results-name.sh h100 quick bf16 "$FAST")
[ "$sub_rc" -eq 0 ] && [ "$(cd "$T/results/h100" && md5sum ./*)" = "$keep" ] && [ -s "$sub_dir/joined-n32.csv" ] &&
	[ "$(rows "$sub_dir/configs-n32.csv")" = 11 ] &&
	ok "slurm-subset-beside-committed-folder" ||
	bad "slurm-subset-beside-committed-folder" "exit $sub_rc; $T/results/h100 changed or $sub_dir incomplete" "$sub_out
$(ls "$T/results" 2>&1)"

# --- 3. a failed task keeps the merge from running, and the user is told ------------------
OUT=$T/out-fail
if submit slurm-failed-task KERNELS=ref,nosuchkernel PRESET=quick N_SEQS=16 RUN_FLAGS="$FAST"; then
	tasks=$(array_tasks "$array_id")
	# run-kernel -k nosuchkernel exits 2 (usage): task 1 FAILED with 2, task 0 fine.
	[ "$tasks" = $'0 COMPLETED 0\n1 FAILED 2' ] && ok "slurm-failed-task-exit-code ($took)" ||
		bad "slurm-failed-task-exit-code" "want task 1 FAILED with exit 2, got: ${tasks//$'\n'/; }"
	# --kill-on-invalid-dep=yes: cancelled while pending, never given a node.
	[ "$(jobcomp JobState "$merge_id")" = CANCELLED ] && [ "$(jobcomp NodeList "$merge_id")" = '(null)' ] &&
		[ ! -f "$OUT/slurm/merge.done" ] && [ ! -e "$OUT/joined-n16.csv" ] && [ ! -e "$OUT/plots" ] &&
		ok "slurm-failed-task-merge-never-ran" ||
		bad "slurm-failed-task-merge-never-ran" "merge job $merge_id: $(jobcomp JobState "$merge_id") on $(jobcomp NodeList "$merge_id")"
	[ ! -e "$OUT/nosuchkernel-n16.sweep.csv" ] && grep -q '^exit: 2$' "$OUT/slurm/nosuchkernel-n16.failed" 2>/dev/null &&
		ok "slurm-failed-task-no-csv" || bad "slurm-failed-task-no-csv" "a CSV was left, or no .failed note" "$(ls "$OUT" "$OUT/slurm" 2>&1)"
	# The user is told: submit --wait and jobs/status.sh exit 1 and name the slice.
	st=$("$ROOT/jobs/status.sh" "$OUT" 2>&1)
	rc=$?
	if [ "$sub_rc" -eq 1 ] && [ "$rc" -eq 1 ] && [[ $st == *"nosuchkernel-n16"*"FAILED exit 2"* ]] &&
		[[ $st == *"merge job $merge_id: did not run"* ]] && [[ $(printf '%s\n' "$st" | tail -n 1) == "status: FAILED: nosuchkernel-n16;"* ]]; then
		ok "slurm-failed-task-reported"
	else
		bad "slurm-failed-task-reported" "submit exit $sub_rc, status exit $rc" "$st"
	fi
fi

# --- 4. a task killed mid-run (scancel, like a time limit) leaves no CSV --------------------
OUT=$T/out-kill
out=$(timeout 30 "$ROOT/jobs/submit.sh" KERNELS=ref PRESET=quick N_SEQS=16 OUT="$OUT" LOGS="$T/logs" \
	RUN_FLAGS="--min-iters 100000 --iters 100000 --max-time 30" 2>&1)
array_id=$(printf '%s\n' "$out" | sed -n 's/^array job \([0-9][0-9]*\):.*/\1/p' | head -n 1)
merge_id=$(printf '%s\n' "$out" | sed -n 's/^merge job \([0-9][0-9]*\):.*/\1/p' | head -n 1)
# Cancel once run-kernel is running (its progress reaches the log), mid-row.
n=0
until grep -q 'run-kernel -k ref' "$T/logs/pa-sweep-${array_id}_0.out" 2>/dev/null || [ "$n" -ge 300 ]; do
	sleep 0.1
	n=$((n + 1))
done
sleep 1
scancel "$array_id" 2>/dev/null
n=0
while [ -n "$(squeue -h -o %i -j "$array_id,$merge_id" 2>/dev/null)" ] && [ "$n" -lt 300 ]; do
	sleep 0.1
	n=$((n + 1))
done
st=$("$ROOT/jobs/status.sh" "$OUT" 2>&1)
rc=$?
if [ -n "$array_id" ] && [ ! -e "$OUT/ref-n16.sweep.csv" ] && [ "$rc" -eq 1 ] &&
	[ "$(jobcomp JobState "$merge_id")" = CANCELLED ] && [[ $st == *"ref-n16"*"FAILED exit 143"* ]]; then
	ok "slurm-killed-task-leaves-no-csv"
else
	bad "slurm-killed-task-leaves-no-csv" "status exit $rc, csv $(ls "$OUT"/*.sweep.csv 2>&1)" "$out
$st"
fi

# --- 5. several GPUs: one job with --gpus=h100-80:4 runs its slices at once, one per GPU ----
# gpu-slot's log (GPU_SLOT_LOG, through sbatch's --export=ALL) says which GPU each slice
# held and when: never two on one GPU, several at once, all within the job's four.
slots_ok() { sort -k2,2 -k3,3n "$1" | awk -v want="${2:-0}" -f "$ROOT/tests/slots-ok.awk"; }
OUT=$T/out-multi
export GPU_SLOT_LOG=$T/multi-slots.log
t=$SECONDS
jid=$(RUN_FLAGS="$FAST" timeout "$WAIT" sbatch --parsable --wait --gpus=h100-80:4 --output="$T/logs/multi-%j.out" \
	jobs/sweep.sbatch -k ref -n 8,16,32,64 --preset quick -o "$OUT" 2>&1)
rc=$?
why=''
[ "$rc" -eq 0 ] || why="$why sbatch --wait exit $rc;"
for n in 8 16 32 64; do
	slice_done "$OUT/ref-n$n.sweep.csv" || why="$why ref-n$n not done;"
	grep -q '^slurm_gpus: h100-80:4$' "$OUT/ref-n$n.prov.txt" 2>/dev/null || why="$why ref-n$n.prov.txt: no slurm_gpus h100-80:4;"
done
[ "$(wc -l <"$GPU_SLOT_LOG" 2>/dev/null)" = 4 ] || why="$why $(wc -l <"$GPU_SLOT_LOG" 2>&1) slot log lines, want 4;"
cut -d' ' -f2 "$GPU_SLOT_LOG" 2>/dev/null | grep -vqx '[0-3]' && why="$why a GPU outside the job's 0-3;"
w=$(slots_ok "$GPU_SLOT_LOG" 2) || why="$why $w;"
[ "$(sed -n 's/^devices: //p' "$OUT/provenance.txt" 2>/dev/null | wc -w)" -ge 2 ] || why="$why provenance.txt: no devices line with 2+ GPUs;"
is_png "$OUT/plots/compare-n64/overview.png" || why="$why no merged figures;"
[ -z "$why" ] && ok "slurm-job-4-gpus-slices-at-once ($((SECONDS - t))s)" ||
	bad "slurm-job-4-gpus-slices-at-once" "$why" "$(cat "$GPU_SLOT_LOG" 2>&1)
$(tail -n 20 "$T/logs/multi-${jid##*$'\n'}.out" 2>&1)"

# The same through jobs/submit.sh GPUS_PER_JOB=4 (make slurm GPUS_PER_JOB=4): one array task
# with four GPUs runs the four slices, then the merge, as for one GPU a task.
OUT=$T/out-group
export GPU_SLOT_LOG=$T/group-slots.log
if submit slurm-gpus-per-job KERNELS=ref PRESET=quick N_SEQS=8,16,32,64 RUN_FLAGS="$FAST" GPUS_PER_JOB=4; then
	tasks=$(array_tasks "$array_id")
	why=''
	[ "$sub_rc" -eq 0 ] && [[ $sub_out == *"status: complete"* ]] || why="$why exit $sub_rc;"
	[[ $sub_out == *"4 slice(s) to run in 1 task(s) of --gpus=h100-80:4"* ]] || why="$why not one task of 4 GPUs;"
	[ "$tasks" = "0 COMPLETED 0" ] || why="$why tasks: ${tasks//$'\n'/; };"
	[ "$(grep -c '^  slurm_job: [0-9]* array_task=0 ' "$OUT/provenance.txt" 2>/dev/null)" = 4 ] || why="$why provenance: not 4 slices of task 0;"
	[ "$(wc -l <"$GPU_SLOT_LOG" 2>/dev/null)" = 4 ] && w=$(slots_ok "$GPU_SLOT_LOG" 2) || why="$why slots: ${w:-no log};"
	[ -z "$why" ] && ok "slurm-gpus-per-job-4 (array $array_id, merge $merge_id; $took)" ||
		bad "slurm-gpus-per-job-4" "$why" "$sub_out
$(cat "$GPU_SLOT_LOG" 2>&1)"
fi

# A failing slice in a task with two GPUs: the other slice finishes whole, the task fails with
# the failed slice's exit, the merge never runs, status names the slice.
OUT=$T/out-group-fail
export GPU_SLOT_LOG=$T/group-fail-slots.log
if submit slurm-gpus-per-job-failed-slice KERNELS=ref,nosuchkernel PRESET=quick N_SEQS=16 RUN_FLAGS="$FAST" GPUS_PER_JOB=2; then
	tasks=$(array_tasks "$array_id")
	st=$("$ROOT/jobs/status.sh" "$OUT" 2>&1)
	[ "$tasks" = "0 FAILED 2" ] && [ "$sub_rc" -eq 1 ] && slice_done "$OUT/ref-n16.sweep.csv" &&
		[ ! -e "$OUT/nosuchkernel-n16.sweep.csv" ] && ! compgen -G "$OUT/*tmp*" >/dev/null &&
		[ "$(jobcomp JobState "$merge_id")" = CANCELLED ] && [[ $st == *"ref-n16"*"done"*"nosuchkernel-n16"*"FAILED exit 2"* ]] &&
		ok "slurm-gpus-per-job-failed-slice-keeps-the-other ($took)" ||
		bad "slurm-gpus-per-job-failed-slice-keeps-the-other" "tasks: ${tasks//$'\n'/; }, submit exit $sub_rc" "$st
$(ls "$OUT" 2>&1)"
fi
unset GPU_SLOT_LOG GPU_LOCK_DIR

# --- teardown: exactly the daemons this test started ------------------------------------
pids=$(cat "$T"/cluster/run/munged.pid "$T"/cluster/run/slurmctld.ours.pid "$T"/cluster/run/slurmd.ours.pid 2>/dev/null)
t0=$SECONDS
cluster_down "$T/cluster"
up=0
left=''
for p in $pids; do
	case $(cat /proc/"$p"/comm 2>/dev/null) in munged | slurmctld | slurmd) left="$left $p" ;; esac
done
[ -z "$left" ] && [ -n "$pids" ] && ok "slurm-cluster-down ($((SECONDS - t0))s)" ||
	bad "slurm-cluster-down" "still running:$left"
