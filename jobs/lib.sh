# shellcheck shell=bash
# jobs/lib.sh — shared by jobs/sweep.sbatch, jobs/merge.sbatch, jobs/submit.sh and
# jobs/status.sh. Sourced, never run.
#
# A *slice* is one (kernel, n_seqs) pair: one array task, one GPU, one CSV. The results
# folder OUT has the layout of `make results` (so `make plots` redraws it too):
#   configs-nN.csv            gen-configs --preset PRESET --n-seqs N
#   KERNEL-nN.sweep.csv       run-kernel's rows for one slice. run-kernel -o writes it by
#                             rename, and only when the run succeeded, so "it exists" means
#                             "done": a failed, killed or timed-out task never leaves one.
#   KERNEL-nN.agg.csv         agg-blocks of it: one row per blocks value
#   joined-nN.csv             the kernels of one n_seqs side by side (tools/join-all.sh)
#   plots/, plots.stamp       the figures (tools/draw-plots.sh, as `make results`)
#   provenance.txt            the merge job's environment, then every slice's
# and the Slurm bookkeeping in OUT/slurm/:
#   jobs.txt                  the last submission: job ids, slices, command (jobs/submit.sh)
#   KERNEL-nN.prov.txt        where that slice was made (provenance_write)
#   KERNEL-nN.failed          present while the slice's last attempt failed: exit, job, log
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
	for t in tools/provenance.sh tools/join-all.sh tools/draw-plots.sh; do
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

# slice_done CSV: the slice's final CSV is there and whole: it ends in a newline and has a
# header and at least one row. It only ever appears by rename, so this is belt and braces
# against a file copied or edited by hand; anything else counts as missing and re-runs.
slice_done() {
	[ -f "$1" ] && [ -s "$1" ] && [ -z "$(tail -c 1 "$1")" ] && [ "$(wc -l <"$1")" -ge 2 ]
}

# sweep_cmdline ARGS...: a shell-quoted command line, as a user would retype it.
sweep_cmdline() {
	local out='' a
	for a in "$@"; do out="$out $(printf '%q' "$a")"; done
	printf '%s' "${out# }"
}

# sweep_run PROVFILE CMD...: record CMD in the provenance file and in the job log, run it.
sweep_run() {
	local prov=$1
	shift
	printf 'step: %s\n' "$(sweep_cmdline "$@")" >>"$prov"
	printf '+ %s\n' "$(sweep_cmdline "$@")" >&2
	"$@"
}

# provenance_write FILE WHAT: where this job's numbers came from, as "key: value" lines:
# tools/provenance.sh's (date, command, git commit, host, GPU with clocks and driver, CPU,
# nvcc, compiler, gnuplot, Slurm job, modules), then what the job made, the rest of its
# Slurm identity and the environment that shapes a run. sweep_run appends the steps.
provenance_write() {
	local f=$1 what=$2 v
	{
		"$SWEEP_ROOT/tools/provenance.sh" "${SWEEP_COMMAND:-unknown}"
		echo "what: $what"
		[ -n "${SWEEP_SUBMIT_COMMAND:-}" ] && echo "submitted_by: $SWEEP_SUBMIT_COMMAND"
		for v in SLURM_CLUSTER_NAME SLURM_ARRAY_JOB_ID SLURM_JOB_NAME SLURM_JOB_ACCOUNT \
			SLURM_JOB_NODELIST SLURM_SUBMIT_DIR SLURM_GPUS SLURM_JOB_GPUS CUDA_VISIBLE_DEVICES; do
			[ -n "${!v:-}" ] && printf '%s: %s\n' "$(printf '%s' "$v" | tr '[:upper:]' '[:lower:]')" "${!v}"
		done
		# The variables that change what a run does; not the whole environment, which may
		# hold tokens.
		env | grep -E '^(PATH|LD_LIBRARY_PATH|LOADEDMODULES|CUDA_[A-Z_]*|NVIDIA_[A-Z_]*|OMP_[A-Z_]*|CC|CFLAGS|GPU_ARCH|DTYPE|RUN_FLAGS|KERNELS?|PRESET|N_SEQS|SWEEP_[A-Z_]*)=' |
			LC_ALL=C sort | sed 's/^/env: /'
	} >"$f"
}

