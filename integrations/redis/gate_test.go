package regoredis_test

import (
	"errors"
	"testing"
	"time"

	"github.com/aponysus/rego/budget"
	"github.com/aponysus/rego/gate"
	"github.com/aponysus/rego/policy"

	regoredis "github.com/aponysus/rego/integrations/redis"
)

// On the gate seam the budget reads the attempt's kind and its section's
// cost, and refuses with an error that is both a gate refusal and a budget
// denial.
func TestBudgetAsGate(t *testing.T) {
	srv := startRedis(t)
	b := newBudget(t, srv, regoredis.BudgetOptions{Ratio: budget.RatioOptions{Ratio: 0.5, MinRetriesPerSecond: -1, Window: time.Hour}})
	reg := gate.NewRegistry()
	reg.Register("fleet", b)
	g, _ := reg.Get("fleet")
	p := policy.DefaultPolicyFor(policy.PolicyKey{})
	p.Hedge.Budget.Cost = 4
	now := time.Now()
	for i := 0; i < 10; i++ {
		if pm, err := g.Admit(ctx, gate.Attempt{Policy: &p}, now); err != nil || pm.Reason != budget.ReasonFirstAttempt {
			t.Fatalf("first attempt: %+v %v", pm, err)
		}
	}
	// 5 units: a hedge costs 4, then a retry 1, then nothing is left.
	if pm, err := g.Admit(ctx, gate.Attempt{Policy: &p, Kind: gate.KindHedge, Launched: 1, Index: 1}, now); err != nil || pm.Reason != budget.ReasonWithinRatio {
		t.Fatalf("hedge: %+v %v", pm, err)
	}
	if _, err := g.Admit(ctx, gate.Attempt{Policy: &p, Launched: 1, Index: 1}, now); err != nil {
		t.Fatalf("retry: %v", err)
	}
	pm, err := g.Admit(ctx, gate.Attempt{Policy: &p, Launched: 2, Index: 2}, now)
	var re *gate.RefusedError
	var de *budget.DeniedError
	if !errors.As(err, &re) || !errors.Is(err, gate.ErrRefused) || !errors.Is(err, budget.ErrDenied) || !errors.As(err, &de) {
		t.Fatalf("refusal: %v", err)
	}
	if re.Gate != regoredis.GateBudget || re.Reason != budget.ReasonRatioExceeded || pm.Reason != re.Reason || de.Budget != "shared" {
		t.Fatalf("refusal: %+v %+v %+v", re, de, pm)
	}
	pm.Done(gate.Result{}) // permits need no completion; Done is harmless
}
