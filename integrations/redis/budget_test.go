package regoredis_test

import (
	"context"
	"math/rand"
	"sync"
	"testing"
	"time"

	"github.com/aponysus/rego/budget"
	"github.com/aponysus/rego/policy"
	"github.com/aponysus/rego/regotest"

	regoredis "github.com/aponysus/rego/integrations/redis"
)

var ctx = context.Background()

// newBudget returns a fleet budget on srv's Redis through a client of its
// own, as a separate process would have.
func newBudget(t *testing.T, srv *server, o regoredis.BudgetOptions) *regoredis.FleetBudget {
	t.Helper()
	o.Client = srv.client(t)
	if o.Name == "" {
		o.Name = "shared"
	}
	if o.Timeout == 0 {
		o.Timeout = time.Second // the tests check decisions, not speed
	}
	b, err := regoredis.NewFleetBudget(o)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func first(b budget.Budget) budget.Decision {
	return b.AllowAttempt(ctx, policy.PolicyKey{}, 0, budget.KindRetry, policy.BudgetRef{})
}

func retry(b budget.Budget, cost int) budget.Decision {
	return b.AllowAttempt(ctx, policy.PolicyKey{}, 1, budget.KindRetry, policy.BudgetRef{Cost: cost})
}

// The script is budget.RatioBudget's algorithm: on the same clock, fed the
// same attempts, Redis and the local budget decide alike, reason for
// reason.
func TestBudgetScriptIsRatioBudget(t *testing.T) {
	srv := startRedis(t)
	// Aligned on the buckets, so that both count buckets from the same
	// boundaries (Redis from the Unix epoch, the local budget from its
	// creation).
	clk := regotest.NewClock(time.Unix(1_700_000_000, 0))
	ro := budget.RatioOptions{Ratio: 0.2, MinRetriesPerSecond: 0.75, Window: 2 * time.Second, Buckets: 4, Clock: clk}
	fleet := newBudget(t, srv, regoredis.BudgetOptions{
		Options: regoredis.Options{Clock: clk, ClientTime: true},
		Ratio:   ro,
	})
	local, err := budget.NewRatioBudget(ro)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewSource(1))
	var allowed, denied int
	for i := 0; i < 1500; i++ {
		clk.Advance(time.Duration(rng.Intn(150)) * time.Millisecond)
		idx, cost := 0, 0
		if rng.Intn(10) < 4 {
			idx, cost = 1+rng.Intn(2), 1+rng.Intn(3)
		}
		ref := policy.BudgetRef{Cost: cost}
		got := fleet.AllowAttempt(ctx, policy.PolicyKey{}, idx, budget.KindRetry, ref)
		want := local.AllowAttempt(ctx, policy.PolicyKey{}, idx, budget.KindRetry, ref)
		if got.Allowed != want.Allowed || got.Reason != want.Reason {
			t.Fatalf("step %d (attempt %d, cost %d, t=%v): Redis decided %+v, budget.RatioBudget %+v",
				i, idx, cost, clk.Now().Sub(time.Unix(1_700_000_000, 0)), got, want)
		}
		if idx > 0 {
			if got.Allowed {
				allowed++
			} else {
				denied++
			}
		}
	}
	if allowed == 0 || denied == 0 {
		t.Fatalf("the run must exercise both answers: %d retries allowed, %d denied", allowed, denied)
	}
	if st := fleet.Stats(); st.Fallbacks != 0 || st.Redis != 1500 {
		t.Fatalf("every decision should come from Redis: %+v", st)
	}
}

// Budgets of the same name in separate processes share one window: one
// process's first attempts pay for another's retries.
func TestBudgetIsSharedByName(t *testing.T) {
	srv := startRedis(t)
	o := regoredis.BudgetOptions{Ratio: budget.RatioOptions{Ratio: 0.1, MinRetriesPerSecond: -1, Window: time.Hour}}
	a, b := newBudget(t, srv, o), newBudget(t, srv, o)
	o.Name = "other"
	c := newBudget(t, srv, o)
	for i := 0; i < 100; i++ {
		if d := first(a); !d.Allowed || d.Reason != budget.ReasonFirstAttempt {
			t.Fatalf("first attempt: %+v", d)
		}
	}
	var got int
	for i := 0; i < 20; i++ {
		if retry(b, 1).Allowed {
			got++
		}
	}
	if got != 10 {
		t.Fatalf("b got %d retries from a's 100 first attempts at 10%%, want 10", got)
	}
	if d := retry(c, 1); d.Allowed || d.Reason != budget.ReasonRatioExceeded {
		t.Fatalf("a budget of another name shares nothing: %+v", d)
	}
}

// N processes, each a client of its own, retrying every failed call twice
// against a total outage: fleet-wide, retries stay within the ratio of
// first attempts.
func TestBudgetFleetWithinRatio(t *testing.T) {
	srv := startRedis(t)
	const procs, calls, ratio = 6, 150, 0.1
	o := regoredis.BudgetOptions{Ratio: budget.RatioOptions{Ratio: ratio, MinRetriesPerSecond: -1, Window: time.Hour}}
	var mu sync.Mutex
	var firsts, retries int
	var wg sync.WaitGroup
	for p := 0; p < procs; p++ {
		b := newBudget(t, srv, o)
		wg.Add(1)
		go func() {
			defer wg.Done()
			var f, r int
			for i := 0; i < calls; i++ {
				if first(b).Allowed {
					f++
				}
				for k := 1; k < 3; k++ {
					if !b.AllowAttempt(ctx, policy.PolicyKey{}, k, budget.KindRetry, policy.BudgetRef{}).Allowed {
						break
					}
					r++
				}
			}
			mu.Lock()
			firsts += f
			retries += r
			mu.Unlock()
		}()
	}
	wg.Wait()
	if firsts != procs*calls {
		t.Fatalf("first attempts are always allowed: %d of %d", firsts, procs*calls)
	}
	if float64(retries) > ratio*float64(firsts) {
		t.Fatalf("fleet-wide retries %d exceed %.0f%% of %d first attempts", retries, ratio*100, firsts)
	}
	// Every call wants two retries, so the budget is used up, not idle.
	if float64(retries) < ratio*float64(firsts)/2 {
		t.Fatalf("fleet-wide retries %d: the budget of %.0f went unused", retries, ratio*float64(firsts))
	}
	t.Logf("%d processes: %d first attempts, %d retries (%.3f)", procs, firsts, retries, float64(retries)/float64(firsts))
}

// Hedges are retries to the budget; the cost is weighed.
func TestBudgetHedgesAndCost(t *testing.T) {
	srv := startRedis(t)
	b := newBudget(t, srv, regoredis.BudgetOptions{Ratio: budget.RatioOptions{Ratio: 0.5, MinRetriesPerSecond: -1, Window: time.Hour}})
	for i := 0; i < 10; i++ {
		first(b)
	}
	if d := b.AllowAttempt(ctx, policy.PolicyKey{}, 0, budget.KindHedge, policy.BudgetRef{Cost: 3}); !d.Allowed || d.Reason != budget.ReasonWithinRatio {
		t.Fatalf("hedge of cost 3 within 5: %+v", d)
	}
	if d := retry(b, 3); d.Allowed {
		t.Fatalf("3 more units exceed 5: %+v", d)
	}
	if d := retry(b, 2); !d.Allowed {
		t.Fatalf("2 more units fit in 5: %+v", d)
	}
}
