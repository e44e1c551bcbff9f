package hedge

import (
	"sort"
	"sync"
	"time"

	"github.com/aponysus/rego/policy"
)

// MinSamples is how many latencies a Tracker needs before it answers
// Quantile.
const MinSamples = 20

// Tracker keeps the recent latencies of one key.
type Tracker struct {
	mu   sync.Mutex
	ring [256]time.Duration
	n    int
	next int
}

// Observe adds one latency.
func (t *Tracker) Observe(d time.Duration) {
	t.mu.Lock()
	t.ring[t.next] = d
	t.next = (t.next + 1) % len(t.ring)
	if t.n < len(t.ring) {
		t.n++
	}
	t.mu.Unlock()
}

// Quantile returns the q-quantile (0 < q < 1) of the recent latencies, and
// false when fewer than MinSamples have been observed.
func (t *Tracker) Quantile(q float64) (time.Duration, bool) {
	t.mu.Lock()
	if t.n < MinSamples {
		t.mu.Unlock()
		return 0, false
	}
	s := make([]time.Duration, t.n)
	copy(s, t.ring[:t.n])
	t.mu.Unlock()
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	i := int(q * float64(len(s)))
	if i >= len(s) {
		i = len(s) - 1
	}
	return s[i], true
}

// Latencies keeps one Tracker per key. The zero value is ready to use and
// safe for concurrent use.
type Latencies struct {
	mu sync.Mutex
	m  map[policy.PolicyKey]*Tracker
}

// For returns the tracker of key, creating it on first use.
func (l *Latencies) For(key policy.PolicyKey) *Tracker {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.m == nil {
		l.m = make(map[policy.PolicyKey]*Tracker)
	}
	t := l.m[key]
	if t == nil {
		t = &Tracker{}
		l.m[key] = t
	}
	return t
}
