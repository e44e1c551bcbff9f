package benchmarks

import (
	"context"
	"sort"
	"testing"
	"time"

	"github.com/aponysus/rego/observe"
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
// hedge, an observer (every hook, or OnAttempt alone) and a timeline
// against retry-go's OnRetry on two failures then a success, the ratio budget against the token bucket.
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

	// Two failures then a success with per-attempt callbacks: rego's
	// observer (every hook, or OnAttempt alone) or timeline against
	// retry-go's OnRetry.
	s2 := &script{fails: attempts - 1}
	var retries int64
	opts := retryGoOptions(ctx, retrygo.OnRetry(func(uint, error) { retries++ }))
	retryGo := func() error { s2.reset(); return retrygo.Do(s2.call, opts...) }
	events := func(name string, obs observe.Observer, count *int64, timeline bool) {
		b.Run(name, func(b *testing.B) {
			exec := newRego(policy.RetryPolicy{MaxAttempts: attempts}, retry.ExecutorOptions{Clock: regotest.InstantClock{}, Observer: obs})
			s1 := &script{fails: attempts - 1}
			op := func(context.Context) error { return s1.call() }
			feat := func() error { s1.reset(); return exec.Do(ctx, benchKey, op) }
			if timeline {
				feat = func() error {
					s1.reset()
					tl, err := exec.DoWithTimeline(ctx, benchKey, op)
					*count += int64(len(tl.Attempts))
					return err
				}
			}
			*count, s2.attempts, retries = 0, 0, 0
			paired(b, retryGo, feat)
			expect(b, "attempts", s1.attempts, s2.attempts)
			expect(b, "events", *count, s1.attempts)
			expect(b, "retry-go callbacks", retries, 2*s2.attempts/3)
		})
	}
	obs, sel := &attemptObserver{}, &onAttemptObserver{}
	var records int64
	events("feature=observer-vs-retry-go", obs, &obs.events, false)
	events("feature=onattempt-vs-retry-go", sel, &sel.events, false)
	events("feature=timeline-vs-retry-go", nil, &records, true)
}
