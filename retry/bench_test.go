package retry_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aponysus/rego/budget"
	"github.com/aponysus/rego/clock"
	"github.com/aponysus/rego/controlplane"
	"github.com/aponysus/rego/observe"
	"github.com/aponysus/rego/policy"
	"github.com/aponysus/rego/regotest"
	"github.com/aponysus/rego/retry"
)

var (
	benchKey = policy.ParseKey("bench.Call")
	errBench = errors.New("bench: failure")
	sink     int
)

func BenchmarkSuccess(b *testing.B) {
	exec := retry.NewExecutor(retry.ExecutorOptions{})
	ctx := context.Background()
	op := func(context.Context) error { return nil }
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := exec.Do(ctx, benchKey, op); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSuccessValue(b *testing.B) {
	exec := retry.NewExecutor(retry.ExecutorOptions{})
	ctx := context.Background()
	op := func(context.Context) (int, error) { return 42, nil }
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		v, err := retry.DoValue(ctx, exec, benchKey, op)
		if err != nil {
			b.Fatal(err)
		}
		sink += v
	}
}

func BenchmarkSuccessParallel(b *testing.B) {
	exec := retry.NewExecutor(retry.ExecutorOptions{})
	op := func(context.Context) error { return nil }
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		ctx := context.Background()
		for pb.Next() {
			if err := exec.Do(ctx, benchKey, op); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func BenchmarkThreeFailures(b *testing.B) {
	exec := retry.NewExecutor(retry.ExecutorOptions{Clock: regotest.InstantClock{}})
	ctx := context.Background()
	op := func(context.Context) error { return errBench }
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := exec.Do(ctx, benchKey, op); err != errBench {
			b.Fatal(err)
		}
	}
}

func BenchmarkTimelineOneAttempt(b *testing.B) {
	exec := retry.NewExecutor(retry.ExecutorOptions{})
	ctx := context.Background()
	op := func(context.Context) error { return nil }
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		tl, err := exec.DoWithTimeline(ctx, benchKey, op)
		if err != nil || len(tl.Attempts) != 1 {
			b.Fatal(err)
		}
	}
}

func BenchmarkSuccessWithTokenBucket(b *testing.B) {
	reg := budget.NewRegistry()
	reg.Register("retries", budget.NewTokenBucketBudget(100, 10))
	exec := retry.NewExecutor(retry.ExecutorOptions{
		Budgets: reg,
		Provider: &controlplane.StaticProvider{Policies: map[policy.PolicyKey]policy.EffectivePolicy{
			benchKey: {Retry: policy.RetryPolicy{Budget: policy.BudgetRef{Name: "retries"}}},
		}},
	})
	ctx := context.Background()
	op := func(context.Context) error { return nil }
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := exec.Do(ctx, benchKey, op); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPolicyLookupStatic(b *testing.B) {
	p := &controlplane.StaticProvider{Policies: map[policy.PolicyKey]policy.EffectivePolicy{
		benchKey: {Retry: policy.RetryPolicy{MaxAttempts: 5}},
	}}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		pol, err := p.GetEffectivePolicy(ctx, benchKey)
		if err != nil {
			b.Fatal(err)
		}
		sink += pol.Retry.MaxAttempts
	}
}

func hedgedExec(clk clock.Clock) *retry.Executor {
	return retry.NewExecutor(retry.ExecutorOptions{
		Clock: clk,
		Provider: &controlplane.StaticProvider{Policies: map[policy.PolicyKey]policy.EffectivePolicy{
			benchKey: {Hedge: policy.HedgePolicy{Enabled: true, MaxHedges: 1, Delay: time.Hour}},
		}},
	})
}

// BenchmarkHedgedSuccessBeforeDelay: hedging on, the primary answers
// before the hedge delay (the common case). It measures the price of the
// concurrent mode against BenchmarkSuccess.
func BenchmarkHedgedSuccessBeforeDelay(b *testing.B) {
	exec := hedgedExec(clock.Real{})
	ctx := context.Background()
	op := func(context.Context) error { return nil }
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := exec.Do(ctx, benchKey, op); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkHedgeWins: the primary hangs until cancelled; the hedge,
// launched at once (the clock does not wait), wins.
func BenchmarkHedgeWins(b *testing.B) {
	exec := hedgedExec(regotest.InstantClock{})
	ctx := context.Background()
	op := func(ctx context.Context) error {
		if info, _ := observe.AttemptFromContext(ctx); !info.IsHedge {
			<-ctx.Done()
			return ctx.Err()
		}
		return nil
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := exec.Do(ctx, benchKey, op); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPolicyLookupStaticRef(b *testing.B) {
	p := &controlplane.StaticProvider{Policies: map[policy.PolicyKey]policy.EffectivePolicy{
		benchKey: {Retry: policy.RetryPolicy{MaxAttempts: 5}},
	}}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		pol, err := p.GetEffectivePolicyRef(ctx, benchKey)
		if err != nil {
			b.Fatal(err)
		}
		sink += pol.Retry.MaxAttempts
	}
}

type floorKey struct{}

// BenchmarkFloor is the performance budget's reference: a bare function
// call plus a map lookup and one context allocation. DESIGN.md puts the
// success path at no more than twice this.
func BenchmarkFloor(b *testing.B) {
	m := map[policy.PolicyKey]int{benchKey: 3}
	ctx := context.Background()
	op := func(ctx context.Context) error {
		if ctx.Value(floorKey{}) == nil {
			return errBench
		}
		return nil
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		sink += m[benchKey]
		if err := op(context.WithValue(ctx, floorKey{}, i)); err != nil {
			b.Fatal(err)
		}
	}
}
