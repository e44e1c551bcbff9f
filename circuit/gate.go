package circuit

import (
	"context"
	"time"

	"github.com/aponysus/rego/gate"
	"github.com/aponysus/rego/policy"
)

// A Breaker and a Registry are gates: the executor asks them before every
// attempt, like any other gate.
var (
	_ gate.Gate      = (*Breaker)(nil)
	_ gate.Completer = (*Breaker)(nil)
	_ gate.Gate      = (*Registry)(nil)
)

// Admit asks the breaker about the attempt a at now, under the attempt's
// policy (a.Policy.Circuit; a nil policy is the zero policy). It never
// waits. When the policy does not enable the breaker, the attempt is
// admitted with Reason ReasonDisabled and nothing to complete, unless the
// breaker is forced: a forced state holds whatever the policy says. A
// forced closed breaker admits with ReasonForcedClosed and nothing to
// complete.
// Otherwise an admitted attempt's Permit has Reason ReasonClosed or
// ReasonProbe, the breaker as its Completer and the admitting generation
// and probe flag in its Token; a refusal is a *OpenError with the Permit's
// Reason ReasonOpen, ReasonProbeBusy or ReasonForcedOpen.
func (b *Breaker) Admit(_ context.Context, a gate.Attempt, now time.Time) (gate.Permit, error) {
	if a.Policy == nil || !a.Policy.Circuit.Enabled {
		if w := b.fg.Word.Load(); forcedOf(w) {
			// An operator's forcing holds whatever the policy says.
			return b.admitGate(a.Key, now, b.lastSettings())
		}
		return gate.Permit{Reason: ReasonDisabled}, nil
	}
	// The closed path, kept small: settingsFor by hand, so that a policy
	// already seen costs no call.
	s := b.conf.Load()
	if s == nil || !samePolicy(&s.pol, &a.Policy.Circuit) {
		s = b.settingsFor(&a.Policy.Circuit)
	}
	if w := b.fg.Word.Load(); closedUnforced(w) {
		return gate.Permit{Reason: ReasonClosed, Completer: b, Token: uint64(genOf(w)) << 1}, nil
	}
	return b.admitGate(a.Key, now, s)
}

func (b *Breaker) admitGate(key policy.PolicyKey, now time.Time, s *settings) (gate.Permit, error) {
	ad := b.admit(now, s)
	if !ad.ok {
		return gate.Permit{Reason: ad.reason}, &OpenError{Key: key, Reason: ad.reason, RetryAfter: ad.retryAfter}
	}
	if ad.reason == ReasonForcedClosed {
		return gate.Permit{Reason: ad.reason}, nil
	}
	tok := uint64(ad.gen) << 1
	if ad.probe {
		tok |= 1
	}
	return gate.Permit{Reason: ad.reason, Completer: b, Token: tok}, nil
}

// Complete reports the result of an attempt the breaker admitted: Answered
// is a success, Failed a failure, and either is also a slow call when the
// policy counts slow calls and r.Latency exceeds SlowCallDuration.
// Cancelled and NotRun say nothing about the dependency: they count for
// nothing and give a probe's slot back. A result whose generation is over
// counts for nothing. Complete must be called once per permit.
func (b *Breaker) Complete(p gate.Permit, r gate.Result) {
	s := b.lastSettings()
	ran := r.Verdict == gate.Answered || r.Verdict == gate.Failed
	slow := s.slowCall > 0 && r.Latency > s.slowCall
	b.result(uint32(p.Token>>1), p.Token&1 == 1, s, ran, r.Verdict == gate.Failed, slow, r.End)
}

// Admit asks the breaker of a.Key (see Breaker.Admit). A key without a
// breaker, because the registry is full, is admitted with Reason
// ReasonUntracked and nothing to complete. An executor that asks many
// attempts of one call can look the breaker up once (For) and ask it
// directly.
func (r *Registry) Admit(ctx context.Context, a gate.Attempt, now time.Time) (gate.Permit, error) {
	b := r.For(a.Key)
	if b == nil {
		return gate.Permit{Reason: ReasonUntracked}, nil
	}
	return b.Admit(ctx, a, now)
}
