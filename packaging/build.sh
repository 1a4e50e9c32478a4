#!/bin/sh
# Builds one engine binary the way every release binary is built, so that the
# same commit gives the same bytes wherever it is built: the container image
# (Dockerfile), CI, and goreleaser (.goreleaser.yaml repeats these flags; CI
# builds linux/amd64 both ways and compares the two files byte for byte).
#
#   static binary (CGO_ENABLED=0), paths trimmed (-trimpath), symbols
#   stripped (-s -w), no VCS stamping (-buildvcs=false: the build must not
#   depend on whether .git is present), the pinned Go toolchain below, and
#   the version, commit and commit date stamped with -ldflags.
#
# Usage: packaging/build.sh OUTPUT
# Environment: VERSION (default "dev"), COMMIT and DATE (the commit's full
# hash and its date in RFC 3339; default empty: `engine version` then says
# they are unknown), GOOS and GOARCH (default: this machine).
set -eu

# The Go toolchain of release builds. The go command fetches it from the Go
# module proxy when it is not the local one. Keep it equal to the GOTOOLCHAIN
# of .goreleaser.yaml and the GO_VERSION of the Dockerfile
# (packaging/packaging_test.go checks).
RELEASE_GO=go1.27.3

if [ $# -ne 1 ]; then
  echo "uso: packaging/build.sh SALIDA" >&2
  exit 2
fi
case $1 in
  /*) out=$1 ;;
  *) out=$(pwd)/$1 ;;
esac
cd "$(dirname "$0")/.."
pkg=github.com/otec-tools/sence-engine/engine/cli
GOTOOLCHAIN=$RELEASE_GO CGO_ENABLED=0 exec go build -trimpath -buildvcs=false \
  -ldflags "-s -w -X $pkg.Version=${VERSION:-dev} -X $pkg.Commit=${COMMIT:-} -X $pkg.Date=${DATE:-}" \
  -o "$out" ./cmd/engine
