package budget_test

import (
	"context"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/aponysus/rego/budget"
	"github.com/aponysus/rego/policy"
	"github.com/aponysus/rego/regotest"
)

var t0 = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

func newRatio(t *testing.T, opts budget.RatioOptions) (*budget.RatioBudget, *regotest.Clock) {
	t.Helper()
	clk := regotest.NewClock(t0)
	opts.Clock = clk
	r, err := budget.NewRatioBudget(opts)
	if err != nil {
		t.Fatal(err)
	}
	return r, clk
}

func TestRatioDefaults(t *testing.T) {
	r, _ := newRatio(t, budget.RatioOptions{})
	// Floor: 10/s over 10s.
	if got := r.LimitAt(t0); got != 100 {
		t.Fatalf("limit with no traffic = %d, want the floor 100", got)
	}
	for i := 0; i < 5000; i++ {
		r.RecordRequestAt(t0)
	}
	if got := r.LimitAt(t0); got != 500 {
		t.Fatalf("limit after 5000 requests = %d, want 10%% = 500", got)
	}
}

func TestRatioOptionsErrors(t *testing.T) {
	for _, tc := range []struct {
		opts  budget.RatioOptions
		field string
	}{
		{budget.RatioOptions{Ratio: math.NaN()}, "Ratio"},
		{budget.RatioOptions{Ratio: 1e6}, "Ratio"},
		{budget.RatioOptions{MinRetriesPerSecond: math.Inf(1)}, "MinRetriesPerSecond"},
		{budget.RatioOptions{Buckets: -1}, "Buckets"},
		{budget.RatioOptions{Buckets: budget.MaxWindowBuckets + 1}, "Buckets"},
		{budget.RatioOptions{Window: -time.Second}, "Window"},
		{budget.RatioOptions{Window: 5, Buckets: 10}, "Window"},
	} {
		_, err := budget.NewRatioBudget(tc.opts)
		if err == nil || !strings.Contains(err.Error(), "RatioOptions."+tc.field) || !strings.HasPrefix(err.Error(), "budget: ") {
			t.Errorf("%+v: err = %v, want one naming RatioOptions.%s", tc.opts, err, tc.field)
		}
	}
}

func TestRatioAllowAttempt(t *testing.T) {
	r, clk := newRatio(t, budget.RatioOptions{Ratio: 0.5, MinRetriesPerSecond: -1})
	ctx, key := context.Background(), policy.PolicyKey{Name: "k"}
	ref := policy.BudgetRef{Name: "ratio"}
	// No floor and no traffic: no retries.
	if d := r.AllowAttempt(ctx, key, 1, budget.KindRetry, ref); d.Allowed || d.Reason != budget.ReasonRatioExceeded || d.Release != nil {
		t.Fatalf("retry with no traffic: %+v", d)
	}
	for i := 0; i < 4; i++ {
		if d := r.AllowAttempt(ctx, key, 0, budget.KindRetry, ref); !d.Allowed || d.Reason != budget.ReasonFirstAttempt {
			t.Fatalf("first attempt: %+v", d)
		}
	}
	// 4 requests at 50%: two retry units, hedges included.
	if d := r.AllowAttempt(ctx, key, 1, budget.KindRetry, ref); !d.Allowed || d.Reason != budget.ReasonWithinRatio {
		t.Fatalf("retry: %+v", d)
	}
	if d := r.AllowAttempt(ctx, key, 0, budget.KindHedge, ref); !d.Allowed {
		t.Fatalf("hedge: %+v", d)
	}
	if d := r.AllowAttempt(ctx, key, 2, budget.KindRetry, ref); d.Allowed {
		t.Fatalf("third retry unit allowed: %+v", d)
	}
	// The window slides: after 10s the old counts are gone.
	clk.Advance(10 * time.Second)
	if req, ret := r.StatsAt(clk.Now()); req != 0 || ret != 0 {
		t.Fatalf("after the window: %d requests, %d retries", req, ret)
	}
}

