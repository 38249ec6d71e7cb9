#!/usr/bin/env bash
# The README's two Quick start commands: `./quickstart.sh demo` runs the system, `./quickstart.sh test`
# runs the tests (what CI runs). On a fresh Debian 12 machine, as root, it first installs what the
# Makefile itself needs (make), then `make` installs the rest (Debian packages, Node.js >= 20.19,
# npm ci), builds and runs. Extra arguments go to the demo (e.g. --json).
set -euo pipefail
cd "$(dirname "$0")"
target="${1:-}"
case "$target" in
  demo|test) shift ;;
  *) echo "usage: ./quickstart.sh demo [--json] | test" >&2; exit 2 ;;
esac
if ! command -v make >/dev/null 2>&1; then
  echo "installing make (Debian package)"
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends make
fi
exec make "$target" ${*:+DEMO_ARGS="$*"}
