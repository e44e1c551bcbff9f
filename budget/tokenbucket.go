package budget

import (
	"context"
	"math"
	"sync/atomic"
	"time"

	"github.com/aponysus/rego/clock"
	"github.com/aponysus/rego/policy"
)

// TokenBucketBudget is a retry budget: a bucket of capacity tokens that
// refills at a steady rate. First attempts are free; every retry and hedge
// takes ref.Cost tokens (1 when unset) and is denied when the bucket holds
// too few. Over any window of length w it allows at most
// capacity + refillPerSecond*w token-weighted extra attempts.
//
// The hot path is one atomic compare-and-swap (generic cell rate
// algorithm); no locks. A TokenBucketBudget is safe for concurrent use.
type TokenBucketBudget struct {
	clk      clock.Clock
	real     bool
	epoch    time.Time
	capacity int64
	interval int64 // nanoseconds per token; 0 means the bucket never refills
	tau      int64 // capacity * interval
	tat      atomic.Int64
	left     atomic.Int64 // tokens left, when the bucket never refills
}

// NewTokenBucketBudget returns a full bucket of capacity tokens that
// refills at refillPerSecond tokens per second (zero: never refills). It
// panics on a negative or NaN argument.
func NewTokenBucketBudget(capacity int, refillPerSecond float64) *TokenBucketBudget {
	return NewTokenBucketBudgetClock(capacity, refillPerSecond, nil)
}

// NewTokenBucketBudgetClock is NewTokenBucketBudget on the given clock (nil
// means clock.Real), for tests and simulations on virtual time.
func NewTokenBucketBudgetClock(capacity int, refillPerSecond float64, clk clock.Clock) *TokenBucketBudget {
	if capacity < 0 {
		panic("budget: NewTokenBucketBudget with negative capacity")
	}
	if refillPerSecond < 0 || math.IsNaN(refillPerSecond) {
		panic("budget: NewTokenBucketBudget with negative or NaN refill rate")
	}
	if clk == nil {
		clk = clock.Real{}
	}
	b := &TokenBucketBudget{clk: clk, real: clock.IsReal(clk), epoch: clk.Now(), capacity: int64(capacity)}
	if refillPerSecond > 0 && !math.IsInf(refillPerSecond, 1) {
		b.interval = int64(float64(time.Second) / refillPerSecond)
		if b.interval < 1 {
			b.interval = 1
		}
		if b.capacity > math.MaxInt64/b.interval {
			b.capacity = math.MaxInt64 / b.interval
		}
		b.tau = b.capacity * b.interval
	} else if math.IsInf(refillPerSecond, 1) {
		b.interval = 1
		b.tau = b.capacity
	}
	b.left.Store(int64(capacity))
	return b
}

// AllowAttempt allows first attempts for free and charges retries and
// hedges ref.Cost tokens.
func (b *TokenBucketBudget) AllowAttempt(ctx context.Context, key policy.PolicyKey, attemptIdx int, kind AttemptKind, ref policy.BudgetRef) Decision {
	return b.AllowAttemptAt(ctx, key, attemptIdx, kind, ref, time.Time{})
}

// AllowAttemptAt is AllowAttempt at now, a reading of the bucket's Clock;
// a zero now reads the clock (first attempts read none either way).
func (b *TokenBucketBudget) AllowAttemptAt(_ context.Context, _ policy.PolicyKey, attemptIdx int, kind AttemptKind, ref policy.BudgetRef, now time.Time) Decision {
	if attemptIdx == 0 && kind == KindRetry {
		return Decision{Allowed: true, Reason: "first_attempt"}
	}
	cost := ref.Cost
	if cost <= 0 {
		cost = 1
	}
	var since time.Duration
	if now.IsZero() {
		since = b.elapsed()
	} else {
		since = now.Sub(b.epoch)
	}
	if b.take(since, cost) {
		return Decision{Allowed: true, Reason: "tokens_available"}
	}
	return Decision{Allowed: false, Reason: "tokens_exhausted"}
}

// Clock returns the clock the bucket reads: the one it was built on, or
// clock.Real.
func (b *TokenBucketBudget) Clock() clock.Clock { return b.clk }

// TakeAt takes n tokens at time t if the bucket holds at least n, and
// reports whether it did. Times before the bucket's creation count as its
// creation.
func (b *TokenBucketBudget) TakeAt(t time.Time, n int) bool {
	return b.take(t.Sub(b.epoch), n)
}

// elapsed returns the time since the bucket was made. On the wall clock it
// reads only the monotonic clock, which is cheaper than time.Now.
func (b *TokenBucketBudget) elapsed() time.Duration {
	if b.real {
		return time.Since(b.epoch)
	}
	return b.clk.Now().Sub(b.epoch)
}

func (b *TokenBucketBudget) take(since time.Duration, n int) bool {
	if n <= 0 {
		return true
	}
	if int64(n) > b.capacity {
		return false
	}
	if b.interval == 0 {
		for {
			left := b.left.Load()
			if left < int64(n) {
				return false
			}
			if b.left.CompareAndSwap(left, left-int64(n)) {
				return true
			}
		}
	}
	now := int64(since)
	if now < 0 {
		now = 0
	}
	inc := int64(n) * b.interval
	for {
		tat := b.tat.Load()
		base := tat
		if base < now {
			base = now
		}
		next := base + inc
		if next-now > b.tau {
			return false
		}
		if b.tat.CompareAndSwap(tat, next) {
			return true
		}
	}
}

// TokensAt returns how many whole tokens the bucket holds at time t.
func (b *TokenBucketBudget) TokensAt(t time.Time) int {
	if b.interval == 0 {
		return int(b.left.Load())
	}
	now := int64(t.Sub(b.epoch))
	if now < 0 {
		now = 0
	}
	used := b.tat.Load() - now
	if used < 0 {
		used = 0
	}
	return int((b.tau - used) / b.interval)
}
