package benchmarks

import (
	"context"
	"errors"
	"testing"

	"github.com/aponysus/rego/policy"
	"github.com/aponysus/rego/regotest"
	"github.com/aponysus/rego/retry"
	retrygo "github.com/avast/retry-go/v4"
	backoff "github.com/cenkalti/backoff/v5"
	"github.com/failsafe-go/failsafe-go"
	"github.com/failsafe-go/failsafe-go/retrypolicy"
	goretry "github.com/sethvargo/go-retry"
)

// stopped receives the *retry.StopError of an exhausted call (a variable
// of its own would escape through errors.As and count as rego's
// allocation; benchmarks run one at a time).
var stopped *retry.StopError

// BenchmarkThreeFailures measures the bookkeeping of retrying: three
// attempts, all failing, and no wait between them. rego keeps its default
// jittered backoff but runs on regotest.InstantClock, whose timers fire at
// once without allocating; the peers are configured with a zero delay.
func BenchmarkThreeFailures(b *testing.B) {
	ctx := context.Background()
	want := func(b *testing.B) int64 { return int64(attempts * b.N) }

	b.Run(libRego, func(b *testing.B) {
		exec := newRego(policy.RetryPolicy{MaxAttempts: attempts}, retry.ExecutorOptions{Clock: regotest.InstantClock{}})
		s := &script{fails: attempts}
		op := func(context.Context) error { return s.call() }
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			s.reset()
			if err := exec.Do(ctx, benchKey, op); !errors.As(err, &stopped) || stopped.Err != errBench {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		expect(b, "attempts", s.attempts, want(b))
	})

	b.Run(libFailsafe, func(b *testing.B) {
		exec := failsafe.With[any](retrypolicy.NewBuilder[any]().WithMaxAttempts(attempts).Build())
		s := &script{fails: attempts}
		op := s.call
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			s.reset()
			if err := exec.Run(op); !errors.Is(err, errBench) {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		expect(b, "attempts", s.attempts, want(b))
	})

	b.Run(libBackoff, func(b *testing.B) {
		opts := []backoff.RetryOption{backoff.WithBackOff(&backoff.ZeroBackOff{}), backoff.WithMaxTries(attempts)}
		s := &script{fails: attempts}
		op := func() (struct{}, error) { return struct{}{}, s.call() }
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			s.reset()
			if _, err := backoff.Retry(ctx, op, opts...); err != errBench {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		expect(b, "attempts", s.attempts, want(b))
	})

	b.Run(libRetryGo, func(b *testing.B) {
		opts := retryGoOptions(ctx)
		s := &script{fails: attempts}
		op := s.call
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			s.reset()
			if err := retrygo.Do(op, opts...); !errors.Is(err, errBench) {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		expect(b, "attempts", s.attempts, want(b))
	})

	b.Run(libGoRetry, func(b *testing.B) {
		s := &script{fails: attempts}
		op := goRetryOp(s.call)
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			s.reset()
			if err := goretry.Do(ctx, goRetryBackoff(), op); err != errBench {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		expect(b, "attempts", s.attempts, want(b))
	})
}
