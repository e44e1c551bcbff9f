package regootel_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aponysus/rego/budget"
	"github.com/aponysus/rego/controlplane"
	regootel "github.com/aponysus/rego/integrations/otel"
	"github.com/aponysus/rego/observe"
	"github.com/aponysus/rego/policy"
	"github.com/aponysus/rego/regotest"
	"github.com/aponysus/rego/retry"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// harness wires an observer to in-memory exporters.
type harness struct {
	spans  *tracetest.SpanRecorder
	tp     *sdktrace.TracerProvider
	reader *sdkmetric.ManualReader
	obs    *regootel.Observer
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	h := &harness{spans: tracetest.NewSpanRecorder(), reader: sdkmetric.NewManualReader()}
	h.tp = sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(h.spans))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(h.reader))
	t.Cleanup(func() {
		_ = h.tp.Shutdown(context.Background())
		_ = mp.Shutdown(context.Background())
	})
	obs, err := regootel.New(regootel.Options{TracerProvider: h.tp, MeterProvider: mp})
	if err != nil {
		t.Fatal(err)
	}
	h.obs = obs
	return h
}

func (h *harness) metrics(t *testing.T) map[string]metricdata.Metrics {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := h.reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	out := map[string]metricdata.Metrics{}
	for _, sm := range rm.ScopeMetrics {
		if sm.Scope.Name != regootel.ScopeName {
			t.Errorf("scope = %q", sm.Scope.Name)
		}
		for _, m := range sm.Metrics {
			out[m.Name] = m
		}
	}
	return out
}

// sum returns the counter's value at the point whose attributes include
// every one of want.
func sum(t *testing.T, m metricdata.Metrics, want ...attribute.KeyValue) int64 {
	t.Helper()
	s, ok := m.Data.(metricdata.Sum[int64])
	if !ok {
		t.Fatalf("%s: data %T", m.Name, m.Data)
	}
	var total int64
	for _, dp := range s.DataPoints {
		if hasAll(dp.Attributes, want) {
			total += dp.Value
		}
	}
	return total
}

func histCount(t *testing.T, m metricdata.Metrics, want ...attribute.KeyValue) (uint64, float64) {
	t.Helper()
	hd, ok := m.Data.(metricdata.Histogram[float64])
	if !ok {
		t.Fatalf("%s: data %T", m.Name, m.Data)
	}
	var n uint64
	var total float64
	for _, dp := range hd.DataPoints {
		if hasAll(dp.Attributes, want) {
			n += dp.Count
			total += dp.Sum
		}
	}
	return n, total
}

func hasAll(set attribute.Set, want []attribute.KeyValue) bool {
	for _, kv := range want {
		v, ok := set.Value(kv.Key)
		if !ok || v != kv.Value {
			return false
		}
	}
	return true
}

func attrs(kvs []attribute.KeyValue) map[attribute.Key]attribute.Value {
	m := map[attribute.Key]attribute.Value{}
	for _, kv := range kvs {
		m[kv.Key] = kv.Value
	}
	return m
}

func staticExec(obs observe.Observer, clk *regotest.Clock, budgets *budget.Registry, pols map[policy.PolicyKey]policy.EffectivePolicy) *retry.Executor {
	return retry.NewExecutor(retry.ExecutorOptions{
		Provider: &controlplane.StaticProvider{Policies: pols},
		Observer: obs,
		Budgets:  budgets,
		Clock:    clk,
	})
}

var errUnavailable = errors.New("unavailable")

