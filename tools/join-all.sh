#!/bin/sh
# join-all.sh CSV_JOIN KEYS OUT A.agg.csv B.agg.csv ... - join the aggregated
# sweeps of several kernels on the key columns KEYS (e.g. blocks) into one
# wide CSV (latency_ms_tk,
# latency_ms_native, ...).  Each input's kernel name is its suffix.  With a
# single input the join is that file.  Written atomically.
set -eu
join=$1 keys=$2 out=$3
shift 3
tmp="$out.tmp.$$"
trap 'rm -f "$tmp" "$tmp.2"' EXIT
if [ $# -eq 1 ]; then
	cp "$1" "$tmp"
else
	"$join" -k "$keys" -o "$tmp" "$1" "$2"
	shift 2
	for f in "$@"; do
		k=$(basename "$f" | sed 's/-n[0-9]*\.agg\.csv$//')
		"$join" -k "$keys" --suffixes ",$k" -o "$tmp.2" "$tmp" "$f"
		mv "$tmp.2" "$tmp"
	done
fi
mv "$tmp" "$out"
