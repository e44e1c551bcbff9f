package rego_test

// The README's sections on gates, overload protection, why a call stopped
// and servers, mirrored unchanged but for the surrounding function (and
// the lines marked "not in the README").

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aponysus/rego/adaptive"
	"github.com/aponysus/rego/admission"
	"github.com/aponysus/rego/budget"
	"github.com/aponysus/rego/bulkhead"
	"github.com/aponysus/rego/circuit"
	"github.com/aponysus/rego/controlplane"
	"github.com/aponysus/rego/gate"
	"github.com/aponysus/rego/integrations/regohttp"
	"github.com/aponysus/rego/observe"
	"github.com/aponysus/rego/policy"
	"github.com/aponysus/rego/ratelimit"
	"github.com/aponysus/rego/retry"
	"github.com/aponysus/rego/shed"
)

func TestReadmeGatesAndOverload(t *testing.T) {
	ctx := context.Background()
	var quotaAsked int
	quota := gate.Func(func(ctx context.Context, a gate.Attempt, now time.Time) (gate.Permit, error) {
		quotaAsked++
		if a.Criticality != gate.CriticalitySheddable {
			t.Errorf("the quota gate saw criticality %v", a.Criticality)
		}
		return gate.Permit{Reason: "within_quota"}, nil
	})
	canary := gate.Func(func(ctx context.Context, a gate.Attempt, now time.Time) (gate.Permit, error) {
		return gate.Permit{Reason: "canary_says_no"}, &gate.RefusedError{Gate: "canary", Reason: "canary_says_no"}
	})
	var ran int
	op := func(context.Context) error { ran++; return nil }

	key := policy.ParseKey("payments.Charge")
	provider := &controlplane.StaticProvider{Policies: map[policy.PolicyKey]policy.EffectivePolicy{
		key: {
			Bulkhead:  policy.BulkheadPolicy{Enabled: true, MaxConcurrent: 50, MaxWait: 20 * time.Millisecond},
			RateLimit: policy.RateLimitPolicy{Enabled: true, Rate: 200, Burst: 50}, // first attempts only
			Shed:      policy.ShedPolicy{Enabled: true},                            // shares of the bulkhead's 50
			Gates:     []policy.GateRef{{Name: "quota"}, {Name: "canary", Shadow: true}},
		},
	}}

	gates := gate.NewRegistry()
	gates.Register("quota", quota)   // your own gate.Gate
	gates.Register("canary", canary) // shadow: asked and recorded, never enforced

	exec := retry.NewExecutor(retry.ExecutorOptions{
		Provider: provider,
		Gates:    gates,                   // the user gates policies name
		Overload: admission.NewGates(nil), // nil: the executor keeps its own
	})

	ctx = gate.WithCriticality(ctx, gate.CriticalitySheddable) // shed first under load
	err := exec.Do(ctx, key, op)
	if errors.Is(err, gate.ErrRefused) {
		// refused before it ran: bulkhead.ErrFull, ratelimit.ErrLimited,
		// adaptive.ErrLimited, shed.ErrShed or your gate's error say which
	}

	if err != nil || ran != 1 || quotaAsked != 1 {
		t.Fatalf("err %v, ran %d, quota asked %d", err, ran, quotaAsked)
	}
	// The decisions, in gate.Order and then the policy's list; the canary
	// would have refused, in shadow.
	tl, err := exec.DoWithTimeline(ctx, key, op)
	if err != nil {
		t.Fatal(err)
	}
	want := []observe.GateDecision{
		{Gate: "shed", Reason: "admitted", Admitted: true},
		{Gate: "rate_limit", Reason: "admitted", Admitted: true},
		{Gate: "bulkhead", Reason: "admitted", Admitted: true},
		{Gate: "quota", Reason: "within_quota", Admitted: true},
		{Gate: "canary", Reason: "canary_says_no", Admitted: false, Shadow: true},
	}
	got := tl.Attempts[0].Gates
	if len(got) != len(want) {
		t.Fatalf("gates %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("gate %d: %+v, want %+v", i, got[i], want[i])
		}
	}
	// The sentinels the snippet's comment names are distinct errors.
	for _, e := range []error{bulkhead.ErrFull, ratelimit.ErrLimited, adaptive.ErrLimited, shed.ErrShed} {
		if errors.Is(e, gate.ErrRefused) {
			t.Errorf("%v", e)
		}
	}
}

func TestReadmeWhyACallStopped(t *testing.T) {
	ctx := context.Background()
	key := policy.ParseKey("payments.Charge")
	lastErr := errors.New("payments: connection reset")
	op := func(context.Context) error { return lastErr }
	exec := retry.NewExecutor(retry.ExecutorOptions{Clock: noSleep{}})

	err := exec.Do(ctx, key, op)
	var stop *retry.StopError
	switch {
	case errors.Is(err, retry.ErrAttemptsExhausted): // every attempt failed
	case errors.Is(err, budget.ErrDenied): // a budget refused a retry (or the first attempt)
	case errors.Is(err, circuit.ErrOpen): // the breaker refused
	case errors.Is(err, gate.ErrRefused): // another gate refused
	}
	if errors.As(err, &stop) {
		fmt.Println(stop.Reason) // the timeline's stop_reason: "attempts_exhausted", ...
	}

	if !errors.Is(err, retry.ErrAttemptsExhausted) || !errors.Is(err, lastErr) || stop == nil ||
		stop.Reason != "attempts_exhausted" || err.Error() != lastErr.Error() {
		t.Fatalf("err %v (%T), stop %+v", err, err, stop)
	}
}

func TestReadmeServers(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "ok") })
	provider := &controlplane.StaticProvider{Policies: map[policy.PolicyKey]policy.EffectivePolicy{
		policy.ParseKey("api.GET"): {RateLimit: policy.RateLimitPolicy{Enabled: true, Rate: 0.01, Burst: 1}},
	}}

	gates := admission.NewGates(nil) // shared by the HTTP and gRPC sides if you like
	handler := regohttp.Middleware(regohttp.ServerOptions{
		Provider: provider, // the bulkhead, rate_limit, concurrency and shed sections by route key
		KeyFunc:  func(r *http.Request) policy.PolicyKey { return policy.ParseKey("api." + r.Method) },
		Gates:    gates,
	})(mux)

	srv := httptest.NewServer(handler)
	defer srv.Close()
	client := srv.Client()
	defer client.CloseIdleConnections()
	codes := []int{}
	for i := 0; i < 2; i++ {
		resp, err := client.Get(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		codes = append(codes, resp.StatusCode)
		if i == 1 && resp.Header.Get("Retry-After") == "" {
			t.Errorf("a refusal without Retry-After")
		}
	}
	// A burst of one at a token every 100s: the second request is
	// refused by the rate limiter, 429.
	if codes[0] != http.StatusOK || codes[1] != http.StatusTooManyRequests {
		t.Fatalf("status codes %v", codes)
	}
}
