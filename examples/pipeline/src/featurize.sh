#!/bin/sh
# featurize: standardize every feature column with the *train* split's mean and standard
# deviation (so val/test never leak into the scaling), then clip to [-clip, +clip].
# POSIX sh + awk only.
#
#   sh src/featurize.sh <prepared-dir> <features-dir> <clip>
#
# Writes <features-dir>/{train,val,test}.csv (same header; the last column, the label, is copied).
# Prints `features: 4 clip: 3.0`, the scaling of each feature, and one line per split such as
# `train_rows=1800 train_clipped=12`.
set -eu

in=${1:-data/prepared}
out=${2:-data/features}
clip=${3:-3.0}

mkdir -p "$out"

# One line: "<n_features> <mean1> <std1> <mean2> <std2> ..." (two passes: mean, then variance).
stats=$(awk -F, '
  FNR == 1 { next }
  NR == FNR { n++; for (i = 1; i < NF; i++) sum[i] += $i; nf = NF; next }
  { for (i = 1; i < NF; i++) { d = $i - sum[i] / n; ss[i] += d * d } }
  END {
    if (n == 0) { print "featurize: empty training split" > "/dev/stderr"; exit 1 }
    printf "%d", nf - 1
    for (i = 1; i < nf; i++) {
      sd = sqrt(ss[i] / n); if (sd == 0) sd = 1
      printf " %.10g %.10g", sum[i] / n, sd
    }
    printf "\n"
  }' "$in/train.csv" "$in/train.csv")

header=$(head -n 1 "$in/train.csv")
set -- $stats
echo "features: $1 clip: $clip"

# The scaling, for the reader (no `=` or `:`, so it is not mistaken for metrics).
echo "$header" | awk -F, -v stats="$stats" '{
  split(stats, s, " ")
  for (i = 1; i < NF; i++) printf "  %-16s mean %9.4f  std %8.4f\n", $i, s[2 * i], s[2 * i + 1]
}'

for split in train val test; do
  awk -F, -v OFS=, -v stats="$stats" -v clip="$clip" -v dst="$out/$split.csv" -v name="$split" '
    BEGIN { split(stats, s, " ") }
    FNR == 1 { print > dst; next }
    {
      for (i = 1; i < NF; i++) {
        z = ($i - s[2 * i]) / s[2 * i + 1]
        if (z > clip) { z = clip; clipped++ } else if (z < -clip) { z = -clip; clipped++ }
        $i = sprintf("%.6f", z)
      }
      rows++
      print > dst
    }
    END { printf "%s_rows=%d %s_clipped=%d\n", name, rows, name, clipped }' "$in/$split.csv"
done
