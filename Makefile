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

.PHONY: all build test test-postgres lint fmt fmt-check vet staticcheck workflowcheck dev demo bench bench-scale chaos mutants clean

all: build

## build: bin/trailgate (the operator CLI) and bin/trailgate-worker
build:
	$(GO) build -o bin/trailgate ./starter
	$(GO) build -o bin/trailgate-worker ./worker

## test: every package's tests, integration tests included
test:
	$(GO) test -timeout $(TEST_TIMEOUT) $(TESTFLAGS) ./...

## test-postgres: the production topology on this machine, each part its
## own process: Debian's PostgreSQL, Temporal's server built from go.mod's
## version on it, the AWS sandbox and two workers, one SIGKILLed while a
## 20-organization change rolls out. make test runs it too where PostgreSQL
## is installed, and skips it elsewhere; this target fails there instead.
test-postgres:
	TRAILGATE_TEST_POSTGRES=1 $(GO) test -count=1 -timeout 20m -v -run '^TestAChangeOnPostgres' ./internal/topology

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
	$(GO) test -run '^$$' -bench . -benchmem $$($(GO) list ./... | grep -v /internal/benchscale)

## bench-scale: one table from one run: a change over BENCH_N organizations
## (default 10,100,1000), with and without the managed trail, on the dev
## default; raw Temporal of the same shape; the sequential AWS CLI baseline.
BENCH_N ?= 10,100,1000
bench-scale:
	BENCH_N="$(BENCH_N)" $(GO) test -run '^$$' -bench Scale -benchtime 1x -timeout 120m ./internal/benchscale

## chaos: SIGKILL the dev default at random points of rollouts over many
## organizations with AWS made slow, restart it each time, print the figures.
## make test runs a short version (three organizations, two kills at gates).
CHAOS_ROUNDS ?= 10
CHAOS_ORGS ?= 20
chaos: build
	CHAOS_ROUNDS=$(CHAOS_ROUNDS) CHAOS_ORGS=$(CHAOS_ORGS) $(GO) test -count=1 -timeout 4h -run '^TestChaos$$' -v ./internal/chaos
## mutants: mutation testing of activities/ and workflows/ (gremlins); prints survivors and the kill ratio
# Each mutant of a package is tested by that package's own tests: all of
# activities' (the AWS sandbox runs in-process, under a second), and the unit
# tests of workflows (the test suite, no server): GOFLAGS=-short skips its
# integration tests, which start Temporal's server and take minutes per
# mutant. gremlins hands its environment, GOFLAGS included, to its coverage
# run and to every mutant's go test, so a mutant only the integration tests
# reach counts as not covered, not as lived. -count=1 keeps the coverage run
# out of the test cache: gremlins times each mutant against it.
# The ratio is killed / (killed + lived); timed-out mutants are shown apart.
# make mutants fails when a package kills fewer than MUTANTS_MIN percent.
MUTANTS_FLAGS ?= --workers 1 --timeout-coefficient 10 --output-statuses lt
MUTANTS_MIN ?= 85
MUTANTS_OUT ?= bin/mutants

mutants:
	@mkdir -p $(MUTANTS_OUT)
	GOFLAGS="$$GOFLAGS -count=1" $(TOOL) gremlins unleash $(MUTANTS_FLAGS) -o $(MUTANTS_OUT)/activities.json ./activities
	GOFLAGS="$$GOFLAGS -short -count=1" $(TOOL) gremlins unleash $(MUTANTS_FLAGS) -o $(MUTANTS_OUT)/workflows.json ./workflows
	@line="mutants:"; sep=""; low=""; \
	for pkg in activities workflows; do \
		f=$(MUTANTS_OUT)/$$pkg.json; \
		k=$$(sed -n 's/.*"mutants_killed":\([0-9]*\).*/\1/p' $$f); \
		l=$$(sed -n 's/.*"mutants_lived":\([0-9]*\).*/\1/p' $$f); \
		t=$$(grep -o '"status":"TIMED OUT"' $$f | wc -l | tr -d ' '); \
		if [ -z "$$k" ] || [ -z "$$l" ] || [ $$((k + l)) -eq 0 ]; then echo "mutants: no results for $$pkg in $$f"; exit 1; fi; \
		extra=""; if [ "$$t" -gt 0 ]; then extra=", $$t timed out"; fi; \
		line="$$line$$sep $$pkg killed $$k/$$((k + l)) ($$((100 * k / (k + l)))%$$extra)"; \
		if [ $$((100 * k)) -lt $$(($(MUTANTS_MIN) * (k + l))) ]; then low="$$low $$pkg"; fi; \
		sep=","; \
	done; \
	echo "$$line"; \
	if [ -n "$$low" ]; then echo "mutants: below $(MUTANTS_MIN)% killed:$$low"; exit 1; fi

clean:
	rm -rf bin
