package bulkhead_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aponysus/rego/bulkhead"
	"github.com/aponysus/rego/gate"
	"github.com/aponysus/rego/policy"
	"github.com/aponysus/rego/regotest"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var key = policy.ParseKey("db.query")

func attempt(p policy.BulkheadPolicy) gate.Attempt {
	return gate.Attempt{Key: key, Policy: &policy.EffectivePolicy{Key: key, Bulkhead: p}}
}

// admitAsync starts an admission that may wait and returns where its answer
// arrives.
type answer struct {
	p   gate.Permit
	err error
}

func admitAsync(r *bulkhead.Registry, ctx context.Context, a gate.Attempt) <-chan answer {
	ch := make(chan answer, 1)
	go func() {
		p, err := r.Admit(ctx, a, time.Time{})
		ch <- answer{p, err}
	}()
	return ch
}

func refusal(t *testing.T, err error, reason string) {
	t.Helper()
	var re *gate.RefusedError
	if !errors.As(err, &re) || re.Reason != reason || re.Gate != gate.NameBulkhead {
		t.Fatalf("want refusal %q, got %v", reason, err)
	}
	if !errors.Is(err, bulkhead.ErrFull) || !errors.Is(err, gate.ErrRefused) {
		t.Fatalf("%v does not match ErrFull and ErrRefused", err)
	}
}

func TestImmediateRefusals(t *testing.T) {
	for _, tc := range []struct {
		name   string
		p      policy.BulkheadPolicy
		admits int
	}{
		{"two slots", policy.BulkheadPolicy{Enabled: true, MaxConcurrent: 2}, 2},
		{"default ten", policy.BulkheadPolicy{Enabled: true}, bulkhead.DefaultMaxConcurrent},
		{"negative wait means none", policy.BulkheadPolicy{Enabled: true, MaxConcurrent: 1, MaxWait: -time.Second}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &bulkhead.Registry{Clock: regotest.NewClock(time.Time{})}
			var held []gate.Permit
			for i := 0; i < tc.admits; i++ {
				p, err := r.Admit(context.Background(), attempt(tc.p), time.Time{})
				if err != nil || p.Reason != bulkhead.ReasonAdmitted {
					t.Fatalf("admit %d: %v %q", i, err, p.Reason)
				}
				held = append(held, p)
			}
			p, err := r.Admit(context.Background(), attempt(tc.p), time.Time{})
			refusal(t, err, bulkhead.ReasonFull)
			if p.Reason != bulkhead.ReasonFull {
				t.Fatalf("permit reason %q", p.Reason)
			}
			held[0].Done(gate.Result{Verdict: gate.Answered})
			p, err = r.Admit(context.Background(), attempt(tc.p), time.Time{})
			if err != nil {
				t.Fatalf("a freed slot is not reused: %v", err)
			}
			p.Done(gate.Result{})
			for _, h := range held[1:] {
				h.Done(gate.Result{})
			}
			if n := r.For(key).InFlight(); n != 0 {
				t.Fatalf("%d in flight after every permit is done", n)
			}
		})
	}
}

