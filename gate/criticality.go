package gate

import (
	"context"
	"strings"
)

// Criticality says how important a call is, so that when a limit is reached
// the least critical work is refused first. The zero value is
// CriticalityDefault, which ranks as CriticalityCritical.
type Criticality int

// The criticalities, from most to least critical.
const (
	CriticalityDefault Criticality = iota
	// CriticalityCriticalPlus is for work whose loss users notice at once
	// and that must be served first.
	CriticalityCriticalPlus
	// CriticalityCritical is the default for user-facing work.
	CriticalityCritical
	// CriticalitySheddablePlus is work that can be retried later, such as
	// batch jobs with a deadline.
	CriticalitySheddablePlus
	// CriticalitySheddable is work that may be dropped under load.
	CriticalitySheddable
)

// Rank orders criticalities: 0 for the most critical, higher for less
// critical work. CriticalityDefault ranks as CriticalityCritical.
func (c Criticality) Rank() int {
	switch c {
	case CriticalityCriticalPlus:
		return 0
	case CriticalitySheddablePlus:
		return 2
	case CriticalitySheddable:
		return 3
	}
	return 1
}

// String returns the criticality's wire name, as carried in the
// Rego-Criticality HTTP header and gRPC metadata.
func (c Criticality) String() string {
	switch c {
	case CriticalityCriticalPlus:
		return "critical_plus"
	case CriticalityCritical, CriticalityDefault:
		return "critical"
	case CriticalitySheddablePlus:
		return "sheddable_plus"
	case CriticalitySheddable:
		return "sheddable"
	}
	return "critical"
}

// ParseCriticality parses a wire name (case-insensitive, surrounding spaces
// ignored). An unknown name gives CriticalityDefault and false.
func ParseCriticality(s string) (Criticality, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "critical_plus":
		return CriticalityCriticalPlus, true
	case "critical":
		return CriticalityCritical, true
	case "sheddable_plus":
		return CriticalitySheddablePlus, true
	case "sheddable":
		return CriticalitySheddable, true
	}
	return CriticalityDefault, false
}

type criticalityKey struct{}

// WithCriticality returns a context carrying c.
func WithCriticality(ctx context.Context, c Criticality) context.Context {
	return context.WithValue(ctx, criticalityKey{}, c)
}

// CriticalityFrom returns the criticality ctx carries, or
// CriticalityDefault.
func CriticalityFrom(ctx context.Context) Criticality {
	if c, ok := ctx.Value(criticalityKey{}).(Criticality); ok {
		return c
	}
	return CriticalityDefault
}