func TestRatioCost(t *testing.T) {
	r, _ := newRatio(t, budget.RatioOptions{Ratio: 1, MinRetriesPerSecond: -1})
	for i := 0; i < 10; i++ {
		r.RecordRequestAt(t0)
	}
	if !r.TakeRetryAt(t0, 7) || r.TakeRetryAt(t0, 4) || !r.TakeRetryAt(t0, 3) || r.TakeRetryAt(t0, 0) {
		t.Fatal("costs 7, 4, 3, then 1 against a limit of 10: want allowed, denied, allowed, denied")
	}
	if _, ret := r.StatsAt(t0); ret != 10 {
		t.Fatalf("retries counted = %d, want 10 (denials uncounted)", ret)
	}
}

func TestRatioFloorIsAMaximumNotASum(t *testing.T) {
	r, _ := newRatio(t, budget.RatioOptions{Ratio: 0.1, MinRetriesPerSecond: 1, Window: 10 * time.Second})
	for i := 0; i < 50; i++ {
		r.RecordRequestAt(t0)
	}
	// 10% of 50 is 5, the floor is 1/s * 10s = 10: the floor wins.
	if got := r.LimitAt(t0); got != 10 {
		t.Fatalf("limit = %d, want 10", got)
	}
	for i := 0; i < 1000; i++ {
		r.RecordRequestAt(t0)
	}
	if got := r.LimitAt(t0); got != 105 {
		t.Fatalf("limit = %d, want 105", got)
	}
}

func TestRatioSlidingWindow(t *testing.T) {
	// 10 buckets of 1s. Requests at second 0 leave the window at second 10.
	r, _ := newRatio(t, budget.RatioOptions{Ratio: 1, MinRetriesPerSecond: -1})
	for i := 0; i < 10; i++ {
		r.RecordRequestAt(t0)
	}
	at := func(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }
	if !r.TakeRetryAt(at(9.9), 10) {
		t.Fatal("retries within the window denied")
	}
	if r.TakeRetryAt(at(9.95), 1) {
		t.Fatal("eleventh retry allowed")
	}
	// At 10s the requests have left the window but the retries (bucket 9)
	// have not, and there is no floor.
	if r.TakeRetryAt(at(10), 1) {
		t.Fatal("retry allowed after the requests left the window")
	}
	if req, ret := r.StatsAt(at(10)); req != 0 || ret != 10 {
		t.Fatalf("at 10s: %d requests, %d retries; want 0, 10", req, ret)
	}
	if req, ret := r.StatsAt(at(19)); req != 0 || ret != 0 {
		t.Fatalf("at 19s: %d requests, %d retries; want 0, 0", req, ret)
	}
}

func TestRatioStaleTime(t *testing.T) {
	r, _ := newRatio(t, budget.RatioOptions{Ratio: 1})
	r.RecordRequestAt(t0.Add(time.Hour))
	// A caller more than a window behind finds its bucket gone: its retry
	// is denied rather than counted against a bucket it does not own.
	if r.TakeRetryAt(t0.Add(time.Hour-10*time.Second), 1) {
		t.Fatal("stale retry allowed")
	}
	// Times before the budget existed count as its creation.
	r2, _ := newRatio(t, budget.RatioOptions{})
	r2.RecordRequestAt(t0.Add(-time.Hour))
	if req, _ := r2.StatsAt(t0); req != 1 {
		t.Fatalf("request before the epoch counted %d times, want 1", req)
	}
}

func TestRatioNegativeRatioLeavesFloor(t *testing.T) {
	r, _ := newRatio(t, budget.RatioOptions{Ratio: -1, MinRetriesPerSecond: 0.5, Window: 4 * time.Second, Buckets: 4})
	for i := 0; i < 1000; i++ {
		r.RecordRequestAt(t0)
	}
	if got := r.LimitAt(t0); got != 2 {
		t.Fatalf("limit = %d, want the floor 0.5/s * 4s = 2", got)
	}
}

func TestRatioRealClock(t *testing.T) {
	r, err := budget.NewRatioBudget(budget.RatioOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, key, ref := context.Background(), policy.PolicyKey{}, policy.BudgetRef{}
	if d := r.AllowAttempt(ctx, key, 0, budget.KindRetry, ref); !d.Allowed {
		t.Fatal(d)
	}
	if d := r.AllowAttempt(ctx, key, 1, budget.KindRetry, ref); !d.Allowed {
		t.Fatalf("retry under the floor denied: %+v", d)
	}
	if req, ret := r.StatsAt(time.Now()); req != 1 || ret != 1 {
		t.Fatalf("stats = %d, %d; want 1, 1", req, ret)
	}
}
