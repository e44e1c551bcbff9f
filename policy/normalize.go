package policy

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"sync"
	"time"

	"github.com/aponysus/rego/internal/suggest"
)

// Defaults and safe ranges applied by Normalize. The field table
// (fields.go) is where each applies; docs/policies.md lists them by field.
const (
	DefaultMaxAttempts       = 3
	MaxMaxAttempts           = 10
	DefaultInitialBackoff    = 100 * time.Millisecond
	MinInitialBackoff        = time.Millisecond
	MaxInitialBackoff        = time.Minute
	DefaultMaxBackoff        = 10 * time.Second
	MaxMaxBackoff            = 5 * time.Minute
	DefaultBackoffMultiplier = 2.0
	MinBackoffMultiplier     = 1.0
	MaxBackoffMultiplier     = 10.0
	MinTimeout               = time.Millisecond
	MaxTimeoutPerAttempt     = time.Hour
	MaxOverallTimeout        = 24 * time.Hour
	DefaultBudgetCost        = 1
	MaxBudgetCost            = 1000
	DefaultMaxHedges         = 1
	MaxMaxHedges             = 5
	DefaultHedgeDelay        = 50 * time.Millisecond
	MinHedgeDelay            = time.Millisecond
	MaxHedgeDelay            = time.Minute
	DefaultFailureThreshold  = 5
	MaxFailureThreshold      = 1000
	DefaultCooldown          = 5 * time.Second
	MinCooldown              = 10 * time.Millisecond
	MaxCooldown              = 10 * time.Minute

	MaxSlowCallDuration   = time.Hour
	DefaultCircuitWindow  = 10 * time.Second
	MinCircuitWindow      = 100 * time.Millisecond
	MaxCircuitWindow      = 10 * time.Minute
	DefaultMinThroughput  = 10
	MaxMinThroughput      = 100000
	DefaultHalfOpenProbes = 1
	MaxHalfOpenProbes     = 100

	// MaxGateWait bounds how long a bulkhead, rate limiter or adaptive
	// limit may make an attempt wait.
	MaxGateWait          = time.Minute
	DefaultMaxConcurrent = 10
	MaxMaxConcurrent     = 100000
	MaxMaxQueue          = 100000
	DefaultRate          = 100.0
	MaxRate              = 1e6
	MaxBurst             = 1000000
	DefaultInitialLimit  = 20
	DefaultMinLimit      = 1
	DefaultMaxLimit      = 1000
	MaxLimit             = 100000
	MaxShedCapacity      = 100000

	DefaultSheddableFraction     = 0.5
	DefaultSheddablePlusFraction = 0.75
	DefaultCriticalFraction      = 0.9
)

// The adaptive concurrency algorithms of ConcurrencyPolicy.Algorithm.
const (
	AlgorithmGradient2 = "gradient2"
	AlgorithmVegas     = "vegas"
	AlgorithmAIMD      = "aimd"
)

// ErrInvalidPolicy is wrapped by every error Normalize returns.
var ErrInvalidPolicy = errors.New("policy: invalid policy")

// FieldError reports a value that cannot be repaired. Field is the JSON path
// of the field ("retry.jitter").
type FieldError struct {
	Field string
	Value string
	Msg   string
}

func (e *FieldError) Error() string {
	if e.Value == "" {
		return fmt.Sprintf("policy: %s: %s", e.Field, e.Msg)
	}
	return fmt.Sprintf("policy: %s: %s (got %q)", e.Field, e.Msg, e.Value)
}

// Unwrap returns ErrInvalidPolicy.
func (e *FieldError) Unwrap() error { return ErrInvalidPolicy }

// Normalize returns a copy of p with every zero field set to its default and
// every out-of-range value clamped into its documented range. The JSON paths
// of the fields it clamped (not those it merely defaulted) are appended to
// Meta.ClampedFields, and Meta.Normalized is set. A negative number is
// clamped like any other value out of range: to the lowest value, to "off"
// for a field whose zero means off, to the default for a field whose range
// excludes zero (a rate, a fraction); a NaN becomes the default.
//
// The error, a *FieldError (or several joined with errors.Join), is only for
// values that cannot be repaired: an unknown jitter kind or concurrency
// algorithm, a gate without a name or listed twice. Normalize never panics.
//
// DecodeDocument is stricter with documents: see docs/policies.md.
func (p EffectivePolicy) Normalize() (EffectivePolicy, error) {
	n := normalizer{}
	if len(p.Meta.ClampedFields) > 0 {
		// Keep what an earlier pass recorded; never share the backing array.
		n.clamped = append([]string(nil), p.Meta.ClampedFields...)
	}
	// The table's accessors are function values, so the policy they are
	// handed escapes: work on a pooled copy rather than allocate one per
	// call.
	s := scratch.Get().(*EffectivePolicy)
	*s = p
	n.policy(s)
	p = *s
	*s = EffectivePolicy{}
	scratch.Put(s)
	p.Meta.Normalized = true
	p.Meta.ClampedFields = n.clamped
	if p.Meta.Source == "" {
		p.Meta.Source = SourceUnknown
	}
	return p, errors.Join(n.errs...)
}

