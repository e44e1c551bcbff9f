package regoprom

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aponysus/rego/budget"
	"github.com/aponysus/rego/observe"
	"github.com/aponysus/rego/policy"
	"github.com/aponysus/rego/retry"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// versionedProvider serves the default policy under a version that the
// test changes.
type versionedProvider struct{ version string }

func (p *versionedProvider) GetEffectivePolicy(_ context.Context, key policy.PolicyKey) (policy.EffectivePolicy, error) {
	pol := policy.DefaultPolicyFor(key)
	pol.Meta.Source, pol.Meta.Version = policy.SourceRemote, p.version
	pol.Retry.Budget.Name = "missing"
	return pol, nil
}

func TestLifecycleEvents(t *testing.T) {
	o, reg := newTestObserver(t, Options{})
	ctx := context.Background()
	key := policy.ParseKey("ledger.Post")
	o.OnEvent(ctx, observe.Event{Kind: observe.EventBreakerState, Key: key, From: "closed", To: "open"})
	check(t, "breaker open", o.life.breakerState.WithLabelValues("ledger.Post"), BreakerOpen)
	o.OnEvent(ctx, observe.Event{Kind: observe.EventBreakerState, Key: key, From: "open", To: "half_open"})
	check(t, "breaker half-open", o.life.breakerState.WithLabelValues("ledger.Post"), BreakerHalfOpen)
	o.OnEvent(ctx, observe.Event{Kind: observe.EventBreakerState, Key: key, From: "half_open", To: "closed"})
	check(t, "breaker closed", o.life.breakerState.WithLabelValues("ledger.Post"), BreakerClosed)

	o.OnEvent(ctx, observe.Event{Kind: observe.EventPolicyReload, Version: "v1"})
	o.OnEvent(ctx, observe.Event{Kind: observe.EventPolicyReloadFailed, Err: errors.New("bad document")})
	o.OnEvent(ctx, observe.Event{Kind: observe.EventPolicyReloadFailed, Err: errors.New("bad document")})
	o.OnEvent(ctx, observe.Event{Kind: observe.EventBudgetExhausted, Key: key, Detail: "retries"})
	o.OnEvent(ctx, observe.Event{Kind: observe.EventKeyOverflow, Detail: "circuit"})
	check(t, "reload failures", o.life.reloadFailures, 2)
	check(t, "budget exhausted", o.life.budgetExhausted.WithLabelValues("ledger.Post"), 1)
	check(t, "key overflow", o.life.keyOverflow.WithLabelValues("circuit"), 1)

	want := `
# HELP rego_policy_info The version of the policy document in force: one series, value 1.
# TYPE rego_policy_info gauge
rego_policy_info{version="v1"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "rego_policy_info"); err != nil {
		t.Fatal(err)
	}
}

// The version in force also comes from the timelines, so it shows even
// with a provider that emits no reload events; a new version replaces the
// old series.
func TestPolicyVersionAndBudgetNotFoundFromCalls(t *testing.T) {
	o, reg := newTestObserver(t, Options{})
	prov := &versionedProvider{version: "2026-01-01"}
	exec := retry.NewExecutor(retry.ExecutorOptions{Provider: prov, Observer: o, Budgets: budget.NewRegistry()})
	ok := func(context.Context) error { return nil }
	key := policy.ParseKey("svc.Get")
	_ = exec.Do(context.Background(), key, ok)
	prov.version = "2026-02-01"
	_ = exec.Do(context.Background(), key, ok)
	want := `
# HELP rego_budget_not_found_total Attempts whose policy names a budget the executor's registry lacks (allowed, ungated).
# TYPE rego_budget_not_found_total counter
rego_budget_not_found_total{key="svc.Get"} 2
# HELP rego_policy_info The version of the policy document in force: one series, value 1.
# TYPE rego_policy_info gauge
rego_policy_info{version="2026-02-01"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "rego_policy_info", "rego_budget_not_found_total"); err != nil {
		t.Fatal(err)
	}
}

func TestPolicyVersionSteadyStateDoesNotAllocate(t *testing.T) {
	o, _ := newTestObserver(t, Options{})
	o.life.setVersion("v1")
	if n := testing.AllocsPerRun(100, func() { o.life.setVersion("v1") }); n != 0 {
		t.Fatalf("%v allocs", n)
	}
}

func TestBudgetLevels(t *testing.T) {
	budgets := budget.NewRegistry()
	tb := budget.NewTokenBucketBudget(5, 0)
	budgets.Register("retries", tb)
	thr, err := budget.NewThrottle(budget.ThrottleOptions{})
	if err != nil {
		t.Fatal(err)
	}
	budgets.Register("adaptive", thr)
	_, reg := newTestObserver(t, Options{Budgets: budgets, BudgetNames: []string{"retries", "adaptive", "unregistered"}})
	tb.TakeAt(time.Now(), 2)
	want := `
# HELP rego_budget_available Attempt units a budget allows now: tokens left (token bucket) or retry units left in the window (ratio).
# TYPE rego_budget_available gauge
rego_budget_available{budget="retries",type="token_bucket"} 3
# HELP rego_budget_reject_probability A throttle's probability of refusing an attempt now.
# TYPE rego_budget_reject_probability gauge
rego_budget_reject_probability{budget="adaptive"} 0
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "rego_budget_available", "rego_budget_reject_probability"); err != nil {
		t.Fatal(err)
	}
}

func TestBudgetNamesNeedARegistry(t *testing.T) {
	for _, opts := range []Options{{BudgetNames: []string{"retries"}}, {Budgets: budget.NewRegistry(), BudgetNames: []string{""}}} {
		opts.Registerer = prometheus.NewRegistry()
		if _, err := NewObserver(opts); err == nil || !strings.Contains(err.Error(), "Options.BudgetNames") {
			t.Errorf("%+v: err = %v", opts, err)
		}
	}
}
