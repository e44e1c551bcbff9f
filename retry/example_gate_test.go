package retry_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/aponysus/rego/clock"
	"github.com/aponysus/rego/controlplane"
	"github.com/aponysus/rego/gate"
	"github.com/aponysus/rego/policy"
	"github.com/aponysus/rego/regotest"
	"github.com/aponysus/rego/retry"
)

// CapGate lets at most Max attempts of a key run at once. An attempt over
// the cap waits for a free slot, at most MaxWait and never past the call's
// context, then is refused. It is safe for concurrent use.
type CapGate struct {
	Max     int
	MaxWait time.Duration
	Clock   clock.Clock // waits run on it; tests pass a virtual clock

	mu    sync.Mutex
	slots map[policy.PolicyKey]chan struct{}
}

// sem returns the key's slots: a buffered channel, one element per
// running attempt.
func (g *CapGate) sem(key policy.PolicyKey) chan struct{} {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.slots == nil {
		g.slots = make(map[policy.PolicyKey]chan struct{})
	}
	s, ok := g.slots[key]
	if !ok {
		s = make(chan struct{}, g.Max)
		g.slots[key] = s
	}
	return s
}

// Admit takes a slot of the attempt's key, waiting for one if need be.
func (g *CapGate) Admit(ctx context.Context, a gate.Attempt, now time.Time) (gate.Permit, error) {
	sem := g.sem(a.Key)
	select {
	case sem <- struct{}{}: // the uncontended path: no allocation, no wait
		return gate.Permit{Reason: "admitted", Completer: g}, nil
	default:
	}
	t := g.Clock.NewTimer(g.MaxWait)
	defer t.Stop()
	select {
	case sem <- struct{}{}:
		return gate.Permit{Reason: "admitted_after_wait", Completer: g, Waited: g.Clock.Now().Sub(now)}, nil
	case <-t.C():
	case <-ctx.Done():
	}
	return gate.Permit{Reason: "full", Waited: g.Clock.Now().Sub(now)},
		&gate.RefusedError{Gate: "cap", Reason: "full", Err: ctx.Err()}
}

// Complete gives the slot back, whatever became of the attempt. The key
// comes with the result: the permit needs to carry nothing.
func (g *CapGate) Complete(_ gate.Permit, r gate.Result) {
	<-g.sem(r.Attempt.Key)
}

// A user gate: at most one attempt of the key at once, waiting up to 50ms
// for the slot.
func Example_gate() {
	clk := regotest.NewClock(time.Time{})
	gates := gate.NewRegistry()
	gates.Register("cap", &CapGate{Max: 1, MaxWait: 50 * time.Millisecond, Clock: clk})
	key := policy.ParseKey("inventory.Reserve")
	exec := retry.NewExecutor(retry.ExecutorOptions{
		Clock: clk,
		Gates: gates,
		Provider: &controlplane.StaticProvider{Policies: map[policy.PolicyKey]policy.EffectivePolicy{
			key: {Retry: policy.RetryPolicy{MaxAttempts: 1}, Gates: []policy.GateRef{{Name: "cap"}}},
		}},
	})

	// hold runs an operation that takes the slot and keeps it until
	// release is closed; it returns once the operation runs.
	hold := func(name string, release chan struct{}) chan string {
		started, done := make(chan struct{}), make(chan string)
		go func() {
			err := exec.Do(context.Background(), key, func(context.Context) error {
				close(started)
				<-release
				return nil
			})
			done <- fmt.Sprintf("%s: %v", name, err)
		}()
		<-started
		return done
	}
	// call runs a call that finds the slot taken and waits for it.
	call := func(name string) chan string {
		done := make(chan string)
		go func() {
			tl, err := exec.DoWithTimeline(context.Background(), key, func(context.Context) error { return nil })
			d := tl.Attempts[0].Gates[0]
			done <- fmt.Sprintf("%s: refused=%v err=%v, gate %s after %v", name, errors.Is(err, gate.ErrRefused), err, d.Reason, d.Waited)
		}()
		clk.BlockUntil(1) // it is waiting
		return done
	}

	// b waits for the slot a holds; a finishes within the wait.
	releaseA := make(chan struct{})
	a := hold("a", releaseA)
	b := call("b")
	close(releaseA)
	fmt.Println(<-a)
	fmt.Println(<-b)

	// d waits for the slot c holds; nothing frees it in time.
	releaseC := make(chan struct{})
	c := hold("c", releaseC)
	d := call("d")
	clk.Advance(50 * time.Millisecond)
	fmt.Println(<-d)
	close(releaseC)
	fmt.Println(<-c)
	// Output:
	// a: <nil>
	// b: refused=false err=<nil>, gate admitted_after_wait after 0s
	// d: refused=true err=gate: attempt refused by cap: full, gate full after 50ms
	// c: <nil>
}
