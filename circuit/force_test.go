package circuit_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aponysus/rego/circuit"
	"github.com/aponysus/rego/gate"
	"github.com/aponysus/rego/policy"
)

func TestForcedStates(t *testing.T) {
	r := newRig(t, &circuit.Breaker{}, policy.CircuitPolicy{FailureThreshold: 2, Cooldown: time.Second})
	before := r.must(0, circuit.ReasonClosed)
	r.b.ForceOpen(t0)
	// Forced open stays open past any cooldown, with no probe.
	for _, at := range []time.Duration{0, time.Second, time.Hour} {
		r.must(at, circuit.ReasonForcedOpen)
		if sn := r.b.Snapshot(t0.Add(at), r.pol.Circuit); sn.State != circuit.Open || !sn.Forced || !sn.OpenUntil.IsZero() {
			t.Fatalf("%+v", sn)
		}
	}
	off := &policy.EffectivePolicy{Circuit: policy.CircuitPolicy{Enabled: false}}
	if p, err := r.b.Admit(context.Background(), gate.Attempt{Policy: off}, t0); !errors.Is(err, circuit.ErrOpen) || p.Reason != circuit.ReasonForcedOpen {
		t.Fatalf("a forced state must hold under a policy without the breaker: %q %v", p.Reason, err)
	}
	if ok, _, reason, after := r.b.Allow(t0.Add(time.Hour), r.pol.Circuit); ok || reason != circuit.ReasonForcedOpen || after != 0 {
		t.Fatal(ok, reason, after)
	}
	end(before, F, time.Hour, 0) // from before the forcing: nothing

	// Forced closed admits everything and counts nothing.
	r.b.ForceClose(t0.Add(time.Hour))
	for i := 0; i < 10; i++ {
		p := r.must(time.Hour, circuit.ReasonForcedClosed)
		if p.Completer != nil {
			t.Fatal("a forced closed breaker's permit needs no completion")
		}
	}
	r.b.Done(t0.Add(time.Hour), r.pol.Circuit, false, false) // the direct API counts nothing either
	r.b.Done(t0.Add(time.Hour), r.pol.Circuit, false, false)
	if sn := r.b.Snapshot(t0.Add(time.Hour), r.pol.Circuit); sn.State != circuit.Closed || !sn.Forced || sn.ConsecutiveFailures != 0 || !r.b.Closed() {
		t.Fatalf("%+v", sn)
	}

	// Reset returns to the rules, with nothing counted.
	r.b.Reset(t0.Add(time.Hour))
	r.call(time.Hour, F)
	if sn := r.b.Snapshot(t0.Add(time.Hour), r.pol.Circuit); sn.Forced || sn.ConsecutiveFailures != 1 {
		t.Fatalf("%+v", sn)
	}
	r.call(time.Hour, F)
	r.must(time.Hour, circuit.ReasonOpen)
	r.b.Reset(t0.Add(time.Hour))
	r.must(time.Hour, circuit.ReasonClosed)
}

func TestRegistryForcing(t *testing.T) {
	reg := &circuit.Registry{MaxKeys: 1}
	a, b := policy.ParseKey("a.x"), policy.ParseKey("b.x")
	reg.Reset(a, t0) // nothing to reset, nothing created
	if n := countKeys(reg); n != 0 {
		t.Fatalf("%d breakers after a reset of an unknown key", n)
	}
	if err := reg.ForceOpen(a, t0); err != nil {
		t.Fatal(err)
	}
	if s := reg.For(a).Snapshot(t0, policy.CircuitPolicy{}); s.State != circuit.Open || !s.Forced {
		t.Fatalf("%+v", s)
	}
	for _, err := range []error{reg.ForceOpen(b, t0), reg.ForceClose(b, t0)} {
		if !errors.Is(err, circuit.ErrFull) {
			t.Fatalf("%v", err)
		}
	}
	if err := reg.ForceClose(a, t0); err != nil {
		t.Fatal(err)
	}
	reg.Reset(a, t0)
	if s := reg.For(a).Snapshot(t0, policy.CircuitPolicy{}); s.State != circuit.Closed || s.Forced {
		t.Fatalf("%+v", s)
	}
}

func countKeys(reg *circuit.Registry) int {
	n := 0
	reg.Range(func(policy.PolicyKey, *circuit.Breaker) bool { n++; return true })
	return n
}
