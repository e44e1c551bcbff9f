package retry_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/aponysus/rego/controlplane"
	"github.com/aponysus/rego/policy"
	"github.com/aponysus/rego/regotest"
	"github.com/aponysus/rego/retry"
)

func steppedExec(p policy.EffectivePolicy, clk *regotest.Clock) *retry.Executor {
	return retry.NewExecutor(retry.ExecutorOptions{
		Clock: clk,
		Rand:  regotest.NewRand(1),
		Provider: &controlplane.StaticProvider{Policies: map[policy.PolicyKey]policy.EffectivePolicy{
			key: p,
		}},
	})
}

func wantStep(t *testing.T, got retry.Step, kind retry.StepKind, hedge retry.HedgeTimer, wait time.Duration) {
	t.Helper()
	if got.Kind != kind || got.Hedge != hedge || got.Wait != wait {
		t.Fatalf("step = %v hedge %d wait %v, want %v hedge %d wait %v", got.Kind, got.Hedge, got.Wait, kind, hedge, wait)
	}
}

// A hedged call driven by hand: the primary is slow, the hedge wins, the
// primary is cancelled, and its late result goes to Discard.
func TestCallHedgeWins(t *testing.T) {
	clk := regotest.NewClock(time.Time{})
	exec := steppedExec(policy.EffectivePolicy{
		Retry: policy.RetryPolicy{MaxAttempts: 3},
		Hedge: policy.HedgePolicy{Enabled: true, MaxHedges: 1, Delay: 10 * time.Millisecond},
	}, clk)
	var discarded []int
	k := retry.Begin(context.Background(), exec, key, retry.CallOptions[int]{Discard: func(v int) { discarded = append(discarded, v) }})
	st := k.Next()
	wantStep(t, st, retry.StepLaunch, retry.HedgeKeep, 0)
	primary := st
	k.Launched()
	wantStep(t, k.Next(), retry.StepAwait, retry.HedgeArm, 10*time.Millisecond)
	k.Woke() // not sleeping: ignored
	wantStep(t, k.Next(), retry.StepAwait, retry.HedgeArm, 10*time.Millisecond)
	clk.Advance(10 * time.Millisecond)
	k.HedgeDue()
	st = k.Next()
	wantStep(t, st, retry.StepLaunch, retry.HedgeKeep, 0)
	if st.Attempt != 1 {
		t.Fatalf("hedge attempt = %d, want 1", st.Attempt)
	}
	k.Launched()
	wantStep(t, k.Next(), retry.StepAwait, retry.HedgeStop, 0) // MaxHedges reached
	clk.Advance(5 * time.Millisecond)
	k.Result(1, 42, nil)
	if k.Next().Kind != retry.StepDone {
		t.Fatalf("step = %v, want done", k.Next().Kind)
	}
	if primary.Ctx.Err() == nil {
		t.Error("the losing primary's context was not cancelled")
	}
	v, tl, err := k.Outcome()
	if v != 42 || err != nil {
		t.Fatalf("outcome = %d, %v", v, err)
	}
	if len(tl.Attempts) != 2 || !tl.Attempts[0].Cancelled || tl.Attempts[0].HedgeReason != retry.CancelLost || !tl.Attempts[1].IsHedge {
		t.Fatalf("timeline = %+v", tl.Attempts)
	}
	if d := tl.Attempts[1].StartTime.Sub(tl.Attempts[0].StartTime); d != 10*time.Millisecond {
		t.Errorf("hedge started %v after the primary, want 10ms", d)
	}
	k.Result(0, 7, context.Canceled) // the primary returns late
	k.Result(0, 8, nil)              // reported twice: ignored
	k.Result(5, 9, nil)              // not an attempt of the call: ignored
	if fmt.Sprint(discarded) != "[7]" {
		t.Errorf("discarded = %v, want [7]", discarded)
	}
}

