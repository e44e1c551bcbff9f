package budget_test

import (
	"context"
	"fmt"
	"time"

	"github.com/aponysus/rego/budget"
	"github.com/aponysus/rego/policy"
	"github.com/aponysus/rego/regotest"
)

// A ratio budget lets retries through while they stay under 10% of recent
// first attempts; first attempts always pass.
func ExampleRatioBudget() {
	clk := regotest.NewClock(time.Time{})
	b, err := budget.NewRatioBudget(budget.RatioOptions{
		Ratio:               0.1,
		MinRetriesPerSecond: -1, // no floor, to show the ratio alone
		Clock:               clk,
	})
	if err != nil {
		panic(err)
	}
	ctx, key, ref := context.Background(), policy.PolicyKey{Name: "get"}, policy.BudgetRef{Name: "ratio"}
	for i := 0; i < 30; i++ {
		b.AllowAttempt(ctx, key, 0, budget.KindRetry, ref) // 30 first attempts
	}
	for i := 1; i <= 4; i++ {
		d := b.AllowAttempt(ctx, key, 1, budget.KindRetry, ref)
		fmt.Println("retry", i, d.Allowed, d.Reason)
	}
	clk.Advance(10 * time.Second) // the window slides past them all
	req, ret := b.StatsAt(clk.Now())
	fmt.Println("after 10s:", req, "requests,", ret, "retries")
	// Output:
	// retry 1 true within_ratio
	// retry 2 true within_ratio
	// retry 3 true within_ratio
	// retry 4 false ratio_exceeded
	// after 10s: 0 requests, 0 retries
}

// The time-as-parameter methods make the budget a pure state machine.
func ExampleRatioBudget_TakeRetryAt() {
	start := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	b, _ := budget.NewRatioBudget(budget.RatioOptions{Clock: regotest.NewClock(start)}) // 10%, 10/s floor, 10s
	for i := 0; i < 2000; i++ {
		b.RecordRequestAt(start)
	}
	fmt.Println("limit:", b.LimitAt(start))
	n := 0
	for b.TakeRetryAt(start.Add(time.Second), 1) {
		n++
	}
	fmt.Println("retries allowed:", n)
	// Output:
	// limit: 200
	// retries allowed: 200
}
