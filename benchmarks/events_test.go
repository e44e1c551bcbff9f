package benchmarks

import (
	"context"
	"testing"
	"time"

	"github.com/aponysus/rego/observe"
	"github.com/aponysus/rego/policy"
	"github.com/aponysus/rego/regotest"
	"github.com/aponysus/rego/retry"
	retrygo "github.com/avast/retry-go/v4"
	backoff "github.com/cenkalti/backoff/v5"
	"github.com/failsafe-go/failsafe-go"
	"github.com/failsafe-go/failsafe-go/retrypolicy"
)

// attemptObserver counts the executor's per-attempt events.
type attemptObserver struct {
	observe.BaseObserver
	events int64
}

func (o *attemptObserver) OnAttempt(context.Context, policy.PolicyKey, observe.AttemptRecord) {
	o.events++
}

// onAttemptObserver is an attemptObserver that tells the executor it uses
// OnAttempt alone (observe.HookSelector), so calls keep no timeline for it.
type onAttemptObserver struct{ attemptObserver }

func (*onAttemptObserver) ObserverHooks() observe.Hooks { return observe.HookAttempt }

// libRegoOnAttempt is rego with an observer that selects OnAttempt alone.
const libRegoOnAttempt = "lib=rego-onattempt"

// BenchmarkEvents is a call that fails twice and succeeds on its third
// attempt, with the library reporting each attempt to user code:
//
//   - rego: an Observer's OnAttempt (3 events); as rego-onattempt, the same
//     observer saying it uses OnAttempt alone (observe.HookSelector), so
//     that the call keeps no timeline; as rego-timeline, DoWithTimeline
//     returning the call's timeline (3 attempt records);
//   - failsafe-go: the retry policy's OnFailure and OnSuccess listeners,
//     which fire per attempt (3 events);
//   - retry-go: OnRetry, and backoff-v5: Notify, which fire per failed
//     attempt (2 events); neither reports the successful one.
//
// go-retry has no hook and is left out.
func BenchmarkEvents(b *testing.B) {
	ctx := context.Background()
	const fails = attempts - 1
	wantAttempts := func(b *testing.B) int64 { return int64(attempts * b.N) }
	instant := retry.ExecutorOptions{Clock: regotest.InstantClock{}}

	observed := func(obs observe.Observer, events *int64) func(b *testing.B) {
		return func(b *testing.B) {
			opts := instant
			opts.Observer = obs
			exec := newRego(policy.RetryPolicy{MaxAttempts: attempts}, opts)
			s := &script{fails: fails}
			op := func(context.Context) error { return s.call() }
			*events = 0
			b.ReportAllocs()
			b.ResetTimer()
			m := startCPU()
			for i := 0; i < b.N; i++ {
				s.reset()
				if err := exec.Do(ctx, benchKey, op); err != nil {
					b.Fatal(err)
				}
			}
			m.report(b)
			b.StopTimer()
			expect(b, "attempts", s.attempts, wantAttempts(b))
			expect(b, "events", *events, wantAttempts(b))
		}
	}
	obs := &attemptObserver{}
	b.Run(libRego, observed(obs, &obs.events))
	sel := &onAttemptObserver{}
	b.Run(libRegoOnAttempt, observed(sel, &sel.events))

	b.Run(libRegoTimeline, func(b *testing.B) {
		exec := newRego(policy.RetryPolicy{MaxAttempts: attempts}, instant)
		s := &script{fails: fails}
		op := func(context.Context) error { return s.call() }
		var events int64
		b.ReportAllocs()
		b.ResetTimer()
		m := startCPU()
		for i := 0; i < b.N; i++ {
			s.reset()
			tl, err := exec.DoWithTimeline(ctx, benchKey, op)
			if err != nil {
				b.Fatal(err)
			}
			events += int64(len(tl.Attempts))
		}
		m.report(b)
		b.StopTimer()
		expect(b, "attempts", s.attempts, wantAttempts(b))
		expect(b, "events", events, wantAttempts(b))
	})

	b.Run(libFailsafe, func(b *testing.B) {
		var events int64
		count := func(failsafe.ExecutionEvent[any]) { events++ }
		exec := failsafe.With[any](retrypolicy.NewBuilder[any]().
			WithMaxAttempts(attempts).
			OnFailure(count).
			OnSuccess(count).
			Build())
		s := &script{fails: fails}
		op := s.call
		b.ReportAllocs()
		b.ResetTimer()
		m := startCPU()
		for i := 0; i < b.N; i++ {
			s.reset()
			if err := exec.Run(op); err != nil {
				b.Fatal(err)
			}
		}
		m.report(b)
		b.StopTimer()
		expect(b, "attempts", s.attempts, wantAttempts(b))
		expect(b, "events", events, wantAttempts(b))
	})

	b.Run(libBackoff, func(b *testing.B) {
		var events int64
		opts := []backoff.RetryOption{
			backoff.WithBackOff(&backoff.ZeroBackOff{}),
			backoff.WithMaxTries(attempts),
			backoff.WithNotify(func(error, time.Duration) { events++ }),
		}
		s := &script{fails: fails}
		op := func() (struct{}, error) { return struct{}{}, s.call() }
		b.ReportAllocs()
		b.ResetTimer()
		m := startCPU()
		for i := 0; i < b.N; i++ {
			s.reset()
			if _, err := backoff.Retry(ctx, op, opts...); err != nil {
				b.Fatal(err)
			}
		}
		m.report(b)
		b.StopTimer()
		expect(b, "attempts", s.attempts, wantAttempts(b))
		expect(b, "events", events, int64(fails*b.N))
	})

	b.Run(libRetryGo, func(b *testing.B) {
		var events int64
		opts := retryGoOptions(ctx, retrygo.OnRetry(func(uint, error) { events++ }))
		s := &script{fails: fails}
		op := s.call
		b.ReportAllocs()
		b.ResetTimer()
		m := startCPU()
		for i := 0; i < b.N; i++ {
			s.reset()
			if err := retrygo.Do(op, opts...); err != nil {
				b.Fatal(err)
			}
		}
		m.report(b)
		b.StopTimer()
		expect(b, "attempts", s.attempts, wantAttempts(b))
		expect(b, "events", events, int64(fails*b.N))
	})
}
