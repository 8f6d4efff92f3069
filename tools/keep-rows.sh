#!/bin/sh
# keep-rows.sh - the one rule by which the Makefile's sweep rules (the
# kernels' and the peers') keep the measured rows of a sweep whose run ended
# in exit 3, and say so.
#
#   keep-rows.sh KIND WHO RC CONFIGS SWEEP RECORD
#
# After a run that wrote SWEEP (NAME.sweep.csv) from CONFIGS and exited RC
# (not 0): the rows it did not measure are listed, one line each with its
# reason, in NAME.KIND.txt beside SWEEP:
#   refused  a kernel's sweep (run-kernel --refusals): the rows the kernel
#            refused (its check(): a shape it does not run, a documented limit).
#            Kept only when every config row is measured or refused: a row
#            that failed validation, a CUDA error or a skipped row is a bug
#            here, so the sweep fails.
#   failed   a peer's sweep (run-peer --failures): the rows the peer failed
#            or skipped (a library's limits and errors are data to report).
# When RC is 3, SWEEP has at least one row and the list is not empty (and,
# for refused, measured + listed rows = config rows), RECORD (the sweep's
# record being written) gets `KIND_rows: N of M (...: NAME.KIND.txt says
# why)`, WHO (make's goal: results, peers, ...) says so on stderr and the
# exit is 0: the sweep is made.  Otherwise RECORD and the list are removed
# and the exit is RC, so make deletes the sweep (.DELETE_ON_ERROR).
#
#   keep-rows.sh --summary KIND WHO RECORD...
#
# One line for each RECORD whose sweep was kept so: how many rows are not
# measured and which file says why (for the end of make results / peers).
set -u

# the words of each kind: the record's reason, the rows' name, why they are not measured
words() {
	case $1 in
	refused) reason='the kernel does not run them' rows='refused' because='the kernel does not run them' ;;
	failed) reason='not measured' rows='not measured' because='the peer failed them' ;;
	*) echo "keep-rows.sh: kind '$1': expected refused or failed" >&2; exit 2 ;;
	esac
}

if [ "${1:-}" = --summary ]; then
	[ $# -ge 3 ] || { echo "keep-rows.sh: usage: keep-rows.sh --summary KIND WHO RECORD..." >&2; exit 2; }
	kind=$2 who=$3
	shift 3
	words "$kind"
	for r in "$@"; do
		list=${r%.prov.txt}.$kind.txt
		n=$(sed -n "s/^${kind}_rows: \([0-9]* of [0-9]*\) .*/\1/p" "$r" 2> /dev/null)
		[ -n "$n" ] && [ -f "$list" ] &&
			echo "$who: $(basename "${r%.prov.txt}"): $n rows $rows ($because), each with its reason in $list"
	done
	exit 0
fi

# data rows of a CSV (non-empty lines after the header: a last line without
# its newline counts, a trailing empty line does not) and lines of a list
rows_of() { awk 'NR > 1 && length' "$1" | wc -l; }
lines_of() { awk 'length' "$1" | wc -l; }

[ $# = 6 ] || { echo "keep-rows.sh: usage: keep-rows.sh KIND WHO RC CONFIGS SWEEP RECORD" >&2; exit 2; }
kind=$1 who=$2 rc=$3 configs=$4 sweep=$5 record=$6
words "$kind"
name=${sweep%.sweep.csv}
list=$name.$kind.txt
if [ "$rc" = 3 ] && [ -s "$list" ] && [ -f "$sweep" ] && [ "$(rows_of "$sweep")" -ge 1 ]; then
	total=$(rows_of "$configs") measured=$(rows_of "$sweep")
	if [ "$kind" != refused ] || [ $((measured + $(lines_of "$list"))) = "$total" ]; then
		echo "${kind}_rows: $((total - measured)) of $total ($reason: $(basename "$list") says why)" >> "$record" &&
			echo "$who: $(basename "$name"): $measured row(s) measured and kept; the rows $rows are in $list" >&2 &&
			exit 0
	fi
fi
rm -f "$record" "$list"
exit "$rc"
