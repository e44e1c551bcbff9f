// Package shed refuses the least critical work first when a key's load
// nears its capacity, so that under overload a server (or a caller) keeps
// serving what matters most.
//
// Every call has a criticality (gate.Criticality), carried in its context
// (gate.WithCriticality) and across processes in the HTTP header
// Rego-Criticality and the gRPC metadata rego-criticality, whose values
// are gate.Criticality.String() ("critical_plus", "critical",
// "sheddable_plus", "sheddable"). A key's Shedder counts its attempts in
// flight, of every criticality. Each criticality below critical_plus may
// fill only a share of the key's capacity (policy.ShedPolicy:
// SheddableFraction 0.5, SheddablePlusFraction 0.75, CriticalFraction 0.9
// by default); an attempt that arrives when the in-flight count has
// reached its share, floor(fraction * capacity) but at least one, is
// refused with a *gate.RefusedError wrapping ErrShed whose Reason is
// "shed_" followed by the criticality ("shed_sheddable"). critical_plus
// work is never shed by this gate. As load rises, sheddable work is
// refused first, then sheddable_plus, then critical, while the capacity
// left is kept for more critical work.
//
// The capacity is ShedPolicy.Capacity; when that is zero, the key's
// bulkhead MaxConcurrent (when the policy enables the bulkhead), else its
// current adaptive limit (Registry.Limits, when the policy enables the
// adaptive limit; its InitialLimit until the key has one); else nothing is
// shed.
//
// Registry is a gate.Gate. It never waits, takes no lock and no clock
// reading: an admission is one atomic compare-and-swap.
package shed
