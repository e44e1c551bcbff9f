package retry_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/aponysus/rego/circuit"
	"github.com/aponysus/rego/controlplane"
	"github.com/aponysus/rego/observe"
	"github.com/aponysus/rego/policy"
	"github.com/aponysus/rego/regotest"
	"github.com/aponysus/rego/retry"
)

func breakerExec(clk *regotest.Clock, mod func(*retry.ExecutorOptions)) *retry.Executor {
	opts := retry.ExecutorOptions{
		Clock: clk,
		Provider: &controlplane.StaticProvider{Policies: map[policy.PolicyKey]policy.EffectivePolicy{key: {
			Retry:   policy.RetryPolicy{MaxAttempts: 1},
			Circuit: policy.CircuitPolicy{Enabled: true, FailureThreshold: 3, Cooldown: time.Second},
		}}},
	}
	if mod != nil {
		mod(&opts)
	}
	return retry.NewExecutor(opts)
}

func TestCircuitOpensFailsFastAndRecovers(t *testing.T) {
	clk := regotest.NewClock(time.Time{})
	exec := breakerExec(clk, nil)
	ctx := context.Background()
	calls := 0
	failing := func(context.Context) error { calls++; return errA }
	for i := 0; i < 3; i++ {
		tl, err := exec.DoWithTimeline(ctx, key, failing)
		if !errors.Is(err, errA) || tl.Attempts[0].CircuitReason != circuit.ReasonClosed {
			t.Fatalf("call %d: %v %+v", i, err, tl.Attempts)
		}
	}
	// Open: the dependency is not called, the call fails at once.
	tl, err := exec.DoWithTimeline(ctx, key, failing)
	var oe *circuit.OpenError
	if calls != 3 || !errors.Is(err, circuit.ErrOpen) || !errors.As(err, &oe) || oe.RetryAfter != time.Second {
		t.Fatalf("calls %d err %v", calls, err)
	}
	r := tl.Attempts[0]
	if r.BudgetAllowed || r.CircuitReason != circuit.ReasonOpen || tl.Attributes[observe.AttrStopReason] != retry.StopCircuitOpen {
		t.Fatalf("record %+v attrs %v", r, tl.Attributes)
	}
	// After the cooldown one probe goes through; it fails: open again.
	clk.Advance(time.Second)
	tl, err = exec.DoWithTimeline(ctx, key, failing)
	if calls != 4 || !errors.Is(err, errA) || tl.Attempts[0].CircuitReason != circuit.ReasonProbe {
		t.Fatalf("calls %d err %v %+v", calls, err, tl.Attempts)
	}
	if _, err = exec.DoWithTimeline(ctx, key, failing); !errors.Is(err, circuit.ErrOpen) || calls != 4 {
		t.Fatalf("after a failed probe: %v", err)
	}
	// The next probe succeeds: closed.
	clk.Advance(time.Second)
	ok := func(context.Context) error { calls++; return nil }
	if tl, err = exec.DoWithTimeline(ctx, key, ok); err != nil || tl.Attempts[0].CircuitReason != circuit.ReasonProbe {
		t.Fatalf("probe: %v %+v", err, tl.Attempts)
	}
	if tl, err = exec.DoWithTimeline(ctx, key, ok); err != nil || tl.Attempts[0].CircuitReason != circuit.ReasonClosed {
		t.Fatalf("closed: %v %+v", err, tl.Attempts)
	}
}

// A probe that ends without an outcome (it panicked, or the caller gave up)
// gives its slot back, so the next call can probe.
func TestCircuitProbeReleasedOnEveryPath(t *testing.T) {
	for name, probe := range map[string]func(context.Context) error{
		"panic": func(context.Context) error { panic("boom") },
		"cancelled": func(ctx context.Context) error {
			return context.Canceled
		},
	} {
		t.Run(name, func(t *testing.T) {
			clk := regotest.NewClock(time.Time{})
			reg := circuit.NewRegistry()
			exec := breakerExec(clk, func(o *retry.ExecutorOptions) { o.Breakers = reg; o.RecoverPanics = true })
			b := reg.For(key)
			cfg := policy.CircuitPolicy{Enabled: true, FailureThreshold: 3, Cooldown: time.Second}
			for i := 0; i < 3; i++ {
				b.Done(clk.Now(), cfg, false, false)
			}
			clk.Advance(time.Second)
			ctx, cancel := context.WithCancel(context.Background())
			if name == "cancelled" {
				cancel()
				// Cancelled before the first attempt: nothing is asked of
				// the breaker. Cancel during the attempt instead.
				ctx, cancel = context.WithCancel(context.Background())
				probe = func(context.Context) error { cancel(); return context.Canceled }
			}
			defer cancel()
			_ = exec.Do(ctx, key, probe)
			if s := b.State(clk.Now(), cfg); name == "panic" && s != circuit.HalfOpen {
				t.Fatalf("state %v", s)
			}
			ok, isProbe, _, _ := b.Allow(clk.Now(), cfg)
			if !ok || !isProbe {
				t.Fatalf("the probe slot was not given back (state %v)", b.State(clk.Now(), cfg))
			}
		})
	}
}

