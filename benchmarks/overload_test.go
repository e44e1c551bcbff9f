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

// runRotated runs the sub-benchmarks in the order rotated by the round.
func runRotated(b *testing.B, round int, subs []struct {
	name string
	f    func(*testing.B)
}) {
	for i := range subs {
		s := subs[(i+round)%len(subs)]
		b.Run(s.name, s.f)
	}
}

// BenchmarkOverloadGates is an uncontended admission and its release, the
// cost every call pays for a gate that does not refuse: rego's gates (a
// per-key registry lookup, the policy section read from the attempt, the
// admission and the permit's completion) against failsafe-go's policies
// used directly (no executor), in the same run. Every sub-benchmark checks
// that it admitted every one of its b.N attempts and released them all.
// rego's rate limiter and adaptive limit are given the clock readings the
// executor would give them (time.Now per admission, and per completion for
// the latency), as failsafe-go reads the clock itself.
func BenchmarkOverloadGates(b *testing.B) {
	round := overloadRound()
	ctx := context.Background()

	b.Run("gate=bulkhead", func(b *testing.B) {
		runRotated(b, round, []struct {
			name string
			f    func(*testing.B)
		}{
			{libRego, func(b *testing.B) {
				reg := &bulkhead.Registry{}
				a := gate.Attempt{Key: benchKey, Policy: &policy.EffectivePolicy{Key: benchKey, Bulkhead: policy.BulkheadPolicy{Enabled: true, MaxConcurrent: 100}}}
				var admitted int64
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					p, err := reg.Admit(ctx, a, time.Time{})
					if err != nil {
						b.Fatal(err)
					}
					admitted++
					p.Done(gate.Result{Verdict: gate.Answered})
				}
				b.StopTimer()
				expect(b, "admitted", admitted, int64(b.N))
				expect(b, "in flight", int64(reg.For(benchKey).InFlight()), 0)
			}},
			{libFailsafe, func(b *testing.B) {
				bh := fsbulkhead.New[any](100)
				var admitted int64
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					if !bh.TryAcquirePermit() {
						b.Fatal("bulkhead full")
					}
					admitted++
					bh.ReleasePermit()
				}
				b.StopTimer()
				expect(b, "admitted", admitted, int64(b.N))
				if !bh.TryAcquirePermit() {
					b.Fatal("a permit was not released")
				}
			}},
		})
	})

	b.Run("gate=ratelimit", func(b *testing.B) {
		// A rate no run can exhaust: every admission finds a token.
		const rate = 1e9
		runRotated(b, round, []struct {
			name string
			f    func(*testing.B)
		}{
			{libRego, func(b *testing.B) {
				reg := &ratelimit.Registry{}
				a := gate.Attempt{Key: benchKey, Policy: &policy.EffectivePolicy{Key: benchKey, RateLimit: policy.RateLimitPolicy{Enabled: true, Rate: rate, Burst: int(rate)}}}
				var admitted int64
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					p, err := reg.Admit(ctx, a, time.Now())
					if err != nil {
						b.Fatal(err)
					}
					admitted++
					p.Done(gate.Result{Verdict: gate.Answered})
				}
				b.StopTimer()
				expect(b, "admitted", admitted, int64(b.N))
			}},
			{libFailsafe, func(b *testing.B) {
				rl := ratelimiter.NewBursty[any](uint(rate), time.Second)
				var admitted int64
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					if !rl.TryAcquirePermit() {
						b.Fatal("rate limited")
					}
					admitted++
				}
				b.StopTimer()
				expect(b, "admitted", admitted, int64(b.N))
			}},
		})
	})

	b.Run("gate=adaptive", func(b *testing.B) {
		runRotated(b, round, []struct {
			name string
			f    func(*testing.B)
		}{
			{libRego, func(b *testing.B) {
				reg := &adaptive.Registry{}
				a := gate.Attempt{Key: benchKey, Policy: &policy.EffectivePolicy{Key: benchKey, Concurrency: policy.ConcurrencyPolicy{Enabled: true, InitialLimit: 100, MinLimit: 100, MaxLimit: 1000}}}
				var admitted int64
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					start := time.Now()
					p, err := reg.Admit(ctx, a, start)
					if err != nil {
						b.Fatal(err)
					}
					admitted++
					end := time.Now()
					p.Done(gate.Result{Verdict: gate.Answered, Latency: end.Sub(start), End: end})
				}
				b.StopTimer()
				expect(b, "admitted", admitted, int64(b.N))
				expect(b, "in flight", int64(reg.For(benchKey).InFlight()), 0)
			}},
			{libFailsafe, func(b *testing.B) {
				al := adaptivelimiter.NewBuilder[any]().WithLimits(100, 1000, 100).Build()
				var admitted int64
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					p, ok := al.TryAcquirePermit()
					if !ok {
						b.Fatal("limit reached")
					}
					admitted++
					p.Record()
				}
				b.StopTimer()
				expect(b, "admitted", admitted, int64(b.N))
				expect(b, "in flight", int64(al.Inflight()), 0)
			}},
		})
	})
}
