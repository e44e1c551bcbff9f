package keyed

import (
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
