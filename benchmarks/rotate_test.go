package benchmarks

import (
	"os"
	"strconv"
	"testing"
	"time"
)

// benchRound is the round this process runs: run.sh runs the benchmarks
// once per round, each round in a process of its own, and sets
// BENCH_ROUND. The first sub-benchmark of a process runs faster than the
// others on a busy machine, so the benchmarks that use libCases rotate
// the order of their libraries by round: over the rounds, every library
// goes first as often as the others (runRotated, and runSubsRotated for
// the breaker and gated benchmarks).
var benchRound = func() int {
	n, err := strconv.Atoi(os.Getenv("BENCH_ROUND"))
	if err != nil || n < 0 {
		return 0
	}
	return n
}()

// libCase is one library's sub-benchmark.
type libCase struct {
	lib string
	run func(b *testing.B)
}

// runRotated runs the cases, starting with the one the round picks.
func runRotated(b *testing.B, cases []libCase) {
	k := benchRound % len(cases)
	for i := range cases {
		c := cases[(i+k)%len(cases)]
		b.Run(c.lib, c.run)
	}
}

// cpuMeter reports the process's CPU time per operation as the metric
// cpu-ns/op. On a shared, loaded machine the wall time of a benchmark
// (ns/op) includes the time its threads waited for a CPU; the CPU time
// does not, so it tells the libraries apart where ns/op is noise. It
// counts every goroutine of the process, the in-process server's
// included, which is the same work for every library.
type cpuMeter struct {
	start time.Duration
	ok    bool
}

// startCPU starts measuring; call it right after b.ResetTimer.
func startCPU() cpuMeter {
	d, ok := processCPU()
	return cpuMeter{start: d, ok: ok}
}

// report stops measuring and reports cpu-ns/op; call it right after
// b.StopTimer.
func (m cpuMeter) report(b *testing.B) {
	end, ok := processCPU()
	if !m.ok || !ok || b.N == 0 {
		return
	}
	b.ReportMetric(float64(end-m.start)/float64(b.N), "cpu-ns/op")
}
