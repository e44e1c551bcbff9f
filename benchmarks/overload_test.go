package benchmarks

import (
	"context"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/aponysus/rego/adaptive"
	"github.com/aponysus/rego/bulkhead"
	"github.com/aponysus/rego/gate"
	"github.com/aponysus/rego/policy"
	"github.com/aponysus/rego/ratelimit"
	"github.com/failsafe-go/failsafe-go/adaptivelimiter"
	fsbulkhead "github.com/failsafe-go/failsafe-go/bulkhead"
	"github.com/failsafe-go/failsafe-go/ratelimiter"
)

// overloadRound rotates the order in which BenchmarkOverloadGates runs its
// libraries: go test repeats each sub-benchmark -count times in a row, so
// an interleaved comparison runs the test binary several times with
// OVERLOAD_ROUND=0, 1, ... (see the command in docs/overload.md), and
// neither library always runs first on a cold cache.
func overloadRound() int {
	n, _ := strconv.Atoi(os.Getenv("OVERLOAD_ROUND"))
	if n < 0 {
		n = -n
	}
	return n
}

// runRoundRotated runs the sub-benchmarks in the order rotated by the
// round.
func runRoundRotated(b *testing.B, round int, subs []sub) {
	for i := range subs {
		s := subs[(i+round)%len(subs)]
		b.Run(s.name, s.f)
	}
}

// libRegoSingle is one of rego's gates used without its per-key registry
// (a bulkhead.Bulkhead, a ratelimit.Limiter, an adaptive.Limiter): the
// same work as failsafe-go's single policy instances.
const libRegoSingle = "lib=rego-single"

