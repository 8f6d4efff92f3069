#!/bin/sh
# results-name.sh "GPU NAME" - the results/ folder name for a GPU: the first
# word of its name that holds a digit, lowercase ("NVIDIA H100 80GB HBM3" and
# "h100-80:1" give h100, "NVIDIA GeForce RTX 4090" gives 4090); "gpu" when
# there is none.  Used by the Makefile and the Slurm jobs alike.
r=$(printf '%s\n' "$1" | tr 'A-Z' 'a-z' | tr -c 'a-z0-9\n' ' ' | tr ' ' '\n' | grep -m1 '[0-9]')
echo "${r:-gpu}"
