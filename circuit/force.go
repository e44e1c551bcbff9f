package circuit

import "time"

// ForceOpen opens the breaker at at and keeps it open, refusing every
// attempt with ReasonForcedOpen, until Reset (or ForceClose). An operator
// uses it to take a dependency out of service; no cooldown or probe ends
// it.
func (b *Breaker) ForceOpen(at time.Time) { b.force(Open, true, at, CauseForceOpen) }

// ForceClose closes the breaker at at and keeps it closed, admitting every
// attempt with ReasonForcedClosed and counting no result, until Reset (or
// ForceOpen). An operator uses it when the breaker is wrong about a
// dependency.
func (b *Breaker) ForceClose(at time.Time) { b.force(Closed, true, at, CauseForceClose) }

// Reset returns the breaker at at to a fresh closed state, forced or not:
// no failures counted, an empty window, a new generation (results of
// attempts admitted before it count for nothing).
func (b *Breaker) Reset(at time.Time) { b.force(Closed, false, at, CauseReset) }

func (b *Breaker) force(to State, forced bool, at time.Time, cause string) {
	b.mu.Lock()
	ch := b.changeLocked(to, forced, at, cause)
	b.mu.Unlock()
	b.notify(ch)
}
