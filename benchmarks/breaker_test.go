package benchmarks

import (
	"context"
	"testing"
	"time"

	"github.com/aponysus/rego/circuit"
	"github.com/aponysus/rego/gate"
	"github.com/aponysus/rego/policy"
	"github.com/aponysus/rego/retry"
	"github.com/failsafe-go/failsafe-go"
	"github.com/failsafe-go/failsafe-go/circuitbreaker"
	"github.com/sony/gobreaker/v2"
)

// Library names of the breaker scenarios.
const (
	libGobreaker = "lib=gobreaker"
	// libRegoRates is rego's breaker with its failure-rate and slow-call
	// rules on (counted in its time window), beside the peers' rate
	// configurations.
	libRegoRates      = "lib=rego-rates"
	libFailsafeRates  = "lib=failsafe-go-rates"
	libGobreakerRates = "lib=gobreaker-rates"
)

// sub is one library's sub-benchmark.
type sub struct {
	name string
	f    func(b *testing.B)
}

// runSubsRotated runs subs in the order the round picks (see runRotated):
// run.sh runs every round in a process of its own, so an order kept in
// the process would be the same in every round.
func runSubsRotated(b *testing.B, subs []sub) {
	cases := make([]libCase, len(subs))
	for i, s := range subs {
		cases[i] = libCase{lib: s.name, run: s.f}
	}
	runRotated(b, cases)
}

// The configurations side by side: five consecutive failures open, or a
// 50% failure rate over 10s once 10 calls ended; 30s of cooldown.
var (
	breakerConsecutive = policy.CircuitPolicy{Enabled: true, FailureThreshold: 5, Cooldown: 30 * time.Second}
	breakerRates       = policy.CircuitPolicy{Enabled: true, FailureThreshold: 5, Cooldown: 30 * time.Second,
		FailureRateThreshold: 0.5, Window: 10 * time.Second, MinThroughput: 10}
)

func gobreakerSettings(rates bool) gobreaker.Settings {
	st := gobreaker.Settings{Name: "bench", Timeout: 30 * time.Second}
	if rates {
		st.Interval, st.BucketPeriod = 10*time.Second, time.Second
		st.ReadyToTrip = func(c gobreaker.Counts) bool {
			return c.Requests >= 10 && c.TotalFailures*2 >= c.Requests || c.ConsecutiveFailures >= 5
		}
	} else {
		st.ReadyToTrip = func(c gobreaker.Counts) bool { return c.ConsecutiveFailures >= 5 }
	}
	return st
}

func failsafeBreaker(rates bool) circuitbreaker.CircuitBreaker[any] {
	bl := circuitbreaker.NewBuilder[any]().WithDelay(30 * time.Second)
	if rates {
		bl = bl.WithFailureRateThreshold(0.5, 10, 10*time.Second)
	} else {
		bl = bl.WithFailureThreshold(5)
	}
	return bl.Build()
}

// BenchmarkBreakerAdmit is the breaker alone on its closed path: admit an
// attempt, record its success. rego's gate API (Admit, Permit.Done),
// gobreaker's two-step breaker (Allow, done), failsafe-go's
// TryAcquirePermit and RecordSuccess. Each sub-benchmark checks the
// breaker admitted every attempt and, where the library counts them, that
// it recorded b.N successes.
func BenchmarkBreakerAdmit(b *testing.B) {
	regoSub := func(cfg policy.CircuitPolicy, counted bool) func(b *testing.B) {
		return func(b *testing.B) {
			var br circuit.Breaker
			pol := &policy.EffectivePolicy{Circuit: cfg}
			ctx, now := context.Background(), time.Now()
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				p, err := br.Admit(ctx, gate.Attempt{Policy: pol}, now)
				if err != nil {
					b.Fatal(err)
				}
				p.Done(gate.Result{Verdict: gate.Answered, Latency: time.Millisecond, End: now})
			}
			b.StopTimer()
			sn := br.Snapshot(now, cfg)
			if counted {
				expect(b, "successes", int64(sn.Calls), int64(b.N))
			}
			expect(b, "open", int64(sn.State), int64(circuit.Closed))
		}
	}
	gobreakerSub := func(rates bool) func(b *testing.B) {
		return func(b *testing.B) {
			cb := gobreaker.NewTwoStepCircuitBreaker[any](gobreakerSettings(rates))
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				done, err := cb.Allow()
				if err != nil {
					b.Fatal(err)
				}
				done(nil)
			}
			b.StopTimer()
			expect(b, "successes", int64(cb.Counts().TotalSuccesses), int64(b.N))
		}
	}
	failsafeSub := func(rates bool) func(b *testing.B) {
		return func(b *testing.B) {
			cb := failsafeBreaker(rates)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if !cb.TryAcquirePermit() {
					b.Fatal("refused")
				}
				cb.RecordSuccess()
			}
			b.StopTimer()
			if rates { // the count-based window holds only the last few
				expect(b, "successes", int64(cb.Metrics().Successes()), int64(b.N))
			}
			expect(b, "closed", boolInt(cb.IsClosed()), 1)
		}
	}
	runSubsRotated(b, []sub{
		{libRego, regoSub(breakerConsecutive, false)},
		{libRegoRates, regoSub(breakerRates, true)},
		{libGobreaker, gobreakerSub(false)},
		{libGobreakerRates, gobreakerSub(true)},
		{libFailsafe, failsafeSub(false)},
		{libFailsafeRates, failsafeSub(true)},
	})
}

// BenchmarkBreakerSuccess is a successful call through each library's
// executor with a closed breaker: rego's executor (up to three attempts,
// the breaker enabled), gobreaker's Execute, failsafe-go's executor with
// its circuit breaker. lib=none is rego's executor without a breaker: the
// plain path, the floor.
func BenchmarkBreakerSuccess(b *testing.B) {
	ctx := context.Background()
	regoSub := func(cfg policy.CircuitPolicy) func(b *testing.B) {
		return func(b *testing.B) {
			exec := retry.NewExecutor(retry.ExecutorOptions{Provider: staticPolicy(policy.EffectivePolicy{
				Retry: policy.RetryPolicy{MaxAttempts: attempts}, Circuit: cfg,
			})})
			s := &script{}
			op := func(context.Context) error { return s.call() }
			timedCalls(b, s, func() error { return exec.Do(ctx, benchKey, op) })
		}
	}
	runSubsRotated(b, []sub{
		{libNone, regoSub(policy.CircuitPolicy{})},
		{libRego, regoSub(breakerConsecutive)},
		{libRegoRates, regoSub(breakerRates)},
		{libGobreaker, func(b *testing.B) {
			cb := gobreaker.NewCircuitBreaker[struct{}](gobreakerSettings(false))
			s := &script{}
			op := func() (struct{}, error) { return struct{}{}, s.call() }
			timedCalls(b, s, func() error { _, err := cb.Execute(op); return err })
		}},
		{libFailsafe, func(b *testing.B) {
			exec := failsafe.With[any](failsafeBreaker(false))
			s := &script{}
			timedCalls(b, s, func() error { return exec.Run(s.call) })
		}},
	})
}

// timedCalls runs call b.N times in the timed region and checks that each
// made one attempt of s.
func timedCalls(b *testing.B, s *script, call func() error) {
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := call(); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	expect(b, "attempts", s.attempts, int64(b.N))
}

func boolInt(v bool) int64 {
	if v {
		return 1
	}
	return 0
}
