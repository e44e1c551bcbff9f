package circuit

import (
	"time"

	"github.com/aponysus/rego/policy"
)

// This file is the breaker's direct API, which predates the gate seam.
// It carries no generation: a result reported with Done counts against
// the generation in force when it is reported, and carries no latency, so
// it never counts as a slow call. Admit and Complete have neither gap.

// Closed reports whether the breaker is closed (forced closed included).
// It takes no lock and needs no time: a closed breaker lets every attempt
// through, so callers can skip Allow (and reading the clock) when it
// reports true.
func (b *Breaker) Closed() bool { return b.fg.Closed() }

// Allow reports whether an attempt may run at now under cfg. probe is true
// when the attempt is a half-open probe: its caller must report it with
// Done or give the slot back with Release. retryAfter, when denied, is the
// time until a probe will be allowed.
func (b *Breaker) Allow(now time.Time, cfg policy.CircuitPolicy) (ok, probe bool, reason string, retryAfter time.Duration) {
	ad := b.admit(now, b.settingsFor(&cfg))
	return ad.ok, ad.probe, ad.reason, ad.retryAfter
}

// Done reports the outcome of an attempt Allow let through (or that ran
// while Closed reported true): success is true when the dependency
// answered (a success or a non-retryable outcome), false when it failed in
// a way worth retrying. now matters for a failure (it may open the
// breaker) and, when a rate rule is on, for every result: a result with
// the zero time is counted in the latest time bucket the breaker has seen,
// which is accurate only while results keep arriving with times.
func (b *Breaker) Done(now time.Time, cfg policy.CircuitPolicy, probe, success bool) {
	b.result(genOf(b.fg.Word.Load()), probe, b.settingsFor(&cfg), true, !success, false, now)
}

// Release gives back what Allow granted to an attempt that ended without
// an outcome (cancelled, panicked, denied by a later gate).
func (b *Breaker) Release(probe bool) {
	if probe {
		b.result(genOf(b.fg.Word.Load()), true, b.lastSettings(), false, false, false, time.Time{})
	}
}

// State returns the breaker's state at now under cfg (an open breaker
// whose cooldown has passed reports HalfOpen, as its next attempt would
// find it).
func (b *Breaker) State(now time.Time, cfg policy.CircuitPolicy) State {
	b.mu.Lock()
	w, openedAt := b.fg.Word.Load(), b.openedAt
	b.mu.Unlock()
	// (The settings after the lock: a change of them takes it.)
	if stateOf(w) == Open && !forcedOf(w) && !now.Before(openedAt.Add(b.settingsFor(&cfg).cooldown)) {
		return HalfOpen
	}
	return stateOf(w)
}
