#!/bin/sh
# readme_example.sh BIN README EXAMPLE VECTORS
# The README's C example is tests/readme_example.c, byte for byte, and its
# output is what the original Python hash_ring computed for key0
# (tests/vectors/seed3*/python.get.tsv).
set -eu
bin=$1 readme=$2 example=$3 vectors=$4
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
awk '/^```c$/{on=1; next} on && /^```$/{exit} on{print}' "$readme" >"$tmp/readme.c"
if ! cmp -s "$tmp/readme.c" "$example"; then
    echo "README's C example differs from $example:" >&2
    diff "$tmp/readme.c" "$example" >&2 || true
    exit 1
fi
unweighted=$(awk -F'\t' '$1=="key0"{print $2}' "$vectors/seed3/python.get.tsv")
weighted=$(awk -F'\t' '$1=="key0"{print $2}' "$vectors/seed3-weighted/python.get.tsv")
printf 'key0 -> %s\nkey0 -> %s (weighted)\n' "$unweighted" "$weighted" >"$tmp/want"
"$bin" >"$tmp/got"
if ! cmp -s "$tmp/want" "$tmp/got"; then
    echo "output differs from the original Python hash_ring:" >&2
    diff "$tmp/want" "$tmp/got" >&2 || true
    exit 1
fi
cat "$tmp/got"
