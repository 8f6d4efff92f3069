# tests/tool_cases.sh - the tools' table: (name, exit, command, stdin,
# stdout, stderr regex).  Sourced by run_tests.sh once per build (plain and
# ASan+UBSan).  $COURSE is the course project's CSVs.
H3='n_seqs,n_heads,n_kv_heads,n_chunks,n_groups,group_chunks,suffix_len,chunk_size,d_head,dtype,blocks'
MB=$(head -c 1048576 /dev/zero | tr '\0' a)

# --- gen-configs -------------------------------------------------------------
t "gen: --help" 0 'gen-configs --help | head -n1' '' 'usage: gen-configs [--preset NAME] [--pairs HxC,...] [--n-heads LIST]\n' ''
t "gen: default is quick" 0 'gen-configs | wc -l' '' '12\n' ''
t "gen: seed preset, 18 pairs" 0 'gen-configs --preset seed | sed -n "2p;19p;20p"' '' '32,4,4,4,1,0,0,64,128,bf16,16\n32,256,256,256,1,0,0,64,128,bf16,65536\n' ''
t "gen: cartesian + doubling range" 0 'gen-configs --n-heads 4,16 --n-chunks 4..16 --n-seqs 64' '' "$H3\n64,4,4,4,1,0,0,64,128,bf16,16\n64,4,4,8,1,0,0,64,128,bf16,32\n64,4,4,16,1,0,0,64,128,bf16,64\n64,16,16,4,1,0,0,64,128,bf16,64\n64,16,16,8,1,0,0,64,128,bf16,128\n64,16,16,16,1,0,0,64,128,bf16,256\n" ''
t "gen: pairs x n_seqs x dtype" 0 'gen-configs --pairs 4x4,64x128 --n-seqs 1,64 --dtype bf16,fp16 | wc -l' '' '9\n' ''
t "gen: additive range" 0 'gen-configs --pairs 1x1 --n-seqs 1..7+3 | cut -d, -f1 | tr "\n" " "' '' 'n_seqs 1 4 7 ' ''
t "gen: -o writes the file, not stdout" 0 'gen-configs -o out.csv && wc -l < out.csv' '' '12\n' ''
t "gen: workload columns multiply in" 0 'gen-configs --pairs 32x4 --n-kv-heads 8,32 --suffix-len 0,63 | cut -d, -f3,7 | tr "\n" " "' '' 'n_kv_heads,suffix_len 8,0 8,63 32,0 32,63 ' ''
t "gen: gqa preset" 0 'gen-configs --preset gqa --n-seqs 8 | sed -n "2p;17p" ' '' '8,32,8,16,1,0,0,64,128,bf16,512\n8,64,8,512,1,0,0,64,128,bf16,32768\n' ''
t "gen: suffix preset, n_seqs from the preset" 0 'gen-configs --preset suffix | cut -d, -f1 | sort -u | tr "\n" " "' '' '128 16 64 n_seqs ' ''
t "gen: share preset" 0 'gen-configs --preset share | sed -n "2p;16p"' '' '1,32,32,16,1,0,0,64,128,bf16,512\n128,32,32,256,1,0,0,64,128,bf16,8192\n' ''
t "gen: tree preset" 0 'gen-configs --preset tree --n-seqs 16' '' "$H3\n16,32,8,64,4,16,128,64,128,bf16,2048\n16,32,8,64,16,16,128,64,128,bf16,2048\n" ''
t "gen: n_heads not a multiple of n_kv_heads" 2 'gen-configs --pairs 6x1 --n-kv-heads 4 -o out.csv' '' '' 'n_heads 6 is not a multiple of n_kv_heads 4'
t "gen: n_seqs not a multiple of n_groups" 2 'gen-configs --preset tree --n-seqs 8 -o out.csv; rc=$?; test ! -e out.csv && exit $rc' '' '' 'n_seqs 8 is not a multiple of n_groups 16'
t "gen: group chunks need groups" 2 'gen-configs --pairs 1x1 --group-chunks 2' '' '' 'group_chunks 2 needs n_groups >= 2'
t "gen: zero heads" 2 'gen-configs --n-heads 0 --n-chunks 4' '' '' "gen-configs: --n-heads '0': integer out of range"
t "gen: non-numeric list" 2 'gen-configs --n-heads 4,x --n-chunks 4' '' '' "gen-configs: --n-heads '4,x': not an integer"
t "gen: backwards range" 2 'gen-configs --n-heads 8..4 --n-chunks 4' '' '' 'range end is below its start'
t "gen: list of commas only" 2 'gen-configs --n-heads , --n-chunks ,' '' '' "--n-heads ',': empty list"
t "gen: bad dtype" 2 'gen-configs --dtype fp8' '' '' "gen-configs: --dtype 'fp8': expected bf16 or fp16"
t "gen: bad preset" 2 'gen-configs --preset huge -o out.csv' '' '' "--preset 'huge': expected seed, quick, gqa, suffix, tree or share"
t "gen: bad pair" 2 'gen-configs --pairs 4y4' '' '' "--pairs '4y4': expected HEADSxCHUNKS"
t "gen: heads without chunks" 2 'gen-configs --n-heads 4' '' '' '--n-heads and --n-chunks go together'
t "gen: two pair sources" 2 'gen-configs --preset seed --pairs 4x4' '' '' 'give one of --preset, --pairs'
t "gen: unknown option" 2 'gen-configs --bogus' '' '' 'unrecognized option'
t "gen: stray argument" 2 'gen-configs extra' '' '' "unexpected argument 'extra'"
t "gen: stdout full" 1 'gen-configs > /dev/full' '' '' 'gen-configs: stdout: write error: No space left on device'

