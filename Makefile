# Two commands do everything on a fresh Debian machine: `make demo` and `make test`. Both install what is missing.
SHELL := /bin/bash

# Debian packages: profilers, compilers, the services in examples/ and the clients the tests drive them with.
APT_PACKAGES := gcc make binutils valgrind libc6-dbg bpftrace linux-perf strace \
	memcached redis-server redis-tools nginx-light libmemcached-tools wrk chromium

TS_SOURCES := $(shell find src -name '*.ts' 2>/dev/null)

.PHONY: setup apt-packages demo test bench lint typecheck clean

setup: apt-packages node_modules/.ditto-installed dist/.built native

apt-packages:
	@missing=$$(for p in $(APT_PACKAGES); do \
	  dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "make setup: installing Debian packages:" $$missing; \
	  sudo=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$sudo apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

node_modules/.ditto-installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

dist/.built: node_modules/.ditto-installed tsconfig.json $(TS_SOURCES)
	npx tsc -p tsconfig.json
	@touch $@

.PHONY: native
native:
	@$(MAKE) --no-print-directory -C native

demo: setup
	node bin/ditto.js demo

typecheck: node_modules/.ditto-installed
	npx tsc -p tsconfig.test.json

lint: node_modules/.ditto-installed
	npx biome ci .

test: setup typecheck lint
	@$(MAKE) --no-print-directory -C native check
	node scripts/run-tests.mjs

bench: setup
	@for b in bench/*/run.ts; do echo "== $$b"; npx tsx $$b || exit 1; done

clean:
	rm -rf dist native/build
