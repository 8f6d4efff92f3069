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
hash_dir() {
	(cd "$1" && find tools kernels Makefile -type f ! -name '*.pyc' ! -path '*/__pycache__/*' 2> /dev/null |
		LC_ALL=C sort | while IFS= read -r f; do sha256sum "$f"; done | sha256sum | cut -c1-16)
}
case "${1:-.}" in
--commit)
	[ $# -eq 2 ] || { echo "usage: source-hash.sh [DIR] | --commit REV" >&2; exit 2; }
	git rev-parse --verify -q "$2^{commit}" > /dev/null || { echo "source-hash.sh: $2: not a commit" >&2; exit 1; }
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	git archive "$2" -- tools kernels Makefile | tar -x -C "$tmp"
	hash_dir "$tmp"
	;;
-*)
	echo "usage: source-hash.sh [DIR] | --commit REV" >&2
	exit 2
	;;
*)
	[ $# -le 1 ] || { echo "usage: source-hash.sh [DIR] | --commit REV" >&2; exit 2; }
	[ -d "${1:-.}/tools" ] || { echo "source-hash.sh: ${1:-.}: no tools/ folder" >&2; exit 1; }
	hash_dir "${1:-.}"
	;;
esac
