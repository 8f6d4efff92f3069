#!/bin/bash
# draw-plots.sh RESULTS_DIR - every figure of a results folder, from its CSVs.
#   plots/KERNEL-nN/    one sweep (plot/sweep.gp) per aggregated CSV
#   plots/compare-nN/   all kernels of one n_seqs (plot/compare.gp)
#   plots/course-nN/    the same plus the course project's curves (GPU only)
#   plots/roofline-nN/  TFLOP/s against FLOP per K/V byte under the measured
#                       read and tensor-core ceilings (plot/roofline.gp)
#   plots/speedup-nN/   every kernel's speed-up over `paged`, the no-sharing
#                       baseline (plot/speedup.gp), where paged was swept
# Figures are drawn into a temp folder that replaces plots/ only when every
# one succeeded.  Titles carry the GPU (from the CSVs' gpu column), the date
# (from provenance.txt) and the timing method.
set -euo pipefail
dir=${1:?usage: tools/draw-plots.sh RESULTS_DIR}
root=$(cd "$(dirname "$0")/.." && pwd)
agg=${BIN:-$root/bin}/agg-blocks
course=$root/tests/data/course-results
# The temp folder is plots.tmp.HOST.PID: a run removes those of runs on this
# host that died without cleanup (SIGKILL), so their truncated figures never
# survive; mkdir (not mktemp -d, 0700) makes it, and so plots/, readable as
# the CSVs are (the umask's say).
host=$(hostname)
for stale in "$dir"/plots.tmp."$host".*; do
	pid=${stale##*.}
	case $pid in '' | *[!0-9]*) continue ;; esac
	# only "No such process": another user's live run answers EPERM
	[ -d "$stale" ] && { kill -0 "$pid" 2>&1 || true; } | grep -q 'No such process' && rm -rf "$stale"
done
tmp=$dir/plots.tmp.$host.$$
rm -rf "$tmp"
mkdir "$tmp"
trap 'rm -rf "$tmp"' EXIT

. "$root/tools/csvcol.sh"
col() { csvcol "$1" "$2" | head -n1; } # a column's first value
date=$(sed -n 's/^date: \([0-9-]*\).*/\1/p' "$dir/provenance.txt" 2>/dev/null | head -n1 || true)
date=${date:-$(date -u +%Y-%m-%d)}

# course curves comparable to our n_seqs (tests/data/course-results/README.md)
course_files() {
	case $1 in
	32) printf '%s\t%s\n' "$course/n_seqs32/chunk_attn_tk__sweep_kv_4warp.csv" "course TK 4-warp (L2 hot, zeros)" \
		"$course/n_seqs32/chunk_attn_native__sweep_native_kernel_only.csv" "course native (L2 hot, zeros)" ;;
	64) printf '%s\t%s\n' "$course/n_seqs64/chunk_attn_tk__sweep.csv" "course TK final (L2 hot, zeros)" \
		"$course/n_seqs64/chunk_attn_kernel_only__sweep_chunk_first.csv" "course native (L2 hot, zeros)" ;;
	esac
}

# The seed grid (and quick) aggregate by blocks; every other preset keeps one
# row per config (Makefile, AGG_KEYS): its x axis is the context, and the
# course project's curves, measured on the seed grid, do not belong there.
by_blocks=1
if grep -q 'PRESET=[a-z]\|(preset [a-z]' "$dir/provenance.txt" 2>/dev/null &&
	! grep -q 'PRESET=\(seed\|quick\)\b\|(preset \(seed\|quick\))' "$dir/provenance.txt"; then
	by_blocks=0
fi

