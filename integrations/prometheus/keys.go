package regoprom

import "sync"

// OtherKey is the key label of the events of keys beyond Options.MaxKeys.
const OtherKey = "_other"

// keyGuard admits at most max distinct key label values. Reads take the
// shared lock only: after warm-up every key is already admitted, so the
// hot path never contends on the exclusive lock.
type keyGuard struct {
	max  int
	mu   sync.RWMutex
	seen map[string]struct{}
}

func newKeyGuard(max int) *keyGuard {
	return &keyGuard{max: max, seen: make(map[string]struct{})}
}

// label returns k if it is (or can become) one of the admitted keys, and
// OtherKey otherwise.
func (g *keyGuard) label(k string) string {
	g.mu.RLock()
	_, ok := g.seen[k]
	full := len(g.seen) >= g.max
	g.mu.RUnlock()
	if ok {
		return k
	}
	if full {
		return OtherKey
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if _, ok := g.seen[k]; ok {
		return k
	}
	if len(g.seen) >= g.max {
		return OtherKey
	}
	g.seen[k] = struct{}{}
	return k
}
