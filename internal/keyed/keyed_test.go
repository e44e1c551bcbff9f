package keyed

import (
	"strings"
	"testing"

	"github.com/aponysus/rego/policy"
)

func TestMapBound(t *testing.T) {
	var m Map[int]
	a := m.Get(policy.ParseKey("a"), 2, 100)
	if a == nil || m.Get(policy.ParseKey("a"), 2, 100) != a {
		t.Fatal("a not kept")
	}
	if m.Get(policy.ParseKey("b"), 2, 100) == nil {
		t.Fatal("b refused under the cap")
	}
	if m.Get(policy.ParseKey("c"), 2, 100) != nil || m.Overflowed() != 1 {
		t.Fatalf("c over the cap: overflowed %d", m.Overflowed())
	}
	if _, ok := m.Lookup(policy.ParseKey("c")); ok {
		t.Fatal("c stored")
	}
	var d Map[int]
	if d.Get(policy.ParseKey("x"), 0, 1) == nil || d.Get(policy.ParseKey("y"), 0, 1) != nil {
		t.Fatal("default cap not applied")
	}
}

// Keys taking turns each get their own state, whichever entry is hot.
func TestMapHotEntry(t *testing.T) {
	var m Map[int]
	keys := []policy.PolicyKey{policy.ParseKey("a.x"), policy.ParseKey("a.y"), policy.ParseKey("b.x")}
	state := map[policy.PolicyKey]*int{}
	for _, k := range keys {
		state[k] = m.Get(k, 0, 10)
	}
	for i := 0; i < 200; i++ {
		k := keys[i%len(keys)]
		if got := m.Get(k, 0, 10); got != state[k] {
			t.Fatalf("lookup %d of %v: other state", i, k)
		}
		// A key equal in value but built apart finds the same state.
		if got := m.Get(policy.PolicyKey{Namespace: strings.Clone(k.Namespace), Name: strings.Clone(k.Name)}, 0, 10); got != state[k] {
			t.Fatalf("copy of %v: other state", k)
		}
	}
	if v, ok := m.Lookup(keys[1]); !ok || v != state[keys[1]] {
		t.Fatal("Lookup of a known key")
	}
}
