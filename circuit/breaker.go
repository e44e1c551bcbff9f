package circuit

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/aponysus/rego/internal/fastgate"
	"github.com/aponysus/rego/policy"
)

// The state word packs a breaker's generation, state and forced flag, so
// that one atomic load tells an attempt everything the closed path needs
// (internal/fastgate reads it too).
const (
	stateMask = fastgate.StateMask
	forcedBit = fastgate.ForcedBit
	genShift  = fastgate.GenShift
)

func pack(gen uint32, s State, forced bool) uint64 {
	w := uint64(gen)<<genShift | uint64(s)
	if forced {
		w |= forcedBit
	}
	return w
}

func genOf(w uint64) uint32        { return uint32(w >> genShift) }
func stateOf(w uint64) State       { return State(w & stateMask) }
func forcedOf(w uint64) bool       { return w&forcedBit != 0 }
func closedUnforced(w uint64) bool { return fastgate.ClosedUnforced(w) }
func consecZero(gen uint32) uint64 { return fastgate.RunStart(gen) }

// Breaker is one key's circuit breaker: a state machine over closed, open
// and half-open whose every method takes the time as a parameter (no
// clock, no timers, no goroutines). The zero value is a closed breaker
// ready to use; it reports its state changes only when a Registry made it
// (Registry.OnStateChange). A Breaker is safe for concurrent use.
//
// Every state change starts a new generation. A permit carries the
// generation that admitted it, and its result counts only while that
// generation lasts: results of attempts admitted before a state change
// never count after it.
//
// A closed breaker admits and completes attempts without a lock: two
// atomic loads to admit, a few atomic operations to count the result.
// Locks are taken only to change state, on the open and half-open paths,
// and to take a snapshot.
type Breaker struct {
	// fg holds the state word (generation, state, forced: see pack), the
	// closed generation's run of consecutive failures, and the policy of
	// quiet settings, where the executor's closed path reads them.
	fg   fastgate.Circuit
	conf atomic.Pointer[settings] // the last policy's (see setConf)
	win  window

	mu       sync.Mutex
	openedAt time.Time // start of the current open period
	probes   int       // probes in flight in this half-open generation
	probeOK  int       // probes of this half-open generation that succeeded

	key policy.PolicyKey
	reg *Registry // for OnStateChange; nil outside a registry
}

// settingsFor returns the settings of cfg, cached while the policy stays
// the same: comparing the policy is cheaper than deriving its settings,
// and the cache lets Complete, which gets no policy, read them.
func (b *Breaker) settingsFor(cfg *policy.CircuitPolicy) *settings {
	if s := b.conf.Load(); s != nil && samePolicy(&s.pol, cfg) {
		return s
	}
	s := settingsOf(*cfg)
	b.setConf(s)
	return s
}

// setConf makes s the breaker's settings, and its policy the closed
// path's Quiet one when s remembers it and counts no results (nil
// otherwise). Both are stored holding mu, so that changes racing each
// other leave them in agreement; a reader of Quiet between the two
// stores acts as if it had read just before them. Settings change when
// the policy does, rarely.
func (b *Breaker) setConf(s *settings) {
	var quiet *policy.CircuitPolicy
	if !s.counting() {
		quiet = s.src
	}
	b.mu.Lock()
	b.conf.Store(s)
	b.fg.Quiet.Store(quiet)
	b.mu.Unlock()
}

// settingsForFixed is settingsFor for a policy its holder never modifies
// (the executor's policies in force: fastgate.Breaker's AdmitClosed).
// Settings derived from it remember its address, so that the admissions
// under it need no comparison; settings of the same configuration that
// remember no address adopt it (once: settings of another fixed policy
// of the same configuration are kept, not replaced back and forth).
func (b *Breaker) settingsForFixed(cfg *policy.CircuitPolicy) *settings {
	s := b.conf.Load()
	if s != nil && (s.src == cfg || samePolicy(&s.pol, cfg) && s.src != nil) {
		return s
	}
	s = settingsOf(*cfg)
	s.src = cfg
	b.setConf(s)
	return s
}

// lastSettings returns the settings of the last policy the breaker saw.
func (b *Breaker) lastSettings() *settings {
	if s := b.conf.Load(); s != nil {
		return s
	}
	return b.settingsFor(&policy.CircuitPolicy{})
}

// admission is the breaker's decision on one attempt.
type admission struct {
	ok         bool
	probe      bool
	gen        uint32
	reason     string
	retryAfter time.Duration
}

// admit decides on an attempt at now under s.
func (b *Breaker) admit(now time.Time, s *settings) admission {
	w := b.fg.Word.Load()
	if closedUnforced(w) {
		return admission{ok: true, gen: genOf(w), reason: ReasonClosed}
	}
	if forcedOf(w) {
		if stateOf(w) == Closed {
			return admission{ok: true, gen: genOf(w), reason: ReasonForcedClosed}
		}
		return admission{reason: ReasonForcedOpen}
	}
	for {
		b.mu.Lock()
		w = b.fg.Word.Load()
		switch {
		case forcedOf(w) || stateOf(w) == Closed:
			b.mu.Unlock()
			return b.admit(now, s)
		case stateOf(w) == Open:
			if wait := b.openedAt.Add(s.cooldown).Sub(now); wait > 0 {
				b.mu.Unlock()
				return admission{reason: ReasonOpen, retryAfter: wait}
			}
			// The cooldown has passed: go half-open, report it with no
			// lock held and no slot taken (a panicking hook must not
			// leak a probe slot), then take a slot.
			ch := b.changeLocked(HalfOpen, false, now, CauseCooldown)
			b.mu.Unlock()
			b.notify(ch)
			continue
		}
		// Half-open.
		if b.probes >= s.probes {
			b.mu.Unlock()
			return admission{reason: ReasonProbeBusy}
		}
		b.probes++
		b.mu.Unlock()
		return admission{ok: true, probe: true, gen: genOf(w), reason: ReasonProbe}
	}
}

