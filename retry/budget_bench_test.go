package retry_test

import (
	"context"
	"testing"

	"github.com/aponysus/rego/budget"
	"github.com/aponysus/rego/policy"
	"github.com/aponysus/rego/retry"
)

// budgetBenchExec is an executor whose policy names the budget b.
func budgetBenchExec(b budget.Budget) *retry.Executor {
	reg := budget.NewRegistry()
	reg.Register("retries", b)
	return withPolicy(policy.EffectivePolicy{Retry: policy.RetryPolicy{Budget: policy.BudgetRef{Name: "retries"}}},
		retry.ExecutorOptions{Budgets: reg})
}

func benchRatio(b *testing.B) *budget.RatioBudget {
	r, err := budget.NewRatioBudget(budget.RatioOptions{})
	if err != nil {
		b.Fatal(err)
	}
	return r
}

// BenchmarkSuccessWithRatio: the ratio budget counts every first attempt
// (a clock reading and an atomic add), where the token bucket does nothing.
func BenchmarkSuccessWithRatio(b *testing.B) {
	benchDo(b, budgetBenchExec(benchRatio(b)), succeed, nil)
}

// BenchmarkTimelineWithTokenBucket and BenchmarkTimelineWithRatio: a
// recorded call, whose start reading the ratio budget can share.
func BenchmarkTimelineWithTokenBucket(b *testing.B) {
	benchTimeline(b, budgetBenchExec(budget.NewTokenBucketBudget(100, 10)))
}

func BenchmarkTimelineWithRatio(b *testing.B) {
	benchTimeline(b, budgetBenchExec(benchRatio(b)))
}

func benchTimeline(b *testing.B, exec *retry.Executor) {
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := exec.DoWithTimeline(ctx, benchKey, succeed); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParallelTokenBucket and BenchmarkParallelRatio: every
// goroutine's first attempts through one shared budget.
func BenchmarkParallelTokenBucket(b *testing.B) {
	benchParallel(b, budgetBenchExec(budget.NewTokenBucketBudget(100, 10)))
}

func BenchmarkParallelRatio(b *testing.B) {
	benchParallel(b, budgetBenchExec(benchRatio(b)))
}

func benchParallel(b *testing.B, exec *retry.Executor) {
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := exec.Do(ctx, benchKey, succeed); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
