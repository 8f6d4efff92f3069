#!/bin/bash
# jobs/status.sh — where the last jobs/submit.sh graph for a results folder stands: each
# slice (done, queued, running, FAILED with its exit code and log, missing) and the merge job
# (waiting, running, done, or never run because a slice failed).
#
#   jobs/status.sh [OUT]          OUT defaults to $OUT, else results/h100
#   watch -n 10 jobs/status.sh results/h100
#
# Exit: 0 everything done and merged; 1 something failed or is missing (the last line says
# what to do); 2 usage; 75 still queued or running.

set -u -o pipefail
SWEEP_PROG=status.sh
ROOT=$(cd "$(dirname "$0")/.." && pwd) || exit 1
# shellcheck source=jobs/lib.sh
. "$ROOT/jobs/lib.sh"

if [ $# -gt 1 ] || [ "${1:-}" = -h ] || [ "${1:-}" = --help ]; then
	echo "usage: jobs/status.sh [OUT]" >&2
	exit 2
fi
out=${1:-${OUT:-results/h100}}
case $out in /*) ;; *) [ -d "$out" ] || out=$ROOT/$out ;; esac
[ -f "$out/slurm/jobs.txt" ] || sweep_die 1 "$out/slurm/jobs.txt not found: nothing was submitted for $out (jobs/submit.sh does)"

get() { sed -n "s/^$1=//p" "$out/slurm/jobs.txt" | head -n 1; }
array_id=$(get array_job)
merge_id=$(get merge_job)
logs=$(get logs)
read -r -a todo <<<"$(get slices)"
group=$(get group)
group=${group:-1} # array task i ran slices i*group ... (GPUS_PER_JOB)
read -r -a all <<<"$(get all_slices)"

# The queue's view: array task index -> state; "" when the job has left the queue.
declare -A qstate=()
if [ -n "$array_id" ]; then
	while read -r idx st reason; do
		# squeue prints a pending array's remaining tasks as one line, "[2-5]" or "[2-5%2]".
		if [[ $idx =~ ^\[([0-9]+)-([0-9]+) ]]; then
			for ((i = BASH_REMATCH[1]; i <= BASH_REMATCH[2]; i++)); do qstate[$i]="$st ($reason)"; done
		elif [[ $idx =~ ^[0-9]+$ ]]; then
			qstate[$idx]=$st
			[ "$st" = PENDING ] && qstate[$idx]="$st ($reason)"
		fi
	done < <(squeue -h -r -j "$array_id" -o '%K %T %r' 2>/dev/null)
fi
merge_q=$(squeue -h -j "$merge_id" -o '%T %r' 2>/dev/null | head -n 1)

echo "results: $out (submitted $(get submitted))"
n_done=0 n_fail=0 n_run=0 n_miss=0 failed=()
for sl in "${all[@]}"; do
	s=$(slice_name "${sl%%:*}" "${sl#*:}")
	q=''
	for i in "${!todo[@]}"; do [ "${todo[i]}" = "$sl" ] && q=${qstate[$((i / group))]:-}; done
	# Not skipped: ${qstate[...]} stays empty for a task that has left the queue.
	if [ -n "$q" ] && [[ $q != COMPLETED* ]] && [[ $q != FAILED* ]] && [[ $q != CANCELLED* ]] && [[ $q != TIMEOUT* ]]; then
		printf '  %-24s %s\n' "$s" "$q"
		n_run=$((n_run + 1))
	elif slice_done "$out/$s.sweep.csv"; then
		refused=$(sed -n 's/^refused_rows: \([0-9]*\) of .*/\1/p' "$out/$s.prov.txt")
		printf '  %-24s done   %s rows%s\n' "$s" "$(($(wc -l <"$out/$s.sweep.csv") - 1))" \
			"${refused:+ ($refused refused by the kernel: $s.refused.txt says why)}"
		n_done=$((n_done + 1))
	elif [ -f "$out/slurm/$s.failed" ]; then
		printf '  %-24s FAILED exit %s, job %s, log %s\n' "$s" "$(sed -n 's/^exit: //p' "$out/slurm/$s.failed")" \
			"$(sed -n 's/^job: //p' "$out/slurm/$s.failed")" "$(sed -n 's/^log: //p' "$out/slurm/$s.failed")"
		n_fail=$((n_fail + 1))
		failed+=("$s")
	else
		printf '  %-24s MISSING (its task ended without a result: killed, timed out or cancelled; see %s)\n' "$s" "${logs:-jobs/logs}"
		n_miss=$((n_miss + 1))
		failed+=("$s")
	fi
done
echo "slices: ${#all[@]}: $n_done done, $n_run queued or running, $n_fail failed, $n_miss missing"

merged=0
[ -n "$merge_id" ] && [ "$(cut -d' ' -f1 "$out/slurm/merge.done" 2>/dev/null)" = "$merge_id" ] && merged=1
if [ -n "$merge_q" ] && [[ $merge_q == PENDING* || $merge_q == RUNNING* || $merge_q == CONFIGURING* || $merge_q == COMPLETING* ]]; then
	echo "merge job $merge_id: $merge_q"
elif [ "$merged" -eq 1 ]; then
	echo "merge job $merge_id: done: $out/joined-n*.csv, $out/plots/, $out/provenance.txt"
elif [ "${#failed[@]}" -gt 0 ]; then
	echo "merge job $merge_id: did not run: slices failed or missing: ${failed[*]}"
else
	echo "merge job $merge_id: ended without merging${merge_q:+ ($merge_q)}; see ${logs:-jobs/logs}/pa-merge-$merge_id.out"
fi

if [ "$n_run" -gt 0 ] || { [ "$merged" -eq 0 ] && [ "${#failed[@]}" -eq 0 ] && [ -n "$merge_q" ] &&
	[[ $merge_q == PENDING* || $merge_q == RUNNING* || $merge_q == CONFIGURING* || $merge_q == COMPLETING* ]]; }; then
	echo "status: running"
	exit 75
elif [ "$merged" -eq 1 ] && [ "${#failed[@]}" -eq 0 ]; then
	echo "status: complete"
	exit 0
elif [ "${#failed[@]}" -gt 0 ]; then
	echo "status: FAILED: ${failed[*]}; fix the cause (see the logs), then run jobs/submit.sh again with the same settings: it re-runs only these"
	exit 1
else
	echo "status: FAILED: the merge did not finish; see its log, then run jobs/submit.sh again (no slice re-runs)"
	exit 1
fi
