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

// budgets are the two budgets the benchmarks below compare.
func budgets(b *testing.B) []struct {
	name string
	b    budget.Budget
} {
	return []struct {
		name string
		b    budget.Budget
	}{{"TokenBucket", budget.NewTokenBucketBudget(100, 10)}, {"Ratio", benchRatio(b)}}
}

// BenchmarkTimelineWithBudget: a recorded call, whose start reading the
// ratio budget can share.
func BenchmarkTimelineWithBudget(b *testing.B) {
	for _, bb := range budgets(b) {
		exec := budgetBenchExec(bb.b)
		b.Run(bb.name, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if _, err := exec.DoWithTimeline(context.Background(), benchKey, succeed); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkParallelBudget: every goroutine's first attempts through one
// shared budget.
func BenchmarkParallelBudget(b *testing.B) {
	for _, bb := range budgets(b) {
		exec := budgetBenchExec(bb.b)
		b.Run(bb.name, func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				var err error
				for pb.Next() && err == nil {
					err = exec.Do(context.Background(), benchKey, succeed)
				}
				if err != nil {
					b.Error(err)
				}
			})
		})
	}
}
