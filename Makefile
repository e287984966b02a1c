# trailgate: build, test, lint and run the embedded default.
# Everything here needs only Go; the lint tools are pinned in tools/go.mod and
# come from the Go module proxy on first use.

GO ?= go

# Keep the user's module proxy (environment or `go env -w`); fall back to the
# public proxy when none is set.
GOPROXY ?= $(shell $(GO) env GOPROXY)
ifeq ($(strip $(GOPROXY)),)
GOPROXY := https://proxy.golang.org,direct
endif
export GOPROXY

TEST_TIMEOUT ?= 20m
TESTFLAGS ?=
TOOL := $(GO) tool -modfile=tools/go.mod

.PHONY: all build test lint fmt fmt-check vet staticcheck workflowcheck dev demo bench chaos clean

all: build

## build: bin/trailgate (the operator CLI) and bin/trailgate-worker
build:
	$(GO) build -o bin/trailgate ./starter
	$(GO) build -o bin/trailgate-worker ./worker

## test: every package's tests, integration tests included
test:
	$(GO) test -timeout $(TEST_TIMEOUT) $(TESTFLAGS) ./...

## lint: gofmt, go vet, staticcheck and workflowcheck
lint: fmt-check vet staticcheck workflowcheck

fmt:
	gofmt -w .

fmt-check:
	@files=$$(gofmt -l .); \
	if [ -n "$$files" ]; then echo "gofmt: these files need formatting (run make fmt):"; echo "$$files"; exit 1; fi

vet:
	$(GO) vet ./...

staticcheck:
	$(TOOL) staticcheck ./...

## workflowcheck: workflow code must be deterministic
workflowcheck:
	$(TOOL) workflowcheck ./workflows/...

## dev: the embedded default: Temporal, its UI, the AWS sandbox and the worker
dev: build
	bin/trailgate-worker --dev

## demo: a real session on a fresh dev default: two changes, their approvals and records
demo:
	GO="$(GO)" scripts/demo.sh

## bench: benchmarks only, with allocations
bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

## chaos: SIGKILL the dev default at random points of rollouts over many
## organizations with AWS made slow, restart it each time, print the figures.
## make test runs a short version (three organizations, two kills at gates).
CHAOS_ROUNDS ?= 10
CHAOS_ORGS ?= 20
chaos: build
	CHAOS_ROUNDS=$(CHAOS_ROUNDS) CHAOS_ORGS=$(CHAOS_ORGS) $(GO) test -count=1 -timeout 4h -run '^TestChaos$$' -v ./internal/chaos

clean:
	rm -rf bin
