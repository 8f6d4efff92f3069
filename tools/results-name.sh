#!/bin/sh
# results-name.sh "GPU NAME" [PRESET [DTYPE [RUN_FLAGS]]] - the results/ folder
# name for a GPU and the settings of a run, so that runs with different
# settings never share (and overwrite) a folder.  The GPU part is the first
# word of its name that holds a digit, lowercase ("NVIDIA H100 80GB HBM3" and
# "h100-80:1" give h100, "NVIDIA GeForce RTX 4090" gives 4090; "gpu" when there
# is none; "cpu" stays cpu).  Then, each only when it is not the default:
# -PRESET (the default is seed on a GPU, quick on the cpu), -DTYPE (bf16), and
# the RUN_FLAGS as a word ("--l2 hot" gives -l2-hot).  Used by the Makefile and
# the Slurm jobs alike.
word() { printf '%s\n' "$1" | tr 'A-Z' 'a-z' | tr -c 'a-z0-9\n' ' ' | tr ' ' '\n' | grep -m1 '[0-9]'; }
case $1 in
cpu) r=cpu default=quick ;;
*) r=$(word "$1") default=seed ;;
esac
r=${r:-gpu}
[ -n "${2:-}" ] && [ "$2" != "$default" ] && r=$r-$2
[ -n "${3:-}" ] && [ "$3" != bf16 ] && r=$r-$3
flags=$(printf '%s' "${4:-}" | tr 'A-Z' 'a-z' | tr -c 'a-z0-9' '-' | tr -s '-' | sed 's/^-//; s/-$//')
[ -n "$flags" ] && r=$r-$flags
echo "$r"