// result reports how an admitted attempt of generation gen ended: ran
// tells whether it says anything about the dependency (false for
// cancelled and never-run attempts); failed and slow say what. end is
// when it ended (zero: unknown, for answers that need no time).
func (b *Breaker) result(gen uint32, probe bool, s *settings, ran, failed, slow bool, end time.Time) {
	if probe {
		b.probeResult(gen, s, ran, failed || (slow && s.slowRate > 0), end)
		return
	}
	if !ran {
		return
	}
	if w := b.fg.Word.Load(); genOf(w) != gen || !closedUnforced(w) {
		return // a late result, or a forced breaker: it counts for nothing
	}
	var cause string
	if failed {
		if b.failure(gen) >= s.threshold {
			cause = CauseConsecutiveFailures
		}
	} else {
		b.fg.Answer(gen)
	}
	if s.counting() {
		b.win.add(gen, s, end, failed, slow)
		// The rates are checked when a result could raise one: a success
		// never opens the breaker.
		if cause == "" && (failed && s.failureRate > 0 || slow && s.slowRate > 0) {
			cause = b.rateCause(gen, s, end)
		}
	}
	if cause != "" {
		b.trip(gen, end, cause)
	}
}

// failure counts a consecutive failure of generation gen and returns the
// count (0 when gen is over).
func (b *Breaker) failure(gen uint32) uint64 {
	for {
		c := b.fg.Run.Load()
		if uint32(c>>32) != gen {
			return 0
		}
		if b.fg.Run.CompareAndSwap(c, c+1) {
			return uint64(uint32(c + 1))
		}
	}
}

// rateCause returns the rate rule the window breaks at t, if any.
func (b *Breaker) rateCause(gen uint32, s *settings, t time.Time) string {
	c := b.win.sum(gen, s, t)
	if c.calls == 0 || c.calls < s.minThroughput {
		return ""
	}
	// Dividing (not multiplying the threshold) makes a share equal to a
	// decimal threshold, such as 3 of 10 against 0.3, compare equal.
	if s.failureRate > 0 && float64(c.failures)/float64(c.calls) >= s.failureRate {
		return CauseFailureRate
	}
	if s.slowRate > 0 && float64(c.slow)/float64(c.calls) >= s.slowRate {
		return CauseSlowCallRate
	}
	return ""
}

// trip opens the breaker at t if generation gen is still the closed one.
func (b *Breaker) trip(gen uint32, t time.Time, cause string) {
	b.mu.Lock()
	w := b.fg.Word.Load()
	if genOf(w) != gen || !closedUnforced(w) {
		b.mu.Unlock()
		return
	}
	ch := b.changeLocked(Open, false, b.timeOr(t), cause)
	b.mu.Unlock()
	b.notify(ch)
}

// probeResult reports a probe of generation gen.
func (b *Breaker) probeResult(gen uint32, s *settings, ran, failed bool, end time.Time) {
	b.mu.Lock()
	w := b.fg.Word.Load()
	if genOf(w) != gen || stateOf(w) != HalfOpen || forcedOf(w) {
		// The generation is over: its probe slots went with it.
		b.mu.Unlock()
		return
	}
	if b.probes > 0 {
		b.probes--
	}
	var ch StateChange
	switch {
	case !ran:
	case failed:
		ch = b.changeLocked(Open, false, b.timeOr(end), CauseProbeFailed)
	default:
		b.probeOK++
		if b.probeOK >= s.successes {
			ch = b.changeLocked(Closed, false, end, CauseProbesSucceeded)
		}
	}
	b.mu.Unlock()
	b.notify(ch)
}

// timeOr returns t, or when t is zero the latest time the breaker knows
// (an open period needs a start).
func (b *Breaker) timeOr(t time.Time) time.Time {
	if !t.IsZero() {
		return t
	}
	if base := b.win.base.Load(); base != nil {
		return base.Add(time.Duration(b.win.last.Load()))
	}
	return t
}

// changeLocked moves the breaker to state to (forced or not) at t, in a
// new generation, and returns the change to report (zero when neither the
// state nor the forced flag changed). The caller holds mu.
func (b *Breaker) changeLocked(to State, forced bool, t time.Time, cause string) StateChange {
	w := b.fg.Word.Load()
	gen := genOf(w) + 1
	if to == Closed {
		// Before the word: a closed generation starts with no failures.
		b.fg.Run.Store(consecZero(gen))
	}
	b.fg.Word.Store(pack(gen, to, forced))
	switch to {
	case Open:
		b.openedAt = t
	case HalfOpen:
		b.probes, b.probeOK = 0, 0
	}
	if stateOf(w) == to && forcedOf(w) == forced {
		return StateChange{}
	}
	return StateChange{Key: b.key, From: stateOf(w), To: to, At: t, Forced: forced, Cause: cause, Generation: gen}
}
