# Slipway build. `make run` starts a dev cluster; `make test` runs the test suite.
GO       ?= go
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -s -w -X github.com/slipwayhq/slipway/internal/version.Version=$(VERSION)
GOBIN    := $(shell $(GO) env GOPATH)/bin
GOLANGCI := $(GOBIN)/golangci-lint
GOLANGCI_VERSION := v2.15.0
TEST_TIMEOUT ?= 15m

.PHONY: all build run test test-short lint fuzz mutate bench bench-blob bench-git bench-git-large e2e testbed clean tools

all: build

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/slipway ./cmd/slipway
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/slipway-agent ./cmd/slipway-agent

## run: start Slipway in one process (single-node cluster and 3 agents in ./.slipway-dev);
##      ARGS passes more flags to slipway dev, e.g. make run ARGS="--http-addr 127.0.0.1:7500"
ARGS ?=
run: build
	./bin/slipway dev --agents 3 $(ARGS)

## test: vet, then every package's tests with the race detector
test:
	$(GO) vet ./...
	$(GO) test -race -timeout $(TEST_TIMEOUT) ./...

test-short:
	$(GO) test -short -timeout $(TEST_TIMEOUT) ./...

$(GOLANGCI):
	$(GO) install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_VERSION)

tools: $(GOLANGCI)

## lint: gofmt check and golangci-lint (including the import-boundary rules)
lint: $(GOLANGCI)
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (echo "gofmt needed on:"; gofmt -l $$(git ls-files '*.go'); exit 1)
	$(GOLANGCI) run --build-tags e2e,testbed ./...

## fuzz: run each fuzz target briefly (FUZZTIME=30s by default)
FUZZTIME ?= 30s
fuzz:
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg 2>/dev/null | grep '^Fuzz'); do \
	    echo "fuzz $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	  done; \
	done

## mutate: check the checks: put each one-line bug of scripts/mutate/mutations.yml into a scratch
##         copy, run the tests that own the rule, print what was caught (not part of make test);
##         ARGS passes flags, e.g. make mutate ARGS="-only stop -markdown"
mutate:
	$(GO) run ./scripts/mutate $(ARGS)

## bench: Raft throughput on a 3-node loopback cluster
bench:
	$(GO) test -run '^$$' -bench . -benchtime 3s -timeout 30m ./server/...

## bench-blob: 1 GiB upload/download on a 3-node cluster of real processes, next to cp
bench-blob: build
	scripts/bench-blob.sh

## bench-git: push, clone and fetch of a generated repository (3,000 commits, about 190 MiB) on a
##            3-node cluster of real processes, next to git daemon and git http-backend serving
##            the same repository
bench-git: build
	scripts/bench-git.sh

## bench-git-large: a 1 GiB file pushed and cloned back, every server's RSS sampled
bench-git-large: build
	scripts/bench-git-large.sh

# The test bed runs with -v: its report table (one line per fault scenario) is printed to stdout
# at the end of the run, after every scenario's summary line.
TESTBED_TIMEOUT ?= 20m
TESTBED_RUN = SLIPWAY_BIN=$(CURDIR)/bin $(GO) test -tags testbed -count=1 -v -timeout $(TESTBED_TIMEOUT) ./testbed/

## e2e: slow end-to-end scenarios with real processes, then the Docker test bed (its report last)
e2e: build
	SLIPWAY_BIN=$(CURDIR)/bin $(GO) test -tags e2e -count=1 -timeout 30m ./e2e/...
	$(TESTBED_RUN)

## testbed: only the fault scenarios on a Docker test bed (servers and agents in containers; needs
## Docker, and fails without it when CI=true)
testbed: build
	$(TESTBED_RUN)

clean:
	rm -rf bin
