package adaptive

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"

	"github.com/aponysus/rego/clock"
	"github.com/aponysus/rego/gate"
	"github.com/aponysus/rego/internal/sema"
	"github.com/aponysus/rego/policy"
)

// Reasons recorded in gate decisions.
const (
	// ReasonAdmitted: under the limit.
	ReasonAdmitted = sema.ReasonAdmitted
	// ReasonQueued: admitted after waiting (Permit.Waited).
	ReasonQueued = sema.ReasonQueued
	// ReasonDisabled: the policy has no adaptive limit; the attempt passes.
	ReasonDisabled = "disabled"
	// ReasonOverflow: the registry had no room for the key; it passes.
	ReasonOverflow = "overflow"
	// ReasonLimited: at the limit, and the policy allows no wait.
	ReasonLimited = "limited"
	// ReasonQueueFull: as many attempts as the limit already wait.
	ReasonQueueFull = sema.ReasonQueueFull
	// ReasonWaitTimeout: no slot came free within MaxWait.
	ReasonWaitTimeout = sema.ReasonWaitTimeout
	// ReasonCancelled: the caller's context ended during the wait.
	ReasonCancelled = sema.ReasonCancelled
)

// ErrLimited is matched (errors.Is) by every refusal of an adaptive limit.
var ErrLimited = errors.New("adaptive: concurrency limit reached")

// answers are the gate's permits and refusals.
var answers = sema.NewAnswers(gate.NameConcurrency, ReasonLimited, ErrLimited)

// Defaults of the policy's zero fields.
const (
	DefaultInitialLimit = 20
	DefaultMinLimit     = 1
	DefaultMaxLimit     = 1000
)

// config is a policy section with its zero fields replaced by defaults and
// its limits put in order.
func config(p policy.ConcurrencyPolicy) policy.ConcurrencyPolicy {
	switch a := strings.ToLower(strings.TrimSpace(p.Algorithm)); a {
	case Vegas, AIMD:
		p.Algorithm = a
	default:
		p.Algorithm = Gradient2
	}
	if p.MinLimit <= 0 {
		p.MinLimit = DefaultMinLimit
	}
	if p.MaxLimit <= 0 {
		p.MaxLimit = DefaultMaxLimit
	}
	if p.MaxLimit < p.MinLimit {
		p.MaxLimit = p.MinLimit
	}
	if p.InitialLimit <= 0 {
		p.InitialLimit = DefaultInitialLimit
	}
	if p.InitialLimit < p.MinLimit {
		p.InitialLimit = p.MinLimit
	}
	if p.InitialLimit > p.MaxLimit {
		p.InitialLimit = p.MaxLimit
	}
	if p.MaxWait < 0 {
		p.MaxWait = 0
	}
	return p
}

// Limiter is one key's adaptive limit. The zero value is ready to use; it
// takes its configuration from the policy section passed to Admit. A
// Limiter is safe for concurrent use. Admitting an attempt under the limit
// while nobody waits takes no lock; completing one takes the lock that
// guards the estimate.
type Limiter struct {
	s   sema.Sema
	cur atomic.Pointer[limiterConfig]
	est estimator // guarded by s.Mu
}

type limiterConfig struct {
	raw, cfg policy.ConcurrencyPolicy
}

func (l *Limiter) configureLocked(p policy.ConcurrencyPolicy) policy.ConcurrencyPolicy {
	if c := l.cur.Load(); c != nil && c.raw == p {
		return c.cfg
	}
	c := &limiterConfig{raw: p, cfg: config(p)}
	l.cur.Store(c)
	l.est.reset(c.cfg.Algorithm, c.cfg.InitialLimit, c.cfg.MinLimit, c.cfg.MaxLimit)
	l.s.SetLimitLocked(c.cfg.InitialLimit)
	return c.cfg
}

// Admit takes a slot under the current limit, waiting on clk (nil means
// clock.Real) as p allows. A nil error means the caller holds a slot until
// it completes the returned permit, whose Result feeds the limit.
func (l *Limiter) Admit(ctx context.Context, clk clock.Clock, p policy.ConcurrencyPolicy) (gate.Permit, error) {
	if c := l.cur.Load(); c != nil && c.raw == p && l.s.TryAcquire() {
		return answers.Admitted(l), nil
	}
	return l.admitSlow(ctx, clk, p)
}

// admitSlow configures, queues and refuses, under the lock; the fast path
// above stays small enough to inline.
func (l *Limiter) admitSlow(ctx context.Context, clk clock.Clock, p policy.ConcurrencyPolicy) (gate.Permit, error) {
	l.s.Mu.Lock()
	cfg := l.configureLocked(p)
	o, waited, err := l.s.AcquireLocked(ctx, clk, cfg.MaxWait, l.s.Limit())
	return answers.Answer(o, waited, err, l)
}

// Complete feeds the attempt's result to the estimate and gives its slot
// back (gate.Completer). The in-flight count of the sample is the one at
// completion, the attempt itself included.
func (l *Limiter) Complete(_ gate.Permit, r gate.Result) {
	l.s.Mu.Lock()
	if r.Verdict == gate.Answered || r.Verdict == gate.Failed {
		l.est.sample(r.Latency, l.s.Inflight(), r.Verdict == gate.Failed)
		l.s.SetLimitLocked(int(l.est.limit))
	}
	l.s.ReleaseLocked()
	l.s.Mu.Unlock()
}

// Limit returns the current limit (zero before first use).
func (l *Limiter) Limit() int { return l.s.Limit() }

// InFlight returns how many attempts hold a slot.
func (l *Limiter) InFlight() int { return l.s.Inflight() }

var _ gate.Completer = (*Limiter)(nil)
