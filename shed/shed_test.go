package shed_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/aponysus/rego/adaptive"
	"github.com/aponysus/rego/gate"
	"github.com/aponysus/rego/policy"
	"github.com/aponysus/rego/shed"
)

var key = policy.ParseKey("checkout.submit")

func attempt(p *policy.EffectivePolicy, c gate.Criticality) gate.Attempt {
	return gate.Attempt{Key: key, Policy: p, Criticality: c}
}

// TestShares fills a key of capacity 10 with n attempts in flight and asks
// which criticalities are still admitted.
func TestShares(t *testing.T) {
	p := &policy.EffectivePolicy{Shed: policy.ShedPolicy{Enabled: true, Capacity: 10}}
	for _, tc := range []struct {
		inflight int
		want     string // admitted criticalities: P(lus), C(ritical), p(lus sheddable), s(heddable)
	}{
		{0, "PCps"},
		{4, "PCps"},
		{5, "PCp"}, // sheddable's share is floor(0.5*10) = 5
		{6, "PCp"},
		{7, "PC"}, // sheddable_plus: floor(0.75*10) = 7
		{9, "P"},  // critical: floor(0.9*10) = 9
		{50, "P"}, // critical_plus is never shed
	} {
		t.Run(fmt.Sprint(tc.inflight), func(t *testing.T) {
			r := &shed.Registry{}
			var held []gate.Permit
			for i := 0; i < tc.inflight; i++ {
				pm, err := r.Admit(context.Background(), attempt(p, gate.CriticalityCriticalPlus), time.Time{})
				if err != nil {
					t.Fatal(err)
				}
				held = append(held, pm)
			}
			got := ""
			for _, c := range []struct {
				c gate.Criticality
				s string
			}{{gate.CriticalityCriticalPlus, "P"}, {gate.CriticalityDefault, "C"}, {gate.CriticalitySheddablePlus, "p"}, {gate.CriticalitySheddable, "s"}} {
				pm, err := r.Admit(context.Background(), attempt(p, c.c), time.Time{})
				if err == nil {
					got += c.s
					pm.Done(gate.Result{})
					continue
				}
				var re *gate.RefusedError
				if !errors.As(err, &re) || re.Reason != "shed_"+c.c.String() || re.Gate != gate.NameShed || !errors.Is(err, shed.ErrShed) || pm.Reason != re.Reason {
					t.Fatalf("refusal of %v: %v (permit %q)", c.c, err, pm.Reason)
				}
			}
			if got != tc.want {
				t.Fatalf("admitted %q, want %q", got, tc.want)
			}
			for _, pm := range held {
				pm.Done(gate.Result{})
			}
			if n := r.For(key).InFlight(); n != 0 {
				t.Fatalf("%d in flight", n)
			}
		})
	}
}

func TestShare(t *testing.T) {
	p := policy.ShedPolicy{SheddableFraction: 0.01, SheddablePlusFraction: 2, CriticalFraction: 0.5}
	for _, tc := range []struct {
		c    gate.Criticality
		want int
	}{
		{gate.CriticalitySheddable, 1},      // at least one
		{gate.CriticalitySheddablePlus, 15}, // out of range: the default 0.75
		{gate.CriticalityCritical, 10},      // 0.5 * 20
		{gate.CriticalityCriticalPlus, 20},  // all of it
	} {
		if got := shed.Share(p, 20, tc.c); got != tc.want {
			t.Errorf("%v: %d, want %d", tc.c, got, tc.want)
		}
	}
}

type limits map[policy.PolicyKey]int

func (l limits) Limit(k policy.PolicyKey) (int, bool) { n, ok := l[k]; return n, ok }

func TestCapacitySources(t *testing.T) {
	on := policy.ShedPolicy{Enabled: true}
	for _, tc := range []struct {
		name   string
		p      policy.EffectivePolicy
		limits shed.LimitSource
		want   int
		ok     bool
	}{
		{"explicit", policy.EffectivePolicy{Shed: policy.ShedPolicy{Enabled: true, Capacity: 7}, Bulkhead: policy.BulkheadPolicy{Enabled: true, MaxConcurrent: 3}}, nil, 7, true},
		{"bulkhead", policy.EffectivePolicy{Shed: on, Bulkhead: policy.BulkheadPolicy{Enabled: true, MaxConcurrent: 3}}, nil, 3, true},
		{"bulkhead default", policy.EffectivePolicy{Shed: on, Bulkhead: policy.BulkheadPolicy{Enabled: true}}, nil, 10, true},
		{"adaptive limit", policy.EffectivePolicy{Shed: on, Concurrency: policy.ConcurrencyPolicy{Enabled: true}}, limits{key: 42}, 42, true},
		{"adaptive initial", policy.EffectivePolicy{Shed: on, Concurrency: policy.ConcurrencyPolicy{Enabled: true, InitialLimit: 30}}, limits{}, 30, true},
		{"adaptive default", policy.EffectivePolicy{Shed: on, Concurrency: policy.ConcurrencyPolicy{Enabled: true}}, nil, adaptive.DefaultInitialLimit, true},
		{"none", policy.EffectivePolicy{Shed: on}, nil, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &shed.Registry{Limits: tc.limits}
			got, ok := r.Capacity(attempt(&tc.p, gate.CriticalityDefault))
			if got != tc.want || ok != tc.ok {
				t.Fatalf("capacity %d %v, want %d %v", got, ok, tc.want, tc.ok)
			}
		})
	}
	r := &shed.Registry{}
	if pm, err := r.Admit(context.Background(), attempt(&policy.EffectivePolicy{Shed: on}, gate.CriticalitySheddable), time.Time{}); err != nil || pm.Reason != shed.ReasonUnbounded {
		t.Fatal(pm, err)
	}
	if pm, err := r.Admit(context.Background(), attempt(&policy.EffectivePolicy{}, gate.CriticalitySheddable), time.Time{}); err != nil || pm.Reason != shed.ReasonDisabled {
		t.Fatal(pm, err)
	}
}

func TestAdaptiveRegistryIsALimitSource(t *testing.T) {
	var _ shed.LimitSource = (*adaptive.Registry)(nil)
}

func TestOverflow(t *testing.T) {
	r := &shed.Registry{MaxKeys: 1}
	p := &policy.EffectivePolicy{Shed: policy.ShedPolicy{Enabled: true, Capacity: 1}}
	pm, _ := r.Admit(context.Background(), attempt(p, gate.CriticalitySheddable), time.Time{})
	defer pm.Done(gate.Result{})
	a := attempt(p, gate.CriticalitySheddable)
	a.Key = policy.ParseKey("other")
	if pm, err := r.Admit(context.Background(), a, time.Time{}); err != nil || pm.Reason != shed.ReasonOverflow || r.Overflowed() != 1 {
		t.Fatal(pm, err)
	}
}

func BenchmarkAdmitUncontended(b *testing.B) {
	r := &shed.Registry{}
	a := attempt(&policy.EffectivePolicy{Shed: policy.ShedPolicy{Enabled: true, Capacity: 100}}, gate.CriticalitySheddable)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		p, err := r.Admit(ctx, a, time.Time{})
		if err != nil {
			b.Fatal(err)
		}
		p.Done(gate.Result{})
	}
}
