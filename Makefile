# `make demo` and `make test` behind the README's Quick start (`./quickstart.sh demo|test`, which
# installs make itself first). Both install what a fresh Debian 12 machine lacks, build, then run.
SHELL := /bin/bash
# Node.js 22 or 24 (20 is end of life). Debian 12 ships 18, so when the one on PATH is older the npm
# registry's node-linux-<arch>@24 package is unpacked into $(NODE_HOME) (not over the system's node)
# and put first on PATH for every recipe.
NODE_OK := process.exit(Number(process.versions.node.split('.')[0]) >= 22 ? 0 : 1)
NODE_HOME := /opt/sigil-node-24
export PATH := $(NODE_HOME)/bin:$(PATH)
NODE_ARCH := $(shell uname -m | sed -e s/x86_64/x64/ -e s/aarch64/arm64/)
# systemd: systemd-analyze verifies the units in the tests; ruby: `ruby -c` checks the Vagrantfile;
# ca-certificates: update-ca-certificates behind `sigil-agent trust --install` (and its test).
# gcc, libc6-dev, libssl-dev: the C attack programs of test/hardening/attacks (built by their test).
# dpkg-dev is not needed: `make deb` uses dpkg-deb (dpkg) only; xz-utils compresses the package.
# python3: stands in for systemd's notify socket (notify tests) and drives the kernel taint tests. With
# any non-empty CI, a test whose tool is missing fails instead of skipping (test/helpers/ci.ts).
# gcc, libc6-dev, libssl-dev: the identity attack programs are C, built by their test.
# chromium: the console's browser tests drive Debian's chromium headless (playwright-core downloads none).
APT_PACKAGES := clang llvm libbpf-dev bpftool nats-server pkg-config libelf-dev zlib1g-dev cmake make g++ iproute2 util-linux systemd ruby ca-certificates python3 gcc libc6-dev libssl-dev chromium xz-utils

.PHONY: deps build test demo deb clean man

deps:
	@missing=$$(for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages: $$missing"; \
	  apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $$missing; \
	fi
	@if ! node -e "$(NODE_OK)" 2>/dev/null; then \
	  echo "Node.js >= 22 not found (found $$(node --version 2>/dev/null || echo none)): unpacking Node.js 24 from the npm registry into $(NODE_HOME)"; \
	  command -v npm >/dev/null || { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends nodejs npm; }; \
	  tmp=$$(mktemp -d) && (cd $$tmp && npm pack --silent node-linux-$(NODE_ARCH)@24 >/dev/null && tar xzf node-linux-*.tgz) && \
	  rm -rf $(NODE_HOME) && mkdir -p $(NODE_HOME) && cp -a $$tmp/package/. $(NODE_HOME)/ && rm -rf $$tmp; \
	fi
	@node -e "$(NODE_OK)" || { echo "Node.js >= 22 is required (found $$(node --version 2>/dev/null || echo none)); put it first on PATH"; exit 1; }
	@echo "using Node.js $$(node --version) ($$(command -v node))"
	@if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then npm ci --no-audit --no-fund; fi

build: deps
	npm run build

# Man pages (build/man/man1/*.1) and completions (build/completion/{bash,zsh}/) from the CLIs' own help;
# `npm run build` writes them too. Packaging calls scripts/cli-docs.mjs with its own output folder.
man: build
	node scripts/cli-docs.mjs build

test: build
	# A hard limit above the suite's ~10 minutes: a test that hangs fails the run instead of holding CI.
	timeout --kill-after=30s 30m npx ava

demo: build
	node dist/test/e2e/demo-main.js $(DEMO_ARGS)

# sigil_<version>_<arch>.deb in build/deb: its own Node.js under /opt/sigil/node (deploy/deb/build-deb.sh).
# DEB_ARGS: e.g. --compress gzip, --out DIR, --node-tgz FILE.
deb: build
	deploy/deb/build-deb.sh $(DEB_ARGS)

clean:
	rm -rf dist build
