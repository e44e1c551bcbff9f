package shed

import (
	"context"
	"errors"
	"math"
	"sync/atomic"
	"time"

	"github.com/aponysus/rego/adaptive"
	"github.com/aponysus/rego/bulkhead"
	"github.com/aponysus/rego/gate"
	"github.com/aponysus/rego/internal/keyed"
	"github.com/aponysus/rego/policy"
)

// Reasons recorded in gate decisions; a refusal's reason is ReasonShed
// followed by the criticality's name.
const (
	ReasonAdmitted  = "admitted"
	ReasonDisabled  = "disabled"
	ReasonOverflow  = "overflow"
	ReasonUnbounded = "unbounded" // no capacity to share out: nothing is shed
	ReasonShed      = "shed_"
)

// ErrShed is matched (errors.Is) by every refusal of this gate.
var ErrShed = errors.New("shed: load shed")

// refusals by rank (rank 0, critical_plus, is never shed).
var refusals = [4]*gate.RefusedError{
	nil,
	{Gate: gate.NameShed, Reason: ReasonShed + gate.CriticalityCritical.String(), Err: ErrShed},
	{Gate: gate.NameShed, Reason: ReasonShed + gate.CriticalitySheddablePlus.String(), Err: ErrShed},
	{Gate: gate.NameShed, Reason: ReasonShed + gate.CriticalitySheddable.String(), Err: ErrShed},
}

// Default fractions of a policy whose fraction is zero (or out of range).
const (
	DefaultCriticalFraction      = 0.9
	DefaultSheddablePlusFraction = 0.75
	DefaultSheddableFraction     = 0.5
)

// Share returns how many attempts in flight criticality c may find and
// still be admitted, out of capacity under p: capacity itself for
// critical_plus, else floor(fraction * capacity), at least one.
func Share(p policy.ShedPolicy, capacity int, c gate.Criticality) int {
	var f, def float64
	switch c.Rank() {
	case 0:
		return capacity
	case 1:
		f, def = p.CriticalFraction, DefaultCriticalFraction
	case 2:
		f, def = p.SheddablePlusFraction, DefaultSheddablePlusFraction
	default:
		f, def = p.SheddableFraction, DefaultSheddableFraction
	}
	if !(f > 0 && f <= 1) {
		f = def
	}
	n := int(math.Floor(f * float64(capacity)))
	if n < 1 {
		n = 1
	}
	return n
}

// Shedder counts one key's attempts in flight. The zero value is ready to
// use; it is safe for concurrent use.
type Shedder struct {
	inflight atomic.Int64
}

// Admit admits an attempt of criticality c while fewer than its share of
// capacity are in flight. The caller completes an admitted permit.
func (s *Shedder) Admit(p policy.ShedPolicy, capacity int, c gate.Criticality) (gate.Permit, error) {
	rank := c.Rank()
	share := int64(Share(p, capacity, c))
	for {
		n := s.inflight.Load()
		if rank > 0 && n >= share {
			re := refusals[rank]
			return gate.Permit{Reason: re.Reason}, re
		}
		if s.inflight.CompareAndSwap(n, n+1) {
			return gate.Permit{Reason: ReasonAdmitted, Completer: s}, nil
		}
	}
}

// Complete ends an admitted attempt (gate.Completer).
func (s *Shedder) Complete(gate.Permit, gate.Result) { s.inflight.Add(-1) }

// InFlight returns how many admitted attempts have not completed.
func (s *Shedder) InFlight() int { return int(s.inflight.Load()) }

// LimitSource reports a key's current concurrency limit; an
// *adaptive.Registry is one.
type LimitSource interface {
	Limit(key policy.PolicyKey) (int, bool)
}

// DefaultMaxKeys is how many keys a Registry with a zero MaxKeys gives a
// Shedder of their own.
const DefaultMaxKeys = 1024

// Registry keeps one Shedder per key and is the load shedding gate
// (gate.Gate). The zero value is ready to use; set its fields before first
// use. It is safe for concurrent use.
type Registry struct {
	// MaxKeys caps how many keys get a Shedder; further keys pass and
	// Overflowed counts them. Zero means DefaultMaxKeys.
	MaxKeys int
	// Limits gives the current adaptive limit of keys whose capacity is
	// that limit. Nil means the policy's InitialLimit stands in.
	Limits LimitSource

	keys keyed.Map[Shedder]
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{} }

// Capacity returns the capacity a.Policy.Shed shares out for a.Key, and
// false when there is none.
func (r *Registry) Capacity(a gate.Attempt) (int, bool) {
	p := a.Policy
	switch {
	case p.Shed.Capacity > 0:
		return p.Shed.Capacity, true
	case p.Bulkhead.Enabled:
		if p.Bulkhead.MaxConcurrent > 0 {
			return p.Bulkhead.MaxConcurrent, true
		}
		return bulkhead.DefaultMaxConcurrent, true
	case p.Concurrency.Enabled:
		if r.Limits != nil {
			if n, ok := r.Limits.Limit(a.Key); ok && n > 0 {
				return n, true
			}
		}
		if p.Concurrency.InitialLimit > 0 {
			return p.Concurrency.InitialLimit, true
		}
		return adaptive.DefaultInitialLimit, true
	}
	return 0, false
}

// Admit admits or sheds the attempt by its criticality (a.Criticality).
// Attempts whose policy does not enable shedding pass with ReasonDisabled.
// It never waits; now is not used.
func (r *Registry) Admit(_ context.Context, a gate.Attempt, _ time.Time) (gate.Permit, error) {
	if a.Policy == nil || !a.Policy.Shed.Enabled {
		return gate.Permit{Reason: ReasonDisabled}, nil
	}
	capacity, ok := r.Capacity(a)
	if !ok {
		return gate.Permit{Reason: ReasonUnbounded}, nil
	}
	s := r.keys.Get(a.Key, r.MaxKeys, DefaultMaxKeys)
	if s == nil {
		return gate.Permit{Reason: ReasonOverflow}, nil
	}
	return s.Admit(a.Policy.Shed, capacity, a.Criticality)
}

// For returns key's Shedder, creating it on first use; nil when the
// registry is full.
func (r *Registry) For(key policy.PolicyKey) *Shedder {
	return r.keys.Get(key, r.MaxKeys, DefaultMaxKeys)
}

// Overflowed counts the admissions of keys that got no Shedder because the
// registry was full.
func (r *Registry) Overflowed() uint64 { return r.keys.Overflowed() }

var (
	_ gate.Gate      = (*Registry)(nil)
	_ gate.Completer = (*Shedder)(nil)
)
