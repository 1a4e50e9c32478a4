#!/usr/bin/env bash
# Runs every fuzz target of the repository for a bounded time each
# (FUZZTIME, 20s by default). A crasher is written by go test under the
# target's testdata/fuzz/ and makes this script fail: commit it as a
# regression once fixed.
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime="${FUZZTIME:-20s}"
targets=()
while IFS= read -r file; do
  for name in $(grep -oE '^func Fuzz[A-Za-z0-9_]+' "$file" | cut -d' ' -f2); do
    targets+=("./$(dirname "$file") $name")
  done
done < <(git ls-files '*_test.go' | sort)
if [ ${#targets[@]} -eq 0 ]; then
  echo "no fuzz targets found"; exit 1
fi
echo "${#targets[@]} fuzz targets, ${fuzztime} each"
failed=0
for t in "${targets[@]}"; do
  set -- $t
  start=$SECONDS
  if out=$(go test -run '^$' -fuzz "^$2\$" -fuzztime "$fuzztime" "$1" 2>&1); then
    echo "ok   $1 $2 ($((SECONDS - start)) s)"
  else
    failed=1
    echo "FAIL $1 $2"
    echo "$out" | tail -40
  fi
done
if [ $failed -ne 0 ]; then
  echo "a fuzz target failed: the input is under the package's testdata/fuzz/"; exit 1
fi
