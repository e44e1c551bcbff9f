package retry_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aponysus/rego/controlplane"
	"github.com/aponysus/rego/hedge"
	"github.com/aponysus/rego/policy"
	"github.com/aponysus/rego/regotest"
	"github.com/aponysus/rego/retry"
)

// Latencies the caller supplied are fed whatever the trigger: the caller
// may read them.
func TestSuppliedLatenciesFedUnderFixedTrigger(t *testing.T) {
	clk := regotest.NewClock(time.Time{})
	lat := hedge.NewLatencies(hedge.LatenciesOptions{Tracker: hedge.TrackerOptions{Clock: clk}})
	exec := retry.NewExecutor(retry.ExecutorOptions{
		Clock:     clk,
		Latencies: lat,
		Provider: &controlplane.StaticProvider{Policies: map[policy.PolicyKey]policy.EffectivePolicy{key: {
			Retry: policy.RetryPolicy{MaxAttempts: 1},
			Hedge: policy.HedgePolicy{Enabled: true, MaxHedges: 1, Delay: time.Hour, Trigger: policy.TriggerFixed},
		}}},
	})
	for i := 0; i < 3; i++ {
		if err := exec.Do(context.Background(), key, func(context.Context) error { return nil }); err != nil {
			t.Fatal(err)
		}
	}
	if n := lat.For(key).Count(); n != 3 {
		t.Fatalf("the supplied tracker holds %d latencies, want 3", n)
	}
}

// seenLatency is a trigger that notes whether it was given a tracker;
// blind says whether it reads latencies (hedge.LatencyReader).
type seenLatency struct {
	blind bool
	got   *atomic.Int32 // calls given a tracker
	nilN  *atomic.Int32 // calls given none
	count *atomic.Int32 // the latencies the last tracker given held
}

func (s seenLatency) Delay(in hedge.TriggerInput) (time.Duration, string, bool) {
	if in.Latency != nil {
		s.got.Add(1)
		s.count.Store(int32(in.Latency.Count()))
	} else {
		s.nilN.Add(1)
	}
	return time.Hour, "seen", true
}

func (s seenLatency) ReadsLatency() bool { return !s.blind }

// An executor keeping its own latencies tracks the calls of a trigger
// that may read them (one that says so, or any trigger that does not
// implement hedge.LatencyReader) and gives it the key's tracker; a
// trigger that says it reads none is given none. Latencies the caller
// supplied are given to, and fed by, every trigger.
func TestTriggerThatReadsNoLatencyIsNotTracked(t *testing.T) {
	for _, tc := range []struct {
		name     string
		blind    bool
		asFunc   bool // registered as a TriggerFunc (no ReadsLatency)
		supplied bool
		wantSeen bool
	}{
		{name: "reads latency", wantSeen: true},
		{name: "says it reads none", blind: true},
		{name: "TriggerFunc", asFunc: true, wantSeen: true},
		{name: "says it reads none, supplied latencies", blind: true, supplied: true, wantSeen: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got, nilN, count atomic.Int32
			trig := seenLatency{blind: tc.blind, got: &got, nilN: &nilN, count: &count}
			reg := hedge.NewRegistry()
			if tc.asFunc {
				reg.Register("seen", hedge.TriggerFunc(trig.Delay))
			} else {
				reg.Register("seen", trig)
			}
			clk := regotest.NewClock(time.Time{})
			opts := retry.ExecutorOptions{
				Clock:         clk,
				HedgeTriggers: reg,
				Provider: &controlplane.StaticProvider{Policies: map[policy.PolicyKey]policy.EffectivePolicy{key: {
					Retry: policy.RetryPolicy{MaxAttempts: 2},
					Hedge: policy.HedgePolicy{Enabled: true, MaxHedges: 1, Delay: time.Hour, Trigger: "seen"},
				}}},
			}
			var lat *hedge.Latencies
			if tc.supplied {
				lat = hedge.NewLatencies(hedge.LatenciesOptions{Tracker: hedge.TrackerOptions{Clock: clk}})
				opts.Latencies = lat
			}
			exec := retry.NewExecutor(opts)
			for i := 0; i < 3; i++ {
				if err := exec.Do(context.Background(), key, func(context.Context) error { return nil }); err != nil {
					t.Fatal(err)
				}
			}
			if tc.wantSeen && (got.Load() != 3 || nilN.Load() != 0) || !tc.wantSeen && (got.Load() != 0 || nilN.Load() != 3) {
				t.Fatalf("given a tracker %d times, none %d times; want a tracker: %v", got.Load(), nilN.Load(), tc.wantSeen)
			}
			if tc.wantSeen && count.Load() != 2 {
				t.Fatalf("the third call's tracker held %d latencies, want the first two calls'", count.Load())
			}
			if lat != nil {
				if n := lat.For(key).Count(); n != 3 {
					t.Fatalf("the supplied tracker holds %d latencies, want 3", n)
				}
			}
		})
	}
}
