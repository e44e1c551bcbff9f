package bulkhead

import (
	"context"
	"errors"
	"sync/atomic"

	"github.com/aponysus/rego/clock"
	"github.com/aponysus/rego/gate"
	"github.com/aponysus/rego/internal/sema"
	"github.com/aponysus/rego/policy"
)

// Reasons recorded in gate decisions.
const (
	// ReasonAdmitted: the attempt got a slot at once.
	ReasonAdmitted = sema.ReasonAdmitted
	// ReasonQueued: the attempt got a slot after waiting (Permit.Waited).
	ReasonQueued = sema.ReasonQueued
	// ReasonDisabled: the policy has no bulkhead; the attempt passes.
	ReasonDisabled = "disabled"
	// ReasonOverflow: the registry had no room for the key; it passes.
	ReasonOverflow = "overflow"
	// ReasonFull: no free slot and the policy allows no wait.
	ReasonFull = "full"
	// ReasonQueueFull: MaxQueue attempts already wait.
	ReasonQueueFull = sema.ReasonQueueFull
	// ReasonWaitTimeout: no slot came free within MaxWait.
	ReasonWaitTimeout = sema.ReasonWaitTimeout
	// ReasonCancelled: the caller's context ended during the wait.
	ReasonCancelled = sema.ReasonCancelled
)

// ErrFull is matched (errors.Is) by every refusal of a bulkhead.
var ErrFull = errors.New("bulkhead: full")

// answers are the gate's permits and refusals.
var answers = sema.NewAnswers(gate.NameBulkhead, ReasonFull, ErrFull)

// Defaults of the policy's zero fields.
const (
	DefaultMaxConcurrent = 10
)

// config is a policy section with its zero fields replaced by defaults.
func config(p policy.BulkheadPolicy) policy.BulkheadPolicy {
	if p.MaxConcurrent <= 0 {
		p.MaxConcurrent = DefaultMaxConcurrent
	}
	if p.MaxQueue <= 0 {
		p.MaxQueue = p.MaxConcurrent
	}
	if p.MaxWait < 0 {
		p.MaxWait = 0
	}
	return p
}

// Bulkhead is one key's bulkhead. The zero value is ready to use; it takes
// its limits from the policy section passed to Admit. A Bulkhead is safe
// for concurrent use. Admitting an attempt while a slot is free and nobody
// waits takes no lock.
type Bulkhead struct {
	s sema.Sema
	// cur is the policy section the semaphore was set up for, with its
	// defaults applied; a different section reconfigures it under the
	// semaphore's lock.
	cur atomic.Pointer[bulkheadConfig]
}

type bulkheadConfig struct {
	raw, cfg policy.BulkheadPolicy
	// src is the policy raw was read from when the Registry admitted the
	// attempt (nil otherwise): an attempt of the same policy, which the
	// executor passes by reference and never changes while it is in force,
	// needs no comparison of the section.
	src *policy.EffectivePolicy
}

// matches reports whether c is the configuration of p, read from src.
func (c *bulkheadConfig) matches(p *policy.BulkheadPolicy, src *policy.EffectivePolicy) bool {
	return c != nil && ((src != nil && c.src == src) || c.raw == *p)
}

// configureLocked applies p if it differs from the section in force.
func (b *Bulkhead) configureLocked(p *policy.BulkheadPolicy, src *policy.EffectivePolicy) policy.BulkheadPolicy {
	if c := b.cur.Load(); c.matches(p, src) {
		return c.cfg
	}
	c := &bulkheadConfig{raw: *p, cfg: config(*p), src: src}
	b.cur.Store(c)
	b.s.SetLimitLocked(c.cfg.MaxConcurrent)
	return c.cfg
}

// Admit takes a slot for an attempt under p, waiting on clk as p allows.
// A nil error means the caller holds a slot until it completes the
// returned permit (Permit.Done). A nil clk means clock.Real.
func (b *Bulkhead) Admit(ctx context.Context, clk clock.Clock, p policy.BulkheadPolicy) (gate.Permit, error) {
	return b.admit(ctx, clk, &p, nil)
}

// admit is Admit for a section read from src (nil: from no policy the
// bulkhead may remember). Taking a free slot under the configuration in
// force is lock-free.
func (b *Bulkhead) admit(ctx context.Context, clk clock.Clock, p *policy.BulkheadPolicy, src *policy.EffectivePolicy) (gate.Permit, error) {
	if b.cur.Load().matches(p, src) && b.s.TryAcquire() {
		return answers.Admitted(b), nil
	}
	return b.admitSlow(ctx, clk, p, src)
}

// admitSlow configures, queues and refuses, under the lock; the fast path
// above stays small.
func (b *Bulkhead) admitSlow(ctx context.Context, clk clock.Clock, p *policy.BulkheadPolicy, src *policy.EffectivePolicy) (gate.Permit, error) {
	b.s.Mu.Lock()
	cfg := b.configureLocked(p, src)
	o, waited, err := b.s.AcquireLocked(ctx, clk, cfg.MaxWait, cfg.MaxQueue)
	return answers.Answer(o, waited, err, b)
}

// Complete gives the permit's slot back (gate.Completer). The executor
// calls it through Permit.Done.
func (b *Bulkhead) Complete(gate.Permit, gate.Result) { b.s.Release() }

// InFlight returns how many attempts hold a slot.
func (b *Bulkhead) InFlight() int { return b.s.Inflight() }

// Queued returns how many attempts wait for a slot.
func (b *Bulkhead) Queued() int {
	b.s.Mu.Lock()
	defer b.s.Mu.Unlock()
	return b.s.QueuedLocked()
}

// Ensure the types meet the seam's interfaces.
var (
	_ gate.Completer = (*Bulkhead)(nil)
	_ gate.Gate      = (*Registry)(nil)
)
