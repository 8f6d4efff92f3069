#!/bin/bash
# interference.sh -k KERNEL -g "GPUS" -o DIR [-b BIN] CONFIGS.csv [RUN-KERNEL OPTION...]
# Do sweeps run in parallel (make results GPUS="0 1 2 3") slow each other?
# The same slice (KERNEL over CONFIGS) is measured alone on each GPU of GPUS
# in turn, then on all of them at once: N copies, each beside N-1 others (a
# copy that ends first runs again, unrecorded, until the last one ends, so
# every recorded row had N-1 neighbours).  Per GPU, compare-runs matches the
# two runs' rows: FAST / SLOW / SAME when the change is beyond or within the
# rows' combined noise.  Every run goes through tools/gpu-slot.sh, so it
# holds its GPU as a sweep of `make results` would.  `make interference`
# runs it for SLICE (default: the first kernel and n_seqs of the settings).
#
# Writes into DIR: alone-ID.csv and beside-ID.csv (run-kernel rows),
# compare-ID.csv (compare-runs, one row per config), provenance.txt, and
# interference.csv, one row per GPU:
#   device, n_parallel, kernel, configs, geomean_ratio (beside/alone),
#   max_change_pct, median_noise_pct (the combined noise the changes are
#   judged by), fast, slow, same, verdict (SLOW when a config is slower than
#   its noise, else SAME)
# which it also prints as a table.  Exit: 0 measured (whatever the verdict),
# 1 a run failed, 2 usage.
set -u -o pipefail
prog=interference.sh
root=$(cd "$(dirname "$0")/.." && pwd)
die() { printf '%s: %s\n' "$prog" "$2" >&2; exit "$1"; }
usage() { die 2 "usage: $prog -k KERNEL -g \"GPUS\" -o DIR [-b BIN] CONFIGS.csv [RUN-KERNEL OPTION...]"; }

kernel='' gpus='' dir='' bin=$root/bin
while [ $# -gt 0 ]; do
	case $1 in
	-k) [ $# -ge 2 ] || usage; kernel=$2; shift 2 ;;
	-g) [ $# -ge 2 ] || usage; gpus=$2; shift 2 ;;
	-o) [ $# -ge 2 ] || usage; dir=$2; shift 2 ;;
	-b) [ $# -ge 2 ] || usage; bin=$2; shift 2 ;;
	-h | --help) usage ;;
	*) break ;;
	esac
