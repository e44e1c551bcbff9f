package circuit

import (
	"time"

	"github.com/aponysus/rego/policy"
)

// Snapshot is what a breaker knows at one moment, for gauges and debug
// pages.
type Snapshot struct {
	// State is the state the next attempt would find (an open breaker
	// whose cooldown has passed is HalfOpen).
	State State
	// Forced reports a state set by ForceOpen or ForceClose.
	Forced bool
	// Generation grows by one with every state change.
	Generation uint32
	// ConsecutiveFailures is the closed breaker's current run of failures.
	ConsecutiveFailures int
	// Calls, Failures and SlowCalls are the results counted in the window
	// ending at the snapshot's time; they are counted only while a rate
	// rule is on, and only in the closed state.
	Calls, Failures, SlowCalls int
	// FailureRate and SlowCallRate are Failures and SlowCalls over Calls
	// (zero without calls).
	FailureRate, SlowCallRate float64
	// OpenUntil is when an open breaker lets probes through; zero unless
	// the breaker is open and not forced.
	OpenUntil time.Time
	// ProbesInFlight and ProbeSuccesses count the half-open generation's
	// probes still running and those that succeeded.
	ProbesInFlight, ProbeSuccesses int
}

// Snapshot returns the breaker's state at now under cfg.
func (b *Breaker) Snapshot(now time.Time, cfg policy.CircuitPolicy) Snapshot {
	s := b.settingsFor(&cfg)
	b.mu.Lock()
	defer b.mu.Unlock()
	w := b.fg.Word.Load()
	gen := genOf(w)
	sn := Snapshot{State: stateOf(w), Forced: forcedOf(w), Generation: gen}
	switch {
	case sn.Forced:
	case sn.State == Closed:
		if c := b.fg.Run.Load(); uint32(c>>32) == gen {
			sn.ConsecutiveFailures = int(uint32(c))
		}
		if s.counting() {
			c := b.win.sum(gen, s, now)
			sn.Calls, sn.Failures, sn.SlowCalls = int(c.calls), int(c.failures), int(c.slow)
			if c.calls > 0 {
				sn.FailureRate = float64(c.failures) / float64(c.calls)
				sn.SlowCallRate = float64(c.slow) / float64(c.calls)
			}
		}
	case sn.State == Open:
		sn.OpenUntil = b.openedAt.Add(s.cooldown)
		if !now.Before(sn.OpenUntil) {
			sn.State = HalfOpen
		}
	default:
		sn.ProbesInFlight, sn.ProbeSuccesses = b.probes, b.probeOK
	}
	return sn
}
