#!/bin/bash
# run_tests.sh - everything that needs no GPU; what `make test` and CI run.
#   unit tests (plain and ASan+UBSan), the tools' table (plain and
#   ASan+UBSan), tools/run-peer (python3, no torch), the pipeline on the
#   course project's CSVs, `make results` on the CPU, several GPUs'
#   scheduling (fake device lists), the GPU kernels' build, and a live
#   single-node Slurm.
# Last line: "N passed, N failed".  SKIP_SLURM=1 skips the Slurm part;
# VERBOSE=1 prints every passing check.
set -u
cd "$(dirname "$0")/.."
ROOT=$PWD
export T_ROOT
T_ROOT=$(mktemp -d "${TMPDIR:-/tmp}/prefix-attn-tests.XXXXXX")
# tools/gpu-slot.sh's GPU locks (every sweep takes one): in the work dir, not the user's
export GPU_LOCK_DIR=$T_ROOT/gpu-locks
. tests/lib.sh
COURSE=$ROOT/tests/data/course-results
export COURSE
export -f csvcol
SAN_FLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined"
export ASAN_OPTIONS=detect_leaks=0:exitcode=99:allocator_may_return_null=1 UBSAN_OPTIONS=print_stacktrace=1:exitcode=99

# A build whose GPU kernels exist but no GPU answers: the error path.
gpu_kernels_without_gpu() {
	"$TOOLS_BIN/run-kernel" --list | cut -f1 | grep -qx native && ! nvidia-smi -L > /dev/null 2>&1
}

# suite_counts NAME: the counts of the suite that just finished, as it finishes (the
# totals so far minus those at the previous call).
P0=0 F0=0
suite_counts() {
	echo "   $1: $((PASS - P0)) passed, $((FAIL - F0)) failed"
	P0=$PASS F0=$FAIL
}

# adds a sub-suite's "ok"/"FAIL" lines to the totals
count_lines() {
	local line
	while IFS= read -r line; do
		case $line in
		ok\ *) ok "${line#ok }" ;;
		FAIL\ *) FAIL=$((FAIL + 1)); echo "$line" ;;
		"  #"*) echo "$line" ;; # a failing sub-suite's evidence (log tails)
		*) [ -n "${VERBOSE:-}" ] && echo "$line" ;;
		esac
	done
}

# unit_binary NAME SUMMARY LABEL FLAGS SOURCES... [-- ARGS...]: build one unit
# test binary with FLAGS and run it; it must reach its closing line
# "SUMMARY: N passed, 0 failed" -- an early exit (a die() on the way, a
# sanitizer report) is a failure of its own
unit_binary() {
	local name=$1 summary=$2 label=$3 flags=$4 srcs=() args=()
	shift 4
	while [ $# -gt 0 ] && [ "$1" != -- ]; do srcs+=("$1"); shift; done
	[ $# -gt 0 ] && shift && args=("$@")
	if cc -std=c11 -D_GNU_SOURCE -Wall -Wextra $flags -o "$T_ROOT/$name" "${srcs[@]}" -lm -lpthread; then
		"$T_ROOT/$name" "${args[@]}" > "$T_ROOT/$name.log" 2>&1
		local rc=$?
		count_lines < "$T_ROOT/$name.log"
		if ! grep -q "^$summary: [0-9]* passed, 0 failed\$" "$T_ROOT/$name.log"; then
			[ $rc = 1 ] && grep -q '^FAIL' "$T_ROOT/$name.log" ||
				fail "$label ($flags)" "exit $rc before the summary: $(tail -n 3 "$T_ROOT/$name.log")"
		fi
	else
		fail "$label build ($flags)" "cc failed"
	fi
}

echo "== unit tests (plain, ASan+UBSan)"
for flags in "-O2 -g" "$SAN_FLAGS"; do
	unit_binary test_units unit "unit tests" "$flags" tests/unit/test_units.c \
		tools/lib/{csv,err,num,inputs,tree,reference,ref_kernel,metrics,parallel,bench}.c -- "$COURSE"
	# prefix_stream's planner (plain C, no CUDA): plans and their invariants
	unit_binary test_ps_plan plan "prefix_stream planner tests" "$flags" \
		tests/unit/test_prefix_stream_plan.c kernels/prefix_stream_plan.c
	# the split plan of a prefix tree's levels (hydragen; prefix_stream's levels after its prefix)
	unit_binary test_level_plan level_plan "tree level planner tests" "$flags" \
		tests/unit/test_level_plan.c kernels/level_plan.c tools/lib/tree.c
	# the streaming read's specs, dispatch table and partition (plain C, no CUDA)
	unit_binary test_sr_plan stream_read "stream_read plan tests" "$flags" \
		tests/unit/test_stream_read_plan.c kernels/stream_read_plan.c
done

suite_counts "unit tests"
echo "== tools (plain build)"
TOOLS_BIN=$ROOT/bin
export TOOLS_BIN
. tests/tool_cases.sh

suite_counts "tools (plain build)"
echo "== tools (ASan+UBSan build)"
if make -s BUILD=build-asan BIN=bin-asan NVCC= CFLAGS="$SAN_FLAGS" tools > "$T_ROOT/asan-build.log" 2>&1; then
	TOOLS_BIN=$ROOT/bin-asan
	. tests/tool_cases.sh
	TOOLS_BIN=$ROOT/bin
else
	fail "ASan build" "$(tail -n 5 "$T_ROOT/asan-build.log")"
fi

suite_counts "tools (ASan+UBSan build)"
echo "== peers (tools/run-peer without torch or a GPU)"
if command -v python3 > /dev/null; then
	. tests/peer_cases.sh
else
	echo "   skipped: python3 not found (apt-get install python3)"
fi
suite_counts "peers"
echo "== fuzz corpus (ASan+UBSan, through tests/fuzz/driver.c)"
if cc -std=c11 -D_GNU_SOURCE -Wall -Wextra $SAN_FLAGS -o "$T_ROOT/fuzz_csv" tests/fuzz/fuzz_csv.c tests/fuzz/driver.c \
	tools/lib/{csv,err,num}.c -lm; then
	# each input's invariants (fields re-join, numbers re-parse, a row written
	# re-reads); the corpus holds the regressions (lists near LONG_MAX, ...)
	check "fuzz corpus: invariants hold" "'$T_ROOT/fuzz_csv' tests/fuzz/corpus/* \$(find tests/data -name '*.csv') 2>/dev/null | grep -q 'no failure'"
else
	fail "fuzz corpus build" "cc failed"
fi
suite_counts "fuzz corpus"

echo "== pipeline"
. tests/pipeline_cases.sh
suite_counts "pipeline"

echo "== a folder of several runs (re-runs, peers, make fold)"
. tests/fold_cases.sh
suite_counts "several runs"

echo "== several GPUs (CPU backend, fake device lists)"
. tests/multigpu_cases.sh
suite_counts "several GPUs"

if [ -z "${SKIP_SLURM:-}" ]; then
	echo "== slurm"
	if [ -x tests/slurm/test_slurm.sh ]; then
		count_lines < <(tests/slurm/test_slurm.sh 2>&1 || echo "FAIL slurm: test script exit $?")
	else
		fail "slurm" "tests/slurm/test_slurm.sh missing"
	fi
	suite_counts "slurm"
fi

if [ "$FAIL" = 0 ]; then rm -rf "$T_ROOT"; else echo "(work dirs kept in $T_ROOT)"; fi
echo "$PASS passed, $FAIL failed"
[ "$FAIL" = 0 ]
