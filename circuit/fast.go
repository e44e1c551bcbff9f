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

// AdmitClosed is Admit's closed path (see fastgate.Breaker).
func (f *fastPath) AdmitClosed(cfg *policy.CircuitPolicy) (uint64, bool) {
	b := (*Breaker)(f)
	if !cfg.Enabled {
		return 0, false
	}
	if s := b.conf.Load(); s == nil || !samePolicy(&s.pol, cfg) {
		b.settingsFor(cfg)
	}
	w := b.word.Load()
	if !closedUnforced(w) {
		return 0, false
	}
	return uint64(genOf(w)) << 1, true
}

// Answered is Complete for an answered attempt, when nothing but the
// consecutive count can change (see fastgate.Breaker). Complete would
// read the same settings, and neither the latency nor the end time
// matters without a rate rule or a probe.
func (f *fastPath) Answered(tok uint64) bool {
	b := (*Breaker)(f)
	s := b.conf.Load()
	if tok&1 != 0 || s == nil || s.counting() {
		return false
	}
	b.result(uint32(tok>>1), false, s, true, false, false, time.Time{})
	return true
}
