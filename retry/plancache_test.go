package retry_test

import (
	"context"
	"testing"
	"time"

	"github.com/aponysus/rego/budget"
	"github.com/aponysus/rego/circuit"
	"github.com/aponysus/rego/controlplane"
	"github.com/aponysus/rego/gate"
	"github.com/aponysus/rego/policy"
	"github.com/aponysus/rego/retry"
)

// reasonGate admits every attempt with a fixed reason.
type reasonGate string

func (g reasonGate) Admit(context.Context, gate.Attempt, time.Time) (gate.Permit, error) {
	return gate.Permit{Reason: string(g)}, nil
}

// The executor remembers each policy's gates; a budget or a user gate
// registered (again) after calls ran is the one the next call asks.
func TestGatesRegisteredLaterAreAsked(t *testing.T) {
	budgets, gates := budget.NewRegistry(), gate.NewRegistry()
	exec := retry.NewExecutor(retry.ExecutorOptions{
		Budgets: budgets,
		Gates:   gates,
		Provider: &controlplane.StaticProvider{Policies: map[policy.PolicyKey]policy.EffectivePolicy{key: {
			Retry: policy.RetryPolicy{MaxAttempts: 1, Budget: policy.BudgetRef{Name: "b"}},
			Gates: []policy.GateRef{{Name: "g"}},
		}}},
	})
	reasons := func() (string, string) {
		t.Helper()
		tl, err := exec.DoWithTimeline(context.Background(), key, func(context.Context) error { return nil })
		if err != nil || len(tl.Attempts) != 1 || len(tl.Attempts[0].Gates) != 2 {
			t.Fatalf("%v %+v", err, tl.Attempts)
		}
		return tl.Attempts[0].BudgetReason, tl.Attempts[0].Gates[1].Reason
	}
	for i := 0; i < 2; i++ {
		if b, g := reasons(); b != budget.ReasonBudgetMissing || g != retry.ReasonGateNotFound {
			t.Fatalf("before registering: %q %q", b, g)
		}
	}
	budgets.Register("b", budget.UnlimitedBudget{})
	gates.Register("g", reasonGate("first"))
	want, _ := reasons()
	if want == budget.ReasonBudgetMissing {
		t.Fatal("the budget registered later was not asked")
	}
	if _, g := reasons(); g != "first" {
		t.Fatalf("user gate reason %q", g)
	}
	gates.Register("g", reasonGate("second"))
	if _, g := reasons(); g != "second" {
		t.Fatalf("the gate registered again was not asked: %q", g)
	}
}

// Keys sharing one policy (the default) each get their own breaker.
func TestSharedPolicyBreakerPerKey(t *testing.T) {
	reg := circuit.NewRegistry()
	exec := retry.NewExecutor(retry.ExecutorOptions{
		Breakers: reg,
		Provider: &controlplane.StaticProvider{Default: policy.EffectivePolicy{
			Retry:   policy.RetryPolicy{MaxAttempts: 1},
			Circuit: policy.CircuitPolicy{Enabled: true, FailureThreshold: 1, Cooldown: time.Hour},
		}},
	})
	a, b := policy.ParseKey("svc.A"), policy.ParseKey("svc.B")
	for i := 0; i < 3; i++ {
		_ = exec.Do(context.Background(), a, func(context.Context) error { return nil })
		_ = exec.Do(context.Background(), b, func(context.Context) error { return errA })
	}
	if err := exec.Do(context.Background(), a, func(context.Context) error { return nil }); err != nil {
		t.Fatalf("key A's breaker opened with key B's failures: %v", err)
	}
	if s := reg.For(b).State(time.Now(), policy.CircuitPolicy{Enabled: true, FailureThreshold: 1, Cooldown: time.Hour}); s != circuit.Open {
		t.Fatalf("key B's breaker is %v", s)
	}
}
