package inspect_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aponysus/rego/budget"
	"github.com/aponysus/rego/circuit"
	"github.com/aponysus/rego/controlplane"
	"github.com/aponysus/rego/inspect"
	"github.com/aponysus/rego/observe"
	"github.com/aponysus/rego/policy"
	"github.com/aponysus/rego/regotest"
	"github.com/aponysus/rego/retry"
)

var errUnavailable = errors.New("503 service unavailable")

var (
	keyCharge = policy.ParseKey("payments.Charge")
	keyPost   = policy.ParseKey("ledger.Post")
	keyGet    = policy.ParseKey("inventory.Get")
)

// fixture is an executor with an Inspector and every reference the
// Inspector takes, after a few calls: payments.Charge exhausts its retry
// budget, ledger.Post opens its breaker, inventory.Get succeeds after a
// retry.
type fixture struct {
	insp *inspect.Inspector
	exec *retry.Executor
}

func newFixture(t *testing.T) fixture {
	t.Helper()
	clk := regotest.NewAutoClock(time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC))
	budgets := budget.NewRegistry()
	budgets.Register("retries", budget.NewTokenBucketBudgetClock(2, 0, clk))
	breakers := circuit.NewRegistry()
	provider := &controlplane.StaticProvider{Policies: map[policy.PolicyKey]policy.EffectivePolicy{
		keyCharge: {ID: "charge-v1", Retry: policy.RetryPolicy{MaxAttempts: 5, InitialBackoff: 10 * time.Millisecond,
			Budget: policy.BudgetRef{Name: "retries"}}},
		keyPost: {ID: "post-with-breaker", Retry: policy.RetryPolicy{MaxAttempts: 2, InitialBackoff: 5 * time.Millisecond},
			Circuit: policy.CircuitPolicy{Enabled: true, FailureThreshold: 3, Cooldown: time.Minute}},
		keyGet: {ID: "get-v2", Retry: policy.RetryPolicy{MaxAttempts: 3, InitialBackoff: 5 * time.Millisecond}},
	}}
	insp := inspect.New(inspect.Options{Provider: provider, Breakers: breakers, Budgets: budgets, Clock: clk})
	exec := retry.NewExecutor(retry.ExecutorOptions{
		Provider: provider, Budgets: budgets, Breakers: breakers, Clock: clk, Rand: regotest.NewRand(1),
		Observer: observe.MultiObserver{Observers: []observe.Observer{insp}},
	})
	ctx := context.Background()
	fail := func(context.Context) error { return errUnavailable }
	_ = exec.Do(ctx, keyCharge, fail)
	for i := 0; i < 3; i++ {
		_ = exec.Do(ctx, keyPost, fail)
	}
	n := 0
	if err := exec.Do(ctx, keyGet, func(context.Context) error {
		if n++; n == 1 {
			return errUnavailable
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return fixture{insp: insp, exec: exec}
}
