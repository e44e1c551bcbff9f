package fastgate

import (
	"sync/atomic"

	"github.com/aponysus/rego/policy"
)

// The state word of a breaker packs its generation, state and forced
// flag, so that one atomic load tells an attempt everything the closed
// path needs: bits 0-1 the state (0 closed, 1 open, 2 half-open), bit 2
// the forced flag, the generation above.
const (
	StateMask = 3
	ForcedBit = 4
	GenShift  = 3
)

// ClosedUnforced reports whether state word w is a closed breaker that no
// operator forced.
func ClosedUnforced(w uint64) bool { return w&(StateMask|ForcedBit) == 0 }

// RunStart is the value of Circuit.Run for closed generation gen with no
// failure counted yet.
func RunStart(gen uint32) uint64 { return uint64(gen) << 32 }

// Circuit is the state of a circuit breaker that its closed path reads and
// writes, kept in the breaker by package circuit. The executor decides a
// closed breaker's admissions and answers with it inline, without a call,
// when the breaker's rules are quiet: they count no results (no rate
// rule), so that an answer only ends a run of consecutive failures.
type Circuit struct {
	// Word is the state word (see StateMask).
	Word atomic.Uint64
	// Run is the closed generation's consecutive failures, tagged with
	// the generation (high 32 bits) so that a late failure cannot add to
	// a later generation's count.
	Run atomic.Uint64
	// Quiet is the policy (in force: never modified) the breaker's
	// settings were derived from, when those settings are quiet; nil
	// otherwise. Package circuit stores it after the settings, holding
	// the breaker's lock, so that once every change is done it names the
	// settings in force.
	Quiet atomic.Pointer[policy.CircuitPolicy]
}

// Closed reports whether the breaker is closed, forced closed included
// (the breaker's Closed).
func (c *Circuit) Closed() bool { return c.Word.Load()&StateMask == 0 }

// AdmitQuiet is Breaker.AdmitClosed under cfg, a policy in force, when it
// is the breaker's Quiet policy: the Token of the permit, and true, when
// the breaker is closed (not forced). ok is false in every other case:
// the caller then asks AdmitClosed.
func (c *Circuit) AdmitQuiet(cfg *policy.CircuitPolicy) (token uint64, ok bool) {
	if c.Quiet.Load() != cfg || !cfg.Enabled {
		return 0, false
	}
	w := c.Word.Load()
	if !ClosedUnforced(w) {
		return 0, false
	}
	return w >> GenShift << 1, true
}

// AnsweredQuiet is Breaker.Answered for a permit of the breaker's own
// (the caller knows it is) of the given token, when the breaker's
// settings are quiet: it counts the answer (Answer) and reports true. It
// reports false, doing nothing, for a probe's permit or when the settings
// are not quiet: the caller then asks Answered.
func (c *Circuit) AnsweredQuiet(token uint64) bool {
	if token&1 != 0 || c.Quiet.Load() == nil {
		return false
	}
	c.Answer(uint32(token >> 1))
	return true
}

// Answer counts an answer to an attempt of closed generation gen under
// quiet settings: it ends gen's run of consecutive failures, if it has
// one. Without one (no failure since the last success), it writes
// nothing: a closed breaker's successes share no cache line they must
// write. The run is tagged with its generation, so a late answer, of a
// generation that is over, cannot end a later generation's run.
func (c *Circuit) Answer(gen uint32) {
	if r := c.Run.Load(); r != RunStart(gen) && uint32(r>>32) == gen {
		c.Run.CompareAndSwap(r, RunStart(gen))
	}
}
