package ratelimit

import (
	"errors"
	"math"
	"sync"
	"time"

	"github.com/aponysus/rego/policy"
)

// Reasons recorded in gate decisions.
const (
	// ReasonAdmitted: a token was there.
	ReasonAdmitted = "admitted"
	// ReasonWaited: the attempt waited for its token (Permit.Waited).
	ReasonWaited = "waited"
	// ReasonNotFirst: a retry or a hedge; the limiter does not count it.
	ReasonNotFirst = "not_first"
	// ReasonDisabled: the policy has no rate limit; the attempt passes.
	ReasonDisabled = "disabled"
	// ReasonOverflow: the registry had no room for the key; it passes.
	ReasonOverflow = "overflow"
	// ReasonLimited: no token, and the next one comes after MaxWait or
	// after the caller's deadline.
	ReasonLimited = "rate_limited"
	// ReasonCancelled: the caller's context ended during the wait.
	ReasonCancelled = "cancelled"
)

// ErrLimited is matched (errors.Is) by every refusal of a rate limiter.
var ErrLimited = errors.New("ratelimit: rate limited")

// DefaultRate is the rate of a policy whose Rate is zero.
const DefaultRate = 100

// config is a policy section with its zero fields replaced by defaults.
func config(p policy.RateLimitPolicy) policy.RateLimitPolicy {
	if !(p.Rate > 0) || math.IsInf(p.Rate, 1) {
		p.Rate = DefaultRate
	}
	if p.Burst <= 0 {
		p.Burst = int(math.Max(1, p.Rate))
	}
	if p.MaxWait < 0 {
		p.MaxWait = 0
	}
	return p
}

// Limiter is one key's token bucket. The zero value is ready to use: it
// starts full at its first use. A Limiter is safe for concurrent use.
type Limiter struct {
	mu  sync.Mutex
	raw policy.RateLimitPolicy
	cfg policy.RateLimitPolicy
	set bool
	// tokens at last; negative while waiters hold reservations.
	tokens float64
	last   time.Time
}

// advanceLocked configures the bucket for p and fills it up to now.
func (l *Limiter) advanceLocked(now time.Time, p policy.RateLimitPolicy) {
	if !l.set || p != l.raw {
		l.raw, l.cfg = p, config(p)
		if !l.set {
			l.tokens, l.last = float64(l.cfg.Burst), now
		}
		l.set = true
	}
	if now.After(l.last) {
		l.tokens += now.Sub(l.last).Seconds() * l.cfg.Rate
		l.last = now
	}
	if b := float64(l.cfg.Burst); l.tokens > b {
		l.tokens = b
	}
}

// Allow takes a token at now under p and reports whether there was one.
func (l *Limiter) Allow(now time.Time, p policy.RateLimitPolicy) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.advanceLocked(now, p)
	if l.tokens >= 1 {
		l.tokens--
		return true
	}
	return false
}

// Reserve takes a token at now under p if it is there or comes within
// maxWait, and returns how long to wait for it (zero: at once). When the
// token comes later, Reserve takes nothing and returns ok false with the
// wait until it would come. A caller that stops waiting gives the token
// back with Cancel.
func (l *Limiter) Reserve(now time.Time, p policy.RateLimitPolicy, maxWait time.Duration) (wait time.Duration, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.advanceLocked(now, p)
	if l.tokens >= 1 {
		l.tokens--
		return 0, true
	}
	wait = time.Duration(math.Ceil((1 - l.tokens) / l.cfg.Rate * float64(time.Second)))
	if wait > maxWait {
		return wait, false
	}
	l.tokens--
	return wait, true
}

// Cancel gives back a token Reserve took for a wait that did not end in
// an attempt.
func (l *Limiter) Cancel() {
	l.mu.Lock()
	l.tokens++
	if b := float64(l.cfg.Burst); l.tokens > b {
		l.tokens = b
	}
	l.mu.Unlock()
}

// Tokens returns the tokens available at now under p (negative while
// waiters hold reservations).
func (l *Limiter) Tokens(now time.Time, p policy.RateLimitPolicy) float64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.advanceLocked(now, p)
	return l.tokens
}
