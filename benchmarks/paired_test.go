package benchmarks

import (
	"context"
	"sort"
	"testing"
	"time"

	"github.com/aponysus/rego/policy"
	"github.com/aponysus/rego/regotest"
	"github.com/aponysus/rego/retry"
	retrygo "github.com/avast/retry-go/v4"
)

// pairedBlock is how many calls a block of a paired benchmark times.
const pairedBlock = 200

// paired runs blocks of pairedBlock calls of base and of feat alternately
// (the order swapped every round) and reports the median, over the rounds,
// of feat's time per call (metric feat-ns/op), of base's (base-ns/op) and
// of their difference (extra-ns/op). Load from other work slows whole
// blocks, rarely one of a pair more than the other, so the medians of the
// pairs move far less than separate runs do. b.N counts rounds.
func paired(b *testing.B, base, feat func() error) {
	run := func(f func() error) time.Duration {
		t0 := time.Now()
		for i := 0; i < pairedBlock; i++ {
			if err := f(); err != nil {
				b.Fatal(err)
			}
		}
		return time.Since(t0)
	}
	var bs, fs, ds []float64
	for r := 0; r < b.N; r++ {
		var tb, tf time.Duration
		if r%2 == 0 {
			tb, tf = run(base), run(feat)
		} else {
			tf, tb = run(feat), run(base)
		}
		bs = append(bs, float64(tb)/pairedBlock)
		fs = append(fs, float64(tf)/pairedBlock)
		ds = append(ds, float64(tf-tb)/pairedBlock)
	}
	b.ReportMetric(median(bs), "base-ns/op")
	b.ReportMetric(median(fs), "feat-ns/op")
	b.ReportMetric(median(ds), "extra-ns/op")
}

func median(xs []float64) float64 {
	sort.Float64s(xs)
	return xs[len(xs)/2]
}

// BenchmarkPaired measures what each optional feature adds to a call
// against the same call without it, in alternating blocks (see paired):
// the built-in gates on a successful call, hedging against a hand-written
// hedge, an observer against retry-go's OnRetry on two failures then a
// success, the ratio budget against the token bucket.
func BenchmarkPaired(b *testing.B) {
	ctx := context.Background()
	reg := gateBudgets(b)
	breaker := closedBreaker
	call := func(p policy.EffectivePolicy) func() error {
		exec := gatedExec(p, reg)
		return func() error { return exec.Do(ctx, benchKey, succeedOp) }
	}
	budgetOf := func(name string) policy.RetryPolicy { return policy.RetryPolicy{Budget: policy.BudgetRef{Name: name}} }
	plain := call(policy.EffectivePolicy{})
	bucket := call(policy.EffectivePolicy{Retry: budgetOf("bucket")})

	b.Run("feature=breaker", func(b *testing.B) { paired(b, plain, call(policy.EffectivePolicy{Circuit: breaker})) })
	b.Run("feature=tokenbucket", func(b *testing.B) { paired(b, plain, bucket) })
	b.Run("feature=breaker-budget", func(b *testing.B) {
		paired(b, plain, call(policy.EffectivePolicy{Retry: budgetOf("bucket"), Circuit: breaker}))
	})
	b.Run("feature=ratio-vs-tokenbucket", func(b *testing.B) { paired(b, bucket, call(policy.EffectivePolicy{Retry: budgetOf("ratio")})) })

	b.Run("feature=hedge-vs-handwritten", func(b *testing.B) {
		exec := retry.NewExecutor(retry.ExecutorOptions{Provider: staticPolicy(policy.EffectivePolicy{
			Retry: policy.RetryPolicy{MaxAttempts: 1},
			Hedge: policy.HedgePolicy{Enabled: true, MaxHedges: 1, Delay: time.Hour},
		})})
		paired(b, func() error { return handHedge(ctx, succeedOp, time.Hour) },
			func() error { return exec.Do(ctx, benchKey, succeedOp) })
	})

	b.Run("feature=observer-vs-retry-go", func(b *testing.B) {
		obs := &attemptObserver{}
		exec := newRego(policy.RetryPolicy{MaxAttempts: attempts}, retry.ExecutorOptions{Clock: regotest.InstantClock{}, Observer: obs})
		s1, s2 := &script{fails: attempts - 1}, &script{fails: attempts - 1}
		op := func(context.Context) error { return s1.call() }
		var retries int64
		opts := retryGoOptions(ctx, retrygo.OnRetry(func(uint, error) { retries++ }))
		paired(b, func() error { s2.reset(); return retrygo.Do(s2.call, opts...) },
			func() error { s1.reset(); return exec.Do(ctx, benchKey, op) })
		expect(b, "attempts", s1.attempts, s2.attempts)
		expect(b, "events", obs.events, s1.attempts)
		expect(b, "retry-go callbacks", retries, 2*s2.attempts/3)
	})
}
