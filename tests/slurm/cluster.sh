#!/bin/bash
# tests/slurm/cluster.sh — a throwaway single-node Slurm cluster for tests and for trying
# jobs/ on a machine without Slurm. Everything it makes lives in one fresh directory
# (config, munge key and socket, state, spool, logs, pid files), so it never touches
# /etc/slurm or a system munged, and a second run never inherits old jobs or drained nodes.
#
#   tests/slurm/cluster.sh up [DIR]   start munged, slurmctld, slurmd (as root); prints DIR
#   tests/slurm/cluster.sh env DIR    prints `export SLURM_CONF=...` for clients
#   tests/slurm/cluster.sh down DIR   stop exactly the daemons that `up` started in DIR
#
# or, from a test: `. tests/slurm/cluster.sh` then cluster_up DIR / cluster_down DIR.
#
# The node has one partition named GPU-shared and four fake GPUs of type h100-80 (character
# devices that are /dev/null), so jobs/sweep.sbatch's unchanged Bridges-2 lines
# (`-p GPU-shared`, `--gpus=h100-80:1`) schedule here as they do on the real machine, and so
# does a job with several GPUs (`--gpus=h100-80:4`, GPUS_PER_JOB=4).
# Why a setting is what it is: the comment beside it in cluster_up.

# Packages the cluster needs (Debian names) and the commands that prove they are installed.
CLUSTER_PACKAGES="slurmctld slurmd slurm-client munge"
CLUSTER_COMMANDS="slurmctld slurmd sbatch squeue scontrol scancel munged munge unmunge"
CLUSTER_NODE=testnode

cluster_log() { printf 'cluster: %s\n' "$*" >&2; }

# cluster_install: install the Slurm and munge packages when a command is missing. Only
# root with apt can; anyone else gets one line naming what to install.
cluster_install() {
	local c missing=
	for c in $CLUSTER_COMMANDS; do
		PATH=$PATH:/usr/sbin:/sbin command -v "$c" >/dev/null 2>&1 || missing="$missing $c"
	done
	[ -z "$missing" ] && return 0
	if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
		cluster_log "missing$missing: install the Debian packages: $CLUSTER_PACKAGES"
		return 1
	fi
	cluster_log "installing $CLUSTER_PACKAGES (missing:$missing)"
	# Another apt may hold the lock (a parallel install step): wait for it, not fail.
	# shellcheck disable=SC2086  # the package list is meant to split
	if ! { DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y \
		--no-install-recommends $CLUSTER_PACKAGES ||
		{ apt-get -o DPkg::Lock::Timeout=300 update -q &&
			DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y \
				--no-install-recommends $CLUSTER_PACKAGES; }; } >"${TMPDIR:-/tmp}/cluster-apt.$$.log" 2>&1; then
		cluster_log "apt-get install $CLUSTER_PACKAGES failed: see ${TMPDIR:-/tmp}/cluster-apt.$$.log"
		return 1
	fi
	rm -f "${TMPDIR:-/tmp}/cluster-apt.$$.log"
}

# cluster_port_free PORT: nobody listens on PORT (TCP, v4 or v6). Reads /proc so it needs no
# ss/netstat; a foreign listener on a Slurm port makes every client call hang.
cluster_port_free() {
	local hex
	hex=$(printf '%04X' "$1")
	! awk -v p=":$hex" '$4 == "0A" && substr($2, length($2) - 4) == p { f = 1 } END { exit !f }' \
		/proc/net/tcp /proc/net/tcp6 2>/dev/null
}

# cluster_pick_ports: two consecutive free ports away from Slurm's defaults (6817/6818).
cluster_pick_ports() {
	local try base
	for try in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
		base=$((20000 + (RANDOM * 7 + $$ + try * 131) % 30000))
		if cluster_port_free "$base" && cluster_port_free $((base + 1)); then
			echo "$base"
			return 0
		fi
	done
	cluster_log "no two free TCP ports found between 20000 and 50000"
	return 1
}

# cluster_spawn PIDFILE CMD...: start a daemon in the foreground mode, in the background,
# with stdin/stdout/stderr on /dev/null and no other inherited descriptors, so it can never
# hold a CI runner's output pipe (or make's jobserver) open. The pid is ours, recorded.
cluster_spawn() {
	local pidfile=$1
	shift
	(
		for fd in /proc/"$BASHPID"/fd/*; do
			fd=${fd##*/}
			case $fd in 0 | 1 | 2) ;; *) eval "exec $fd>&-" 2>/dev/null ;; esac
		done
		exec "$@" </dev/null >/dev/null 2>&1
	) &
	echo $! >"$pidfile"
}