# --- agg-blocks -------------------------------------------------------------------
AGG_IN='blocks,kernel,latency_ms,n_heads\n64,tk,3,4\n16,tk,1,4\n64,tk,5,16\n'
t "agg: averages and sorts by blocks" 0 'agg-blocks' "$AGG_IN" 'blocks,kernel,latency_ms,n_heads\n16,tk,1,4\n64,tk,4,10\n' ''
t "agg: file argument and -o" 0 'cat > in.csv; agg-blocks -o out.csv in.csv && cat out.csv' "$AGG_IN" 'blocks,kernel,latency_ms,n_heads\n16,tk,1,4\n64,tk,4,10\n' ''
t "agg: text column that differs becomes mixed" 0 'agg-blocks' 'blocks,kernel\n4,a\n4,b\n' 'blocks,kernel\n4,mixed\n' ''
t "agg: -k two keys" 0 'agg-blocks -k n_heads,blocks' 'blocks,n_heads,x\n8,2,1\n8,1,2\n8,2,3\n' 'blocks,n_heads,x\n8,1,2\n8,2,2\n' ''
t "agg: header only" 0 'agg-blocks' 'blocks,x\n' 'blocks,x\n' ''
t "agg: no trailing newline" 0 'agg-blocks' 'blocks,x\n2,1.5' 'blocks,x\n2,1.5\n' ''
t "agg: empty input" 1 'agg-blocks -o out.csv' '' '' '^agg-blocks: stdin:1: empty input: expected a header line$'
t "agg: missing header" 1 'agg-blocks' '16,4,4\n' '' "^agg-blocks: stdin:1: missing header: first line starts with data \\('16'\\)$"
t "agg: missing key column" 1 'agg-blocks -o out.csv' 'n_heads,x\n4,1\n' '' "^agg-blocks: stdin:1: missing column 'blocks'$"
t "agg: unknown -k column" 1 'agg-blocks -k nope' 'blocks,x\n4,1\n' '' "stdin:1: missing column 'nope'"
t "agg: ragged row" 1 'agg-blocks -o out.csv' 'blocks,x\n4,1\n4,1,7\n' '' '^agg-blocks: stdin:3: row has 3 fields, header has 2$'
t "agg: short row" 1 'agg-blocks' 'blocks,x\n4\n' '' 'stdin:2: row has 1 fields, header has 2'
t "agg: non-numeric field" 1 'agg-blocks -o out.csv' 'blocks,latency_ms\n4,1\n4,abc\n' '' "^agg-blocks: stdin:3: column 'latency_ms': 'abc': not a number$"
t "agg: NaN" 1 'agg-blocks' 'blocks,latency_ms\n4,nan\n' '' "stdin:2: column 'latency_ms': 'nan': not a finite number"
t "agg: inf" 1 'agg-blocks' 'blocks,latency_ms\n4,1\n8,-inf\n' '' "stdin:3: column 'latency_ms': '-inf': not a finite number"
t "agg: out of range" 1 'agg-blocks' 'blocks,latency_ms\n4,1e999\n' '' "stdin:2: column 'latency_ms': '1e999': number out of range"
t "agg: text key" 1 'agg-blocks' 'blocks,x\nmany,1\n' '' "stdin:2: column 'blocks': 'many': not a number"
t "agg: CRLF" 1 'agg-blocks -o out.csv' 'blocks,x\r\n4,1\r\n' '' "^agg-blocks: stdin:1: CRLF line ending"
t "agg: quoted field" 1 'agg-blocks' 'blocks,x\n4,"a"\n' '' 'stdin:2: quoted field'
t "agg: duplicate column" 1 'agg-blocks' 'blocks,x,x\n4,1,2\n' '' "stdin:1: header: duplicate column 'x'"
t "agg: empty line" 1 'agg-blocks' 'blocks,x\n4,1\n\n4,2\n' '' 'stdin:3: empty line'
t "agg: NUL byte" 1 'agg-blocks' 'blocks,x\n4,1\0\n' '' 'stdin:2: NUL byte'
t "agg: 1 MB field passes through" 0 'agg-blocks | wc -c' "blocks,name\n4,$MB\n" "$((12 + 1048576 + 3))\n" ''
t "agg: 1 MB ragged line" 1 'agg-blocks' "blocks,name\n4,$MB,x\n" '' 'stdin:2: row has 3 fields, header has 2'
t "agg: missing file" 1 'agg-blocks nope.csv' '' '' '^agg-blocks: nope.csv: cannot open: No such file or directory$'
t "agg: file name in errors" 1 'printf "blocks\n4\nx\n" > in.csv; agg-blocks in.csv' '' '' "^agg-blocks: in.csv:3: column 'blocks'"
t "agg: two inputs" 2 'agg-blocks a b' '' '' 'one input file at most'
t "agg: stdout full" 1 'agg-blocks > /dev/full' 'blocks\n4\n' '' 'write error'
t "agg: course CSV unchanged" 0 'agg-blocks "$COURSE/n_seqs64/chunk_attn_tk__sweep.csv" | sed -n "1p;2p;13p"' '' 'n_seqs,n_heads,n_chunks,blocks,latency_ms,tflops,compute_eff_pct,kv_gbps,kv_mem_eff_pct\n64,4,4,16,0.007588,4.4223,0.4472,69.1,2.0626\n64,256,256,65536,1.84931,74.3192,7.5146,1161.24,34.6638\n' ''

# --- csv-join -----------------------------------------------------------------------
A='blocks,kernel,latency_ms\n16,tk,1\n64,tk,2\n'
t "join: kernel names as suffixes" 0 'printf "blocks,kernel,latency_ms\n64,native,5\n16.0,native,4\n" > b.csv; csv-join -k blocks - b.csv' "$A" 'blocks,kernel_tk,latency_ms_tk,kernel_native,latency_ms_native\n16,tk,1,native,4\n64,tk,2,native,5\n' ''
t "join: base names as suffixes" 0 'printf "blocks,x\n4,1\n" > a.csv; printf "blocks,x\n4,2\n" > b.csv; csv-join -k blocks a.csv b.csv' '' 'blocks,x_a,x_b\n4,1,2\n' ''
t "join: --suffixes, empty keeps names" 0 'printf "blocks,x\n4,2\n" > b.csv; csv-join -k blocks --suffixes ,new - b.csv' 'blocks,x\n4,1\n' 'blocks,x,x_new\n4,1,2\n' ''
t "join: unpaired rows are counted" 0 'printf "blocks,x\n4,2\n" > b.csv; csv-join -k blocks --suffixes p,q - b.csv' 'blocks,x\n4,1\n8,1\n' 'blocks,x_p,x_q\n4,1,2\n' '1 row\(s\) of stdin and 0 of b.csv had no partner'
t "join: two keys" 0 'printf "h,c,y\n2,3,9\n" > b.csv; csv-join -k h,c --suffixes a,b - b.csv' 'h,c,y\n2,3,1\n3,2,1\n' 'h,c,y_a,y_b\n2,3,1,9\n' '1 row.s. of stdin and 0 of b.csv had no partner'
t "join: no -k" 2 'csv-join a b' '' '' '-k COLS is required'
t "join: one file" 2 'csv-join -k blocks a' '' '' 'expected two input files, got 1'
t "join: both stdin" 2 'csv-join -k blocks - -' '' '' 'only one input can be stdin'
t "join: same suffix" 2 'printf "blocks,x\n4,1\n" > a.csv; mkdir d; cp a.csv d/; csv-join -k blocks a.csv d/a.csv' '' '' "both inputs get the suffix 'a'"
t "join: key named twice" 2 'printf "blocks,x\n4,1\n" > a.csv; csv-join -k blocks,blocks a.csv a.csv' '' '' "column 'blocks' named twice in 'blocks,blocks'"
t "join: bad --suffixes" 2 'csv-join -k blocks --suffixes x a b' '' '' "--suffixes 'x': expected SA,SB"
t "join: key missing in B" 1 'printf "x\n1\n" > b.csv; csv-join -k blocks -o out.csv - b.csv' 'blocks\n4\n' '' "^csv-join: b.csv:1: missing column 'blocks'$"
t "join: ragged B" 1 'printf "blocks,x\n4,1,1\n" > b.csv; csv-join -k blocks -o out.csv - b.csv' 'blocks\n4\n' '' '^csv-join: b.csv:2: row has 3 fields, header has 2$'
t "join: missing file" 1 'csv-join -k blocks nope.csv -' 'blocks\n' '' 'nope.csv: cannot open'
t "join: stdout full" 1 'printf "blocks,x\n4,2\n" > b.csv; csv-join -k blocks - b.csv > /dev/full' 'blocks,y\n4,1\n' '' 'write error'
t "join: course TK vs native" 0 'csv-join -k blocks --suffixes tk,native "$COURSE/n_seqs64/chunk_attn_tk__sweep.csv" "$COURSE/n_seqs64/chunk_attn_kernel_only__sweep_chunk_first.csv" | sed -n 1p | cut -d, -f1-3' '' 'blocks,n_seqs_tk,n_heads_tk\n' '.*no partner'

