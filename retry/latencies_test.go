package retry_test

import (
	"context"
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
