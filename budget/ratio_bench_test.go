package budget_test

import (
	"context"
	"testing"
	"time"

	"github.com/aponysus/rego/budget"
	"github.com/aponysus/rego/clock"
	"github.com/aponysus/rego/policy"
)

// frozenClock reads a fixed time without a lock: benchmarks on it measure
// a budget without the cost of reading the wall clock.
type frozenClock struct{ t time.Time }

func (c frozenClock) Now() time.Time                              { return c.t }
func (c frozenClock) NewTimer(time.Duration) clock.Timer          { panic("not used") }
func (c frozenClock) AfterFunc(time.Duration, func()) clock.Timer { panic("not used") }

var benchCtx, benchKey, benchRef = context.Background(), policy.PolicyKey{Namespace: "svc", Name: "op"}, policy.BudgetRef{Name: "b"}

// benchAllow runs AllowAttempt serially or in parallel and fails the
// benchmark if an attempt it expects allowed is denied.
func benchAllow(b *testing.B, bg budget.Budget, idx int, parallel bool) {
	b.ReportAllocs()
	if !parallel {
		for i := 0; i < b.N; i++ {
			if !bg.AllowAttempt(benchCtx, benchKey, idx, budget.KindRetry, benchRef).Allowed {
				b.Fatal("denied")
			}
		}
		return
	}
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if !bg.AllowAttempt(benchCtx, benchKey, idx, budget.KindRetry, benchRef).Allowed {
				panic("denied")
			}
		}
	})
}

func newBenchRatio(b *testing.B, clk clock.Clock) *budget.RatioBudget {
	// A floor so high that every retry is allowed: the allow path.
	r, err := budget.NewRatioBudget(budget.RatioOptions{MinRetriesPerSecond: 1e15, Clock: clk})
	if err != nil {
		b.Fatal(err)
	}
	return r
}

func BenchmarkRatioAllowAttempt(b *testing.B) {
	for _, clk := range []struct {
		name string
		c    clock.Clock
	}{{"realclock", nil}, {"frozenclock", frozenClock{t0}}} {
		for _, tc := range []struct {
			name string
			idx  int
		}{{"first", 0}, {"retry", 1}} {
			b.Run(clk.name+"/"+tc.name+"/serial", func(b *testing.B) { benchAllow(b, newBenchRatio(b, clk.c), tc.idx, false) })
			b.Run(clk.name+"/"+tc.name+"/parallel", func(b *testing.B) { benchAllow(b, newBenchRatio(b, clk.c), tc.idx, true) })
		}
	}
}

func BenchmarkRatioTakeRetryAt(b *testing.B) {
	r := newBenchRatio(b, frozenClock{t0})
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if !r.TakeRetryAt(t0, 1) {
			b.Fatal("denied")
		}
	}
}

// BenchmarkRatioAllowAttemptAt: a first attempt at a reading the caller
// already has (the executor's), against BenchmarkRatioAllowAttempt's
// realclock/first/serial, which reads the clock itself.
func BenchmarkRatioAllowAttemptAt(b *testing.B) {
	r := newBenchRatio(b, nil)
	now := time.Now()
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if !r.AllowAttemptAt(benchCtx, benchKey, 0, budget.KindRetry, benchRef, now).Allowed {
			b.Fatal("denied")
		}
	}
}