# --- run-kernel (CPU reference backend) ------------------------------------------------
t "run: --list has ref" 0 'run-kernel --list | cut -f1 | head -n1' '' 'ref\n' ''
t "run: --help" 0 'run-kernel --help | head -n1' '' 'usage: run-kernel -k KERNEL[,KERNEL...] [options] [FILE...]\n' ''
t "run: one row, validated" 0 'run-kernel -q -k ref -o out.csv && csvcol kernel out.csv && csvcol blocks out.csv && awk "BEGIN{exit !($(csvcol rel_err out.csv) < 1e-6)}"' "$H3\n3,2,2,3,1,0,0,64,128,fp16,6\n" 'ref\n6\n' ''
t "run: defaults fill missing config columns" 0 'run-kernel -q -k ref --iters 1 | head -n1 | cut -d, -f1-12' 'n_heads,n_chunks,note\n1,2,hello\n' 'n_heads,n_chunks,note,n_seqs,n_kv_heads,n_groups,group_chunks,suffix_len,chunk_size,d_head,dtype,blocks\n' ''
t "run: unknown columns pass through" 0 'run-kernel -q -k ref --iters 1 > o.csv && csvcol note o.csv' 'n_heads,n_chunks,note\n1,1,hello\n' 'hello\n' ''
# every metric column, its value recomputed from latency_ms by the formulas
t "run: all metric columns" 0 "run-kernel -q -k ref --iters 2 --peak-tflops 50 --peak-gbps 300 | awk -v peak_tflops=50 -v peak_gbps=300 -f '$ROOT/tests/metric_values.awk'" 'n_seqs,n_heads,n_chunks,dtype\n5,3,2,fp16\n32,1,1,bf16\n1,2,9,bf16\n' '' ''
# ceilings and peaks (issue 13): ceil_tflops right after ceil_gbps; the CPU has no
# tensor cores (0) and keeps the H100 defaults as its peaks; flags override both
t "run: ceil_tflops follows ceil_gbps" 0 'run-kernel -q -k ref --iters 1 | head -n1 | tr , "\n" | grep -A2 -x ceil_gbps' 'n_heads,n_chunks\n1,1\n' 'ceil_gbps\nceil_tflops\npct_of_ceiling\n' ''
t "run: README's schema tables name every column run-kernel writes" 0 'for c in $(run-kernel -q -k ref --iters 1 | head -n1 | tr , " "); do grep -q "^| .*\`$c\`" "'"$ROOT"'/README.md" || echo "$c"; done' 'n_heads,n_chunks\n1,1\n' '' ''
t "run: CPU rows keep the default peaks" 0 "run-kernel -q -k ref --iters 2 | awk -v peak_tflops=989 -v peak_gbps=3350 -f '$ROOT/tests/metric_values.awk'" 'n_seqs,n_heads,n_chunks\n4,2,3\n' '' ''
t "run: --no-ceiling zeroes both ceilings" 0 'run-kernel -q -k ref --iters 1 --no-ceiling > o.csv && csvcol ceil_gbps o.csv && csvcol ceil_tflops o.csv && csvcol pct_of_ceiling o.csv' 'n_heads,n_chunks\n1,1\n' '0\n0\n0\n' ''
t "run: --peaks, CPU: the defaults, no launch, inputs not read" 0 'run-kernel --peaks -k ref nope.csv | cut -d, -f1,3-6' '' 'backend,peak_tflops,peak_gbps,peak_tflops_from,peak_gbps_from\ncpu,989,3350,default (H100 SXM datasheet): the CPU backend has no device peaks,default (H100 SXM datasheet): the CPU backend has no device peaks\n' ''
t "run: --peaks, the flags win" 0 'run-kernel -k ref --peak-tflops 50 --peak-gbps 300 -o out.csv --peaks && cut -d, -f3-6 out.csv' '' 'peak_tflops,peak_gbps,peak_tflops_from,peak_gbps_from\n50,300,--peak-tflops,--peak-gbps\n' ''
t "run: --peaks, each peak on its own: one flag, the other's default" 0 'run-kernel --peaks -k ref --peak-gbps 300 | cut -d, -f3-6 && run-kernel --peaks -k ref --peak-tflops 50 | cut -d, -f3-6 | tail -n +2' '' 'peak_tflops,peak_gbps,peak_tflops_from,peak_gbps_from\n989,300,default (H100 SXM datasheet): the CPU backend has no device peaks,--peak-gbps\n50,3350,--peak-tflops,default (H100 SXM datasheet): the CPU backend has no device peaks\n' ''
t "run: --ceilings, CPU: a read ceiling, no tensor ceiling" 0 'run-kernel --ceilings -k ref --iters 2 --max-time 0.2 > o.csv && csvcol ceil_tflops o.csv && csvcol ceil_tflops_how o.csv && awk "BEGIN { exit !($(csvcol ceil_gbps o.csv) > 0 && $(csvcol ceil_bytes o.csv) == 4194304) }"' '' '0\nnone: the CPU backend has no tensor cores\n' ''
t "run: --peaks and --ceilings together" 2 'run-kernel --peaks --ceilings' '' '' '^run-kernel: --peaks and --ceilings: give one of them$'
if ! nvidia-smi -L > /dev/null 2>&1; then
	t "run: --ceilings without -k asks the GPU" 1 'run-kernel --ceilings -o out.csv' '' '' '^run-kernel: (no CUDA GPU found|this build has no CUDA backend)'
