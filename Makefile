# tcpflow-check — build, test, demo, bench.
GO      ?= go
# No cgo: the binary needs no C toolchain to build, and loads libpcap (for
# live capture and BPF filters) at run time where it is installed.
export CGO_ENABLED ?= 0
BIN     ?= ./tcpflow-check
DEMO    ?= testdata/pcaps/real/half-close-stuck.pcap

.PHONY: build test demo bench conformance fuzz vet

build:
	$(GO) build -o $(BIN) ./cmd/tcpflow-check

vet:
	$(GO) vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))" || (echo "gofmt needed:"; gofmt -l .; exit 1)

# The README's test command: vet, gofmt, and every test (the conformance
# run over ../shared/corpus included when that folder exists).
test: vet
	$(GO) test -count=1 ./...

demo: build
	$(BIN) analyze testdata/pcaps/real/*.pcap

conformance:
	$(GO) test -count=1 -run Conformance -v ./cmd/tcpflow-check/

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./capture/ ./analyze/ ./cmd/tcpflow-check/

fuzz:
	$(GO) test -run '^$$' -fuzz FuzzReader -fuzztime 60s ./capture/
