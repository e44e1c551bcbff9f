package circuit

import (
	"context"
	"math/rand"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aponysus/rego/gate"
	"github.com/aponysus/rego/policy"
)

// TestStress runs workers that admit, hold and complete attempts (out of
// order, across state changes, with the occasional forced state) on one
// breaker, under -race. Probes in flight never exceed HalfOpenProbes in
// any generation, and once everything has completed no probe slot is
// held: a half-open breaker admits HalfOpenProbes probes again.
func TestStress(t *testing.T) {
	t0 := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	pol := &policy.EffectivePolicy{Key: policy.ParseKey("dep.Call"), Circuit: policy.CircuitPolicy{
		Enabled: true, FailureThreshold: 4, Cooldown: 5 * time.Millisecond,
		FailureRateThreshold: 0.5, SlowCallDuration: time.Millisecond, SlowCallRateThreshold: 0.8,
		Window: 50 * time.Millisecond, MinThroughput: 8, HalfOpenProbes: 3, SuccessThreshold: 2,
	}}
	var (
		b      Breaker
		clock  atomic.Int64 // virtual nanoseconds after t0
		mu     sync.Mutex
		probes = map[uint32]int{} // probes in flight per generation, as the workers see them
		fail   atomic.Value
		nProbe atomic.Int64
	)
	const workers, rounds, epochs = 8, 250, 16
	halfOpenSeen := 0
	for epoch := 0; epoch < epochs; epoch++ {
		var wg sync.WaitGroup
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func(seed int64) {
				defer wg.Done()
				rnd := rand.New(rand.NewSource(seed))
				var held []gate.Permit
				complete := func(p gate.Permit) {
					if p.Reason == ReasonProbe {
						mu.Lock()
						probes[uint32(p.Token>>1)]--
						mu.Unlock()
					}
					v := gate.Verdict(rnd.Intn(4))
					p.Done(gate.Result{Verdict: v, Latency: time.Duration(rnd.Intn(2000)) * time.Microsecond, End: t0.Add(time.Duration(clock.Load()))})
				}
				for i := 0; i < rounds; i++ {
					now := t0.Add(time.Duration(clock.Add(int64(rnd.Intn(100)) * int64(time.Microsecond))))
					switch rnd.Intn(1000) {
					case 0:
						b.ForceOpen(now)
					case 1:
						b.ForceClose(now)
					case 2, 3:
						b.Reset(now)
					}
					p, err := b.Admit(context.Background(), gate.Attempt{Key: pol.Key, Policy: pol}, now)
					if err != nil {
						continue
					}
					if p.Reason == ReasonProbe {
						nProbe.Add(1)
						mu.Lock()
						gen := uint32(p.Token >> 1)
						probes[gen]++
						if probes[gen] > pol.Circuit.HalfOpenProbes {
							fail.Store("more probes in flight than HalfOpenProbes")
						}
						mu.Unlock()
					}
					if p.Completer == nil {
						continue
					}
					held = append(held, p)
					// Complete a random held permit, or hold on for a while.
					for len(held) > 0 && (len(held) > 4 || rnd.Intn(2) == 0) {
						j := rnd.Intn(len(held))
						complete(held[j])
						held[j] = held[len(held)-1]
						held = held[:len(held)-1]
					}
				}
				for _, p := range held {
					complete(p)
				}
			}(int64(epoch*workers + w + 1))
		}
		wg.Wait()
		if f := fail.Load(); f != nil {
			t.Fatal(f)
		}
		if nProbe.Load() == 0 {
			t.Fatal("the stress never reached half-open")
		}
		// Quiescent: no slot may be held.
		now := t0.Add(time.Duration(clock.Load()))
		sn := b.Snapshot(now, pol.Circuit)
		if sn.ProbesInFlight != 0 {
			t.Fatalf("epoch %d: a probe slot is held with nothing in flight: %+v", epoch, sn)
		}
		if sn.State == HalfOpen {
			halfOpenSeen++
		}
	}
	t.Logf("%d of %d epochs ended half-open, %d probes", halfOpenSeen, epochs, nProbe.Load())
	// The breaker gets through half-open with all its slots.
	now := t0.Add(time.Duration(clock.Load()))
	sn := b.Snapshot(now, pol.Circuit)
	if sn.Forced {
		b.Reset(now)
	}
	if b.Closed() {
		for i := 0; i < pol.Circuit.FailureThreshold; i++ {
			b.Done(now, pol.Circuit, false, false)
		}
	}
	now = now.Add(time.Second)
	for i := 0; i <= pol.Circuit.HalfOpenProbes; i++ {
		want := ReasonProbe
		if i == pol.Circuit.HalfOpenProbes {
			want = ReasonProbeBusy
		}
		if p, _ := b.Admit(context.Background(), gate.Attempt{Policy: pol}, now); p.Reason != want {
			t.Fatalf("admission %d after the stress: %q, want %q (%+v)", i, p.Reason, want, sn)
		}
	}
}

// Settings changed from several goroutines at once leave the closed
// path's Quiet policy in agreement with the settings in force: the fixed
// policy they came from when they count no results, nil otherwise.
func TestQuietAgreesWithSettings(t *testing.T) {
	quiet := &policy.CircuitPolicy{Enabled: true, FailureThreshold: 3}
	quiet4 := &policy.CircuitPolicy{Enabled: true, FailureThreshold: 4}
	rates := &policy.CircuitPolicy{Enabled: true, FailureThreshold: 3, FailureRateThreshold: 0.5}
	for round := 0; round < 200; round++ {
		var b Breaker
		var wg sync.WaitGroup
		for w := 0; w < 4; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				for i := 0; i < 20; i++ {
					switch (w + i/4 + round) % 4 {
					case 0:
						b.settingsForFixed(quiet)
					case 1:
						b.settingsForFixed(rates)
					case 2:
						b.settingsForFixed(quiet4)
					default:
						cp := *quiet4
						cp.FailureThreshold = 5
						b.settingsFor(&cp)
					}
				}
			}(w)
		}
		wg.Wait()
		s := b.conf.Load()
		var want *policy.CircuitPolicy
		if !s.counting() {
			want = s.src
		}
		if got := b.fg.Quiet.Load(); got != want {
			t.Fatalf("round %d: Quiet %p, settings of %+v (from %p)", round, got, s.pol, s.src)
		}
	}
}
