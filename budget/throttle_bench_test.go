package budget_test

import (
	"testing"

	"github.com/aponysus/rego/budget"
	"github.com/aponysus/rego/clock"
)

func newBenchThrottle(b *testing.B, clk clock.Clock) *budget.Throttle {
	th, err := budget.NewThrottle(budget.ThrottleOptions{Clock: clk})
	if err != nil {
		b.Fatal(err)
	}
	return th
}

// BenchmarkThrottleAllowAttempt measures the healthy path: a window with
// no failures, probability zero, no random draw.
func BenchmarkThrottleAllowAttempt(b *testing.B) {
	for _, clk := range []struct {
		name string
		c    clock.Clock
	}{{"realclock", nil}, {"frozenclock", frozenClock{t0}}} {
		b.Run(clk.name+"/serial", func(b *testing.B) { benchAllow(b, newBenchThrottle(b, clk.c), 0, false) })
		b.Run(clk.name+"/parallel", func(b *testing.B) { benchAllow(b, newBenchThrottle(b, clk.c), 0, true) })
	}
}

func BenchmarkThrottleRecordOutcome(b *testing.B) {
	th := newBenchThrottle(b, nil)
	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			th.RecordOutcome(benchKey, budget.KindRetry, true)
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				th.RecordOutcome(benchKey, budget.KindRetry, true)
			}
		})
	})
}

// BenchmarkThrottleAllowAttemptThrottling measures a window that throttles
// about half the attempts: the random draw is taken.
func BenchmarkThrottleAllowAttemptThrottling(b *testing.B) {
	th := newBenchThrottle(b, frozenClock{t0})
	for i := 0; i < 1000; i++ {
		th.RecordOutcome(benchKey, budget.KindRetry, i%4 == 0)
	}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		th.AllowAttempt(benchCtx, benchKey, 0, budget.KindRetry, benchRef)
	}
}
