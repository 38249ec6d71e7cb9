#!/usr/bin/env bash
# Builds the Debian package sigil_<version>_<arch>.deb from a built checkout (`make deb` runs it):
#   /opt/sigil             dist/, the native addon, production node_modules, package.json, docs, COMMIT
#   /opt/sigil/node        its own Node.js (bin/node from the npm registry's node-linux-<arch> package):
#                          no dependency on Debian's nodejs
#   /usr/bin               sigil, sigil-agent, sigil-controlplane (wrappers exec'ing that node)
#   /lib/systemd/system    the three units (ExecStart names /opt/sigil/node/bin/node)
#   /etc/sigil             agent.yaml, controlplane.yaml (conffiles: edits survive upgrades);
#                          nats.conf is written by postinst (init-nats) and removed by purge
#   /etc/profile.d/sigil.sh  SIGIL_TOKEN_FILE for login shells
# Maintainer scripts: deploy/deb/{postinst,prerm,postrm}. Layout as deploy/install.sh's.
#
# usage: deploy/deb/build-deb.sh [--out DIR] [--node-tgz FILE] [--compress xz|gzip|none] [--version V]
#   --out DIR        where the .deb goes (default: build/deb)
#   --node-tgz FILE  the node-linux-<arch> npm tarball (default: `npm pack node-linux-<arch>@24`,
#                    cached in build/deb-cache)
#   --compress       dpkg-deb's compressor (default xz; gzip is much faster for tests)
#   --version V      the package version (default package.json's; the VM test's upgrade uses another)
set -euo pipefail

SRC="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
OUT="$SRC/build/deb"
NODE_TGZ=""
COMPRESS=xz
VERSION=""
NODE_MAJOR=24

die() { echo "build-deb.sh: $*" >&2; exit 1; }
while [ $# -gt 0 ]; do
  case "$1" in
    --out) OUT="${2:?--out needs a directory}"; shift 2 ;;
    --node-tgz) NODE_TGZ="${2:?--node-tgz needs a file}"; shift 2 ;;
    --compress) COMPRESS="${2:?--compress needs xz, gzip or none}"; shift 2 ;;
    --version) VERSION="${2:?--version needs a version}"; shift 2 ;;
    -h|--help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option $1" ;;
  esac
done
command -v dpkg-deb >/dev/null || die "dpkg-deb not found (apt-get install dpkg)"
command -v npm >/dev/null || die "npm is needed (production dependency list, the Node runtime package)"
[ -f "$SRC/dist/agent/cli/main.js" ] || die "no dist/ in $SRC: run \`make build\` first"
ADDON="$SRC/build/native/Release/sigil_native.node"
[ -f "$ADDON" ] || die "no $ADDON: run \`npm run build:native\` first"

[ -n "$VERSION" ] || VERSION="$(node -p "require('$SRC/package.json').version")"
ARCH="$(dpkg --print-architecture)"
case "$ARCH" in amd64) NODE_ARCH=x64 ;; arm64) NODE_ARCH=arm64 ;; *) die "no Node.js package for $ARCH" ;; esac

if [ -z "$NODE_TGZ" ]; then
  CACHE="$SRC/build/deb-cache"
  mkdir -p "$CACHE"
  NODE_TGZ="$(ls "$CACHE"/node-linux-$NODE_ARCH-$NODE_MAJOR.*.tgz 2>/dev/null | sort -V | tail -n 1 || true)"
  if [ -z "$NODE_TGZ" ]; then
    echo "==> npm pack node-linux-$NODE_ARCH@$NODE_MAJOR (the Node.js runtime, from the npm registry)"
    (cd "$CACHE" && npm pack --silent "node-linux-$NODE_ARCH@$NODE_MAJOR" >/dev/null)
    NODE_TGZ="$(ls "$CACHE"/node-linux-$NODE_ARCH-$NODE_MAJOR.*.tgz | sort -V | tail -n 1)"
  fi
fi
[ -f "$NODE_TGZ" ] || die "no Node.js tarball $NODE_TGZ"

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
P="$WORK/pkg"
D="$P/opt/sigil"
mkdir -p "$D/build/native/Release" "$D/node/bin" "$D/node_modules" "$P/DEBIAN"

echo "==> program -> /opt/sigil"
cp -a "$SRC/dist" "$D/dist"
install -m 0755 "$ADDON" "$D/build/native/Release/sigil_native.node"
install -m 0644 "$SRC/package.json" "$SRC/package-lock.json" "$D/"
cp -a "$SRC/docs" "$D/docs"
git -C "$SRC" rev-parse HEAD > "$D/COMMIT" 2>/dev/null || echo unknown > "$D/COMMIT"
(cd "$SRC" && npm ls --omit=dev --all --parseable 2>/dev/null) \
  | sed -n "s|^$SRC/node_modules/\(@[^/]*/[^/]*\)$|\1|p; s|^$SRC/node_modules/\([^@/][^/]*\)$|\1|p" | sort -u \
  | while read -r pkg; do mkdir -p "$D/node_modules/$(dirname "$pkg")"; cp -a "$SRC/node_modules/$pkg" "$D/node_modules/$pkg"; done
