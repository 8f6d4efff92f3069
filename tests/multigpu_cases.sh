# tests/multigpu_cases.sh - several GPUs without GPUs: tools/gpu-slot.sh, `make
# results GPUS=...` and the jobs' sweep_slices on the CPU backend with fake
# device lists (the CPU ignores the device; gpu-slot's log says which device
# each slice held and when, so the checks can see that no device was held
# twice at once), and `make interference`.  Sourced by run_tests.sh (TOOLS_BIN,
# T_ROOT, check/t set).

M=$T_ROOT/multigpu
mkdir -p "$M"
export GPU_LOCK_DIR=${GPU_LOCK_DIR:-$M/locks} # the tests' locks, not the user's
mkdir -p "$GPU_LOCK_DIR"
SLOT=$ROOT/tools/gpu-slot.sh
FAST_FLAGS='--iters 2 --min-time 0 --max-time 0.1'

# slots_ok LOG [N]: no GPU held by two commands at once; with N, N ran at once
# (tests/slots-ok.awk on gpu-slot's log).  Prints what is wrong.
slots_ok() { sort -k2,2 -k3,3n "$1" | awk -v want="${2:-0}" -f "$ROOT/tests/slots-ok.awk"; }
export -f slots_ok

# --- gpu-slot.sh ------------------------------------------------------------------------
L=$M/slot.log
check "gpu-slot: 6 commands on 3 GPUs: 3 at once, never 2 on one GPU, each sees only its own" \
	"for i in 1 2 3 4 5 6; do $SLOT -l $L -t c\$i '0 1 2' sh -c 'echo \$CUDA_VISIBLE_DEVICES > \$0; sleep 0.4' $M/seen.c\$i 2> /dev/null & done; wait &&
	 test \$(wc -l < $L) = 6 && slots_ok $L 3 && test \"\$(cut -d' ' -f2 $L | sort -u | tr '\n' ' ')\" = '0 1 2 ' &&
	 while read -r tag dev s e rc; do test \"\$(cat $M/seen.\$tag)\" = \$dev && test \$rc = 0 || exit 1; done < $L"
check "gpu-slot: devices by commas; -r records the device held; exit status and stdin pass through" \
	"printf 'x: 1\n' > $M/rec && echo hi | $SLOT -r $M/rec 4,5 sh -c 'read -r l; test \$l = hi && exit 7' 2> $M/slot.err; test \$? = 7 &&
	 sed -n 2p $M/rec | grep -qx 'device: 4' && grep -q '^device_held_since: 20' $M/rec && grep -q 'sh on GPU 4' $M/slot.err &&
	 $SLOT 4,5 true 2> $M/slot.err && grep -q 'true on GPU 4' $M/slot.err"
check "gpu-slot: a GPU held elsewhere is skipped, the command waits when every one is held" \
	"exec 8>> $GPU_LOCK_DIR/gpu-7.lock && flock 8 && $SLOT '7 8' sh -c 'test \$CUDA_VISIBLE_DEVICES = 8' 2> /dev/null &&
	 { (sleep 0.6; flock -u 8) & } && t0=\$(date +%s%N) && $SLOT -t w 7 true 2> $M/wait.err && test \$((\$(date +%s%N) - t0)) -ge 500000000 &&
	 grep -q 'w: every GPU of \"7\" is busy; waiting' $M/wait.err"
check "gpu-slot: SIGTERM reaches the command, which is gone when gpu-slot exits (143)" \
	"$SLOT -l $M/sig.log -t sig 0 sh -c 'echo \$\$ > $M/child; exec sleep 30' 2> /dev/null & p=\$!;
	 n=0; until test -s $M/child || test \$n -ge 50; do sleep 0.1; n=\$((n + 1)); done; kill -TERM \$p; wait \$p; rc=\$?;
	 test \$rc = 143 && ! kill -0 \$(cat $M/child) 2> /dev/null && grep -q '^sig 0 .* 143\$' $M/sig.log"
t "gpu-slot: an sbatch GPU request is not a device list" 2 "$SLOT h100-80:1 true" '' '' "^gpu-slot.sh: GPU 'h100-80:1': expected a device index or UUID"
t "gpu-slot: no GPUs" 2 "$SLOT '' true" '' '' '^gpu-slot.sh: no GPUs given'
t "gpu-slot: no command" 2 "$SLOT 0" '' '' '^gpu-slot.sh: usage: '

