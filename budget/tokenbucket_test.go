package budget_test

import (
	"context"
	"math"
	"math/rand"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aponysus/rego/budget"
	"github.com/aponysus/rego/policy"
	"github.com/aponysus/rego/regotest"
)

func TestTokenBucketFirstAttemptsFree(t *testing.T) {
	b := budget.NewTokenBucketBudgetClock(0, 0, regotest.NewClock(t0))
	ctx, key, ref := context.Background(), policy.PolicyKey{}, policy.BudgetRef{}
	for i := 0; i < 100; i++ {
		if d := b.AllowAttempt(ctx, key, 0, budget.KindRetry, ref); !d.Allowed || d.Reason != "first_attempt" {
			t.Fatalf("first attempt: %+v", d)
		}
	}
	if d := b.AllowAttempt(ctx, key, 0, budget.KindHedge, ref); d.Allowed {
		t.Fatalf("a hedge is never a free first attempt: %+v", d)
	}
}

func TestTokenBucketCapacityAndRefill(t *testing.T) {
	clk := regotest.NewClock(t0)
	b := budget.NewTokenBucketBudgetClock(3, 2, clk) // 3 tokens, one per 500ms
	ctx, key, ref := context.Background(), policy.PolicyKey{}, policy.BudgetRef{}
	for i := 0; i < 3; i++ {
		if d := b.AllowAttempt(ctx, key, 1, budget.KindRetry, ref); !d.Allowed || d.Reason != "tokens_available" {
			t.Fatalf("retry %d: %+v", i, d)
		}
	}
	if d := b.AllowAttempt(ctx, key, 1, budget.KindRetry, ref); d.Allowed || d.Reason != "tokens_exhausted" {
		t.Fatalf("retry on an empty bucket: %+v", d)
	}
	clk.Advance(499 * time.Millisecond)
	if b.TokensAt(clk.Now()) != 0 || b.TakeAt(clk.Now(), 1) {
		t.Fatal("a token appeared before 500ms")
	}
	clk.Advance(time.Millisecond)
	if b.TokensAt(clk.Now()) != 1 || !b.TakeAt(clk.Now(), 1) {
		t.Fatal("no token after 500ms")
	}
	clk.Advance(time.Hour)
	if got := b.TokensAt(clk.Now()); got != 3 {
		t.Fatalf("tokens after an hour = %d, want the capacity 3", got)
	}
}

func TestTokenBucketCost(t *testing.T) {
	b := budget.NewTokenBucketBudgetClock(5, 1, regotest.NewClock(t0))
	ctx, key := context.Background(), policy.PolicyKey{}
	if d := b.AllowAttempt(ctx, key, 1, budget.KindHedge, policy.BudgetRef{Cost: 4}); !d.Allowed {
		t.Fatal(d)
	}
	if d := b.AllowAttempt(ctx, key, 1, budget.KindRetry, policy.BudgetRef{Cost: 2}); d.Allowed {
		t.Fatal("cost 2 allowed with 1 token left")
	}
	if !b.TakeAt(t0, 1) || b.TakeAt(t0, 1) {
		t.Fatal("the last token")
	}
	if b.TakeAt(t0.Add(time.Hour), 6) || !b.TakeAt(t0.Add(time.Hour), 0) {
		t.Fatal("more than capacity, or zero tokens")
	}
}

func TestTokenBucketNeverRefills(t *testing.T) {
	b := budget.NewTokenBucketBudgetClock(2, 0, regotest.NewClock(t0))
	if !b.TakeAt(t0, 1) || !b.TakeAt(t0.Add(time.Hour), 1) || b.TakeAt(t0.Add(24*time.Hour), 1) {
		t.Fatal("a never-refilling bucket of 2")
	}
	if b.TokensAt(t0) != 0 {
		t.Fatal("tokens left")
	}
}

func TestTokenBucketInfiniteRefill(t *testing.T) {
	b := budget.NewTokenBucketBudgetClock(1, math.Inf(1), regotest.NewClock(t0))
	for i := 0; i < 10; i++ {
		if !b.TakeAt(t0.Add(time.Duration(i)), 1) {
			t.Fatalf("take %d denied with an infinite refill", i)
		}
	}
}

func TestTokenBucketPanics(t *testing.T) {
	for _, f := range []func(){
		func() { budget.NewTokenBucketBudget(-1, 1) },
		func() { budget.NewTokenBucketBudget(1, -1) },
		func() { budget.NewTokenBucketBudget(1, math.NaN()) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Error("no panic")
				}
			}()
			f()
		}()
	}
}

// TestTokenBucketPropertyWindow: over any interval [a, b], however calls
// interleave, the bucket grants at most capacity + (b-a)/interval tokens.
func TestTokenBucketPropertyWindow(t *testing.T) {
	const goroutines, rounds = 8, 60
	for seed := int64(1); seed <= 10; seed++ {
		rng := rand.New(rand.NewSource(seed))
		capacity := 1 + rng.Intn(20)
		interval := time.Duration(1+rng.Intn(200)) * time.Millisecond
		b := budget.NewTokenBucketBudgetClock(capacity, float64(time.Second)/float64(interval), regotest.NewClock(t0))
		times := make([]time.Duration, rounds)
		granted := make([]atomic.Int64, rounds)
		now := time.Duration(0)
		for r := 0; r < rounds; r++ {
			now += time.Duration(rng.Int63n(int64(3 * interval)))
			times[r] = now
			var wg sync.WaitGroup
			for g := 0; g < goroutines; g++ {
				n := 1 + rng.Intn(3)
				wg.Add(1)
				go func(r, n int) {
					defer wg.Done()
					for i := 0; i < 5; i++ {
						if b.TakeAt(t0.Add(times[r]), n) {
							granted[r].Add(int64(n))
						}
					}
				}(r, n)
			}
			wg.Wait()
		}
		var total int64
		for i := 0; i < rounds; i++ {
			var sum int64
			for j := i; j < rounds; j++ {
				sum += granted[j].Load()
				bound := int64(capacity) + int64((times[j]-times[i])/interval)
				if sum > bound {
					t.Fatalf("seed %d: %d tokens granted in [%v, %v], bound %d (capacity %d, interval %v)", seed, sum, times[i], times[j], bound, capacity, interval)
				}
			}
			total += granted[i].Load()
		}
		if total == 0 {
			t.Fatalf("seed %d: nothing granted", seed)
		}
	}
}
