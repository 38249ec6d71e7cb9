# The two Quick start commands are `make demo` and `make test` (README). Both install what a fresh
# Debian 12 machine lacks, build, then run. `.ci/run` calls `make test`.
SHELL := /bin/bash
APT_PACKAGES := clang llvm libbpf-dev bpftool nats-server pkg-config libelf-dev zlib1g-dev cmake make g++ iproute2 util-linux

.PHONY: deps build test demo clean

deps:
	@missing=$$(for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages: $$missing"; \
	  apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $$missing; \
	fi
	@node -e 'const [a,b]=process.versions.node.split(".").map(Number); if (a<20||(a===20&&b<19)) { console.error("Node.js >= 20.19 is required, found "+process.versions.node); process.exit(1) }'
	@if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then npm ci --no-audit --no-fund; fi

build: deps
	npm run build

test: build
	npx ava

demo: build
	node dist/test/e2e/demo-main.js $(DEMO_ARGS)

clean:
	rm -rf dist build
