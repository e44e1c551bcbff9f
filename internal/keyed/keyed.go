// Package keyed holds the bounded per-key registry that the overload gates
// share: one state value per policy key, created on first use, lock-free
// lookups of known keys, and a cap on how many keys get state so that a
// key carrying request data cannot grow memory without bound.
package keyed

import (
	"sync"
	"sync/atomic"

	"github.com/aponysus/rego/internal/cow"
	"github.com/aponysus/rego/policy"
)

// Map keeps one *T per key, for at most a given number of keys. The zero
// value is empty and ready to use; T's zero value must be usable.
type Map[T any] struct {
	m          cow.Map[policy.PolicyKey, *T]
	mu         sync.Mutex
	n          int
	overflowed atomic.Uint64
}

// Get returns key's state, creating it on first use; nil when max keys
// already have state (Overflowed then counts the lookup). max <= 0 means
// def.
func (m *Map[T]) Get(key policy.PolicyKey, max, def int) *T {
	if v, ok := m.m.Load(key); ok {
		return v
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if v, ok := m.m.Load(key); ok {
		return v
	}
	if max <= 0 {
		max = def
	}
	if m.n >= max {
		m.overflowed.Add(1)
		return nil
	}
	v := new(T)
	m.m.Store(key, v)
	m.n++
	return v
}

// Lookup returns key's state without creating it.
func (m *Map[T]) Lookup(key policy.PolicyKey) (*T, bool) { return m.m.Load(key) }

// Overflowed counts the lookups of keys that got no state because the map
// was full.
func (m *Map[T]) Overflowed() uint64 { return m.overflowed.Load() }
