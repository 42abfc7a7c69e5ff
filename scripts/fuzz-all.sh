#!/usr/bin/env bash
# Every fuzz target for FUZZTIME (default 10s) each, one target per
# invocation (go test fuzzes one at a time); FuzzDifferential is left to
# 'make fuzz-differential' (it hunts gopacket's gaps, and would fail at
# random here). A crasher fails the run and is left in the package's
# testdata/fuzz/FuzzX/, where it becomes a regression input: commit it
# under a name that says what it found, with a named test beside it.
#
# Go 1.26's fuzzing coordinator can fail a run with a bare "context
# deadline exceeded" when -fuzztime ends while a worker is busy
# (go.dev/issue/75804, fixed in Go 1.27), writing no input. Such a run is
# reported as that race and not counted as a failure; any other failure,
# or one that wrote an input, is.
set -uo pipefail
fuzztime=${FUZZTIME:-10s}
status=0
for pkg in $(go list ./...); do
  dir=$(go list -f '{{.Dir}}' "$pkg")
  for target in $(go test -list '^Fuzz' "$pkg" | grep '^Fuzz' || true); do
    [ "$target" = FuzzDifferential ] && continue
    echo "fuzz: $target ($pkg) for $fuzztime"
    before=$(ls "$dir/testdata/fuzz/$target" 2>/dev/null)
    out=$(mktemp)
    go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" "$pkg" 2>&1 | tee "$out"
    rc=${PIPESTATUS[0]}
    after=$(ls "$dir/testdata/fuzz/$target" 2>/dev/null)
    if [ "$rc" != 0 ]; then
      if [ "$before" = "$after" ] && grep -q '^    context deadline exceeded$' "$out" &&
        [ "$(grep -c -e '^--- FAIL' -e 'panic:' "$out")" = 1 ]; then
        echo "fuzz: $target: Go's fuzztime race (go.dev/issue/75804), no input written; not a failure"
      else
        echo "fuzz: $target failed (exit $rc)" >&2
        status=1
      fi
    fi
    rm -f "$out"
  done
done
exit $status
