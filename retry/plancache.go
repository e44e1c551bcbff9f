package retry

import (
	"reflect"
	"sync/atomic"
	"unsafe"

	"github.com/aponysus/rego/gate"
	"github.com/aponysus/rego/policy"
)

// planSlots is how many gate plans an executor caches: one per policy in
// force (and attempt kind) in the common case; two policies that share a
// slot keep the first, and the other's calls resolve their plan each time
// as if nothing were cached.
const planSlots = 64

// cachedPlan is the gate plan of one policy in force, for attempts of one
// kind (and, when a breaker is among its gates, one key). It is immutable.
type cachedPlan struct {
	p     *policy.EffectivePolicy
	kind  gate.Kind
	keyed bool // the plan holds the key's breaker: it is the key's alone
	key   policy.PolicyKey
	plan  gatePlan
}

// planCache remembers the gate plans of the policies in force, so that a
// call copies its plan instead of asking the gate table. A policy in force
// is never modified and its pointer stays the same while its version is
// in force, so the pointer names the policy. What a plan holds may still
// change under it: a budget or a user gate registered again under its
// name. Those entries are looked up again on every hit (the lookup the
// table makes anyway); breakers are never replaced in their registry, and
// the other built-in gates are fixed when the executor is made.
type planCache [planSlots]atomic.Pointer[cachedPlan]

func (pc *planCache) slot(p *policy.EffectivePolicy, k gate.Kind) *atomic.Pointer[cachedPlan] {
	h := uintptr(unsafe.Pointer(p))
	h ^= h >> 7
	return &pc[(h>>4^uintptr(k))%planSlots]
}

// cachedGates sets pl to the cached plan of policy p (in force, shared)
// for attempts of kind k, and reports whether there was one still valid.
func (e *Executor) cachedGates(key policy.PolicyKey, p *policy.EffectivePolicy, k gate.Kind, pl *gatePlan) bool {
	cp := e.plans.slot(p, k).Load()
	if cp == nil || cp.p != p || cp.kind != k || (cp.keyed && !sameKey(cp.key, key)) || (cp.plan.recheck && !e.current(&cp.plan, p, k)) {
		return false
	}
	*pl = cp.plan
	return true
}

// rememberGates caches pl, the plan just resolved for policy p (in force,
// shared), unless its slot holds a valid plan of another policy or key.
func (e *Executor) rememberGates(key policy.PolicyKey, p *policy.EffectivePolicy, k gate.Kind, pl *gatePlan) {
	s := e.plans.slot(p, k)
	old := s.Load()
	if old != nil && old.p != p && !e.stale(old) {
		return // the slot is taken: keep the first
	}
	if old != nil && old.p == p && old.kind == k && old.keyed && old.key != key {
		return // another key of the same policy has it
	}
	s.CompareAndSwap(old, &cachedPlan{p: p, kind: k, keyed: p.Circuit.Enabled, key: key, plan: *pl})
}

// stale reports whether a cached plan's budgets or user gates were
// registered again since.
func (e *Executor) stale(cp *cachedPlan) bool { return !e.current(&cp.plan, cp.p, cp.kind) }

// current reports whether the budget and the user gates of plan pl (of
// policy p, attempts of kind k) are still the ones registered.
func (e *Executor) current(pl *gatePlan, p *policy.EffectivePolicy, k gate.Kind) bool {
	for i := 0; i < pl.n; i++ {
		en := pl.at(i)
		switch {
		case en.bi == int32(budgetIndex):
			// A budget's gate is a pointer (the registry's, or
			// budgetNotFound): comparable, without asking reflect.
			if g, _ := budgetGate(e, policy.PolicyKey{}, p, k); g != en.g {
				return false
			}
		case en.bi < 0:
			if g, _ := userGate(e, p.Gates[-1-int(en.bi)].Name); !sameGate(g, en.g) {
				return false
			}
		}
	}
	return true
}

// sameGate reports whether a and b are the same gate. Gates of a type that
// cannot be compared (a gate.Func, say) never count as the same: plans
// holding them are resolved again on every call, instead of panicking.
func sameGate(a, b gate.Gate) bool {
	ta := reflect.TypeOf(a)
	if ta != reflect.TypeOf(b) || (ta != nil && !ta.Comparable()) {
		return false
	}
	return a == b
}

// sameKey reports whether a == b, without comparing the bytes of names
// that are the very same strings (a caller's key is usually built from the
// same strings on every call).
func sameKey(a, b policy.PolicyKey) bool {
	if len(a.Namespace) != len(b.Namespace) || len(a.Name) != len(b.Name) {
		return false
	}
	if unsafe.StringData(a.Name) == unsafe.StringData(b.Name) && unsafe.StringData(a.Namespace) == unsafe.StringData(b.Namespace) {
		return true
	}
	return a == b
}
