package regoprom

import (
	"sync"

	"github.com/aponysus/rego/policy"
)

// OtherKey is the key label of the events of keys beyond Options.MaxKeys.
const OtherKey = "_other"

// keyGuard admits at most max distinct keys. Reads take the shared lock
// only: after warm-up every key is already admitted, so the hot path never
// contends on the exclusive lock. It keeps each admitted key's label, so
// the hot path does not build the string again (an allocation per event).
type keyGuard struct {
	max  int
	mu   sync.RWMutex
	seen map[policy.PolicyKey]string
}

func newKeyGuard(max int) *keyGuard {
	return &keyGuard{max: max, seen: make(map[policy.PolicyKey]string)}
}

// label returns k's label if k is (or can become) one of the admitted
// keys, and OtherKey otherwise.
func (g *keyGuard) label(k policy.PolicyKey) string {
	g.mu.RLock()
	s, ok := g.seen[k]
	full := len(g.seen) >= g.max
	g.mu.RUnlock()
	if ok {
		return s
	}
	if full {
		return OtherKey
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if s, ok := g.seen[k]; ok {
		return s
	}
	if len(g.seen) >= g.max {
		return OtherKey
	}
	s = k.String()
	g.seen[k] = s
	return s
}