# cluster_alive PIDFILE NAME: the process recorded in PIDFILE runs and is NAME (a pid that
# was reused by another program is not ours to signal).
cluster_alive() {
	local pid
	pid=$(cat "$1" 2>/dev/null) || return 1
	case $pid in '' | *[!0-9]*) return 1 ;; esac
	[ "$(cat /proc/"$pid"/comm 2>/dev/null)" = "$2" ]
}

# cluster_wait SECONDS CMD...: retry CMD every 0.1 s until it succeeds or time runs out.
cluster_wait() {
	local n=$(($1 * 10))
	shift
	while [ "$n" -gt 0 ]; do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
		n=$((n - 1))
	done
	return 1
}

cluster_ping() { scontrol ping 2>/dev/null | grep -q 'is UP'; }
cluster_node_idle() { sinfo -h -n "$CLUSTER_NODE" -o %T 2>/dev/null | grep -qx idle; }

# cluster_why DIR: the last lines of the daemon logs, for a failure message.
cluster_why() {
	local f
	for f in "$1"/log/munged.log "$1"/log/slurmctld.log "$1"/log/slurmd.log; do
		[ -s "$f" ] && { echo "--- $f"; tail -n 8 "$f"; }
	done
}

# cluster_up DIR: write the config into DIR (fresh or empty), start the three daemons and
# wait until the node is idle. Exports SLURM_CONF. On failure says why and returns 1.
cluster_up() {
	local d=$1 ctl_port cpus mem_kb mem_mb host
	[ "$(id -u)" -eq 0 ] || { cluster_log "must run as root (it starts munged, slurmctld and slurmd)"; return 1; }
	cluster_install || return 1
	export PATH=$PATH:/usr/sbin:/sbin
	mkdir -p "$d" && d=$(cd "$d" && pwd) || return 1
	mkdir -p "$d"/etc "$d"/run "$d"/log "$d"/state "$d"/spool "$d"/lib "$d"/dev || return 1
	# munged refuses a socket in a 0700 directory, and a key others can read.
	chmod 0755 "$d" "$d"/run "$d"/log "$d"/lib
	chmod 0700 "$d"/etc
	dd if=/dev/urandom of="$d"/etc/munge.key bs=1024 count=1 status=none || return 1
	chmod 0400 "$d"/etc/munge.key

	ctl_port=$(cluster_pick_ports) || return 1
	cpus=$(nproc)
	# RealMemory above what the node has drains it; 90% of MemTotal is safe.
	mem_kb=$(awk '/^MemTotal:/ { print $2 }' /proc/meminfo)
	mem_mb=$((mem_kb * 9 / 10240))
	host=$(hostname -s 2>/dev/null || hostname)

	# Four fake GPUs: gres.conf needs File= to name character devices; /dev/null's numbers
	# make harmless ones. Jobs then get CUDA_VISIBLE_DEVICES like on a GPU node (0,1,2,3
	# for --gpus=h100-80:4: no cgroups here, so the node's own indices).
	for i in 0 1 2 3; do mknod "$d"/dev/nvidia$i c 1 3 || return 1; done

	cat >"$d"/etc/slurm.conf <<EOF
# Written by tests/slurm/cluster.sh for a throwaway single-node cluster in $d
ClusterName=ptest
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$ctl_port
SlurmdPort=$((ctl_port + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$d/run/munge.sock
CredType=cred/munge
StateSaveLocation=$d/state
SlurmdSpoolDir=$d/spool
SlurmctldPidFile=$d/run/slurmctld.pid
SlurmdPidFile=$d/run/slurmd.pid
SlurmctldLogFile=$d/log/slurmctld.log
SlurmdLogFile=$d/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
# No cgroups or systemd here: plain process tracking, no task binding.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
# No slurmdbd, so no sacct: each finished job's state and exit code go to this file.
JobCompType=jobcomp/filetxt
JobCompLoc=$d/log/jobcomp.txt
MpiDefault=none
ReturnToService=2
MailProg=/bin/true
# sbatch --wait polls at 2 s only while MinJobAge is small; no scheduling delay.
MinJobAge=5
SchedulerParameters=batch_sched_delay=0
KillWait=5
GresTypes=gpu
NodeName=$CLUSTER_NODE NodeAddr=127.0.0.1 NodeHostname=$host CPUs=$cpus RealMemory=$mem_mb Gres=gpu:h100-80:4 State=UNKNOWN
PartitionName=GPU-shared Nodes=$CLUSTER_NODE Default=YES MaxTime=INFINITE State=UP
EOF
	cat >"$d"/etc/gres.conf <<EOF
NodeName=$CLUSTER_NODE Name=gpu Type=h100-80 File=$d/dev/nvidia[0-3]
EOF
	export SLURM_CONF=$d/etc/slurm.conf

	cluster_spawn "$d"/run/munged.pid munged -F --socket="$d"/run/munge.sock \
		--key-file="$d"/etc/munge.key --pid-file="$d"/run/munged.real.pid \
		--log-file="$d"/log/munged.log --seed-file="$d"/lib/munge.seed
	if ! cluster_wait 10 sh -c "munge -n -S '$d/run/munge.sock' | unmunge -S '$d/run/munge.sock'"; then
		cluster_log "munged did not start"
		cluster_why "$d" >&2
		return 1
	fi
	cluster_spawn "$d"/run/slurmctld.ours.pid slurmctld -D -f "$SLURM_CONF"
	if ! cluster_wait 20 cluster_ping; then
		cluster_log "slurmctld did not come up on port $ctl_port"
		cluster_why "$d" >&2
		return 1
	fi
	# slurmd only after the controller answers, or it registers nowhere and waits.
	cluster_spawn "$d"/run/slurmd.ours.pid slurmd -D -f "$SLURM_CONF" -N "$CLUSTER_NODE"
	if ! cluster_wait 20 cluster_node_idle; then
		cluster_log "node $CLUSTER_NODE did not become idle: $(sinfo -h -N -o '%T %E' 2>&1)"
		cluster_why "$d" >&2
		return 1
	fi
}

# cluster_down DIR: cancel every job, wait for the queue to empty (running jobs outlive
# slurmd, and an orphaned slurmstepd ignores SIGTERM), shut the controller down, then make
# sure each daemon that cluster_up started is gone, by the pids it recorded and only those.
cluster_down() {
	local d=$1 f name pid n
	[ -d "$d"/run ] || return 0
	export SLURM_CONF=$d/etc/slurm.conf PATH=$PATH:/usr/sbin:/sbin
	# RPCs only while the controller answers, else every call hangs for 10 s.
	if cluster_alive "$d"/run/slurmctld.ours.pid slurmctld && cluster_ping; then
		scancel --full --quiet --user=root 2>/dev/null
		scancel --quiet --state=PENDING 2>/dev/null
		# shellcheck disable=SC2016  # expanded by that sh, not here
		cluster_wait 20 sh -c '[ -z "$(squeue -h -o %i 2>/dev/null)" ]' ||
			cluster_log "jobs still queued after 20 s: $(squeue -h -o '%i %T' 2>&1 | tr '\n' ' ')"
		scontrol shutdown >/dev/null 2>&1
	fi
	for f in slurmd:slurmd.ours.pid slurmctld:slurmctld.ours.pid munged:munged.pid; do
		name=${f%%:*}
		pid=$(cat "$d/run/${f#*:}" 2>/dev/null) || continue
		n=50
		while cluster_alive "$d/run/${f#*:}" "$name" && [ "$n" -gt 0 ]; do
			# scontrol shutdown stops the Slurm daemons itself; munged needs a signal.
			[ "$name" = munged ] || [ "$n" -le 30 ] && kill -TERM "$pid" 2>/dev/null
			sleep 0.1
			n=$((n - 1))
		done
		if cluster_alive "$d/run/${f#*:}" "$name"; then
			cluster_log "$name ($pid) ignored SIGTERM; killing it"
			kill -KILL "$pid" 2>/dev/null
		fi
		rm -f "$d/run/${f#*:}"
	done
	# Reap our background children so none is left as a zombie of the caller.
	wait 2>/dev/null
	return 0
}

# Run as a command (not sourced): up / env / down.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	case ${1-} in
	up)
		dir=${2:-$(mktemp -d "${TMPDIR:-/tmp}/slurm-cluster.XXXXXX")}
		if cluster_up "$dir"; then
			echo "$dir"
			cluster_log "up; use: export SLURM_CONF=$dir/etc/slurm.conf; stop: $0 down $dir"
		else
			cluster_down "$dir"
			exit 1
		fi
		;;
	env) [ -n "${2-}" ] && echo "export SLURM_CONF=$2/etc/slurm.conf" || exit 2 ;;
	down) [ -n "${2-}" ] || exit 2; cluster_down "$2" ;;
	*)
		echo "usage: $0 up [DIR] | env DIR | down DIR" >&2
		exit 2
		;;
	esac
fi