fi
t "run: progress on stderr" 0 'run-kernel -k ref --iters 1 > /dev/null' 'n_heads,n_chunks\n1,1\n' '' '^run-kernel: \[1/1\] ref +n_seqs 32 n_heads 1/1 n_chunks 1 suffix 0 bf16: .* ms .*; about 0 s left$'
t "run: small odd shapes" 0 'run-kernel -q -k ref --iters 1 | csvcol rel_err /dev/stdin | awk "\$1 > 1e-6 {bad=1} END {exit bad}"' 'n_seqs,n_heads,n_chunks,chunk_size,d_head,dtype\n1,1,1,64,128,bf16\n7,3,5,16,32,fp16\n65,1,2,8,8,bf16\n' '' ''
t "run: no -k" 2 'run-kernel' '' '' '-k KERNEL is required'
t "run: unknown kernel" 2 'run-kernel -k nope -o out.csv' '' '' "unknown kernel 'nope' \\(run-kernel --list\\)"
t "run: too many kernels" 2 'run-kernel -k $(printf "ref,%.0s" $(seq 70))ref' '' '' 'too many kernels'
t "run: a config over host memory is refused before any row runs" 1 'run-kernel -q -k ref --iters 1 -o out.csv; rc=$?; test ! -e out.csv && exit $rc' 'n_heads,n_chunks,chunk_size,d_head\n1,1,64,128\n32768,1024,64,4096\n' '' '^run-kernel: stdin:3: needs .* GB of host memory .*; this machine has .* GB$'
t "run: every workload form matches the reference" 0 'run-kernel -q -k ref --iters 1 | csvcol max_row_err /dev/stdin | awk "\$1 > 1e-6 {bad=1} END {exit bad}"' 'n_seqs,n_heads,n_kv_heads,n_chunks,n_groups,group_chunks,suffix_len,chunk_size,d_head\n8,8,2,3,4,2,37,16,32\n4,4,1,1,2,1,1,64,128\n3,2,2,1,1,0,130,64,64\n1,4,4,2,1,0,0,64,128\n' '' ''
t "run: kv_bytes counts distinct chunks once" 0 'run-kernel -q -k ref --iters 1 | csvcol kv_bytes /dev/stdin; ' 'n_seqs,n_heads,n_kv_heads,n_chunks,n_groups,group_chunks,suffix_len,chunk_size,d_head\n4,4,2,2,2,1,10,16,8\n' '6656\n' ''
t "run: n_heads not a multiple of n_kv_heads" 1 'run-kernel -k ref -o out.csv' 'n_heads,n_kv_heads,n_chunks\n6,4,1\n' '' '^run-kernel: stdin:2: n_heads 6 is not a multiple of n_kv_heads 4$'
t "run: n_seqs not a multiple of n_groups" 1 'run-kernel -k ref -o out.csv' 'n_seqs,n_heads,n_chunks,n_groups\n6,1,1,4\n' '' '^run-kernel: stdin:2: n_seqs 6 is not a multiple of n_groups 4$'
t "run: negative suffix" 1 'run-kernel -k ref -o out.csv' 'n_heads,n_chunks,suffix_len\n1,1,-1\n' '' "^run-kernel: stdin:2: column 'suffix_len': '-1': integer out of range"
t "run: context over 2^31 tokens" 1 'run-kernel -k ref -o out.csv' 'n_heads,n_chunks,chunk_size\n1,1048576,65536\n' '' '^run-kernel: stdin:2: a sequence of 68719476736 tokens or a pool of 1048576 chunks is over 2\^31$'
t "run: absurd suffix" 1 'run-kernel -k ref -o out.csv' 'n_heads,n_chunks,suffix_len\n1,1,99999999999\n' '' "^run-kernel: stdin:2: column 'suffix_len'"
t "run: interrupted run leaves no temp file" 0 'gen-configs --preset seed | timeout -s INT 1 run-kernel -q -k ref -o out.csv; ls' '' 'stderr\nstdin\nstdout\n' ''
t "run: a row failing validation is not written, exit 3" 3 'run-kernel -q -k ref --max-rel-err 0 -o out.csv; rc=$?; test $(wc -l < out.csv) = 1 && exit $rc' 'n_heads,n_chunks\n1,1\n' '' '^run-kernel: stdin:2: ref FAILED validation: rel_err .*, max_row_err .* at seq [0-9]+ head 0 \(tolerance 0e\+00; bf16, n_seqs 32, n_heads 1, n_kv_heads 1, n_chunks 1, suffix_len 0\); row not written'
# --refusals FILE lists the rows a kernel refused (its check()); ref refuses no shape, so
# here: no file (an old one removed), a failed row is not listed, the name checked first
# (a refusal's own line: tests/pipeline_cases.sh, from a resume journal; on a GPU, test-gpu)
t "run: --refusals: nothing refused, no file (an old one removed)" 0 'touch r.txt && run-kernel -q -k ref --iters 1 --refusals r.txt -o out.csv && test ! -e r.txt && ls' 'n_heads,n_chunks\n1,1\n' 'out.csv\nstderr\nstdin\nstdout\n' ''
t "run: --refusals: a row failing validation is not a refusal (exit 3, no file)" 3 'run-kernel -q -k ref --max-rel-err 0 --refusals r.txt -o out.csv; rc=$?; test ! -e r.txt && test $(wc -l < out.csv) = 1 && exit $rc' 'n_heads,n_chunks\n1,1\n' '' '^run-kernel: 1 row\(s\) failed or were skipped \(see above\)$'
t "run: --refusals ''" 2 "run-kernel -k ref --refusals '' -o out.csv" 'n_heads,n_chunks\n1,1\n' '' "^run-kernel: --refusals '': empty file name$"
t "run: --refusals - (stdout is the rows')" 2 'run-kernel -k ref --refusals -' 'n_heads,n_chunks\n1,1\n' '' "^run-kernel: --refusals '-': a file name, not stdout"
t "run: --refusals and -o the same file" 2 'run-kernel -k ref --refusals out.csv -o out.csv' 'n_heads,n_chunks\n1,1\n' '' "^run-kernel: --refusals and -o name the same file 'out.csv'$"
t "run: --refusals to a directory is refused before any row runs" 1 'mkdir d && run-kernel -k ref --refusals d -o out.csv' 'n_heads,n_chunks\n1,1\n' '' '^run-kernel: d: cannot write: Is a directory$'
t "run: --refusals in a missing folder is refused before any row runs" 1 'run-kernel -k ref --refusals no/r.txt -o out.csv' 'n_heads,n_chunks\n1,1\n' '' '^run-kernel: no/r.txt: cannot create: No such file or directory$'
t "run: bad --max-rel-err" 2 'run-kernel -k ref --max-rel-err 2' '' '' "--max-rel-err '2': out of range"
t "run: progress counts configs and the time left" 0 'run-kernel -k ref --iters 1 > /dev/null 2> err; sed "s/ bf16: .*; about/ bf16 about/" err' 'n_heads,n_chunks\n1,1\n1,2\n' 'run-kernel: [1/2] ref           n_seqs 32 n_heads 1/1 n_chunks 1 suffix 0 bf16 about 0 s left\nrun-kernel: [2/2] ref           n_seqs 32 n_heads 1/1 n_chunks 2 suffix 0 bf16 about 0 s left\n' ''
t "run: sampling lasts --min-time" 0 'run-kernel -q -k ref --min-time 0.3 --noise 100 | csvcol samples /dev/stdin | awk "{ exit !(\$1 >= 10) }"' 'n_heads,n_chunks,chunk_size,d_head\n1,1,8,8\n' '' ''
t "run: bad --min-time" 2 'run-kernel -k ref --min-time -1' '' '' "--min-time '-1'"
t "run: bad --iters" 2 'run-kernel -k ref --iters 0' '' '' "--iters '0': integer out of range"
t "run: bad --l2" 2 'run-kernel -k ref --l2 warm' '' '' "--l2 'warm': expected cold or hot"
t "run: bad --launch" 2 'run-kernel -k ref --launch fast' '' '' "--launch 'fast': expected stream or graph"
t "run: bad --peak-gbps" 2 'run-kernel -k ref --peak-gbps -1' '' '' "--peak-gbps '-1'"
t "run: empty input" 1 'run-kernel -k ref -o out.csv' '' '' '^run-kernel: stdin:1: empty input'
t "run: missing n_heads" 1 'run-kernel -k ref -o out.csv' 'n_chunks\n4\n' '' "^run-kernel: stdin:1: missing column 'n_heads'$"
t "run: blocks mismatch" 1 'run-kernel -k ref -o out.csv' 'n_heads,n_chunks,blocks\n2,3,5\n' '' '^run-kernel: stdin:2: blocks = 5 but n_heads x n_chunks = 6$'
t "run: bad dtype" 1 'run-kernel -k ref' 'n_heads,n_chunks,dtype\n1,1,fp8\n' '' "stdin:2: column 'dtype': 'fp8': expected bf16 or fp16"
t "run: n_seqs 0" 1 'run-kernel -k ref' 'n_heads,n_chunks,n_seqs\n1,1,0\n' '' "stdin:2: column 'n_seqs': '0': integer out of range"
t "run: non-numeric n_chunks" 1 'run-kernel -k ref' 'n_heads,n_chunks\n1,four\n' '' "stdin:2: column 'n_chunks': 'four': not an integer"
t "run: bad row after good rows leaves no file" 1 'run-kernel -q -k ref --iters 1 -o out.csv' 'n_heads,n_chunks\n1,1\n1,x\n' '' "^run-kernel: stdin:3: column 'n_chunks'"
t "run: CRLF" 1 'run-kernel -k ref' 'n_heads,n_chunks\r\n1,1\r\n' '' 'stdin:1: CRLF'
t "run: later file with another header" 1 'printf "n_heads,n_chunks\n1,1\n" > a.csv; printf "n_chunks,n_heads\n1,1\n" > b.csv; run-kernel -q -k ref --iters 1 -o out.csv a.csv b.csv' '' '' "b.csv:1: header differs"
t "run: stdout full" 1 'run-kernel -q -k ref --iters 1 > /dev/full' 'n_heads,n_chunks\n1,1\n' '' 'write error'
# --columns and --ceiling-only: what tools/run-peer asks run-kernel for
t "run: --columns is the header a run writes" 0 'cat > in.csv; run-kernel --columns in.csv > cols.txt && run-kernel -q -k ref --iters 1 in.csv | head -n1 | cmp - cols.txt && cut -d, -f1-4,13 cols.txt' 'n_heads,n_chunks,note,kernel\n1,2,hello,x\n' 'n_heads,n_chunks,note,n_seqs,kernel\n' ''
t "run: --columns checks every row" 1 'run-kernel --columns -o out.csv' 'n_heads,n_chunks\n1,1\n1,x\n' '' "^run-kernel: stdin:3: column 'n_chunks': 'x': not an integer"
t "run: --ceiling-only, config columns, ceilings, device, peaks" 0 'run-kernel -q -k ref --ceiling-only --iters 2 --min-time 0 --peak-gbps 7 > o.csv && head -n1 o.csv && cut -d, -f12- o.csv | tail -n +2 | sed "s/^[0-9.e+-]*,/G,/"' 'n_heads,n_chunks,ceil_gbps\n1,2,7\n2,1,7\n' 'n_heads,n_chunks,n_seqs,n_kv_heads,n_groups,group_chunks,suffix_len,chunk_size,d_head,dtype,blocks,ceil_gbps,ceil_tflops,device,peak_tflops,peak_gbps\nG,0,cpu,989,7\nG,0,cpu,989,7\n' ''
t "run: --ceiling-only --no-ceiling, nothing measured" 0 'run-kernel -k ref --ceiling-only --no-ceiling | cut -d, -f12-' 'n_heads,n_chunks\n1,2\n' 'ceil_gbps,ceil_tflops,device,peak_tflops,peak_gbps\n0,0,cpu,989,3350\n' ''
t "run: --columns with --ceiling-only" 2 'run-kernel --columns --ceiling-only' '' '' 'do not go together'
if gpu_kernels_without_gpu; then
	t "run: GPU kernel without a GPU" 1 'run-kernel -k native -o out.csv' 'n_heads,n_chunks\n1,1\n' '' '^run-kernel: no CUDA GPU found .*; -k ref runs the CPU backend$'
