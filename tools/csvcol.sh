# csvcol.sh - sourced by the shell scripts that read CSVs (tools/, tests/).
# csvcol NAME FILE: the values of column NAME, found by header name, one a
# line (nothing when the column is absent).
csvcol() { awk -F, -v c="$1" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == c) k = i; next } k { print $k }' "$2"; }