# --- make results GPUS=... ----------------------------------------------------------------
check "GPUS default: CUDA_VISIBLE_DEVICES, else nvidia-smi's GPUs (of GPU 0's model), 0 on the CPU; make help shows it" \
	"mkdir -p $M/stub && printf '#!/bin/sh\ncase \$1 in --query-gpu=index,name) for i in 0 1 2 3; do echo \"\$i, NVIDIA H200\"; done; echo 4, NVIDIA A100-SXM4-80GB;; *) echo NVIDIA H200;; esac\n' > $M/stub/nvidia-smi &&
	 chmod +x $M/stub/nvidia-smi &&
	 CUDA_VISIBLE_DEVICES=3,5 make -s help RESULTS_NAME=h100 | grep -q \"GPUS='3 5'\" &&
	 env -u CUDA_VISIBLE_DEVICES PATH=$M/stub:\$PATH make -s help RESULTS_NAME=h200 GPU_MODEL='NVIDIA H200' | grep -q \"GPUS='0 1 2 3'\" &&
	 CUDA_VISIBLE_DEVICES=3,5 make -s help RESULTS_NAME=cpu | grep -q \"GPUS='0'\" &&
	 make -s help RESULTS_NAME=cpu GPUS=0,1 | grep -q \"GPUS='0 1'\""

# The same settings serially (one GPU) and on 3 fake GPUs: the same files, the same rows.
R1=$M/serial R3=$M/par3
MK="make -s RESULTS_NAME=cpu N_SEQS='8 16 32' RUN_FLAGS='$FAST_FLAGS'"
check "make results GPUS=\"0 1 2\": 3 slices at once, one per GPU, never 2 on one" \
	"$MK results RESULTS=$R1 GPUS=0 > /dev/null 2>&1 && GPU_SLOT_LOG=$M/par3.log $MK results RESULTS=$R3 GPUS='0 1 2' > /dev/null 2> $M/par3.err &&
	 slots_ok $M/par3.log 2 && test \"\$(cut -d' ' -f1 $M/par3.log | sort | tr '\n' ' ')\" = 'ref-n16 ref-n32 ref-n8 ' &&
	 test \"\$(cut -d' ' -f2 $M/par3.log | sort -u | wc -l)\" -ge 2 && ! cut -d' ' -f2 $M/par3.log | grep -vqx '[012]'"
check "make results GPUS=\"0 1 2\": the files of a serial run" \
	"test \"\$(cd $R1 && ls -R)\" = \"\$(cd $R3 && ls -R)\" &&
	 for n in 8 16 32; do cmp $R1/configs-n\$n.csv $R3/configs-n\$n.csv && cmp <(head -n1 $R1/ref-n\$n.sweep.csv) <(head -n1 $R3/ref-n\$n.sweep.csv) &&
	 cmp <(cut -d, -f1-12 $R1/ref-n\$n.sweep.csv) <(cut -d, -f1-12 $R3/ref-n\$n.sweep.csv) || exit 1; done"
check "make results GPUS=...: each record names its GPU, provenance.txt every GPU used; rows say device cpu" \
	"while read -r tag dev s e rc; do grep -qx \"device: \$dev\" $R3/\$tag.prov.txt || exit 1; done < $M/par3.log &&
	 test \"\$(sed -n 's/^devices: //p' $R3/provenance.txt | tr ' ' '\n' | sed 's/.*://' | sort)\" = \"\$(cut -d' ' -f2 $M/par3.log | sort -u)\" &&
	 test \"\$(csvcol device $R3/ref-n8.sweep.csv | sort -u)\" = cpu && test \"\$(head -n1 $R3/ref-n8.sweep.csv | tr , '\n' | grep -A1 -x gpu | tail -n1)\" = device"
check "make results GPUS=...: then nothing is stale, with any GPU list" \
	"make -q RESULTS=$R3 RESULTS_NAME=cpu N_SEQS='8 16 32' RUN_FLAGS='$FAST_FLAGS' GPUS='0 1 2' $R3/plots.stamp &&
	 make -q RESULTS=$R3 RESULTS_NAME=cpu N_SEQS='8 16 32' RUN_FLAGS='$FAST_FLAGS' GPUS=5 $R3/plots.stamp"

