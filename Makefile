# caddy-mfa: `make test` runs every test with the real tools they need; `make bench` the benchmarks.
GO       ?= go
# Tools the end-to-end tests run. Missing ones are installed from Debian's packages when this
# runs as root (CI does); otherwise the target says what to install and stops.
TOOLS    := oathtool chromium curl jq redis-server redis-cli openssl npm
# axe-core, which the page tests run in Chromium: from the npm registry into e2e/node (ignored by git).
AXE      := e2e/node/node_modules/axe-core/axe.min.js

.PHONY: test deps vet bench demo clean

# Every test, beside real Redis servers on free ports (scripts/with-redis.sh: one server, a
# 3-master Redis Cluster and a Sentinel) for the Redis backend and the multi-node tests.
test: deps vet
	scripts/with-redis.sh $(GO) test -race -count=1 -timeout 20m ./...

vet:
	@test -z "$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))" || { gofmt -l .; echo "gofmt: the files above need formatting"; exit 1; }
	$(GO) vet ./...

deps:
	@missing=""; for t in $(TOOLS); do command -v $$t >/dev/null 2>&1 || missing="$$missing $$t"; done; \
	packages=$$(echo "$$missing" | sed 's/redis-cli/redis-tools/'); \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
			echo "installing$$packages"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$packages >/dev/null || exit 1; \
		else \
			echo "missing:$$missing; install them (Debian: sudo apt-get install$$packages) and run make test again"; exit 1; \
		fi; \
	fi
	@test -f $(AXE) || npm install --prefix e2e/node --no-audit --no-fund axe-core@4 >/dev/null

# Benchmarks, then the load comparison of a plain and a gated site (scripts/loadtest.sh, wrk),
# then the same sites' instructions per request (scripts/instructions.sh, Valgrind's Callgrind).
bench:
	@command -v wrk >/dev/null 2>&1 && command -v valgrind >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk valgrind oathtool jq >/dev/null; } || { echo "bench needs wrk and valgrind (apt-get install wrk valgrind)"; exit 1; }
	scripts/with-redis.sh $(GO) test -run '^$$' -bench . -benchmem ./policy ./session ./gate ./factors
	scripts/loadtest.sh
	scripts/instructions.sh

# The README's demo.
demo:
	$(GO) run ./cmd/caddy run --config Caddyfile.example

clean:
	rm -rf e2e/artifacts e2e/node
