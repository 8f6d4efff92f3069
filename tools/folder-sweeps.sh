#!/bin/sh
# folder-sweeps.sh DIR N [ALSO.agg.csv ...] - the aggregated CSVs of the
# kernels' sweeps at n_seqs N that DIR/provenance.txt records, in its
# order, one path a line (those whose DIR/KERNEL-nN.agg.csv exists), then
# each ALSO not among them (make's own kernels: a folder whose
# provenance.txt has no records still joins those).  A kernel's sweep is a record
# without `peer:` lines: the peers (tools/run-peer) stay out of the join,
# where a config one of them failed would drop the row for every kernel.
# What make's joined-nN.csv rule and tools/fold-sweeps.sh join.
dir=${1:?usage: folder-sweeps.sh DIR N [ALSO.agg.csv ...]} n=${2:?usage: folder-sweeps.sh DIR N [ALSO.agg.csv ...]}
shift 2
[ -r "$dir/provenance.txt" ] || { echo "folder-sweeps.sh: $dir/provenance.txt: cannot read" >&2; exit 1; }
listed=$(awk -v n="$n" '
	function flush() { if (name != "" && !peer) print name }
	/^sweep: / { flush(); name = substr($0, 8); peer = 0; if (name !~ ("-n" n "$")) name = ""; next }
	/^  peer: / { peer = 1 }
	END { flush() }' "$dir/provenance.txt" | while IFS= read -r s; do
	[ -e "$dir/$s.agg.csv" ] && echo "$dir/$s.agg.csv"
done)
[ -n "$listed" ] && printf '%s\n' "$listed"
for f in "$@"; do
	printf '%s\n' "$listed" | grep -qxF "$f" || echo "$f"
done
exit 0
