package circuit_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/aponysus/rego/circuit"
	"github.com/aponysus/rego/policy"
)

var (
	t0  = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	cfg = policy.CircuitPolicy{Enabled: true, FailureThreshold: 3, Cooldown: time.Second}
)

func TestBreakerStateMachine(t *testing.T) {
	var b circuit.Breaker
	allow := func(at time.Duration) string {
		ok, probe, reason, _ := b.Allow(t0.Add(at), cfg)
		return fmt.Sprintf("%v %v %s", ok, probe, reason)
	}
	// Two failures and a success: the count starts again.
	b.Done(t0, cfg, false, false)
	b.Done(t0, cfg, false, false)
	b.Done(t0, cfg, false, true)
	b.Done(t0, cfg, false, false)
	b.Done(t0, cfg, false, false)
	if got := allow(0); got != "true false closed" {
		t.Fatal(got)
	}
	// The third consecutive failure opens it.
	b.Done(t0, cfg, false, false)
	if got := allow(500 * time.Millisecond); got != "false false open" {
		t.Fatal(got)
	}
	if _, _, _, after := b.Allow(t0.Add(400*time.Millisecond), cfg); after != 600*time.Millisecond {
		t.Fatalf("retry after %v", after)
	}
	if s := b.State(t0.Add(time.Second), cfg); s != circuit.HalfOpen {
		t.Fatal(s)
	}
	// After the cooldown: one probe at a time.
	if got := allow(time.Second); got != "true true half_open_probe" {
		t.Fatal(got)
	}
	if got := allow(time.Second); got != "false false half_open_busy" {
		t.Fatal(got)
	}
	// A released probe (cancelled) frees the slot without deciding.
	b.Release(true)
	if got := allow(time.Second); got != "true true half_open_probe" {
		t.Fatal(got)
	}
	// A failed probe opens it again from now.
	b.Done(t0.Add(time.Second), cfg, true, false)
	if got := allow(1500 * time.Millisecond); got != "false false open" {
		t.Fatal(got)
	}
	// A successful probe closes it.
	if got := allow(2 * time.Second); got != "true true half_open_probe" {
		t.Fatal(got)
	}
	b.Done(t0.Add(2*time.Second), cfg, true, true)
	if got := allow(2 * time.Second); got != "true false closed" || b.State(t0, cfg) != circuit.Closed {
		t.Fatal(got)
	}
}

func TestBreakerConcurrentProbes(t *testing.T) {
	var b circuit.Breaker
	for i := 0; i < 3; i++ {
		b.Done(t0, cfg, false, false)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	probes := 0
	for i := 0; i < 32; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if ok, probe, _, _ := b.Allow(t0.Add(time.Hour), cfg); ok && probe {
				mu.Lock()
				probes++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if probes != 1 {
		t.Fatalf("%d probes at once, want 1", probes)
	}
}

func TestRegistryCap(t *testing.T) {
	r := &circuit.Registry{MaxKeys: 2}
	a, b := r.For(policy.ParseKey("a.x")), r.For(policy.ParseKey("b.x"))
	if a == nil || b == nil || a == b || r.For(policy.ParseKey("a.x")) != a {
		t.Fatal("keys must get their own breaker")
	}
	if r.For(policy.ParseKey("c.x")) != nil || r.Overflowed() != 1 {
		t.Fatal("a full registry must give no breaker and count it")
	}
}

func TestOpenError(t *testing.T) {
	err := fmt.Errorf("call: %w", &circuit.OpenError{Key: policy.ParseKey("a.b"), Reason: circuit.ReasonOpen, RetryAfter: time.Second})
	var oe *circuit.OpenError
	if !errors.Is(err, circuit.ErrOpen) || !errors.As(err, &oe) || oe.RetryAfter != time.Second {
		t.Fatal(err)
	}
}

func TestRegistryKeysTakingTurns(t *testing.T) {
	r := circuit.NewRegistry()
	keys := []policy.PolicyKey{policy.ParseKey("a.x"), policy.ParseKey("a.y"), policy.ParseKey("b.x"), {Namespace: "a", Name: "x"}}
	first := map[policy.PolicyKey]*circuit.Breaker{}
	for i := 0; i < 1000; i++ {
		k := keys[i%len(keys)]
		b := r.For(k)
		if f, ok := first[k]; ok && f != b {
			t.Fatalf("%v got another breaker", k)
		}
		first[k] = b
	}
	if len(first) != 3 || countKeys(r) != 3 {
		t.Fatalf("%d keys", len(first))
	}
}
