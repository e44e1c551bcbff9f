package sim_test

import (
	"math/rand"
	"testing"
	"time"

	"github.com/aponysus/rego/budget"
	"github.com/aponysus/rego/clock"
	"github.com/aponysus/rego/policy"
	"github.com/aponysus/rego/sim"
)

// Budget factories shared by the reproductions.

func noBudget() func(clock.Clock, *rand.Rand) (budget.Budget, error) { return nil }

func tokenBucket(capacity int, refill float64) func(clock.Clock, *rand.Rand) (budget.Budget, error) {
	return func(clk clock.Clock, _ *rand.Rand) (budget.Budget, error) {
		return budget.NewTokenBucketBudgetClock(capacity, refill, clk), nil
	}
}

func ratio(opts budget.RatioOptions) func(clock.Clock, *rand.Rand) (budget.Budget, error) {
	return func(clk clock.Clock, _ *rand.Rand) (budget.Budget, error) {
		opts.Clock = clk
		return budget.NewRatioBudget(opts)
	}
}

func throttle(opts budget.ThrottleOptions) func(clock.Clock, *rand.Rand) (budget.Budget, error) {
	return func(clk clock.Clock, rnd *rand.Rand) (budget.Budget, error) {
		opts.Clock, opts.Rand = clk, rnd
		return budget.NewThrottle(opts)
	}
}

// outage is the retry-storm scenario of the Google SRE book: the
// downstream fails every request, quickly, while the clients keep
// offering 1000 calls per second for 30 seconds (three whole 10s windows).
func outage(b func(clock.Clock, *rand.Rand) (budget.Budget, error)) sim.Scenario {
	return sim.Scenario{
		Seed:     7,
		Duration: 30 * time.Second,
		Rate:     1000,
		Server:   sim.ServerConfig{Latency: sim.Normal{Mean: 10 * time.Millisecond, SD: 2 * time.Millisecond}, Failure: sim.FailureRate(1)},
		Retry:    policy.RetryPolicy{MaxAttempts: 3},
		Budget:   b,
	}
}

func run(t *testing.T, sc sim.Scenario) sim.Report {
	t.Helper()
	rep, err := sim.Run(sc)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func TestRetryStormNoBudgetTriples(t *testing.T) {
	t.Parallel()
	rep := run(t, outage(noBudget()))
	t.Logf("no budget: offered %d, received %d, load %.4f", rep.Offered, rep.Received, rep.Load)
	if rep.Offered != 30000 {
		t.Fatalf("offered %d calls, want 30000", rep.Offered)
	}
	// Calls in the last few hundred milliseconds retry after the horizon.
	if rep.Load < 2.97 || rep.Load > 3 {
		t.Fatalf("load %.4f, want about 3x", rep.Load)
	}
	if rep.Stats.Attempts != 3*rep.Offered || rep.SuccessRate != 0 {
		t.Fatalf("attempts %d, success rate %v: want 3 per call, none succeeding", rep.Stats.Attempts, rep.SuccessRate)
	}
}

func TestRetryStormRatioBudget(t *testing.T) {
	t.Parallel()
	rep := run(t, outage(ratio(budget.RatioOptions{}))) // 10%, floor 10/s, 10s
	t.Logf("ratio 10%%: offered %d, received %d, load %.4f, rejections %d", rep.Offered, rep.Received, rep.Load, rep.Stats.Rejections)
	if rep.Load > 1.1 {
		t.Fatalf("load %.4f, want at most 1.1x", rep.Load)
	}
	// The budget is spent, not merely unused.
	if rep.Load < 1.09 {
		t.Fatalf("load %.4f, want the 10%% budget used (>= 1.09x)", rep.Load)
	}
	// Over the whole run, drain included, retries stay within 10% of calls
	// plus the floor of one last window.
	if max := rep.Offered/10 + 100; rep.Stats.Retries > max {
		t.Fatalf("%d retries in all, want at most %d", rep.Stats.Retries, max)
	}
}

func TestRetryStormRatioBudgetManyClients(t *testing.T) {
	t.Parallel()
	sc := outage(ratio(budget.RatioOptions{}))
	sc.Clients = 10 // 100 calls/s each: ratio and floor both give 100 per window
	rep := run(t, sc)
	t.Logf("ratio 10%%, 10 clients: load %.4f", rep.Load)
	if rep.Load > 1.1 || rep.Load < 1.09 {
		t.Fatalf("load %.4f, want in [1.09, 1.1]", rep.Load)
	}
}

func TestRetryStormTokenBucket(t *testing.T) {
	t.Parallel()
	const capacity, refill = 100, 10.0
	rep := run(t, outage(tokenBucket(capacity, refill)))
	retries := rep.Received - rep.Offered // every call's first attempt lands before the horizon
	bound := int64(capacity + refill*30)  // capacity + refill * Duration
	t.Logf("token bucket %d+%v/s: retries in 30s %d (bound %d), load %.4f", capacity, refill, retries, bound, rep.Load)
	if retries > bound {
		t.Fatalf("%d retries in 30s, want at most capacity+refill*30 = %d", retries, bound)
	}
	// Under a total outage the demand for retries never stops, so the
	// bucket is drained to the last token.
	if retries < bound-1 {
		t.Fatalf("%d retries in 30s, want the bucket drained (%d)", retries, bound)
	}
}

func TestRetryStormThrottleShedsFirstAttempts(t *testing.T) {
	t.Parallel()
	rep := run(t, outage(throttle(budget.ThrottleOptions{})))
	t.Logf("throttle K=2: load %.4f, rejections %d, denied calls %d", rep.Load, rep.Stats.Rejections, rep.Stats.Denied)
	// The throttler gates first attempts too: the backend sees a trickle.
	if rep.Load > 0.1 {
		t.Fatalf("load %.4f, want under 0.1x: a throttled client stops calling a dead backend", rep.Load)
	}
	if rep.Stats.Denied == 0 {
		t.Fatal("no call was denied outright")
	}
}

func TestRunDeterministic(t *testing.T) {
	t.Parallel()
	sc := outage(throttle(budget.ThrottleOptions{}))
	sc.Duration = 5 * time.Second
	a, b := run(t, sc), run(t, sc)
	if a != b {
		t.Fatalf("same seed, different reports:\n%+v\n%+v", a, b)
	}
}
