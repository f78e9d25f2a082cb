# Gyre: the two commands are `make run` and `make test`.
#
#   make deps         install missing Debian packages (quick no-op when all are there)
#   make node-deps    npm ci in tests/node (when node_modules is missing or stale)
#   make build        configure (once) and build into build/
#   make run          deps + build, then run ./build/gyre with gyre.json (generated if absent)
#   make test         deps + node-deps + build, then every test through ctest
#   make bench        deps + build, then the benchmark suite (Gyre vs the Go anchor):
#                     bench/results/latest.{json,md}; BENCH_SCALE=0.1 scales it down
#   make bench-engine deps + build, then gyre-engine-bench: engine-redis through the plugin
#                     ABI against a redis-server of its own (BENCH_ENGINE_ARGS="--scale 0.1")
#   make fuzz         deps + build, then the JWT token fuzzer for FUZZ_SECONDS (300)
#   make format       clang-format -i our C/C++ sources
#   make format-check fail if any of them is not formatted
#   make clean        remove build/

SHELL := /bin/bash
.DEFAULT_GOAL := build
# Prerequisites run in order (deps before build); cmake --build parallelises itself.
.NOTPARALLEL:

BUILD_DIR  ?= build
BUILD_TYPE ?= RelWithDebInfo
NPROC      := $(shell nproc 2>/dev/null || echo 2)
CTEST_JOBS ?= 2
CLANG_FORMAT ?= clang-format
GYRE_EXE   := $(BUILD_DIR)/gyre

# liburing-dev: only for bench/floor (gyre-syscall-floor's io_uring cases); the
# server does not link it, and the tool builds without it (those cases skipped).
DEB_PACKAGES := build-essential cmake pkg-config libevent-dev libwslay-dev \
	libhttp-parser-dev libssl-dev libgtest-dev libhiredis-dev libcjson-dev \
	libsqlite3-dev redis-server clang-format liburing-dev libtsan2 clang libclang-rt-14-dev \
	curl chromium
# libtsan2: tests/tsan builds gyre with ThreadSanitizer (gcc 12's runtime).
# clang, libclang-rt-14-dev: tests/fuzz builds the libFuzzer targets.
# curl, chromium: the transport tests' clients (curl -N on uni streams; a
# headless browser on sse and uni_sse, driven by the npm playwright-core).
# Installed only when `node` is not on PATH (it may come from outside dpkg).
NODE_PACKAGES := nodejs npm

# Our C/C++ sources (never build/ or node_modules/).
FORMAT_DIRS  := core sdk plugins tests bench
FORMAT_FILES  = $(shell find $(FORMAT_DIRS) \( -name node_modules -o -name build \) -prune -o \
	-type f \( -name '*.c' -o -name '*.cc' -o -name '*.cpp' -o -name '*.h' -o -name '*.hpp' \) \
	-print 2>/dev/null | sort)

NODE_STAMP := tests/node/node_modules/.package-lock.json

.PHONY: deps node-deps build configure run test bench bench-engine fuzz format format-check clean distclean

deps:
	@missing=""; \
	for p in $(DEB_PACKAGES); do \
	  dpkg -s "$$p" 2>/dev/null | grep -q '^Status: install ok installed' || missing="$$missing $$p"; \
	done; \
	if ! command -v node >/dev/null 2>&1; then missing="$$missing $(NODE_PACKAGES)"; fi; \
	if [ -z "$$missing" ]; then echo "deps: everything is installed"; exit 0; fi; \
	echo "deps: installing$$missing"; \
	if [ "$$(id -u)" -eq 0 ]; then sudo=""; \
	elif command -v sudo >/dev/null 2>&1; then sudo="sudo"; \
	else echo "deps: need root or sudo to install:$$missing" >&2; exit 1; fi; \
	$$sudo apt-get update && \
	$$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $$missing

node-deps: $(NODE_STAMP)

# npm writes node_modules/.package-lock.json on every install: it stands for
# "node_modules is there and matches the lock file".
$(NODE_STAMP): tests/node/package-lock.json tests/node/package.json
	@command -v npm >/dev/null 2>&1 || { echo "node-deps: npm not found (run make deps)" >&2; exit 1; }
	cd tests/node && npm ci --no-audit --no-fund
	@touch $@

$(BUILD_DIR)/CMakeCache.txt:
	cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) -DGYRE_WERROR=ON

configure: $(BUILD_DIR)/CMakeCache.txt

build: $(BUILD_DIR)/CMakeCache.txt
	cmake --build $(BUILD_DIR) -j$(NPROC)

run: deps build
	@if [ ! -f gyre.json ]; then $(GYRE_EXE) genconfig --dev -c gyre.json; fi
	exec $(GYRE_EXE) -c gyre.json

test: deps node-deps build
	cd $(BUILD_DIR) && ctest --output-on-failure --no-tests=error -j$(CTEST_JOBS)

# bench/run_suite.sh builds, builds the anchor, runs every scenario against
# each server (restarted each time) and writes bench/results/latest.*.
BENCH_SCALE   ?= 1
BENCH_SECONDS ?= 10
bench: deps
	BENCH_SCALE=$(BENCH_SCALE) BENCH_SECONDS=$(BENCH_SECONDS) BUILD_DIR=$(BUILD_DIR) \
	  BENCH_COMMAND="make bench BENCH_SCALE=$(BENCH_SCALE) BENCH_SECONDS=$(BENCH_SECONDS)" \
	  bash bench/run_suite.sh

# bench/engine/run.sh starts redis-server on a free loopback port, runs the
# bench (JSON on stdout, table on stderr) and stops it; the reference run of
# redis-benchmark's PUBLISH on the same server follows (stderr).
BENCH_ENGINE_ARGS ?=
bench-engine: deps build
	ENGINE_BENCH_REFERENCE=1 bash bench/engine/run.sh $(BUILD_DIR)/gyre-engine-bench $(BENCH_ENGINE_ARGS)

# The short run is part of make test (fuzz_jwt_token); this one digs longer.
FUZZ_SECONDS ?= 300
fuzz: deps build
	sh tests/fuzz/run.sh $(CURDIR) $(CURDIR)/$(BUILD_DIR) $(FUZZ_SECONDS)

format:
	$(CLANG_FORMAT) -i $(FORMAT_FILES)

format-check:
	$(CLANG_FORMAT) --dry-run --Werror $(FORMAT_FILES)

clean:
	rm -rf $(BUILD_DIR)

# Also drops the installed npm packages.
distclean: clean
	rm -rf tests/node/node_modules