// hedgeRefusals signals every hedge attempt record an observer gets.
type hedgeRefusals struct {
	observe.BaseObserver
	hedges chan observe.AttemptRecord
}

func (o hedgeRefusals) OnAttempt(_ context.Context, _ policy.PolicyKey, rec observe.AttemptRecord) {
	if rec.IsHedge {
		o.hedges <- rec
	}
}

func TestCircuitGatesHedges(t *testing.T) {
	clk := regotest.NewClock(time.Time{})
	obs := hedgeRefusals{hedges: make(chan observe.AttemptRecord, 1)}
	exec := retry.NewExecutor(retry.ExecutorOptions{
		Clock:    clk,
		Observer: obs,
		Provider: &controlplane.StaticProvider{Policies: map[policy.PolicyKey]policy.EffectivePolicy{key: {
			Hedge:   policy.HedgePolicy{Enabled: true, Delay: 10 * time.Millisecond},
			Circuit: policy.CircuitPolicy{Enabled: true, FailureThreshold: 1, Cooldown: time.Hour},
		}}},
	})
	release := make(chan struct{})
	started := make(chan struct{})
	// Call A: its primary waits.
	ch := goCall(exec, context.Background(), func(ctx context.Context) (string, error) {
		close(started)
		<-release
		return "primary", nil
	}, nil)
	<-started
	// Call B on the same key fails once: the breaker opens.
	if _, err := exec.DoWithTimeline(context.Background(), key, func(context.Context) error { return errA }); !errors.Is(err, errA) {
		t.Fatal(err)
	}
	// A's hedge timer fires: the open breaker refuses the hedge, and A
	// goes on waiting for its primary.
	clk.BlockUntil(1)
	clk.Advance(10 * time.Millisecond)
	// The primary answers only once the hedge was refused: were it to
	// answer as the timer fires, the call could end before the hedge is due.
	<-obs.hedges
	close(release)
	res := <-ch
	if res.err != nil || res.v != "primary" || len(res.tl.Attempts) != 2 {
		t.Fatalf("%q %v %+v", res.v, res.err, res.tl.Attempts)
	}
	h := res.tl.Attempts[1]
	if !h.IsHedge || h.BudgetAllowed || h.CircuitReason != circuit.ReasonOpen || !errors.Is(h.Err, circuit.ErrOpen) {
		t.Fatalf("hedge record %+v", h)
	}
}

// TestCircuitStress runs many concurrent calls, hedged and not, through a
// breaker that opens and probes constantly, on the real clock, and checks
// that no probe slot is ever lost: afterwards a probe is let through.
func TestCircuitStress(t *testing.T) {
	calls := 1000
	if testing.Short() {
		calls = 200
	}
	reg := circuit.NewRegistry()
	cfg := policy.CircuitPolicy{Enabled: true, FailureThreshold: 3, Cooldown: time.Millisecond}
	exec := retry.NewExecutor(retry.ExecutorOptions{
		Breakers:      reg,
		RecoverPanics: true,
		Provider: &controlplane.StaticProvider{Policies: map[policy.PolicyKey]policy.EffectivePolicy{key: {
			Retry:   policy.RetryPolicy{MaxAttempts: 3, InitialBackoff: time.Millisecond, MaxBackoff: time.Millisecond},
			Hedge:   policy.HedgePolicy{Enabled: true, Delay: time.Millisecond},
			Circuit: cfg,
		}}},
	})
	var wg sync.WaitGroup
	for i := 0; i < calls; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), time.Duration(1+i%5)*time.Millisecond)
			defer cancel()
			_ = exec.Do(ctx, key, func(ctx context.Context) error {
				switch i % 7 {
				case 0:
					panic("boom")
				case 1, 2, 3:
					return errA
				case 4:
					<-ctx.Done()
					return ctx.Err()
				}
				return nil
			})
		}(i)
	}
	wg.Wait()
	b := reg.For(key)
	deadline := time.Now().Add(5 * time.Second)
	for {
		// Trip it for sure, then wait out the cooldown: a probe must be
		// let through, unless a lost slot keeps it busy forever.
		for j := 0; j < cfg.FailureThreshold; j++ {
			b.Done(time.Now(), cfg, false, false)
		}
		time.Sleep(2 * cfg.Cooldown)
		ok, probe, reason, _ := b.Allow(time.Now(), cfg)
		if ok && probe {
			b.Release(true)
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no probe let through: %s", reason)
		}
	}
}