[ -d "$D/node_modules/yaml" ] || die "production dependencies were not copied (is node_modules installed?)"

echo "==> Node.js $(basename "$NODE_TGZ" .tgz) -> /opt/sigil/node"
tar -xzf "$NODE_TGZ" -C "$WORK" package/bin/node package/LICENSE 2>/dev/null || tar -xzf "$NODE_TGZ" -C "$WORK" package/bin/node
install -m 0755 "$WORK/package/bin/node" "$D/node/bin/node"
[ -f "$WORK/package/LICENSE" ] && install -m 0644 "$WORK/package/LICENSE" "$D/node/LICENSE"
NODE_VERSION="$(basename "$NODE_TGZ" .tgz | sed "s/^node-linux-$NODE_ARCH-//")"

echo "==> commands -> /usr/bin"
mkdir -p "$P/usr/bin"
wrapper() { # name entry
  printf '#!/bin/sh\n# %s from the sigil package: its own Node.js, never the one on PATH.\nexec /opt/sigil/node/bin/node /opt/sigil/dist/%s "$@"\n' "$1" "$2" > "$P/usr/bin/$1"
  chmod 0755 "$P/usr/bin/$1"
}
wrapper sigil-agent agent/cli/main.js
wrapper sigil controlplane/cli/main.js
wrapper sigil-controlplane controlplane/cli/server-main.js

echo "==> units -> /lib/systemd/system"
mkdir -p "$P/lib/systemd/system"
for unit in sigil-nats.service sigil-controlplane.service sigil-agent.service; do
  sed -e 's|^ExecStart=node /opt/sigil/|ExecStart=/opt/sigil/node/bin/node /opt/sigil/|' \
      -e 's|Installed by deploy/install.sh to /etc/systemd/system|Installed by the sigil package to /lib/systemd/system|' \
      "$SRC/deploy/systemd/$unit" > "$P/lib/systemd/system/$unit"
  chmod 0644 "$P/lib/systemd/system/$unit"
done
grep -q '^ExecStart=node ' "$P"/lib/systemd/system/*.service && die "a unit still starts node from PATH"

echo "==> configuration -> /etc/sigil (conffiles), /etc/profile.d/sigil.sh"
install -d -m 0755 "$P/etc/sigil" "$P/etc/profile.d" "$P/usr/share/sigil" "$P/usr/share/doc/sigil"
install -m 0600 "$SRC/deploy/etc/agent.yaml" "$P/etc/sigil/agent.yaml"
install -m 0640 "$SRC/deploy/etc/controlplane.yaml" "$P/etc/sigil/controlplane.yaml"
install -m 0644 "$SRC/deploy/etc/nats.conf" "$P/usr/share/sigil/nats.conf.example"
install -m 0644 "$SRC/deploy/deb/sigil.sh" "$P/etc/profile.d/sigil.sh"
printf 'Sigil %s\nLicense: Apache-2.0\nNode.js %s (/opt/sigil/node): MIT, see /opt/sigil/node/LICENSE\n' "$VERSION" "$NODE_VERSION" > "$P/usr/share/doc/sigil/copyright"
printf '/etc/sigil/agent.yaml\n/etc/sigil/controlplane.yaml\n/etc/profile.d/sigil.sh\n' > "$P/DEBIAN/conffiles"

for script in postinst prerm postrm; do install -m 0755 "$SRC/deploy/deb/$script" "$P/DEBIAN/$script"; done
chmod -R go-w "$P/opt/sigil"

INSTALLED_KB="$(du -sk --exclude=DEBIAN "$P" | cut -f1)"
sed -e "s/@VERSION@/$VERSION/" -e "s/@ARCH@/$ARCH/" -e "s/@INSTALLED_SIZE@/$INSTALLED_KB/" -e "s/@NODE_VERSION@/$NODE_VERSION/" \
  "$SRC/deploy/deb/control.in" > "$P/DEBIAN/control"

mkdir -p "$OUT"
DEB="$OUT/sigil_${VERSION}_${ARCH}.deb"
echo "==> dpkg-deb --build ($COMPRESS) -> $DEB"
dpkg-deb --root-owner-group -Z"$COMPRESS" --build "$P" "$DEB" >/dev/null
echo "$DEB"