shopt -s nullglob
for n in $(ls "$dir" | sed -n 's/.*-n\([0-9]*\)\.agg\.csv$/\1/p' | sort -un); do
	files=()
	for f in "$dir"/*-n"$n".agg.csv; do
		# a peer that failed some configs (make peers lists them in
		# PEER-nN.failed.txt) is left out of the figures: its blocks points
		# would average other shapes than the kernels' (its rows stay in
		# the CSVs)
		failed=${f%.agg.csv}.failed.txt
		if [ -s "$failed" ]; then
			echo "draw-plots: $(basename "${f%.agg.csv}") left out of the figures: $(grep -c . "$failed") config(s) failed ($(basename "$failed"))" >&2
			continue
		fi
		files+=("$f")
	done
	[ ${#files[@]} -gt 0 ] || continue
	first=${files[0]}
	# the title's method from a kernel's sweep, not a peer's (run-peer times graphs by default)
	for f in "${files[@]}"; do
		[ "$(col kernel "$f")" = paged ] && first=$f
	done
	gpu=$(col gpu "$first")
	l2=$(col l2 "$first")
	launch=$(col launch "$first")
	title="${gpu:-unknown device}, $date, n_seqs=$n, L2 ${l2:-?}${launch:+, $launch launches}"
	: > "$tmp/list-$n"
	for f in "${files[@]}"; do
		k=$(basename "$f" | sed "s/-n$n\.agg\.csv\$//")
		gnuplot -c "$root/plot/sweep.gp" "$f" "$tmp/$k-n$n" "$k: $title"
		printf '%s\t%s\n' "$f" "$k" >> "$tmp/list-$n"
	done
	gnuplot -c "$root/plot/compare.gp" "$tmp/compare-n$n" "$title" "@$tmp/list-$n"
	if [ -n "$(col ceil_gbps "$first")" ]; then
		gnuplot -c "$root/plot/roofline.gp" "$tmp/roofline-n$n" "$title" "@$tmp/list-$n"
	fi
	joined=$dir/joined-n$n.csv
	others=$(for f in "${files[@]}"; do basename "$f" | sed "s/-n$n\.agg\.csv\$//"; done | grep -vx paged || true)
	# peers (make peers) are not in the kernels' join: join them on here, so
	# the speed-up figure has them too (an inner join: a config a peer
	# lacks is dropped from this figure only; a sweep beside the join with
	# refused rows is left out of it, not its configs)
	spd=$others
	if [ -f "$joined" ]; then
		keys=blocks
		[ "$by_blocks" = 1 ] || keys=n_seqs,n_heads,n_kv_heads,n_chunks,n_groups,group_chunks,suffix_len
		cp "$joined" "$tmp/joined-all-$n.csv"
		spd=""
		for k in $others; do
			head -n1 "$joined" | tr , '\n' | awk -v c="latency_ms_$k" '$0 == c { f = 1 } END { exit !f }' &&
				{ spd="$spd $k"; continue; }
			# a sweep not in joined-nN.csv (merged beside KERNELS') that
			# refused some configs would drop them for all
			if [ -s "$dir/$k-n$n.refused.txt" ]; then
				echo "draw-plots: $k-n$n left out of the speed-up figure: $(grep -c . "$dir/$k-n$n.refused.txt") config(s) refused ($k-n$n.refused.txt)" >&2
				continue
			fi
			spd="$spd $k"
			"${BIN:-$root/bin}/csv-join" -k "$keys" --suffixes ",$k" -o "$tmp/joined-all-$n.csv.2" \
				"$tmp/joined-all-$n.csv" "$dir/$k-n$n.agg.csv"
			mv "$tmp/joined-all-$n.csv.2" "$tmp/joined-all-$n.csv"
		done
		joined=$tmp/joined-all-$n.csv
	fi
	if [ -f "$dir/paged-n$n.agg.csv" ] && [ -f "$joined" ] && [ -n "$spd" ]; then
		if [ "$by_blocks" = 1 ]; then
			x=blocks xl="blocks = n_heads x n_chunks"
		else
			x=config xl="config (K/V heads / query heads, prefix + group level + suffix tokens)"
		fi
		gnuplot -c "$root/plot/speedup.gp" "$joined" "$tmp/speedup-n$n" "$title" "$x" "$xl" paged "" "$(echo $spd)"
	fi
	if [ "${gpu#CPU}" = "$gpu" ] && [ -n "$(course_files "$n")" ] && [ "$by_blocks" = 1 ]; then
		cp "$tmp/list-$n" "$tmp/list-course-$n"
		i=0
		while IFS=$'\t' read -r file label; do
			i=$((i + 1))
			"$agg" -o "$tmp/course-$n-$i.csv" "$file" # their sweeps repeat some blocks values
			printf '%s\t%s\n' "$tmp/course-$n-$i.csv" "$label" >> "$tmp/list-course-$n"
		done < <(course_files "$n")
		gnuplot -c "$root/plot/compare.gp" "$tmp/course-n$n" "$title; course: H100, L2 hot, zero inputs" "@$tmp/list-course-$n"
	fi
done
# Against n_seqs: every joined-nN.csv of a folder with one row per config,
# at each prefix length the folder has (its n_chunks values).
joins=("$dir"/joined-n*.csv)
if [ ${#joins[@]} -ge 2 ] && [ -f "$dir/paged-n${n:-0}.agg.csv" ] && [ "$by_blocks" = 0 ]; then
	{ head -n1 "${joins[0]}"; for f in "${joins[@]}"; do tail -n +2 "$f"; done; } > "$tmp/all-joined.csv"
	others=$(head -n1 "${joins[0]}" | tr , '\n' | sed -n 's/^latency_ms_//p' | { grep -vx paged || true; } | sort | tr '\n' ' ')
	chunks=$(csvcol n_chunks "$tmp/all-joined.csv" | sort -un)
	cs=$(csvcol chunk_size_paged "$tmp/all-joined.csv" | head -n1)
	if [ -n "$others" ] && [ "$(echo "$chunks" | wc -l)" -le 4 ]; then
		for c in $chunks; do
			gnuplot -c "$root/plot/speedup.gp" "$tmp/all-joined.csv" "$tmp/speedup-prefix$((c * cs))" \
				"${gpu:-unknown device}, $date, prefix $((c * cs)) tokens (n_chunks $c)" n_seqs n_seqs paged "n_chunks=$c" "$others"
		done
	fi
fi
rm -f "$tmp"/list-* "$tmp"/course-*.csv "$tmp/all-joined.csv" "$tmp"/joined-all-*.csv
rm -rf "$dir/plots.old"
[ -d "$dir/plots" ] && mv "$dir/plots" "$dir/plots.old"
mv "$tmp" "$dir/plots"
rm -rf "$dir/plots.old"
trap - EXIT
