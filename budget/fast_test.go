package budget_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/aponysus/rego/budget"
	"github.com/aponysus/rego/gate"
	"github.com/aponysus/rego/internal/fastgate"
	"github.com/aponysus/rego/policy"
	"github.com/aponysus/rego/regotest"
)

// firstAttempt is a call's first attempt under a policy naming budget
// "b".
func firstAttempt() gate.Attempt {
	return gate.Attempt{Key: policy.ParseKey("svc.Op"), Policy: &policy.EffectivePolicy{Retry: policy.RetryPolicy{Budget: policy.BudgetRef{Name: "b"}}}}
}

// registered returns the gate of b, registered as "b".
func registered(t *testing.T, b budget.Budget) gate.Gate {
	reg := budget.NewRegistry()
	reg.Register("b", b)
	g, ok := reg.Gate("b")
	if !ok {
		t.Fatal("no gate")
	}
	return g
}

// The executor's first-attempt path counts a ratio budget's first
// attempts exactly as the budget's gate does, at the time given (the
// budget's clock's when zero), stale and early times included, and gives
// the same reason.
func TestFirstAttemptPathCountsAsAdmit(t *testing.T) {
	clk := regotest.NewClock(timedStart)
	newRatio := func() *budget.RatioBudget {
		r, err := budget.NewRatioBudget(budget.RatioOptions{Clock: clk, Window: 10 * time.Second, Buckets: 10})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	viaGate, viaPath := newRatio(), newRatio()
	g := registered(t, viaGate)
	f := fastgate.BudgetOf(registered(t, viaPath))
	if f == nil {
		t.Fatal("fastgate.BudgetOf(ratio budget gate) = nil")
	}
	if reason, ok := f.Free(); ok {
		t.Errorf("the ratio budget's first attempts are free (%q): they are counted", reason)
	}
	ctx := context.Background()
	offsets := []time.Duration{0, 300 * time.Millisecond, 999 * time.Millisecond, time.Second, 3500 * time.Millisecond,
		-time.Hour, 2 * time.Second, 25 * time.Second, 12 * time.Second, 25*time.Second + time.Nanosecond, 40 * time.Second}
	var clockAt time.Duration
	for i, off := range offsets {
		now := timedStart.Add(off)
		if i%3 == 2 && off >= clockAt {
			clk.Advance(off - clockAt) // the zero time: the budget reads its clock
			clockAt, now = off, time.Time{}
		}
		p, err := g.Admit(ctx, firstAttempt(), now)
		reason, ok := f.AdmitFirst(now)
		if err != nil || !ok || reason != p.Reason || p.Completer != nil {
			t.Fatalf("offset %v: gate %+v, %v; first-attempt path %q, %v", off, p, err, reason, ok)
		}
		for _, at := range []time.Duration{off, off + 5*time.Second, off + 9*time.Second, off + 10*time.Second, 30 * time.Second} {
			req1, ret1 := viaGate.StatsAt(timedStart.Add(at))
			req2, ret2 := viaPath.StatsAt(timedStart.Add(at))
			if req1 != req2 || ret1 != ret2 {
				t.Fatalf("after offset %v, at %v: gate counted %d/%d, first-attempt path %d/%d", off, at, req1, ret1, req2, ret2)
			}
		}
	}
}

// The token bucket's first attempts are free either way.
func TestFirstAttemptPathTokenBucket(t *testing.T) {
	b := budget.NewTokenBucketBudgetClock(2, 0, regotest.NewClock(timedStart))
	f := fastgate.BudgetOf(registered(t, b))
	if f == nil {
		t.Fatal("fastgate.BudgetOf(token bucket gate) = nil")
	}
	p, err := registered(t, b).Admit(context.Background(), firstAttempt(), timedStart)
	for i := 0; i < 5; i++ {
		if reason, ok := f.AdmitFirst(timedStart); err != nil || !ok || reason != p.Reason {
			t.Fatalf("gate %+v, %v; first-attempt path %q, %v", p, err, reason, ok)
		}
	}
	if n := b.TokensAt(timedStart); n != 2 {
		t.Errorf("first attempts took tokens: %d left of 2", n)
	}
	if reason, ok := f.Free(); !ok || reason != p.Reason {
		t.Errorf("Free() = %q, %v; the gate's first attempts: %q", reason, ok, p.Reason)
	}
}

// Budgets whose first attempts may be refused, carry a Release or record
// outcomes have no first-attempt path: the executor asks their gate.
func TestFirstAttemptPathOnlyForFreeFirstAttempts(t *testing.T) {
	th, err := budget.NewThrottle(budget.ThrottleOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range []budget.Budget{th, budget.UnlimitedBudget{}, allowAll{}} {
		if f := fastgate.BudgetOf(registered(t, b)); f != nil {
			t.Errorf("fastgate.BudgetOf(%T) = %v", b, f)
		}
	}
	if f := fastgate.BudgetOf(gate.Func(func(context.Context, gate.Attempt, time.Time) (gate.Permit, error) {
		return gate.Permit{}, nil
	})); f != nil {
		t.Errorf("fastgate.BudgetOf(gate.Func) = %v", f)
	}
}

// allowAll is a user's budget.
type allowAll struct{}

func (allowAll) AllowAttempt(context.Context, policy.PolicyKey, int, budget.AttemptKind, policy.BudgetRef) budget.Decision {
	return budget.Decision{Allowed: true, Reason: "mine"}
}

// A registry answers lookups with the same name string from memory; a
// budget registered again under the name is found at once, and names
// that were never registered, or share a slot, are still told apart.
func TestRegistryLookupAfterRegisteringAgain(t *testing.T) {
	reg := budget.NewRegistry()
	name := "retries"
	first, second := budget.NewTokenBucketBudget(1, 1), budget.NewTokenBucketBudget(2, 2)
	reg.Register(name, first)
	for i := 0; i < 3; i++ {
		if b, ok := reg.Get(name); !ok || b != budget.Budget(first) {
			t.Fatalf("lookup %d: %v, %v", i, b, ok)
		}
	}
	g1, _ := reg.Gate(name)
	reg.Register(name, second)
	if b, ok := reg.Get(name); !ok || b != budget.Budget(second) {
		t.Fatalf("after registering again: %v, %v", b, ok)
	}
	if g2, _ := reg.Gate(name); g2 == g1 {
		t.Fatal("the gate of the budget registered first is still returned")
	}
	var names []string
	for i := 0; i < 40; i++ {
		names = append(names, fmt.Sprintf("budget-%d", i))
	}
	for i, n := range names {
		if i%2 == 0 {
			reg.Register(n, budget.NewTokenBucketBudget(i+1, 1))
		}
	}
	for round := 0; round < 3; round++ {
		for i, n := range names {
			b, ok := reg.Get(n)
			if ok != (i%2 == 0) || ok && b.(*budget.TokenBucketBudget).TokensAt(timedStart) != i+1 {
				t.Fatalf("round %d: %s: %v, %v", round, n, b, ok)
			}
		}
	}
}
