package ratelimit

import (
	"context"
	"fmt"
	"time"

	"github.com/aponysus/rego/clock"
	"github.com/aponysus/rego/gate"
	"github.com/aponysus/rego/internal/keyed"
	"github.com/aponysus/rego/policy"
)

// DefaultMaxKeys is how many keys a Registry with a zero MaxKeys gives a
// limiter of their own.
const DefaultMaxKeys = 1024

// Registry keeps one Limiter per key and is the rate limit gate
// (gate.Gate). The zero value is ready to use. Lookups of known keys are
// lock-free. A Registry is safe for concurrent use; set its fields before
// first use.
type Registry struct {
	// MaxKeys caps how many keys get a limiter; further keys pass
	// unlimited and Overflowed counts them. Zero means DefaultMaxKeys.
	MaxKeys int
	// Clock times the waits for a token. Nil means clock.Real. The bucket
	// itself reads the time Admit is given.
	Clock clock.Clock

	keys keyed.Map[Limiter]
}

// NewRegistry returns an empty registry on the wall clock.
func NewRegistry() *Registry { return &Registry{} }

// Admit takes a token at now for a first attempt of a.Key under
// a.Policy.RateLimit, waiting up to that section's MaxWait when the next
// token is that close, and never past ctx's deadline. Retries, hedges and
// attempts whose policy has no rate limit pass. Permits need no
// completion.
func (r *Registry) Admit(ctx context.Context, a gate.Attempt, now time.Time) (gate.Permit, error) {
	pol := a.Policy
	if pol == nil || !pol.RateLimit.Enabled {
		return gate.Permit{Reason: ReasonDisabled}, nil
	}
	if !a.First() {
		return gate.Permit{Reason: ReasonNotFirst}, nil
	}
	l := r.keys.Get(a.Key, r.MaxKeys, DefaultMaxKeys)
	if l == nil {
		return gate.Permit{Reason: ReasonOverflow}, nil
	}
	p := &pol.RateLimit
	c := l.cur.Load()
	if c == nil || c.src != pol {
		c = l.config(p, pol)
	}
	maxWait := p.MaxWait
	if maxWait > 0 {
		maxWait = r.boundWait(ctx, maxWait)
	}
	wait, ok := l.reserve(now.UnixNano(), c, maxWait)
	if !ok {
		return gate.Permit{Reason: ReasonLimited}, &gate.RefusedError{
			Gate: gate.NameRateLimit, Reason: ReasonLimited, RetryAfter: wait, Err: ErrLimited,
		}
	}
	if wait == 0 {
		return gate.Permit{Reason: ReasonAdmitted}, nil
	}
	return r.wait(ctx, l, wait)
}

// boundWait bounds maxWait by ctx's deadline on the wall clock.
func (r *Registry) boundWait(ctx context.Context, maxWait time.Duration) time.Duration {
	if dl, ok := ctx.Deadline(); ok && clock.IsReal(r.Clock) {
		// A token that comes after the caller has given up is no use; the
		// refusal's RetryAfter still says when it comes.
		if left := time.Until(dl); left < maxWait {
			maxWait = left
		}
	}
	return maxWait
}

// wait waits the given time for the token l reserved, and gives it back
// when ctx ends first. Apart from Admit, so that an admission without a
// wait stays small.
func (r *Registry) wait(ctx context.Context, l *Limiter, wait time.Duration) (gate.Permit, error) {
	clk := r.Clock
	if clk == nil {
		clk = clock.Real{}
	}
	t := clk.NewTimer(wait)
	select {
	case <-t.C():
		return gate.Permit{Reason: ReasonWaited, Waited: wait}, nil
	case <-ctx.Done():
		t.Stop()
		l.Cancel()
		return gate.Permit{Reason: ReasonCancelled}, &gate.RefusedError{
			Gate: gate.NameRateLimit, Reason: ReasonCancelled, Err: fmt.Errorf("%w: %w", ErrLimited, ctx.Err()),
		}
	}
}

// For returns key's limiter, creating it on first use; nil when the
// registry is full.
func (r *Registry) For(key policy.PolicyKey) *Limiter {
	return r.keys.Get(key, r.MaxKeys, DefaultMaxKeys)
}

// Overflowed counts the admissions of keys that got no limiter because the
// registry was full.
func (r *Registry) Overflowed() uint64 { return r.keys.Overflowed() }

var _ gate.Gate = (*Registry)(nil)
