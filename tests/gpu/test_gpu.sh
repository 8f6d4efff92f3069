#!/bin/bash
# test_gpu.sh - `make test-gpu`: every GPU kernel validated over the shape
# shape table below (n_seqs x n_chunks x n_heads x dtype) against the fp64
# reference, then compute-sanitizer memcheck and racecheck on a small config.
# Needs a GPU.  KERNELS overrides the kernel list (default: all GPU kernels
# of this build).  Writes logs to ${OUT:-$TMPDIR}; last line "N passed, N failed".
set -u
cd "$(dirname "$0")/../.."
BIN=${BIN:-bin}
LOG=${LOG_DIR:-$(mktemp -d)}
mkdir -p "$LOG"
PASS=0
FAIL=0
ok() { PASS=$((PASS + 1)); echo "ok $1"; }
fail() { FAIL=$((FAIL + 1)); echo "FAIL $1"; }

kernels=${KERNELS:-$("$BIN/run-kernel" --list | cut -f1 | grep -vx ref | grep -v '^(' | tr '\n' ' ')}
[ -n "$kernels" ] || { echo "FAIL no GPU kernels in this build"; echo "0 passed, 1 failed"; exit 1; }
klist=$(echo $kernels | tr ' ' ,)
quick=(--warmup 0 --iters 1 --min-iters 1 --max-time 0 --no-ceiling --l2 hot -q)

# The shape table: every kernel x every config; run-kernel exits 3 when a
# row fails validation or cannot run, and says which on stderr.
"$BIN/gen-configs" --n-seqs 1,7,32,64,65,128,256 --n-heads 1,32 --n-chunks 1,3,64,256 --dtype bf16,fp16 > "$LOG/shapes.csv"
rows=$(($(wc -l < "$LOG/shapes.csv") - 1))
"$BIN/run-kernel" -k "$klist" "${quick[@]}" -o "$LOG/shapes-results.csv" "$LOG/shapes.csv" 2> "$LOG/shapes.err"
rc=$?
for k in $kernels; do
	n=$(awk -F, -v k="$k" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "kernel") c = i; next } $c == k' "$LOG/shapes-results.csv" 2>/dev/null | wc -l)
	worst=$(awk -F, -v k="$k" 'NR == 1 { for (i = 1; i <= NF; i++) { if ($i == "kernel") c = i; if ($i == "rel_err") e = i; if ($i == "dtype") d = i }; next }
		$c == k { if ($e + 0 > w[$d]) w[$d] = $e + 0 } END { printf "bf16 %.2e fp16 %.2e", w["bf16"], w["fp16"] }' "$LOG/shapes-results.csv" 2>/dev/null)
	if [ "$n" = "$rows" ]; then
		ok "$k: $n/$rows shapes validated (worst rel_err $worst)"
	else
		fail "$k: $n/$rows shapes validated; failures:"
		grep -F " $k" "$LOG/shapes.err" | head -n 10 | sed 's/^/  /'
	fi
done
[ "$rc" = 0 ] || [ "$rc" = 3 ] || fail "run-kernel exit $rc: $(tail -n 3 "$LOG/shapes.err")"

# compute-sanitizer on a small config: out-of-bounds and shared-memory races.
if command -v compute-sanitizer > /dev/null 2>&1; then
	printf 'n_seqs,n_heads,n_chunks\n65,2,3\n' > "$LOG/small.csv"
	for tool in memcheck racecheck; do
		for k in $kernels; do
			if compute-sanitizer --tool $tool --error-exitcode 9 "$BIN/run-kernel" -k "$k" "${quick[@]}" \
				"$LOG/small.csv" > "$LOG/$tool-$k.csv" 2> "$LOG/$tool-$k.log"; then
				ok "$k: compute-sanitizer $tool clean"
			else
				fail "$k: compute-sanitizer $tool: $(grep -m3 -E 'ERROR|error|Invalid|hazard' "$LOG/$tool-$k.log" | tr '\n' ' ')"
			fi
		done
	done
else
	fail "compute-sanitizer not found"
fi
echo "$PASS passed, $FAIL failed"
[ "$FAIL" = 0 ]
