# shellcheck shell=bash
# env/bridges2.sh — the toolchain on PSC Bridges-2, for builds and jobs there.
# Source it from bash:  . env/bridges2.sh
# jobs/sweep.sbatch and jobs/merge.sbatch source it where environment modules exist; each
# sweep's provenance record (KERNEL-nN.prov.txt, gathered into provenance.txt) then says
# what was loaded: `modules:` ($LOADEDMODULES), `nvcc:` and `cc:` versions. Other versions, e.g. to check the CUDA 13 build:
#   CUDA_MODULE=cuda/13.0.0 . env/bridges2.sh

# The versions to load on Bridges-2. Not necessarily what a committed folder was built with:
# its provenance.txt says (results/h100 and h200 record nvcc 13.0 and gcc 13.3.0, no modules).
: "${GCC_MODULE:=gcc/13.3.1-p20240614}"
: "${CUDA_MODULE:=cuda/12.6.1}"

# Batch shells are not login shells: `module` may be undefined even where modules exist.
if ! type module >/dev/null 2>&1; then
	# shellcheck disable=SC1090,SC1091  # the cluster's own init scripts
	if [ -n "${LMOD_PKG:-}" ] && [ -f "$LMOD_PKG/init/bash" ]; then
		. "$LMOD_PKG/init/bash"
	elif [ -n "${MODULESHOME:-}" ] && [ -f "$MODULESHOME/init/bash" ]; then
		. "$MODULESHOME/init/bash"
	elif [ -f /etc/profile.d/modules.sh ]; then
		. /etc/profile.d/modules.sh
	fi
fi

if type module >/dev/null 2>&1; then
	# shellcheck disable=SC2086  # unquoted on purpose: either may name several modules
	module load $GCC_MODULE $CUDA_MODULE || {
		echo "env/bridges2.sh: module load $GCC_MODULE $CUDA_MODULE failed" >&2
		false
	}
else
	echo "env/bridges2.sh: no environment modules here (not Bridges-2?): toolchain left as it is" >&2
	false
fi
_bridges2_rc=$?

# Slurm jobs and make read HOSTNAME for provenance; bash sets it but does not export it,
# and sh does not set it at all.
HOSTNAME=${HOSTNAME:-$(hostname)}
export HOSTNAME
# nvcc is found through PATH once the cuda module is loaded; CUDA_HOME helps Makefiles
# that look for the toolkit's headers (NVML) and libraries.
if [ -z "${CUDA_HOME:-}" ] && command -v nvcc >/dev/null 2>&1; then
	CUDA_HOME=$(dirname "$(dirname "$(command -v nvcc)")")
	export CUDA_HOME
fi
# Return the module status to a sourcing shell without exiting it.
( exit "$_bridges2_rc" )
