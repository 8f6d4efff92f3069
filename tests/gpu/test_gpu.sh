#!/bin/bash
# test_gpu.sh - `make test-gpu`: every GPU kernel validated against the fp64
# reference over two shape tables (the single-prefix workload, then every
# other workload form), every streaming-read candidate (run-kernel's
# ceiling) checked to read each byte exactly once, then compute-sanitizer
# memcheck and racecheck on small configs.
# Needs a GPU.  KERNELS overrides the kernel list (default: all GPU kernels
# of this build, registry variants included: KERNELS="prefix_stream
# prefix_stream_mma" checks two).  Writes logs to ${OUT:-$TMPDIR}; last line
# "N passed, N failed".
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

# Table 1, the single-prefix workload (every kernel runs it): every kernel x
# every config; run-kernel exits 3 when a row fails validation or cannot run,
# and says which on stderr.
"$BIN/gen-configs" --n-seqs 1,7,32,64,65,128,256 --n-heads 1,32 --n-chunks 1,3,64,256 --dtype bf16,fp16 > "$LOG/shapes.csv"
# Table 2, every other workload form: GQA and MQA (n_kv_heads = n_heads/4, 1),
# suffixes of 1, 63, 64, 130 and 4096 tokens (partial last chunks), a second
# tree level, one sequence, one group per sequence, 256 sequences.  A kernel either
# validates a row or refuses it with a reason; none may fail.
{
	"$BIN/gen-configs" --pairs 8x1,8x5,32x16 --n-kv-heads 8,2,1 --suffix-len 0,1,63,64,130 --n-seqs 1,7,64 --dtype bf16,fp16
	"$BIN/gen-configs" --pairs 8x2 --n-kv-heads 2,8 --n-groups 2,4 --group-chunks 1,3 --suffix-len 0,37 --n-seqs 4,64 --dtype bf16,fp16 | tail -n +2
	"$BIN/gen-configs" --pairs 4x2 --n-kv-heads 1,4 --suffix-len 4096 --n-seqs 1,3 --dtype bf16,fp16 | tail -n +2
	"$BIN/gen-configs" --pairs 32x4 --n-kv-heads 8 --n-groups 16 --group-chunks 1 --suffix-len 5 --n-seqs 16 | tail -n +2
	"$BIN/gen-configs" --pairs 8x3 --n-kv-heads 2,8 --n-groups 4 --group-chunks 0,2 --suffix-len 0,63 --n-seqs 256 --dtype bf16,fp16 | tail -n +2
	# uneven batches of sequences (prefix_stream v12): 10 x g 64 = 3 batches
	# of 4, 4, 2 sequences; MHA 257 and 300 sequences = 129 + 128, 150 + 150
	"$BIN/gen-configs" --pairs 64x16 --n-kv-heads 1 --n-seqs 10 --dtype bf16,fp16 | tail -n +2
	"$BIN/gen-configs" --pairs 4x8 --n-seqs 257,300 | tail -n +2
} > "$LOG/forms.csv"
# Table 3, the log-sum-exp combination of the parts: inputs whose largest
# scores sit in one tree level only (--inputs peak-LEVEL: that level's K
# times 16), a long prefix with a one-token suffix and the reverse, one and
# two levels.  Run once per peaked level.
{
	"$BIN/gen-configs" --pairs 8x64 --n-kv-heads 2,8 --suffix-len 1 --n-seqs 7,64 --dtype bf16,fp16
	"$BIN/gen-configs" --pairs 8x1 --n-kv-heads 2 --suffix-len 4096 --n-seqs 3 --dtype bf16,fp16 | tail -n +2
	"$BIN/gen-configs" --pairs 8x16 --n-kv-heads 2 --n-groups 4 --group-chunks 2 --suffix-len 1,130 --n-seqs 16 --dtype bf16,fp16 | tail -n +2
} > "$LOG/peaks.csv"
# kernels that must run every form (the others validate or refuse each row)
all_forms=${ALL_FORMS:-paged hydragen native tk prefix_stream}
# a registry variant of another kernel of the list (NAME_*: prefix_stream_mma,
# prefix_stream_s8, ...) forces one of that kernel's code paths and refuses,
# with a reason, the single-prefix shapes where the path cannot run
all_kernels=$("$BIN/run-kernel" --list | cut -f1 | grep -v '^(')
variant_of() {
	local b
	for b in $all_kernels; do case $1 in "$b"_*) return 0 ;; esac; done
	return 1
}