func TestRetriedSuccess(t *testing.T) {
	h := newHarness(t)
	key := policy.ParseKey("inventory.Reserve")
	exec := staticExec(h.obs, regotest.NewAutoClock(time.Time{}), nil, map[policy.PolicyKey]policy.EffectivePolicy{
		key: {Retry: policy.RetryPolicy{MaxAttempts: 4, InitialBackoff: 100 * time.Millisecond, Jitter: policy.JitterNone}},
	})

	ctx, parent := h.tp.Tracer("test").Start(context.Background(), "parent")
	calls := 0
	tl, err := exec.DoWithTimeline(ctx, key, func(ctx context.Context) error {
		calls++
		if calls < 3 {
			return errUnavailable
		}
		return nil
	})
	parent.End()
	if err != nil {
		t.Fatal(err)
	}

	ended := h.spans.Ended()
	if len(ended) != 2 {
		t.Fatalf("spans = %d, want call + parent", len(ended))
	}
	sp := ended[0]
	if sp.Name() != "rego inventory.Reserve" {
		t.Errorf("name = %q", sp.Name())
	}
	if sp.Parent().SpanID() != parent.SpanContext().SpanID() || sp.SpanContext().TraceID() != parent.SpanContext().TraceID() {
		t.Errorf("call span is not a child of the caller's span")
	}
	if !sp.StartTime().Equal(tl.Start) || !sp.EndTime().Equal(tl.End) {
		t.Errorf("span %v..%v, timeline %v..%v", sp.StartTime(), sp.EndTime(), tl.Start, tl.End)
	}
	if got := sp.EndTime().Sub(sp.StartTime()); got != 300*time.Millisecond {
		t.Errorf("span lasts %v, want the 300ms of backoff", got)
	}
	if sp.Status().Code != codes.Unset {
		t.Errorf("status = %+v", sp.Status())
	}
	sa := attrs(sp.Attributes())
	if sa[regootel.AttrKey].AsString() != "inventory.Reserve" || sa[regootel.AttrAttempts].AsInt64() != 3 {
		t.Errorf("span attributes = %v", sp.Attributes())
	}
	if sa["rego."+observe.AttrPolicySource].AsString() == "" {
		t.Errorf("policy_source missing from %v", sp.Attributes())
	}
	evs := sp.Events()
	if len(evs) != 3 {
		t.Fatalf("events = %d", len(evs))
	}
	wantOutcome := []string{"retryable", "retryable", "success"}
	wantBackoff := []float64{0, 100, 200}
	for i, ev := range evs {
		a := attrs(ev.Attributes)
		if ev.Name != regootel.AttemptEventName || !ev.Time.Equal(tl.Attempts[i].StartTime) {
			t.Errorf("event %d: %q at %v", i, ev.Name, ev.Time)
		}
		if a[regootel.AttrAttempt].AsInt64() != int64(i) ||
			a[regootel.AttrOutcome].AsString() != wantOutcome[i] ||
			a[regootel.AttrBackoffMS].AsFloat64() != wantBackoff[i] ||
			!a[regootel.AttrBudgetAllowed].AsBool() ||
			a[regootel.AttrAdmission].AsString() != regootel.AdmissionAllowed ||
			a[regootel.AttrHedge].AsBool() {
			t.Errorf("event %d attributes = %v", i, ev.Attributes)
		}
		if i < 2 && a[regootel.AttrAttemptError].AsString() != "unavailable" {
			t.Errorf("event %d error = %v", i, a[regootel.AttrAttemptError])
		}
	}

	ms := h.metrics(t)
	k := regootel.AttrKey.String("inventory.Reserve")
	if n := sum(t, ms["rego.calls"], k, regootel.AttrResult.String("success")); n != 1 {
		t.Errorf("success calls = %d", n)
	}
	if n := sum(t, ms["rego.attempts"], k, regootel.AttrOutcome.String("retryable"), regootel.AttrAdmission.String("allowed")); n != 2 {
		t.Errorf("retryable attempts = %d", n)
	}
	if n := sum(t, ms["rego.attempts"], k, regootel.AttrOutcome.String("success")); n != 1 {
		t.Errorf("successful attempts = %d", n)
	}
	if n, _ := histCount(t, ms["rego.attempt.duration"], k); n != 3 {
		t.Errorf("attempt durations = %d", n)
	}
	if n, s := histCount(t, ms["rego.call.duration"], k, regootel.AttrResult.String("success")); n != 1 || s < 0.299 || s > 0.301 {
		t.Errorf("call duration: %d points, sum %v s", n, s)
	}
	if ms["rego.attempt.duration"].Unit != "s" {
		t.Errorf("unit = %q", ms["rego.attempt.duration"].Unit)
	}
}

