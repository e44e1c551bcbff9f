package hedge

import (
	"sort"
	"sync"
	"sync/atomic"

	"github.com/aponysus/rego/internal/cow"
	"github.com/aponysus/rego/policy"
)

// DefaultMaxKeys is how many keys get their own Tracker when
// LatenciesOptions.MaxKeys is zero: about 3 MB of trackers at most.
const DefaultMaxKeys = 1024

// MaxFoldedKeysListed bounds the list FoldedKeys returns.
const MaxFoldedKeysListed = 64

// LatenciesOptions configures a Latencies. The zero value is valid.
type LatenciesOptions struct {
	// MaxKeys caps how many keys get their own Tracker; later keys share
	// one overflow tracker (see Latencies). Zero or negative means
	// DefaultMaxKeys.
	MaxKeys int
	// Tracker configures every tracker, the overflow one included.
	Tracker TrackerOptions
}

// Latencies keeps one Tracker per policy key, with a key-cardinality
// guard: the first MaxKeys keys get their own tracker, and every later key
// is folded into one shared overflow tracker, so that a key built from a
// request ID cannot grow memory without bound. Memory stays below
// (MaxKeys+1)*TrackerBytes plus the map.
//
// Folding is loud: Overflowed counts the lookups answered by the overflow
// tracker and FoldedKeys lists the first folded keys. A folded key's
// hedges follow the mixed latencies of all folded keys, which is rarely
// what anyone wants: export Overflowed as a metric and alert when it
// moves. Trackers are never evicted; a key keeps its tracker for the life
// of the Latencies.
//
// The zero value is ready to use with the defaults. For is lock-free for
// keys already seen. A Latencies is safe for concurrent use and must not
// be copied after first use.
type Latencies struct {
	maxKeys int
	topts   TrackerOptions

	m    cow.Map[policy.PolicyKey, *Tracker]
	mu   sync.Mutex // serialises tracker creation and the folded list
	n    int        // keys with their own tracker; guarded by mu
	full atomic.Bool

	overflow   Tracker
	folded     atomic.Uint64
	foldedSet  cow.Map[policy.PolicyKey, struct{}]
	foldedN    int // guarded by mu
	foldedFull atomic.Bool
}

// NewLatencies returns a Latencies configured by opts.
func NewLatencies(opts LatenciesOptions) *Latencies {
	l := &Latencies{maxKeys: opts.MaxKeys, topts: opts.Tracker}
	l.overflow.configure(opts.Tracker)
	return l
}

// MaxKeys returns how many keys may get their own tracker.
func (l *Latencies) MaxKeys() int {
	if l.maxKeys <= 0 {
		return DefaultMaxKeys
	}
	return l.maxKeys
}

// For returns the tracker of key, creating it on first use, or the shared
// overflow tracker once MaxKeys keys have their own. It returns nil for a
// nil Latencies, which the latency triggers read as "no data".
func (l *Latencies) For(key policy.PolicyKey) *Tracker {
	if l == nil {
		return nil
	}
	if t, ok := l.m.Load(key); ok {
		return t
	}
	if l.full.Load() {
		return l.fold(key)
	}
	l.mu.Lock()
	if t, ok := l.m.Load(key); ok {
		l.mu.Unlock()
		return t
	}
	if l.n >= l.MaxKeys() {
		l.full.Store(true)
		l.mu.Unlock()
		return l.fold(key)
	}
	t := NewTracker(l.topts)
	l.m.Store(key, t)
	l.n++
	if l.n >= l.MaxKeys() {
		l.full.Store(true)
	}
	l.mu.Unlock()
	return t
}

// fold counts a lookup of key answered by the overflow tracker and lists
// key while the list has room. Once the list is full, folding costs one
// atomic add.
func (l *Latencies) fold(key policy.PolicyKey) *Tracker {
	l.folded.Add(1)
	if !l.foldedFull.Load() {
		if _, ok := l.foldedSet.Load(key); !ok {
			l.mu.Lock()
			if _, ok := l.foldedSet.Load(key); !ok && l.foldedN < MaxFoldedKeysListed {
				l.foldedSet.Store(key, struct{}{})
				l.foldedN++
				if l.foldedN == MaxFoldedKeysListed {
					l.foldedFull.Store(true)
				}
			}
			l.mu.Unlock()
		}
	}
	return &l.overflow
}

// Len returns how many keys have their own tracker.
func (l *Latencies) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.n
}

// Overflowed returns how many lookups (calls of For) were answered by the
// overflow tracker because the key arrived after MaxKeys others. Zero
// means the guard never fired.
func (l *Latencies) Overflowed() uint64 { return l.folded.Load() }

// FoldedKeys returns the first folded keys, at most MaxFoldedKeysListed,
// sorted by their string form: enough to find the call site that puts an
// ID in its key.
func (l *Latencies) FoldedKeys() []policy.PolicyKey {
	var keys []policy.PolicyKey
	l.foldedSet.Range(func(k policy.PolicyKey, _ struct{}) bool {
		keys = append(keys, k)
		return true
	})
	sort.Slice(keys, func(i, j int) bool { return keys[i].String() < keys[j].String() })
	return keys
}

// Overflow returns the tracker shared by folded keys.
func (l *Latencies) Overflow() *Tracker { return &l.overflow }
