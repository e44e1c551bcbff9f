package benchmarks

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aponysus/rego/hedge"
	"github.com/aponysus/rego/policy"
	"github.com/aponysus/rego/retry"
	"github.com/failsafe-go/failsafe-go"
	"github.com/failsafe-go/failsafe-go/hedgepolicy"
)

// triggerNow names a hedge trigger that launches the hedge at once:
// rego's fixed delay is at least policy.MinHedgeDelay, so a zero delay
// takes a trigger of the caller's own.
const triggerNow policy.HedgeTrigger = "now"

// nowTrigger is that trigger. It reads no latencies and says so
// (hedge.LatencyReader), as a user's trigger would: the executor then
// keeps none for its calls, as for the fixed delay.
type nowTrigger struct{}

func (nowTrigger) Delay(hedge.TriggerInput) (time.Duration, string, bool) { return 0, "now", true }
func (nowTrigger) ReadsLatency() bool                                     { return false }

// hedgeCall makes one hedged call of op (one primary, at most one hedge).
type hedgeCall func(op func(context.Context) error) error

// hedgeCases are the hedging libraries, each launching its hedge after
// delay: rego's executor (delay 0 through nowTrigger; two attempts, as
// hedges count toward MaxAttempts), a hand-written
// hedge (handHedge) and failsafe-go's hedgepolicy, whose operation reads
// the execution's context so that the losing attempt is cancelled.
func hedgeCases(delay time.Duration, body func(b *testing.B, call hedgeCall)) []libCase {
	ctx := context.Background()
	regoCall := func() hedgeCall {
		hp := policy.HedgePolicy{Enabled: true, MaxHedges: 1, Delay: delay}
		opts := retry.ExecutorOptions{}
		if delay == 0 {
			hp.Trigger = triggerNow
			opts.HedgeTriggers = hedge.NewRegistry()
			opts.HedgeTriggers.Register(triggerNow, nowTrigger{})
		}
		opts.Provider = staticPolicy(policy.EffectivePolicy{Retry: policy.RetryPolicy{MaxAttempts: 2}, Hedge: hp})
		exec := retry.NewExecutor(opts)
		return func(op func(context.Context) error) error { return exec.Do(ctx, benchKey, op) }
	}
	failsafeCall := func() hedgeCall {
		exec := failsafe.With[any](hedgepolicy.NewBuilderWithDelay[any](delay).WithMaxHedges(1).Build())
		return func(op func(context.Context) error) error {
			return exec.RunWithExecution(func(e failsafe.Execution[any]) error { return op(e.Context()) })
		}
	}
	return []libCase{
		{libRego, func(b *testing.B) { body(b, regoCall()) }},
		{libHandwritten, func(b *testing.B) {
			body(b, func(op func(context.Context) error) error { return handHedge(ctx, op, delay) })
		}},
		{libFailsafe, func(b *testing.B) { body(b, failsafeCall()) }},
	}
}

// hedgeLoop makes b.N calls of call on op, measuring CPU time, and checks
// that every call succeeded and op ran perCall times a call.
func hedgeLoop(b *testing.B, call hedgeCall, op func(context.Context) error, runs *atomic.Int64, perCall int64) {
	b.ReportAllocs()
	b.ResetTimer()
	m := startCPU()
	for i := 0; i < b.N; i++ {
		if err := call(op); err != nil {
			b.Fatal(err)
		}
	}
	m.report(b)
	b.StopTimer()
	expect(b, "attempts", runs.Load(), perCall*int64(b.N))
}

// BenchmarkHedgePrimaryWins is a hedged call whose primary answers before
// the hedge delay (an hour), the common case: rego with hedging on,
// failsafe-go's hedgepolicy, and the least a hand-written hedge does (a
// context for the attempts, the primary on a goroutine, a timer for the
// hedge, a channel for the result). Each checks every call made one
// attempt and succeeded.
func BenchmarkHedgePrimaryWins(b *testing.B) {
	runRotated(b, hedgeCases(time.Hour, func(b *testing.B, call hedgeCall) {
		var runs atomic.Int64
		hedgeLoop(b, call, func(context.Context) error { runs.Add(1); return nil }, &runs, 1)
	}))
}

// BenchmarkHedgeWins is a hedged call whose hedge, launched at once (no
// delay), wins: the first attempt of every call waits until it is
// cancelled, the second answers at once. Each library checks that every
// call ran two attempts and returned the fast one's nil error (the
// cancelled attempt returns the context's error).
func BenchmarkHedgeWins(b *testing.B) {
	runRotated(b, hedgeCases(0, func(b *testing.B, call hedgeCall) {
		var runs atomic.Int64
		op := func(ctx context.Context) error {
			if runs.Add(1)%2 == 1 {
				return waitCtx(ctx)
			}
			return nil
		}
		hedgeLoop(b, call, op, &runs, 2)
	}))
}
