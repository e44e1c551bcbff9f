package circuit

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aponysus/rego/internal/cow"
	"github.com/aponysus/rego/policy"
)

// DefaultMaxKeys is how many keys a zero Registry gives their own breaker.
const DefaultMaxKeys = 1024

// Registry keeps one Breaker per key. The zero value is ready to use, with
// DefaultMaxKeys and no state-change hook. Lookups of known keys are
// lock-free. A Registry is safe for concurrent use; set its fields before
// first use.
type Registry struct {
	// MaxKeys caps how many keys get a breaker; zero means
	// DefaultMaxKeys.
	MaxKeys int
	// OnStateChange, if non-nil, is called after every state change of
	// the registry's breakers, on the goroutine that caused it, with no
	// lock held (it may read the breakers). Changes of one breaker made
	// concurrently may arrive out of order; StateChange.Generation orders
	// them. It must not block. A panic in it propagates to the caller of
	// the breaker method that changed the state, after the change is
	// complete. nil means no hook.
	OnStateChange func(StateChange)

	m cow.Map[policy.PolicyKey, *Breaker]
	// hot is a recently used breaker, checked before the map: comparing
	// its key is cheaper than hashing one, and most registries serve one
	// key far more than the others.
	hot        atomic.Pointer[Breaker]
	mu         sync.Mutex
	n          int
	overflowed atomic.Uint64
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{} }

// For returns key's breaker, creating it on first use; nil when the
// registry is full (the key's calls then pass, and Overflowed counts it).
func (r *Registry) For(key policy.PolicyKey) *Breaker {
	if b := r.hot.Load(); b != nil && b.key == key {
		return b
	}
	if b, ok := r.m.Load(key); ok {
		// Replace the hot breaker on one miss in eight, so that keys
		// taking turns do not write a shared word on every lookup.
		if rand.Uint32()&7 == 0 {
			r.hot.Store(b)
		}
		return b
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if b, ok := r.m.Load(key); ok {
		return b
	}
	max := r.MaxKeys
	if max <= 0 {
		max = DefaultMaxKeys
	}
	if r.n >= max {
		r.overflowed.Add(1)
		return nil
	}
	b := &Breaker{key: key, reg: r}
	r.m.Store(key, b)
	r.hot.Store(b)
	r.n++
	return b
}

// Overflowed counts the lookups of keys that got no breaker because the
// registry was full. Export it as a metric: a rising count means a key
// carries request data.
func (r *Registry) Overflowed() uint64 { return r.overflowed.Load() }

// Range calls f for every key's breaker, in no particular order, until f
// returns false: for state gauges and debug pages (see Breaker.Snapshot).
func (r *Registry) Range(f func(policy.PolicyKey, *Breaker) bool) { r.m.Range(f) }

// ForceOpen forces key's breaker open at at (see Breaker.ForceOpen),
// creating the breaker if the key has none yet. It returns an error
// matching ErrFull when the registry is full.
func (r *Registry) ForceOpen(key policy.PolicyKey, at time.Time) error {
	b, err := r.forced(key)
	if err == nil {
		b.ForceOpen(at)
	}
	return err
}

// ForceClose forces key's breaker closed at at (see Breaker.ForceClose),
// creating the breaker if the key has none yet. It returns an error
// matching ErrFull when the registry is full.
func (r *Registry) ForceClose(key policy.PolicyKey, at time.Time) error {
	b, err := r.forced(key)
	if err == nil {
		b.ForceClose(at)
	}
	return err
}

// Reset returns key's breaker to a fresh closed state at at (see
// Breaker.Reset). A key without a breaker has nothing to reset.
func (r *Registry) Reset(key policy.PolicyKey, at time.Time) {
	if b, ok := r.m.Load(key); ok {
		b.Reset(at)
	}
}

func (r *Registry) forced(key policy.PolicyKey) (*Breaker, error) {
	if b := r.For(key); b != nil {
		return b, nil
	}
	return nil, fmt.Errorf("circuit: no breaker for %q: %w", key.String(), ErrFull)
}
