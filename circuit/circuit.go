// Package circuit holds rego's circuit breakers: per-key gates that stop
// calling a dependency that keeps failing, so that it can recover and so
// that callers fail fast instead of waiting on it.
//
// A Breaker is closed (attempts pass) until FailureThreshold consecutive
// attempts fail; then it is open: the executor fails calls at once with an
// error matching ErrOpen, without calling the dependency. After Cooldown
// it lets one probe attempt through (half-open); the probe's success
// closes the breaker, its failure opens it again for another Cooldown.
// What counts as a failure is the classifier's verdict: a retryable
// outcome (an overloaded or unavailable dependency, a timeout) is a
// failure; a success or a non-retryable outcome (the dependency answered)
// is a success; an attempt cut short by the caller's context or the
// call's overall timeout, or aborted, counts for nothing.
//
// The executor asks the key's breaker before the budget, for every attempt
// (hedges included), and records its decision in the attempt record
// (CircuitReason). A probe slot taken by an attempt is given back on every
// path, cancelled and panicked attempts included.
//
// Registry keeps one Breaker per key, for at most MaxKeys keys: further
// keys get no breaker (their calls pass), loudly (Overflowed), so that a
// key with an ID in it cannot grow memory without bound.
package circuit

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aponysus/rego/internal/cow"
	"github.com/aponysus/rego/policy"
)

// State is a breaker's state.
type State int

// The states.
const (
	Closed State = iota
	Open
	HalfOpen
)

func (s State) String() string {
	switch s {
	case Open:
		return "open"
	case HalfOpen:
		return "half_open"
	}
	return "closed"
}

// Reasons recorded in AttemptRecord.CircuitReason.
const (
	ReasonClosed    = "closed"
	ReasonProbe     = "half_open_probe"
	ReasonOpen      = "open"
	ReasonProbeBusy = "half_open_busy"
)

// ErrOpen is matched (errors.Is) by every OpenError.
var ErrOpen = errors.New("circuit: breaker open")

// OpenError is returned by the executor when a breaker refused an attempt
// and no earlier attempt left an error to return.
type OpenError struct {
	Key    policy.PolicyKey
	Reason string // ReasonOpen or ReasonProbeBusy
	// RetryAfter is how long until the breaker lets a probe through (zero
	// when a probe is already running).
	RetryAfter time.Duration
}

func (e *OpenError) Error() string {
	return fmt.Sprintf("circuit: breaker for %q is %s (probe in %v)", e.Key.String(), e.Reason, e.RetryAfter.Round(time.Millisecond))
}

// Unwrap returns ErrOpen.
func (e *OpenError) Unwrap() error { return ErrOpen }

// Breaker is one key's circuit breaker. It is safe for concurrent use; its
// methods take the time as a parameter, so it is a pure state machine.
type Breaker struct {
	mu    sync.Mutex
	state State
	// tripped mirrors state != Closed, readable without the lock; its
	// zero value matches the zero (closed) Breaker.
	tripped  atomic.Bool
	failures int
	openedAt time.Time
	probing  bool
}

// Closed reports whether the breaker is closed. It takes no lock and needs
// no time: a closed breaker lets every attempt through, so callers can skip
// Allow (and reading the clock) when it reports true.
func (b *Breaker) Closed() bool { return !b.tripped.Load() }

// setState changes the state; the caller holds mu.
func (b *Breaker) setState(s State) {
	b.state = s
	b.tripped.Store(s != Closed)
}

// Allow reports whether an attempt may run at now under cfg. probe is true
// when the attempt is the half-open probe: its caller must report it with
// Done or give the slot back with Release. retryAfter, when denied, is the
// time until a probe will be allowed.
func (b *Breaker) Allow(now time.Time, cfg policy.CircuitPolicy) (ok, probe bool, reason string, retryAfter time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch b.state {
	case Closed:
		return true, false, ReasonClosed, 0
	case Open:
		if wait := b.openedAt.Add(cfg.Cooldown).Sub(now); wait > 0 {
			return false, false, ReasonOpen, wait
		}
		b.setState(HalfOpen)
	}
	if b.probing {
		return false, false, ReasonProbeBusy, 0
	}
	b.probing = true
	return true, true, ReasonProbe, 0
}

// Done reports the outcome of an attempt Allow let through: success is
// true when the dependency answered (a success or a non-retryable
// outcome), false when it failed in a way worth retrying. now matters only
// for a failure (it may open the breaker); a success may pass the zero
// time.
func (b *Breaker) Done(now time.Time, cfg policy.CircuitPolicy, probe, success bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if probe {
		b.probing = false
		if success {
			b.setState(Closed)
			b.failures = 0
		} else {
			b.setState(Open)
			b.openedAt = now
		}
		return
	}
	if b.state != Closed {
		return // a late result from before the breaker opened
	}
	if success {
		b.failures = 0
		return
	}
	b.failures++
	if b.failures >= cfg.FailureThreshold {
		b.setState(Open)
		b.openedAt, b.failures = now, 0
	}
}

// Release gives back what Allow granted to an attempt that ended without
// an outcome (cancelled, panicked, denied by a later gate).
func (b *Breaker) Release(probe bool) {
	if !probe {
		return
	}
	b.mu.Lock()
	b.probing = false
	b.mu.Unlock()
}

// State returns the breaker's state at now under cfg (an open breaker
// whose cooldown has passed reports HalfOpen).
func (b *Breaker) State(now time.Time, cfg policy.CircuitPolicy) State {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.state == Open && !now.Before(b.openedAt.Add(cfg.Cooldown)) {
		return HalfOpen
	}
	return b.state
}

// DefaultMaxKeys is how many keys a zero Registry gives their own breaker.
const DefaultMaxKeys = 1024

// Registry keeps one Breaker per key. The zero value is ready to use, with
// DefaultMaxKeys. Lookups of known keys are lock-free. A Registry is safe
// for concurrent use.
type Registry struct {
	// MaxKeys caps how many keys get a breaker; zero means
	// DefaultMaxKeys. Set it before first use.
	MaxKeys int

	m          cow.Map[policy.PolicyKey, *Breaker]
	mu         sync.Mutex
	n          int
	overflowed atomic.Uint64
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{} }

// For returns key's breaker, creating it on first use; nil when the
// registry is full (the key's calls then pass, and Overflowed counts it).
func (r *Registry) For(key policy.PolicyKey) *Breaker {
	if b, ok := r.m.Load(key); ok {
		return b
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if b, ok := r.m.Load(key); ok {
		return b
	}
	max := r.MaxKeys
	if max <= 0 {
		max = DefaultMaxKeys
	}
	if r.n >= max {
		r.overflowed.Add(1)
		return nil
	}
	b := &Breaker{}
	r.m.Store(key, b)
	r.n++
	return b
}

// Overflowed counts the lookups of keys that got no breaker because the
// registry was full. Export it as a metric: a rising count means a key
// carries request data.
func (r *Registry) Overflowed() uint64 { return r.overflowed.Load() }
