# tests/lib.sh - the table-driven test helpers, sourced by tests/run_tests.sh.
#
#   t NAME EXIT 'COMMAND' 'STDIN' 'STDOUT' 'STDERR_REGEX'
# runs COMMAND (bash, in a fresh work dir, tools on PATH) with STDIN
# (printf %b escapes), and checks the exit code, that stdout equals STDOUT
# exactly (printf %b; '*' = anything) and that stderr matches the extended
# regex (or is empty when STDERR_REGEX is ''). A failing row prints the
# command and both outputs; its work dir is kept.
PASS=0
FAIL=0
T_ROOT=${T_ROOT:-$(mktemp -d)}

ok() { PASS=$((PASS + 1)); [ -n "${VERBOSE:-}" ] && echo "ok $1"; return 0; }
fail() { FAIL=$((FAIL + 1)); echo "FAIL $1: $2"; }

t() {
	local name=$1 want_rc=$2 cmd=$3 input=$4 want_out=$5 want_err=$6
	local dir rc out err why=""
	dir=$(mktemp -d "$T_ROOT/case.XXXXXX")
	printf '%b' "$input" > "$dir/stdin"
	(cd "$dir" && PATH="$TOOLS_BIN:$PATH" bash -c "$cmd" < stdin > stdout 2> stderr)
	rc=$?
	out=$(cat "$dir/stdout"; echo x)
	err=$(cat "$dir/stderr")
	[ "$rc" = "$want_rc" ] || why="exit $rc, want $want_rc"
	if [ -z "$why" ] && [ "$want_out" != '*' ] && [ "$out" != "$(printf '%b' "$want_out"; echo x)" ]; then
		why="stdout differs"
	fi
	if [ -z "$why" ]; then
		if [ -z "$want_err" ]; then
			[ -z "$err" ] || why="unexpected stderr"
		elif ! printf '%s' "$err" | grep -Eq -- "$want_err"; then
			why="stderr does not match /$want_err/"
		elif { [ "$want_rc" = 1 ] || [ "$want_rc" = 2 ]; } && [ "$(printf '%s\n' "$err" | grep -v '^usage:' | wc -l)" -gt 1 ]; then
			why="error is more than one line"
		fi
	fi
	# bad input never leaves a partial output file
	if [ -z "$why" ] && [ "$want_rc" != 0 ] && [ "$want_rc" != 3 ] && ls "$dir" | grep -q '^out'; then
		why="failed run left an output file: $(ls "$dir" | grep '^out' | tr '\n' ' ')"
	fi
	if [ -n "$why" ]; then
		fail "$name" "$why"
		echo "  command: $cmd   (dir $dir)"
		echo "  stdout: $(head -c 600 "$dir/stdout")"
		echo "  stderr: $(head -c 600 "$dir/stderr")"
	else
		ok "$name"
		rm -rf "$dir"
	fi
}

# check NAME COMMAND: a plain assertion, passes when COMMAND exits 0.
check() {
	local name=$1
	shift
	local log
	log=$(mktemp "$T_ROOT/check.XXXXXX")
	if (PATH="$TOOLS_BIN:$PATH"; eval "$*") > "$log" 2>&1; then
		ok "$name"
		rm -f "$log"
	else
		fail "$name" "command failed: $*"
		sed 's/^/  | /' "$log" | tail -n 20
	fi
}

. "$(dirname "${BASH_SOURCE[0]}")/../tools/csvcol.sh"
