# tcpflow-check — build, test, demo, bench.
GO      ?= go
# No cgo: the binary needs no C toolchain to build, and loads libpcap (for
# live capture and BPF filters) at run time where it is installed.
export CGO_ENABLED ?= 0
# Without cgo, purego's fakecgo (how libpcap is loaded) builds for FreeBSD
# only when compiled as standard library (ebitengine/purego#155); go env
# GOOS is the target, GOOS=freebsd included.
ifeq ($(shell $(GO) env GOOS)/$(CGO_ENABLED),freebsd/0)
export GOFLAGS += -gcflags=github.com/ebitengine/purego/internal/fakecgo=-std
endif
BIN     ?= ./tcpflow-check
DEMO    ?= testdata/pcaps/real/half-close-stuck.pcap

PREFIX  ?= /usr/local
DESTDIR ?=

.PHONY: build cross install man completions test demo bench conformance fuzz fuzz-all fuzz-differential vet pgo

# -buildvcs=auto: the binary's --version names the revision it was built from.
build:
	$(GO) build -buildvcs=auto -o $(BIN) ./cmd/tcpflow-check

# The platforms the tool builds for, each built (into nowhere) without cgo.
PLATFORMS ?= linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 freebsd/amd64 freebsd/arm64 windows/amd64
cross:
	@for p in $(PLATFORMS); do \
		echo "build $$p"; \
		GOOS=$${p%/*} GOARCH=$${p#*/} $(MAKE) -s build BIN=/dev/null || exit 1; \
	done

# One man page per command (tcpflow-check(1), tcpflow-check-analyze(1), ...).
man: build
	rm -rf man && $(BIN) gen-man man

completions: build
	mkdir -p completions
	$(BIN) completion bash > completions/tcpflow-check.bash
	$(BIN) completion zsh > completions/_tcpflow-check
	$(BIN) completion fish > completions/tcpflow-check.fish

# The binary, its man pages and the bash, zsh and fish completions.
install: build man completions
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 755 $(BIN) $(DESTDIR)$(PREFIX)/bin/tcpflow-check
	install -m 644 man/*.1 $(DESTDIR)$(PREFIX)/share/man/man1/
	install -D -m 644 completions/tcpflow-check.bash $(DESTDIR)$(PREFIX)/share/bash-completion/completions/tcpflow-check
	install -D -m 644 completions/_tcpflow-check $(DESTDIR)$(PREFIX)/share/zsh/site-functions/_tcpflow-check
	install -D -m 644 completions/tcpflow-check.fish $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d/tcpflow-check.fish

vet:
	$(GO) vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))" || (echo "gofmt needed:"; gofmt -l .; exit 1)

# The README's test command: vet, gofmt, and every test (the conformance
# run over ../shared/corpus included when that folder exists).
test: vet
	$(GO) test -count=1 ./...

demo: build
	$(BIN) analyze testdata/pcaps/real/*.pcap

# Agreement with Zeek, tshark and Suricata over a corpus of public captures
# with their published results (../shared/corpus, or TCPFLOW_CORPUS=DIR);
# fails, saying where the corpus comes from, when it is absent.
conformance:
	$(GO) test -count=1 -run Conformance -v ./cmd/tcpflow-check/ -args -require-corpus

# cmd/tcpflow-check/default.pgo is the CPU profile Go builds the binary
# with (profile-guided optimization; -pgo=off builds without). It is made
# from analyze --format jsonl of the performance harness's medium capture
# and of the first million SYNs of its flood (--max-conns 100000), run
# through run() by a test this recipe writes and removes, on a binary built
# without a profile, and the two profiles merged.
PGO_MEDIUM ?= /tmp/tcpflow-perf/medium.pcap
PGO_FLOOD  ?= /tmp/tcpflow-perf/synflood.pcap
PGO_TEST   := cmd/tcpflow-check/pgo_profile_test.go
pgo:
	@t=$$(mktemp -d) && trap 'rm -rf "$$t" $(PGO_TEST)' EXIT && \
	printf '%s\n' 'package main' 'import ("io"; "os"; "strings"; "testing")' \
		'func TestPGOProfile(t *testing.T) {' \
		'	if run(strings.Split(os.Getenv("PGO_ARGS"), "|"), os.Stdin, io.Discard, io.Discard) > 1 {' \
		'		t.Fatal("analyze failed")' '	}' '}' > $(PGO_TEST) && \
	$(GO) test -c -pgo=off -o "$$t/prof.test" ./cmd/tcpflow-check && \
	tcpdump -r $(PGO_FLOOD) -c 1000000 -w "$$t/flood.pcap" 2>/dev/null && \
	PGO_ARGS='analyze|--format|jsonl|$(abspath $(PGO_MEDIUM))' "$$t/prof.test" -test.run '^TestPGOProfile$$' -test.cpuprofile "$$t/medium.prof" && \
	PGO_ARGS="analyze|--format|jsonl|--max-conns|100000|$$t/flood.pcap" "$$t/prof.test" -test.run '^TestPGOProfile$$' -test.cpuprofile "$$t/flood.prof" && \
	$(GO) tool pprof -proto "$$t/medium.prof" "$$t/flood.prof" > "$$t/default.pgo" && \
	mv "$$t/default.pgo" cmd/tcpflow-check/default.pgo

# The Go benchmarks (allocations reported); then, when the performance
# harness sits beside the repository, the comparison with the cost floor and
# the peers (../shared/perf/compare.py).
bench: build
	$(GO) test -run '^$$' -bench . -benchmem ./capture/ ./analyze/ ./reassembly/ ./cmd/tcpflow-check/
	@if [ -f ../shared/perf/compare.py ]; then python3 ../shared/perf/compare.py --bin $(abspath $(BIN)); \
	else echo "bench: no ../shared/perf/compare.py beside the repository: Go benchmarks only"; fi

fuzz:
	$(GO) test -run '^$$' -fuzz FuzzReader -fuzztime 60s ./capture/

# Every fuzz target but FuzzDifferential for FUZZTIME (10s) each, as
# .ci/run does after make test.
fuzz-all:
	scripts/fuzz-all.sh

# The decoder against gopacket's DecodingLayerParser on mutated frames
# (make test runs only its seeds: the crafted and bundled frames).
fuzz-differential:
	$(GO) test -run '^$$' -fuzz FuzzDifferential -fuzztime 300s -parallel 1 ./capture/
