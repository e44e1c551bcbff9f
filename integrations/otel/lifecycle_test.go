package regootel_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aponysus/rego/budget"
	regootel "github.com/aponysus/rego/integrations/otel"
	"github.com/aponysus/rego/observe"
	"github.com/aponysus/rego/policy"
	"github.com/aponysus/rego/retry"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
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

func TestBudgetLevels(t *testing.T) {
	budgets := budget.NewRegistry()
	tb := budget.NewTokenBucketBudget(5, 0)
	budgets.Register("retries", tb)
	thr, err := budget.NewThrottle(budget.ThrottleOptions{})
	if err != nil {
		t.Fatal(err)
	}
	budgets.Register("adaptive", thr)
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer mp.Shutdown(context.Background())
	if _, err := regootel.New(regootel.Options{MeterProvider: mp, DisableTraces: true,
		Budgets: budgets, BudgetNames: []string{"retries", "adaptive", "unregistered"}}); err != nil {
		t.Fatal(err)
	}
	tb.TakeAt(time.Now(), 2)
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	got := map[string]metricdata.Gauge[float64]{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if g, ok := m.Data.(metricdata.Gauge[float64]); ok {
				got[m.Name] = g
			}
		}
	}
	avail := got["rego.budget.available"]
	if len(avail.DataPoints) != 1 || avail.DataPoints[0].Value != 3 ||
		!hasAll(avail.DataPoints[0].Attributes, []attribute.KeyValue{regootel.AttrBudget.String("retries"), regootel.AttrBudgetType.String("token_bucket")}) {
		t.Errorf("budget.available: %+v", avail.DataPoints)
	}
	rej := got["rego.budget.reject_probability"]
	if len(rej.DataPoints) != 1 || rej.DataPoints[0].Value != 0 ||
		!hasAll(rej.DataPoints[0].Attributes, []attribute.KeyValue{regootel.AttrBudget.String("adaptive")}) {
		t.Errorf("budget.reject_probability: %+v", rej.DataPoints)
	}
}

func TestBudgetNamesNeedARegistry(t *testing.T) {
	for _, opts := range []regootel.Options{{BudgetNames: []string{"retries"}}, {Budgets: budget.NewRegistry(), BudgetNames: []string{""}}} {
		if _, err := regootel.New(opts); err == nil || !strings.Contains(err.Error(), "Options.BudgetNames") {
			t.Errorf("%+v: err = %v", opts, err)
		}
	}
}
