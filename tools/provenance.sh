#!/bin/sh
# provenance.sh "COMMAND" - where a results folder came from, as key: value
# lines: date, git commit, the sources' hash, host, GPU (name, SM/memory clocks, driver), CPU,
# nvcc and compiler versions, Slurm job, loaded modules, the exact command
# and, for a run-kernel command, the peaks its efficiencies are against.
# Read-only: it queries, never changes, the GPU.
#
# provenance.sh --sweeps "SETTINGS" [--keep OLD] A.prov.txt ... - a results
# folder's provenance.txt from its sweeps' own records (each written on the
# host that ran the sweep): the settings, the earliest sweep's date (the
# figures' titles take it), then each record, indented under a `sweep: NAME`
# line, verbatim.  Nothing of the host running this is added: that goes to
# merge.txt.  A `devices:` line lists every GPU the sweeps held (HOST:ID,
# from each record's `device:` line, which tools/gpu-slot.sh writes).
# --keep OLD (the folder's provenance.txt, if it exists) keeps the records of
# OLD's sweeps that this run did not make, in their place: a new record
# replaces the old one of its name, new names follow.  A kept record must
# still describe what the folder holds: its sweep's CSV beside OLD and the
# same settings; any other is dropped, with one line on stderr.
# --into FILE is --keep FILE, the result written to FILE (atomically)
# instead of stdout: how make's rules and tools/fold-sweeps.sh update a
# folder's provenance.txt.
#
# provenance.sh --merge-note FILE "COMMAND" - FILE (a folder's merge.txt),
# written atomically: this host's provenance of COMMAND, then the earlier
# notes' commands as `earlier:` lines, newest first (the folder's history
# of merges and folds).
self=$(dirname "$0")/$(basename "$0")
trap 'exit 1' INT TERM # so that the EXIT traps below clean up
# write_to FILE CMD...: CMD's output into FILE, renamed into place only when
# CMD succeeds; then exits (0, or 1 with FILE as it was)
write_to() {
	dst=$1 out="$1.tmp.$$"
	shift
	trap 'rm -f "$out"' EXIT
	"$@" > "$out" && mv -f "$out" "$dst" && exit 0
	exit 1
}
# this host's note of COMMAND, then FILE's commands before it as `earlier:`
merge_note() {
	"$self" "$2" && { [ ! -e "$1" ] || sed -n '/^earlier: /p; s/^command: /earlier: /p' "$1"; }
}
if [ "${1:-}" = --merge-note ]; then
	write_to "$2" merge_note "$2" "$3"
fi
if [ "${1:-}" = --sweeps ]; then
	settings=$2
	shift 2
	keep="" into=""
	case ${1:-} in
	--keep) keep=$2 && shift 2 ;;
	--into) keep=$2 into=$2 && shift 2 ;;
	esac
	for f in "$@"; do
		[ -r "$f" ] || { echo "provenance.sh: $f: cannot read (a sweep's record)" >&2; exit 1; }
	done
	[ -n "$into" ] && write_to "$into" "$self" --sweeps "$settings" --keep "$into" "$@"
	tmp=""
	if [ -n "$keep" ] && [ -s "$keep" ]; then
		# the old records back as files (one per sweep, un-indented), and
		# the list in OLD's order with this run's records in their place
		tmp=$(mktemp -d "${TMPDIR:-/tmp}/provenance.XXXXXX")
		: > "$tmp/order"
		trap 'rm -rf "$tmp"' EXIT
		grep -q '^sweep: ' "$keep" ||
			echo "provenance.sh: $keep: no sweep: records (an older format, one command for the folder): nothing of it kept" >&2
		awk -v t="$tmp" '/^sweep: / { f = t "/" substr($0, 8) ".prov.txt"; print substr($0, 8) > (t "/order"); next }
			f != "" && /^  / { print substr($0, 3) > f }' "$keep"
		dir=$(dirname "$keep")
		list=""
		while IFS= read -r name; do
			new=""
			for f in "$@"; do [ "$(basename "$f" .prov.txt)" = "$name" ] && new=$f; done
			if [ -n "$new" ]; then
				list="$list
$new"
			elif [ ! -e "$dir/$name.sweep.csv" ]; then
				echo "provenance.sh: $keep: the record of $name dropped: $dir/$name.sweep.csv is gone" >&2
			elif ! grep -qxF "settings: $settings" "$tmp/$name.prov.txt"; then
				echo "provenance.sh: $keep: the record of $name dropped: its settings are not '$settings' (its CSVs are of another run)" >&2
			else
				list="$list
$tmp/$name.prov.txt"
			fi
		done < "$tmp/order"
		for f in "$@"; do
			printf '%s\n' "$list" | grep -qxF "$f" || list="$list
