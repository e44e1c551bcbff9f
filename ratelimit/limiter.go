package ratelimit

import (
	"errors"
	"math"
	"sync/atomic"
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
// starts full at its first use. A Limiter is safe for concurrent use and
// takes no lock: its whole state is one number, the time at which the
// bucket would be full again (the "theoretical arrival time" of the
// generic cell rate algorithm, which is a token bucket in another form),
// changed by compare-and-swap.
type Limiter struct {
	cur atomic.Pointer[limiterConfig]
	// tat is the virtual time, in nanoseconds since the Unix epoch, at
	// which the bucket would hold Burst tokens again; a time in the past
	// means it is full. Reservations of waiters push it beyond now+burst.
	tat atomic.Int64
}

type limiterConfig struct {
	raw, cfg policy.RateLimitPolicy
	// interval is the time one token takes to come back, burst the time
	// Burst tokens take, both in nanoseconds.
	interval, burst int64
	// src is the policy raw was read from when the Registry admitted the
	// attempt (nil otherwise): an attempt of the same policy, which the
	// executor passes by reference and never changes while it is in force,
	// needs no comparison of the section.
	src *policy.EffectivePolicy
}

// config returns the configuration of p, read from src (nil: from no
// policy the limiter may remember), making it if it is not the one in
// force.
func (l *Limiter) config(p *policy.RateLimitPolicy, src *policy.EffectivePolicy) *limiterConfig {
	if c := l.cur.Load(); c != nil && ((src != nil && c.src == src) || c.raw == *p) {
		return c
	}
	return l.configure(p, src)
}

func (l *Limiter) configure(p *policy.RateLimitPolicy, src *policy.EffectivePolicy) *limiterConfig {
	cfg := config(*p)
	iv := int64(math.Round(float64(time.Second) / cfg.Rate))
	if iv < 1 {
		iv = 1
	}
	c := &limiterConfig{raw: *p, cfg: cfg, interval: iv, burst: iv * int64(cfg.Burst), src: src}
	l.cur.Store(c)
	return c
}

// Allow takes a token at now under p and reports whether there was one.
func (l *Limiter) Allow(now time.Time, p policy.RateLimitPolicy) bool {
	_, ok := l.reserve(now.UnixNano(), l.config(&p, nil), 0)
	return ok
}

// Reserve takes a token at now under p if it is there or comes within
// maxWait, and returns how long to wait for it (zero: at once). When the
// token comes later, Reserve takes nothing and returns ok false with the
// wait until it would come. A caller that stops waiting gives the token
// back with Cancel.
func (l *Limiter) Reserve(now time.Time, p policy.RateLimitPolicy, maxWait time.Duration) (wait time.Duration, ok bool) {
	return l.reserve(now.UnixNano(), l.config(&p, nil), maxWait)
}

// reserve is Reserve at n nanoseconds since the Unix epoch under c.
func (l *Limiter) reserve(n int64, c *limiterConfig, maxWait time.Duration) (wait time.Duration, ok bool) {
	for {
		tat := l.tat.Load()
		start := tat
		if start < n {
			start = n
		}
		next := start + c.interval
		// The token is there when the bucket, after taking it, would be
		// full again within one burst from now.
		w := next - n - c.burst
		if w < 0 {
			w = 0
		}
		if time.Duration(w) > maxWait {
			return time.Duration(w), false
		}
		if l.tat.CompareAndSwap(tat, next) {
			return time.Duration(w), true
		}
	}
}

// Cancel gives back a token Reserve took for a wait that did not end in
// an attempt.
func (l *Limiter) Cancel() {
	c := l.cur.Load()
	if c == nil {
		return
	}
	l.tat.Add(-c.interval)
}

// Tokens returns the tokens available at now under p (negative while
// waiters hold reservations).
func (l *Limiter) Tokens(now time.Time, p policy.RateLimitPolicy) float64 {
	c := l.config(&p, nil)
	n := now.UnixNano()
	tat := l.tat.Load()
	if tat < n {
		tat = n
	}
	return float64(c.burst-(tat-n)) / float64(c.interval)
}
