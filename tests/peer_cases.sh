# tests/peer_cases.sh - tools/run-peer where CI runs it: no torch, no
# flashinfer, no GPU (RUN_PEER_MISSING makes the packages count as missing
# where they are installed).  Sourced once by run_tests.sh; skipped there
# without python3.  What needs a GPU (the peers themselves, the inputs' bits
# on the GPU, the reference) is `tools/run-peer --self-check` on a GPU machine.
RP="$ROOT/tools/run-peer"
NOPKG='RUN_PEER_MISSING=torch,flashinfer'
PC='n_seqs,n_heads,n_kv_heads,n_chunks,n_groups,group_chunks,suffix_len,dtype'
FORMS="$PC\n4,4,4,3,1,0,0,bf16\n5,8,2,2,1,0,0,fp16\n4,4,1,2,1,0,64,bf16\n8,8,2,2,2,1,37,bf16\n8,4,4,1,4,2,0,fp16\n"

t "peer: --help" 0 "'$RP' --help | head -n1" '' 'usage: run-peer -k PEER[,PEER...] [options] [FILE...]\n' ''
t "peer: --help names every peer, the fa3 one and --failures" 0 "'$RP' --help | grep -A1 -e '^  -k' -e '^  --fi-backend' -e '^  --failures'" '' "  -k, --kernel LIST   peers to run: sdpa, flashinfer, flashinfer_fa3,\n                      flashinfer_paged, or all (--list says what each calls)\n--\n  --fi-backend B      the flashinfer peer's single_prefill backend: fa2 (default,\n                      fastest measured on an H200 where it runs), fa3 or auto;\n--\n  --failures FILE     also write the line of each row that failed or was skipped\n                      to FILE (when the run ends with exit 3; removed when 0)\n" ''
t "peer: --list, each peer's package" 0 "$NOPKG '$RP' --list | cut -f1,3" '' "sdpa\tmissing: needs the Python package 'torch' (not installed; pip install torch)\nflashinfer\tmissing: needs the Python package 'torch' (not installed; pip install torch flashinfer-python)\nflashinfer_fa3\tmissing: needs the Python package 'torch' (not installed; pip install torch flashinfer-python)\nflashinfer_paged\tmissing: needs the Python package 'torch' (not installed; pip install torch flashinfer-python)\n" ''
t "peer: --list, what flashinfer_fa3 calls" 0 "$NOPKG '$RP' --list | grep '^flashinfer_fa3' | cut -f2" '' 'FlashInfer single_prefill, backend fa3 (one prefix only: fa2 fails at 128 query heads on 0.7.2)\n' ''
t "peer: no -k" 2 "'$RP' -o out.csv" "$FORMS" '' '^run-peer: -k PEER is required \(run-peer --list shows them\)$'
t "peer: unknown peer" 2 "'$RP' -k sdpa,vllm" "$FORMS" '' "^run-peer: unknown peer 'vllm' \(run-peer --list\)$"
t "peer: empty peer list" 2 "'$RP' -k ," '' '' '^run-peer: -k: empty peer list$'
t "peer: bad --l2" 2 "'$RP' -k sdpa --l2 warm" '' '' "^run-peer: --l2 'warm': expected cold or hot$"
t "peer: bad --launch" 2 "'$RP' -k sdpa --launch fast" '' '' "^run-peer: --launch 'fast': expected graph or stream$"
t "peer: bad --device" 2 "'$RP' -k sdpa --device -1" '' '' "^run-peer: --device '-1': integer out of range"
t "peer: bad --iters" 2 "'$RP' -k sdpa --iters x" '' '' "^run-peer: --iters 'x': not an integer"
t "peer: bad --noise" 2 "'$RP' -k sdpa --noise nan" '' '' "^run-peer: --noise 'nan': not a number"
t "peer: unknown option" 2 "'$RP' -k sdpa --bogus" '' '' '^run-peer: option --bogus not recognized$'
t "peer: option without its value" 2 "'$RP' -k" '' '' '^run-peer: option -k requires argument$'
# bad input: run-kernel's checks and messages (run-kernel --columns), as run-peer's
t "peer: missing column" 1 "$NOPKG '$RP' -k sdpa -o out.csv" 'n_chunks\n4\n' '' "^run-peer: stdin:1: missing column 'n_heads'$"
t "peer: not an integer, no file left" 1 "$NOPKG '$RP' -k sdpa -o out.csv" 'n_heads,n_chunks\n1,1\n1,x\n' '' "^run-peer: stdin:3: column 'n_chunks': 'x': not an integer"
t "peer: workload rule" 1 "$NOPKG '$RP' -k sdpa" 'n_heads,n_kv_heads,n_chunks\n6,4,1\n' '' '^run-peer: stdin:2: n_heads 6 is not a multiple of n_kv_heads 4$'
t "peer: CRLF" 1 "$NOPKG '$RP' -k sdpa" 'n_heads,n_chunks\r\n1,1\r\n' '' '^run-peer: stdin:1: CRLF'
t "peer: empty input" 1 "$NOPKG '$RP' -k sdpa -o out.csv" '' '' '^run-peer: stdin:1: empty input'
t "peer: missing file" 1 "$NOPKG '$RP' -k sdpa nope.csv" '' '' '^run-peer: nope.csv: cannot open: No such file or directory$'
t "peer: file name in errors" 1 "printf 'n_heads,n_chunks\n1,0\n' > in.csv; $NOPKG '$RP' -k sdpa in.csv" '' '' "^run-peer: in.csv:2: column 'n_chunks': '0': integer out of range"
t "peer: -o a directory" 1 "mkdir d; $NOPKG '$RP' -k sdpa -o d" 'n_heads,n_chunks\n1,1\n' '' '^run-peer: d: cannot write: Is a directory$'
# packages missing: one line each, the header still written, exit 3 (rows could not run)
t "peer: missing packages, one line per peer, exit 3" 3 "$NOPKG '$RP' -k all -o out.csv && exit 9; rc=\$?; wc -l < out.csv; exit \$rc" "$FORMS" '1\n' "^run-peer: sdpa: skipped: needs the Python package 'torch' \(not installed; pip install torch\)$"
t "peer: missing flashinfer named" 3 "$NOPKG '$RP' -k flashinfer_paged" "$FORMS" '*' "run-peer: flashinfer_paged: skipped: needs the Python package 'torch' .*pip install torch flashinfer-python"
# --failures FILE: the lines of the rows not measured, as on stderr (make peers keeps them beside the sweep)
t "peer: --failures lists the rows not run, exit 3" 3 "$NOPKG '$RP' -k sdpa,flashinfer_fa3 --failures f.txt -o out.csv; rc=\$?; cat f.txt; exit \$rc" "$FORMS" "run-peer: sdpa: skipped: needs the Python package 'torch' (not installed; pip install torch)\nrun-peer: flashinfer_fa3: skipped: needs the Python package 'torch' (not installed; pip install torch flashinfer-python)\n" '^run-peer: 10 row\(s\) failed or were skipped \(see above\)$'
t "peer: --failures with every row run removes an old list, exit 0" 0 "echo old > f.txt; $NOPKG '$RP' -k sdpa --failures f.txt -o out.csv 2> /dev/null; rc=\$?; test ! -e f.txt && exit \$rc" "$PC\n" '' ''
t "peer: --failures ''" 2 "'$RP' -k sdpa --failures ''" '' '' "^run-peer: --failures '': empty file name$"
# the schema: run-kernel's header for the same input (input columns kept or replaced as it does)
t "peer: header = run-kernel's header" 0 "cat > in.csv; $NOPKG '$RP' -k sdpa in.csv 2>/dev/null > peer.csv; run-kernel -q -k ref --iters 1 --min-time 0 --no-ceiling in.csv | head -n1 | cmp - peer.csv && cut -d, -f1-4,13 peer.csv" 'n_heads,n_chunks,note,latency_ms\n1,1,x,5\n' 'n_heads,n_chunks,note,n_seqs,kernel\n' ''
t "peer: run-kernel --columns is the one schema" 0 "$NOPKG '$RP' -k sdpa 2>/dev/null | head -n1 | cmp - <(run-kernel --columns < stdin)" "$FORMS" '' ''
# --dry-run: every form's tables, checked against the chunk tables, no torch
t "peer: --dry-run, every form" 0 "$NOPKG '$RP' -k all --dry-run > plan.txt && grep -c 'pages checked against the chunk tables: ok' plan.txt && grep -c 'sdpa *refused: sdpa runs one shared prefix only' plan.txt && grep -c 'flashinfer_fa3 *refused: flashinfer_fa3 runs one shared prefix only' plan.txt" "$FORMS" '14\n3\n3\n' ''
# flashinfer_fa3: FlashInfer's single prefill with backend fa3 on one shared prefix (GQA too), refused elsewhere
t "peer: --dry-run flashinfer_fa3, one prefix" 0 "$NOPKG '$RP' -k flashinfer,flashinfer_fa3 --dry-run | sed 's/  */ /g'" "$PC\n32,128,128,64,1,0,0,bf16\n" "[1/1] stdin:2: n_seqs 32 n_heads 128/128 n_chunks 64 suffix 0 bf16 (single prefix): pool 64 chunks\n flashinfer single_prefill_with_kv_cache(q [32, 128, 128], k/v [4096, 128, 128], causal=False, kv_layout='NHD', backend='fa2')\n pages checked against the chunk tables: ok\n flashinfer_fa3 single_prefill_with_kv_cache(q [32, 128, 128], k/v [4096, 128, 128], causal=False, kv_layout='NHD', backend='fa3')\n pages checked against the chunk tables: ok\n" ''
t "peer: --dry-run flashinfer_fa3, GQA; --fi-backend is flashinfer's only" 0 "$NOPKG '$RP' -k flashinfer,flashinfer_fa3 --fi-backend auto --dry-run | grep -o 'k/v .*'" "$PC\n5,8,2,2,1,0,0,fp16\n" "k/v [128, 2, 128], causal=False, kv_layout='NHD', backend='auto')\nk/v [128, 2, 128], causal=False, kv_layout='NHD', backend='fa3')\n" ''
t "peer: --dry-run flashinfer_fa3 refuses a suffix, flashinfer runs it" 0 "$NOPKG '$RP' -k flashinfer_fa3,flashinfer --dry-run | grep -e refused -e Cascade | sed 's/  */ /g'" "$PC\n4,4,1,2,1,0,64,bf16\n" " flashinfer_fa3 refused: flashinfer_fa3 runs one shared prefix only (no group chunks, no suffix): FlashInfer's MultiLevelCascadeAttentionWrapper, its call for the other forms, has no backend choice (the flashinfer peer runs them)\n flashinfer MultiLevelCascadeAttentionWrapper(2, workspace, 'NHD').plan(...) / .run(q [4, 4, 128], (k_cache, v_cache) [6, 64, 1, 128])\n" ''
t "peer: --dry-run levels of a tree" 0 "'$RP' -k flashinfer --dry-run | grep -c 'level: qo_indptr'" "$PC\n8,8,2,2,2,1,37,bf16\n" '3\n' ''
# the Python port of tree.c and inputs.c against the C itself, bit for bit
if cc -std=c11 -D_GNU_SOURCE -Wall -Wextra -O1 -o "$T_ROOT/peer_tables" tests/peer_tables.c \
	tools/lib/{inputs,tree,parallel,err,metrics}.c -lm -lpthread; then
	for shape in "1 4 2 2 3 1 0 0 64 128 bf16" "7 8 8 2 2 2 1 37 64 128 fp16" "3 6 4 1 1 1 0 128 16 32 fp16" \
		"12345678901 16 4 4 5 4 2 65 64 128 bf16" "0 3 2 2 1 1 0 1 64 128 fp16" "5 64 8 8 33 8 4 200 64 128 bf16"; do
		set -- $shape
		t "peer: tables and input bits = run-kernel's ($shape)" 0 "'$T_ROOT/peer_tables' $shape > c.txt && '$RP' --dump-tables --seed $1 | cmp - c.txt && grep -c '^table' c.txt" \
			"n_seqs,n_heads,n_kv_heads,n_chunks,n_groups,group_chunks,suffix_len,chunk_size,d_head,dtype\n$2,$3,$4,$5,$6,$7,$8,$9,${10},${11}\n" "$2\n" ''
	done
