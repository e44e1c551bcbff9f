package circuit_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aponysus/rego/circuit"
	"github.com/aponysus/rego/gate"
	"github.com/aponysus/rego/observe"
	"github.com/aponysus/rego/policy"
)

func TestStateChangeEvents(t *testing.T) {
	var got []string
	var gens []uint32
	reg := &circuit.Registry{OnStateChange: func(c circuit.StateChange) {
		got = append(got, fmt.Sprintf("%s %v %s>%s %s forced=%v", c.Key, c.At.Sub(t0), c.From, c.To, c.Cause, c.Forced))
		gens = append(gens, c.Generation)
	}}
	key := policy.ParseKey("dep.Call")
	r := newRig(t, reg.For(key), policy.CircuitPolicy{FailureThreshold: 2, Cooldown: time.Second, FailureRateThreshold: 0.5, MinThroughput: 4})
	r.call(0, F)
	r.call(10*ms, F)                          // consecutive
	r.call(time.Second+10*ms, S)              // cooldown, probe succeeded
	r.call(1100*ms, S)                        // no change
	r.call(1200*ms, F)                        // 1 of 2 consecutive; 1 of 2 in the window
	r.call(1300*ms, S)                        // 3 calls
	r.call(1400*ms, F)                        // 4 calls, 2 failed: the rate
	p := r.must(2400*ms, circuit.ReasonProbe) // cooldown
	end(p, F, 2500*ms, 100*ms)                // probe failed
	reg.ForceClose(key, t0.Add(3*time.Second))
	reg.ForceClose(key, t0.Add(3*time.Second)) // no change, no event
	reg.ForceOpen(key, t0.Add(4*time.Second))
	reg.Reset(key, t0.Add(5*time.Second))
	reg.Reset(key, t0.Add(5*time.Second)) // no change, no event
	want := []string{
		"dep.Call 10ms closed>open consecutive_failures forced=false",
		"dep.Call 1.01s open>half_open cooldown forced=false",
		"dep.Call 1.01s half_open>closed probes_succeeded forced=false",
		"dep.Call 1.4s closed>open failure_rate forced=false",
		"dep.Call 2.4s open>half_open cooldown forced=false",
		"dep.Call 2.5s half_open>open probe_failed forced=false",
		"dep.Call 3s open>closed force_close forced=true",
		"dep.Call 4s closed>open force_open forced=true",
		"dep.Call 5s open>closed reset forced=false",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("events:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for i := 1; i < len(gens); i++ {
		if gens[i] <= gens[i-1] {
			t.Fatalf("generations %v do not grow", gens)
		}
	}
	ev := circuit.StateChange{Key: key, From: circuit.Closed, To: circuit.HalfOpen, At: t0, Cause: circuit.CauseCooldown}.Event()
	if ev != (observe.Event{Kind: observe.EventBreakerState, Key: key, Time: t0, From: "closed", To: "half_open", Detail: "cooldown"}) {
		t.Fatalf("%+v", ev)
	}
}

// TestPanickingHook: a hook that panics on the change to half-open leaves
// the breaker consistent: no probe slot is taken by the admission that
// panicked.
func TestPanickingHook(t *testing.T) {
	reg := &circuit.Registry{OnStateChange: func(c circuit.StateChange) {
		if c.To == circuit.HalfOpen {
			panic("hook")
		}
	}}
	r := newRig(t, reg.For(policy.ParseKey("dep.Call")), policy.CircuitPolicy{FailureThreshold: 1, Cooldown: time.Second})
	r.call(0, F)
	func() {
		defer func() {
			if recover() == nil {
				t.Fatal("the hook's panic must reach the caller")
			}
		}()
		r.admit(time.Second)
	}()
	p := r.must(time.Second, circuit.ReasonProbe)
	r.must(time.Second, circuit.ReasonProbeBusy)
	end(p, S, time.Second, 0)
	r.must(time.Second, circuit.ReasonClosed)
}

func TestRegistryGate(t *testing.T) {
	reg := &circuit.Registry{MaxKeys: 1}
	pol := &policy.EffectivePolicy{Circuit: policy.CircuitPolicy{Enabled: true, FailureThreshold: 1}}
	a := gate.Attempt{Key: policy.ParseKey("a.x"), Policy: pol}
	p, err := reg.Admit(context.Background(), a, t0)
	if err != nil || p.Reason != circuit.ReasonClosed || p.Completer != reg.For(a.Key) {
		t.Fatalf("%+v %v", p, err)
	}
	p.Done(gate.Result{Verdict: gate.Failed, End: t0})
	if _, err := reg.Admit(context.Background(), a, t0); err == nil {
		t.Fatal("the key's breaker must be open")
	}
	other := gate.Attempt{Key: policy.ParseKey("b.x"), Policy: pol}
	if p, err := reg.Admit(context.Background(), other, t0); err != nil || p.Reason != circuit.ReasonUntracked || p.Completer != nil || reg.Overflowed() != 1 {
		t.Fatalf("%+v %v", p, err)
	}
}