func TestBudgetDeniedFailure(t *testing.T) {
	h := newHarness(t)
	key := policy.ParseKey("payments.Charge")
	budgets := budget.NewRegistry()
	budgets.Register("payments", budget.NewTokenBucketBudget(1, 0)) // one retry, ever
	exec := staticExec(h.obs, regotest.NewAutoClock(time.Time{}), budgets, map[policy.PolicyKey]policy.EffectivePolicy{
		key: {Retry: policy.RetryPolicy{Budget: policy.BudgetRef{Name: "payments"}}},
	})
	boom := errors.New("503 from card-processor-7f3a") // a high-cardinality message
	err := exec.Do(context.Background(), key, func(context.Context) error { return boom })
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v", err)
	}

	ended := h.spans.Ended()
	if len(ended) != 1 {
		t.Fatalf("spans = %d", len(ended))
	}
	sp := ended[0]
	if sp.Parent().IsValid() {
		t.Errorf("root call got a parent %v", sp.Parent())
	}
	if sp.Status().Code != codes.Error || sp.Status().Description != boom.Error() {
		t.Errorf("status = %+v", sp.Status())
	}
	if got := attrs(sp.Attributes())["rego.stop_reason"].AsString(); got != "budget_denied" {
		t.Errorf("stop_reason = %q", got)
	}
	evs := sp.Events()
	var exceptions, attempts int
	for _, ev := range evs {
		switch ev.Name {
		case "exception":
			exceptions++
		case regootel.AttemptEventName:
			attempts++
		}
	}
	if exceptions != 1 || attempts != 3 {
		t.Fatalf("events: %d exception, %d attempts", exceptions, attempts)
	}
	last := attrs(evs[2].Attributes)
	if last[regootel.AttrBudgetAllowed].AsBool() || last[regootel.AttrBudgetReason].AsString() != "tokens_exhausted" ||
		last[regootel.AttrOutcome].AsString() != regootel.OutcomeDenied ||
		last[regootel.AttrAdmission].AsString() != regootel.AdmissionBudgetDenied {
		t.Errorf("denied attempt event = %v", evs[2].Attributes)
	}

	ms := h.metrics(t)
	k := regootel.AttrKey.String("payments.Charge")
	if n := sum(t, ms["rego.calls"], k, regootel.AttrResult.String("failure"), regootel.AttrStopReason.String("budget_denied")); n != 1 {
		t.Errorf("failed calls = %d", n)
	}
	if n := sum(t, ms["rego.attempts"], k, regootel.AttrAdmission.String(regootel.AdmissionBudgetDenied), regootel.AttrOutcome.String(regootel.OutcomeDenied)); n != 1 {
		t.Errorf("denied attempts = %d", n)
	}
	if n := sum(t, ms["rego.attempts"], k, regootel.AttrAdmission.String(regootel.AdmissionAllowed)); n != 2 {
		t.Errorf("allowed attempts = %d", n)
	}
	// The denied attempt did not run: no duration for it.
	if n, _ := histCount(t, ms["rego.attempt.duration"], k); n != 2 {
		t.Errorf("attempt durations = %d", n)
	}
	// No metric point may carry the error's text.
	for name, m := range ms {
		forEachSet(m, func(set attribute.Set) {
			for _, kv := range set.ToSlice() {
				if kv.Value.Type() == attribute.STRING && kv.Value.AsString() == boom.Error() {
					t.Errorf("%s carries the error message in %s", name, kv.Key)
				}
			}
		})
	}
}

func forEachSet(m metricdata.Metrics, f func(attribute.Set)) {
	switch d := m.Data.(type) {
	case metricdata.Sum[int64]:
		for _, dp := range d.DataPoints {
			f(dp.Attributes)
		}
	case metricdata.Histogram[float64]:
		for _, dp := range d.DataPoints {
			f(dp.Attributes)
		}
	}
}

