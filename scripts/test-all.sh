#!/usr/bin/env bash
# Runs the whole test suite of every module, the way CI does:
#   bash scripts/test-all.sh
#
# For each module, on its own (GOWORK=off, so that a missing requirement
# cannot hide behind the workspace): go vet, go test -race, every benchmark
# once (-benchtime=1x, so benchmarks cannot rot; timings are not judged),
# and a short run of every fuzz target. Then the core module is vetted with
# Go 1.22, its minimum version, and the workspace is built as a whole.
#
# Environment:
#   FUZZTIME   -fuzztime per fuzz target (default 50000x: an execution
#              count, not a duration, because a duration that expires while
#              a worker is busy makes go test report "context deadline
#              exceeded" as a failure; 0 skips fuzzing)
#   SKIP_GO122 set to 1 to skip the Go 1.22 check (it downloads go1.22.12)
set -euo pipefail

cd "$(dirname "$0")/.."
root=$(pwd)
modules=(. integrations/yaml integrations/grpc integrations/otel integrations/prometheus integrations/redis integrations/etcd examples/etcd benchmarks)
fuzztime=${FUZZTIME:-50000x}

step() { printf '\n=== %s\n' "$*"; }

for m in "${modules[@]}"; do
	cd "$root/$m"
	step "module $m: vet"
	GOWORK=off go vet ./...
	step "module $m: test -race"
	GOWORK=off go test -race -count=1 ./...
	step "module $m: benchmarks once"
	GOWORK=off go test -run '^$' -bench . -benchtime=1x ./... >/dev/null
	if [ "$fuzztime" != "0" ]; then
		# Every FuzzXxx target, package by package.
		for pkg in $(GOWORK=off go list ./...); do
			dir=$(GOWORK=off go list -f '{{.Dir}}' "$pkg")
			for target in $(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go 2>/dev/null | sed 's/^func //' | sort -u); do
				step "module $m: fuzz $pkg $target ($fuzztime)"
				GOWORK=off go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" "$pkg"
			done
		done
	fi
done

cd "$root"
step "workspace: build and vet everything together"
go build ./... ./integrations/... ./examples/etcd/... ./benchmarks/...
go vet ./... ./integrations/... ./examples/etcd/... ./benchmarks/...

if [ "${SKIP_GO122:-0}" != "1" ]; then
	step "core module with Go 1.22 (its minimum)"
	# The toolchain comes from the Go module proxy. If this machine cannot
	# fetch it, say so loudly and go on: the go.mod directive and vet's
	# stdversion check above still hold the core to Go 1.22's language
	# and standard library.
	if GOTOOLCHAIN=go1.22.12 GOWORK=off go version >/dev/null 2>&1; then
		GOTOOLCHAIN=go1.22.12 GOWORK=off go vet ./...
		GOTOOLCHAIN=go1.22.12 GOWORK=off go test -count=1 ./...
	else
		echo "WARNING: could not fetch go1.22.12; the Go 1.22 pass was skipped" >&2
	fi
fi

step "all tests passed"