done
if [ $# -lt 1 ] || [ -z "$kernel" ] || [ -z "$dir" ]; then usage; fi
configs=$1
shift
read -r -a devs <<<"${gpus//,/ }"
[ "${#devs[@]}" -ge 2 ] || die 2 "needs 2 or more GPUs to run side by side (GPUS=\"0 1 2 3\"), got '${gpus}'"
[ -f "$configs" ] || die 1 "$configs: no such file"
for t in run-kernel compare-runs; do [ -x "$bin/$t" ] || die 1 "$bin/$t missing: run make first"; done
slot=$root/tools/gpu-slot.sh
n=${#devs[@]}
mkdir -p "$dir" || die 1 "cannot create $dir"
name() { printf '%s' "${1//\//_}"; } # a GPU id as a file name part

# The run-kernel options after CONFIGS.csv go to every run.
opts=("$@")
# run TAG GPU OUT: the slice on that GPU (holding its slot), rows into OUT.
run() { "$slot" -t "$1" "$2" "$bin/run-kernel" -q -k "$kernel" "${opts[@]}" -o "$3" "$configs"; }

if ! {
	"$root/tools/provenance.sh" "tools/interference.sh -k $kernel -g '${devs[*]}' -o $dir $configs ${opts[*]}" &&
		echo "devices: ${devs[*]}"
} >"$dir/provenance.txt.tmp.$$" || ! mv "$dir/provenance.txt.tmp.$$" "$dir/provenance.txt"; then
	rm -f "$dir/provenance.txt.tmp.$$"
	die 1 "cannot write $dir/provenance.txt"
fi

printf '%s: %s on %s: alone on each of %d GPUs in turn\n' "$prog" "$kernel" "$configs" "$n" >&2
for d in "${devs[@]}"; do
	run "alone-$d" "$d" "$dir/alone-$(name "$d").csv" || die 1 "the run alone on GPU $d failed"
done

printf '%s: %s: on all %d GPUs at once\n' "$prog" "$kernel" "$n" >&2
declare -A mine=() filler=()
for d in "${devs[@]}"; do
	run "beside-$d" "$d" "$dir/beside-$(name "$d").csv" &
	mine[$d]=$!
done
# Until every recorded run has ended, a GPU whose run ended runs the slice again (to
# /dev/null), so the others keep their N-1 neighbours.
stop_fillers() {
	local d
	for d in "${!filler[@]}"; do kill -TERM "${filler[$d]}" 2>/dev/null; done
	for d in "${!filler[@]}"; do wait "${filler[$d]}" 2>/dev/null; done
	filler=()
}
trap 'stop_fillers; for d in "${!mine[@]}"; do kill -TERM "${mine[$d]}" 2>/dev/null; done; exit 130' INT TERM HUP
while :; do
	left=0
	for d in "${devs[@]}"; do kill -0 "${mine[$d]}" 2>/dev/null && left=$((left + 1)); done
	[ "$left" -eq 0 ] && break
	for d in "${devs[@]}"; do
		kill -0 "${mine[$d]}" 2>/dev/null && continue
		[ -n "${filler[$d]:-}" ] && kill -0 "${filler[$d]}" 2>/dev/null && continue
		"$slot" -t "filler-$d" "$d" "$bin/run-kernel" -q -k "$kernel" "${opts[@]}" "$configs" >/dev/null &
		filler[$d]=$!
	done
	sleep 0.2
done
stop_fillers
trap - INT TERM HUP
rc=0
for d in "${devs[@]}"; do wait "${mine[$d]}" || { rc=1; printf '%s: the run on GPU %s beside the others failed\n' "$prog" "$d" >&2; }; done
[ "$rc" -eq 0 ] || exit 1

out=$dir/interference.csv
echo "device,n_parallel,kernel,configs,geomean_ratio,max_change_pct,median_noise_pct,fast,slow,same,verdict" >"$out.tmp.$$"
for d in "${devs[@]}"; do
	f=$(name "$d")
	"$bin/compare-runs" -o "$dir/compare-$f.csv" "$dir/alone-$f.csv" "$dir/beside-$f.csv" 2>/dev/null ||
		{ rm -f "$out.tmp.$$"; die 1 "compare-runs $dir/alone-$f.csv $dir/beside-$f.csv failed"; }
	# One row: the matched configs' ratios (geometric mean), the largest change, the
	# median combined noise sqrt(noise_a^2 + noise_b^2), and the verdicts counted.
	awk -F, -v dev="$d" -v n="$n" -v k="$kernel" '
		NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
		$c["verdict"] ~ /^(FAST|SLOW|SAME)$/ {
			m++; lr += log($c["ratio"]); v[$c["verdict"]]++
			ch = $c["change_pct"] + 0; if (m == 1 || ch > mx) mx = ch
			na = $c["noise_pct_a"]; nb = $c["noise_pct_b"]; noise[m] = sqrt(na * na + nb * nb)
		}
		END {
			if (!m) { printf "%s,%d,%s,0,,,,0,0,0,NONE\n", dev, n, k; exit }
			# median by insertion sort: a slice has tens of configs
			for (i = 2; i <= m; i++) for (j = i; j > 1 && noise[j - 1] > noise[j]; j--) { t = noise[j]; noise[j] = noise[j - 1]; noise[j - 1] = t }
			med = m % 2 ? noise[(m + 1) / 2] : (noise[m / 2] + noise[m / 2 + 1]) / 2
			printf "%s,%d,%s,%d,%.4f,%.2f,%.2f,%d,%d,%d,%s\n", dev, n, k, m, exp(lr / m), mx, med,
				v["FAST"], v["SLOW"], v["SAME"], v["SLOW"] ? "SLOW" : "SAME"
		}' "$dir/compare-$f.csv" >>"$out.tmp.$$"
done
mv "$out.tmp.$$" "$out"
column -s, -t <"$out" 2>/dev/null || cat "$out"
echo "$prog: $out (beside/alone per GPU; per config: $dir/compare-ID.csv)"