# A failing slice: the others' files stay whole (finished ones untouched, running ones
# finish), the failed one leaves no file; make -k runs every other slice.
RF=$M/fail
check "make results GPUS=...: a failing slice leaves the others' files whole and no file of its own" \
	"$MK sweeps RESULTS=$RF GPUS='0 1' N_SEQS=8 > /dev/null 2>&1 && keep=\$(md5sum $RF/ref-n8.sweep.csv $RF/ref-n8.prov.txt) &&
	 ! $MK -k sweeps RESULTS=$RF KERNELS='ref nosuchkernel' GPUS='0 1' > /dev/null 2> $M/fail.err &&
	 test \"\$(md5sum $RF/ref-n8.sweep.csv $RF/ref-n8.prov.txt)\" = \"\$keep\" &&
	 for n in 16 32; do test \$(wc -l < $RF/ref-n\$n.sweep.csv) = 12 && test -s $RF/ref-n\$n.prov.txt || exit 1; done &&
	 ! ls $RF | grep -q nosuchkernel && ! ls $RF | grep -q tmp && grep -q \"unknown kernel 'nosuchkernel'\" $M/fail.err"
# Killed mid-run (like a time limit): that sweep leaves only its resume journal (.partial,
# run-kernel's; a re-run picks it up), the two beside it finish whole; make stops.
RK=$M/kill
check "make results GPUS=...: a sweep killed mid-run leaves no CSV, the ones beside it finish" \
	"KF='--iters 20 --min-iters 20 --min-time 0.2 --max-time 0.3' &&
	 { make -s sweeps RESULTS=$RK RESULTS_NAME=cpu N_SEQS='8 16 32' GPUS='0 1 2' RUN_FLAGS=\"\$KF\" > /dev/null 2>&1 & mp=\$!; } &&
	 n=0; until grep -q '^#done 2\$' $RK/ref-n16.sweep.csv.partial 2> /dev/null || [ \$n -ge 600 ]; do sleep 0.05; n=\$((n + 1)); done &&
	 p=\$(pgrep -f \"^[^ ]*bin/run-kernel -k ref .*-o $RK/ref-n16.sweep.csv\") && kill -TERM \$p; wait \$mp; rc=\$?; test \$rc != 0 &&
	 test ! -e $RK/ref-n16.sweep.csv && test ! -e $RK/ref-n16.prov.txt && grep -q '^#done' $RK/ref-n16.sweep.csv.partial &&
	 for n in 8 32; do test \$(wc -l < $RK/ref-n\$n.sweep.csv) = 12 && test -s $RK/ref-n\$n.prov.txt || exit 1; done && ! ls $RK | grep -q 'sweep.csv.tmp'"

# --- the jobs' sweep_slices (what a Slurm job with several GPUs runs), without Slurm ------
RJ=$M/job
check "jobs: sweep_slices on a job's 3 GPUs (CUDA_VISIBLE_DEVICES=4,5,6): at once, one per GPU, a failure noted" \
	"( export SWEEP_ROOT=$ROOT PRESET=quick RUN_FLAGS='$FAST_FLAGS' CUDA_VISIBLE_DEVICES=4,5,6 GPU_SLOT_LOG=$M/job.log && . jobs/lib.sh &&
	   sweep_make $RJ ref 8 -s $RJ/configs-n8.csv $RJ/configs-n16.csv && ! sweep_slices $RJ ref:8 nosuchkernel:8 ref:16 > /dev/null 2> $M/job.err ) &&
	 slots_ok $M/job.log 2 && ! cut -d' ' -f2 $M/job.log | grep -vqx '[456]' && test \$(wc -l < $M/job.log) = 3 &&
	 for n in 8 16; do test \$(wc -l < $RJ/ref-n\$n.sweep.csv) = 12 && test -s $RJ/ref-n\$n.prov.txt || exit 1; done &&
	 grep -qx 'exit: 2' $RJ/slurm/nosuchkernel-n8.failed && ! ls $RJ | grep -q nosuchkernel && grep -q 'slice nosuchkernel-n8 FAILED (exit 2)' $M/job.err"
# A slice whose kernel refuses some rows (the stand-in of tests/pipeline_cases.sh) is done as
# `make sweeps` makes it: the task says which rows and where, the merge finds nothing stale.
RJR=$M/job-refused
check "jobs: a slice whose kernel refuses rows is done, its refusals named; not stale for the merge" \
	"( export SWEEP_ROOT=$ROOT PRESET=quick RUN_FLAGS='$FAST_FLAGS' RUN_KERNEL=$T_ROOT/kernel-stub RK_REAL=$TOOLS_BIN/run-kernel && . jobs/lib.sh &&
	   sweep_make $RJR ref 8 -s $RJR/configs-n8.csv && sweep_slices $RJR ref:8 > /dev/null 2> $M/job-refused.err && ! slice_stale $RJR ref 8 ) &&
	 test \$(wc -l < $RJR/ref-n8.sweep.csv) = 8 && test \$(wc -l < $RJR/ref-n8.refused.txt) = 4 && test ! -e $RJR/slurm/ref-n8.failed &&
	 grep -qxF 'jobs: ref-n8: done: $RJR/ref-n8.sweep.csv (7 rows)' $M/job-refused.err &&
	 grep -qxF 'jobs: ref-n8: 4 of 11 rows refused (the kernel does not run them), each with its reason in $RJR/ref-n8.refused.txt' $M/job-refused.err"
