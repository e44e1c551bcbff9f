package retry_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aponysus/rego/circuit"
	"github.com/aponysus/rego/controlplane"
	"github.com/aponysus/rego/policy"
	"github.com/aponysus/rego/regotest"
	"github.com/aponysus/rego/retry"
)

// circuitExec is an executor with one attempt per call and the breaker of
// cfg, in the given engine mode.
func circuitExec(clk *regotest.Clock, reg *circuit.Registry, cfg policy.CircuitPolicy, concurrent bool) *retry.Executor {
	exec := retry.NewExecutor(retry.ExecutorOptions{
		Clock:    clk,
		Breakers: reg,
		Provider: &controlplane.StaticProvider{Policies: map[policy.PolicyKey]policy.EffectivePolicy{key: {
			Retry:   policy.RetryPolicy{MaxAttempts: 1},
			Circuit: cfg,
		}}},
	})
	retry.SetConcurrent(exec, concurrent)
	return exec
}

// An attempt launched before the breaker opened, whose failure arrives
// after a probe closed it, counts for nothing: one fresh failure does not
// reopen a breaker that needs two.
func TestCircuitLateFailureOfEarlierGeneration(t *testing.T) {
	for _, concurrent := range []bool{false, true} {
		t.Run(mode(concurrent), func(t *testing.T) {
			clk := regotest.NewClock(time.Time{})
			reg := circuit.NewRegistry()
			cfg := policy.CircuitPolicy{Enabled: true, FailureThreshold: 2, Cooldown: time.Second}
			exec := circuitExec(clk, reg, cfg, concurrent)
			ctx := context.Background()
			fail := func(context.Context) error { return errA }

			// Call A is admitted while the breaker is closed and hangs.
			started, release := make(chan struct{}), make(chan struct{})
			late := goCall(exec, ctx, func(context.Context) (string, error) {
				close(started)
				<-release
				return "", errA
			}, nil)
			<-started
			// Two failures open it; after the cooldown a probe closes it.
			for i := 0; i < 2; i++ {
				if err := exec.Do(ctx, key, fail); !errors.Is(err, errA) {
					t.Fatalf("failure %d: %v", i, err)
				}
			}
			if err := exec.Do(ctx, key, fail); !errors.Is(err, circuit.ErrOpen) {
				t.Fatalf("not open: %v", err)
			}
			clk.Advance(time.Second)
			tl, err := exec.DoWithTimeline(ctx, key, func(context.Context) error { return nil })
			if err != nil || tl.Attempts[0].CircuitReason != circuit.ReasonProbe {
				t.Fatalf("probe: %v %+v", err, tl.Attempts)
			}
			// A's failure arrives now: it belongs to the first closed
			// generation.
			close(release)
			if res := <-late; !errors.Is(res.err, errA) || res.tl.Attempts[0].CircuitReason != circuit.ReasonClosed {
				t.Fatalf("late call: %v %+v", res.err, res.tl.Attempts)
			}
			// One fresh failure: still closed.
			if err := exec.Do(ctx, key, fail); !errors.Is(err, errA) {
				t.Fatalf("fresh failure: %v", err)
			}
			if s := reg.For(key).State(clk.Now(), cfg); s != circuit.Closed {
				t.Fatalf("state %v after one fresh failure", s)
			}
			tl, err = exec.DoWithTimeline(ctx, key, func(context.Context) error { return nil })
			if err != nil || tl.Attempts[0].CircuitReason != circuit.ReasonClosed {
				t.Fatalf("after one fresh failure: %v %+v", err, tl.Attempts)
			}
		})
	}
}

// The slow-call rule sees the attempts' real latencies, and the window the
// executor's clock.
func TestCircuitSlowCallsOpenThroughExecutor(t *testing.T) {
	for _, concurrent := range []bool{false, true} {
		t.Run(mode(concurrent), func(t *testing.T) {
			clk := regotest.NewClock(time.Time{})
			reg := circuit.NewRegistry()
			cfg := policy.CircuitPolicy{
				Enabled: true, FailureThreshold: 100, Cooldown: time.Second, Window: 10 * time.Second,
				SlowCallDuration: 100 * time.Millisecond, SlowCallRateThreshold: 1, MinThroughput: 2,
			}
			exec := circuitExec(clk, reg, cfg, concurrent)
			ctx := context.Background()
			start := clk.Now()
			slow := func(context.Context) error { clk.Advance(200 * time.Millisecond); return nil }
			for i := 0; i < 2; i++ {
				if err := exec.Do(ctx, key, slow); err != nil {
					t.Fatalf("call %d: %v", i, err)
				}
			}
			if err := exec.Do(ctx, key, slow); !errors.Is(err, circuit.ErrOpen) {
				t.Fatalf("two slow successes did not open the breaker: %v", err)
			}
			var at time.Time
			reg.Range(func(_ policy.PolicyKey, b *circuit.Breaker) bool {
				at = b.Snapshot(clk.Now(), cfg).OpenUntil
				return true
			})
			want := start.Add(400 * time.Millisecond).Add(time.Second)
			if !at.Equal(want) {
				t.Fatalf("open until %v, want %v (opened when the second slow call ended)", at, want)
			}
		})
	}
}

func mode(concurrent bool) string {
	if concurrent {
		return "concurrent"
	}
	return "inline"
}