else
	fail "peer: tests/peer_tables.c build" "cc failed"
fi
# the metric formulas and config defaults against run-kernel -k ref's rows
# ... and the recovery path after a broken CUDA context (driver, state file, the child's
# options and output, one real child process of refused rows), which needs no torch either
t "peer: --self-check without torch" 0 "$NOPKG '$RP' --self-check -q | tail -n1" '' 'self-check: 99 passed, 0 failed\n' ''
t "peer: --self-check checks the recovery path" 0 "$NOPKG '$RP' --self-check | grep -c '^ok recovery: '" '' '17\n' ''
# make's peer sweep rule with a stand-in for run-peer (RUN_PEER=): exit 3 with rows measured
# keeps them, the rows not measured listed in PEER-nN.failed.txt and counted in the record;
# any other failure (exit 3 with no row, a crash) leaves no file, as a kernel's sweep
cat > "$T_ROOT/peer-stub" <<'EOF'
#!/bin/bash
[ "$1" = --list ] && { printf 'flashinfer\tstub\tstub 1.0\n'; exit 0; }
out='' fail='' in=''
while [ $# -gt 0 ]; do case $1 in -o) out=$2; shift 2 ;; --failures) fail=$2; shift 2 ;; -k) shift 2 ;; *) in=$1; shift ;; esac; done
line="run-peer: $in:4: flashinfer: RuntimeError: launch failed; row skipped"
case $STUB in
some) head -n 3 "$in" > "$out" && echo "$line" > "$fail"; exit 3 ;;
none) head -n 1 "$in" > "$out" && echo "$line" > "$fail"; exit 3 ;;
crash) exit 1 ;;
esac
EOF
chmod +x "$T_ROOT/peer-stub"
PMK="make -s -C '$ROOT' RESULTS_NAME=h200 RUN_PEER='$T_ROOT/peer-stub' PEERS=flashinfer PRESET=quick N_SEQS=8 GPUS=0 RESULTS=\$PWD/r"
t "make peers: a peer's failed rows recorded, the rows measured kept, the sweep made" 0 "STUB=some $PMK peers 2> err | sed \"s|\$PWD|D|g\"; sed \"s|\$PWD|D|g\" err | tail -n1; wc -l < r/flashinfer-n8.sweep.csv; grep '^failed_rows' r/flashinfer-n8.prov.txt; sed \"s|\$PWD|D|g\" r/flashinfer-n8.failed.txt; $PMK -q \$PWD/r/flashinfer-n8.sweep.csv \$PWD/r/flashinfer-n8.agg.csv" '' "peers: D/r/ ( flashinfer: PEER-nN.sweep.csv); 'make plots' draws them with the kernels\npeers: flashinfer-n8: 9 of 11 rows not measured (the peer failed them), each with its reason in D/r/flashinfer-n8.failed.txt\npeers: flashinfer-n8: 2 row(s) measured and kept; the rows not measured are in D/r/flashinfer-n8.failed.txt\n3\nfailed_rows: 9 of 11 (not measured: flashinfer-n8.failed.txt says why)\nrun-peer: D/r/configs-n8.csv:4: flashinfer: RuntimeError: launch failed; row skipped\n" ''
t "make peers: exit 3 with no row measured leaves no file" 2 "STUB=none $PMK peers 2> err; rc=\$?; ls r; exit \$rc" '' 'configs-n8.csv\nsettings.txt\n' ''
t "make peers: a crashed run leaves no file" 2 "STUB=crash $PMK peers 2> err; rc=\$?; ls r; exit \$rc" '' 'configs-n8.csv\nsettings.txt\n' ''
if ! nvidia-smi -L > /dev/null 2>&1; then
	t "peer: make peers is skipped without a GPU" 0 "make -s -C '$ROOT' peers RESULTS_ROOT='$T_ROOT/peer-results' && test ! -e '$T_ROOT/peer-results'" '' 'peers: skipped: no GPU (the peers run on CUDA only)\n' ''
fi
