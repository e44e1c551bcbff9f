package adaptive_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aponysus/rego/adaptive"
	"github.com/aponysus/rego/gate"
	"github.com/aponysus/rego/policy"
	"github.com/aponysus/rego/regotest"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var key = policy.ParseKey("api.render")

func attempt(p policy.ConcurrencyPolicy) gate.Attempt {
	return gate.Attempt{Key: key, Policy: &policy.EffectivePolicy{Key: key, Concurrency: p}}
}

// round admits as many attempts as the limit allows (up to n), then
// completes them all with latency lat (failed when drop), and returns the
// limit after.
func round(t *testing.T, r *adaptive.Registry, p policy.ConcurrencyPolicy, n int, lat time.Duration, drop bool) int {
	t.Helper()
	var held []gate.Permit
	for i := 0; i < n; i++ {
		pm, err := r.Admit(context.Background(), attempt(p), time.Time{})
		if err != nil {
			break
		}
		held = append(held, pm)
	}
	v := gate.Answered
	if drop {
		v = gate.Failed
	}
	for _, pm := range held {
		pm.Done(gate.Result{Verdict: v, Latency: lat})
	}
	l, _ := r.Limit(key)
	return l
}

// touch admits one attempt that does not run, and returns the limit.
func touch(r *adaptive.Registry, p policy.ConcurrencyPolicy) int {
	pm, err := r.Admit(context.Background(), attempt(p), time.Time{})
	if err == nil {
		pm.Done(gate.Result{Verdict: gate.NotRun})
	}
	l, _ := r.Limit(key)
	return l
}

func TestAlgorithms(t *testing.T) {
	const ms = time.Millisecond
	for _, tc := range []struct {
		name string
		alg  string
		// rounds of (latency, drop, full use); want is the direction of
		// the limit over the last phase: +1 up, -1 down, 0 unchanged.
		warm  time.Duration
		phase time.Duration
		drop  bool
		full  bool
		want  int
	}{
		{"gradient2 steady latency at full use grows", adaptive.Gradient2, 10 * ms, 10 * ms, false, true, +1},
		{"gradient2 latency x4 shrinks", adaptive.Gradient2, 10 * ms, 40 * ms, false, true, -1},
		{"gradient2 app-limited does not grow", adaptive.Gradient2, 10 * ms, 10 * ms, false, false, 0},
		{"gradient2 drops shrink", adaptive.Gradient2, 10 * ms, 10 * ms, true, true, -1},
		{"vegas no queue grows", adaptive.Vegas, 10 * ms, 10 * ms, false, true, +1},
		{"vegas long queue shrinks", adaptive.Vegas, 10 * ms, 50 * ms, false, true, -1},
		{"vegas drops shrink", adaptive.Vegas, 10 * ms, 10 * ms, true, true, -1},
		{"aimd grows at full use", adaptive.AIMD, 10 * ms, 10 * ms, false, true, +1},
		{"aimd app-limited does not grow", adaptive.AIMD, 10 * ms, 10 * ms, false, false, 0},
		{"aimd drops shrink", adaptive.AIMD, 10 * ms, 10 * ms, true, true, -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := policy.ConcurrencyPolicy{Enabled: true, Algorithm: tc.alg, InitialLimit: 20, MinLimit: 2, MaxLimit: 200}
			r := &adaptive.Registry{}
			for i := 0; i < 50; i++ {
				round(t, r, p, 20, tc.warm, false)
			}
			before, _ := r.Limit(key)
			var after int
			for i := 0; i < 30; i++ {
				n := 1 << 20
				if !tc.full {
					n = 1
				}
				after = round(t, r, p, n, tc.phase, tc.drop)
			}
			got := 0
			if after > before {
				got = 1
			} else if after < before {
				got = -1
			}
			if got != tc.want {
				t.Fatalf("limit %d -> %d, want direction %d", before, after, tc.want)
			}
			if after < 2 || after > 200 {
				t.Fatalf("limit %d outside [2, 200]", after)
			}
		})
	}
}

