# Starlane build, test and benchmark entry points. `make test` is what CI runs.
GO      ?= go
BIN     ?= bin/starlane
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)

.PHONY: build install test test-short test-docker fuzz bench proto lint dev docker clean

build:
	CGO_ENABLED=0 $(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/starlane

# install puts starlane on PATH (in GOBIN, or GOPATH/bin).
install:
	CGO_ENABLED=0 $(GO) install -ldflags "$(LDFLAGS)" ./cmd/starlane

# The full suite: unit, determinism (GOMAXPROCS 1 and 2), multi-process tests, then
# the race detector over the short variants of every concurrent package and the
# determinism tests (the megabase tests that simulate a cell for many game minutes
# skip in short mode: the simulation is single-threaded, and under the race detector
# they took some seven minutes).
test:
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 25m ./...
	$(GO) test -count=1 -race -short -timeout 15m ./sim/... ./shard/... ./replica/... ./bridge/... ./controller/... ./ctlclient/... ./node/... ./player/...
	# A count, not a duration: Go 1.26's fuzzing coordinator can fail a target with
	# "context deadline exceeded" when a -fuzztime duration ends (go.dev/issue/75804).
	FUZZTIME=20000x bash scripts/fuzz FuzzRequest FuzzLoad

# The fuzz targets of the request validators and the decoders, for longer.
fuzz:
	bash scripts/fuzz

# Multi-host fault tests: the compose cluster of deploy/ in containers (needs Docker
# and docker-compose; CI runs it after `make test`).
test-docker:
	bash scripts/test-docker

test-short:
	$(GO) test -short -count=1 ./...

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

proto:
	bash scripts/gen-proto.sh

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' | grep -v '\.pb\.go$$')); \
	  if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

dev:
	$(GO) run ./cmd/starlane dev

# A FROM-scratch image around the static binary (no registry needed).
docker: build
	cp $(BIN) deploy/starlane
	docker build -t starlane:$(VERSION) -t starlane:latest deploy
	rm -f deploy/starlane

clean:
	rm -rf bin
