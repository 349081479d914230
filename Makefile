# Persona Registry. `make run` serves the sample personas; `make test` is what CI runs.
GO ?= go
BIN := bin/personas

.PHONY: build test run bench fmt vet lint-samples soak

build:
	$(GO) build -o $(BIN) ./cmd/personas

test: vet
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) test -race -count=1 -timeout 20m ./...

vet:
	$(GO) vet ./...

fmt:
	gofmt -w $$(git ls-files '*.go')

lint-samples: build
	./$(BIN) lint personas

run: build
	./$(BIN) serve --repo . --addr 127.0.0.1:8080

# Go benchmarks, then the history walk against git, alternated round by round,
# on generated repositories of 2,000 personas × 20,000 commits and 10,000 ×
# 100,000 (generated once under $$TMPDIR); prints the README's table rows.
# Then a cold `personas serve` on the large one under never-repeated searches: p99 per
# second from the moment /readyz is 200, RSS after 50,000 queries, a rebuild after a force-push.
bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...
	registry/repogen/bench-history.sh
	server/bench-steady.sh

# A minute of mixed load (32 readers, a write a second) on a generated
# 2,000-persona repository, in-process; reports latency percentiles per kind
# and peak RSS, fails on any error. PERSONAS_SOAK_SECONDS=N changes the duration.
soak:
	PERSONAS_SOAK=1 $(GO) test -run '^TestSoak$$' -count=1 -timeout 10m -v ./server
