#!/bin/bash
# jobs/submit.sh — submit the whole sweep graph to Slurm with one command:
#   1. a job array of jobs/sweep.sbatch, one task (one GPU) per (kernel, n_seqs) slice
#      that Make finds stale in OUT (missing, not made by a run of this checkout — a
#      committed CSV has no KERNEL-nN.prov.txt —, configs, binaries or settings changed),
#      so re-submitting re-runs only what is missing or failed; each task makes its sweep
#      target through the Makefile;
#   2. jobs/merge.sbatch, --dependency=afterok on the array and --kill-on-invalid-dep=yes:
#      it makes the aggregate, join and plot targets once every task has succeeded, and is cancelled
#      (never run) if any task fails.
# It prints both job ids, how to watch them and where the results land.
#
#   jobs/submit.sh                                  # KERNELS="native tk prefix_stream" N_SEQS="32 64" PRESET=seed
#   KERNELS=tk N_SEQS=32 ACCOUNT=cis000000p jobs/submit.sh
#   jobs/submit.sh KERNELS=ref PRESET=quick --wait   # VAR=VALUE arguments work too
#
# Settings (environment or VAR=VALUE arguments):
#   KERNELS     kernels, by commas or spaces         (native tk prefix_stream)
#   N_SEQS      n_seqs values, by commas or spaces   (32 64)
#   PRESET      gen-configs preset                   (seed)
#   DTYPE, RUN_FLAGS  as for make: gen-configs --dtype, extra run-kernel options
#   OUT         results folder, layout as `make results`  (as make names it: results/h100
#               from GPUS' type, then -PRESET, -DTYPE, -FLAGS where not the default)
#   RESULTS_ROOT  where that folder goes (results)
#   LOGS        folder of the job logs               (jobs/logs)
#   PARTITION, ACCOUNT, TIME, GPUS   sbatch -p, -A, -t, --gpus for every job
#                                    (default: the #SBATCH lines, i.e. Bridges-2 GPU-shared,
#                                    h100-80:1, 30 min per slice, 10 min for the merge)
#   GPUS_PER_JOB  G: each array task gets G GPUs (--gpus=TYPE:G, TYPE from GPUS or the
#               #SBATCH line) and runs G slices at once, one per GPU (1: one slice a task)
#   ARRAY_LIMIT run at most this many tasks at once (sbatch --array=...%N)
#   MAIL_USER   mail this address when a job fails or the merge ends
#   BIN         where the built tools are, as for make (bin)
# Options: --wait (wait for the graph, then print jobs/status.sh's report and exit with its
# status), --force (re-run every slice), --dry-run (print the sbatch commands only).
# Exit: 0 submitted (with --wait: and everything succeeded), 1 failure, 2 usage.

set -u -o pipefail
SWEEP_PROG=submit.sh
ROOT=$(cd "$(dirname "$0")/.." && pwd) || exit 1
export SWEEP_ROOT=$ROOT
# shellcheck source=jobs/lib.sh
. "$ROOT/jobs/lib.sh"

usage() {
	echo "usage: jobs/submit.sh [VAR=VALUE...] [--wait] [--force] [--dry-run]   (VAR: KERNELS N_SEQS PRESET DTYPE RUN_FLAGS OUT LOGS PARTITION ACCOUNT TIME GPUS GPUS_PER_JOB ARRAY_LIMIT MAIL_USER BIN)" >&2
	exit 2
}
wait_for=0 force=0 dry=0
for a in "$@"; do
	case $a in
	--wait) wait_for=1 ;;
	--force) force=1 ;;
	--dry-run) dry=1 ;;
	-h | --help) usage ;;
	KERNELS=* | N_SEQS=* | PRESET=* | DTYPE=* | RUN_FLAGS=* | OUT=* | LOGS=* | PARTITION=* | \
		ACCOUNT=* | TIME=* | GPUS=* | GPUS_PER_JOB=* | ARRAY_LIMIT=* | MAIL_USER=* | BIN=* | RESULTS_ROOT=*)
		export "${a?}" ;;
	*) echo "submit.sh: unknown argument '$a'" >&2; usage ;;
	esac
