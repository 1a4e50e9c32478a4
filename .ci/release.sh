#!/usr/bin/env bash
# CI, release part (run by .ci/run from the repository root):
#   1. the release command (packaging/release.sh) on this clean clone, and
#      what it must produce: the same files when run twice, every archive,
#      both Debian packages, checksums that verify, an archive binary whose
#      `engine version` prints this commit, and the same bytes as the
#      container image's build (packaging/build.sh);
#   2. the Debian package installed on this machine with dpkg -i, its user,
#      files and units checked (systemd-analyze verify), the example
#      configuration run as the service would run it, an upgrade that must
#      keep the edited configuration, then removed again so that the machine
#      is left as it was found;
#   3. govulncheck with the release toolchain, against the Go vulnerability
#      database taken from the Go module proxy (golang.org/x/vulndb): this
#      machine cannot reach vuln.go.dev.
set -euo pipefail

release_fail() { echo "release: $*"; exit 1; }

echo "== release: packaging/release.sh"
start=$SECONDS
packaging/release.sh
echo "release: $((SECONDS - start)) s"

# Reproducible: again, with every file of the checkout given a new
# modification time (the checksums must not change: no build time, no file
# time leaks into a binary, an archive or a package).
first=$(mktemp)
cp dist/*_checksums.txt "$first"
git ls-files -z | xargs -0 touch -d '2001-02-03 04:05:06'
packaging/release.sh >/dev/null
diff "$first" dist/*_checksums.txt || release_fail "a second build of the same commit gave different files: the release is not reproducible"
rm -f "$first"
echo "release: a second build, with every file touched, gives the same checksums"

version=$(sed -n 's/.*"version":"\([^"]*\)".*/\1/p' dist/metadata.json)
commit=$(git rev-parse HEAD)
date=$(TZ=UTC git log -1 --format=%cd --date=format-local:%Y-%m-%dT%H:%M:%SZ)
debversion=${version/-/\~}
[ -n "$version" ] || release_fail "no version in dist/metadata.json"
for f in "sence-engine_${version}_linux_amd64.tar.gz" "sence-engine_${version}_linux_arm64.tar.gz" \
  "sence-engine_${version}_windows_amd64.zip" "sence-engine_${version}_darwin_arm64.tar.gz" \
  "sence-engine_${version}_checksums.txt" "sence-engine_${debversion}_amd64.deb" "sence-engine_${debversion}_arm64.deb"; do
  [ -s "dist/$f" ] || release_fail "dist/$f is missing"
done
(cd dist && sha256sum --check --strict "sence-engine_${version}_checksums.txt")
[ "$(wc -l <"dist/sence-engine_${version}_checksums.txt")" -eq 6 ] || release_fail "the checksums file does not list the 6 files"

work=$(mktemp -d)
tar -xzf "dist/sence-engine_${version}_linux_amd64.tar.gz" -C "$work"
archived=$work/sence-engine_${version}_linux_amd64
for f in engine LICENSE README.md CHANGELOG.md SECURITY.md THIRD_PARTY_LICENSES.txt \
  systemd/sence-engine.service systemd/sence-engine.timer systemd/sence-engine-schedule.service \
  etc/sence-engine/mapping.yaml etc/sence-engine/engine.env; do
  [ -e "$archived/$f" ] || release_fail "the linux/amd64 archive lacks $f"
done
want="engine ${version}
commit: ${commit}
fecha: ${date}"
got=$("$archived/engine" version)
echo "$got"
[ "$(echo "$got" | head -3)" = "$want" ] || release_fail "engine version of the archive binary: want
$want"

# The container image builds with packaging/build.sh: same flags, same bytes.
VERSION=$version COMMIT=$commit DATE=$date packaging/build.sh "$work/engine-build-sh"
cmp "$work/engine-build-sh" dist/engine_linux_amd64_v1/engine ||
  release_fail "packaging/build.sh and goreleaser built different linux/amd64 binaries: .goreleaser.yaml and packaging/build.sh disagree"
