package benchmarks

import (
	"context"
	"testing"

	"github.com/aponysus/rego/policy"
	"github.com/aponysus/rego/retry"
	retrygo "github.com/avast/retry-go/v4"
	backoff "github.com/cenkalti/backoff/v5"
	"github.com/failsafe-go/failsafe-go"
	"github.com/failsafe-go/failsafe-go/retrypolicy"
	goretry "github.com/sethvargo/go-retry"
)

// BenchmarkSuccess is the path nearly every call takes: the first attempt
// succeeds. Every library is configured for up to three attempts.
func BenchmarkSuccess(b *testing.B) {
	ctx := context.Background()

	b.Run(libRego, func(b *testing.B) {
		exec := newRego(policy.RetryPolicy{MaxAttempts: attempts}, retry.ExecutorOptions{})
		s := &script{}
		op := func(context.Context) error { return s.call() }
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if err := exec.Do(ctx, benchKey, op); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		expect(b, "attempts", s.attempts, int64(b.N))
	})

	b.Run(libFailsafe, func(b *testing.B) {
		exec := failsafe.With[any](retrypolicy.NewBuilder[any]().WithMaxAttempts(attempts).Build())
		s := &script{}
		op := s.call
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if err := exec.Run(op); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		expect(b, "attempts", s.attempts, int64(b.N))
	})

	b.Run(libBackoff, func(b *testing.B) {
		opts := []backoff.RetryOption{backoff.WithBackOff(&backoff.ZeroBackOff{}), backoff.WithMaxTries(attempts)}
		s := &script{}
		op := func() (struct{}, error) { return struct{}{}, s.call() }
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if _, err := backoff.Retry(ctx, op, opts...); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		expect(b, "attempts", s.attempts, int64(b.N))
	})

	b.Run(libRetryGo, func(b *testing.B) {
		opts := retryGoOptions(ctx)
		s := &script{}
		op := s.call
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if err := retrygo.Do(op, opts...); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		expect(b, "attempts", s.attempts, int64(b.N))
	})

	b.Run(libGoRetry, func(b *testing.B) {
		s := &script{}
		op := goRetryOp(s.call)
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if err := goretry.Do(ctx, goRetryBackoff(), op); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		expect(b, "attempts", s.attempts, int64(b.N))
	})
}
