package regoprom

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aponysus/rego/budget"
	"github.com/aponysus/rego/controlplane"
	"github.com/aponysus/rego/observe"
	"github.com/aponysus/rego/policy"
	"github.com/aponysus/rego/regotest"
	"github.com/aponysus/rego/retry"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func newTestObserver(t *testing.T, opts Options) (*Observer, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	opts.Registerer = reg
	o, err := NewObserver(opts)
	if err != nil {
		t.Fatalf("NewObserver: %v", err)
	}
	return o, reg
}

func newExec(o observe.Observer, budgets *budget.Registry, pols map[policy.PolicyKey]policy.EffectivePolicy) *retry.Executor {
	return retry.NewExecutor(retry.ExecutorOptions{
		Provider: &controlplane.StaticProvider{Policies: pols},
		Observer: o,
		Budgets:  budgets,
		Clock:    regotest.NewAutoClock(time.Time{}),
	})
}

func check(t *testing.T, name string, c prometheus.Collector, want float64) {
	t.Helper()
	if got := testutil.ToFloat64(c); got != want {
		t.Errorf("%s = %v, want %v", name, got, want)
	}
}

func TestRetryThenSuccess(t *testing.T) {
	o, reg := newTestObserver(t, Options{})
	key := policy.ParseKey("inventory.Reserve")
	exec := newExec(o, nil, map[policy.PolicyKey]policy.EffectivePolicy{
		key: {Retry: policy.RetryPolicy{MaxAttempts: 4, InitialBackoff: 100 * time.Millisecond, Jitter: policy.JitterNone}},
	})
	calls := 0
	err := exec.Do(context.Background(), key, func(ctx context.Context) error {
		calls++
		if calls < 3 {
			return errors.New("unavailable: secret-detail-" + strings.Repeat("x", calls))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	k := key.String()
	check(t, "first attempt retryable", o.attempts.WithLabelValues(k, "retryable", "first"), 1)
	check(t, "retries retryable", o.attempts.WithLabelValues(k, "retryable", "retry"), 1)
	check(t, "attempts success", o.attempts.WithLabelValues(k, "success", "retry"), 1)
	check(t, "calls success", o.calls.WithLabelValues(k, "success", "none"), 1)

	// The whole exposition, to pin names, labels and the backoff sums
	// (100ms + 200ms, no jitter).
	want := `
# HELP rego_backoff_seconds Computed wait (after jitter) before each retry that ran.
# TYPE rego_backoff_seconds histogram
` + backoffLines(k, 0.1, 0.2) + `
# HELP rego_calls_total Finished calls, by result and stop reason.
# TYPE rego_calls_total counter
rego_calls_total{key="inventory.Reserve",result="success",stop_reason="none"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "rego_backoff_seconds", "rego_calls_total"); err != nil {
		t.Error(err)
	}
	if n := testutil.CollectAndCount(o.duration); n != 2 {
		t.Errorf("duration series = %d, want 2 (retryable, success)", n)
	}
	// No error text may leak into any label.
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if strings.Contains(lp.GetValue(), "secret") {
					t.Errorf("%s has label %s=%q", mf.GetName(), lp.GetName(), lp.GetValue())
				}
			}
		}
	}
}

// backoffLines renders the default-bucket histogram of the given waits.
func backoffLines(key string, waits ...float64) string {
	var b strings.Builder
	sum := 0.0
	for _, w := range waits {
		sum += w
	}
	for _, le := range defaultBackoffBuckets {
		n := 0
		for _, w := range waits {
			if w <= le {
				n++
			}
		}
		b.WriteString(`rego_backoff_seconds_bucket{key="` + key + `",le="` + formatFloat(le) + `"} ` + formatFloat(float64(n)) + "\n")
	}
	b.WriteString(`rego_backoff_seconds_bucket{key="` + key + `",le="+Inf"} ` + formatFloat(float64(len(waits))) + "\n")
	b.WriteString(`rego_backoff_seconds_sum{key="` + key + `"} ` + formatFloat(sum) + "\n")
	b.WriteString(`rego_backoff_seconds_count{key="` + key + `"} ` + formatFloat(float64(len(waits))))
	return b.String()
}

func TestBudgetDenied(t *testing.T) {
	o, _ := newTestObserver(t, Options{})
	key := policy.ParseKey("payments.Charge")
	budgets := budget.NewRegistry()
	budgets.Register("payments", budget.NewTokenBucketBudget(1, 0)) // one retry, ever
	exec := newExec(o, budgets, map[policy.PolicyKey]policy.EffectivePolicy{
		key: {Retry: policy.RetryPolicy{MaxAttempts: 3, Jitter: policy.JitterNone, Budget: policy.BudgetRef{Name: "payments"}}},
	})
	err := exec.Do(context.Background(), key, func(ctx context.Context) error { return errors.New("503") })
	if err == nil {
		t.Fatal("want an error")
	}
	k := key.String()
	check(t, "first attempt retryable", o.attempts.WithLabelValues(k, "retryable", "first"), 1)
	check(t, "retry retryable", o.attempts.WithLabelValues(k, "retryable", "retry"), 1)
	check(t, "denied", o.denied.WithLabelValues(k, "budget", "tokens_exhausted"), 1)
	check(t, "calls failure", o.calls.WithLabelValues(k, "failure", retry.StopBudgetDenied), 1)
	if n := testutil.CollectAndCount(o.denied); n != 1 {
		t.Errorf("denied series = %d, want 1", n)
	}
}

func TestCircuitDenied(t *testing.T) {
	o, _ := newTestObserver(t, Options{})
	key := policy.ParseKey("search.Query")
	exec := newExec(o, nil, map[policy.PolicyKey]policy.EffectivePolicy{
		key: {
			Retry:   policy.RetryPolicy{MaxAttempts: 1},
			Circuit: policy.CircuitPolicy{Enabled: true, FailureThreshold: 1, Cooldown: time.Minute},
		},
	})
	fail := func(ctx context.Context) error { return errors.New("down") }
	_ = exec.Do(context.Background(), key, fail) // opens the breaker
	_ = exec.Do(context.Background(), key, fail) // refused
	k := key.String()
	check(t, "denied circuit", o.denied.WithLabelValues(k, "circuit", "open"), 1)
	check(t, "calls circuit_open", o.calls.WithLabelValues(k, "failure", retry.StopCircuitOpen), 1)
}

func TestHedgeWins(t *testing.T) {
	o, _ := newTestObserver(t, Options{})
	key := policy.ParseKey("catalog.Get")
	exec := newExec(o, nil, map[policy.PolicyKey]policy.EffectivePolicy{
		key: {
			Retry: policy.RetryPolicy{MaxAttempts: 2},
			Hedge: policy.HedgePolicy{Enabled: true, MaxHedges: 1, Delay: 10 * time.Millisecond},
		},
	})
	err := exec.Do(context.Background(), key, func(ctx context.Context) error {
		if info, _ := observe.AttemptFromContext(ctx); info.IsHedge {
			return nil
		}
		<-ctx.Done() // the first attempt hangs until it loses
		return ctx.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
	k := key.String()
	check(t, "hedge spawn", o.hedges.WithLabelValues(k, "spawn"), 1)
	check(t, "hedge cancel", o.hedges.WithLabelValues(k, "cancel"), 1)
	check(t, "hedge success", o.attempts.WithLabelValues(k, "success", "hedge"), 1)
	check(t, "primary cancelled", o.attempts.WithLabelValues(k, "cancelled", "first"), 1)
	if n := testutil.CollectAndCount(o.attempts); n != 2 {
		t.Errorf("attempt series = %d, want 2", n)
	}
}

type failingProvider struct{}

func (failingProvider) GetEffectivePolicy(context.Context, policy.PolicyKey) (policy.EffectivePolicy, error) {
	return policy.EffectivePolicy{}, errors.New("control plane unreachable")
}

func TestPolicyFallback(t *testing.T) {
	o, _ := newTestObserver(t, Options{})
	exec := retry.NewExecutor(retry.ExecutorOptions{
		Provider: failingProvider{},
		Observer: o,
		Clock:    regotest.NewAutoClock(time.Time{}),
	})
	key := policy.ParseKey("users.Get")
	if err := exec.Do(context.Background(), key, func(context.Context) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if n := testutil.CollectAndCount(o.fallbacks); n != 1 {
		t.Fatalf("fallback series = %d, want 1", n)
	}
	check(t, "fallback", o.fallbacks.WithLabelValues(key.String(), string(policy.SourceDefault)), 1)
}

func TestKeyCardinalityGuard(t *testing.T) {
	o, _ := newTestObserver(t, Options{MaxKeys: 2})
	exec := newExec(o, nil, nil)
	for _, name := range []string{"a", "b", "c", "d", "a"} {
		if err := exec.Do(context.Background(), policy.ParseKey("svc."+name), func(context.Context) error { return nil }); err != nil {
			t.Fatal(err)
		}
	}
	check(t, "calls a", o.calls.WithLabelValues("svc.a", "success", "none"), 2)
	check(t, "calls b", o.calls.WithLabelValues("svc.b", "success", "none"), 1)
	check(t, "calls other", o.calls.WithLabelValues(OtherKey, "success", "none"), 2)
	if n := testutil.CollectAndCount(o.calls); n != 3 {
		t.Errorf("call series = %d, want 3", n)
	}
}

func TestKeyGuardConcurrent(t *testing.T) {
	g := newKeyGuard(10)
	done := make(chan int)
	for w := 0; w < 8; w++ {
		go func(w int) {
			admitted := 0
			for i := 0; i < 100; i++ {
				if g.label(policy.PolicyKey{Namespace: "svc", Name: string(rune('a' + i%26))}) != OtherKey {
					admitted++
				}
			}
			done <- admitted
		}(w)
	}
	for w := 0; w < 8; w++ {
		<-done
	}
	if len(g.seen) != 10 {
		t.Errorf("admitted %d keys, want 10", len(g.seen))
	}
}

func TestDuplicateRegistration(t *testing.T) {
	reg := prometheus.NewRegistry()
	if _, err := NewObserver(Options{Registerer: reg}); err != nil {
		t.Fatal(err)
	}
	_, err := NewObserver(Options{Registerer: reg})
	if err == nil {
		t.Fatal("second observer on the same registry: want an error")
	}
	var re *RegisterError
	if !errors.As(err, &re) || re.Metric != "rego_attempts_total" {
		t.Errorf("err = %v, want a *RegisterError for rego_attempts_total", err)
	}
	if !errors.Is(err, ErrRegister) {
		t.Errorf("err = %v does not wrap ErrRegister", err)
	}
	var are prometheus.AlreadyRegisteredError
	if !errors.As(err, &are) {
		t.Errorf("err = %v does not wrap prometheus.AlreadyRegisteredError", err)
	}
	if !strings.HasPrefix(err.Error(), "regoprom: ") {
		t.Errorf("err = %q lacks the package prefix", err)
	}
	// A different namespace does not collide.
	if _, err := NewObserver(Options{Registerer: reg, Namespace: "other"}); err != nil {
		t.Errorf("namespace other: %v", err)
	}
}

func TestPartialRegistrationRolledBack(t *testing.T) {
	reg := prometheus.NewRegistry()
	// Take a name in the middle of the list; the ones before must be
	// released again so a later attempt can succeed once it is freed.
	// (Same help and labels: a registry remembers a name's shape even
	// after the collector is unregistered.)
	blocker := prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "rego", Name: "calls_total", Help: "Finished calls, by result and stop reason.",
	}, []string{"key", "result", "stop_reason"})
	reg.MustRegister(blocker)
	if _, err := NewObserver(Options{Registerer: reg}); err == nil {
		t.Fatal("want an error")
	}
	reg.Unregister(blocker)
	o, err := NewObserver(Options{Registerer: reg})
	if err != nil {
		t.Fatalf("after freeing the name: %v", err)
	}
	o.Unregister(reg)
	if _, err := NewObserver(Options{Registerer: reg}); err != nil {
		t.Fatalf("after Unregister: %v", err)
	}
}

func TestBadOptions(t *testing.T) {
	for _, tc := range []struct {
		opts  Options
		field string
	}{
		{Options{MaxKeys: -1}, "MaxKeys"},
		{Options{DurationBuckets: []float64{1, 1}}, "DurationBuckets"},
		{Options{BackoffBuckets: []float64{}}, "BackoffBuckets"},
	} {
		tc.opts.Registerer = prometheus.NewRegistry()
		_, err := NewObserver(tc.opts)
		if err == nil || !strings.Contains(err.Error(), tc.field) {
			t.Errorf("%+v: err = %v, want one naming %s", tc.opts, err, tc.field)
		}
	}
}

func TestDefaultRegisterer(t *testing.T) {
	o, err := NewObserver(Options{Namespace: "regoprom_default_test"})
	if err != nil {
		t.Fatal(err)
	}
	defer o.Unregister(nil)
	if _, err := NewObserver(Options{Namespace: "regoprom_default_test"}); err == nil {
		t.Error("want a duplicate error on the default registerer")
	}
}
