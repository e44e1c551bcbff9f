package budget_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aponysus/rego/budget"
	"github.com/aponysus/rego/policy"
	"github.com/aponysus/rego/regotest"
)

// fixedRand returns the same draw every time.
type fixedRand float64

func (f fixedRand) Float64() float64 { return float64(f) }

func newThrottle(t *testing.T, opts budget.ThrottleOptions) (*budget.Throttle, *regotest.Clock) {
	t.Helper()
	clk := regotest.NewClock(t0)
	opts.Clock = clk
	th, err := budget.NewThrottle(opts)
	if err != nil {
		t.Fatal(err)
	}
	return th, clk
}

func TestThrottleOptionsErrors(t *testing.T) {
	for _, tc := range []struct {
		opts  budget.ThrottleOptions
		field string
	}{
		{budget.ThrottleOptions{K: 0.5}, "K"},
		{budget.ThrottleOptions{K: math.NaN()}, "K"},
		{budget.ThrottleOptions{K: 1e9}, "K"},
		{budget.ThrottleOptions{Buckets: -3}, "Buckets"},
		{budget.ThrottleOptions{Window: -1}, "Window"},
	} {
		_, err := budget.NewThrottle(tc.opts)
		if err == nil || !strings.Contains(err.Error(), "ThrottleOptions."+tc.field) || !strings.HasPrefix(err.Error(), "budget: ") {
			t.Errorf("%+v: err = %v, want one naming ThrottleOptions.%s", tc.opts, err, tc.field)
		}
	}
}

func TestThrottleProbabilityFormula(t *testing.T) {
	th, _ := newThrottle(t, budget.ThrottleOptions{}) // K = 2
	check := func(wantReq, wantAcc int64) {
		t.Helper()
		req, acc := th.StatsAt(t0)
		if req != wantReq || acc != wantAcc {
			t.Fatalf("stats = %d, %d; want %d, %d", req, acc, wantReq, wantAcc)
		}
		want := math.Max(0, (float64(req)-2*float64(acc))/float64(req+1))
		if got := th.ProbabilityAt(t0); math.Abs(got-want) > 1e-12 {
			t.Fatalf("p = %v, want %v", got, want)
		}
	}
	check(0, 0)
	for i := 0; i < 10; i++ {
		th.RecordOutcomeAt(t0, true)
	}
	check(10, 10)
	for i := 0; i < 25; i++ {
		th.RecordOutcomeAt(t0, false)
	}
	check(35, 10) // p = 15/36
	// u below p rejects, and the rejection counts as a request.
	if th.AllowAt(t0, 0.4) {
		t.Fatal("u = 0.4 < p = 0.4167 allowed")
	}
	check(36, 10)
	if !th.AllowAt(t0, 0.5) {
		t.Fatal("u = 0.5 > p rejected")
	}
	check(36, 10) // an allowed attempt counts once its outcome is in
}

func TestThrottleHealthyNeverThrottles(t *testing.T) {
	th, _ := newThrottle(t, budget.ThrottleOptions{Rand: fixedRand(0)}) // the unluckiest draw
	ctx, key, ref := context.Background(), policy.PolicyKey{}, policy.BudgetRef{}
	for i := 0; i < 1000; i++ {
		d := th.AllowAttempt(ctx, key, 0, budget.KindRetry, ref)
		if !d.Allowed || d.Reason != budget.ReasonNotThrottled || d.Release != nil {
			t.Fatalf("attempt %d: %+v", i, d)
		}
		// Up to half the requests failing keeps p at zero with K = 2.
		th.RecordOutcome(key, budget.KindRetry, i%2 == 0)
	}
}

func TestThrottleOutageAndRecovery(t *testing.T) {
	th, clk := newThrottle(t, budget.ThrottleOptions{Rand: rand.New(rand.NewSource(1))})
	ctx, key, ref := context.Background(), policy.PolicyKey{}, policy.BudgetRef{}
	allowed := 0
	for i := 0; i < 2000; i++ {
		d := th.AllowAttempt(ctx, key, i%3, budget.KindRetry, ref)
		if d.Allowed {
			allowed++
			th.RecordOutcome(key, budget.KindRetry, false)
		} else if d.Reason != budget.ReasonThrottled {
			t.Fatalf("denied with reason %q", d.Reason)
		}
	}
	// Allowed with probability 1/(requests+1): about ln(2000) + 0.58.
	if allowed > 20 {
		t.Fatalf("%d of 2000 attempts reached a dead backend", allowed)
	}
	if p := th.ProbabilityAt(clk.Now()); p < 0.99 {
		t.Fatalf("p = %v during the outage", p)
	}
	// The window forgets the outage.
	clk.Advance(10 * time.Second)
	if p := th.ProbabilityAt(clk.Now()); p != 0 {
		t.Fatalf("p = %v after the window", p)
	}
}

