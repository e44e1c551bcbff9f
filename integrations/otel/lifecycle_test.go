package regootel_test

import (
	"context"
	"errors"
	"testing"

	"github.com/aponysus/rego/budget"
	regootel "github.com/aponysus/rego/integrations/otel"
	"github.com/aponysus/rego/observe"
	"github.com/aponysus/rego/policy"
	"github.com/aponysus/rego/retry"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// gauge returns the gauge's value at the point whose attributes include
// every one of want, and whether there is one.
func gauge(t *testing.T, m metricdata.Metrics, want ...attribute.KeyValue) (int64, bool) {
	t.Helper()
	g, ok := m.Data.(metricdata.Gauge[int64])
	if !ok {
		t.Fatalf("%s: data %T", m.Name, m.Data)
	}
	for _, dp := range g.DataPoints {
		if hasAll(dp.Attributes, want) {
			return dp.Value, true
		}
	}
	return 0, false
}

func TestLifecycleEvents(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	key := policy.ParseKey("ledger.Post")
	k := regootel.AttrKey.String("ledger.Post")

	h.obs.OnEvent(ctx, observe.Event{Kind: observe.EventBreakerState, Key: key, From: "closed", To: "open"})
	if v, ok := gauge(t, h.metrics(t)["rego.breaker.state"], k); !ok || v != regootel.BreakerOpen {
		t.Errorf("breaker state = %d %v, want open", v, ok)
	}
	h.obs.OnEvent(ctx, observe.Event{Kind: observe.EventBreakerState, Key: key, From: "open", To: "half_open"})
	if v, _ := gauge(t, h.metrics(t)["rego.breaker.state"], k); v != regootel.BreakerHalfOpen {
		t.Errorf("breaker state = %d, want half-open", v)
	}

	h.obs.OnEvent(ctx, observe.Event{Kind: observe.EventPolicyReload, Version: "v1"})
	h.obs.OnEvent(ctx, observe.Event{Kind: observe.EventPolicyReloadFailed, Err: errors.New("bad document")})
	h.obs.OnEvent(ctx, observe.Event{Kind: observe.EventBudgetExhausted, Key: key})
	h.obs.OnEvent(ctx, observe.Event{Kind: observe.EventKeyOverflow, Detail: "circuit"})
	h.obs.OnEvent(ctx, observe.Event{Kind: observe.EventKeyOverflow, Detail: "circuit"})
	ms := h.metrics(t)
	if v, ok := gauge(t, ms["rego.policy.info"], regootel.AttrPolicyVersion.String("v1")); !ok || v != 1 {
		t.Errorf("policy info = %d %v", v, ok)
	}
	if n := sum(t, ms["rego.policy.reload_failures"]); n != 1 {
		t.Errorf("reload failures = %d", n)
	}
	if n := sum(t, ms["rego.budget.exhausted"], k); n != 1 {
		t.Errorf("budget exhausted = %d", n)
	}
	if n := sum(t, ms["rego.key.overflow"], regootel.AttrRegistry.String("circuit")); n != 2 {
		t.Errorf("key overflow = %d", n)
	}
}

// versionedProvider serves the default policy, naming an unregistered
// budget, under a version the test changes.
type versionedProvider struct{ version string }

func (p *versionedProvider) GetEffectivePolicy(_ context.Context, key policy.PolicyKey) (policy.EffectivePolicy, error) {
	pol := policy.DefaultPolicyFor(key)
	pol.Meta.Source, pol.Meta.Version = policy.SourceRemote, p.version
	pol.Retry.Budget.Name = "missing"
	return pol, nil
}

func TestPolicyVersionAndBudgetNotFoundFromCalls(t *testing.T) {
	h := newHarness(t)
	prov := &versionedProvider{version: "2026-01-01"}
	exec := retry.NewExecutor(retry.ExecutorOptions{Provider: prov, Observer: h.obs, Budgets: budget.NewRegistry()})
	key := policy.ParseKey("svc.Get")
	ok := func(context.Context) error { return nil }
	_ = exec.Do(context.Background(), key, ok)
	prov.version = "2026-02-01"
	_ = exec.Do(context.Background(), key, ok)
	ms := h.metrics(t)
	info := ms["rego.policy.info"].Data.(metricdata.Gauge[int64])
	if len(info.DataPoints) != 1 {
		t.Fatalf("policy info has %d points, want 1 (the version in force)", len(info.DataPoints))
	}
	if v, ok := gauge(t, ms["rego.policy.info"], regootel.AttrPolicyVersion.String("2026-02-01")); !ok || v != 1 {
		t.Errorf("policy info = %d %v", v, ok)
	}
	if n := sum(t, ms["rego.budget.not_found"], regootel.AttrKey.String("svc.Get")); n != 2 {
		t.Errorf("budget not found = %d, want 2", n)
	}
}
