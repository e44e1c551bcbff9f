package budget_test

import (
	"context"
	"fmt"
	"time"

	"github.com/aponysus/rego/budget"
	"github.com/aponysus/rego/policy"
	"github.com/aponysus/rego/regotest"
)

// Adaptive throttling rejects attempts locally once the backend accepts
// fewer than 1 in K of them; the executor reports RecordOutcome for every
// attempt it ran.
func ExampleThrottle() {
	clk := regotest.NewClock(time.Time{})
	th, err := budget.NewThrottle(budget.ThrottleOptions{
		K:     2,
		Clock: clk,
		Rand:  regotest.NewRand(1),
	})
	if err != nil {
		panic(err)
	}
	ctx, key, ref := context.Background(), policy.PolicyKey{Name: "get"}, policy.BudgetRef{Name: "adaptive"}

	// The backend rejects 80 of 100 requests.
	for i := 0; i < 100; i++ {
		th.RecordOutcome(key, budget.KindRetry, i%5 == 0)
	}
	fmt.Printf("p = (100 - 2*20) / 101 = %.3f\n", th.ProbabilityAt(clk.Now()))

	rejected := 0
	var last budget.Decision
	for i := 0; i < 1000; i++ {
		d := th.AllowAttempt(ctx, key, 0, budget.KindRetry, ref)
		if !d.Allowed {
			rejected++
			last = d
		}
	}
	fmt.Println("some rejected:", rejected > 0, "reason:", last.Reason)

	// The executor turns a rejection into a typed error.
	err = &budget.DeniedError{Budget: ref.Name, Kind: budget.KindRetry, Reason: last.Reason}
	fmt.Println(budget.IsThrottled(err))
	// Output:
	// p = (100 - 2*20) / 101 = 0.594
	// some rejected: true reason: throttled
	// true
}
