package budget_test

import (
	"context"
	"testing"
	"time"

	"github.com/aponysus/rego/budget"
	"github.com/aponysus/rego/clock"
	"github.com/aponysus/rego/policy"
	"github.com/aponysus/rego/regotest"
)

var timedStart = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// Each built-in budget that reads the time reports the clock it reads,
// the one it was built on or the wall clock.
func TestTimedBudgetsReportTheirClock(t *testing.T) {
	clk := regotest.NewClock(timedStart)
	r, err := budget.NewRatioBudget(budget.RatioOptions{Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	th, err := budget.NewThrottle(budget.ThrottleOptions{Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range []budget.TimedBudget{r, th, budget.NewTokenBucketBudgetClock(1, 1, clk)} {
		if b.Clock() != clock.Clock(clk) {
			t.Errorf("%T.Clock() = %v", b, b.Clock())
		}
	}
	if !clock.IsReal(budget.NewTokenBucketBudget(1, 1).Clock()) {
		t.Error("a bucket built without a clock does not report the wall clock")
	}
}

// The ratio budget counts a first attempt at the time it is given, and at
// its clock's time when given the zero time.
func TestRatioAllowAttemptAt(t *testing.T) {
	clk := regotest.NewClock(timedStart)
	r, err := budget.NewRatioBudget(budget.RatioOptions{Window: time.Second, Buckets: 1, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	later := timedStart.Add(time.Hour)
	ctx := context.Background()
	for _, tc := range []struct{ at, want time.Time }{{time.Time{}, timedStart}, {later, later}} {
		if d := r.AllowAttemptAt(ctx, policy.PolicyKey{}, 0, budget.KindRetry, policy.BudgetRef{}, tc.at); !d.Allowed {
			t.Fatal(d)
		}
		if req, _ := r.StatsAt(tc.want); req != 1 {
			t.Fatalf("asked at %v: requests in the window ending at %v = %d, want 1", tc.at, tc.want, req)
		}
	}
}

// The token bucket refills up to the time it is given, and up to its
// clock's time when given the zero time.
func TestTokenBucketAllowAttemptAt(t *testing.T) {
	clk := regotest.NewClock(timedStart)
	b := budget.NewTokenBucketBudgetClock(1, 1, clk)
	ctx := context.Background()
	retryAt := func(now time.Time) bool {
		return b.AllowAttemptAt(ctx, policy.PolicyKey{}, 1, budget.KindRetry, policy.BudgetRef{}, now).Allowed
	}
	if !retryAt(timedStart) || retryAt(timedStart) {
		t.Fatal("a bucket of one token did not allow exactly one retry")
	}
	if retryAt(time.Time{}) {
		t.Fatal("the zero time did not read the bucket's clock (still empty)")
	}
	if !retryAt(timedStart.Add(time.Second)) {
		t.Fatal("a second later by the caller's reading, the bucket did not refill")
	}
}