$f"
		done
		set --
		while IFS= read -r f; do [ -n "$f" ] && set -- "$@" "$f"; done <<- EOF
			$list
		EOF
	fi
	echo "settings: $settings"
	echo "$(for f in "$@"; do sed -n 's/^date: //p' "$f" | head -n 1; done | sort | head -n 1 | sed 's/^/date: /') (first sweep)"
	devices=$(for f in "$@"; do
		d=$(sed -n 's/^device: //p' "$f" | head -n 1)
		[ -n "$d" ] && echo "$(sed -n 's/^host: //p' "$f" | head -n 1):$d"
	done | awk '!seen[$0]++' | tr '\n' ' ')
	[ -n "$devices" ] && echo "devices: ${devices% }"
	for f in "$@"; do
		echo "sweep: $(basename "$f" .prov.txt)"
		sed 's/^/  /' "$f"
	done
	exit 0
fi
cmd=${1:-unknown}
echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo "command: $cmd"
# A run-kernel command: the peaks its rows divide by (compute_eff_pct,
# kv_mem_eff_pct), asked of the same binary with the same options
# (--peaks reads the device's attributes and launches nothing; the last -o
# wins, so `-o -` keeps it off the command's output file): the GPU's own, a
# --peak-* flag's, or the defaults, and where each came from.
case ${cmd%% *} in
*run-kernel)
	peaks=$(eval "${cmd%% *} --peaks ${cmd#* } -o -" 2> /dev/null | sed -n '2,$p')
	[ -n "$peaks" ] || peaks=unknown
	printf '%s\n' "$peaks" | sed 's/^/peaks: /'
	echo "peaks_fields: backend, gpu, peak_tflops, peak_gbps, peak_tflops_from, peak_gbps_from"
	;;
esac
# GIT_COMMIT, when set, names the commit of a tree copied to a GPU box: such
# a copy may carry no .git, or a stale one, so it wins over what git says.
dirty=""
if [ -n "${GIT_COMMIT:-}" ]; then
	commit="$GIT_COMMIT (given by GIT_COMMIT)"
elif commit=$(git rev-parse --verify -q HEAD 2>/dev/null); then
	git diff --quiet HEAD -- tools kernels Makefile 2>/dev/null ||
		dirty=" (with uncommitted changes to tools/kernels/Makefile)"
else
	commit="unknown (not a git checkout)"
fi
echo "git_commit: $commit$dirty"
# what the sources were, from their contents: matches `tools/source-hash.sh
# --commit REV` of the commit the run had, whatever the copy's git said
src=$("$(dirname "$0")/source-hash.sh" "$(dirname "$0")/.." 2> /dev/null) || src=unknown
echo "source_tree: $src (tools/source-hash.sh --commit REV gives a commit's)"
echo "host: $(hostname 2>/dev/null || echo "${HOSTNAME:-unknown}")"
if nvidia-smi -L > /dev/null 2>&1; then
	nvidia-smi --query-gpu=index,name,driver_version,clocks.sm,clocks.mem,clocks.max.sm,clocks.max.mem,memory.total,power.limit,temperature.gpu \
		--format=csv,noheader | sed 's/^/gpu: /'
	echo "gpu_fields: index, name, driver, sm_clock_now, mem_clock_now, sm_clock_max, mem_clock_max, memory, power_limit, temperature"
else
	echo "gpu: none (CPU reference backend)"
fi
echo "cpu: $(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2 | sed 's/^ //') x $(nproc 2>/dev/null)"
echo "nvcc: $(nvcc --version 2>/dev/null | grep -o 'release [0-9.]*, V[0-9.]*' || echo none)"
echo "cc: $(${CC:-cc} --version 2>/dev/null | head -n1)"
echo "gnuplot: $(gnuplot --version 2>/dev/null || echo none)"
[ -n "${SLURM_JOB_ID:-}" ] && echo "slurm_job: ${SLURM_JOB_ID} array_task=${SLURM_ARRAY_TASK_ID:-none} partition=${SLURM_JOB_PARTITION:-?} node=${SLURMD_NODENAME:-?}"
[ -n "${SLURM_GPUS:-}" ] && echo "slurm_gpus: $SLURM_GPUS"
[ -n "${SLURM_JOB_ID:-}" ] && [ -n "${CUDA_VISIBLE_DEVICES:-}" ] && echo "cuda_visible_devices: $CUDA_VISIBLE_DEVICES"
[ -n "${SWEEP_SUBMIT_COMMAND:-}" ] && echo "submitted_by: $SWEEP_SUBMIT_COMMAND"
if command -v module > /dev/null 2>&1 || [ -n "${LOADEDMODULES:-}" ]; then
	echo "modules: ${LOADEDMODULES:-none}"
fi
exit 0