# validated KERNEL RESULTS.csv: its rows in a results file
validated() {
	awk -F, -v k="$1" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "kernel") c = i; next } $c == k' "$2" 2>/dev/null | wc -l
}
worst() {
	awk -F, -v k="$1" 'NR == 1 { for (i = 1; i <= NF; i++) { if ($i == "kernel") c = i; if ($i == "max_row_err") e = i; if ($i == "dtype") d = i }; next }
		$c == k { if ($e + 0 > w[$d]) w[$d] = $e + 0 } END { printf "bf16 %.2e fp16 %.2e", w["bf16"], w["fp16"] }' "$2" 2>/dev/null
}
for table in shapes forms peak-common peak-group peak-suffix; do
	src=$table inputs=()
	case $table in peak-*) src=peaks inputs=(--inputs "$table") ;; esac
	rows=$(($(wc -l < "$LOG/$src.csv") - 1))
	"$BIN/run-kernel" -k "$klist" "${quick[@]}" "${inputs[@]}" --refusals "$LOG/$table-refused.txt" \
		-o "$LOG/$table-results.csv" "$LOG/$src.csv" 2> "$LOG/$table.err"
	rc=$?
	[ "$rc" = 0 ] || [ "$rc" = 3 ] || fail "$table: run-kernel exit $rc: $(tail -n 3 "$LOG/$table.err")"
	# --refusals: the refused rows' lines (check()'s reasons) as stderr said them, no other line
	if [ -f "$LOG/$table-refused.txt" ]; then
		if [ "$rc" = 3 ] && ! grep -vxFf "$LOG/$table.err" "$LOG/$table-refused.txt" > /dev/null &&
			! grep -qv '; row skipped$' "$LOG/$table-refused.txt"; then
			ok "$table: run-kernel --refusals lists the $(wc -l < "$LOG/$table-refused.txt") refused rows as stderr said them"
		else
			fail "$table: run-kernel --refusals (exit $rc): $(head -n 2 "$LOG/$table-refused.txt")"
		fi
	fi
	for k in $kernels; do
		n=$(validated "$k" "$LOG/$table-results.csv")
		refused=$(grep -c -E ":[0-9]+: $k: .*; row skipped$" "$LOG/$table.err") # FILE:LINE: KERNEL: why
		bad=$(grep -c " $k FAILED validation" "$LOG/$table.err")
		if [ "$table" = shapes ] && { [ "$n" = "$rows" ] ||
			{ variant_of "$k" && [ "$bad" = 0 ] && [ $((n + refused)) = "$rows" ]; }; }; then
			ok "$k: $n/$rows single-prefix shapes validated (worst max_row_err $(worst "$k" "$LOG/$table-results.csv"))$([ "$refused" = 0 ] || echo ", $refused refused with a reason")"
		elif [ "$table" != shapes ] && [ "$bad" = 0 ] && [ $((n + refused)) = "$rows" ] &&
			{ ! echo " $all_forms " | grep -q " $k " || [ "$n" = "$rows" ]; }; then
			ok "$k: $table: $n/$rows validated (worst max_row_err $(worst "$k" "$LOG/$table-results.csv")), $refused refused with a reason"
		else
			fail "$k: $table: $n/$rows validated, $refused refused, $bad failed; first problems:"
			grep -F " $k" "$LOG/$table.err" | grep -v "row skipped$" | head -n 5 | sed 's/^/  /'
		fi
	done
