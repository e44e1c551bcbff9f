// Package keyed holds the bounded per-key registry that the overload gates
// share: one state value per policy key, created on first use, lock-free
// lookups of known keys, and a cap on how many keys get state so that a
// key carrying request data cannot grow memory without bound.
package keyed

import (
	"math/rand/v2"
	"sync"
	"sync/atomic"

	"github.com/aponysus/rego/internal/cow"
	"github.com/aponysus/rego/policy"
)

// Map keeps one *T per key, for at most a given number of keys. The zero
// value is empty and ready to use; T's zero value must be usable.
type Map[T any] struct {
	// hot is a recently used entry, checked before the map: comparing its
	// key (two string comparisons, each first a length and a pointer) is
	// cheaper than hashing the key, and most registries serve one key far
	// more than the others.
	hot        atomic.Pointer[entry[T]]
	m          cow.Map[policy.PolicyKey, *entry[T]]
	mu         sync.Mutex
	n          int
	overflowed atomic.Uint64
}

// entry is a key's state with its key, so that the hot entry can be
// checked without the map; the state lives in the entry, one allocation
// per key.
type entry[T any] struct {
	key policy.PolicyKey
	v   T
}

// Get returns key's state, creating it on first use; nil when max keys
// already have state (Overflowed then counts the lookup). max <= 0 means
// def.
func (m *Map[T]) Get(key policy.PolicyKey, max, def int) *T {
	if e := m.hot.Load(); e != nil && e.key == key {
		return &e.v
	}
	return m.get(key, max, def)
}

// get is Get past the hot entry; apart so that Get stays small enough to
// inline.
func (m *Map[T]) get(key policy.PolicyKey, max, def int) *T {
	if e, ok := m.m.Load(key); ok {
		// Replace the hot entry on one miss in eight, so that keys taking
		// turns do not write a shared word on every lookup.
		if rand.Uint32()&7 == 0 {
			m.hot.Store(e)
		}
		return &e.v
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if e, ok := m.m.Load(key); ok {
		return &e.v
	}
	if max <= 0 {
		max = def
	}
	if m.n >= max {
		m.overflowed.Add(1)
		return nil
	}
	e := &entry[T]{key: key}
	m.m.Store(key, e)
	m.hot.Store(e)
	m.n++
	return &e.v
}

// Lookup returns key's state without creating it.
func (m *Map[T]) Lookup(key policy.PolicyKey) (*T, bool) {
	if e, ok := m.m.Load(key); ok {
		return &e.v, true
	}
	return nil, false
}

// Overflowed counts the lookups of keys that got no state because the map
// was full.
func (m *Map[T]) Overflowed() uint64 { return m.overflowed.Load() }