func TestThrottleRejectionRate(t *testing.T) {
	// Backend accepting a third: p = (3n - 2n)/(3n+1), about 1/3, for a
	// window full of recorded outcomes; rejections then add requests.
	th, _ := newThrottle(t, budget.ThrottleOptions{Rand: rand.New(rand.NewSource(2))})
	for i := 0; i < 3000; i++ {
		th.RecordOutcomeAt(t0, i%3 == 0)
	}
	p0 := th.ProbabilityAt(t0)
	rejected := 0
	const n = 1000
	for i := 0; i < n; i++ {
		if !th.AllowAt(t0, rand.New(rand.NewSource(int64(i))).Float64()) {
			rejected++
		}
	}
	if got := float64(rejected) / n; got < p0-0.05 || got > p0+0.15 {
		t.Fatalf("rejected %.3f of attempts, p started at %.3f", got, p0)
	}
}

func TestThrottleGatesEveryKind(t *testing.T) {
	th, _ := newThrottle(t, budget.ThrottleOptions{Rand: fixedRand(0)})
	for i := 0; i < 10; i++ {
		th.RecordOutcomeAt(t0, false)
	}
	ctx, key, ref := context.Background(), policy.PolicyKey{}, policy.BudgetRef{}
	for _, tc := range []struct {
		idx  int
		kind budget.AttemptKind
	}{{0, budget.KindRetry}, {2, budget.KindRetry}, {1, budget.KindHedge}} {
		if d := th.AllowAttempt(ctx, key, tc.idx, tc.kind, ref); d.Allowed || d.Reason != budget.ReasonThrottled {
			t.Fatalf("attempt %d (%s): %+v", tc.idx, tc.kind, d)
		}
	}
}

func TestIsThrottled(t *testing.T) {
	err := fmt.Errorf("call: %w", &budget.DeniedError{Budget: "adaptive", Reason: budget.ReasonThrottled})
	if !budget.IsThrottled(err) || !errors.Is(err, budget.ErrDenied) {
		t.Fatal("a throttled DeniedError is not recognised")
	}
	if budget.IsThrottled(&budget.DeniedError{Reason: "tokens_exhausted"}) || budget.IsThrottled(errors.New("x")) || budget.IsThrottled(nil) {
		t.Fatal("IsThrottled matched a non-throttled error")
	}
}

func TestThrottleDefaultsRealClock(t *testing.T) {
	th, err := budget.NewThrottle(budget.ThrottleOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if d := th.AllowAttempt(context.Background(), policy.PolicyKey{}, 0, budget.KindRetry, policy.BudgetRef{}); !d.Allowed {
		t.Fatal(d)
	}
	th.RecordOutcome(policy.PolicyKey{}, budget.KindRetry, true)
	if req, acc := th.StatsAt(time.Now()); req != 1 || acc != 1 {
		t.Fatalf("stats = %d, %d", req, acc)
	}
}

// TestThrottlePropertyConcurrent: goroutines racing through decisions and
// outcomes lose no count, and with the unluckiest draw (u = 0) an attempt
// is only ever allowed while requests <= K*accepts.
func TestThrottlePropertyConcurrent(t *testing.T) {
	th, _ := newThrottle(t, budget.ThrottleOptions{K: 1.5, Rand: fixedRand(0)})
	const goroutines, ops = 8, 2000
	var wg sync.WaitGroup
	var mu sync.Mutex
	var allowed, rejected, accepted int64
	for g := 0; g < goroutines; g++ {
		wg.Add(1)
		go func(seed int64) {
			defer wg.Done()
			rng := rand.New(rand.NewSource(seed))
			var a, r, acc int64
			for i := 0; i < ops; i++ {
				if th.AllowAt(t0, 0) {
					a++
					ok := rng.Intn(2) == 0
					if ok {
						acc++
					}
					th.RecordOutcomeAt(t0, ok)
				} else {
					r++
				}
			}
			mu.Lock()
			allowed, rejected, accepted = allowed+a, rejected+r, accepted+acc
			mu.Unlock()
		}(int64(g))
	}
	wg.Wait()
	req, acc := th.StatsAt(t0)
	if req != allowed+rejected || acc != accepted {
		t.Fatalf("counted %d requests, %d accepts; made %d+%d, %d accepted", req, acc, allowed, rejected, accepted)
	}
	// With u = 0 an attempt passes only when requests <= K*accepts at
	// decision time; each adds one request, and goroutines racing past the
	// same check add at most one each.
	if float64(req-rejected) > 1.5*float64(acc)+goroutines+1 {
		t.Fatalf("%d requests reached the backend for %d accepts", req-rejected, acc)
	}
	if rejected == 0 || allowed == 0 {
		t.Fatalf("allowed %d, rejected %d: want both", allowed, rejected)
	}
}