func TestBoundsAndDefaults(t *testing.T) {
	r := &adaptive.Registry{}
	zero := policy.ConcurrencyPolicy{Enabled: true}
	if l := touch(r, zero); l != adaptive.DefaultInitialLimit {
		t.Fatalf("initial limit %d", l)
	}
	// Drops push a limit down to MinLimit, never below.
	p := policy.ConcurrencyPolicy{Enabled: true, Algorithm: "AIMD", InitialLimit: 8, MinLimit: 3, MaxLimit: 10}
	for i := 0; i < 100; i++ {
		round(t, r, p, 100, time.Millisecond, true)
	}
	if l, _ := r.Limit(key); l != 3 {
		t.Fatalf("limit %d after drops, want MinLimit 3", l)
	}
	for i := 0; i < 100; i++ {
		round(t, r, p, 100, time.Millisecond, false)
	}
	if l, _ := r.Limit(key); l != 10 {
		t.Fatalf("limit %d after growth, want MaxLimit 10", l)
	}
	// Inconsistent limits are put in order: Initial within [Min, Max].
	odd := policy.ConcurrencyPolicy{Enabled: true, InitialLimit: 50, MinLimit: 5, MaxLimit: 4}
	if l := touch(r, odd); l != 5 {
		t.Fatalf("limit %d for min 5 max 4", l)
	}
}

func TestRefusalAndWait(t *testing.T) {
	clk := regotest.NewClock(time.Time{})
	r := &adaptive.Registry{Clock: clk}
	p := policy.ConcurrencyPolicy{Enabled: true, InitialLimit: 1, MaxLimit: 1}
	held, err := r.Admit(context.Background(), attempt(p), time.Time{})
	if err != nil || held.Reason != adaptive.ReasonAdmitted {
		t.Fatal(held, err)
	}
	_, err = r.Admit(context.Background(), attempt(p), time.Time{})
	var re *gate.RefusedError
	if !errors.As(err, &re) || re.Gate != gate.NameConcurrency || re.Reason != adaptive.ReasonLimited || !errors.Is(err, adaptive.ErrLimited) {
		t.Fatalf("want a refusal, got %v", err)
	}
	// With MaxWait the attempt waits for the slot on the clock.
	wp := p
	wp.MaxWait = time.Second
	type answer struct {
		p   gate.Permit
		err error
	}
	ch := make(chan answer, 1)
	go func() {
		pm, err := r.Admit(context.Background(), attempt(wp), time.Time{})
		ch <- answer{pm, err}
	}()
	clk.BlockUntil(1)
	clk.Advance(250 * time.Millisecond)
	held.Done(gate.Result{Verdict: gate.Answered, Latency: time.Millisecond})
	got := <-ch
	if got.err != nil || got.p.Reason != adaptive.ReasonQueued || got.p.Waited != 250*time.Millisecond {
		t.Fatalf("%+v %v", got.p, got.err)
	}
	got.p.Done(gate.Result{Verdict: gate.NotRun})
	if n := r.For(key).InFlight(); n != 0 {
		t.Fatalf("%d in flight", n)
	}
}

func TestDisabledAndUnknownKey(t *testing.T) {
	r := &adaptive.Registry{MaxKeys: 1}
	if pm, err := r.Admit(context.Background(), attempt(policy.ConcurrencyPolicy{}), time.Time{}); err != nil || pm.Reason != adaptive.ReasonDisabled {
		t.Fatal(pm, err)
	}
	if _, ok := r.Limit(key); ok {
		t.Fatal("a limit for a key never admitted")
	}
	on := policy.ConcurrencyPolicy{Enabled: true}
	pm, _ := r.Admit(context.Background(), attempt(on), time.Time{})
	pm.Done(gate.Result{})
	a := attempt(on)
	a.Key = policy.ParseKey("other")
	if pm, err := r.Admit(context.Background(), a, time.Time{}); err != nil || pm.Reason != adaptive.ReasonOverflow || r.Overflowed() != 1 {
		t.Fatal(pm, err)
	}
}

func BenchmarkAdmitUncontended(b *testing.B) {
	r := &adaptive.Registry{}
	a := attempt(policy.ConcurrencyPolicy{Enabled: true, InitialLimit: 100})
	ctx := context.Background()
	res := gate.Result{Verdict: gate.Answered, Latency: time.Millisecond}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		p, err := r.Admit(ctx, a, time.Time{})
		if err != nil {
			b.Fatal(err)
		}
		p.Done(res)
	}
}
