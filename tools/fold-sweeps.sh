#!/bin/bash
# fold-sweeps.sh "SETTINGS" "AGG_KEYS" BIN DIR SRC - fold the sweeps of the
# folder SRC into the results folder DIR: what `make fold RESULTS=DIR
# FROM=SRC` runs.  SRC is a folder that `make sweeps` / `make peers` wrote,
# typically on a GPU machine (GIT_COMMIT set there, the folder copied back):
# each KERNEL-nN.sweep.csv with its KERNEL-nN.prov.txt (and .refused.txt /
# .failed.txt), its configs-nN.csv.  Into DIR go those files and the
# sweeps' aggregates; DIR's provenance.txt keeps its other sweeps' records
# and takes SRC's in place of the old ones of their names (provenance.sh
# --into); joined-nN.csv is joined again over every kernel sweep the folder
# records (folder-sweeps.sh); merge.txt says what was folded, on top of the
# commands before it.
#
# Everything is checked before DIR changes: SRC's records must carry
# SETTINGS (make's PRESET, DTYPE, RUN_FLAGS), which must be DIR's; SRC's
# configs-nN.csv must be DIR's (the same rows measured); every record needs
# its CSV; the aggregates are made in a staging folder.  Errors: one line,
# exit 1; usage exit 2.  (A failure after the files are renamed into DIR --
# a full disk, a kill -- is repaired by running the same fold again.)
set -euo pipefail
me=fold-sweeps
die() {
	echo "$me: $*" >&2
	exit 1
}
[ $# -eq 5 ] || {
	echo "usage: tools/fold-sweeps.sh SETTINGS AGG_KEYS BIN DIR SRC (make fold RESULTS=DIR FROM=SRC)" >&2
	exit 2
}
settings=$1 keys=$2 bin=$3 dir=${4%/} src=${5%/}
root=$(cd "$(dirname "$0")/.." && pwd)
[ -d "$src" ] || die "$src: not a directory"
[ -d "$dir" ] || mkdir -p "$dir" || die "$dir: cannot create"
[ "$(cd "$src" && pwd -P)" != "$(cd "$dir" && pwd -P)" ] || die "$src: the folder itself (FROM must be another folder)"
if [ -e "$dir/provenance.txt" ]; then
	grep -q '^sweep: ' "$dir/provenance.txt" ||
		die "$dir/provenance.txt: no sweep: records (an older format, one command for the folder): its sweeps cannot be kept beside new ones; re-make the folder with make sweeps"
	have=$(sed -n 's/^settings: //p' "$dir/provenance.txt" | head -n 1)
	[ "$have" = "$settings" ] ||
		die "$dir/provenance.txt:1: the folder's settings are '$have', not '$settings' (give make fold those: PRESET, DTYPE, RUN_FLAGS)"
fi

# the sweeps of SRC, each checked
names=()
shopt -s nullglob
for rec in "$src"/*.prov.txt; do
	name=$(basename "$rec" .prov.txt)
	[ -s "$src/$name.sweep.csv" ] || die "$rec: no $name.sweep.csv beside it (a sweep that did not finish)"
	line=$(grep -n '^settings: ' "$rec" | head -n 1) || die "$rec: no settings: line (not a record that make wrote)"
	[ "${line#*:settings: }" = "$settings" ] ||
		die "$rec:${line%%:*}: settings '${line#*:settings: }' are not '$settings'"
	n=${name##*-n}
	case $n in '' | *[!0-9]*) die "$rec: '$name' is not KERNEL-nN" ;; esac
	[ -r "$src/configs-n$n.csv" ] || die "$src/configs-n$n.csv: cannot read (the configs $name measured)"
	if [ -e "$dir/configs-n$n.csv" ]; then
		cmp -s "$src/configs-n$n.csv" "$dir/configs-n$n.csv" ||
			die "$src/configs-n$n.csv: differs from $dir/configs-n$n.csv (other rows than the folder's)"
	fi
	names+=("$name")
done
[ ${#names[@]} -gt 0 ] || die "$src: no sweep to fold (KERNEL-nN.prov.txt with its .sweep.csv)"

# staged in DIR, then renamed into place: an aggregation that fails leaves
# DIR as it was
tmp=$(mktemp -d "$dir/.fold.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
for name in "${names[@]}"; do
	cp "$src/$name.sweep.csv" "$src/$name.prov.txt" "$tmp/"
	for x in refused failed; do
		[ -e "$src/$name.$x.txt" ] && cp "$src/$name.$x.txt" "$tmp/"
	done
	# (agg-blocks says what is wrong, naming SRC's file)
	"$bin/agg-blocks" -k "$keys" -o "$tmp/$name.agg.csv" "$src/$name.sweep.csv" || exit 1
	n=${name##*-n}
	[ -e "$dir/configs-n$n.csv" ] || [ -e "$tmp/configs-n$n.csv" ] || cp "$src/configs-n$n.csv" "$tmp/"
done
recs=()
for name in "${names[@]}"; do
	# an old list of refused / failed rows never outlives the sweep it was of
	for x in refused failed; do
		[ -e "$tmp/$name.$x.txt" ] || rm -f "$dir/$name.$x.txt"
	done
	recs+=("$dir/$name.prov.txt")
done
# make's settings file says the folder's settings (a fresh folder has none:
# make would write it, newer than the sweeps, and take them for stale); the
# configs copied in are newer than it, a folded sweep newer than its
# configs, as a sweep made here is, and its aggregate newer than the sweep
[ "$(cat "$dir/settings.txt" 2> /dev/null)" = "$settings" ] || printf '%s\n' "$settings" > "$dir/settings.txt"
staged_configs=$(cd "$tmp" && ls configs-n*.csv 2> /dev/null || true)
mv -f "$tmp"/* "$dir/"
for c in $staged_configs; do touch "$dir/$c"; done
for name in "${names[@]}"; do
	touch "$dir/$name.sweep.csv" "$dir/$name.prov.txt"
	touch "$dir/$name.agg.csv"
done
"$root/tools/provenance.sh" --sweeps "$settings" --into "$dir/provenance.txt" "${recs[@]}" ||
	die "$dir/provenance.txt: cannot write"
for n in $(printf '%s\n' "${names[@]}" | sed 's/.*-n//' | sort -un); do
	aggs=$("$root/tools/folder-sweeps.sh" "$dir" "$n")
	[ -n "$aggs" ] || continue # peers only at this n_seqs: nothing to join
	# shellcheck disable=SC2086 # one path a line, no spaces (results folders)
	"$root/tools/join-all.sh" "$bin/csv-join" "$keys" "$dir/joined-n$n.csv" $aggs ||
		die "$dir/joined-n$n.csv: csv-join failed"
done
"$root/tools/provenance.sh" --merge-note "$dir/merge.txt" \
	"tools/fold-sweeps.sh (make fold RESULTS=$dir FROM=$src): folded ${names[*]} into the folder's other sweeps" ||
	die "$dir/merge.txt: cannot write"
echo "$me: $dir: ${#names[@]} sweep(s) folded from $src (${names[*]})" >&2