fi

t "join: 300,000 x 300,000 distinct keys, sorted once" 0 'awk "BEGIN { print \"k,x\"; for (i = 300000; i > 0; i--) print i \",\" i }" > a.csv; awk "BEGIN { print \"k,y\"; for (i = 1; i <= 300001; i++) print i \".0,\" 2 * i }" > b.csv; csv-join -k k --suffixes a,b a.csv b.csv | sed -n "2p;\$p"' '' '300000,300000,600000\n1,1,2\n' '0 row\(s\) of a.csv and 1 of b.csv had no partner'
t "join: equal keys pair in B's order, numbers before text" 0 'printf "k,y\nb,1\n2,2\n02,3\na,4\n" > b.csv; csv-join -k k --suffixes a,b - b.csv' 'k,x\n2,A\nb,B\n' 'k,x_a,y_b\n2,A,2\n2,A,3\nb,B,1\n' '1 row\(s\) of b.csv had no partner|0 row\(s\) of stdin and 1 of b.csv'

RATES_IN='blocks,latency_ms,kv_gbps,tflops,ceil_gbps,pct_of_ceiling,kernel\n64,1,100,10,1000,10,tk\n64,3,300,20,600,50,tk\n'
t "agg: --rates from summed work over summed time" 0 'agg-blocks --rates' "$RATES_IN" 'blocks,latency_ms,kv_gbps,tflops,ceil_gbps,pct_of_ceiling,kernel\n64,2,250,17.5,625,40,tk\n' ''
t "agg: without --rates the rates are averaged" 0 'agg-blocks' "$RATES_IN" 'blocks,latency_ms,kv_gbps,tflops,ceil_gbps,pct_of_ceiling,kernel\n64,2,200,15,800,30,tk\n' ''
t "agg: --rates needs latency_ms" 1 'agg-blocks --rates' 'blocks,kv_gbps\n1,2\n' '' "^agg-blocks: stdin:1: --rates needs a numeric column 'latency_ms'$"

