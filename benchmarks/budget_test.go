package benchmarks

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/aponysus/rego/budget"
	"github.com/aponysus/rego/policy"
	"github.com/aponysus/rego/regotest"
	"github.com/aponysus/rego/retry"
	"github.com/failsafe-go/failsafe-go"
	fsbudget "github.com/failsafe-go/failsafe-go/budget"
	"github.com/failsafe-go/failsafe-go/retrypolicy"
)

// BenchmarkBudgetParallel runs calls from GOMAXPROCS goroutines that all
// share one retry budget. Every call fails once and succeeds on its retry,
// so every call asks the budget once for a retry. The budgets are sized so
// that they never deny (a denial would end a call early and make it
// cheaper); the benchmark fails if one does.
//
// rego's TokenBucketBudget is one compare-and-swap per retry;
// failsafe-go's budget counts in-flight executions and retries with
// atomic adds. backoff-v5, retry-go and go-retry have no budget and are
// left out.
func BenchmarkBudgetParallel(b *testing.B) {
	const fails = 1

	// run makes, in every goroutine, a call over that goroutine's script
	// and drives it; then it checks the work done.
	run := func(b *testing.B, newCall func(s *script) func() error) {
		var calls, attemptsMade atomic.Int64
		b.ReportAllocs()
		b.ResetTimer()
		m := startCPU()
		b.RunParallel(func(pb *testing.PB) {
			s := &script{fails: fails}
			call := newCall(s)
			var n int64
			for pb.Next() {
				s.reset()
				if err := call(); err != nil {
					b.Error(err)
					return
				}
				n++
			}
			calls.Add(n)
			attemptsMade.Add(s.attempts)
		})
		m.report(b)
		b.StopTimer()
		expect(b, "attempts", attemptsMade.Load(), 2*calls.Load())
	}

	b.Run(libRego, func(b *testing.B) {
		reg := budget.NewRegistry()
		// A billion tokens, refilled at a billion a second: far more than
		// a machine can spend, so it only ever allows. The bucket must
		// also hold a long span of time (here 1s): the budget reads the
		// clock before its compare-and-swap, and a goroutine preempted in
		// between presents a stale time, which a bucket holding only
		// milliseconds would deny.
		reg.Register("retries", budget.NewTokenBucketBudget(1e9, 1e9))
		exec := newRego(policy.RetryPolicy{MaxAttempts: attempts, Budget: policy.BudgetRef{Name: "retries"}},
			retry.ExecutorOptions{Budgets: reg, Clock: regotest.InstantClock{}})
		ctx := context.Background()
		run(b, func(s *script) func() error {
			op := func(context.Context) error { return s.call() }
			return func() error { return exec.Do(ctx, benchKey, op) }
		})
	})

	b.Run(libFailsafe, func(b *testing.B) {
		// At most every in-flight execution may be a retry, and at least
		// 65536 retries may run at once: it only ever allows.
		bud := fsbudget.NewBuilder().WithMaxRate(1).WithMinConcurrency(1 << 16).Build()
		exec := failsafe.With[any](retrypolicy.NewBuilder[any]().WithMaxAttempts(attempts).WithBudget(bud).Build())
		run(b, func(s *script) func() error {
			op := s.call
			return func() error { return exec.Run(op) }
		})
	})
}
