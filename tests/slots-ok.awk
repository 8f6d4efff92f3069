# slots-ok.awk - checks a tools/gpu-slot.sh log (lines "TAG DEVICE START END EXIT"),
# sorted by device then start (sort -k2,2 -k3,3n LOG | awk -v want=N -f tests/slots-ok.awk):
# no two intervals on one device overlap; with want=N, some N intervals overlap in time (N
# commands ran at once, necessarily on N devices).  Prints what is wrong; exit 1 then.
{ dev[NR] = $2; s[NR] = $3; e[NR] = $4; tag[NR] = $1 }
NR > 1 && $2 == dev[NR - 1] && $3 < e[NR - 1] { print "device " $2 " held by " tag[NR - 1] " and " $1 " at once"; bad = 1 }
END {
	if (want > 1) {
		best = 0 # the most intervals that contain one interval's start
		for (i = 1; i <= NR; i++) {
			c = 0
			for (j = 1; j <= NR; j++) if (s[j] <= s[i] && s[i] < e[j]) c++
			if (c > best) best = c
		}
		if (best < want) { print "at most " best " ran at once, want " want; bad = 1 }
	}
	exit bad
}