# --- compare-runs -------------------------------------------------------------------
CA='n_heads,n_chunks,kernel,latency_ms,noise_pct\n4,4,tk,1.0,1\n4,8,tk,2.0,1\n8,8,tk,4.0,1\n16,16,tk,8,1\n'
CB='n_seqs,n_heads,n_kv_heads,n_chunks,kernel,latency_ms,noise_pct\n32,4,4,4,tk,0.5,1\n32,4,4,8,tk,2.01,1\n32,8,8,8,tk,5.0,1\n32,2,2,2,tk,1,1\n'
t "compare: verdicts from the noise, defaults fill missing columns" 0 'printf "'"$CB"'" > b.csv; compare-runs - b.csv | cut -d, -f2,4,15,18-20' "$CA" 'n_heads,n_chunks,latency_ms_b,ratio,change_pct,verdict\n2,2,1,,,ONLY_B\n4,4,0.5,0.5,-50,FAST\n4,8,2.01,1.005,0.5,SAME\n8,8,5,1.25,25,SLOW\n16,16,,,,ONLY_A\n' '^compare-runs: 3 configs matched: geometric-mean ratio B/A 0.8564; 1 FAST, 1 SLOW, 1 SAME; 1 only in A, 1 only in B$'
t "compare: --table aligns and ends with the summary" 0 'printf "'"$CB"'" > b.csv; compare-runs --table - b.csv | sed -n "1p;\$p" | tr -s " "' "$CA" 'n_seqs n_heads n_kv_heads n_chunks n_groups group_chunks suffix_len chunk_size d_head dtype blocks kernel_a kernel_b latency_ms_a latency_ms_b noise_pct_a noise_pct_b ratio change_pct verdict\n3 configs matched: geometric-mean ratio B/A 0.8564; 1 FAST, 1 SLOW, 1 SAME; 1 only in A, 1 only in B\n' ''
t "compare: --fail-slower gates beyond the noise" 1 'printf "'"$CB"'" > b.csv; compare-runs --fail-slower 20 - b.csv > /dev/null' "$CA" '' '; 1 config\(s\) slower than their noise by more than 20% \(--fail-slower\)$'
t "compare: --fail-slower passes within it" 0 'printf "'"$CB"'" > b.csv; compare-runs --fail-slower 25 --table - b.csv | tail -n1' "$CA" '3 configs matched: geometric-mean ratio B/A 0.8564; 1 FAST, 1 SLOW, 1 SAME; 1 only in A, 1 only in B\n' ''
t "compare: -k two kernels of one file" 0 'compare-runs -k native,tk - 2>/dev/null | cut -d, -f11-13,19-20' 'n_heads,n_chunks,kernel,latency_ms\n4,4,native,2\n4,4,tk,1\n8,8,tk,3\n' 'blocks,kernel_a,kernel_b,change_pct,verdict\n16,native,tk,-50,FAST\n64,,tk,,ONLY_B\n' ''
t "compare: kernels differ, rows differ" 0 'printf "n_heads,n_chunks,kernel,latency_ms\n4,4,native,1\n" > b.csv; compare-runs - b.csv >/dev/null' 'n_heads,n_chunks,kernel,latency_ms\n4,4,tk,1\n' '' '0 configs matched: geometric-mean ratio B/A nan; 0 FAST, 0 SLOW, 0 SAME; 1 only in A, 1 only in B'
t "compare: a config twice" 1 'compare-runs -k tk,tk - ' 'n_heads,n_chunks,kernel,latency_ms\n4,4,tk,1\n8,8,tk,1\n4,4.0,tk,2\n' '' '^compare-runs: stdin:4: the same config as line 2: rows to compare must be unique$'
t "compare: no latency" 1 'compare-runs -k a,b -' 'n_heads,n_chunks,kernel\n4,4,a\n' '' "^compare-runs: stdin:1: missing column 'latency_ms'$"
t "compare: -k kernel absent" 1 'compare-runs -k a,zz -' 'n_heads,n_chunks,kernel,latency_ms\n4,4,a,1\n' '' "^compare-runs: stdin:1: no rows of kernel 'zz'$"
t "compare: bad -k" 2 'compare-runs -k tk a.csv' '' '' "-k 'tk': expected two kernel names KA,KB"
t "compare: one file without -k" 2 'compare-runs a.csv' '' '' 'give A.csv and B.csv, or -k KA,KB with one file'
t "compare: bad --fail-slower" 2 'compare-runs --fail-slower -3 a b' '' '' "--fail-slower '-3': must be >= 0"
t "compare: non-numeric latency" 1 'printf "n_heads,n_chunks,kernel,latency_ms\n4,4,tk,1\n" > b.csv; compare-runs - b.csv' 'n_heads,n_chunks,kernel,latency_ms\n4,4,tk,fast\n' '' "^compare-runs: stdin:2: column 'latency_ms': 'fast': not a number$"
t "compare: 200,000 configs sort-matched" 0 'awk "BEGIN { print \"n_heads,n_chunks,kernel,latency_ms\"; for (i = 200000; i > 0; i--) print i \",1,tk,\" i }" > a.csv; awk "BEGIN { print \"n_heads,n_chunks,kernel,latency_ms\"; for (i = 1; i <= 200000; i++) print i \",1,tk,\" i }" > b.csv; compare-runs a.csv b.csv >/dev/null' '' '' '^compare-runs: 200000 configs matched: geometric-mean ratio B/A 1; 0 FAST, 0 SLOW, 200000 SAME; 0 only in A, 0 only in B$'
t "compare: stdout full" 1 'compare-runs -k tk,tk - > /dev/full' 'n_heads,n_chunks,kernel,latency_ms\n4,4,tk,1\n' '' 'write error'

