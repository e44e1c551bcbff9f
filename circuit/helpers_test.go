package circuit_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aponysus/rego/circuit"
	"github.com/aponysus/rego/gate"
	"github.com/aponysus/rego/policy"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// rig drives one breaker through its gate API on virtual time: every
// method takes the time as an offset from t0.
type rig struct {
	t   testing.TB
	b   *circuit.Breaker
	pol policy.EffectivePolicy
}

func newRig(t testing.TB, b *circuit.Breaker, cfg policy.CircuitPolicy) *rig {
	cfg.Enabled = true
	return &rig{t: t, b: b, pol: policy.EffectivePolicy{Key: policy.ParseKey("dep.Call"), Circuit: cfg}}
}

// admit asks the breaker at t0+at. It returns the permit, and the reason
// (the permit's reason, which a refusal's OpenError must agree with).
func (r *rig) admit(at time.Duration) (gate.Permit, bool) {
	r.t.Helper()
	p, err := r.b.Admit(context.Background(), gate.Attempt{Key: r.pol.Key, Policy: &r.pol}, t0.Add(at))
	if err != nil {
		var oe *circuit.OpenError
		if !errors.As(err, &oe) || !errors.Is(err, circuit.ErrOpen) || !errors.Is(err, gate.ErrRefused) || oe.Reason != p.Reason || oe.Key != r.pol.Key {
			r.t.Fatalf("refusal %v (%T) with permit reason %q", err, err, p.Reason)
		}
		return p, false
	}
	return p, true
}

// must admits at t0+at and fails the test unless the reason is want.
func (r *rig) must(at time.Duration, want string) gate.Permit {
	r.t.Helper()
	p, _ := r.admit(at)
	if p.Reason != want {
		r.t.Fatalf("admit at %v: reason %q, want %q", at, p.Reason, want)
	}
	return p
}

// end completes p at t0+at with verdict v after latency lat.
func end(p gate.Permit, v gate.Verdict, at, lat time.Duration) {
	p.Done(gate.Result{Verdict: v, Latency: lat, End: t0.Add(at)})
}

// call admits at t0+at and, if admitted, completes at once with v; it
// returns the admission's reason.
func (r *rig) call(at time.Duration, v gate.Verdict) string {
	r.t.Helper()
	p, ok := r.admit(at)
	if ok {
		end(p, v, at, time.Millisecond)
	}
	return p.Reason
}

func (r *rig) state(at time.Duration) circuit.State {
	return r.b.Snapshot(t0.Add(at), r.pol.Circuit).State
}