done
# prefix_stream v12: the single-prefix rows of the forms table with more
# than 256 query rows per K/V head (batches of one launch) are validated, not refused
if echo " $kernels " | grep -q " prefix_stream "; then
	big() { awk -F, -v k="$2" 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
		(k == "" || $c["kernel"] == k) && $c["group_chunks"] == 0 && $c["suffix_len"] == 0 &&
		$c["n_seqs"] * ($c["n_heads"] / $c["n_kv_heads"]) > 256 { n++ } END { print n + 0 }' "$1"; }
	want=$(big "$LOG/forms.csv" "") got=$(big "$LOG/forms-results.csv" prefix_stream)
	if [ "$want" -gt 0 ] && [ "$got" = "$want" ]; then
		ok "prefix_stream: the $got single-prefix forms rows with > 256 query rows per K/V head validated (batches)"
	else
		fail "prefix_stream: $got of $want single-prefix forms rows with > 256 query rows per K/V head validated"
	fi
fi

# stream_read, run-kernel's read ceiling: every candidate of
# kernels/stream_read.cu (bench-ceiling --list; `dispatch`, what
# stream_read_launch() runs, included) folds exactly the bytes of awkward
# sizes (0, 1, 15, 16, 17, ... 1 MiB + 48, 3 MiB + 7, 64 MiB + 4113) at the
# 16-byte-aligned offsets 0, 16 and 48 of random data, as planned and on 3
# CTAs (each reading many pieces: the rings wrap): the xor of its words and
# tail bytes equals the host's, so every byte was read once and none past
# the end (reading one twice cancels it).
if [ -x "$BIN/bench-ceiling" ]; then
	"$BIN/bench-ceiling" --check > "$LOG/stream_read-check.txt" 2> "$LOG/stream_read-check.err"
	rc=$?
	while IFS= read -r line; do
		case $line in
		ok\ *) ok "${line#ok }" ;;
		FAIL\ *) fail "${line#FAIL }" ;;
		skip\ *) echo "$line" ;;
		esac
	done < "$LOG/stream_read-check.txt"
	[ "$rc" = 0 ] || [ "$rc" = 3 ] || fail "stream_read: bench-ceiling --check exit $rc: $(tail -n 3 "$LOG/stream_read-check.err")"
else
	fail "stream_read: $BIN/bench-ceiling missing (make tools builds it where nvcc is)"
fi

# the peaks' device path (make test covers the flags and the CPU's
# defaults): each peak the device's own, or on a card whose value is not
# known the default with its warning, beside the other peak's flag
k1=${kernels%% *}
tf=$("$BIN/run-kernel" --peaks -k "$k1" --peak-gbps 300 2> "$LOG/peaks.err" | awk -F, '$1 == "cuda" { print $5 "|" $6 }')
gb=$("$BIN/run-kernel" --peaks -k "$k1" --peak-tflops 50 2>> "$LOG/peaks.err" | awk -F, '$1 == "cuda" { print $5 "|" $6 }')
if { echo "$tf" | grep -qE '^[0-9]+ SMs x [0-9]+ MHz x [0-9]+ dense bf16 FLOP/clk/SM \(sm_[0-9]+\)\|--peak-gbps$' ||
	{ echo "$tf" | grep -qx 'default (H100 SXM datasheet)|--peak-gbps' && grep -q 'compute_eff_pct is against 989.0 TFLOP/s' "$LOG/peaks.err"; }; } &&
	{ echo "$gb" | grep -qE '^--peak-tflops\|[0-9]+ MHz x [0-9]+-bit bus x 2 \(DDR\) / 8$' ||
	{ echo "$gb" | grep -qx -- '--peak-tflops|default (H100 SXM datasheet)' && grep -q 'kv_mem_eff_pct is against 3350.0 GB/s' "$LOG/peaks.err"; }; }; then
	ok "peaks: the device's own beside the other's flag ($tf; $gb)"
else
	fail "peaks: want the device's own beside the other's flag, got '$tf' and '$gb': $(head -n 2 "$LOG/peaks.err" | tr '\n' ' ')"
fi