// The per-attempt timeout is the attempt context's deadline, on the
// executor's clock.
func TestCallAttemptDeadline(t *testing.T) {
	clk := regotest.NewClock(time.Time{})
	exec := steppedExec(policy.EffectivePolicy{Retry: policy.RetryPolicy{MaxAttempts: 2, TimeoutPerAttempt: 20 * time.Millisecond, Jitter: policy.JitterNone, InitialBackoff: 5 * time.Millisecond}}, clk)
	k := retry.Begin(context.Background(), exec, key, retry.CallOptions[int]{})
	st := k.Next()
	dl, ok := st.Ctx.Deadline()
	if !ok || dl.Sub(clk.Now()) != 20*time.Millisecond {
		t.Fatalf("attempt deadline = %v, %v", dl, ok)
	}
	k.Launched()
	clk.Advance(20 * time.Millisecond)
	if !errors.Is(st.Ctx.Err(), context.DeadlineExceeded) {
		t.Fatalf("attempt ctx err = %v", st.Ctx.Err())
	}
	k.Result(st.Attempt, 0, st.Ctx.Err())
	wantStep(t, k.Next(), retry.StepSleep, retry.HedgeKeep, 5*time.Millisecond)
	clk.Advance(5 * time.Millisecond)
	k.Woke()
	st = k.Next()
	wantStep(t, st, retry.StepLaunch, retry.HedgeKeep, 0)
	k.Launched()
	k.Result(st.Attempt, 3, errA)
	_, tl, err := k.Outcome()
	if !errors.Is(err, errA) || !errors.Is(err, retry.ErrAttemptsExhausted) {
		t.Fatalf("err = %v", err)
	}
	if got := tl.Attempts[1].StartTime.Sub(tl.Attempts[0].StartTime); got != 25*time.Millisecond {
		t.Errorf("second attempt started %v after the first, want 25ms", got)
	}
}

// A driver of its own: attempts fail twice, waits advance a virtual clock.
func ExampleBegin() {
	key := policy.ParseKey("inventory.Reserve")
	clk := regotest.NewClock(time.Time{})
	exec := retry.NewExecutor(retry.ExecutorOptions{
		Provider: &controlplane.StaticProvider{Policies: map[policy.PolicyKey]policy.EffectivePolicy{
			key: {Retry: policy.RetryPolicy{MaxAttempts: 4, InitialBackoff: 100 * time.Millisecond, Jitter: policy.JitterNone}},
		}},
		Clock: clk,
	})
	k := retry.Begin(context.Background(), exec, key, retry.CallOptions[string]{})
	for {
		st := k.Next()
		switch st.Kind {
		case retry.StepLaunch:
			fmt.Println("launch attempt", st.Attempt)
			k.Launched()
			clk.Advance(30 * time.Millisecond) // the attempt takes 30ms
			if st.Attempt < 2 {
				k.Result(st.Attempt, "", errors.New("unavailable"))
			} else {
				k.Result(st.Attempt, "reserved", nil)
			}
		case retry.StepSleep:
			fmt.Println("sleep", st.Wait)
			clk.Advance(st.Wait)
			k.Woke()
		case retry.StepDone:
			v, tl, err := k.Outcome()
			fmt.Println(v, err, tl.End.Sub(tl.Start))
			return
		}
	}
	// Output:
	// launch attempt 0
	// sleep 100ms
	// launch attempt 1
	// sleep 200ms
	// launch attempt 2
	// reserved <nil> 390ms
}

// On a virtual clock an attempt's context ends at the call's overall
// deadline as soon as the clock reaches it, in the goroutine that advances
// the clock: with a per-attempt timeout past it, and with hedging.
func TestCallContextEndsWithOverallDeadline(t *testing.T) {
	for _, p := range []policy.EffectivePolicy{
		{Retry: policy.RetryPolicy{OverallTimeout: 50 * time.Millisecond, TimeoutPerAttempt: 100 * time.Millisecond}},
		{Retry: policy.RetryPolicy{OverallTimeout: 50 * time.Millisecond}, Hedge: policy.HedgePolicy{Enabled: true, Delay: time.Second}},
	} {
		clk := regotest.NewClock(time.Time{})
		k := retry.Begin(context.Background(), steppedExec(p, clk), key, retry.CallOptions[int]{})
		st := k.Next()
		if dl, ok := st.Ctx.Deadline(); !ok || dl.Sub(clk.Now()) != 50*time.Millisecond {
			t.Fatalf("%+v: attempt deadline %v, %v", p.Retry, dl, ok)
		}
		k.Launched()
		derived, cancel := context.WithCancel(st.Ctx)
		clk.Advance(50 * time.Millisecond)
		if !errors.Is(st.Ctx.Err(), context.DeadlineExceeded) || !errors.Is(derived.Err(), context.DeadlineExceeded) {
			t.Fatalf("%+v: at the deadline: attempt %v, derived %v", p.Retry, st.Ctx.Err(), derived.Err())
		}
		cancel()
		k.Result(st.Attempt, 0, st.Ctx.Err())
		if _, _, err := k.Outcome(); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("%+v: err = %v", p.Retry, err)
		}
	}
}
