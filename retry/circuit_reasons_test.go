package retry_test

// The breaker's reasons and causes as docs/circuit.md spells them, checked
// as literal strings through the executor and the registry's events.

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aponysus/rego/circuit"
	"github.com/aponysus/rego/gate"
	"github.com/aponysus/rego/observe"
	"github.com/aponysus/rego/policy"
	"github.com/aponysus/rego/retry"
)

func TestDocumentedCircuitReasonsAndCauses(t *testing.T) {
	var events []observe.Event
	breakers := &circuit.Registry{OnStateChange: func(c circuit.StateChange) { events = append(events, c.Event()) }}
	exec, key, clk := reasonsExec(policy.EffectivePolicy{
		Circuit: policy.CircuitPolicy{Enabled: true, FailureThreshold: 1, Cooldown: time.Second},
	}, retry.ExecutorOptions{Breakers: breakers})
	fail := func(context.Context) error { return errors.New("svc: down") }
	ok := func(context.Context) error { return nil }
	reason := func(op func(context.Context) error) (string, error) {
		t.Helper()
		tl, err := exec.DoWithTimeline(context.Background(), key, op)
		if len(tl.Attempts) != 1 {
			t.Fatalf("records %+v", tl.Attempts)
		}
		return tl.Attempts[0].CircuitReason, err
	}
	lastEvent := func(from, to, cause string) {
		t.Helper()
		if len(events) == 0 {
			t.Fatalf("no event, want %s -> %s (%s)", from, to, cause)
		}
		ev := events[len(events)-1]
		if ev.Kind != "breaker_state" || ev.From != from || ev.To != to || ev.Detail != cause || ev.Key != key {
			t.Fatalf("event %+v, want breaker_state %s -> %s (%s)", ev, from, to, cause)
		}
	}

	if r, _ := reason(fail); r != "closed" {
		t.Fatalf("reason %q, want closed", r)
	}
	lastEvent("closed", "open", "consecutive_failures")
	r, err := reason(ok)
	if r != "open" || !errors.Is(err, circuit.ErrOpen) || !errors.Is(err, gate.ErrRefused) {
		t.Fatalf("reason %q, err %v; want open, circuit.ErrOpen", r, err)
	}
	clk.Advance(time.Second)
	if r, err := reason(ok); r != "half_open_probe" || err != nil {
		t.Fatalf("reason %q, err %v; want a successful half_open_probe", r, err)
	}
	lastEvent("half_open", "closed", "probes_succeeded")

	if err := breakers.ForceOpen(key, clk.Now()); err != nil {
		t.Fatal(err)
	}
	lastEvent("closed", "open", "force_open")
	if r, err := reason(ok); r != "forced_open" || !errors.Is(err, circuit.ErrOpen) {
		t.Fatalf("reason %q, err %v; want forced_open", r, err)
	}
	if err := breakers.ForceClose(key, clk.Now()); err != nil {
		t.Fatal(err)
	}
	lastEvent("open", "closed", "force_close")
	if r, _ := reason(fail); r != "forced_closed" {
		t.Fatalf("reason %q, want forced_closed", r)
	}
	breakers.Reset(key, clk.Now())
	if ev := events[len(events)-1]; ev.Detail != "reset" {
		t.Fatalf("event %+v, want the reset", ev)
	}
}

func TestDocumentedCircuitSlowCallsThroughTheExecutor(t *testing.T) {
	// Successful attempts slower than SlowCallDuration count as slow:
	// with every attempt slow, the slow-call rule opens the breaker once
	// MinThroughput attempts ended in the window.
	var events []observe.Event
	breakers := &circuit.Registry{OnStateChange: func(c circuit.StateChange) { events = append(events, c.Event()) }}
	exec, key, clk := reasonsExec(policy.EffectivePolicy{
		Circuit: policy.CircuitPolicy{
			Enabled: true, SlowCallDuration: 100 * time.Millisecond, SlowCallRateThreshold: 0.5,
			MinThroughput: 3, Window: 10 * time.Second, Cooldown: time.Second,
		},
	}, retry.ExecutorOptions{Breakers: breakers})
	slow := func(context.Context) error {
		clk.Advance(200 * time.Millisecond)
		return nil
	}
	for i := 0; i < 3; i++ {
		if err := exec.Do(context.Background(), key, slow); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	if len(events) != 1 || events[0].To != "open" || events[0].Detail != "slow_call_rate" {
		t.Fatalf("events %+v, want the breaker opened by slow_call_rate", events)
	}
	if err := exec.Do(context.Background(), key, slow); !errors.Is(err, circuit.ErrOpen) {
		t.Fatalf("err = %v, want circuit.ErrOpen", err)
	}
}

func TestDocumentedCircuitFailureRateThroughTheExecutor(t *testing.T) {
	// Failures alternate with successes, so no run of consecutive failures
	// opens the breaker; half of the attempts failing does, once
	// MinThroughput attempts ended in the window.
	var events []observe.Event
	breakers := &circuit.Registry{OnStateChange: func(c circuit.StateChange) { events = append(events, c.Event()) }}
	exec, key, clk := reasonsExec(policy.EffectivePolicy{
		Circuit: policy.CircuitPolicy{
			Enabled: true, FailureThreshold: 100, FailureRateThreshold: 0.5,
			MinThroughput: 4, Window: 10 * time.Second, Cooldown: time.Second,
		},
	}, retry.ExecutorOptions{Breakers: breakers})
	for i := 0; i < 4; i++ {
		clk.Advance(100 * time.Millisecond)
		failing := i%2 == 1
		_ = exec.Do(context.Background(), key, func(context.Context) error {
			if failing {
				return errors.New("svc: down")
			}
			return nil
		})
		if i < 3 && len(events) != 0 {
			t.Fatalf("after %d attempts: events %+v", i+1, events)
		}
	}
	if len(events) != 1 || events[0].To != "open" || events[0].Detail != "failure_rate" {
		t.Fatalf("events %+v, want the breaker opened by failure_rate", events)
	}
}
