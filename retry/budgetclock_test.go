package retry_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/aponysus/rego/budget"
	"github.com/aponysus/rego/clock"
	"github.com/aponysus/rego/controlplane"
	"github.com/aponysus/rego/gate"
	"github.com/aponysus/rego/policy"
	"github.com/aponysus/rego/regotest"
	"github.com/aponysus/rego/retry"
)

// timedProbe is a budget.TimedBudget on clock clk that notes how it was
// asked.
type timedProbe struct {
	clk   clock.Clock
	mu    sync.Mutex
	at    []time.Time // AllowAttemptAt's readings, zero ones included
	plain int         // AllowAttempt calls
}

func (b *timedProbe) AllowAttempt(context.Context, policy.PolicyKey, int, budget.AttemptKind, policy.BudgetRef) budget.Decision {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.plain++
	return budget.Decision{Allowed: true, Reason: "plain"}
}

func (b *timedProbe) AllowAttemptAt(_ context.Context, _ policy.PolicyKey, _ int, _ budget.AttemptKind, _ policy.BudgetRef, now time.Time) budget.Decision {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.at = append(b.at, now)
	return budget.Decision{Allowed: true, Reason: "timed"}
}

func (b *timedProbe) Clock() clock.Clock { return b.clk }

// budgetClockExec is an executor on clk whose policy names budget b and,
// when withGate, a user gate (which makes the executor read the clock
// before admission).
func budgetClockExec(clk clock.Clock, b budget.Budget, withGate bool) *retry.Executor {
	reg := budget.NewRegistry()
	reg.Register("b", b)
	gates := gate.NewRegistry()
	gates.Register("g", gate.Func(func(context.Context, gate.Attempt, time.Time) (gate.Permit, error) {
		return gate.Permit{Reason: "ok"}, nil
	}))
	p := policy.EffectivePolicy{Retry: policy.RetryPolicy{MaxAttempts: 1, Budget: policy.BudgetRef{Name: "b"}}}
	if withGate {
		p.Gates = []policy.GateRef{{Name: "g"}}
	}
	return retry.NewExecutor(retry.ExecutorOptions{
		Clock: clk, Budgets: reg, Gates: gates,
		Provider: &controlplane.StaticProvider{Default: p},
	})
}

// A budget on the executor's clock decides at the executor's reading: the
// one a gate needed, or the recorded call's start.
func TestTimedBudgetGetsExecutorsReading(t *testing.T) {
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	clk := regotest.NewClock(start)
	for _, withGate := range []bool{false, true} {
		b := &timedProbe{clk: clk}
		exec := budgetClockExec(clk, b, withGate)
		tl, err := exec.DoWithTimeline(context.Background(), key, func(context.Context) error { return nil })
		if err != nil || len(b.at) != 1 || b.plain != 0 || !b.at[0].Equal(start) || !tl.Start.Equal(start) {
			t.Fatalf("gate %v: err %v, at %v, plain %d, start %v", withGate, err, b.at, b.plain, tl.Start)
		}
		if got := tl.Attempts[0].BudgetReason; got != "timed" {
			t.Fatalf("gate %v: BudgetReason %q", withGate, got)
		}
		// Not recorded, no gate reading the clock: nothing to pass.
		if err := exec.Do(context.Background(), key, func(context.Context) error { return nil }); err != nil {
			t.Fatal(err)
		}
		if !withGate && (len(b.at) != 1 || b.plain != 1) {
			t.Fatalf("unrecorded call: at %v, plain %d", b.at, b.plain)
		}
		if withGate && (len(b.at) != 2 || b.plain != 0 || !b.at[1].Equal(start)) {
			t.Fatalf("unrecorded call with a gate: at %v, plain %d", b.at, b.plain)
		}
	}
}

// A budget on a clock of its own is never fed the executor's readings.
func TestTimedBudgetOnOwnClockReadsItsOwn(t *testing.T) {
	execClk := regotest.NewClock(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	for _, own := range []clock.Clock{regotest.NewClock(time.Time{}), clock.Real{}} {
		for _, withGate := range []bool{false, true} {
			b := &timedProbe{clk: own}
			exec := budgetClockExec(execClk, b, withGate)
			if _, err := exec.DoWithTimeline(context.Background(), key, func(context.Context) error { return nil }); err != nil {
				t.Fatal(err)
			}
			if err := exec.Do(context.Background(), key, func(context.Context) error { return nil }); err != nil {
				t.Fatal(err)
			}
			if len(b.at) != 0 || b.plain != 2 {
				t.Fatalf("own clock %T, gate %v: at %v, plain %d", own, withGate, b.at, b.plain)
			}
		}
	}
}

// The built-in ratio budget on the executor's virtual clock counts a
// recorded call's first attempt at the executor's reading, the call's
// start, although its clock moved on before admission (here the provider
// takes an hour): a reading of its own would land in a later window.
func TestRatioBudgetUsesExecutorsReading(t *testing.T) {
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	clk := regotest.NewClock(start)
	r, err := budget.NewRatioBudget(budget.RatioOptions{Window: time.Second, Buckets: 1, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	reg := budget.NewRegistry()
	reg.Register("b", r)
	exec := retry.NewExecutor(retry.ExecutorOptions{
		Clock: clk, Budgets: reg,
		Provider: providerFunc(func(context.Context, policy.PolicyKey) (policy.EffectivePolicy, error) {
			clk.Advance(time.Hour)
			return policy.EffectivePolicy{Retry: policy.RetryPolicy{MaxAttempts: 1, Budget: policy.BudgetRef{Name: "b"}}}, nil
		}),
	})
	if _, err := exec.DoWithTimeline(context.Background(), key, func(context.Context) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if req, _ := r.StatsAt(start); req != 1 {
		t.Fatalf("requests at the call's start = %d, want 1", req)
	}
}

// Clocks that both tell the wall clock's time (clock.WallNow) are one
// clock to a budget: a budget on clock.Real is handed the readings of an
// executor on regotest.InstantClock, and the other way round.
func TestTimedBudgetOnWallClocksGetsExecutorsReading(t *testing.T) {
	pairs := []struct{ exec, own clock.Clock }{
		{regotest.InstantClock{}, clock.Real{}},
		{clock.Real{}, regotest.InstantClock{}},
		{regotest.InstantClock{}, regotest.InstantClock{}},
	}
	for _, p := range pairs {
		b := &timedProbe{clk: p.own}
		exec := budgetClockExec(p.exec, b, false)
		tl, err := exec.DoWithTimeline(context.Background(), key, func(context.Context) error { return nil })
		if err != nil || len(b.at) != 1 || b.plain != 0 || !b.at[0].Equal(tl.Start) {
			t.Fatalf("executor on %T, budget on %T: err %v, at %v, plain %d, start %v", p.exec, p.own, err, b.at, b.plain, tl.Start)
		}
	}
}
