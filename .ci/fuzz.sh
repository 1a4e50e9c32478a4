#!/usr/bin/env bash
# Runs every fuzz target of the repository for a bounded time each
# (FUZZTIME, 20s by default). A crasher is written by go test under the
# target's testdata/fuzz/ and makes this script fail: commit it as a
# regression once fixed.
#
# The fuzzer runs under the release Go (RELEASE_GO in packaging/build.sh,
# the toolchain the shipped binary is built with): Go 1.26's fuzz
# coordinator can fail a target with a bare "context deadline exceeded"
# and no reproducer when -fuzztime ends while a worker is mid-call
# (golang/go#75804; stop() compared the error with fuzzCtx.Err() only).
# Go 1.27 fixed it; CI failed once on FuzzRut that way.
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime="${FUZZTIME:-20s}"
release_go=$(sed -n 's/^RELEASE_GO=//p' packaging/build.sh)
if [ -z "$release_go" ]; then
  echo "RELEASE_GO not found in packaging/build.sh"; exit 1
fi
export GOTOOLCHAIN="$release_go"
echo "fuzzing with $(go version)"
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
  corpus="$1/testdata/fuzz/$2"
  before=$(ls "$corpus" 2>/dev/null | sort || true)
  if out=$(go test -run '^$' -fuzz "^$2\$" -fuzztime "$fuzztime" "$1" 2>&1); then
    echo "ok   $1 $2 ($((SECONDS - start)) s)"
  else
    failed=1
    echo "FAIL $1 $2"
    echo "$out" | tail -40
    new=$(comm -13 <(echo "$before") <(ls "$corpus" 2>/dev/null | sort || true))
    if [ -n "$new" ]; then
      echo "reproducer written: $corpus/$new"
    else
      echo "no reproducer was written under $corpus"
    fi
  fi
done
if [ $failed -ne 0 ]; then
  echo "a fuzz target failed: the input is under the package's testdata/fuzz/"; exit 1
fi