# compute-sanitizer on small configs: out-of-bounds and shared-memory races.
# Each kernel gets rows that reach its code paths (split and unsplit grids,
# merges, GQA, partial last chunks where it runs them); rows it refuses are
# fine (exit 3), a sanitizer error is not (exit 9), nor a run past
# SAN_TIMEOUT seconds (a merge's meet that never completes).
if command -v compute-sanitizer > /dev/null 2>&1; then
	printf 'n_seqs,n_heads,n_kv_heads,n_chunks,n_groups,group_chunks,suffix_len\n65,2,2,3,1,0,0\n2,8,8,1,1,0,0\n3,8,2,1,1,0,37\n4,32,1,2,2,1,64\n130,8,2,2,2,1,65\n' > "$LOG/small.csv"
	# prefix_stream and its variants: on a 132-SM
	# Hopper (H100, H200) the rows reach, per variant, every device path:
	#   65x2x3    cluster merge S = 3 (wgmma 2 warpgroups x 2 key groups; mma.sync
	#             5 query warps); global_merge: global S = 3; s2: a pair; s1
	#   2x8x1     unsplit (merge and s2.. variants refuse)
	#   7x4x64    global S = 33: 26 CTAs without rows to merge, 7 with one row
	#             (split groups G > 1 combined in shared memory); s2/s4/s8 clusters
	#   64x1x8    cluster S = 8; global_merge: global S = 8 with G = 1
	#   256x3x5   4 warpgroups x 2 steps a chunk (mma.sync: 16 query warps),
	#             cluster S = 5; global_merge: G = 1
	# and GQA/MQA (the GQA instantiations: a K/V head's rows are its n_seqs x g
	# (sequence, query head) pairs; the grid n_kv_heads x S), per the planner
	# (tests/unit/test_prefix_stream_plan.c's h100 model, 132 SMs):
	#   16x8/2x3  g 4, 64 rows: cluster S = 3 (wgmma 1 warpgroup x 2 key groups;
	#             mma.sync 4 query warps); global_merge: global S = 3, G = 1;
	#             s2: a pair; s1 unsplit
	#   3x16/4x1  g 4, 12 rows: unsplit (mma.sync 1 query warp x 4 key warps)
	#   40x12/4x2 g 3 (not a power of 2), 120 rows: wgmma 2 query warpgroups x
	#             2 key groups (mma.sync 8 query warps); cluster S = 2;
	#             global_merge: global S = 2, G = 1
	#   7x32/1x32 MQA, 224 rows: 4 warpgroups x 2 steps a chunk (mma.sync 14
	#             query warps); global S = 32 with 7 rows a split, G = 2
	#             (combined in shared memory); s2/s4/s8 clusters
	#   8x8/1x8   MQA g 8, 64 rows: cluster S = 8; global_merge: global S = 8, G = 1
	#   1x67x128  (v8c) S = 2 where one CTA an SM would leave the grid unsplit:
	#             134 CTAs, two an SM, a cluster pair not spread; s1 unsplit
	#   9x32/1x4  (v12) MQA, 288 rows: one launch of 2 batches, 5 sequences
	#             (160 rows) and 4 (128), the grid's y; cluster S = 4
	#   10x64/1x16 (v12) g 64: 3 batches of 4, 4, 2 sequences (256, 256, 128
	#             rows); cluster S = 8 a batch; global_merge: global S = 16,
	#             the partials and counters per batch
	#   100x2x16  (v10) 100 rows, wgmma 2 query warpgroups x 2 key groups with
	#             stages released on empty mbarriers: s1 (16 chunks a CTA) and
	#             s2 (8) refill every stage more than once
	# and the tree forms (v13, prefix_stream_tree_own: the prefix into partial
	# slot 0, the levels after it on split_decode's grid, merge.cu's fold; the
	# default and prefix_stream_tree_grid run these short prefixes as one
	# more level of that grid, v14):
	#   3x8/2x1 +37     GQA, a partial suffix chunk: unsplit prefix (S = 1 store)
	#   4x32/1x2 g2+64  MQA, 2 groups of 1 chunk and a full suffix chunk
	#   130x8/2x2 g2+65 520 rows: three prefix batches (slot 0 in slices)
	#   16x4/4x32 +1    the prefix split S > 1, merged in the kernel, into slot 0
	# and v11's kernel (the default's at 65-256 rows since its H200 run;
	# prefix_stream_4wg runs these rows on the 4-warpgroup tiles before it,
	# prefix_stream_rows2 refuses the others; prefix_stream_pingpong, v15,
	# the rows of 129-256, 7x32/1x32 with one chunk a CTA):
	#   256x3x5 (cluster S = 5), 7x32/1x32 (224 rows, global S = 32, G = 1),
	#   130x140x12 (unsplit: 140 K/V heads, 12 chunks a CTA: every stage
	#   refilled twice), 40x32/8x16 (GQA g 4, 160 rows:
	#   block B of warpgroup 1 all padding; fp16; a cluster); its key-group
	#   form at 65-128 rows: 65x2x3 (cluster S = 3), 40x12/4x2 (GQA, a
	#   pair), 128x1x64 (global S = 64, G = 4, one chunk a CTA: warpgroup 1
	#   has none), 100x140x1 (unsplit, one chunk: warpgroup 1's key group
	#   empty), 100x140x12 (unsplit, 6 chunks a warpgroup on 6 stages: its
	#   own refills)
	# (fp16 on four rows: the other half of the kernel table)
	printf 'n_seqs,n_heads,n_kv_heads,n_chunks,n_groups,group_chunks,suffix_len,dtype\n65,2,2,3,1,0,0,bf16\n2,8,8,1,1,0,0,bf16\n7,4,4,64,1,0,0,fp16\n64,1,1,8,1,0,0,bf16\n256,3,3,5,1,0,0,fp16\n16,8,2,3,1,0,0,bf16\n3,16,4,1,1,0,0,fp16\n40,12,4,2,1,0,0,fp16\n7,32,1,32,1,0,0,bf16\n8,8,1,8,1,0,0,bf16\n1,67,67,128,1,0,0,bf16\n9,32,1,4,1,0,0,bf16\n100,2,2,16,1,0,0,bf16\n3,8,2,1,1,0,37,bf16\n4,32,1,2,2,1,64,fp16\n130,8,2,2,2,1,65,bf16\n16,4,4,32,1,0,1,bf16\n130,140,140,12,1,0,0,bf16\n40,32,8,16,1,0,0,fp16\n128,1,1,64,1,0,0,bf16\n100,140,140,1,1,0,0,fp16\n100,140,140,12,1,0,0,bf16\n10,64,1,16,1,0,0,fp16\n' > "$LOG/small-prefix_stream.csv"
	# synccheck: the kernels with named barriers between warpgroups (v11's
	# key-group refills, the default's at 65-128 rows; v15's ping-pong)
	for tool in memcheck racecheck synccheck; do
		for k in $kernels; do
			case $tool:$k in synccheck:prefix_stream | synccheck:prefix_stream_rows2 | synccheck:prefix_stream_pingpong | memcheck:* | racecheck:*) ;; *) continue ;; esac
			rowsfile=$LOG/small.csv
			case $k in prefix_stream | prefix_stream_*) rowsfile=$LOG/small-prefix_stream.csv ;; esac
			timeout "${SAN_TIMEOUT:-900}" compute-sanitizer --tool $tool --error-exitcode 9 "$BIN/run-kernel" -k "$k" "${quick[@]}" \
				"$rowsfile" > "$LOG/$tool-$k.csv" 2> "$LOG/$tool-$k.log"
			rc=$?
			if [ "$rc" = 0 ] || { [ "$rc" = 3 ] && ! grep -q "FAILED validation" "$LOG/$tool-$k.log"; }; then
				ok "$k: compute-sanitizer $tool clean ($(($(wc -l < "$LOG/$tool-$k.csv") - 1)) rows)"
			else
				fail "$k: compute-sanitizer $tool (exit $rc): $(grep -m3 -E 'ERROR|error|Invalid|hazard|FAILED' "$LOG/$tool-$k.log" | tr '\n' ' ')"
			fi
		done
	done
	# stream_read's candidates on small reads (tails, partial and several
	# pieces a CTA): memcheck every one, racecheck those that stage through
	# shared memory (cpasync, bulk)
	if [ -x "$BIN/bench-ceiling" ]; then
		san_sizes=1,17,4097,65552,300007
		for tool in memcheck racecheck; do
			pick=.
			[ $tool = racecheck ] && pick='^(cpasync|bulk)'
			variants=$("$BIN/bench-ceiling" --list | grep -E "$pick" | tr '\n' , | sed 's/,$//')
			timeout "${SAN_TIMEOUT:-900}" compute-sanitizer --tool $tool --error-exitcode 9 "$BIN/bench-ceiling" --check \
				--sizes "$san_sizes" --variants "$variants" > "$LOG/$tool-stream_read.txt" 2> "$LOG/$tool-stream_read.log"
			rc=$?
			if [ "$rc" = 0 ]; then
				ok "stream_read: compute-sanitizer $tool clean ($(grep -c '^ok' "$LOG/$tool-stream_read.txt") variants)"
			else
				fail "stream_read: compute-sanitizer $tool (exit $rc): $(grep -m3 -E 'ERROR|error|Invalid|hazard|FAIL' "$LOG/$tool-stream_read.log" "$LOG/$tool-stream_read.txt" | tr '\n' ' ')"
			fi
		done
	fi
else
	fail "compute-sanitizer not found"
fi
echo "$PASS passed, $FAIL failed"
[ "$FAIL" = 0 ]
