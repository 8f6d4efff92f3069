#!/bin/bash
# gpu-slot.sh [-t TAG] [-r RECORD] [-l LOG] [-d LOCKDIR] "DEVICES" COMMAND [ARG...]
# Runs COMMAND on one GPU of DEVICES, never two commands on one GPU at once:
# it takes the first device of the list whose lock (LOCKDIR/gpu-ID.lock,
# flock) is free, waiting while every one is held, and keeps the lock until
# COMMAND has exited.  COMMAND sees only that GPU: CUDA_VISIBLE_DEVICES=ID
# (run-kernel's default --device 0 is then that GPU, and its `device` column
# says ID), with CUDA_DEVICE_ORDER=PCI_BUS_ID unless set, so IDs are
# nvidia-smi's indices.  `make results GPUS="0 1 2 3"` runs every sweep
# through it, with make -j4, so four sweeps run at once, one per GPU.
#
#   DEVICES   ids as CUDA_VISIBLE_DEVICES takes them (indices or UUIDs), by
#             spaces or commas: "0 1 2 3", "2,3"
#   -t TAG    a name for the messages and the log (make: the slice, tk-n32)
#   -r FILE   append `device: ID` and `device_held_since: DATE` to FILE once
#             the GPU is held (make: the sweep's provenance record)
#   -l LOG    append `TAG ID START END EXIT` to LOG when COMMAND ends, START
#             and END in seconds since the epoch (the tests and the
#             interference check read it); $GPU_SLOT_LOG by default
#   -d DIR    the lock folder; $GPU_LOCK_DIR, else one per user (and per
#             Slurm job: a job's GPUs are its own, whatever their numbers)
#             under $TMPDIR or /tmp, so the makes of one user share a
#             machine's GPUs without doubling up on one
# Exit: COMMAND's status (128+N when a signal N ended it); 2 usage.  SIGINT,
# SIGTERM and SIGHUP are passed on to COMMAND, which is waited for.
set -u
prog=gpu-slot.sh
die() { printf '%s: %s\n' "$prog" "$*" >&2; exit 2; }
usage() { die "usage: $prog [-t TAG] [-r RECORD] [-l LOG] [-d LOCKDIR] \"DEVICES\" COMMAND [ARG...]"; }

tag='' record='' log=${GPU_SLOT_LOG:-}
dir=${GPU_LOCK_DIR:-${TMPDIR:-/tmp}/prefix-attn-gpus-$(id -u)${SLURM_JOB_ID:+-job$SLURM_JOB_ID}}
while [ $# -gt 0 ]; do
	case $1 in
	-t) [ $# -ge 2 ] || usage; tag=$2; shift 2 ;;
	-r) [ $# -ge 2 ] || usage; record=$2; shift 2 ;;
	-l) [ $# -ge 2 ] || usage; log=$2; shift 2 ;;
	-d) [ $# -ge 2 ] || usage; dir=$2; shift 2 ;;
	--) shift; break ;;
	-*) usage ;;
	*) break ;;
	esac
done
[ $# -ge 2 ] || usage
read -r -a devs <<<"${1//,/ }"
shift
[ "${#devs[@]}" -gt 0 ] || die "no GPUs given (GPUS=\"0 1 2 3\", or leave GPUS unset for every visible one)"
for d in "${devs[@]}"; do
	[[ $d =~ ^[A-Za-z0-9][A-Za-z0-9._/-]*$ ]] ||
		die "GPU '$d': expected a device index or UUID as CUDA_VISIBLE_DEVICES takes them (GPUS=\"0 1 2 3\")"
done
tag=${tag:-$(basename "$1")}

# Take a GPU: the first free one in the list's order, so with N GPUs and N
# commands each gets its own.  fd 9 holds the lock; COMMAND inherits it, so a
# GPU stays taken while anything this started still runs on it.
dev=''
if [ "${#devs[@]}" -eq 1 ] && ! command -v flock >/dev/null 2>&1; then
	dev=${devs[0]} # one GPU and no flock: nothing to share it with in this make
else
	command -v flock >/dev/null 2>&1 || die "flock not found (Debian: util-linux): needed to share ${#devs[@]} GPUs"
	mkdir -p "$dir" || die "cannot create the lock folder $dir"
	waited=0 t0=$SECONDS
	while [ -z "$dev" ]; do
		for d in "${devs[@]}"; do
			exec 9>>"$dir/gpu-${d//\//_}.lock" || die "cannot open $dir/gpu-${d//\//_}.lock"
			if flock -n 9; then dev=$d; break; fi
			exec 9>&-
		done
		if [ -z "$dev" ]; then
			[ "$waited" = 1 ] || printf '%s: %s: every GPU of "%s" is busy; waiting\n' "$prog" "$tag" "${devs[*]}" >&2
			waited=1
			sleep 0.2
		fi
	done
	[ "$waited" = 1 ] && printf '%s: %s: GPU %s free after %d s\n' "$prog" "$tag" "$dev" $((SECONDS - t0)) >&2
fi

export CUDA_VISIBLE_DEVICES=$dev CUDA_DEVICE_ORDER=${CUDA_DEVICE_ORDER:-PCI_BUS_ID}
if [ -n "$record" ]; then
	printf 'device: %s\ndevice_held_since: %s\n' "$dev" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" >>"$record" ||
		die "cannot write $record"
fi
printf '%s: %s on GPU %s\n' "$prog" "$tag" "$dev" >&2
start=$(date +%s.%N)
# In the background (stdin kept: a non-interactive shell would give it
# /dev/null) so that a signal reaches this script while it waits, and is
# passed on: COMMAND is never left running on a GPU whose lock is gone.
exec 3<&0
"$@" <&3 3<&- &
child=$!
exec 3<&-
for sig in INT TERM HUP; do
	# shellcheck disable=SC2064  # $child and $sig now, not when trapped
	trap "kill -$sig $child 2>/dev/null" "$sig"
done
while :; do
	wait "$child"
	rc=$?
	# wait returns early (>128) when a trapped signal arrives; the child may still run
	kill -0 "$child" 2>/dev/null || break
done
end=$(date +%s.%N)
[ -n "$log" ] && printf '%s %s %s %s %s\n' "$tag" "$dev" "$start" "$end" "$rc" >>"$log"
exit "$rc"
