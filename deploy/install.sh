#!/usr/bin/env bash
# Installs a built Sigil checkout (run `make build` first) as a product:
#   /opt/sigil             dist/, the native addon, production node_modules, package.json, docs
#   /etc/sigil             agent.yaml, controlplane.yaml, nats.conf (only written when absent)
#   /etc/profile.d/sigil.sh  SIGIL_TOKEN_FILE for login shells (only written when absent)
#   /var/lib/sigil         state (agent/ is 0755 for its public ca.pem, secrets inside root-only;
#                          controlplane/ belongs to the `sigil` user)
#   /etc/systemd/system    sigil-agent, sigil-controlplane, sigil-nats units
#   /usr/local/bin         sigil, sigil-agent, sigil-controlplane
# then, on a host running systemd, `systemctl daemon-reload` and `systemctl enable` (--now: and start).
#
# usage: deploy/install.sh [--root DIR] [--prefix DIR] [--no-enable] [--now] [--without-nats]
#   --root DIR      install into DIR as if it were / (image building, tests); units are enabled
#                   offline with `systemctl --root DIR` unless --no-enable
#   --prefix DIR    where the program goes (default /opt/sigil); the units' paths follow it
set -euo pipefail

SRC="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ROOT=/
PREFIX=/opt/sigil
ENABLE=1
NOW=0
UNITS=(sigil-nats.service sigil-controlplane.service sigil-agent.service)

usage() { sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; }
die() { echo "install.sh: $*" >&2; exit 1; }

while [ $# -gt 0 ]; do
  case "$1" in
    --root) ROOT="${2:?--root needs a directory}"; shift 2 ;;
    --prefix) PREFIX="${2:?--prefix needs a directory}"; shift 2 ;;
    --no-enable) ENABLE=0; shift ;;
    --now) NOW=1; shift ;;
    --without-nats) UNITS=(sigil-controlplane.service sigil-agent.service); shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown option $1" ;;
  esac
done
case "$PREFIX" in /*) ;; *) die "--prefix must be absolute: $PREFIX" ;; esac
[ "$(id -u)" = 0 ] || die "run as root (it writes /etc, /opt and /var/lib)"
ROOT="$(mkdir -p "$ROOT" && cd "$ROOT" && pwd)"
R="${ROOT%/}"
DEST="$R$PREFIX"

ADDON="$SRC/build/native/Release/sigil_native.node"
[ -f "$SRC/dist/agent/cli/main.js" ] || die "no dist/ in $SRC: run \`make build\` (or \`npm run build\`) first"
[ -f "$ADDON" ] || die "no $ADDON: run \`npm run build:native\` first"
command -v npm >/dev/null || die "npm is needed to list the production dependencies"

step() { echo "==> $*"; }

step "program -> $DEST"
mkdir -p "$DEST"
# Replace the program files as a whole so files removed upstream do not linger; configs are elsewhere.
rm -rf "$DEST/dist" "$DEST/build" "$DEST/node_modules" "$DEST/docs"
mkdir -p "$DEST/build/native/Release" "$DEST/node_modules"
# All of dist/: the demo runs the OCI stand-ins from dist/test/standins.
cp -a "$SRC/dist" "$DEST/dist"
install -m 0755 "$ADDON" "$DEST/build/native/Release/sigil_native.node"
install -m 0644 "$SRC/package.json" "$SRC/package-lock.json" "$DEST/"
[ -d "$SRC/docs" ] && cp -a "$SRC/docs" "$DEST/docs"
# Production dependencies only: the top-level package directories `npm ls --omit=dev` names.
(cd "$SRC" && npm ls --omit=dev --all --parseable 2>/dev/null) \
  | sed -n "s|^$SRC/node_modules/\(@[^/]*/[^/]*\)$|\1|p; s|^$SRC/node_modules/\([^@/][^/]*\)$|\1|p" | sort -u \
  | while read -r pkg; do mkdir -p "$DEST/node_modules/$(dirname "$pkg")"; cp -a "$SRC/node_modules/$pkg" "$DEST/node_modules/$pkg"; done
[ -d "$DEST/node_modules/yaml" ] || die "production dependencies were not copied (is node_modules installed in $SRC?)"
for bin in dist/agent/cli/main.js dist/controlplane/cli/main.js dist/controlplane/cli/server-main.js; do
  chmod 0755 "$DEST/$bin"
done
chmod -R go-w "$DEST"

step "commands -> $R/usr/local/bin"
mkdir -p "$R/usr/local/bin"
ln -sfn "$PREFIX/dist/agent/cli/main.js" "$R/usr/local/bin/sigil-agent"
ln -sfn "$PREFIX/dist/controlplane/cli/main.js" "$R/usr/local/bin/sigil"
ln -sfn "$PREFIX/dist/controlplane/cli/server-main.js" "$R/usr/local/bin/sigil-controlplane"

