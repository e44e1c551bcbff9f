package regogrpc

import (
	"strconv"
	"testing"

	"github.com/aponysus/rego/policy"
)

func TestKeyCache(t *testing.T) {
	c := newConfig(Options{})
	for i := 0; i < 2; i++ { // the second round reads the cache
		if got, want := c.keyFor("/pkg.Service/Method"), MethodKey("/pkg.Service/Method"); got != want {
			t.Fatalf("keyFor = %v, want %v", got, want)
		}
	}
	for i := 0; i < maxCachedKeys+10; i++ {
		m := "/pkg.S/M" + strconv.Itoa(i)
		if got, want := c.keyFor(m), MethodKey(m); got != want {
			t.Fatalf("keyFor(%q) = %v, want %v", m, got, want)
		}
	}
	if n := c.keys.n.Load(); n > maxCachedKeys {
		t.Fatalf("%d keys cached, want at most %d", n, maxCachedKeys)
	}
	// A caller's KeyFunc runs on every call, uncached.
	calls := 0
	c = newConfig(Options{KeyFunc: func(string) policy.PolicyKey { calls++; return policy.PolicyKey{Name: "k"} }})
	c.keyFor("/a/b")
	c.keyFor("/a/b")
	if calls != 2 {
		t.Fatalf("KeyFunc called %d times, want 2", calls)
	}
}
