#!/usr/bin/env bash
# run.sh runs the benchmarks of this module in count rounds with
# -benchmem, summarises them with benchstat and writes docs/benchmarks.md
# (ns/op, B/op, allocs/op per scenario and library, with the ratio to
# rego, the machine, the Go version, the load and the date).
#
# Every round is a process of its own that runs every benchmark once, so
# the libraries of a scenario are interleaved (a, b, c, a, b, c, ...)
# rather than each run count times in a row, and the round number
# (BENCH_ROUND) rotates the order in which the benchmarks that support it
# run their libraries. benchstat then takes the median over the rounds.
#
# Usage: benchmarks/run.sh [count]
#
# Environment:
#   COUNT      rounds, that is runs of every benchmark (default 6; the
#              first argument wins). benchstat wants at least 6 for
#              confidence intervals.
#   BENCHTIME  -benchtime of every repeat (default 200ms).
#   BENCH      -bench pattern (default ".", everything).
#   OUT        the document to write (default docs/benchmarks.md at the
#              repository root).
#   RAW        if set, also keep the raw go test output at this path.
#   BEFORE     git revisions of this repository (commits, tags or
#              branches), separated by spaces. The benchmarks module of each
#              is built as it was at that revision (with the core of that
#              revision) and run in every round beside this tree's, the
#              binaries in an order rotated every round; the page then ends
#              its results with a "Before and after" section per revision:
#              benchstat's comparison with this tree, for the benchmarks
#              both have. Each revision adds a run's length.
#   RAW_BEFORE if set with BEFORE, a directory that keeps each revision's
#              raw output (REV.txt).
#
# With the defaults the whole run takes two to four minutes.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
count=${1:-${COUNT:-6}}
benchtime=${BENCHTIME:-200ms}
bench=${BENCH:-.}
out=${OUT:-$root/docs/benchmarks.md}
benchstat_version=v0.0.0-20260908200009-22c9c6c9d4da

case $count in
'' | *[!0-9]*) echo "run.sh: count must be a positive integer, got '$count'" >&2; exit 2 ;;
esac

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

loadavg() {
	if [ -r /proc/loadavg ]; then
		cut -d' ' -f1-3 /proc/loadavg
	else
		uptime | sed 's/.*load averages*: //; s/,//g'
	fi
}

ncpu=$(getconf _NPROCESSORS_ONLN 2>/dev/null || nproc)
cpu_model=$(grep -m1 '^model name' /proc/cpuinfo 2>/dev/null | sed 's/^model name[[:space:]]*:[[:space:]]*//' || true)
cpu_model=${cpu_model:-$(uname -m)}

echo "run.sh: installing benchstat $benchstat_version" >&2
(cd "$tmp" && GOWORK=off GOFLAGS= GOBIN="$tmp/bin" go install "golang.org/x/perf/cmd/benchstat@$benchstat_version")
benchstat=$tmp/bin/benchstat

