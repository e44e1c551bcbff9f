package retry_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aponysus/rego/controlplane"
	"github.com/aponysus/rego/policy"
	"github.com/aponysus/rego/regotest"
	"github.com/aponysus/rego/retry"
)

// readCounter is a virtual clock that counts its readings.
type readCounter struct {
	*regotest.Clock
	reads atomic.Int64
}

func (c *readCounter) Now() time.Time {
	c.reads.Add(1)
	return c.Clock.Now()
}

// A successful call with a closed breaker reads the clock only as much as
// the breaker's rules need: not at all for consecutive failures, the end
// of the attempt for a failure-rate rule, its start and end when slow
// calls are counted.
func TestBreakerClockReadings(t *testing.T) {
	for _, tc := range []struct {
		name  string
		cfg   policy.CircuitPolicy
		reads int64
	}{
		{"consecutive", policy.CircuitPolicy{Enabled: true, FailureThreshold: 3}, 0},
		{"failure rate", policy.CircuitPolicy{Enabled: true, FailureRateThreshold: 0.5}, 1},
		{"failure rate, slow calls counted", policy.CircuitPolicy{Enabled: true, FailureRateThreshold: 0.5, SlowCallDuration: time.Second}, 2},
		{"slow-call rule", policy.CircuitPolicy{Enabled: true, SlowCallDuration: time.Second, SlowCallRateThreshold: 0.5}, 2},
	} {
		clk := &readCounter{Clock: regotest.NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))}
		exec := retry.NewExecutor(retry.ExecutorOptions{Clock: clk, Provider: &controlplane.StaticProvider{
			Default: policy.EffectivePolicy{Retry: policy.RetryPolicy{MaxAttempts: 2}, Circuit: tc.cfg},
		}})
		do := func() {
			if err := exec.Do(context.Background(), policy.ParseKey("svc.Op"), func(context.Context) error { return nil }); err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
		}
		do() // the first call resolves and caches the gate plan
		clk.reads.Store(0)
		do()
		if n := clk.reads.Load(); n != tc.reads {
			t.Errorf("%s: %d clock readings, want %d", tc.name, n, tc.reads)
		}
	}
}
