// Package admission runs rego's overload gates for servers: load shedding,
// the rate limiter, the bulkhead and the adaptive concurrency limit, asked
// in gate.Order for each request of a route key, with the permits of
// admitted requests completed once the handler returns. The HTTP
// middleware of regohttp and the gRPC server interceptors of regogrpc are
// built on it; use it directly for other servers.
//
//	gates := admission.NewGates(nil)
//	t, err := gates.Admit(ctx, gate.Attempt{Key: key, Policy: p, Criticality: c}, time.Now())
//	if err != nil {
//		// refuse: admission.RetryAfter(err, time.Second), admission.RateLimited(err)
//	}
//	defer t.Done(gate.Result{Verdict: gate.Answered, Latency: d, End: time.Now()})
//
// A policy section in shadow mode (its Shadow field) is asked as usual, but
// its refusal is not enforced: Ticket.Shadowed counts such refusals.
package admission

import (
	"context"
	"errors"
	"time"

	"github.com/aponysus/rego/adaptive"
	"github.com/aponysus/rego/bulkhead"
	"github.com/aponysus/rego/clock"
	"github.com/aponysus/rego/controlplane"
	"github.com/aponysus/rego/gate"
	"github.com/aponysus/rego/policy"
	"github.com/aponysus/rego/ratelimit"
	"github.com/aponysus/rego/shed"
)

// Gates holds one registry per overload gate. A nil field skips that gate.
// Gates is safe for concurrent use.
type Gates struct {
	Shed        *shed.Registry
	RateLimit   *ratelimit.Registry
	Bulkhead    *bulkhead.Registry
	Concurrency *adaptive.Registry
}

// NewGates returns the four gates, waiting on clk (nil means clock.Real),
// with shedding sized by the adaptive limits when a policy says so.
func NewGates(clk clock.Clock) *Gates {
	c := &adaptive.Registry{Clock: clk}
	return &Gates{
		Shed:        &shed.Registry{Limits: c},
		RateLimit:   &ratelimit.Registry{Clock: clk},
		Bulkhead:    &bulkhead.Registry{Clock: clk},
		Concurrency: c,
	}
}

// Ticket holds the permits of an admitted request. Its zero value holds
// none.
type Ticket struct {
	permits [4]gate.Permit
	n       int
	// Shadowed counts the refusals not enforced because their policy
	// section is in shadow mode.
	Shadowed int
}

// Done completes every permit with r. Call it exactly once.
func (t *Ticket) Done(r gate.Result) {
	for i := t.n - 1; i >= 0; i-- {
		t.permits[i].Done(r)
	}
	t.n = 0
}

// Admit asks the gates in gate.Order. A refusal completes the permits
// already granted with a gate.NotRun result and returns the refusing
// gate's error (a *gate.RefusedError, or an error matching
// gate.ErrRefused). On success the caller completes the ticket once the
// request ends.
func (g *Gates) Admit(ctx context.Context, a gate.Attempt, now time.Time) (Ticket, error) {
	var t Ticket
	if a.Policy == nil {
		return t, nil
	}
	p := a.Policy
	steps := [4]struct {
		g      gate.Gate
		on     bool
		shadow bool
	}{
		{regOrNil(g.Shed), g.Shed != nil && p.Shed.Enabled, p.Shed.Shadow},
		{regOrNil(g.RateLimit), g.RateLimit != nil && p.RateLimit.Enabled, p.RateLimit.Shadow},
		{regOrNil(g.Bulkhead), g.Bulkhead != nil && p.Bulkhead.Enabled, p.Bulkhead.Shadow},
		{regOrNil(g.Concurrency), g.Concurrency != nil && p.Concurrency.Enabled, p.Concurrency.Shadow},
	}
	for _, s := range steps {
		if !s.on {
			continue
		}
		pm, err := s.g.Admit(ctx, a, now)
		if err != nil {
			if s.shadow {
				t.Shadowed++
				continue
			}
			t.Done(gate.Result{Verdict: gate.NotRun})
			return Ticket{}, err
		}
		t.permits[t.n] = pm
		t.n++
	}
	return t, nil
}

// regOrNil turns a nil registry pointer into a nil Gate, not a Gate
// holding a nil pointer.
func regOrNil[T any, P interface {
	*T
	gate.Gate
}](r P) gate.Gate {
	if r == nil {
		return nil
	}
	return r
}

// RetryAfter returns how long a refused client should wait: the refusal's
// RetryAfter when it has one, else def.
func RetryAfter(err error, def time.Duration) time.Duration {
	var re *gate.RefusedError
	if errors.As(err, &re) && re.RetryAfter > 0 {
		return re.RetryAfter
	}
	return def
}

// RateLimited reports whether err is a refusal of the rate limiter (which
// servers answer with "too many requests" rather than "unavailable").
func RateLimited(err error) bool { return errors.Is(err, ratelimit.ErrLimited) }

// Policy returns the policy of key from provider, by reference when the
// provider can, or nil when it has no usable policy (the request is then
// served without gates: a server fails open when its policies are
// missing).
func Policy(ctx context.Context, provider controlplane.PolicyProvider, key policy.PolicyKey) *policy.EffectivePolicy {
	if rp, ok := provider.(controlplane.PolicyRefProvider); ok {
		p, _ := rp.GetEffectivePolicyRef(ctx, key)
		return p
	}
	p, _ := provider.GetEffectivePolicy(ctx, key)
	if p.Meta.Source == "" {
		return nil
	}
	return &p
}
