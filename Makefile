# Prefix-aware attention benchmark: tools, kernels, tests, results.
# `make help` lists the targets.  Settings users change:
# kernels swept by `make results` on a GPU (each runs every workload form)
KERNELS   ?= native tk hydragen paged prefix_stream
PRESET    ?= seed#                gen-configs preset on a GPU (CPU: quick)
N_SEQS    ?= 32 64#               one sweep per value
DTYPE     ?= bf16
RUN_FLAGS ?=#                     extra run-kernel flags, e.g. --l2 hot --iters 100
GPU_ARCH  ?= sm_90a#              nvcc target: sm_90a (H100), sm_80, ...
CUDA_HOME ?= /usr/local/cuda
RESULTS_ROOT ?= results#           where the results folders go
#RESULTS  = $(RESULTS_ROOT)/<gpu>[-<preset>][-<dtype>][-<flags>]: see below
#GPUS     = every visible GPU (0 on the CPU): the sweeps run in parallel, one per GPU
CC        ?= cc
CFLAGS    ?= -O2 -g
NVCCFLAGS ?= -O3 -lineinfo
PLOT_FORMAT ?= png#               figures: png, pdf or svg (make plots PLOT_FORMAT=pdf)
export PLOT_FORMAT

# --- derived ------------------------------------------------------------------
comma := ,
NVCC := $(or $(shell command -v nvcc 2>/dev/null),$(wildcard $(CUDA_HOME)/bin/nvcc))
ARCH_NUM := $(patsubst sm_%,%,$(GPU_ARCH))
GENCODE := -gencode arch=compute_$(ARCH_NUM),code=$(GPU_ARCH)
# A GPU is used only when the CUDA backend is built and a driver answers.
GPU_MODEL := $(if $(NVCC),$(shell nvidia-smi --query-gpu=name --format=csv,noheader -i 0 2>/dev/null | head -n1))
RESULTS_NAME := $(if $(GPU_MODEL),$(shell tools/results-name.sh '$(GPU_MODEL)'),cpu)
ifeq ($(RESULTS_NAME),cpu)
  KERNELS := ref
  PRESET := quick
endif
# The GPUs `make results` spreads its sweeps over (GPUS="0 1 2 3"): one sweep
# per GPU at a time, each on one GPU only (tools/gpu-slot.sh); by default
# every visible one (CUDA_VISIBLE_DEVICES, else each GPU nvidia-smi lists of
# GPU 0's model, the one the folder is named by), 0 on the CPU.
ifeq ($(origin GPUS),undefined)
  GPUS := $(if $(filter cpu,$(RESULTS_NAME)),0,$(or $(subst $(comma), ,$(filter-out NoDevFiles,$(CUDA_VISIBLE_DEVICES))),$(shell nvidia-smi --query-gpu=index,name --format=csv,noheader 2>/dev/null | awk -F', *' -v m='$(GPU_MODEL)' 'm == "" || $$2 == m { print $$1 }'),0))
endif
GPU_LIST = $(subst $(comma), ,$(GPUS))
ifeq ($(origin RESULTS),undefined)
  RESULTS := $(RESULTS_ROOT)/$(shell tools/results-name.sh '$(RESULTS_NAME)' '$(PRESET)' '$(DTYPE)' '$(RUN_FLAGS)')
endif
# The folder is named by the GPU and every setting that is not the default
# (tools/results-name.sh): results/h200 for the seed grid, results/h200-gqa,
# results/h100-l2-hot, results/h100-quick, ...; so a run with another preset,
# dtype or RUN_FLAGS never overwrites the files of a different one.  The seed
# grid aggregates rows by blocks (the
# course project's axis); the other presets vary what blocks cannot tell
# apart (K/V heads, suffixes, groups), so they keep one row per config.
AGG_KEYS = $(if $(filter seed quick,$(PRESET)),blocks,n_seqs$(comma)n_heads$(comma)n_kv_heads$(comma)n_chunks$(comma)n_groups$(comma)group_chunks$(comma)suffix_len)

