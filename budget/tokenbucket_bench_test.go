package budget_test

import (
	"testing"

	"github.com/aponysus/rego/budget"
	"github.com/aponysus/rego/clock"
)

// A bucket that never runs dry at benchmark speed: the allow path.
func newBenchBucket(clk clock.Clock) *budget.TokenBucketBudget {
	return budget.NewTokenBucketBudgetClock(1<<30, 1e10, clk)
}

func BenchmarkTokenBucketAllowAttempt(b *testing.B) {
	for _, clk := range []struct {
		name string
		c    clock.Clock
	}{{"realclock", nil}, {"frozenclock", frozenClock{t0}}} {
		b.Run(clk.name+"/first/serial", func(b *testing.B) { benchAllow(b, newBenchBucket(clk.c), 0, false) })
		b.Run(clk.name+"/retry/serial", func(b *testing.B) { benchAllow(b, newBenchBucket(clk.c), 1, false) })
		b.Run(clk.name+"/retry/parallel", func(b *testing.B) { benchAllow(b, newBenchBucket(clk.c), 1, true) })
	}
}

func BenchmarkTokenBucketTakeAt(b *testing.B) {
	tb := newBenchBucket(frozenClock{t0})
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if !tb.TakeAt(t0, 1) {
			b.Fatal("denied")
		}
	}
}