check "make slurm passes GPUS_PER_JOB; submit.sh asks each task for that many GPUs of the type" \
	"make -n slurm GPUS_PER_JOB=4 | grep -qxE \"jobs/submit.sh +GPUS_PER_JOB='4' *\" &&
	 jobs/submit.sh --dry-run GPUS_PER_JOB=4 KERNELS=tk,native N_SEQS=32,64,128 OUT=$M/dry 2>&1 | grep -q -- '--gpus=h100-80:4 --array=0-1 ' &&
	 jobs/submit.sh --dry-run GPUS_PER_JOB=4 GPUS=h200:1 KERNELS=tk N_SEQS=32,64 OUT=$M/dry 2>&1 | grep -q -- '--gpus=h200:2 --array=0-0 ' &&
	 ! jobs/submit.sh --dry-run GPUS_PER_JOB=x OUT=$M/dry 2> /dev/null"

# --- make interference --------------------------------------------------------------------
RI=$M/interf
check "make interference GPUS=\"0 1\" (CPU): the slice alone on each GPU, then beside the other; a CSV of verdicts" \
	"GPU_SLOT_LOG=$M/interf.log make -s interference RESULTS=$RI RESULTS_NAME=cpu N_SEQS=8 GPUS='0 1' RUN_FLAGS='$FAST_FLAGS' > $M/interf.out 2> /dev/null &&
	 f=$RI/interference-ref-n8/interference.csv && head -n1 \$f | grep -qx 'device,n_parallel,kernel,configs,geomean_ratio,max_change_pct,median_noise_pct,fast,slow,same,verdict' &&
	 test \"\$(csvcol device \$f | tr '\n' ' ')\" = '0 1 ' && test \"\$(csvcol n_parallel \$f | sort -u)\" = 2 && test \"\$(csvcol configs \$f | sort -u)\" = 11 &&
	 ! csvcol verdict \$f | grep -vqxE 'SAME|SLOW' && test \$(wc -l < $RI/interference-ref-n8/compare-0.csv) = 12 &&
	 grep -q '^devices: 0 1\$' $RI/interference-ref-n8/provenance.txt && grep -q '^device  *n_parallel' $M/interf.out &&
	 slots_ok $M/interf.log &&
	 s0=\$(awk '\$1 == \"beside-0\" { print \$3 }' $M/interf.log) && e1=\$(awk '\$1 == \"beside-1\" { print \$4 }' $M/interf.log) &&
	 awk -v a=\$s0 -v b=\$e1 'BEGIN { exit !(a < b) }' && awk '\$1 ~ /^alone/ { print \$4 }' $M/interf.log | sort -n | tail -n1 > $M/alone.end &&
	 awk -v end=\$(cat $M/alone.end) '\$1 ~ /^beside/ && \$3 < end { bad = 1 } END { exit bad }' $M/interf.log"
t "interference: one GPU is a usage error" 2 "cd $ROOT && tools/interference.sh -k ref -g 0 -o $M/i1 $R1/configs-n8.csv" '' '' '^interference.sh: needs 2 or more GPUs'
