package budget

import "unsafe"

// seenSlots is how many recent lookups a Registry remembers.
const seenSlots = 8

// seenGate is a lookup of name, made while the registry's generation was
// gen, that found g.
type seenGate struct {
	name string
	gen  uint64
	g    *budgetGate
}

// lookup returns the gate registered under name. The executor looks a
// call's budget up on every call, with the name string of the policy in
// force, whose bytes stay where they are: a lookup already made with
// those very bytes, and no registration since, is answered without
// hashing the name. The entry holds the name, so its bytes cannot be
// reused for another name while it is remembered.
func (r *Registry) lookup(name string) (*budgetGate, bool) {
	data := unsafe.StringData(name)
	slot := &r.seen[(uintptr(unsafe.Pointer(data))>>4)%seenSlots]
	// The generation is read before the map: a registration between the
	// two leaves an entry of the old generation, which is never used.
	gen := r.gen.Load()
	e := slot.Load()
	if e != nil && e.gen == gen && len(e.name) == len(name) && unsafe.StringData(e.name) == data {
		return e.g, true
	}
	g, ok := r.m.Load(name)
	if ok && (e == nil || e.gen != gen) {
		// An empty or outdated slot only: two names that share a slot
		// take turns hashing, not allocating.
		slot.CompareAndSwap(e, &seenGate{name: name, gen: gen, g: g})
	}
	return g, ok
}
