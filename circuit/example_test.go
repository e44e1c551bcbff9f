package circuit_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aponysus/rego/circuit"
	"github.com/aponysus/rego/controlplane"
	"github.com/aponysus/rego/gate"
	"github.com/aponysus/rego/policy"
	"github.com/aponysus/rego/regotest"
	"github.com/aponysus/rego/retry"
)

func Example() {
	key := policy.ParseKey("inventory.Reserve")
	clk := regotest.NewClock(time.Time{})
	exec := retry.NewExecutor(retry.ExecutorOptions{
		Clock: clk,
		Provider: &controlplane.StaticProvider{Policies: map[policy.PolicyKey]policy.EffectivePolicy{key: {
			Retry:   policy.RetryPolicy{MaxAttempts: 1},
			Circuit: policy.CircuitPolicy{Enabled: true, FailureThreshold: 2, Cooldown: 30 * time.Second},
		}}},
	})
	down := func(context.Context) error { return errors.New("connection refused") }
	for i := 0; i < 3; i++ {
		tl, err := exec.DoWithTimeline(context.Background(), key, down)
		fmt.Printf("call %d: breaker %s: %v\n", i, tl.Attempts[0].CircuitReason, err)
	}
	clk.Advance(30 * time.Second)
	tl, err := exec.DoWithTimeline(context.Background(), key, func(context.Context) error { return nil })
	fmt.Printf("after the cooldown: breaker %s: %v\n", tl.Attempts[0].CircuitReason, err)
	fmt.Println(tl.Attempts[0].CircuitReason == circuit.ReasonProbe)
	// Output:
	// call 0: breaker closed: connection refused
	// call 1: breaker closed: connection refused
	// call 2: breaker open: circuit: breaker for "inventory.Reserve" is open (probe in 30s)
	// after the cooldown: breaker half_open_probe: <nil>
	// true
}

// The breaker as a gate, on virtual time: two failures open it, the
// cooldown lets a probe through, the probe's success closes it, and a
// failure from before the opening, arriving late, counts for nothing.
func ExampleRegistry_Admit() {
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	reg := &circuit.Registry{OnStateChange: func(c circuit.StateChange) {
		fmt.Printf("  %s: %s -> %s (%s)\n", c.At.Sub(t0), c.From, c.To, c.Cause)
	}}
	pol := &policy.EffectivePolicy{Key: policy.ParseKey("inventory.Reserve"), Circuit: policy.CircuitPolicy{
		Enabled: true, FailureThreshold: 2, Cooldown: 30 * time.Second,
	}}
	admit := func(at time.Duration) gate.Permit {
		p, err := reg.Admit(context.Background(), gate.Attempt{Key: pol.Key, Policy: pol}, t0.Add(at))
		fmt.Printf("%v: %s %v\n", at, p.Reason, err)
		return p
	}
	fail := gate.Result{Verdict: gate.Failed}
	late := admit(0)
	for i := 0; i < 2; i++ {
		fail.End = t0.Add(time.Second)
		admit(time.Second).Done(fail)
	}
	admit(10 * time.Second)
	probe := admit(31 * time.Second)
	probe.Done(gate.Result{Verdict: gate.Answered, End: t0.Add(31 * time.Second)})
	fail.End = t0.Add(32 * time.Second)
	late.Done(fail) // admitted before the opening: ignored
	sn := reg.For(pol.Key).Snapshot(t0.Add(32*time.Second), pol.Circuit)
	fmt.Println(sn.State, sn.ConsecutiveFailures)
	// Output:
	// 0s: closed <nil>
	// 1s: closed <nil>
	// 1s: closed <nil>
	//   1s: closed -> open (consecutive_failures)
	// 10s: open circuit: breaker for "inventory.Reserve" is open (probe in 21s)
	//   31s: open -> half_open (cooldown)
	// 31s: half_open_probe <nil>
	//   31s: half_open -> closed (probes_succeeded)
	// closed 0
}
