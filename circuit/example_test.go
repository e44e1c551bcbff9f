package circuit_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aponysus/rego/circuit"
	"github.com/aponysus/rego/controlplane"
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