var scratch = sync.Pool{New: func() any { return new(EffectivePolicy) }}

type normalizer struct {
	clamped []string
	errs    []error
}

func (n *normalizer) clamp(field string) { n.clamped = append(n.clamped, field) }

func (n *normalizer) fail(field, value, msg string) {
	n.errs = append(n.errs, &FieldError{Field: field, Value: value, Msg: msg})
}

// policy normalises every field of p in table order: a field bounded by
// another comes after it in the table.
func (n *normalizer) policy(p *EffectivePolicy) {
	for _, sec := range policySections {
		if sec.empty != nil && sectionDefaultsReady && sec.empty(p) {
			sec.fill(p)
			continue
		}
		n.fields(sec.leaves, p)
	}
}

// fields normalises the leaves fs of p.
func (n *normalizer) fields(fs []*field[EffectivePolicy], p *EffectivePolicy) {
	for _, f := range fs {
		switch f.kind {
		case kindInt, kindFloat, kindDuration:
			n.number(f, p)
		case kindEnum:
			n.enum(f, p)
		case kindGates:
			n.gates(f, p)
		}
	}
}

// bounds returns the range of f in p, with the bounds other fields set.
// (Plain comparisons: math.Max and math.Min cost more, for NaNs and signed
// zeros that cannot occur here.)
func bounds(f *field[EffectivePolicy], p *EffectivePolicy) (lo, hi float64) {
	lo, hi = f.rule.lo, f.rule.hi
	if f.loF != nil {
		if v := f.loF.number(p); v > lo {
			lo = v
		}
	}
	if f.hiF != nil {
		if v := f.hiF.number(p); v < hi {
			hi = v
		}
	}
	return lo, hi
}

// defaultOf returns the value a zero f takes in p, inside its range.
func defaultOf(f *field[EffectivePolicy], p *EffectivePolicy) float64 {
	r := f.rule
	d := r.def
	if f.defF != nil {
		d = f.defF.number(p)
		if d < r.defMin {
			d = r.defMin
		}
		if f.kind != kindFloat {
			d = math.Floor(d)
		}
	}
	if f.defF == nil && f.loF == nil && f.hiF == nil {
		return d // a static default is inside the static range
	}
	lo, hi := bounds(f, p)
	if d < lo {
		d = lo
	}
	if d > hi {
		d = hi
	}
	return d
}

func (n *normalizer) number(f *field[EffectivePolicy], p *EffectivePolicy) {
	v := f.number(p)
	r := f.rule
	off := r.zero == zeroOff
	if v == 0 {
		if !off {
			f.setNumber(p, defaultOf(f, p))
		}
		return
	}
	lo, hi := bounds(f, p)
	switch {
	case math.IsNaN(v), off && v < 0, r.loOpen && v <= lo:
		// Meaningless: the default, or off for a field whose zero is off.
		if off {
			f.setNumber(p, 0)
		} else {
			f.setNumber(p, defaultOf(f, p))
		}
	case v < lo:
		f.setNumber(p, lo)
	case v > hi:
		f.setNumber(p, hi)
	default:
		return
	}
	n.clamp(f.path)
}

func (n *normalizer) enum(f *field[EffectivePolicy], p *EffectivePolicy) {
	s := f.strp(p)
	switch {
	case *s == "":
		*s = f.enumDef
	case !f.open && !f.known(*s):
		n.fail(f.path, *s, unknownEnumMsg(f, *s))
		*s = f.enumDef
	}
}

// unknownEnumMsg says which values f takes, and the one v was probably
// meant to be.
func unknownEnumMsg[R any](f *field[R], v string) string {
	return "unknown " + f.noun + " (want " + orList(f.enum) + ")" + suggest.Hint(v, f.enum)
}

func (n *normalizer) gates(f *field[EffectivePolicy], p *EffectivePolicy) {
	for i, g := range *f.gatesp(p) {
		path := gatePath(i) + ".name"
		if g.Name == "" {
			n.fail(path, "", "a gate needs a name")
			continue
		}
		for _, h := range (*f.gatesp(p))[:i] {
			if h.Name == g.Name {
				n.fail(path, g.Name, "gate listed twice")
				break
			}
		}
	}
}

func gatePath(i int) string { return "gates[" + strconv.Itoa(i) + "]" }

// fillDefaults sets p to the defaults of every field.
func (p *EffectivePolicy) fillDefaults() {
	var n normalizer
	n.policy(p)
}
