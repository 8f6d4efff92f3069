#!/bin/sh
# source-hash.sh [DIR] | --commit REV - one hash of the sources a measurement
# ran (every file under tools/ and kernels/, and the Makefile; Python caches
# left out), from their contents alone: the sha256 of `sha256sum` over them in
# name order, first 16 hex digits.  A tree copied to a GPU machine may carry
# no .git or a stale one, so provenance.sh writes this beside git_commit;
# `source-hash.sh --commit REV` hashes that commit's files (git archive), so
# a record's source_tree tells which commit it ran at whatever its git said.
# Exit: 0, 1 no such DIR or REV, 2 usage.
set -eu
usage() {
	echo "usage: source-hash.sh [DIR] | --commit REV" >&2
	exit 2
}
hash_dir() {
	(CDPATH= cd -- "$1" && find tools kernels Makefile -type f ! -name '*.pyc' ! -path '*/__pycache__/*' 2> /dev/null |
		LC_ALL=C sort | while IFS= read -r f; do sha256sum "$f"; done | sha256sum | cut -c1-16)
}
case "${1:-.}" in
--commit)
	[ $# -eq 2 ] || usage
	git rev-parse --verify -q "$2^{commit}" > /dev/null || { echo "source-hash.sh: $2: not a commit" >&2; exit 1; }
	top=$(git rev-parse --show-toplevel)
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	git -C "$top" archive -o "$tmp/a.tar" "$2" -- tools kernels Makefile || exit 1
	tar -xf "$tmp/a.tar" -C "$tmp" && rm "$tmp/a.tar"
	hash_dir "$tmp"
	;;
-*)
	usage
	;;
*)
	[ $# -le 1 ] || usage
	[ -d "${1:-.}/tools" ] || { echo "source-hash.sh: ${1:-.}: no tools/ folder" >&2; exit 1; }
	hash_dir "${1:-.}"
	;;
esac
