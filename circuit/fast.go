package circuit

import (
	"time"

	"github.com/aponysus/rego/gate"
	"github.com/aponysus/rego/internal/fastgate"
	"github.com/aponysus/rego/policy"
)

// fastPath is a Breaker seen by the executor through internal/fastgate:
// Admit's and Complete's closed paths, without the gate.Attempt and the
// gate.Result whose copies cost more than the breaker's own work.
type fastPath Breaker

func init() {
	fastgate.Of = func(g gate.Gate) fastgate.Breaker {
		if b, ok := g.(*Breaker); ok && b != nil {
			return (*fastPath)(b)
		}
		return nil
	}
}

// Circuit returns the state the inline paths read.
func (f *fastPath) Circuit() *fastgate.Circuit { return &f.fg }

// AdmitClosed is Admit's closed path (see fastgate.Breaker).
func (f *fastPath) AdmitClosed(cfg *policy.CircuitPolicy, fixed bool) (uint64, bool) {
	b := (*Breaker)(f)
	if !cfg.Enabled {
		return 0, false
	}
	if s := b.conf.Load(); s == nil || s.src != cfg {
		// Not the policy the settings remember by address: compare it.
		if fixed {
			b.settingsForFixed(cfg)
		} else if s == nil || !samePolicy(&s.pol, cfg) {
			b.settingsFor(cfg)
		}
	}
	w := b.fg.Word.Load()
	if !closedUnforced(w) {
		return 0, false
	}
	return uint64(genOf(w)) << 1, true // the Token of Admit's closed path
}

// Answered is Complete for an answered attempt that cannot change the
// breaker's state (see fastgate.Breaker): not a probe's, and not a slow
// call the slow-call rule counts, since an answer never opens a breaker
// otherwise. It reads the same settings as Complete and counts the
// answer as result does; without a rate rule that is only the end of a
// run of consecutive failures.
func (f *fastPath) Answered(completer gate.Completer, tok uint64, latency time.Duration, end time.Time) bool {
	b := (*Breaker)(f)
	s := b.conf.Load()
	if completer != gate.Completer(b) || tok&1 != 0 || s == nil {
		return false
	}
	slow := s.slowCall > 0 && latency > s.slowCall
	if slow && s.slowRate > 0 {
		return false
	}
	gen := uint32(tok >> 1)
	if !s.counting() {
		b.fg.Answer(gen)
		return true
	}
	b.result(gen, false, s, true, false, slow, end)
	return true
}
