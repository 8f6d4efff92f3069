# shellcheck shell=bash
# jobs/lib.sh — shared by jobs/sweep.sbatch, jobs/merge.sbatch, jobs/submit.sh and
# jobs/status.sh. Sourced, never run.
#
# A *slice* is one (kernel, n_seqs) pair: one GPU, one CSV; an array task runs one slice,
# or with GPUS_PER_JOB=G up to G slices at once on its G GPUs. The results
# folder OUT is a `make results` folder, and every file in it is made by the Makefile's
# rules (jobs/ only runs make and keeps the Slurm bookkeeping):
#   configs-nN.csv            gen-configs (made on the login node by jobs/submit.sh)
#   KERNEL-nN.sweep.csv       one slice's rows (an array task: make OUT/KERNEL-nN.sweep.csv)
#   KERNEL-nN.prov.txt        where that slice was measured, written by the task that did
#   KERNEL-nN.refused.txt     the rows the kernel refused (shapes it does not run), when any:
#                             the slice keeps the rest (refused_rows: in its record)
#   KERNEL-nN.agg.csv, joined-nN.csv, plots/, provenance.txt (the slices' records), merge.txt
#                             made by the merge job (make OUT/plots.stamp)
# and the Slurm bookkeeping in OUT/slurm/:
#   jobs.txt                  the last submission: job ids, slices, command (jobs/submit.sh)
#   KERNEL-nN.failed          present while the slice's last attempt failed: exit, job, log
#   (the jobs.txt line group=G: array task i runs slices i*G ... i*G+G-1 of slices=)
#   merge.done                the job id of the last merge that finished

# sweep_die CODE MSG: one line on stderr, then exit.
sweep_die() {
	local code=$1
	shift
	printf '%s: %s\n' "${SWEEP_PROG:-jobs}" "$*" >&2
	exit "$code"
}
sweep_say() { printf '%s: %s\n' "${SWEEP_PROG:-jobs}" "$*" >&2; }

# sweep_load_env ROOT: where environment modules exist (Lmod or Tcl modules), load the
# cluster's modules through env/bridges2.sh (or SWEEP_ENV_FILE). Elsewhere the machine's own
# toolchain is used as it is. A failed module load is reported, not fatal: the provenance
# file records what was loaded, and a missing library fails the run loudly anyway.
sweep_load_env() {
	local f=${SWEEP_ENV_FILE:-$1/env/bridges2.sh}
	if type module >/dev/null 2>&1 || [ -n "${MODULESHOME:-}" ] || [ -n "${LMOD_CMD:-}" ]; then
		# Module systems' shell functions read unset variables: no `set -u` while they run.
		set +u
		# shellcheck source=env/bridges2.sh
		. "$f" || sweep_say "warning: $f failed; going on with the environment as it is"
		set -u
	fi
	export HOSTNAME=${HOSTNAME:-$(hostname)}
}