func TestQueue(t *testing.T) {
	p := policy.BulkheadPolicy{Enabled: true, MaxConcurrent: 1, MaxQueue: 2, MaxWait: time.Second}
	clk := regotest.NewClock(time.Time{})
	r := &bulkhead.Registry{Clock: clk}
	first, err := r.Admit(context.Background(), attempt(p), time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	a := admitAsync(r, context.Background(), attempt(p))
	clk.BlockUntil(1)
	clk.Advance(100 * time.Millisecond)
	b := admitAsync(r, context.Background(), attempt(p))
	clk.BlockUntil(2)
	// The queue is full: a third waiter is refused at once.
	_, err = r.Admit(context.Background(), attempt(p), time.Time{})
	refusal(t, err, bulkhead.ReasonQueueFull)
	if q := r.For(key).Queued(); q != 2 {
		t.Fatalf("queued %d", q)
	}
	// A freed slot goes to the first waiter, which waited 300ms.
	clk.Advance(200 * time.Millisecond)
	first.Done(gate.Result{Verdict: gate.Answered})
	got := <-a
	if got.err != nil || got.p.Reason != bulkhead.ReasonQueued || got.p.Waited != 300*time.Millisecond {
		t.Fatalf("first waiter: %+v %v", got.p, got.err)
	}
	// The second waiter times out at its MaxWait (1s after it queued).
	clk.Advance(800 * time.Millisecond)
	got2 := <-b
	refusal(t, got2.err, bulkhead.ReasonWaitTimeout)
	if got2.p.Waited != time.Second {
		t.Fatalf("waited %v", got2.p.Waited)
	}
	got.p.Done(gate.Result{})
	if n, q := r.For(key).InFlight(), r.For(key).Queued(); n != 0 || q != 0 {
		t.Fatalf("in flight %d, queued %d", n, q)
	}
}

func TestWaitEndsWithContext(t *testing.T) {
	p := policy.BulkheadPolicy{Enabled: true, MaxConcurrent: 1, MaxWait: time.Minute}
	clk := regotest.NewClock(time.Time{})
	r := &bulkhead.Registry{Clock: clk}
	held, _ := r.Admit(context.Background(), attempt(p), time.Time{})
	ctx, cancel := context.WithCancel(context.Background())
	ch := admitAsync(r, ctx, attempt(p))
	clk.BlockUntil(1)
	cancel()
	got := <-ch
	refusal(t, got.err, bulkhead.ReasonCancelled)
	if !errors.Is(got.err, context.Canceled) {
		t.Fatalf("%v does not match context.Canceled", got.err)
	}
	held.Done(gate.Result{})
	if q := r.For(key).Queued(); q != 0 {
		t.Fatalf("cancelled waiter still queued")
	}
	// The slot is free again: nothing was lost.
	if p2, err := r.Admit(context.Background(), attempt(p), time.Time{}); err != nil {
		t.Fatal(err)
	} else {
		p2.Done(gate.Result{})
	}
}

func TestReloadRaisesLimitAndWakesWaiters(t *testing.T) {
	small := policy.BulkheadPolicy{Enabled: true, MaxConcurrent: 1, MaxWait: time.Minute}
	clk := regotest.NewClock(time.Time{})
	r := &bulkhead.Registry{Clock: clk}
	held, _ := r.Admit(context.Background(), attempt(small), time.Time{})
	ch := admitAsync(r, context.Background(), attempt(small))
	clk.BlockUntil(1)
	// A new policy with two slots: the next admission reconfigures the key
	// and the waiter gets the new slot.
	big := small
	big.MaxConcurrent = 3
	p3, err := r.Admit(context.Background(), attempt(big), time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	got := <-ch
	if got.err != nil {
		t.Fatal(got.err)
	}
	if n := r.For(key).InFlight(); n != 3 {
		t.Fatalf("in flight %d, want 3", n)
	}
	for _, p := range []gate.Permit{held, p3, got.p} {
		p.Done(gate.Result{})
	}
}

func TestDisabledAndOverflow(t *testing.T) {
	r := &bulkhead.Registry{MaxKeys: 1}
	if p, err := r.Admit(context.Background(), gate.Attempt{Key: key}, time.Time{}); err != nil || p.Reason != bulkhead.ReasonDisabled {
		t.Fatalf("no policy: %+v %v", p, err)
	}
	if p, err := r.Admit(context.Background(), attempt(policy.BulkheadPolicy{}), time.Time{}); err != nil || p.Reason != bulkhead.ReasonDisabled {
		t.Fatalf("disabled: %+v %v", p, err)
	}
	on := policy.BulkheadPolicy{Enabled: true, MaxConcurrent: 1}
	p, _ := r.Admit(context.Background(), attempt(on), time.Time{})
	defer p.Done(gate.Result{})
	other := gate.Attempt{Key: policy.ParseKey("other"), Policy: &policy.EffectivePolicy{Bulkhead: on}}
	if p, err := r.Admit(context.Background(), other, time.Time{}); err != nil || p.Reason != bulkhead.ReasonOverflow || r.Overflowed() != 1 {
		t.Fatalf("overflow: %+v %v %d", p, err, r.Overflowed())
	}
}

func BenchmarkAdmitUncontended(b *testing.B) {
	r := &bulkhead.Registry{}
	a := attempt(policy.BulkheadPolicy{Enabled: true, MaxConcurrent: 100})
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		p, err := r.Admit(ctx, a, time.Time{})
		if err != nil {
			b.Fatal(err)
		}
		p.Done(gate.Result{Verdict: gate.Answered})
	}
}

// Policies taking turns on one key each apply their own section, whether
// the attempt carries the policy seen last, another policy with the same
// section, or a direct call with no policy at all.
func TestPoliciesTakingTurns(t *testing.T) {
	r := &bulkhead.Registry{}
	ctx := context.Background()
	one := attempt(policy.BulkheadPolicy{Enabled: true, MaxConcurrent: 1})
	two := attempt(policy.BulkheadPolicy{Enabled: true, MaxConcurrent: 2})
	oneAgain := attempt(policy.BulkheadPolicy{Enabled: true, MaxConcurrent: 1})
	p1, err := r.Admit(ctx, one, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Admit(ctx, one, time.Time{}); !errors.Is(err, bulkhead.ErrFull) {
		t.Fatalf("second under a limit of 1: %v", err)
	}
	p2, err := r.Admit(ctx, two, time.Time{})
	if err != nil {
		t.Fatalf("second under a limit of 2: %v", err)
	}
	for _, a := range []gate.Attempt{one, oneAgain} {
		if _, err := r.Admit(ctx, a, time.Time{}); !errors.Is(err, bulkhead.ErrFull) {
			t.Fatalf("third under a limit of 1: %v", err)
		}
	}
	if _, err := r.For(key).Admit(ctx, nil, two.Policy.Bulkhead); !errors.Is(err, bulkhead.ErrFull) {
		t.Fatalf("third under a limit of 2: %v", err)
	}
	p1.Done(gate.Result{Verdict: gate.Answered})
	p2.Done(gate.Result{Verdict: gate.Answered})
	if n := r.For(key).InFlight(); n != 0 {
		t.Fatalf("in flight %d", n)
	}
}
