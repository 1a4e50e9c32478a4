#!/bin/sh
# Writes the licence texts of everything compiled into the release binaries
# (the Go standard library and every module that cmd/engine imports, on each
# release platform) to one file, which the archives and the Debian package
# ship next to LICENSE: MIT, BSD and Apache licences ask for their notices to
# travel with binary copies. Fails if a module has no licence file, so that a
# release never ships code whose terms it does not carry.
#
# Usage: packaging/third-party-licenses.sh OUTPUT
set -eu
if [ $# -ne 1 ]; then
  echo "uso: packaging/third-party-licenses.sh SALIDA" >&2
  exit 2
fi
out=$1
cd "$(dirname "$0")/.."
mkdir -p "$(dirname "$out")"
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT

# Modules of every release platform (.goreleaser.yaml), once each.
for target in linux/amd64 linux/arm64 windows/amd64 darwin/arm64; do
  GOOS=${target%/*} GOARCH=${target#*/} CGO_ENABLED=0 go list -deps \
    -f '{{with .Module}}{{if not .Main}}{{.Path}} {{.Version}} {{.Dir}}{{end}}{{end}}' ./cmd/engine
done | sort -u >"$tmp"

{
  echo "Licencias del código de terceros incluido en el binario engine"
  echo "Third-party licences of the code compiled into the engine binary"
  echo
  goroot=$(go env GOROOT)
  echo "================================================================"
  echo "Go $(go env GOVERSION): la biblioteca estándar y el runtime"
  echo "================================================================"
  cat "$goroot/LICENSE"
  echo
  while read -r path version dir; do
    files=$(cd "$dir" && ls | grep -iE '^(licen[cs]e|copying|notice)' || true)
    if [ -z "$files" ]; then
      echo "third-party-licenses: $path $version has no LICENSE, COPYING or NOTICE file in $dir" >&2
      exit 1
    fi
    for f in $files; do
      echo "================================================================"
      echo "$path $version ($f)"
      echo "================================================================"
      cat "$dir/$f"
      echo
    done
  done <"$tmp"
} >"$out"
echo "third-party-licenses: $(wc -l <"$tmp") modules -> $out"