echo "release: packaging/build.sh gives the same bytes as the release binary"

# The release binary (pinned toolchain, static, stripped) runs the demo end to end.
(cd "$work" && "$archived/engine" demo --dir demo >demo.log 2>&1) || { cat "$work/demo.log"; release_fail "engine demo failed with the release binary"; }
echo "release: engine demo passes with the release binary"

echo
echo "== Debian package: dpkg -i, check, upgrade, remove"
deb=dist/sence-engine_${debversion}_amd64.deb
if ! command -v dpkg >/dev/null || [ "$(id -u)" -ne 0 ] || [ "$(dpkg --print-architecture)" != amd64 ]; then
  echo "SKIP: the package test needs dpkg, root and an amd64 machine (this is not one)"
elif dpkg-query -W -f='${Status}' sence-engine 2>/dev/null | grep -q 'installed'; then
  echo "SKIP: sence-engine is already installed on this machine; the test would change it"
elif getent passwd sence-engine >/dev/null || [ -e /etc/sence-engine ] || [ -e /var/lib/sence-engine ] || [ -e /usr/bin/engine ]; then
  echo "SKIP: this machine already has a sence-engine user, /etc/sence-engine, /var/lib/sence-engine or /usr/bin/engine; the test would change it"
else
  deb_cleanup() {
    dpkg --purge sence-engine >/dev/null 2>&1 || true
    if getent passwd sence-engine >/dev/null; then userdel sence-engine; fi
    if getent group sence-engine >/dev/null; then groupdel sence-engine; fi
    rm -rf /var/lib/sence-engine /etc/sence-engine
  }
  trap deb_cleanup EXIT
  dpkg -i "$deb"
  [ "$(/usr/bin/engine version | head -1)" = "engine ${version}" ] || release_fail "/usr/bin/engine version does not say ${version}"
  getent passwd sence-engine | grep -q ':/var/lib/sence-engine:/usr/sbin/nologin$' || release_fail "no sence-engine system user: $(getent passwd sence-engine)"
  [ "$(stat -c '%a %U %G' /etc/sence-engine/engine.env)" = "600 root root" ] || release_fail "engine.env: $(stat -c '%a %U %G' /etc/sence-engine/engine.env), want 600 root root"
  [ "$(stat -c '%a %U' /var/lib/sence-engine)" = "750 sence-engine" ] || release_fail "/var/lib/sence-engine: $(stat -c '%a %U' /var/lib/sence-engine)"
  conffiles=$(dpkg-query -W -f='${Conffiles}' sence-engine)
  for f in /etc/sence-engine/mapping.yaml /etc/sence-engine/engine.env; do
    echo "$conffiles" | grep -q " $f " || release_fail "$f is not a conffile"
  done
  units="/lib/systemd/system/sence-engine.service /lib/systemd/system/sence-engine.timer /lib/systemd/system/sence-engine-schedule.service"
  if command -v systemd-analyze >/dev/null; then
    # shellcheck disable=SC2086
    systemd-analyze verify $units
    echo "release: systemd-analyze verify: the three units are valid"
  else
    echo "SKIP: systemd-analyze is not on this machine (package systemd); the units were not verified"
  fi

  # The example configuration, filled in, as the service runs it: the
  # sence-engine user with the variables of engine.env.
  cat >/etc/sence-engine/engine.env <<'ENV'
