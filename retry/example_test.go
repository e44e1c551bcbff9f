package retry_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aponysus/rego/budget"
	"github.com/aponysus/rego/controlplane"
	"github.com/aponysus/rego/policy"
	"github.com/aponysus/rego/regotest"
	"github.com/aponysus/rego/retry"
)

func ExampleExecutor_DoWithTimeline() {
	key := policy.ParseKey("inventory.Reserve")
	exec := retry.NewExecutor(retry.ExecutorOptions{
		Provider: &controlplane.StaticProvider{Policies: map[policy.PolicyKey]policy.EffectivePolicy{
			key: {Retry: policy.RetryPolicy{MaxAttempts: 4, InitialBackoff: 100 * time.Millisecond, Jitter: policy.JitterNone}},
		}},
		Clock: regotest.NewAutoClock(time.Time{}), // waits cost no real time
	})
	calls := 0
	tl, err := exec.DoWithTimeline(context.Background(), key, func(ctx context.Context) error {
		calls++
		if calls < 3 {
			return errors.New("unavailable")
		}
		return nil
	})
	fmt.Println("err:", err)
	for _, a := range tl.Attempts {
		fmt.Printf("attempt %d after %v: %s\n", a.Attempt, a.Backoff, a.Outcome.Kind)
	}
	// Output:
	// err: <nil>
	// attempt 0 after 0s: retryable
	// attempt 1 after 100ms: retryable
	// attempt 2 after 200ms: success
}

func ExampleExecutorOptions_budgets() {
	key := policy.ParseKey("payments.Charge")
	budgets := budget.NewRegistry()
	budgets.Register("payments", budget.NewTokenBucketBudget(1, 0)) // one retry, ever
	exec := retry.NewExecutor(retry.ExecutorOptions{
		Budgets: budgets,
		Provider: &controlplane.StaticProvider{Policies: map[policy.PolicyKey]policy.EffectivePolicy{
			key: {Retry: policy.RetryPolicy{Budget: policy.BudgetRef{Name: "payments"}}},
		}},
		Clock: regotest.NewAutoClock(time.Time{}),
	})
	tl, err := exec.DoWithTimeline(context.Background(), key, func(ctx context.Context) error {
		return errors.New("503")
	})
	fmt.Println("err:", err, "| stop:", tl.Attributes["stop_reason"])
	fmt.Println("denied:", errors.Is(err, budget.ErrDenied), "| reason:", stopReason(err))
	for _, a := range tl.Attempts {
		fmt.Printf("attempt %d: allowed=%v (%s)\n", a.Attempt, a.BudgetAllowed, a.BudgetReason)
	}
	// Output:
	// err: 503 | stop: budget_denied
	// denied: true | reason: budget_denied
	// attempt 0: allowed=true (first_attempt)
	// attempt 1: allowed=true (tokens_available)
	// attempt 2: allowed=false (tokens_exhausted)
}

func ExampleDoValueWith() {
	exec := retry.NewExecutor(retry.ExecutorOptions{Clock: regotest.NewAutoClock(time.Time{})})
	n := 0
	v, _, err := retry.DoValueWith(context.Background(), exec, policy.ParseKey("files.Open"),
		func(ctx context.Context) (string, error) {
			n++
			if n == 1 {
				return "handle-1", errors.New("half-open")
			}
			return fmt.Sprint("handle-", n), nil
		},
		retry.CallOptions[string]{Discard: func(h string) { fmt.Println("closing", h) }})
	fmt.Println(v, err)
	// Output:
	// closing handle-1
	// handle-2 <nil>
}

// stopReason returns the reason of a *retry.StopError in err.
func stopReason(err error) string {
	var se *retry.StopError
	if errors.As(err, &se) {
		return se.Reason
	}
	return "none"
}