# sweep_tools ROOT: the host tools this pipeline pipes together must be built, and the
# scripts `make results` uses must be there. Sets SWEEP_BIN: $BIN as for make (relative to
# ROOT), default ROOT/bin.
sweep_tools() {
	local t
	SWEEP_BIN=${BIN:-bin}
	case $SWEEP_BIN in /*) ;; *) SWEEP_BIN=$1/$SWEEP_BIN ;; esac
	export SWEEP_BIN
	for t in gen-configs run-kernel agg-blocks csv-join; do
		[ -x "$SWEEP_BIN/$t" ] || sweep_die 1 "$SWEEP_BIN/$t missing: run 'make' in $1 first (on the login node)"
	done
	for t in tools/provenance.sh tools/join-all.sh tools/folder-sweeps.sh tools/draw-plots.sh; do
		[ -x "$1/$t" ] || sweep_die 1 "$1/$t missing: this checkout is incomplete"
	done
}

# results_name TEXT: the results/ folder name for a GPU, as the Makefile derives it
# (tools/results-name.sh: "NVIDIA H100 80GB HBM3" and "h100-80:1" both give h100).
results_name() { "${SWEEP_ROOT:-.}/tools/results-name.sh" "$1"; }

# list_words LIST: "a,b c" -> "a b c" (make passes lists with spaces, the shell with commas).
list_words() { printf '%s' "$1" | tr ',' ' ' | xargs; }

# check_lists "KERNELS" "NSEQS": kernel names and n_seqs end up in file names and in
# sbatch --export values, so keep them plain; dies with a usage error otherwise.
check_lists() {
	local w
	[ -n "$1" ] || sweep_die 2 "no kernels given"
	[ -n "$2" ] || sweep_die 2 "no n_seqs given"
	for w in $1; do
		[[ $w =~ ^[A-Za-z0-9_]+$ ]] || sweep_die 2 "kernel '$w': expected a name like tk or native"
	done
	for w in $2; do
		[[ $w =~ ^[1-9][0-9]*$ ]] || sweep_die 2 "n_seqs '$w': expected a positive integer"
	done
}

# slice_name KERNEL N -> KERNEL-nN, the file stem of the slice (as in `make results`).
slice_name() { printf '%s-n%s' "$1" "$2"; }

# slice_done CSV: the slice was made by a run of this pipeline and is whole: its provenance
# record KERNEL-nN.prov.txt (written by the run that measured it, after the CSV; not in git)
# is there, and the CSV ends in a newline with a header and at least one row. A committed
# CSV without its record, or one cut off (copied by hand, a full disk), is not done.
slice_done() {
	[ -f "${1%.sweep.csv}.prov.txt" ] &&
		[ -f "$1" ] && [ -s "$1" ] && [ -z "$(tail -c 1 "$1")" ] && [ "$(wc -l <"$1")" -ge 2 ]
}

# sweep_cmdline ARGS...: a shell-quoted command line, as a user would retype it.
sweep_cmdline() {
	local out='' a
	for a in "$@"; do out="$out $(printf '%q' "$a")"; done
	printf '%s' "${out# }"
}

# sweep_devices: the GPUs of this job as Slurm set CUDA_VISIBLE_DEVICES from its --gpus
# request, by spaces ("0 1 2 3"); 0 where none is set (the CPU backend).
sweep_devices() {
	case ${CUDA_VISIBLE_DEVICES:-} in
	'' | NoDevFiles) echo 0 ;;
	*) list_words "$CUDA_VISIBLE_DEVICES" ;;
	esac
}

# sweep_make OUT "KERNELS" "N_SEQS" ARGS...: make ARGS (targets, FORCE=1, -q) for the
# results folder OUT: the Makefile is the one definition of the pipeline, so its rules
# decide what is stale for the jobs as for `make results`. PRESET, DTYPE, RUN_FLAGS and BIN
# come from the environment (jobs/submit.sh exports them); GPUS is the job's own GPUs
# (sweep_devices: each sweep holds one of them, tools/gpu-slot.sh), never submit.sh's GPUS
# (an sbatch --gpus request such as h100-80:1).
sweep_make() {
	local out=$1 k=$2 n=$3
	shift 3
	make -C "$SWEEP_ROOT" --no-print-directory RESULTS="$out" KERNELS="$k" N_SEQS="$n" GPUS="$(sweep_devices)" \
		PRESET="${PRESET:-seed}" DTYPE="${DTYPE:-bf16}" RUN_FLAGS="${RUN_FLAGS:-}" ${BIN:+BIN="$BIN"} "$@"
}

# slice_stale OUT KERNEL N: the slice must be (re)made: Make says its sweep is out of date
# (missing, no provenance record, configs, binaries or settings changed) or it is not whole.
slice_stale() {
	local csv
	csv=$1/$(slice_name "$2" "$3").sweep.csv
	! slice_done "$csv" || ! sweep_make "$1" "$2" "$3" -q "$csv" "${csv%.sweep.csv}.prov.txt" 2>/dev/null
}

# sweep_slice OUT KERNEL N: one slice, through the Makefile's own sweep target. A slice
# that is not whole is re-made even where its mtime looks new (FORCE=1), and so is every
# slice under SWEEP_FORCE=1.
sweep_slice() {
	local out=$1 k=$2 n=$3 s csv force=
	s=$(slice_name "$k" "$n")
	csv=$out/$s.sweep.csv
	{ [ "${SWEEP_FORCE:-0}" = 1 ] || ! slice_done "$csv"; } && force=FORCE=1
	# Both targets: Make re-runs the (one) recipe when either the CSV or its record is stale.
	sweep_make "$out" "$k" "$n" $force "$csv" "${csv%.sweep.csv}.prov.txt" || return
	slice_done "$csv" || { sweep_say "$s: make succeeded but $csv is not whole"; return 1; }
	rm -f "$out/slurm/$s.failed"
	sweep_say "$s: done: $csv ($(($(wc -l <"$csv") - 1)) rows)"
	"$SWEEP_ROOT/tools/keep-rows.sh" --summary refused "${SWEEP_PROG:-jobs}" "${csv%.sweep.csv}.prov.txt" >&2
}

# sweep_slices OUT KERNEL:N...: the slices, through sweep_slice each, over this job's GPUs
# (sweep_devices). With one GPU they run in turn; with several all start at once and each
# sweep's make waits for a GPU of its own (tools/gpu-slot.sh: the first free one, by flock),
# so a job with 4 GPUs runs 4 slices at a time, never two on one GPU. The configs must be
# made before (submit.sh does; so does sweep.sbatch), so that no make rewrites them under
# another. A failed slice gets its .failed note and leaves the others running, their files
# whole. Returns 0, or the exit code of a failed slice.
sweep_slices() {
	local out=$1 sl rc=0 p slice_pids=() devs
	shift
	read -r -a devs <<<"$(sweep_devices)"
	for sl in "$@"; do
		if [ "${#devs[@]}" -le 1 ]; then
			sweep_slice_noted "$out" "${sl%%:*}" "${sl#*:}" || rc=$?
		else
			sweep_slice_noted "$out" "${sl%%:*}" "${sl#*:}" &
			slice_pids+=("$!")
		fi
	done
	for p in "${slice_pids[@]}"; do wait "$p" || rc=$?; done
	return "$rc"
}
sweep_slice_noted() {
	sweep_slice "$1" "$2" "$3" && return 0
	local r=$?
	slice_mark_failed "$1" "$(slice_name "$2" "$3")" "$r"
	sweep_say "slice $(slice_name "$2" "$3") FAILED (exit $r)"
	return "$r"
}

# slices_mark_killed OUT KERNEL:N...: a time limit or scancel (SIGTERM) ends the job: each
# slice not done gets its note (exit 143).
slices_mark_killed() {
	local out=$1 sl s
	shift
	for sl in "$@"; do
		s=$(slice_name "${sl%%:*}" "${sl#*:}")
		slice_done "$out/$s.sweep.csv" || slice_mark_failed "$out" "$s" 143
	done
}

# slice_mark_failed OUT SLICE RC: leave OUT/slurm/SLICE.failed saying why, for
# jobs/status.sh and the user. Written by rename so a reader never sees half of it.
slice_mark_failed() {
	local f=$1/slurm/$2.failed log
	log=$(scontrol show job "${SLURM_JOB_ID:-none}" 2>/dev/null | sed -n 's/^ *StdOut=//p')
	mkdir -p "$1/slurm"
	{
		echo "slice: $2"
		echo "exit: $3"
		echo "job: ${SLURM_ARRAY_JOB_ID:-${SLURM_JOB_ID:-none}}${SLURM_ARRAY_TASK_ID:+_$SLURM_ARRAY_TASK_ID}"
		echo "host: ${HOSTNAME:-$(hostname)}"
		echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
		echo "log: ${log:-unknown}"
	} >"$f.tmp.$$" && mv -f "$f.tmp.$$" "$f"
}

# sweep_merge OUT "KERNELS" "N_SEQS": what the dependent job does once every slice is done:
# the Makefile's aggregate, join, provenance and plot targets. It measures nothing: a slice
# Make finds stale is reported (re-submit to run it), never re-run on the merge's host.
sweep_merge() {
	local out=$1 k n stale=''
	for k in $2; do
		for n in $3; do
			slice_stale "$out" "$k" "$n" && stale="$stale $(slice_name "$k" "$n")"
		done
	done
	[ -z "$stale" ] || { sweep_say "slices not done or stale:$stale; nothing merged (jobs/submit.sh runs them)"; return 1; }
	command -v gnuplot >/dev/null 2>&1 ||
		{ sweep_say "gnuplot not found: run 'make plots' where gnuplot is"; return 1; }
	sweep_make "$out" "$2" "$3" "$out/plots.stamp" || return
	echo "${SLURM_JOB_ID:-local} $(date -u +%Y-%m-%dT%H:%M:%SZ)" >"$out/slurm/merge.done.tmp.$$" &&
		mv -f "$out/slurm/merge.done.tmp.$$" "$out/slurm/merge.done"
	sweep_say "merged into $out: *.agg.csv, joined-n*.csv, plots/, provenance.txt (the sweeps' records), merge.txt"
}
