#!/bin/sh
# require.sh CMD... - make sure the commands a target needs exist.
# On Debian/Ubuntu as root, missing ones are installed with apt; elsewhere
# one line names what to install and the script exits 1.
# Command -> Debian package: gnuplot -> gnuplot-nox, cc -> gcc, c++ -> g++,
# the rest as named.
missing=""
for cmd in "$@"; do
	command -v "$cmd" >/dev/null 2>&1 && continue
	case $cmd in
	gnuplot) pkg=gnuplot-nox ;;
	cc) pkg=gcc ;;
	c++) pkg=g++ ;; # nvcc's host compiler
	*) pkg=$cmd ;;
	esac
	missing="$missing $pkg"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
	echo "env/require.sh: installing$missing" >&2
	{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing; } >/dev/null ||
		{ echo "env/require.sh: apt-get install$missing failed" >&2; exit 1; }
	exit 0
fi
echo "env/require.sh: missing:$missing - install them (Debian/Ubuntu: sudo apt-get install$missing)" >&2
exit 1