SENCE_RUT_OTEC='76543210-3'
SENCE_TOKEN='5EEBF607-25A9-4DB2-A4DD-5D31BDAE3220'
MOODLE_DSN='postgres://sence_ro:cl@ve&x@db.otec.cl:5432/moodle?sslmode=require'
ENV
  echo "# editado por el administrador" >>/etc/sence-engine/mapping.yaml
  # The README's shell function that runs a command as the service does
  # (CI is root already: without its sudo).
  readme_sence=$(grep -E '^ *sence\(\) \{ sudo sh -c ' README.md) || release_fail "README.md lacks the sence() function of «Instalación»"
  eval "${readme_sence/sudo /}"
  declare -f sence
  sence validate /etc/sence-engine/mapping.yaml || release_fail "the example mapping with a filled engine.env does not validate"
  cp -p /etc/sence-engine/mapping.yaml /etc/sence-engine/engine.env "$work/"
  touch /var/lib/sence-engine/ledger.db

  # An upgrade whose example mapping changed: the edited files stay.
  next=$work/next
  dpkg-deb -R "$deb" "$next"
  sed -i "s/^Version: .*/Version: ${debversion}+ci1/" "$next/DEBIAN/control"
  echo "# un ejemplo nuevo" >>"$next/etc/sence-engine/mapping.yaml"
  dpkg-deb --root-owner-group -b "$next" "$work/next.deb" >/dev/null
  dpkg -i --force-confold "$work/next.deb" </dev/null
  [ "$(dpkg-query -W -f='${Version}' sence-engine)" = "${debversion}+ci1" ] || release_fail "the upgrade did not install"
  cmp /etc/sence-engine/mapping.yaml "$work/mapping.yaml" || release_fail "the upgrade replaced the edited mapping.yaml"
  [ -e /etc/sence-engine/mapping.yaml.dpkg-dist ] || release_fail "the upgrade did not offer the new example as mapping.yaml.dpkg-dist"
  cmp /etc/sence-engine/engine.env "$work/engine.env" || release_fail "the upgrade replaced the edited engine.env"
  [ "$(stat -c '%a %U' /etc/sence-engine/engine.env)" = "600 root" ] || release_fail "the upgrade changed engine.env's mode"
  [ -e /var/lib/sence-engine/ledger.db ] || release_fail "the upgrade lost /var/lib/sence-engine"
  echo "release: an upgrade kept the edited mapping.yaml and engine.env and the ledger"

  dpkg --purge sence-engine
  [ ! -e /usr/bin/engine ] && [ ! -e /etc/sence-engine ] && [ ! -e /lib/systemd/system/sence-engine.service ] ||
    release_fail "dpkg --purge left files behind"
  [ -d /var/lib/sence-engine ] || release_fail "dpkg --purge removed the ledger directory"
  deb_cleanup
  trap - EXIT
  echo "release: package removed; the machine is as it was"
fi
rm -rf "$work"

echo
echo "== govulncheck (release toolchain, vulnerability database from the Go module proxy)"
GOVULNCHECK_VERSION=v1.9.0
release_go=$(sed -n 's/^RELEASE_GO=//p' packaging/build.sh)
vulnbin=${XDG_CACHE_HOME:-$HOME/.cache}/sence-engine/govulncheck-$GOVULNCHECK_VERSION-$release_go
if ! [ -x "$vulnbin/govulncheck" ]; then
  GOTOOLCHAIN=$release_go GOBIN=$vulnbin go install "golang.org/x/vuln/cmd/govulncheck@$GOVULNCHECK_VERSION"
fi
# The newest snapshot of the database that the proxy serves; govulncheck
# reads its folder of OSV entries directly.
vulndb=$(cd / && go mod download -json golang.org/x/vulndb@latest)
vulndb_version=$(echo "$vulndb" | sed -n 's/^\t"Version": "\(.*\)",$/\1/p')
vulndb_dir=$(echo "$vulndb" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
[ -d "$vulndb_dir/data/osv" ] || release_fail "could not get the vulnerability database (golang.org/x/vulndb) from the Go module proxy"
echo "govulncheck $GOVULNCHECK_VERSION, $release_go, database golang.org/x/vulndb $vulndb_version ($(ls "$vulndb_dir/data/osv" | wc -l) entries)"
# Exit 3: a known vulnerability in code the engine calls.
GOTOOLCHAIN=$release_go "$vulnbin/govulncheck" -db "file://$vulndb_dir/data/osv" ./...