func TestHedgeSpawnedAndCancelled(t *testing.T) {
	h := newHarness(t)
	key := policy.ParseKey("search.Query")
	clk := regotest.NewClock(time.Time{})
	exec := staticExec(h.obs, clk, nil, map[policy.PolicyKey]policy.EffectivePolicy{
		key: {
			Retry: policy.RetryPolicy{MaxAttempts: 2, Jitter: policy.JitterNone},
			Hedge: policy.HedgePolicy{Enabled: true, MaxHedges: 1, Delay: 20 * time.Millisecond},
		},
	})
	done := make(chan error, 1)
	go func() {
		done <- exec.Do(context.Background(), key, func(ctx context.Context) error {
			if info, _ := observe.AttemptFromContext(ctx); !info.IsHedge {
				<-ctx.Done() // a slow primary the hedge beats
				return ctx.Err()
			}
			return nil
		})
	}()
	clk.BlockUntil(1) // the hedge timer is armed
	clk.Advance(20 * time.Millisecond)
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	ms := h.metrics(t)
	k := regootel.AttrKey.String("search.Query")
	if n := sum(t, ms["rego.hedges"], k, regootel.AttrHedgeEvent.String("spawned")); n != 1 {
		t.Errorf("hedges spawned = %d", n)
	}
	if n := sum(t, ms["rego.hedges"], k, regootel.AttrHedgeEvent.String("cancelled"), regootel.AttrReason.String("lost")); n != 1 {
		t.Errorf("attempts cancelled = %d", n)
	}
	if n := sum(t, ms["rego.attempts"], k, regootel.AttrOutcome.String(regootel.OutcomeCancelled), regootel.AttrHedge.Bool(false)); n != 1 {
		t.Errorf("cancelled primary attempts = %d", n)
	}
	if n := sum(t, ms["rego.attempts"], k, regootel.AttrOutcome.String("success"), regootel.AttrHedge.Bool(true)); n != 1 {
		t.Errorf("winning hedge attempts = %d", n)
	}

	sp := h.spans.Ended()[0]
	evs := sp.Events()
	if len(evs) != 2 {
		t.Fatalf("events = %d", len(evs))
	}
	p, hd := attrs(evs[0].Attributes), attrs(evs[1].Attributes)
	if !p[regootel.AttrCancelled].AsBool() || p[regootel.AttrHedgeReason].AsString() != "lost" {
		t.Errorf("primary event = %v", evs[0].Attributes)
	}
	if !hd[regootel.AttrHedge].AsBool() || hd[regootel.AttrHedgeIndex].AsInt64() != 1 || hd[regootel.AttrHedgeReason].AsString() == "" {
		t.Errorf("hedge event = %v", evs[1].Attributes)
	}
	if got := evs[1].Time.Sub(evs[0].Time); got != 20*time.Millisecond {
		t.Errorf("hedge event %v after the primary's, want 20ms", got)
	}
}

func TestZeroOptionsUseGlobals(t *testing.T) {
	obs, err := regootel.New(regootel.Options{})
	if err != nil {
		t.Fatal(err)
	}
	exec := retry.NewExecutor(retry.ExecutorOptions{Observer: obs, Clock: regotest.NewAutoClock(time.Time{})})
	n := 0
	if err := exec.Do(context.Background(), policy.ParseKey("a.b"), func(context.Context) error {
		if n++; n == 1 {
			return errUnavailable
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

func TestDisabledSignalsAndPrefix(t *testing.T) {
	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer func() { _ = tp.Shutdown(context.Background()); _ = mp.Shutdown(context.Background()) }()

	obs, err := regootel.New(regootel.Options{TracerProvider: tp, MeterProvider: mp, Prefix: "svc.rego", DisableTraces: true})
	if err != nil {
		t.Fatal(err)
	}
	exec := retry.NewExecutor(retry.ExecutorOptions{Observer: obs, Clock: regotest.NewAutoClock(time.Time{})})
	if err := exec.Do(context.Background(), policy.ParseKey("a.b"), func(context.Context) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if n := len(spans.Ended()); n != 0 {
		t.Errorf("spans with traces disabled: %d", n)
	}
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name == "svc.rego.calls" {
				found = true
			}
		}
	}
	if !found {
		t.Errorf("no svc.rego.calls in %+v", rm.ScopeMetrics)
	}
}