# --- hostile input (issue 15): every reader, one rule -----------------------------
t "csv: UTF-8 BOM refused by agg-blocks" 1 'agg-blocks -o out.csv' '\xef\xbb\xbfblocks,x\n4,1\n' '' '^agg-blocks: stdin:1: UTF-8 byte-order mark: save the file without it$'
t "csv: UTF-8 BOM refused by run-kernel (never a default config)" 1 'run-kernel -q -k ref --iters 1 -o out.csv' '\xef\xbb\xbfn_seqs,n_heads,n_chunks\n64,1,1\n' '' '^run-kernel: stdin:1: UTF-8 byte-order mark'
t "csv: UTF-8 BOM refused by csv-join" 1 'printf "\xef\xbb\xbfblocks,y\n4,1\n" > b.csv; csv-join -k blocks -o out.csv - b.csv' 'blocks,x\n4,1\n' '' '^csv-join: b.csv:1: UTF-8 byte-order mark'
t "csv: header name with a blank" 1 'agg-blocks' 'blocks, x\n4,1\n' '' "^agg-blocks: stdin:1: header: column 2 name ' x' is not a plain identifier"
t "csv: header name with a stray byte" 1 'compare-runs -k a,b -' 'n_heads,n_chunks,kernel,lat\xc3\xa9\n4,4,a,1\n' '' "^compare-runs: stdin:1: header: column 4 name .* is not a plain identifier"
t "csv: CR inside a field, on reading" 1 'run-kernel -q -k ref --iters 1 -o out.csv' 'n_heads,n_chunks,note\n1,1,a\rb\n' '' '^run-kernel: stdin:2: carriage return inside a field$'
t "csv: one blank line at the end is the end" 0 'agg-blocks' 'blocks,x\n4,1\n\n' 'blocks,x\n4,1\n' ''
t "csv: two blank lines at the end" 1 'agg-blocks' 'blocks,x\n4,1\n\n\n' '' '^agg-blocks: stdin:3: empty line$'
t "csv: a directory as input" 1 'mkdir d; agg-blocks -o out.csv d' '' '' '^agg-blocks: d: read error: Is a directory$'
t "csv: 1M columns, duplicate found in seconds" 1 'awk "BEGIN { printf \"blocks\"; for (i = 1; i < 1000000; i++) printf \",c%d\", i; print \",c5\" }" | timeout 20 agg-blocks' '' '' "^agg-blocks: stdin:1: header: duplicate column 'c5'$"
t "csv: 1M distinct columns" 0 'awk "BEGIN { printf \"blocks\"; for (i = 1; i < 1000000; i++) printf \",c%d\", i; print \"\" }" | timeout 20 agg-blocks | wc -c' '' '7888894\n' ''

# --- hostile environments (issue 15): -o, fds, signals ------------------------------
ONE_ROW='n_heads,n_chunks\n1,1\n'
SLOW='--iters 100000 --min-time 2 --max-time 2' # a run of 2 s, to be signalled
t "-o: a FIFO is written through, stays a FIFO" 0 'mkfifo p; timeout 10 cat p > got & gen-configs -o p; wait; test -p p && wc -l < got' '' '12\n' ''
t "-o: a /dev/full copy fails, stays a device" 1 'mknod full c 1 7 2>/dev/null || ln -s /dev/full full; gen-configs -o full; rc=$?; test -c full && exit $rc' '' '' '^gen-configs: (full|/dev/full): write error: No space left on device$'
t "-o: /dev/null is written through" 0 'gen-configs -o /dev/null && test -c /dev/null' '' '' ''
t "-o: a symlink is followed, stays a link" 0 'gen-configs --pairs 1x1 -o real.csv; ln -s real.csv link.csv; gen-configs -o link.csv && test -L link.csv && wc -l < real.csv' '' '12\n' ''
t "-o: a dangling symlink" 1 'ln -s nowhere/x.csv link.csv; gen-configs -o link.csv' '' '' '^gen-configs: link.csv: symbolic link to a missing file: No such file or directory$'
t "-o: a directory, refused before the first row" 1 'mkdir d; run-kernel -k ref --iters 1 -o d' "$ONE_ROW" '' '^run-kernel: d: cannot write: Is a directory$'
t "-o: an empty name" 2 'gen-configs -o ""' '' '' "^gen-configs: -o '': empty file name$"
t "-o: a valid 250-character name" 0 'n=$(printf "a%.0s" $(seq 250)); gen-configs -o $n && wc -l < $n && ls | wc -l' '' '12\n4\n' ''
t "-o: a name too long, before the first row" 1 'run-kernel -k ref --iters 1 -o $(printf "a%.0s" $(seq 300))' "$ONE_ROW" '' '^run-kernel: a+: cannot create: File name too long$'
t "fds: stderr closed, diagnostics never in the CSV" 0 'printf "blocks,x\n4,2\n" > b.csv; csv-join -k blocks --suffixes p,q -o out.csv - b.csv 2>&-; cat out.csv' 'blocks,x\n4,1\n8,1\n' 'blocks,x_p,x_q\n4,1,2\n' ''
t "fds: stdin and stdout closed" 0 'gen-configs -o out.csv <&- >&- && wc -l < out.csv' '' '12\n' ''
t "signal: an ignored SIGINT stays ignored (trap '' INT)" 0 'trap "" INT; run-kernel -q -k ref '"$SLOW"' -o out.csv < stdin & sleep 0.7; kill -INT $!; wait $! && test -s out.csv' "$ONE_ROW" '' ''
t "signal: nohup survives SIGHUP" 0 'nohup run-kernel -q -k ref '"$SLOW"' -o out.csv < stdin 2>/dev/null & sleep 0.7; kill -HUP $!; wait $! && test -s out.csv' "$ONE_ROW" '' ''
t "signal: SIGQUIT leaves no temp file" 0 'env --default-signal=QUIT run-kernel -q -k ref '"$SLOW"' -o out.csv < stdin & sleep 0.7; kill -QUIT $!; wait $!; ls' "$ONE_ROW" 'stderr\nstdin\nstdout\n' 'Quit'
t "signal: SIGXCPU leaves no temp file" 0 'run-kernel -q -k ref '"$SLOW"' -o out.csv < stdin & sleep 0.7; kill -XCPU $!; wait $!; ls' "$ONE_ROW" 'stderr\nstdin\nstdout\n' 'CPU time limit'
t "signal: SIGPIPE on stderr leaves no temp file" 0 'run-kernel -k ref --iters 100000 --min-time 0.6 --max-time 0.6 -o out.csv < stdin 2>&1 | head -c1 > /dev/null; ls' 'n_heads,n_chunks\n1,1\n1,2\n1,3\n' 'stderr\nstdin\nstdout\n' ''
t "stale: a dead run's temp file is removed by the next run" 0 'touch "out.csv.tmp.$(hostname).2147483646" "out.csv.tmp.$(hostname).$$"; gen-configs -o out.csv && ls | grep tmp | sed "s/\.[0-9]*$//;s/\.$(hostname)$/.HOST/"' '' 'out.csv.tmp.HOST\n' ''

