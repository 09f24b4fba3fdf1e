# The two commands: `make run` and `make test`. Both install what is missing.
SHELL := /bin/bash
CARGO ?= cargo
WASM_TARGET := wasm32-wasip2
# Every policy component built for the host (and the tests).
GUESTS := hostile scripted ip-filter signatures rate-limit auth-jwt auth-apikey auth-hmac auth-mtls crs vpatch detect \
	edge-adapter edge-platform edge-platform-spin
BIN := target/release/edgewaf
# The developer tools (bundle, serve-component, crs-test): package edgewaf-tools.
TOOLS := target/release/edgewaf-tools
WASM_DIR := target/$(WASM_TARGET)/release
# The wasi:http bundle of the demo tenant "shop" (ip-filter + signatures).
EDGE_POLICIES := --policy $(WASM_DIR)/ip_filter.wasm --policy $(WASM_DIR)/signatures.wasm
EDGE_TENANT := policies/shop.toml
# The wasmtime CLI the bundle tests run (`wasmtime serve`), from crates.io.
WASMTIME_CLI_VERSION := 48.0.8
# The OWASP CRS release vendored in crs/v$(CRS_VERSION) (rules, crs-setup.conf.example,
# regression tests, LICENSE). `make crs-update VERSION=x.y.z` replaces it and bumps this line.
CRS_VERSION := 4.28.0
# The CRS folder the tests, `crs-test` and the benchmarks read (override:
# make test EDGEWAF_CRS_DIR=/path/to/crs). The demo tenant mounts crs/v$(CRS_VERSION)
# itself (policies/api.toml).
EDGEWAF_CRS_DIR ?= $(CURDIR)/crs/v$(CRS_VERSION)
export EDGEWAF_CRS_DIR
# The admin API token for `make run` (override: make run EDGEWAF_ADMIN_TOKEN=...).
EDGEWAF_ADMIN_TOKEN ?= dev-admin-token
export EDGEWAF_ADMIN_TOKEN

.PHONY: run test setup setup-test setup-wasmtime crs-update guests host edge edge-spin serve-edge fmt clippy clean bench bench-density soak fuzz eval

## What running needs, installed when missing: the wasm32-wasip2 target.
setup:
	@command -v $(CARGO) >/dev/null || { echo "cargo is required (https://rustup.rs)"; exit 1; }
	@rustup target list --installed 2>/dev/null | grep -qx $(WASM_TARGET) || rustup target add $(WASM_TARGET)

## What only the tests need, installed when missing: redis-server (the
## shared-state tests start their own on 127.0.0.1; apt as root, else sudo),
## chromium (the dashboard test drives it headless) and wasmtime-cli
## (setup-wasmtime).
setup-test: setup setup-wasmtime
	@command -v redis-server >/dev/null || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  export DEBIAN_FRONTEND=noninteractive; \
	  $$SUDO apt-get update -q && $$SUDO apt-get install -y -q --no-install-recommends redis-server; }
	@command -v chromium >/dev/null || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  export DEBIAN_FRONTEND=noninteractive; \
	  $$SUDO apt-get update -q && $$SUDO apt-get install -y -q chromium; }

## Install wasmtime-cli $(WASMTIME_CLI_VERSION) into ~/.cargo/bin unless that
## version is already there (one cold build, ~15 min on 2 cores; cached after).
setup-wasmtime:
	@PATH="$$HOME/.cargo/bin:$$PATH" wasmtime --version 2>/dev/null | grep -q "^wasmtime $(WASMTIME_CLI_VERSION)\b" \
	  || $(CARGO) install wasmtime-cli --version $(WASMTIME_CLI_VERSION) --locked

## Build every policy component (release, wasm32-wasip2).
guests: setup
	$(CARGO) build --release --target $(WASM_TARGET) $(addprefix -p ,$(GUESTS))

## Build the host (the `edgewaf` binary) and the developer tools (`edgewaf-tools`).
host: setup
	$(CARGO) build --release -p edgewaf -p edgewaf-tools

## Start the echo origin on 127.0.0.1:8081 and the WAF on 127.0.0.1:8080
## (admin API on 127.0.0.1:9901) with the demo tenants of policies/.
run: guests host
	@echo "admin token: $$EDGEWAF_ADMIN_TOKEN"
	@$(BIN) echo --listen 127.0.0.1:8081 & echo_pid=$$!; \
	trap 'kill $$echo_pid 2>/dev/null' EXIT INT TERM; \
	$(BIN) serve --config edgewaf.toml

## The demo tenant "shop" as one wasi:http component, for any wasi:http runtime
## (target/edge/edgewaf.wasm) and for Spin (target/edge/edgewaf-spin.wasm, the
## component spin.toml serves).
edge: guests host
	$(TOOLS) bundle $(EDGE_POLICIES) --config $(EDGE_TENANT) -o target/edge/edgewaf.wasm

edge-spin: guests host
	$(TOOLS) bundle --platform spin $(EDGE_POLICIES) --config $(EDGE_TENANT) -o target/edge/edgewaf-spin.wasm