# sweep_slice OUT KERNEL N PRESET: one slice, the same steps as `make results` for it:
# gen-configs for the preset at this n_seqs, then run-kernel for the kernel. Done when
# OUT/KERNEL-nN.sweep.csv exists and is whole; then it is skipped unless SWEEP_FORCE=1.
# DTYPE and RUN_FLAGS mean what they mean to make.
sweep_slice() {
	local out=$1 k=$2 n=$3 preset=$4 s prov rc
	s=$(slice_name "$k" "$n")
	mkdir -p "$out/slurm" || return 1
	if slice_done "$out/$s.sweep.csv" && [ "${SWEEP_FORCE:-0}" != 1 ]; then
		sweep_say "$s: $out/$s.sweep.csv is already done; skipped (SWEEP_FORCE=1 re-runs it)"
		rm -f "$out/slurm/$s.failed"
		return 0
	fi
	prov=$out/slurm/$s.prov.txt.tmp.$$
	provenance_write "$prov" "slice $s (kernel $k, n_seqs $n, preset $preset)"
	: >"$prov.start"
	# configs-nN.csv is shared by the kernels of one n_seqs, whose tasks may write it at the
	# same moment: each writes the same bytes and renames, so every reader sees a whole file.
	# shellcheck disable=SC2086  # RUN_FLAGS is an option list, as in the Makefile
	sweep_run "$prov" "$SWEEP_BIN/gen-configs" --preset "$preset" --n-seqs "$n" \
		--dtype "${DTYPE:-bf16}" -o "$out/configs-n$n.csv" &&
		sweep_run "$prov" "$SWEEP_BIN/run-kernel" -k "$k" ${RUN_FLAGS:-} \
			-o "$out/$s.sweep.csv" "$out/configs-n$n.csv"
	rc=$?
	printf 'exit: %s\n' "$rc" >>"$prov"
	mv -f "$prov" "$out/slurm/$s.prov.txt"
	# run-kernel -o renames its file into place when every row ran, also at exit 3 (rows
	# that failed validation are left out); a slice that did not exit 0 is moved aside,
	# never taken as done.
	if [ "$rc" -ne 0 ] && [ "$out/$s.sweep.csv" -nt "$prov.start" ]; then
		mv -f "$out/$s.sweep.csv" "$out/slurm/$s.rejected.csv"
	fi
	rm -f "$prov.start"
	[ "$rc" -eq 0 ] || return "$rc"
	if ! slice_done "$out/$s.sweep.csv"; then
		sweep_say "$s: run-kernel exited 0 but $out/$s.sweep.csv has no rows"
		return 1
	fi
	rm -f "$out/slurm/$s.failed" "$out/slurm/$s.rejected.csv"
	sweep_say "$s: done: $out/$s.sweep.csv ($(($(wc -l <"$out/$s.sweep.csv") - 1)) rows)"
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

# sweep_merge OUT PRESET SLICES...: what the dependent job does once every slice is done,
# with the same tools and scripts as `make results`: aggregate each slice by blocks, join
# the kernels of each n_seqs, draw the figures, write the provenance.
# SLICES are KERNEL:N words; none means every KERNEL-nN.sweep.csv in OUT.
sweep_merge() {
	local rc
	_sweep_merge "$@"
	rc=$?
	[ "$rc" -eq 0 ] || rm -f "$1/provenance.txt.tmp.$$"
	return "$rc"
}
_sweep_merge() {
	local out=$1 preset=$2 prov sl k n s f missing='' kernels='' nseqs=''
	local -a aggs
	shift 2
	if [ $# -eq 0 ]; then
		for f in "$out"/*-n*.sweep.csv; do
			[ -f "$f" ] || continue
			s=${f##*/}
			s=${s%.sweep.csv}
			set -- "$@" "${s%-n*}:${s##*-n}"
		done
		[ $# -gt 0 ] || { sweep_say "no KERNEL-nN.sweep.csv in $out"; return 1; }
	fi
	for sl in "$@"; do
		k=${sl%%:*} n=${sl#*:}
		slice_done "$out/$(slice_name "$k" "$n").sweep.csv" || missing="$missing $(slice_name "$k" "$n")"
		case " $kernels " in *" $k "*) ;; *) kernels="$kernels $k" ;; esac
		case " $nseqs " in *" $n "*) ;; *) nseqs="$nseqs $n" ;; esac
	done
	if [ -n "$missing" ]; then
		sweep_say "slices not done:$missing; nothing merged (jobs/submit.sh runs what is missing)"
		return 1
	fi
	mkdir -p "$out/slurm" || return 1
	prov=$out/provenance.txt.tmp.$$
	provenance_write "$prov" "merge of$kernels x n_seqs$nseqs${preset:+ (preset $preset)} in $out"

	for n in $nseqs; do
		aggs=()
		for k in $kernels; do
			s=$(slice_name "$k" "$n")
			[ -f "$out/$s.sweep.csv" ] || continue
			sweep_run "$prov" "$SWEEP_BIN/agg-blocks" -o "$out/$s.agg.csv" "$out/$s.sweep.csv" || return 1
			aggs+=("$out/$s.agg.csv")
		done
		sweep_run "$prov" "$SWEEP_ROOT/tools/join-all.sh" "$SWEEP_BIN/csv-join" blocks \
			"$out/joined-n$n.csv" "${aggs[@]}" || return 1
	done
	command -v gnuplot >/dev/null 2>&1 ||
		{ sweep_say "gnuplot not found: the CSVs are in $out; draw the figures with 'make plots' where gnuplot is"; return 1; }
	# Each slice's own provenance follows the merge's, indented under a `slice:` line so
	# the top-level keys stay unique (the figures' titles take their date from this file,
	# which is why it is in place before they are drawn).
	printf 'step: %s\n' "$(sweep_cmdline "$SWEEP_ROOT/tools/draw-plots.sh" "$out")" >>"$prov"
	for sl in "$@"; do
		s=$(slice_name "${sl%%:*}" "${sl#*:}")
		f=$out/slurm/$s.prov.txt
		[ -f "$f" ] && { echo "slice: $s"; sed 's/^/  /' "$f"; } >>"$prov"
	done
	mv -f "$prov" "$out/provenance.txt"
	"$SWEEP_ROOT/tools/draw-plots.sh" "$out" || return 1
	touch "$out/plots.stamp"
	echo "${SLURM_JOB_ID:-local} $(date -u +%Y-%m-%dT%H:%M:%SZ)" >"$out/slurm/merge.done.tmp.$$" &&
		mv -f "$out/slurm/merge.done.tmp.$$" "$out/slurm/merge.done"
	sweep_say "merged into $out: *.agg.csv, joined-n*.csv, plots/, provenance.txt"
}