# --- agg-blocks numbers and column types (issue 15) ---------------------------------
t "agg: close keys stay distinct, as read" 0 'agg-blocks' 'blocks,x\n1.0000002,1\n1.0000001,2\n' 'blocks,x\n1.0000001,2\n1.0000002,1\n' ''
t "agg: 16-digit integer keys stay integers" 0 'agg-blocks' 'blocks,x\n1000000000000002,1\n1000000000000001,2\n' 'blocks,x\n1000000000000001,2\n1000000000000002,1\n' ''
t "agg: keys 2^62 and 2^62+1 stay apart" 0 'agg-blocks -k seed' 'seed,x\n4611686018427387905,1\n4611686018427387904,2\n4611686018427387905,3\n' 'seed,x\n4611686018427387904,2\n4611686018427387905,2\n' ''
t "agg: a key in two forms, one exact value" 0 'agg-blocks' 'blocks,x\n16,1\n16.0,3\n0.1,1\n0.10,1\n' 'blocks,x\n0.1,1\n16,2\n' ''
t "agg: one integer text prints as read (a seed of 2^62)" 0 'agg-blocks' 'blocks,seed,x\n4,4611686018427387904,1\n4,4611686018427387904,2\n' 'blocks,seed,x\n4,4611686018427387904,1.5\n' ''
t "agg: integer means stay integers past 1e15" 0 'agg-blocks' 'blocks,x\n4,1000000000000001\n4,1000000000000003\n' 'blocks,x\n4,1000000000000002\n' ''
t "agg: huge means do not overflow" 0 'agg-blocks' 'blocks,x\n4,1e308\n4,1.5e308\n' 'blocks,x\n4,1.25e+308\n' ''
t "agg: column type from all rows, bad line named" 1 'agg-blocks -o out.csv' 'blocks,latency_ms\n4,1x\n4,abc\n8,2\n' '' "^agg-blocks: stdin:2: column 'latency_ms': '1x': not a number$"
t "agg: empty number in row 1" 1 'agg-blocks' 'blocks,x\n4,\n4,2\n' '' "^agg-blocks: stdin:2: column 'x': '': empty field where a number is expected$"
t "agg: space-padded number in row 1" 1 'agg-blocks' 'blocks,x,note\n4, 1,a\n4,2,b\n' '' "^agg-blocks: stdin:2: column 'x': ' 1': not a number$"
t "agg: a blank-padded column of numbers is not text" 1 'agg-blocks' 'blocks,x\n4, 1\n4, 2\n' '' "^agg-blocks: stdin:2: column 'x': ' 1': not a number$"
t "agg: an all-empty column stays text" 0 'agg-blocks' 'blocks,x\n4,\n4,\n' 'blocks,x\n4,\n' ''

# --- gen-configs lists (issue 15) ----------------------------------------------------
t "gen: an empty list item is refused" 2 'gen-configs --n-heads 4,,8 --n-chunks 4' '' '' "^gen-configs: --n-heads '4,,8': empty item in the list"
t "gen: a trailing comma is an empty item" 2 'gen-configs --n-seqs 4,' '' '' "^gen-configs: --n-seqs '4,': empty item in the list"
t "gen: --dtype with too many entries" 2 'gen-configs --dtype bf16,fp16,bf16,fp16,bf16,fp16,bf16,fp16,bf16' '' '' "^gen-configs: --dtype 'bf16,fp16,bf16,fp16,bf16,fp16,bf16,fp16,bf16': more than 8 entries$"
t "gen: 010 is decimal, and --help says so" 0 'gen-configs --pairs 1x1 --n-seqs 010 | cut -d, -f1 | tail -n1; gen-configs --help | grep -c "010 is ten"' '' '10\n1\n' ''

# --- source-hash.sh: the sources' hash in each sweep's record ------------------------
SH="$ROOT/tools/source-hash.sh"
mkrepo='mkdir -p r/tools r/kernels && echo a > r/tools/x.sh && echo b > r/kernels/k.cu && echo all: > r/Makefile &&
	git -C r init -q && git -C r -c user.name=t -c user.email=t@t add -A && git -C r -c user.name=t -c user.email=t@t commit -qm c'
t "source-hash: a tree and its commit hash the same; Python caches do not count" 0 "$mkrepo && a=\$('$SH' r) &&
	b=\$(cd r && '$SH' --commit HEAD) && mkdir r/tools/__pycache__ && echo z > r/tools/__pycache__/x.pyc && echo z > r/tools/__pycache__/n.txt && echo z > r/tools/y.pyc && c=\$('$SH' r) &&
	test \"\$a\" = \"\$b\" && test \"\$a\" = \"\$c\" && echo \"\$a\" | grep -Eqx '[0-9a-f]{16}' && echo ok" '' 'ok\n' ''
t "source-hash: an edited kernel or a new tool changes it" 0 "$mkrepo && a=\$('$SH' r) && echo c >> r/kernels/k.cu && b=\$('$SH' r) &&
	git -C r checkout -q -- kernels && echo n > r/tools/new.sh && c=\$('$SH' r) &&
	test \"\$a\" != \"\$b\" && test \"\$a\" != \"\$c\" && test \"\$b\" != \"\$c\" && echo ok" '' 'ok\n' ''
t "source-hash: --commit from a subfolder hashes the whole commit" 0 "$mkrepo && a=\$('$SH' r) && b=\$(cd r/kernels && '$SH' --commit HEAD) && test \"\$a\" = \"\$b\" && echo ok" '' 'ok\n' ''
t "source-hash: an exported CDPATH does not move it" 0 "$mkrepo && mkdir -p c/r/tools && a=\$('$SH' r) && b=\$(CDPATH=\$PWD/c '$SH' r) && test \"\$a\" = \"\$b\" && echo ok" '' 'ok\n' ''
t "source-hash: not a commit" 1 "$mkrepo && cd r && '$SH' --commit nosuchrev" '' '' '^source-hash.sh: nosuchrev: not a commit$'
t "source-hash: a folder without tools/" 1 "mkdir e && '$SH' e" '' '' '^source-hash.sh: e: no tools/ folder$'
t "source-hash: --commit needs one REV" 2 "'$SH' --commit" '' '' '^usage: source-hash.sh'
t "provenance: the record names the sources' hash" 0 "cd '$ROOT' && h=\$(tools/source-hash.sh) && tools/provenance.sh x | grep -qx \"source_tree: \$h (tools/source-hash.sh --commit REV gives a commit's)\" && echo ok" '' 'ok\n' ''
