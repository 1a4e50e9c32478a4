#!/bin/sh
# The release command (README, «Publicar una versión»): from a clean checkout,
# builds into dist/ the archives for Linux (amd64, arm64), Windows (amd64) and
# macOS (arm64), the Debian packages and the SHA-256 checksums, with goreleaser
# and .goreleaser.yaml. Publishes nothing.
#
# On a commit tagged vX.Y.Z the version is X.Y.Z. On any other commit it is a
# development snapshot, X.Y.(Z+1)-dev.<commit>; that is what CI builds.
#
# goreleaser comes from the Go module proxy at the version below, installed
# once into ~/.cache/sence-engine/ (the user's own goreleaser is not touched).
#
# Usage: packaging/release.sh [--snapshot]
set -eu

GORELEASER_VERSION=v2.15.1

cd "$(dirname "$0")/.."
snapshot=
case ${1:-} in
  --snapshot) snapshot=--snapshot ;;
  "") ;;
  *) echo "uso: packaging/release.sh [--snapshot]" >&2; exit 2 ;;
esac
if [ -z "$snapshot" ] && ! git describe --tags --exact-match --match 'v[0-9]*' HEAD >/dev/null 2>&1; then
  echo "release: HEAD no tiene una etiqueta vX.Y.Z: se construye una versión de desarrollo (--snapshot)"
  snapshot=--snapshot
fi

bindir=${XDG_CACHE_HOME:-$HOME/.cache}/sence-engine/goreleaser-$GORELEASER_VERSION
goreleaser=$bindir/goreleaser
if ! [ -x "$goreleaser" ]; then
  echo "release: instalando goreleaser $GORELEASER_VERSION desde el proxy de módulos de Go (la primera vez tarda unos minutos)"
  GOBIN=$bindir go install "github.com/goreleaser/goreleaser/v2@$GORELEASER_VERSION"
fi

"$goreleaser" check
"$goreleaser" release --clean $snapshot

# In snapshot mode goreleaser carries on when it cannot read Git (no remote,
# a worktree) and stamps "none": that must not pass for a release.
head=$(git rev-parse HEAD)
if ! grep -q "\"commit\":\"$head\"" dist/metadata.json; then
  echo "release: goreleaser no leyó el commit de Git ($head); dist/metadata.json dice:" >&2
  cat dist/metadata.json >&2
  echo "release: ejecútelo en un git clone del repositorio, con su remoto origin (no en un worktree)" >&2
  exit 1
fi

echo
echo "release: en dist/:"
(cd dist && ls -1 *.tar.gz *.zip *.deb *_checksums.txt)
