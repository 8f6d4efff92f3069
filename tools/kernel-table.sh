#!/bin/bash
# kernel-table.sh RESULTS_DIR [BLOCKS...] - the README's kernel table, made
# from a results folder's aggregated CSVs (never typed by hand): per kernel
# and n_seqs, latency, K/V bandwidth and % of the measured read ceiling at
# the given blocks values (default 256 4096 65536).
set -euo pipefail
dir=${1:?usage: tools/kernel-table.sh RESULTS_DIR [BLOCKS...]}
shift
blocks=${*:-256 4096 65536}
gpu=$(awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "gpu") c = i; next } { print $c; exit }' "$(ls "$dir"/*.agg.csv | head -n1)")
printf '| kernel | n_seqs |'
for b in $blocks; do printf ' %s blocks: ms · GB/s · %% of ceiling |' "$b"; done
printf '\n|---|---|'
for b in $blocks; do printf -- '---|'; done
printf '\n'
for f in "$dir"/*-n*.agg.csv; do
	base=$(basename "$f" .agg.csv)
	awk -F, -v k="${base%-n*}" -v n="${base##*-n}" -v want="$blocks" '
		NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
		{ lat[$c["blocks"]] = $c["latency_ms"]; bw[$c["blocks"]] = $c["kv_gbps"]; pc[$c["blocks"]] = $c["pct_of_ceiling"] }
		END {
			printf "| `%s` | %s |", k, n
			m = split(want, w, " ")
			for (j = 1; j <= m; j++)
				if (w[j] in lat) printf " %.4f · %.0f · %.0f%% |", lat[w[j]], bw[w[j]], pc[w[j]]
				else printf " – |"
			printf "\n"
		}' "$f"
done
echo
cmd=$(sed -n 's/^command: //p' "$dir/provenance.txt" | head -n1)
when=$(sed -n 's/^date: //p' "$dir/provenance.txt" | head -n1)
echo "Measured on ${gpu:-?}, $when, by \`${cmd:-?}\` (random inputs; every row validated against the fp64 reference before it was timed)."
