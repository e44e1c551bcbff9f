package admission_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aponysus/rego/admission"
	"github.com/aponysus/rego/bulkhead"
	"github.com/aponysus/rego/controlplane"
	"github.com/aponysus/rego/gate"
	"github.com/aponysus/rego/policy"
	"github.com/aponysus/rego/ratelimit"
	"github.com/aponysus/rego/shed"
)

var (
	key = policy.ParseKey("api.orders")
	t0  = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
)

func TestRefusalReleasesEarlierPermits(t *testing.T) {
	g := admission.NewGates(nil)
	p := &policy.EffectivePolicy{
		Shed:        policy.ShedPolicy{Enabled: true, Capacity: 100},
		Bulkhead:    policy.BulkheadPolicy{Enabled: true, MaxConcurrent: 1},
		Concurrency: policy.ConcurrencyPolicy{Enabled: true},
	}
	a := gate.Attempt{Key: key, Policy: p}
	held, err := g.Admit(context.Background(), a, t0)
	if err != nil {
		t.Fatal(err)
	}
	// The bulkhead refuses the second request: the shedder's permit,
	// granted before it, is given back.
	_, err = g.Admit(context.Background(), a, t0)
	if !errors.Is(err, bulkhead.ErrFull) {
		t.Fatalf("%v", err)
	}
	if n := g.Shed.For(key).InFlight(); n != 1 {
		t.Fatalf("shed counts %d in flight, want 1", n)
	}
	held.Done(gate.Result{Verdict: gate.Answered, Latency: time.Millisecond})
	if n, m, k := g.Shed.For(key).InFlight(), g.Bulkhead.For(key).InFlight(), g.Concurrency.For(key).InFlight(); n+m+k != 0 {
		t.Fatalf("in flight after Done: shed %d, bulkhead %d, adaptive %d", n, m, k)
	}
}

func TestOrderAndShadow(t *testing.T) {
	g := admission.NewGates(nil)
	// Shedding comes first: a sheddable request over its share is refused
	// by shed, not by the rate limiter behind it.
	p := &policy.EffectivePolicy{
		Shed:      policy.ShedPolicy{Enabled: true, Capacity: 1, SheddableFraction: 0.5},
		RateLimit: policy.RateLimitPolicy{Enabled: true, Rate: 1, Burst: 1},
	}
	a := gate.Attempt{Key: key, Policy: p, Criticality: gate.CriticalitySheddable}
	first, err := g.Admit(context.Background(), a, t0)
	if err != nil {
		t.Fatal(err)
	}
	_, err = g.Admit(context.Background(), a, t0)
	if !errors.Is(err, shed.ErrShed) || admission.RateLimited(err) {
		t.Fatalf("want shed first, got %v", err)
	}
	first.Done(gate.Result{})
	_, err = g.Admit(context.Background(), a, t0)
	if !admission.RateLimited(err) || !errors.Is(err, ratelimit.ErrLimited) || admission.RetryAfter(err, 0) != time.Second {
		t.Fatalf("want the limiter's refusal with RetryAfter 1s, got %v", err)
	}
	// In shadow mode the limiter's refusal is counted, not enforced.
	sp := *p
	sp.RateLimit.Shadow = true
	tk, err := g.Admit(context.Background(), gate.Attempt{Key: key, Policy: &sp}, t0)
	if err != nil || tk.Shadowed != 1 {
		t.Fatalf("shadow: %v, shadowed %d", err, tk.Shadowed)
	}
	tk.Done(gate.Result{})
	if admission.RetryAfter(errors.New("x"), 3*time.Second) != 3*time.Second {
		t.Fatal("RetryAfter default")
	}
	var none admission.Ticket
	none.Done(gate.Result{})
	if _, err := g.Admit(context.Background(), gate.Attempt{Key: key}, t0); err != nil {
		t.Fatal("no policy must pass")
	}
}

type valueProvider struct{ p policy.EffectivePolicy }

func (v valueProvider) GetEffectivePolicy(context.Context, policy.PolicyKey) (policy.EffectivePolicy, error) {
	return v.p, nil
}

func TestPolicy(t *testing.T) {
	sp := &controlplane.StaticProvider{Default: policy.EffectivePolicy{Bulkhead: policy.BulkheadPolicy{Enabled: true}}}
	if p := admission.Policy(context.Background(), sp, key); p == nil || !p.Bulkhead.Enabled {
		t.Fatalf("static provider: %+v", p)
	}
	if p := admission.Policy(context.Background(), valueProvider{}, key); p != nil {
		t.Fatal("a policy without a source is not usable")
	}
	withSrc := policy.EffectivePolicy{}
	withSrc.Meta.Source = "test"
	if p := admission.Policy(context.Background(), valueProvider{withSrc}, key); p == nil {
		t.Fatal("usable policy by value")
	}
}

func BenchmarkAdmitShedAndBulkhead(b *testing.B) {
	g := admission.NewGates(nil)
	a := gate.Attempt{Key: key, Policy: &policy.EffectivePolicy{
		Shed:     policy.ShedPolicy{Enabled: true, Capacity: 100},
		Bulkhead: policy.BulkheadPolicy{Enabled: true, MaxConcurrent: 100},
	}}
	ctx := context.Background()
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		tk, err := g.Admit(ctx, a, t0)
		if err != nil {
			b.Fatal(err)
		}
		tk.Done(gate.Result{Verdict: gate.Answered})
	}
}