// BenchmarkOverloadGates is an uncontended admission and its release, the
// cost every call pays for a gate that does not refuse, against
// failsafe-go's policies used directly (no executor), in the same run.
// lib=rego is rego's gate as the executor calls it: through the gate.Gate
// interface, a per-key registry lookup, the policy section read from the
// attempt, the admission and the permit's completion (Permit.Done with
// the Result the executor builds). lib=rego-single leaves out the registry
// and the interface: one key's gate called directly, which is what
// failsafe-go's single instances do. rego's gates take the time from
// the executor, failsafe-go's policies read the clock themselves: rego's
// rate limiter is given a time advanced by arithmetic, so that its figure
// is the gate's own work, and gate=none measures the clock readings apart
// (time.Now, which the executor reads for the rate limiter, and
// time.Since, failsafe-go's rate limiter's monotonic reading); rego's
// adaptive limit is given time.Now readings per admission and per
// completion (for the latency), which counts the clock against rego; the
// bulkhead needs no time, and the executor reads none for it. Every sub-benchmark checks that it admitted every one
// of its b.N attempts and released them all. Besides ns/op (wall time),
// every sub-benchmark reports cpu-ns/op on Linux: the CPU time of its
// thread per admission, which time waiting for a core on a loaded machine
// does not inflate.
func BenchmarkOverloadGates(b *testing.B) {
	round := overloadRound()
	ctx := context.Background()

	b.Run("gate=bulkhead", func(b *testing.B) {
		a := gate.Attempt{Key: benchKey, Policy: &policy.EffectivePolicy{Key: benchKey, Bulkhead: policy.BulkheadPolicy{Enabled: true, MaxConcurrent: 100}}}
		runRoundRotated(b, round, []sub{
			{libRego, func(b *testing.B) {
				reg := &bulkhead.Registry{}
				var g gate.Gate = reg
				var admitted int64
				b.ReportAllocs()
				stop := cpuTimer(b)
				for i := 0; i < b.N; i++ {
					p, err := g.Admit(ctx, a, time.Time{})
					if err != nil {
						b.Fatal(err)
					}
					admitted++
					p.Done(gate.Result{Verdict: gate.Answered, Attempt: a})
				}
				stop()
				expect(b, "admitted", admitted, int64(b.N))
				expect(b, "in flight", int64(reg.For(benchKey).InFlight()), 0)
			}},
			{libRegoSingle, func(b *testing.B) {
				bh := &bulkhead.Bulkhead{}
				var admitted int64
				b.ReportAllocs()
				stop := cpuTimer(b)
				for i := 0; i < b.N; i++ {
					p, err := bh.Admit(ctx, nil, a.Policy.Bulkhead)
					if err != nil {
						b.Fatal(err)
					}
					admitted++
					p.Done(gate.Result{Verdict: gate.Answered, Attempt: a})
				}
				stop()
				expect(b, "admitted", admitted, int64(b.N))
				expect(b, "in flight", int64(bh.InFlight()), 0)
			}},
			{libFailsafe, func(b *testing.B) {
				bh := fsbulkhead.New[any](100)
				var admitted int64
				b.ReportAllocs()
				stop := cpuTimer(b)
				for i := 0; i < b.N; i++ {
					if !bh.TryAcquirePermit() {
						b.Fatal("bulkhead full")
					}
					admitted++
					bh.ReleasePermit()
				}
				stop()
				expect(b, "admitted", admitted, int64(b.N))
				if !bh.TryAcquirePermit() {
					b.Fatal("a permit was not released")
				}
			}},
		})
	})

	// The clock reading the rate limiter and the adaptive limit are given
	// per admission, alone: what the executor pays for them besides the
	// gates' own work. failsafe-go's rate limiter reads a monotonic clock
	// (time.Since) instead, about half the work of time.Now on Linux.
	b.Run("gate=none", func(b *testing.B) {
		b.Run("clock=time.Now", func(b *testing.B) {
			var last time.Time
			b.ReportAllocs()
			stop := cpuTimer(b)
			for i := 0; i < b.N; i++ {
				last = time.Now()
			}
			stop()
			if last.IsZero() {
				b.Fatal("no clock reading")
			}
		})
		b.Run("clock=time.Since", func(b *testing.B) {
			start := time.Now()
			var last time.Duration
			b.ReportAllocs()
			stop := cpuTimer(b)
			for i := 0; i < b.N; i++ {
				last = time.Since(start)
			}
			stop()
			if last <= 0 {
				b.Fatal("no clock reading")
			}
		})
	})

	b.Run("gate=ratelimit", func(b *testing.B) {
		// A rate no run can exhaust: every admission finds a token.
		const rate = 1e9
		a := gate.Attempt{Key: benchKey, Policy: &policy.EffectivePolicy{Key: benchKey, RateLimit: policy.RateLimitPolicy{Enabled: true, Rate: rate, Burst: int(rate)}}}
		runRoundRotated(b, round, []sub{
			{libRego, func(b *testing.B) {
				reg := &ratelimit.Registry{}
				var g gate.Gate = reg
				now := time.Now()
				var admitted int64
				b.ReportAllocs()
				stop := cpuTimer(b)
				for i := 0; i < b.N; i++ {
					now = now.Add(time.Nanosecond)
					p, err := g.Admit(ctx, a, now)
					if err != nil {
						b.Fatal(err)
					}
					admitted++
					p.Done(gate.Result{Verdict: gate.Answered, Attempt: a})
				}
				stop()
				expect(b, "admitted", admitted, int64(b.N))
			}},
			{libRegoSingle, func(b *testing.B) {
				l := &ratelimit.Limiter{}
				now := time.Now()
				var admitted int64
				b.ReportAllocs()
				stop := cpuTimer(b)
				for i := 0; i < b.N; i++ {
					now = now.Add(time.Nanosecond)
					if !l.Allow(now, a.Policy.RateLimit) {
						b.Fatal("rate limited")
					}
					admitted++
				}
				stop()
				expect(b, "admitted", admitted, int64(b.N))
			}},
			{libFailsafe, func(b *testing.B) {
				rl := ratelimiter.NewBursty[any](uint(rate), time.Second)
				var admitted int64
				b.ReportAllocs()
				stop := cpuTimer(b)
				for i := 0; i < b.N; i++ {
					if !rl.TryAcquirePermit() {
						b.Fatal("rate limited")
					}
					admitted++
				}
				stop()
				expect(b, "admitted", admitted, int64(b.N))
			}},
		})
	})

	b.Run("gate=adaptive", func(b *testing.B) {
		a := gate.Attempt{Key: benchKey, Policy: &policy.EffectivePolicy{Key: benchKey, Concurrency: policy.ConcurrencyPolicy{Enabled: true, InitialLimit: 100, MinLimit: 100, MaxLimit: 1000}}}
		runRoundRotated(b, round, []sub{
			{libRego, func(b *testing.B) {
				reg := &adaptive.Registry{}
				var g gate.Gate = reg
				admitTimed(b, a, func(start time.Time) (gate.Permit, error) { return g.Admit(ctx, a, start) })
				expect(b, "in flight", int64(reg.For(benchKey).InFlight()), 0)
			}},
			{libRegoSingle, func(b *testing.B) {
				l := &adaptive.Limiter{}
				admitTimed(b, a, func(time.Time) (gate.Permit, error) { return l.Admit(ctx, nil, a.Policy.Concurrency) })
				expect(b, "in flight", int64(l.InFlight()), 0)
			}},
			{libFailsafe, func(b *testing.B) {
				al := adaptivelimiter.NewBuilder[any]().WithLimits(100, 1000, 100).Build()
				var admitted int64
				b.ReportAllocs()
				stop := cpuTimer(b)
				for i := 0; i < b.N; i++ {
					p, ok := al.TryAcquirePermit()
					if !ok {
						b.Fatal("limit reached")
					}
					admitted++
					p.Record()
				}
				stop()
				expect(b, "admitted", admitted, int64(b.N))
				expect(b, "in flight", int64(al.Inflight()), 0)
			}},
		})
	})
}

// admitTimed runs b.N admissions through admit, each given a time.Now
// reading and completed with the latency to a second one, as the executor
// completes the permits of a gate that learns from latencies, and checks
// that all were admitted. The call through a function value costs both of
// rego's variants the same.
func admitTimed(b *testing.B, a gate.Attempt, admit func(start time.Time) (gate.Permit, error)) {
	var admitted int64
	b.ReportAllocs()
	stop := cpuTimer(b)
	for i := 0; i < b.N; i++ {
		start := time.Now()
		p, err := admit(start)
		if err != nil {
			b.Fatal(err)
		}
		admitted++
		end := time.Now()
		p.Done(gate.Result{Verdict: gate.Answered, Latency: end.Sub(start), End: end, Attempt: a})
	}
	stop()
	expect(b, "admitted", admitted, int64(b.N))
}