(cd "$here" && GOWORK=off go test -c -o "$tmp/benchmarks.test" .)
# befores lists the earlier revisions as given; before_revs their
# commits, in the same order.
befores=()
before_revs=()
for before in ${BEFORE:-}; do
	rev=$(git -C "$root" rev-parse --verify --quiet "$before^{commit}") || {
		echo "run.sh: BEFORE: '$before' is not a revision of this repository" >&2
		exit 2
	}
	n=${#befores[@]}
	echo "run.sh: building the benchmarks of $before ($rev)" >&2
	mkdir "$tmp/before$n"
	git -C "$root" archive "$rev" | tar -x -C "$tmp/before$n"
	# -mod=mod: an older go.mod may lack a requirement that the workspace
	# of its day supplied.
	(cd "$tmp/before$n/benchmarks" && GOWORK=off go test -mod=mod -c -o "$tmp/before$n.test" .)
	: >"$tmp/before$n.txt"
	befores+=("$before")
	before_revs+=("$rev")
done

# run_round ROUND BINARY OUTPUT runs every benchmark of BINARY once,
# appending to OUTPUT.
run_round() {
	(cd "$here" && BENCH_ROUND=$1 "$2" -test.run '^$' -test.bench "$bench" -test.benchtime "$benchtime" -test.count 1 -test.benchmem) | tee -a "$3" >&2
}
load_before=$(loadavg)
load_rounds=""
start=$(date -u +%Y-%m-%dT%H:%M:%SZ)
t0=$(date +%s)
: >"$tmp/results.txt"
# bins are the test binaries and outs their outputs: this tree's first,
# then one per earlier revision. Round r starts with bins[r mod n].
bins=("$tmp/benchmarks.test")
outs=("$tmp/results.txt")
for i in "${!befores[@]}"; do
	bins+=("$tmp/before$i.test")
	outs+=("$tmp/before$i.txt")
done
for round in $(seq 1 "$count"); do
	echo "run.sh: round $round/$count: -bench '$bench' -benchtime $benchtime -benchmem (load $(loadavg))" >&2
	for k in "${!bins[@]}"; do
		j=$(((round + k) % ${#bins[@]}))
		run_round "$round" "${bins[$j]}" "${outs[$j]}"
	done
	load_rounds="$load_rounds$(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo '?') "
done
t1=$(date +%s)
load_after=$(loadavg)
if [ -n "${RAW:-}" ]; then
	cp "$tmp/results.txt" "$RAW"
fi
if [ -n "${RAW_BEFORE:-}" ] && [ ${#befores[@]} -gt 0 ]; then
	mkdir -p "$RAW_BEFORE"
	for i in "${!befores[@]}"; do
		cp "$tmp/before$i.txt" "$RAW_BEFORE/${befores[$i]//\//_}.txt"
	done
fi

# benchstat names its columns after the file; run it where the name is
# short. Its footnotes go to stderr and are not wanted in the CSV.
(cd "$tmp" && "$benchstat" -format csv -col /lib results.txt >bench.csv 2>/dev/null)
(cd "$tmp" && "$benchstat" results.txt >bench.txt)
# Only the benchmarks both revisions have: benchstat would list the
# others with one side empty.
common() { # common FILE OTHER: FILE's lines, less benchmarks OTHER lacks
	awk 'FNR == NR { if ($1 ~ /^Benchmark/) seen[$1] = 1; next }
		$1 !~ /^Benchmark/ || ($1 in seen)' "$2" "$1"
}
for i in "${!befores[@]}"; do
	(cd "$tmp" && common "before$i.txt" results.txt >before.common && common results.txt "before$i.txt" >after.common)
	(cd "$tmp" && "$benchstat" before=before.common after=after.common >"compare$i.txt")
done
(cd "$here" && GOWORK=off go run ./cmd/benchtable "$tmp/bench.csv") >"$tmp/tables.md"

go_cpu=$(grep -m1 '^cpu:' "$tmp/results.txt" | sed 's/^cpu:[[:space:]]*//; s/[[:space:]]*$//' || true)
procs=$(grep -m1 '^Benchmark' "$tmp/results.txt" | awk '{print $1}' | sed -n 's/.*-\([0-9][0-9]*\)$/\1/p')
procs=${procs:-1}
load1_max=$(printf '%s\n%s\n' "$load_before" "$load_after" | awk '{ if ($1 > m) m = $1 } END { print m + 0 }')
# The benchmarks themselves keep one to two CPUs busy: the machine counts
# as loaded when the load exceeds its CPUs.
if awk -v l="$load1_max" -v n="$ncpu" 'BEGIN { exit !(l > n) }'; then
	load_note="The machine was shared and loaded while this ran (1-minute load average up to $load1_max on $ncpu CPUs): other work competed for the CPUs, so the timings are noisy (see the ± intervals) and the ratios are indicative. Re-run \`benchmarks/run.sh\` on a quiet machine for numbers to quote."
else
	load_note="The machine was otherwise idle while this ran (1-minute load average at most $load1_max on $ncpu CPUs)."
fi

mkdir -p "$(dirname "$out")"
{
	cat <<DOC
# Benchmarks beside the peers

rego measured side by side with the Go libraries people use instead:
[failsafe-go](https://github.com/failsafe-go/failsafe-go),
[cenkalti/backoff v5](https://github.com/cenkalti/backoff),
[avast/retry-go v4](https://github.com/avast/retry-go),
[sethvargo/go-retry](https://github.com/sethvargo/go-retry),
[hashicorp/go-retryablehttp](https://github.com/hashicorp/go-retryablehttp),
failsafe-go's \`failsafehttp\`,
[go-grpc-middleware v2](https://github.com/grpc-ecosystem/go-grpc-middleware)'s
retry interceptor and [grpc-go](https://github.com/grpc/grpc-go)'s built-in retry. The code is
the \`benchmarks\` module (its own go.mod, so the core keeps no
dependencies); this page is written by \`benchmarks/run.sh\`.

## This run

| | |
|---|---|
| date | $start (took $((t1 - t0))s) |
| CPU | $cpu_model (Go reports: ${go_cpu:-unknown}) |
| CPUs / GOMAXPROCS | $ncpu / $procs |
| OS | $(uname -sr) |
| Go | $(go version | sed 's/^go version //') |
| load average (1, 5, 15 min) | before: $load_before; after: $load_after; 1-minute after each round: ${load_rounds% } |
| command | $count rounds of \`go test -run '^\$' -bench '$bench' -benchtime $benchtime -count 1 -benchmem\` (a process per round, BENCH_ROUND=1..$count), summarised by benchstat $benchstat_version${BEFORE:+; each round also ran the benchmarks of \`$BEFORE\`, in an order rotated by round (see "Before and after")} |
| libraries | $(cd "$here" && GOWORK=off go list -m -f '{{.Path}} {{.Version}}' github.com/failsafe-go/failsafe-go github.com/cenkalti/backoff/v5 github.com/avast/retry-go/v4 github.com/sethvargo/go-retry github.com/hashicorp/go-retryablehttp github.com/grpc-ecosystem/go-grpc-middleware/v2 google.golang.org/grpc | paste -sd ';' - | sed 's/;/; /g') |

$load_note

## How to read the tables

Each value is benchstat's median of the $count rounds; ± is its 95%
confidence interval, relative to the median (∞: too few runs). The ratio columns divide the library's value
by rego's: above 1 the library needs more time, bytes or allocations than
rego, below 1 it needs less. Every benchmark checks that all libraries
made the same number of attempts (and, for events, delivered the expected
number of callbacks), so no ratio compares different amounts of work.
Shared, stateless configuration (executors, option slices) is built once
outside the timed loop for every library, so the peers are measured at
their best.

The scenarios:

- **Success**: the operation succeeds on its first attempt; every library
  allows up to three attempts.
- **ThreeFailures**: three attempts, all failing, no wait between them.
  rego keeps its default jittered backoff but runs on
  \`regotest.InstantClock\`, whose timers fire at once without allocating;
  the peers are configured with a zero delay. go-retry counts its retries
  in a stateful backoff, so it builds one per call, as its users must.
- **AttemptTimeout**: three attempts at an operation that waits for its
  context, each ended by a 1ms per-attempt timeout; about 3ms per call of
  which nearly all is waiting, so read B/op and allocs/op. rego (on the
  real clock, with a random source that makes its backoff zero) and
  failsafe-go have per-attempt timeouts; for backoff-v5, retry-go and
  go-retry the operation calls \`context.WithTimeout\` itself.
- **Events**: two failures then a success with per-attempt callbacks on:
  rego's \`Observer.OnAttempt\` (lib=rego; lib=rego-onattempt: the same
  observer saying, by \`observe.HookSelector\`, that it uses nothing else)
  or \`DoWithTimeline\`
  (lib=rego-timeline), failsafe-go's retry-policy \`OnFailure\`/\`OnSuccess\`
  listeners (3 events a call); retry-go's \`OnRetry\` and backoff-v5's
  \`WithNotify\` (2 events a call: they do not report the success).
  go-retry has no hook.
- **BudgetParallel**: GOMAXPROCS goroutines (\`b.RunParallel\`) share one
  retry budget; every call fails once and asks the budget for its retry.
  rego's \`TokenBucketBudget\` against failsafe-go's \`budget\`. Both are sized
  never to deny (the benchmark fails if one does). The other libraries
  have no budget.
- **Gated**: a call that succeeds at once through rego's built-in gates:
  none (lib=rego), a closed circuit breaker, a token-bucket budget, a
  ratio budget, a breaker and a token bucket. Each checks that every call
  made one attempt. What each adds, measured in pairs that cancel the
  load, is in [performance.md](performance.md).
- **HedgePrimaryWins**: hedging on (one hedge after an hour), the primary
  answers at once: rego beside failsafe-go's \`hedgepolicy\` and a
  hand-written hedge (a cancellable context, the primary on a goroutine, a
  timer, a result channel). The libraries run in an order rotated by round.
- **HedgeWins**: the same libraries launch the hedge with no delay (rego
  through a hedge trigger of its own that returns 0 and says it reads no
  latencies, \`hedge.LatencyReader\`); the first attempt of every call
  waits until it is cancelled, the second answers at once.
- **GRPCSuccess**, **GRPCRetry**: a unary call (the standard health
  service) over an in-memory connection (bufconn) to a real gRPC server;
  in GRPCRetry the first attempt fails with UNAVAILABLE. lib=rego wraps
  the plain call with \`retry.DoValue\`; lib=rego-interceptor installs
  rego's unary client interceptor (module \`integrations/grpc\`); both on
  connections with grpc-go's retry disabled. grpc-builtin is grpc-go
  retrying by itself under a service config (3 attempts, 1ns backoff, its
  minimum); go-grpc-middleware is its v2 retry interceptor (3 attempts on
  UNAVAILABLE, no backoff). lib=none is the bare call without retries: the
  floor. The libraries run in an order rotated by round.
- **GRPCInvoker**: the same calls through the interceptors alone, to a
  unary invoker that answers at once and fills the \`grpc.Header\`,
  \`grpc.Trailer\` and \`grpc.Peer\` options with copies, as gRPC does
  (scenario=retry: the first attempt of every call fails with
  UNAVAILABLE, trailers-only). It shows what each interceptor allocates
  itself; lib=none calls the invoker directly.
- **HTTPGet**, **HTTP503**: a GET to a real \`net/http\` server on loopback,
  each library on a base transport of its own; in HTTP503 the first attempt
  gets a 503 with a short body, which every library reads before retrying,
  and the second a 200. lib=rego is \`regohttp.Transport\` (3 attempts, on
  \`regotest.InstantClock\`); go-retryablehttp has \`RetryMax\` 2 and a zero
  backoff; failsafehttp is failsafe-go's RoundTripper with its HTTP retry
  policy (3 attempts, no delay) and an \`OnRetry\` listener that closes the
  retried response, without which it leaks the connection. lib=none is plain
  \`net/http\`: the floor. Every call must end with a 200 whose body was read,
  and the server must have seen the same number of requests for every
  library. The libraries run in an order rotated by round.
- **HTTPStubGet**, **HTTPStub503**: the same calls over an in-memory base
  transport that answers at once, so that what each library itself costs
  above a plain \`http.Client\` (lib=none) is not lost in the network's tens
  of microseconds.
- **Paired**, **HTTPStubPaired**, **GRPCPairs**, **GRPCInvokerPairs**:
  alternating blocks of calls with and without a feature (or through rego
  and through a peer), reporting the median difference per call; they have
  no table here (no lib= rows): their results, and how to read them, are in
  [performance.md](performance.md).

Besides ns/op, the HTTP and gRPC benchmarks report cpu-ns/op: the CPU time
(user and system) the whole process used per call, the in-process server
included. On a loaded machine ns/op also counts the time the benchmark's
threads waited for a CPU; cpu-ns/op does not.

## Results

DOC
	cat "$tmp/tables.md"
	cat <<DOC
<details><summary>benchstat output</summary>

\`\`\`
DOC
	cat "$tmp/bench.txt"
	cat <<DOC
\`\`\`

</details>

DOC
	if [ ${#befores[@]} -gt 0 ]; then
		cat <<DOC
## Before and after

The same rounds also ran the benchmarks module of each earlier revision
below, with the core of that revision: in every round all the test
binaries ran, one after the other, the one going first rotated every
round, so that all saw the same load. Each comparison is benchstat's, for
the benchmarks both revisions have (a benchmark added since has no
"before"). "before" is the earlier revision, "after" this one; vs base is
the change from before to after, with its p-value (~ means no
significant difference at this count). Each binary runs its own set of
benchmarks, so a benchmark's neighbours (the heap and the goroutines the
benchmarks before it leave) differ between revisions, and that alone can
move a benchmark of a few hundred nanoseconds by tens of percent: before
reading a change of time here as the code's, run that benchmark alone
(\`BENCH\`) against the same revisions.

DOC
		for i in "${!befores[@]}"; do
			cat <<DOC
### Before: \`${befores[$i]}\` (commit \`${before_revs[$i]}\`)

\`\`\`
DOC
			cat "$tmp/compare$i.txt"
			cat <<DOC
\`\`\`

DOC
		done
	fi
	cat <<DOC
## Reproducing

    benchmarks/run.sh            # COUNT=6 BENCHTIME=200ms by default
    COUNT=10 BENCHTIME=1s benchmarks/run.sh
    BEFORE=<commit> benchmarks/run.sh  # beside an earlier revision

CI only checks that every benchmark builds and runs once; it does not judge
timings:

    (cd benchmarks && GOWORK=off go test -run '^\$' -bench . -benchtime=1x ./...)
DOC
} >"$out"
echo "run.sh: wrote $out" >&2
