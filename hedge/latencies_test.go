package hedge

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/aponysus/rego/policy"
	"github.com/aponysus/rego/regotest"
)

func key(s string) policy.PolicyKey { return policy.ParseKey(s) }

func TestLatenciesZeroValue(t *testing.T) {
	var l Latencies
	a, b := l.For(key("svc.a")), l.For(key("svc.b"))
	if a == nil || b == nil || a == b {
		t.Fatalf("For gave %p and %p, want two distinct trackers", a, b)
	}
	if l.For(key("svc.a")) != a {
		t.Fatal("For(svc.a) changed tracker")
	}
	if l.Len() != 2 || l.Overflowed() != 0 || len(l.FoldedKeys()) != 0 || l.MaxKeys() != DefaultMaxKeys {
		t.Fatalf("Len %d Overflowed %d Folded %v MaxKeys %d", l.Len(), l.Overflowed(), l.FoldedKeys(), l.MaxKeys())
	}
	if a.Window() != DefaultWindow {
		t.Fatalf("tracker window %v, want %v", a.Window(), DefaultWindow)
	}
}

func TestLatenciesNil(t *testing.T) {
	var l *Latencies
	if l.For(key("a")) != nil {
		t.Fatal("nil Latencies gave a tracker")
	}
}

func TestLatenciesGuard(t *testing.T) {
	tests := []struct {
		name       string
		maxKeys    int
		lookups    []string
		wantLen    int
		wantFolded []string
		wantOver   uint64
	}{
		{"under the cap", 3, []string{"a", "b", "a", "c"}, 3, nil, 0},
		{"over the cap", 2, []string{"a", "b", "c", "d", "c", "a"}, 2, []string{"c", "d"}, 3},
		{"cap of one", 1, []string{"x", "y", "x", "z"}, 1, []string{"y", "z"}, 2},
		{"zero means default", 0, []string{"a", "b"}, 2, nil, 0},
		{"negative means default", -5, []string{"a"}, 1, nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := NewLatencies(LatenciesOptions{MaxKeys: tt.maxKeys})
			own := map[string]*Tracker{}
			for _, k := range tt.lookups {
				tr := l.For(key(k))
				if prev, ok := own[k]; ok && prev != tr {
					t.Fatalf("key %s changed tracker", k)
				}
				own[k] = tr
			}
			if l.Len() != tt.wantLen {
				t.Errorf("Len = %d, want %d", l.Len(), tt.wantLen)
			}
			if l.Overflowed() != tt.wantOver {
				t.Errorf("Overflowed = %d, want %d", l.Overflowed(), tt.wantOver)
			}
			folded := l.FoldedKeys()
			if len(folded) != len(tt.wantFolded) {
				t.Fatalf("FoldedKeys = %v, want %v", folded, tt.wantFolded)
			}
			for i, k := range tt.wantFolded {
				if folded[i] != key(k) {
					t.Errorf("FoldedKeys = %v, want %v", folded, tt.wantFolded)
				}
				if own[k] != l.Overflow() {
					t.Errorf("folded key %s did not get the overflow tracker", k)
				}
			}
		})
	}
}

func TestLatenciesFoldedListIsBounded(t *testing.T) {
	l := NewLatencies(LatenciesOptions{MaxKeys: 1})
	for i := 0; i < 1000; i++ {
		l.For(key(fmt.Sprintf("user.%d", i)))
	}
	if got := len(l.FoldedKeys()); got != MaxFoldedKeysListed {
		t.Fatalf("FoldedKeys has %d keys, want %d", got, MaxFoldedKeysListed)
	}
	if l.Overflowed() != 999 || l.Len() != 1 {
		t.Fatalf("Overflowed %d Len %d, want 999 and 1", l.Overflowed(), l.Len())
	}
}

func TestLatenciesTrackerOptions(t *testing.T) {
	clk := regotest.NewClock(time.Time{})
	l := NewLatencies(LatenciesOptions{MaxKeys: 1, Tracker: TrackerOptions{Window: time.Second, Clock: clk}})
	for _, tr := range []*Tracker{l.For(key("own")), l.For(key("folded"))} {
		if tr.Window() != time.Second {
			t.Fatalf("tracker window %v, want 1s", tr.Window())
		}
		for i := 0; i < MinSamples; i++ {
			tr.Observe(time.Millisecond)
		}
		clk.Advance(2 * time.Second) // on the virtual clock only
		if n := tr.Count(); n != 0 {
			t.Fatalf("Count = %d after the virtual window passed, want 0", n)
		}
	}
}

// TestLatenciesConcurrent has many goroutines race to create and read
// trackers past the cap; run with -race. Every goroutine must see the same
// tracker for a key, and exactly MaxKeys keys get their own.
func TestLatenciesConcurrent(t *testing.T) {
	const maxKeys, keys, goroutines = 100, 300, 32
	l := NewLatencies(LatenciesOptions{MaxKeys: maxKeys})
	var seen sync.Map
	var wg sync.WaitGroup
	errs := make(chan string, goroutines)
	for g := 0; g < goroutines; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < keys; i++ {
				k := key(fmt.Sprintf("svc.k%d", (i+g*7)%keys))
				tr := l.For(k)
				tr.Observe(time.Millisecond)
				if prev, loaded := seen.LoadOrStore(k, tr); loaded && prev.(*Tracker) != tr {
					errs <- k.String()
					return
				}
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for k := range errs {
		t.Errorf("key %s got two trackers", k)
	}
	if l.Len() != maxKeys {
		t.Fatalf("Len = %d, want %d", l.Len(), maxKeys)
	}
	if want := uint64((keys - maxKeys) * goroutines); l.Overflowed() != want {
		t.Fatalf("Overflowed = %d, want %d", l.Overflowed(), want)
	}
	if l.Overflow().Count() != (keys-maxKeys)*goroutines {
		t.Fatalf("overflow tracker holds %d latencies, want %d", l.Overflow().Count(), (keys-maxKeys)*goroutines)
	}
}
