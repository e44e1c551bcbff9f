package benchmarks

import (
	"context"
	"errors"
	"testing"

	"github.com/aponysus/rego/policy"
	"github.com/aponysus/rego/retry"
	retrygo "github.com/avast/retry-go/v4"
	backoff "github.com/cenkalti/backoff/v5"
	"github.com/failsafe-go/failsafe-go"
	"github.com/failsafe-go/failsafe-go/retrypolicy"
	"github.com/failsafe-go/failsafe-go/timeout"
	goretry "github.com/sethvargo/go-retry"
)

// BenchmarkAttemptTimeout runs an operation that never answers: each of
// three attempts ends when its 1ms timeout fires. The time per call is
// mostly the three timeouts (about 3ms plus timer slack); what differs is
// the cost of arming and tearing down a timeout per attempt, visible in
// B/op and allocs/op.
//
// rego and failsafe-go have per-attempt timeouts. For backoff-v5, retry-go
// and go-retry the operation sets its own context.WithTimeout, as their
// users must. rego runs on the real clock (timeouts need real time) with
// a random source that makes its jittered backoff zero, so nobody waits
// between attempts.
func BenchmarkAttemptTimeout(b *testing.B) {
	ctx := context.Background()
	want := func(b *testing.B) int64 { return int64(attempts * b.N) }

	b.Run(libRego, func(b *testing.B) {
		exec := newRego(policy.RetryPolicy{MaxAttempts: attempts, TimeoutPerAttempt: attemptTimeout},
			retry.ExecutorOptions{Rand: zeroRand{}})
		var n int64
		op := func(ctx context.Context) error { n++; return waitCtx(ctx) }
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if err := exec.Do(ctx, benchKey, op); !errors.Is(err, context.DeadlineExceeded) {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		expect(b, "attempts", n, want(b))
	})

	b.Run(libFailsafe, func(b *testing.B) {
		exec := failsafe.With[any](
			retrypolicy.NewBuilder[any]().WithMaxAttempts(attempts).Build(),
			timeout.New[any](attemptTimeout),
		)
		var n int64
		op := func(e failsafe.Execution[any]) error { n++; return waitCtx(e.Context()) }
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if err := exec.RunWithExecution(op); !errors.Is(err, timeout.ErrExceeded) {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		expect(b, "attempts", n, want(b))
	})

	// withTimeout is the per-attempt timeout the other peers' users write.
	var n int64
	withTimeout := func(ctx context.Context) error {
		n++
		actx, cancel := context.WithTimeout(ctx, attemptTimeout)
		defer cancel()
		return waitCtx(actx)
	}

	b.Run(libBackoff, func(b *testing.B) {
		n = 0
		opts := []backoff.RetryOption{backoff.WithBackOff(&backoff.ZeroBackOff{}), backoff.WithMaxTries(attempts)}
		op := func() (struct{}, error) { return struct{}{}, withTimeout(ctx) }
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if _, err := backoff.Retry(ctx, op, opts...); !errors.Is(err, context.DeadlineExceeded) {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		expect(b, "attempts", n, want(b))
	})

	b.Run(libRetryGo, func(b *testing.B) {
		n = 0
		opts := retryGoOptions(ctx)
		op := func() error { return withTimeout(ctx) }
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if err := retrygo.Do(op, opts...); !errors.Is(err, context.DeadlineExceeded) {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		expect(b, "attempts", n, want(b))
	})

	b.Run(libGoRetry, func(b *testing.B) {
		n = 0
		op := goRetryOp(func() error { return withTimeout(ctx) })
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if err := goretry.Do(ctx, goRetryBackoff(), op); !errors.Is(err, context.DeadlineExceeded) {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		expect(b, "attempts", n, want(b))
	})
}