done
# make passes empty variables through as empty strings: treat them as unset.
kernels=$(list_words "${KERNELS:-native tk prefix_stream}")
nseqs=$(list_words "${N_SEQS:-32 64}")
preset=${PRESET:-seed}
# Where `make results` on that GPU would write with these settings: results/h100 for
# --gpus=h100-80:1 and the seed preset, results/h100-quick for PRESET=quick, ...
out=${OUT:-$(make -s -C "$ROOT" --no-print-directory results-dir RESULTS_NAME="$(results_name "${GPUS:-h100-80}")" \
	PRESET="$preset" DTYPE="${DTYPE:-bf16}" RUN_FLAGS="${RUN_FLAGS:-}" ${RESULTS_ROOT:+RESULTS_ROOT="$RESULTS_ROOT"})}
logs=${LOGS:-jobs/logs}
case $out in /*) ;; *) out=$ROOT/$out ;; esac
case $logs in /*) ;; *) logs=$ROOT/$logs ;; esac

check_lists "$kernels" "$nseqs"
[[ $preset =~ ^[A-Za-z0-9_-]+$ ]] || sweep_die 2 "PRESET '$preset': expected seed or quick"
[[ ${ARRAY_LIMIT:-1} =~ ^[1-9][0-9]*$ ]] || sweep_die 2 "ARRAY_LIMIT '$ARRAY_LIMIT': expected a positive integer"
group=${GPUS_PER_JOB:-1}
[[ $group =~ ^[1-9][0-9]*$ ]] || sweep_die 2 "GPUS_PER_JOB '$group': expected a positive integer"

[ "$dry" -eq 1 ] || command -v sbatch >/dev/null 2>&1 ||
	sweep_die 1 "sbatch not found: submit from a Slurm login node (without Slurm: 'make results')"
# sbatch with no controller to reach prints DNS-SRV lookups and a failure per call: ask once,
# and say it in one line (timeout: a SLURM_CONF naming a missing file makes scontrol retry
# for a minute).
[ "$dry" -eq 1 ] || timeout 15 scontrol ping >/dev/null 2>&1 ||
	sweep_die 1 "sbatch found no Slurm controller (scontrol ping failed): submit from a cluster's login node (without Slurm: 'make results')"

# The tools must exist before any task starts; tasks never build (parallel builds in one
# tree would race). Built with the cluster's modules, as the jobs will run them.
if [ "$dry" -eq 0 ] && ! (sweep_tools "$ROOT") 2>/dev/null; then
	sweep_say "building the tools first: make -C $ROOT"
	# shellcheck disable=SC2086
	(sweep_load_env "$ROOT" && make -C "$ROOT" ${BIN:+BIN="$BIN"} tools >&2) || sweep_die 1 "make failed: fix the build, then submit again"
	sweep_tools "$ROOT"
fi

# A second graph for the same folder while the first still runs would run slices twice.
if [ -f "$out/slurm/jobs.txt" ]; then
	prev=$(sed -n 's/^\(array_job\|merge_job\)=\([0-9][0-9]*\)$/\2/p' "$out/slurm/jobs.txt" | paste -sd, -)
	if [ -n "$prev" ] && [ -n "$(squeue -h -o %i -j "$prev" 2>/dev/null)" ]; then
		sweep_die 1 "jobs $prev for $out are still queued or running: wait (jobs/status.sh $out) or scancel $prev"
	fi
fi

export PRESET=$preset KERNELS=$kernels N_SEQS=$nseqs
# The configs (and settings.txt) are made here, once, before any task starts: tasks of one
# n_seqs sharing a configs file must not each rewrite it under the others.
if [ "$dry" -eq 0 ]; then
	mkdir -p "$out/slurm" || sweep_die 1 "cannot create $out"
	# shellcheck disable=SC2046
	sweep_make "$out" "$kernels" "$nseqs" -s $(for n in $nseqs; do echo "$out/configs-n$n.csv"; done) >&2 ||
		sweep_die 1 "making the configs in $out failed"
fi
# Which slices are stale? Make's rules decide (slice_stale), as for `make results`.
read -r -a ks <<<"$kernels"
read -r -a ns <<<"$nseqs"
todo=() all=() done_=()
for k in "${ks[@]}"; do
	for n in "${ns[@]}"; do
		all+=("$k:$n")
		if [ "$force" -eq 0 ] && ! slice_stale "$out" "$k" "$n"; then
			done_+=("$(slice_name "$k" "$n")")
		else
			todo+=("$k:$n")
		fi
	done
done

common=(--parsable --chdir="$ROOT" --export=ALL)
[ -n "${PARTITION:-}" ] && common+=(--partition="$PARTITION")
[ -n "${ACCOUNT:-}" ] && common+=(--account="$ACCOUNT")
gpus_opt=()
[ -n "${GPUS:-}" ] && gpus_opt=(--gpus="$GPUS")
# GPUS_PER_JOB=G: the tasks ask for G GPUs of the type of GPUS or of sweep.sbatch's line
# (fewer when fewer slices are stale) and take G slices each; the merge keeps one GPU.
task_gpus=("${gpus_opt[@]}")
ntasks=$(((${#todo[@]} + group - 1) / group))
if [ "$group" -gt 1 ] && [ "${#todo[@]}" -gt 0 ]; then
	g=${GPUS:-$(sed -n 's/^#SBATCH --gpus=//p' "$ROOT/jobs/sweep.sbatch" | head -n 1)}
	case $g in *:*) g=${g%:*}: ;; *) g='' ;; esac
	task_gpus=(--gpus="$g$((group < ${#todo[@]} ? group : ${#todo[@]}))")
fi
task_opts=() merge_opts=()
[ -n "${TIME:-}" ] && task_opts+=(--time="$TIME")
[ -n "${MAIL_USER:-}" ] && task_opts+=(--mail-user="$MAIL_USER" --mail-type=FAIL) &&
	merge_opts+=(--mail-user="$MAIL_USER" "--mail-type=END,FAIL")

# What the user asked for, with the defaults filled in, as one retypeable line.
export SWEEP_SUBMIT_COMMAND
SWEEP_SUBMIT_COMMAND="$(sweep_cmdline KERNELS="$kernels" N_SEQS="$nseqs" PRESET="$preset" ${DTYPE:+DTYPE="$DTYPE"} ${RUN_FLAGS:+RUN_FLAGS="$RUN_FLAGS"} ${GPUS_PER_JOB:+GPUS_PER_JOB="$GPUS_PER_JOB"} OUT="$out" ${BIN:+BIN="$BIN"} jobs/submit.sh)"
[ "$force" -eq 1 ] && SWEEP_SUBMIT_COMMAND="$SWEEP_SUBMIT_COMMAND --force"
SWEEP_SUBMIT_COMMAND="$SWEEP_SUBMIT_COMMAND (in $ROOT)"
export OUT=$out
unset SWEEP_FORCE
[ "$force" -eq 1 ] && export SWEEP_FORCE=1

[ "$dry" -eq 1 ] || mkdir -p "$out/slurm" "$logs" || sweep_die 1 "cannot create $out or $logs"

# sbatch_id PLACEHOLDER CMD...: run sbatch and print the job id; with --dry-run, print the
# command and PLACEHOLDER instead.
sbatch_id() {
	local id
	if [ "$dry" -eq 1 ]; then
		{ sweep_cmdline "${@:2}"; echo; } >&2
		echo "$1"
		return 0
	fi
	shift
	# The jobs record the exact sbatch command in their provenance.
	id=$(SWEEP_COMMAND=$(sweep_cmdline "$@") "$@") || return 1
	id=${id%%;*}
	[[ $id =~ ^[0-9]+$ ]] || { sweep_say "unexpected sbatch output '$id'"; return 1; }
	echo "$id"
}

array_id=''
if [ "${#todo[@]}" -gt 0 ]; then
	spec=0-$((ntasks - 1))${ARRAY_LIMIT:+%$ARRAY_LIMIT}
	export SWEEP_SLICES="${todo[*]}" SWEEP_GROUP=$group
	array_id=$(sbatch_id ARRAY_ID sbatch "${common[@]}" "${task_gpus[@]}" "${task_opts[@]}" --array="$spec" \
		--output="$logs/%x-%A_%a.out" "$ROOT/jobs/sweep.sbatch" --preset "$preset" -o "$out") ||
		sweep_die 1 "submitting the array failed (see sbatch's message above)"
	unset SWEEP_SLICES SWEEP_GROUP
	dep=(--dependency=afterok:"$array_id" --kill-on-invalid-dep=yes)
else
	dep=()
fi
if ! merge_id=$(sbatch_id MERGE_ID sbatch "${common[@]}" "${gpus_opt[@]}" "${merge_opts[@]}" "${dep[@]}" \
	--output="$logs/%x-%j.out" "$ROOT/jobs/merge.sbatch" --preset "$preset" -o "$out"); then
	[ -n "$array_id" ] && scancel "$array_id" 2>/dev/null
	sweep_die 1 "submitting the merge job failed${array_id:+ (array job $array_id cancelled)}"
fi

if [ "$dry" -eq 0 ]; then
	{
		echo "out=$out"
		echo "preset=$preset"
		echo "logs=$logs"
		echo "array_job=$array_id"
		echo "merge_job=$merge_id"
		echo "slices=${todo[*]}"
		echo "group=$group"
		echo "all_slices=${all[*]}"
		echo "submitted=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
		echo "command=$SWEEP_SUBMIT_COMMAND"
	} >"$out/slurm/jobs.txt.tmp.$$" && mv -f "$out/slurm/jobs.txt.tmp.$$" "$out/slurm/jobs.txt"
	# A slice being re-run is not "failed" any more until its new attempt says so.
	for sl in "${todo[@]}"; do rm -f "$out/slurm/$(slice_name "${sl%%:*}" "${sl#*:}").failed"; done
fi

names=()
for sl in "${todo[@]}"; do names+=("$(slice_name "${sl%%:*}" "${sl#*:}")"); done
if [ -n "$array_id" ]; then
	if [ "$group" -gt 1 ]; then
		echo "array job $array_id: ${#todo[@]} slice(s) to run in $ntasks task(s) of --gpus=${task_gpus[0]#--gpus=}, one slice per GPU: ${names[*]}${done_[*]:+; already done, skipped: ${done_[*]}}"
	else
		echo "array job $array_id: ${#todo[@]} slice(s) to run: ${names[*]}${done_[*]:+; already done, skipped: ${done_[*]}}"
	fi
	echo "merge job $merge_id: aggregates, joins and plots after every task of $array_id succeeds"
else
	echo "array job none: every slice is already done (${done_[*]})"
	echo "merge job $merge_id: aggregates, joins and plots"
fi
echo "watch:   jobs/status.sh $out    (or: squeue -j ${array_id:+$array_id,}$merge_id)"
echo "logs:    $logs/"
echo "results: $out/ (KERNEL-nN.sweep.csv, .agg.csv, joined-nN.csv, plots/, provenance.txt)"
[ "$dry" -eq 1 ] && exit 0
[ "$wait_for" -eq 1 ] || exit 0

# --wait: poll the queue until both jobs have left it (a job that can never start is
# cancelled by --kill-on-invalid-dep, so this ends), then report.
ids=${array_id:+$array_id,}$merge_id
while [ -n "$(squeue -h -o %i -j "$ids" 2>/dev/null)" ]; do sleep 1; done
exec "$ROOT/jobs/status.sh" "$out"