ALL_CFLAGS := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Wno-missing-field-initializers $(CFLAGS)
LIB_SRC := $(filter-out tools/lib/gpu_backend.c tools/lib/gpu_none.c tools/lib/gpu_util.c,$(wildcard tools/lib/*.c))
TOOLS := gen-configs run-kernel agg-blocks csv-join compare-runs
BUILD ?= build
BIN ?= bin

ifneq ($(NVCC),)
  KERNEL_SRC := $(wildcard kernels/*.cu)
  # host-side C of the kernels (planners), compiled as C11 like registry.c
  KERNEL_CSRC := $(filter-out kernels/registry.c,$(wildcard kernels/*.c))
  GPU_OBJ := $(BUILD)/gpu_backend.o $(BUILD)/gpu_util.o $(BUILD)/registry.o $(KERNEL_SRC:kernels/%.cu=$(BUILD)/kernels/%.o) \
	$(KERNEL_CSRC:kernels/%.c=$(BUILD)/kernels/%.c.o)
  RUN_LINK := $(NVCC) $(GENCODE)
  RUN_LIBS := -ldl -lpthread -lm
  # the streaming-read candidates' bench (tools/bench-ceiling.c; make bench-ceiling)
  TOOLS += bench-ceiling
else
  GPU_OBJ := $(BUILD)/gpu_none.o
  RUN_LINK := $(CC)
  RUN_LIBS := -lpthread -lm
endif

.PHONY: all tools help test test-gpu bench-ceiling fuzz results sweeps plots fold slurm compare interference clean results-dir FORCE
.DELETE_ON_ERROR:

all: tools ## build the tools (and the GPU kernels when nvcc is present)
tools: $(TOOLS:%=$(BIN)/%)

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | expand -t 14
	@echo; echo "Settings: KERNELS='$(KERNELS)' PRESET=$(PRESET) N_SEQS='$(N_SEQS)' GPUS='$(GPU_LIST)' GPU_ARCH=$(GPU_ARCH) RESULTS=$(RESULTS)"

# --- build ----------------------------------------------------------------------
$(BUILD)/lib/%.o: tools/lib/%.c tools/lib/*.h kernels/*.h | $(BUILD)/lib
	$(CC) $(ALL_CFLAGS) -c -o $@ $<
$(BUILD)/%.o: tools/%.c tools/lib/*.h kernels/*.h | $(BUILD)/lib
	$(CC) $(ALL_CFLAGS) -c -o $@ $<
$(BUILD)/gpu_backend.o: tools/lib/gpu_backend.c tools/lib/*.h kernels/*.h | $(BUILD)/lib
	$(CC) $(ALL_CFLAGS) -I$(CUDA_HOME)/include -c -o $@ $<
$(BUILD)/gpu_util.o: tools/lib/gpu_util.c tools/lib/*.h | $(BUILD)/lib
	$(CC) $(ALL_CFLAGS) -I$(CUDA_HOME)/include -c -o $@ $<
$(BUILD)/bench-ceiling.o: tools/bench-ceiling.c tools/lib/*.h kernels/*.h | $(BUILD)/lib
	$(CC) $(ALL_CFLAGS) -I$(CUDA_HOME)/include -c -o $@ $<
$(BUILD)/gpu_none.o: tools/lib/gpu_none.c tools/lib/*.h | $(BUILD)/lib
	$(CC) $(ALL_CFLAGS) -c -o $@ $<
$(BUILD)/registry.o: kernels/registry.c kernels/*.h | $(BUILD)/lib
	$(CC) $(ALL_CFLAGS) -c -o $@ $<
$(BUILD)/kernels/%.c.o: kernels/%.c kernels/*.h | $(BUILD)/lib
	$(CC) $(ALL_CFLAGS) -c -o $@ $<
$(BUILD)/kernels/%.o: kernels/%.cu kernels/*.h | $(BUILD)/lib
	$(NVCC) -std=c++17 $(GENCODE) $(NVCCFLAGS) -Xptxas -v -c -o $@ $< 2> $@.ptxas || { cat $@.ptxas; exit 1; }
$(BUILD)/libtools.a: $(LIB_SRC:tools/lib/%.c=$(BUILD)/lib/%.o)
	ar rcs $@ $^
$(BIN)/run-kernel: $(BUILD)/run-kernel.o $(GPU_OBJ) $(BUILD)/libtools.a | $(BIN)
	$(RUN_LINK) $(filter-out -std=c11 -D_GNU_SOURCE -W%,$(ALL_CFLAGS)) -o $@ $^ $(RUN_LIBS)
$(BIN)/bench-ceiling: $(BUILD)/bench-ceiling.o $(BUILD)/gpu_util.o $(BUILD)/kernels/stream_read.o \
		$(BUILD)/kernels/stream_read_plan.c.o $(BUILD)/libtools.a | $(BIN)
	$(RUN_LINK) $(filter-out -std=c11 -D_GNU_SOURCE -W%,$(ALL_CFLAGS)) -o $@ $^ $(RUN_LIBS)
$(BIN)/%: $(BUILD)/%.o $(BUILD)/libtools.a | $(BIN)
	$(CC) $(ALL_CFLAGS) -o $@ $^ -lpthread -lm
$(BUILD)/lib $(BIN):
	mkdir -p $@ $(BUILD)/kernels

# --- tests ------------------------------------------------------------------------
test: ## everything that needs no GPU (what CI runs)
	@env/require.sh cc make gnuplot $(if $(NVCC),c++)
	@$(MAKE) --no-print-directory tools
	@HAVE_NVCC='$(NVCC)' tests/run_tests.sh

# libFuzzer on the CSV reader and number parsers (tests/fuzz/fuzz_csv.c), the
# corpus seeded from tests/data and tests/fuzz/corpus; FUZZ_TIME seconds
# (CI: 30).  Without clang it says so and passes.
FUZZ_TIME ?= 30
CLANG := $(shell command -v clang 2>/dev/null)
FUZZ_SRC := tests/fuzz/fuzz_csv.c tools/lib/csv.c tools/lib/err.c tools/lib/num.c
fuzz: ## fuzz the CSV reader and number parsers for FUZZ_TIME seconds (clang)
ifeq ($(CLANG),)
	@echo "fuzz: skipped: clang not found (apt-get install clang)"
else
	@mkdir -p $(BUILD)/fuzz-corpus
	$(CLANG) -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
		-o $(BUILD)/fuzz_csv $(FUZZ_SRC) -lm
	cp tests/fuzz/corpus/* $(BUILD)/fuzz-corpus/
	find tests/data -name '*.csv' -exec cp {} $(BUILD)/fuzz-corpus/ \;
	ASAN_OPTIONS=detect_leaks=0 $(BUILD)/fuzz_csv -max_total_time=$(FUZZ_TIME) -close_fd_mask=2 \
		-max_len=4096 $(BUILD)/fuzz-corpus
endif

test-gpu: tools ## validate every GPU kernel over the shape table, plus compute-sanitizer
	@LOG_DIR=$(or $(OUT),$(BUILD)/test-gpu) tests/gpu/test_gpu.sh

# The streaming-read candidates of kernels/stream_read.cu, each timed L2-cold
# on 1 MiB .. 4 GiB (tools/bench-ceiling.c; under 2 minutes on an H200):
# CSV in OUT (or BUILD)/bench-ceiling.csv, the best per size on stderr.  The
# winner goes in the dispatch table of kernels/stream_read_plan.c
# (docs/kernels/stream_read.md).  BENCH_FLAGS: e.g. --sizes 2G --variants 'nc4,bulk:stages=6'.
BENCH_FLAGS ?=
bench-ceiling: ## time every streaming-read candidate (run-kernel's ceiling) into OUT/bench-ceiling.csv
ifeq ($(NVCC),)
	@echo "bench-ceiling: needs nvcc (the CUDA toolkit) and a GPU" >&2; exit 1
else
	@$(MAKE) --no-print-directory $(BIN)/bench-ceiling
	@mkdir -p $(or $(OUT),$(BUILD))
	$(BIN)/bench-ceiling $(BENCH_FLAGS) -o $(or $(OUT),$(BUILD))/bench-ceiling.csv
endif

# --- results ------------------------------------------------------------------------
# One sweep per (kernel, n_seqs): configs -> run-kernel -> agg-blocks, then a
# join across kernels and the figures.  Files are real targets, written
# atomically (-o), so an interrupted run leaves no partial CSV behind.
SWEEPS := $(foreach n,$(N_SEQS),$(foreach k,$(KERNELS),$(k)-n$(n)))

results: ## run the sweeps, aggregate, join and plot into results/<gpu>/ (CPU: ref, quick)
	@env/require.sh cc make gnuplot $(if $(NVCC),c++)
	@$(MAKE) --no-print-directory tools
	@$(LOCKED) $(MAKE) --no-print-directory $(PARALLEL) RESULTS_GOAL=results $(RESULTS)/plots.stamp
	@echo "results: $(RESULTS)/ (CSVs, plots/, provenance.txt)"
	@tools/keep-rows.sh --summary refused results $(SWEEPS:%=$(RESULTS)/%.prov.txt)

sweeps: ## the CSVs and provenance of `make results`, no figures (for GPU nodes without gnuplot)
	@env/require.sh cc make $(if $(NVCC),c++)
	@$(MAKE) --no-print-directory tools
	@$(LOCKED) $(MAKE) --no-print-directory $(PARALLEL) RESULTS_GOAL=sweeps $(N_SEQS:%=$(RESULTS)/joined-n%.csv) $(RESULTS)/provenance.txt
	@echo "sweeps: $(RESULTS)/ (CSVs, provenance.txt); draw the figures with 'make plots'"
	@tools/keep-rows.sh --summary refused sweeps $(SWEEPS:%=$(RESULTS)/%.prov.txt)

# The settings a sweep depends on besides the tools, in a file rewritten only
# when they change: a new PRESET, DTYPE or RUN_FLAGS re-runs the sweeps (a
# new N_SEQS or KERNELS value is a new file, made because it is missing).
# `make -n` only says what it would do: it leaves the file alone.
# Two makes in one folder (`make results` and `make results DTYPE=fp16`)
# take turns: `results` and `sweeps` run their folder's make under a lock on
# RESULTS/.lock (flock, where present), and settings.txt is written only by
# that locked make (the outer one leaves it alone), so a folder never mixes
# settings.
SETTINGS = PRESET=$(PRESET) DTYPE=$(DTYPE) RUN_FLAGS=$(RUN_FLAGS)
LOCKED = mkdir -p $(RESULTS) && $(if $(shell command -v flock 2>/dev/null),flock $(RESULTS)/.lock)
DRY_RUN := $(findstring n,$(firstword -$(MAKEFLAGS)))
ifneq ($(if $(DRY_RUN),,$(filter %.stamp %.csv %.txt,$(MAKECMDGOALS))),)
  $(shell mkdir -p $(RESULTS) && { [ "$$(cat $(RESULTS)/settings.txt 2>/dev/null)" = "$(SETTINGS)" ] || \
	printf '%s\n' "$(SETTINGS)" > $(RESULTS)/settings.txt; })
endif

$(RESULTS)/configs-n%.csv: $(BIN)/gen-configs $(RESULTS)/settings.txt
	@mkdir -p $(@D)
	$(BIN)/gen-configs --preset $(PRESET) --n-seqs $* --dtype $(DTYPE) -o $@

# A sweep and its provenance are made together, by the run that measured it:
# KERNEL-nN.prov.txt (where, when, on which GPU, with which settings) is
# written by rename only after run-kernel has renamed the CSV into place, so
# a CSV without its .prov.txt (a committed one in a fresh clone, one left by
# a killed run) is not taken as made.  The .prov.txt files are not in git:
# committed results are the reference, never a cache of the user's run.
# run-kernel resumes from KERNEL-nN.sweep.csv.partial, the rows a stopped run
# had finished.  FORCE=1 re-runs a sweep even when Make thinks it is made.
# Ask for both files (make R/tk-n32.sweep.csv R/tk-n32.prov.txt, as the Slurm
# tasks do): Make checks only the targets it is asked for.
#
# Exit 3 with rows the kernel refused (run-kernel --refusals: its check()
# does not run the shape - a documented limit, e.g. prefix_stream's 256
# query rows per K/V head) keeps the rows it measured when there is one and
# every other config row was refused: the refused rows' lines are in
# KERNEL-nN.refused.txt and the record says `refused_rows: N of M`
# (tools/keep-rows.sh, the peers' rule too).  A row that failed validation,
# a CUDA error, a skipped row, no row at all, a crash or a signal fail the
# sweep and leave no file: each is a bug here.  RUN_KERNEL= for a stand-in.
#
# Several GPUs (GPUS="0 1 2 3"): `make results` runs this make with -j4, and
# every sweep holds one GPU of GPUS for its run (tools/gpu-slot.sh: the first
# free one, by flock; CUDA_VISIBLE_DEVICES=that GPU), so four sweeps run at
# once, never two on one GPU; the record gets `device: N`.  The files are a
# serial run's: Make's rules alone say what is stale.  A failed sweep stops
# new ones (make -k keeps going) and leaves the others' files whole.
RUN_KERNEL ?= $(BIN)/run-kernel
SWEEP_CMD = $(RUN_KERNEL) -k $(firstword $(subst -n, ,$*)) $(RUN_FLAGS) --refusals $(RESULTS)/$*.refused.txt -o $(RESULTS)/$*.sweep.csv $<
PARALLEL = -j$(if $(GPU_LIST),$(words $(sort $(GPU_LIST))),1)
GPU_SLOT = tools/gpu-slot.sh -t $* -r $(RESULTS)/$*.prov.txt.tmp.0 '$(GPU_LIST)'
.SECONDEXPANSION:
$(RESULTS)/%.sweep.csv $(RESULTS)/%.prov.txt: $(RESULTS)/configs-n$$(lastword $$(subst -n, ,$$*)).csv $(RUN_KERNEL) $(RESULTS)/settings.txt $(if $(FORCE),FORCE)
	@rm -f $(RESULTS)/$*.sweep.csv $(RESULTS)/$*.prov.txt $(RESULTS)/$*.refused.txt # an old sweep never outlives a failed re-run
	@{ tools/provenance.sh "$(SWEEP_CMD)" && echo "settings: $(SETTINGS)"; } > $(RESULTS)/$*.prov.txt.tmp.0
	$(GPU_SLOT) $(SWEEP_CMD) || tools/keep-rows.sh refused $(or $(RESULTS_GOAL),make) $$? $< $(RESULTS)/$*.sweep.csv $(RESULTS)/$*.prov.txt.tmp.0
	@mv -f $(RESULTS)/$*.prov.txt.tmp.0 $(RESULTS)/$*.prov.txt

$(RESULTS)/%.agg.csv: $(RESULTS)/%.sweep.csv $(BIN)/agg-blocks
	$(BIN)/agg-blocks -k '$(AGG_KEYS)' -o $@ $<

# all kernels of one n_seqs side by side: latency_ms_tk, latency_ms_native, ...
# -- every kernel sweep the folder's provenance.txt records (tools/
# folder-sweeps.sh), so a re-run of one kernel in a folder keeps the others
$(RESULTS)/joined-n%.csv: $$(foreach k,$$(KERNELS),$(RESULTS)/$$(k)-n$$*.agg.csv) $(RESULTS)/provenance.txt $(BIN)/csv-join
	tools/join-all.sh $(BIN)/csv-join '$(AGG_KEYS)' $@ $$(tools/folder-sweeps.sh $(RESULTS) $* $(filter %.agg.csv,$^))

# The folder's provenance is its sweeps' own records, each as the run that
# made it wrote it (on its host, with its GPU), one `sweep:` block each; the
# run that aggregates and plots (a merge job, maybe on another host) writes
# only merge.txt beside it.  Every CSV is named here, so none is an
# intermediate file: a deleted one is made again, never taken as made.
# The records of the folder's other sweeps (other kernels, the peers) stay
# while their CSVs do and their settings are these (--into): re-running one
# kernel in a committed folder replaces that kernel's records only.
# It is precious: it holds the only copy of those records in a clone (the
# .prov.txt files are not in git), so a failed or interrupted merge.txt
# below never makes make delete it.  merge.txt keeps the commands before
# this one (--merge-note: `earlier:` lines).
.PRECIOUS: $(RESULTS)/provenance.txt
$(RESULTS)/provenance.txt: $(SWEEPS:%=$(RESULTS)/%.prov.txt) $(SWEEPS:%=$(RESULTS)/%.sweep.csv) $(N_SEQS:%=$(RESULTS)/configs-n%.csv)
	tools/provenance.sh --sweeps "$(SETTINGS)" --into $@ $(SWEEPS:%=$(RESULTS)/%.prov.txt)
	tools/provenance.sh --merge-note $(@D)/merge.txt "make $(or $(RESULTS_GOAL),results) RESULTS=$(RESULTS) KERNELS='$(KERNELS)' PRESET=$(PRESET) N_SEQS='$(N_SEQS)' DTYPE=$(DTYPE) RUN_FLAGS='$(RUN_FLAGS)'"

$(RESULTS)/plots.stamp: $(SWEEPS:%=$(RESULTS)/%.agg.csv) $(N_SEQS:%=$(RESULTS)/joined-n%.csv) \
		$(RESULTS)/provenance.txt $(wildcard plot/*.gp) tools/draw-plots.sh
	tools/draw-plots.sh $(RESULTS)
	@touch $@

plots: ## redraw every figure from the CSVs already in results/ (RESULTS_DIRS to choose)
	@env/require.sh gnuplot
	@$(MAKE) --no-print-directory tools
	@set -e; for d in $(or $(RESULTS_DIRS),$(wildcard results/*/)); do d=$${d%/}; \
		if ls $$d/*.agg.csv > /dev/null 2>&1; then echo "plots: $$d"; tools/draw-plots.sh $$d; fi; done

# --- peers (optional): FlashInfer and PyTorch SDPA, timed by tools/run-peer
# (Python) over the folder's configs into PEER-nN.sweep.csv (+ .agg.csv and
# its own PEER-nN.prov.txt) beside the kernels' sweeps, so `make plots` draws
# them as kernels; their records join the folder's provenance.txt (the
# kernels' kept).  Never part of `make results` or `make test`; skipped, in
# one line, without a GPU, python3 or the peers' packages (run-peer --list).
# sdpa and flashinfer_fa3 run one shared prefix only, so the suffix and tree
# presets leave them out.  flashinfer is FlashInfer's single prefill with its
# fa2 backend, flashinfer_fa3 the same with fa3 (fa2 fails at 128 query heads
# on FlashInfer 0.7.2; fa3 is slower on small shapes): FlashInfer's best on a
# config is the faster of the two rows.
PEERS ?= $(if $(filter suffix tree,$(PRESET)),flashinfer flashinfer_paged,sdpa flashinfer flashinfer_fa3 flashinfer_paged)
PEER_FLAGS ?=#                    extra run-peer flags (RUN_FLAGS go to it too), e.g. --fi-backend auto
RUN_PEER ?= tools/run-peer
PEER_SWEEPS = $(foreach n,$(N_SEQS),$(foreach p,$(PEERS),$(RESULTS)/$(p)-n$(n).sweep.csv))
PEER_CMD = $(RUN_PEER) -k $(firstword $(subst -n, ,$*)) $(RUN_FLAGS) $(PEER_FLAGS) --failures $(RESULTS)/$*.failed.txt -o $(RESULTS)/$*.sweep.csv $<
.PHONY: peers
peers: ## time the peers (FlashInfer, PyTorch SDPA: tools/run-peer) into results/<gpu>/PEER-nN.sweep.csv
	@if [ "$(RESULTS_NAME)" = cpu ]; then echo "peers: skipped: no GPU (the peers run on CUDA only)"; exit 0; fi; \
	command -v python3 > /dev/null || { echo "peers: skipped: python3 not found"; exit 0; }; \
	$(MAKE) --no-print-directory tools || exit 1; \
	list=$$($(RUN_PEER) --list) || exit 1; run=""; \
	for p in $(PEERS); do why=$$(printf '%s\n' "$$list" | awk -F'\t' -v p=$$p '$$1 == p { print $$3 }'); \
		case $$why in missing:*) echo "peers: $$p skipped: $${why#missing: }" ;; *) run="$$run $$p" ;; esac; done; \
	[ -n "$$run" ] || { echo "peers: skipped: no peer can run here (pip install torch flashinfer-python)"; exit 0; }; \
	goals=$$(for n in $(N_SEQS); do for p in $$run; do printf ' $(RESULTS)/%s-n%s.sweep.csv $(RESULTS)/%s-n%s.agg.csv' $$p $$n $$p $$n; done; done); \
	$(LOCKED) $(MAKE) --no-print-directory $(PARALLEL) PEERS="$$run" RESULTS_GOAL=peers $$goals || exit 1; \
	recs=$$(for n in $(N_SEQS); do for p in $$run; do echo $(RESULTS)/$$p-n$$n.prov.txt; done; done); \
	$(LOCKED) tools/provenance.sh --sweeps "$(SETTINGS)" --into $(RESULTS)/provenance.txt $$recs || exit 1; \
	echo "peers: $(RESULTS)/ ($$run: PEER-nN.sweep.csv); 'make plots' draws them with the kernels"; \
	tools/keep-rows.sh --summary failed peers $$recs

# The peers' sweeps, each with its record as the kernels' (PEER-nN.prov.txt,
# plus the peers' packages) and on one GPU of GPUS as they are (gpu-slot.sh):
# explicit rules, so run-kernel's pattern rule above never takes them.
# Exit 3 (rows the peer failed, e.g. FlashInfer's own launch errors) keeps
# the rows that were measured - each one validated - when there is at least
# one: the rows not measured, each with its reason, go to PEER-nN.failed.txt
# (run-peer --failures) and the record says `failed_rows: N`, so a library's
# failure on some shapes is data, not a lost sweep (tools/keep-rows.sh, the
# kernels' rule too).  Every other failure (bad input, a crash, a signal,
# exit 3 with no row) leaves no file, as for the kernels' sweeps.  (A
# kernel's failed row is a bug here: its sweep fails; only its refused rows
# are kept out.)
$(PEER_SWEEPS): $(RESULTS)/%.sweep.csv: $(RESULTS)/configs-n$$(lastword $$(subst -n, ,$$*)).csv $(RUN_PEER) $(BIN)/run-kernel $(RESULTS)/settings.txt $(if $(FORCE),FORCE)
	@rm -f $(RESULTS)/$*.sweep.csv $(RESULTS)/$*.prov.txt $(RESULTS)/$*.failed.txt
	@{ tools/provenance.sh "$(PEER_CMD)" && echo "settings: $(SETTINGS)" && $(RUN_PEER) --list | cut -f1,3 | sed 's/^/peer: /'; } > $(RESULTS)/$*.prov.txt.tmp.0
	$(GPU_SLOT) $(PEER_CMD) || tools/keep-rows.sh failed peers $$? $< $@ $(RESULTS)/$*.prov.txt.tmp.0
	@mv -f $(RESULTS)/$*.prov.txt.tmp.0 $(RESULTS)/$*.prov.txt

# Sweeps made elsewhere (a GPU machine: `make sweeps RESULTS=NEW ...` or
# `make peers` into a fresh folder, copied back) folded into a committed
# folder: their CSVs and records in, the folder's other sweeps kept, the
# joins, provenance.txt, merge.txt and (with gnuplot) the figures made again
# (tools/fold-sweeps.sh).  PRESET, DTYPE and RUN_FLAGS must be the folder's.
fold: tools ## fold the sweeps of FROM=DIR (made elsewhere) into RESULTS, keeping its others
	@[ -n "$(FROM)" ] || { echo "fold: give FROM=DIR, the folder whose sweeps go into $(RESULTS)" >&2; exit 2; }
	@$(LOCKED) tools/fold-sweeps.sh "$(SETTINGS)" '$(AGG_KEYS)' $(BIN) $(RESULTS) $(FROM)
	@if command -v gnuplot > /dev/null; then tools/draw-plots.sh $(RESULTS); \
	else echo "fold: no gnuplot here: draw the figures with 'make plots RESULTS_DIRS=$(RESULTS)'"; fi

# A login node has no GPU, so the CPU defaults above must not leak into the
# jobs: only settings given on the command line or in the environment are
# passed on; jobs/submit.sh has the GPU defaults.
slurm: tools ## submit the sweep graph to Slurm: job array + dependent merge (jobs/submit.sh; GPUS_PER_JOB=4: 4 slices a task)
	jobs/submit.sh $(foreach v,KERNELS N_SEQS PRESET DTYPE RUN_FLAGS GPUS_PER_JOB,$(if $(filter command line environment,$(origin $(v))),$(v)='$($(v))'))

# The folder these settings write to (jobs/submit.sh asks, so it and make agree).
results-dir:
	@echo $(RESULTS)
FORCE:

# Do parallel sweeps slow each other?  SLICE (KERNEL-nN) alone on each GPU of
# GPUS, then on all at once, each copy beside N-1 others; per GPU compare-runs
# says FAST/SLOW/SAME from the rows' noise (tools/interference.sh), into
# RESULTS/interference-SLICE/interference.csv.  Needs 2+ GPUs (the CPU
# backend takes fake ones: GPUS="0 1").
SLICE ?= $(firstword $(KERNELS))-n$(firstword $(N_SEQS))
interference: tools ## SLICE=tk-n32 alone and beside N-1 copies on the other GPUS: interference.csv
	@$(LOCKED) $(MAKE) --no-print-directory $(RESULTS)/configs-n$(lastword $(subst -n, ,$(SLICE))).csv
	@$(LOCKED) tools/interference.sh -k $(firstword $(subst -n, ,$(SLICE))) -g '$(GPU_LIST)' -b $(BIN) \
		-o $(RESULTS)/interference-$(SLICE) $(RESULTS)/configs-n$(lastword $(subst -n, ,$(SLICE))).csv $(RUN_FLAGS)

compare: tools ## A=run1.csv B=run2.csv: per config B/A and FAST/SLOW/SAME from the noise (compare-runs --table)
	@[ -n "$(A)" ] && [ -n "$(B)" ] || { echo "usage: make compare A=OLD.csv B=NEW.csv [COMPARE_FLAGS='-k ka,kb --fail-slower 5']" >&2; exit 2; }
	$(BIN)/compare-runs --table $(COMPARE_FLAGS) $(A) $(B)

clean: ## remove build outputs (never results/)
	rm -rf $(BUILD) $(BIN) build-asan bin-asan build-cpu bin-cpu
