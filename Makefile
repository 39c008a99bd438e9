# backstory's build. `make test` is what every change must pass;
# `make acceptance` adds the real-world checks (shared corpus, real browser).
GO       ?= go
export GOTOOLCHAIN := local
export GOFLAGS     := -buildvcs=false
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -s -w -X main.version=$(VERSION)
SHARED   ?= $(abspath ../shared)

.PHONY: all build test fmt-check vet unit acceptance fuzz bench bench-app reliability preview clean

all: build

## build: the backstory binary in bin/ (static, no cgo)
build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/backstory ./cmd/backstory

## test: formatting, vet and every unit test
test: fmt-check vet unit

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

# The PostgreSQL store's suite needs a server (BACKSTORY_TEST_POSTGRES, default
# postgres://postgres@127.0.0.1:5432/test). Without one, make test says so and
# skips it; .ci/run sets the URL, which makes it required.
unit:
	@if [ -z "$$BACKSTORY_TEST_POSTGRES" ] && ! (command -v pg_isready >/dev/null && pg_isready -q -h 127.0.0.1 -p 5432); then \
	  echo "note: no PostgreSQL at 127.0.0.1:5432: the PostgreSQL store's tests are skipped (start it, or set BACKSTORY_TEST_POSTGRES)"; \
	  export BACKSTORY_TEST_POSTGRES=skip; fi; \
	$(GO) test ./...

## acceptance: the shared corpus end to end and the site in a real browser
acceptance:
	BACKSTORY_ACCEPTANCE=1 BACKSTORY_SHARED=$(SHARED) $(GO) test -count=1 -timeout 30m -v ./acceptance/

## fuzz: every fuzzer for FUZZTIME each, one after another (go test runs
## one -fuzz target at a time). Their seed corpora (testdata/fuzz/ and the
## f.Add seeds) run as ordinary tests in make test. A failing input is
## written to the package's testdata/fuzz/: fix the bug and keep the file.
## Go 1.26's fuzzing coordinator can end a run with "context deadline
## exceeded" and no failing input (golang/go#75804, fixed in Go 1.27): that
## is reported and not counted as a failure. Minimizing each new input for
## up to a minute (go test's default) left the fuzzers idle most of a run:
## FUZZMINIMIZE bounds it.
FUZZTIME     ?= 30s
FUZZMINIMIZE ?= 200x
FUZZERS      := \
	content:FuzzParse content:FuzzParseLarge content:FuzzFrontMatter content:FuzzReview \
	content:FuzzParseConfig content:FuzzResolve content:FuzzGlob \
	app/check:FuzzLoadConfig app/check:FuzzEvaluate app/check:FuzzIntentText \
	site:FuzzSanitiseBody webhooks:FuzzParse webhooks:FuzzHandler app:FuzzProcess
fuzz:
	@log=$$(mktemp); failed=; for f in $(FUZZERS); do \
	  pkg=$${f%%:*}; name=$${f##*:}; \
	  echo "== $$pkg $$name ($(FUZZTIME))"; \
	  if $(GO) test ./$$pkg -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMINIMIZE) -parallel 1 > $$log 2>&1; then \
	    grep 'execs:' $$log | tail -1; \
	  elif grep -qx '    context deadline exceeded' $$log && ! grep -q 'Failing input written' $$log; then \
	    grep 'execs:' $$log | tail -1; echo "   stopped late (golang/go#75804), no failing input"; \
	  else \
	    grep -v '^fuzz: elapsed' $$log; failed="$$failed $$pkg:$$name"; \
	  fi; \
	done; rm -f $$log; \
	if [ -n "$$failed" ]; then echo "failed:$$failed"; exit 1; fi

## bench: parse, build, check and ingest benchmarks; the figures in BENCHMARKS.md
bench: bench-app
	$(GO) test -run '^$$' -bench . -benchmem -count 1 ./content/
	./scripts/bench.sh

## bench-app: the App alone: the check engine, API calls per evaluation, the
## stores, and webhook ingest at 500 deliveries/s for a minute per store
bench-app:
	$(GO) test -run '^$$' -bench . -benchmem -count 5 ./app/check/
	$(GO) test -run '^$$' -bench 'EvaluationAPICalls' -benchtime 1x ./app/
	$(GO) test -run '^$$' -bench 'OrgSync' -benchtime 1x -count 3 ./app/
	$(GO) test -run '^$$' -bench 'OrgSiteHugo' -benchtime 1x ./app/internal/orgbench/
	$(GO) test -run '^$$' -bench 'Enqueue$$|EnqueueParallel|ClaimComplete' -benchmem ./app/sqlite/ ./app/postgres/
	$(GO) run ./webhooks/internal/ingestbench -store sqlite -rate 500 -duration 60s -corpus $(SHARED)/corpus/webhooks
	$(GO) run ./webhooks/internal/ingestbench -store postgres -rate 500 -duration 60s -corpus $(SHARED)/corpus/webhooks

## reliability: backstory serve under faults (GitHub 5xx and rate limits,
## SIGKILL, PostgreSQL stopped and started, a replica killed, a soak of
## SOAK); the RELIABILITY lines are the figures in RELIABILITY.md. It stops
## and starts the local PostgreSQL cluster: not part of make test.
SOAK ?= 30m
reliability:
	@BACKSTORY_RELIABILITY=1 BACKSTORY_SOAK=$(SOAK) $(GO) test -count=1 -timeout 90m -v -run 'TestReliability' ./cmd/backstory/ > reliability.log 2>&1; \
	status=$$?; grep -E '^(=== RUN|--- |PASS|FAIL|ok)|RELIABILITY|reliability_test.go' reliability.log | grep -v 'githubtest:'; \
	echo "(full log: reliability.log)"; exit $$status

## preview: build and serve backstory's own story from docs/
preview:
	$(GO) run ./cmd/backstory preview

clean:
	rm -rf bin public
