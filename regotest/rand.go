package regotest

import (
	"math/rand"
	"sync"
)

// Rand is a seeded random source safe for concurrent use, for the
// executor's Rand option: the same seed gives the same jitter.
type Rand struct {
	mu sync.Mutex
	r  *rand.Rand
}

// NewRand returns a source seeded with seed.
func NewRand(seed int64) *Rand { return &Rand{r: rand.New(rand.NewSource(seed))} }

// Float64 returns a uniform number in [0, 1).
func (r *Rand) Float64() float64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.r.Float64()
}