step "system user sigil (the control plane runs as it)"
SIGIL_GID=""
if [ -f "$R/etc/passwd" ]; then
  if ! grep -q '^sigil:' "$R/etc/passwd"; then
    if [ "$ROOT" = / ]; then useradd --system --user-group --home-dir /nonexistent --no-create-home --shell /usr/sbin/nologin sigil
    else useradd --root "$ROOT" --system --user-group --home-dir /nonexistent --no-create-home --shell /usr/sbin/nologin sigil; fi
  fi
  SIGIL_GID="$(awk -F: '$1 == "sigil" { print $3 }' "$R/etc/group")"
else
  echo "    $R/etc/passwd does not exist: not creating the user (an empty --root)"
fi

step "configuration -> $R/etc/sigil (existing files are kept)"
mkdir -p "$R/etc/sigil"
chmod 0755 "$R/etc/sigil"
put_config() { # name mode [group]
  local target="$R/etc/sigil/$1"
  if [ -e "$target" ]; then echo "    kept $target"; return; fi
  install -m "$2" "$SRC/deploy/etc/$1" "$target"
  [ -n "${3:-}" ] && chgrp "$3" "$target"
  echo "    wrote $target"
}
put_config agent.yaml 0600
put_config controlplane.yaml 0640 "$SIGIL_GID"
put_config nats.conf 0644


# The CLI's admin token for login shells (`sudo -i sigil ...`); an edited copy is kept.
mkdir -p "$R/etc/profile.d"
if [ -e "$R/etc/profile.d/sigil.sh" ]; then echo "    kept $R/etc/profile.d/sigil.sh"
else install -m 0644 "$SRC/deploy/deb/sigil.sh" "$R/etc/profile.d/sigil.sh"; echo "    wrote $R/etc/profile.d/sigil.sh"; fi

step "state -> $R/var/lib/sigil"
# systemd's StateDirectory= creates and owns these at start; made here so the layout exists at once.
install -d -m 0755 "$R/var/lib/sigil"
# 0755 like the unit's StateDirectoryMode: workloads of every uid read the CA certificate ca.pem in it;
# its secrets are 0600 files and the CA key sits in the 0700 ca/ below (install -d also fixes an old 0700).
install -d -m 0755 "$R/var/lib/sigil/agent"
install -d -m 0700 "$R/var/lib/sigil/controlplane"

step "fleet NATS authority (once) -> $R/var/lib/sigil/controlplane/fleet, $R/etc/sigil/nats.conf"
# The operator/account keys the fleet's per-agent NATS users hang off, and the nats-server config that
# trusts them (replacing the example). Kept across re-installs: re-creating it would orphan every agent.
if [ -e "$R/var/lib/sigil/controlplane/fleet/nats-auth.json" ]; then
  echo "    kept the existing authority"
else
  node "$DEST/dist/controlplane/cli/server-main.js" init-nats --state-dir "$R/var/lib/sigil/controlplane" \
    --nats-config "$R/etc/sigil/nats.conf" --data-dir /var/lib/sigil-nats --listen 127.0.0.1:4222 >/dev/null \
    || die "sigil-controlplane init-nats failed"
  echo "    created (controlplane.creds, admin.creds, fleet/nats-auth.json; nats.conf with JWT auth)"
fi
[ -n "$SIGIL_GID" ] && chown -R "$(awk -F: '$1 == "sigil" { print $3 }' "$R/etc/passwd"):$SIGIL_GID" "$R/var/lib/sigil/controlplane"

step "units -> $R/etc/systemd/system"
mkdir -p "$R/etc/systemd/system"
for unit in "${UNITS[@]}"; do
  # The units name /opt/sigil; follow --prefix.
  sed "s|/opt/sigil|$PREFIX|g" "$SRC/deploy/systemd/$unit" > "$R/etc/systemd/system/$unit"
  chmod 0644 "$R/etc/systemd/system/$unit"
done

if [ "$ENABLE" = 1 ]; then
  if [ "$ROOT" != / ]; then
    if command -v systemctl >/dev/null; then
      step "enabling units in $ROOT (offline)"
      systemctl --root "$ROOT" enable "${UNITS[@]}"
    fi
  elif [ -d /run/systemd/system ]; then
    step "systemctl daemon-reload + enable$([ "$NOW" = 1 ] && echo ' --now')"
    systemctl daemon-reload
    if [ "$NOW" = 1 ]; then systemctl enable --now "${UNITS[@]}"; else systemctl enable "${UNITS[@]}"; fi
  else
    echo "    systemd is not running here: units installed, not enabled"
  fi
fi

cat <<EOF

Sigil is installed in $DEST.
Next: edit $R/etc/sigil/*.yaml, then
  systemctl start ${UNITS[*]}
  sigil-agent enroll ...        (docs/operator-guide.md, "Enrol the agent")
EOF