## Serve target/edge/edgewaf.wasm with `wasmtime serve` on 127.0.0.1:8080 in
## front of the echo origin on 127.0.0.1:8081.
serve-edge: edge setup-wasmtime
	@$(BIN) echo --listen 127.0.0.1:8081 & echo_pid=$$!; \
	trap 'kill $$echo_pid 2>/dev/null' EXIT INT TERM; \
	PATH="$$HOME/.cargo/bin:$$PATH" wasmtime serve -Scli --addr 127.0.0.1:8080 \
	  --env EDGEWAF_ORIGIN=http://127.0.0.1:8081 target/edge/edgewaf.wasm

## Build everything and run every test (unit, component, end-to-end), then the
## CRS regression suite through the CRS component.
test: guests host setup-test
	PATH="$$HOME/.cargo/bin:$$PATH" $(CARGO) test --release --workspace
	$(TOOLS) crs-test --crs $(EDGEWAF_CRS_DIR) --module target/$(WASM_TARGET)/release/crs.wasm --overrides tests/crs-overrides.yaml

## Replace the vendored CRS with release $(VERSION): download the GitHub tarball
## of coreruleset/coreruleset v$(VERSION), or take CRS_SRC (an unpacked release
## folder or a .tar.gz), lay it out in crs/v$(VERSION), point every reference
## (CRS_VERSION above, policies/api.toml, tests, benches, docs) at it and remove
## the old folder. Prints what to check next. See crs/README.md.
crs-update:
	@test -n "$(VERSION)" || { echo "usage: make crs-update VERSION=x.y.z [CRS_SRC=folder-or-tarball]"; exit 2; }
	crs/update.sh "$(VERSION)" "$(CRS_SRC)"

## Benchmark (not a test; CI does not run it): edgewaf with a CRS paranoia-1
## tenant next to nginx + ModSecurity + the same CRS (../shared/peer; PEER=0
## skips it) under wrk, 4 workloads, BENCH_SECS=8 s each; markdown tables and
## raw wrk output in target/bench/. Installs wrk when missing. See bench/bench.py.
## Evaluation (not a test; fails on nothing): the attack and benign corpora
## generated by tests/eval/gen_corpus.py, sent to a CRS tenant and a CRS tenant
## with the api profile (crs/profiles/api); detection per class / placement /
## encoding, benign block rate, false-blocking rules. See docs/eval.md.
eval: guests host
	python3 bench/eval.py

bench: guests host
	@command -v wrk >/dev/null || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  export DEBIAN_FRONTEND=noninteractive; \
	  $$SUDO apt-get update -q && $$SUDO apt-get install -y -q wrk; }
	PEER='$(PEER)' PEER_DIR='$(PEER_DIR)' BENCH_SECS='$(BENCH_SECS)' python3 bench/bench.py

## Density benchmark (not a test): N = 10, 100, 1000 CRS tenants in one
## process from one snapshot; load time per tenant, RSS, verdicts of a random
## sample (DENSITY_N=10,100 to choose; DENSITY_FRESH=1 rebuilds the snapshot).
bench-density: guests
	$(CARGO) bench -p edgewaf --bench density

## Soak (not a test; CI does not run it): mixed benign/attack traffic at
## saturation against a CRS tenant for SOAK_SECS (600) s, a hot swap every 10 s,
## IP-list changes every 2 s, RSS and fds sampled each second. Fails on any
## lost request (sent = answered = logged) or RSS growth > 5 % after warm-up.
## Summary in target/soak/. See bench/soak.py.
SOAK_SECS ?= 600
soak: guests host
	SOAK_SECS='$(SOAK_SECS)' python3 bench/soak.py

## Fuzz (not a test; docs/fuzzing.md): every target of fuzz/ for FUZZ_SECONDS
## (60) s, FUZZ_JOBS (2) at a time, seeded from the CRS release. Prints the
## executions per target (logs in target/fuzz-logs/); fails if any target
## crashed (inputs in target/fuzz-crashes/<target>/). FUZZ_TARGETS to choose.
FUZZ_SECONDS ?= 60
FUZZ_JOBS ?= 2
FUZZ_TARGETS ?= seclang transform body-urlencoded body-multipart body-json body-xml http-request jwt tenant-toml
fuzz:
	$(CARGO) build --release -p edgewaf-fuzz
	@mkdir -p target/fuzz-logs && cp target/release/edgewaf-fuzz target/fuzz-logs/edgewaf-fuzz
	@printf '%s\n' $(FUZZ_TARGETS) | xargs -P $(FUZZ_JOBS) -I{} sh -c \
	  'target/fuzz-logs/edgewaf-fuzz run {} --seconds $(FUZZ_SECONDS) --corpus "$(EDGEWAF_CRS_DIR)" >target/fuzz-logs/{}.log 2>&1; echo "{}: done (exit $$?)"'
	@fail=0; for t in $(FUZZ_TARGETS); do \
	  line=$$(grep -h '^fuzz: ' target/fuzz-logs/$$t.log); \
	  echo "$${line:-fuzz: target=$$t did not finish, see target/fuzz-logs/$$t.log}"; \
	  case "$$line" in *" crashes=0 "*) ;; *) fail=1; grep -h CRASH target/fuzz-logs/$$t.log | head -5;; esac; \
	done; exit $$fail

fmt:
	$(CARGO) fmt --all

clippy:
	$(CARGO) clippy --release --workspace -- -D warnings

clean:
	$(CARGO) clean
