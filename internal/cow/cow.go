// Package cow holds a copy-on-write map: reads are one atomic load and a map
// lookup, lock-free; writes copy the map under a mutex. It suits registries
// that are written at start-up and read on every call.
package cow

import (
	"sync"
	"sync/atomic"
)

// Map is a copy-on-write map. The zero value is an empty map ready to use.
type Map[K comparable, V any] struct {
	mu sync.Mutex
	p  atomic.Pointer[map[K]V]
}

// Load returns the value stored under k.
func (m *Map[K, V]) Load(k K) (V, bool) {
	if p := m.p.Load(); p != nil {
		v, ok := (*p)[k]
		return v, ok
	}
	var zero V
	return zero, false
}

// Store sets the value under k.
func (m *Map[K, V]) Store(k K, v V) {
	m.mu.Lock()
	defer m.mu.Unlock()
	old := m.p.Load()
	n := make(map[K]V, m.lenOf(old)+1)
	if old != nil {
		for kk, vv := range *old {
			n[kk] = vv
		}
	}
	n[k] = v
	m.p.Store(&n)
}

// Delete removes k.
func (m *Map[K, V]) Delete(k K) {
	m.mu.Lock()
	defer m.mu.Unlock()
	old := m.p.Load()
	if old == nil {
		return
	}
	if _, ok := (*old)[k]; !ok {
		return
	}
	n := make(map[K]V, len(*old))
	for kk, vv := range *old {
		if kk != k {
			n[kk] = vv
		}
	}
	m.p.Store(&n)
}

// Range calls f for every entry of a snapshot, in no particular order,
// until f returns false.
func (m *Map[K, V]) Range(f func(K, V) bool) {
	if p := m.p.Load(); p != nil {
		for k, v := range *p {
			if !f(k, v) {
				return
			}
		}
	}
}

func (m *Map[K, V]) lenOf(p *map[K]V) int {
	if p == nil {
		return 0
	}
	return len(*p)
}
