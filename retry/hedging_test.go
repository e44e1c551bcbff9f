package retry_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aponysus/rego/budget"
	"github.com/aponysus/rego/classify"
	"github.com/aponysus/rego/clock"
	"github.com/aponysus/rego/controlplane"
	"github.com/aponysus/rego/hedge"
	"github.com/aponysus/rego/observe"
	"github.com/aponysus/rego/policy"
	"github.com/aponysus/rego/regotest"
	"github.com/aponysus/rego/retry"
)

// hedgeRecorder records hedge events.
type hedgeRecorder struct {
	observe.BaseObserver
	mu      sync.Mutex
	spawned []int
	cancels []string
	events  []string
}

func (h *hedgeRecorder) OnHedgeSpawn(_ context.Context, _ policy.PolicyKey, rec observe.AttemptRecord) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.spawned = append(h.spawned, rec.HedgeIndex)
	h.events = append(h.events, fmt.Sprintf("spawn %d", rec.Attempt))
}

func (h *hedgeRecorder) OnHedgeCancel(_ context.Context, _ policy.PolicyKey, rec observe.AttemptRecord, reason string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.cancels = append(h.cancels, fmt.Sprintf("%d:%s", rec.Attempt, reason))
	h.events = append(h.events, fmt.Sprintf("cancel %d", rec.Attempt))
}

func (h *hedgeRecorder) OnAttempt(_ context.Context, _ policy.PolicyKey, rec observe.AttemptRecord) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.events = append(h.events, fmt.Sprintf("attempt %d", rec.Attempt))
}

func (h *hedgeRecorder) OnSuccess(context.Context, policy.PolicyKey, observe.Timeline) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.events = append(h.events, "success")
}

func (h *hedgeRecorder) OnFailure(context.Context, policy.PolicyKey, observe.Timeline) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.events = append(h.events, "failure")
}

func hedgeExec(clk *regotest.Clock, p policy.EffectivePolicy, mod func(*retry.ExecutorOptions)) *retry.Executor {
	opts := retry.ExecutorOptions{
		Clock: clk,
		Rand:  regotest.NewRand(1),
		Provider: &controlplane.StaticProvider{Policies: map[policy.PolicyKey]policy.EffectivePolicy{
			key: p,
		}},
	}
	if mod != nil {
		mod(&opts)
	}
	return retry.NewExecutor(opts)
}

func hedged(maxAttempts, maxHedges int, delay time.Duration) policy.EffectivePolicy {
	return policy.EffectivePolicy{
		Retry: policy.RetryPolicy{MaxAttempts: maxAttempts, Jitter: policy.JitterNone, InitialBackoff: 10 * time.Millisecond},
		Hedge: policy.HedgePolicy{Enabled: true, MaxHedges: maxHedges, Delay: delay},
	}
}

type callResult struct {
	v   string
	tl  observe.Timeline
	err error
}

func goCall(exec *retry.Executor, ctx context.Context, op func(context.Context) (string, error), discard func(string)) chan callResult {
	ch := make(chan callResult, 1)
	go func() {
		v, tl, err := retry.DoValueWith(ctx, exec, key, op, retry.CallOptions[string]{Timeline: true, Discard: discard})
		ch <- callResult{v, tl, err}
	}()
	return ch
}

func TestHedgeWinsAndLoserIsCancelled(t *testing.T) {
	clk := regotest.NewClock(time.Time{})
	obs := &hedgeRecorder{}
	exec := hedgeExec(clk, hedged(3, 1, 20*time.Millisecond), func(o *retry.ExecutorOptions) { o.Observer = obs })
	primaryDone := make(chan error, 1)
	var discarded []string
	var dmu sync.Mutex
	ch := goCall(exec, context.Background(), func(ctx context.Context) (string, error) {
		info, _ := observe.AttemptFromContext(ctx)
		if !info.IsHedge {
			<-ctx.Done() // slow primary: only cancellation ends it
			primaryDone <- ctx.Err()
			return "primary", ctx.Err()
		}
		if info.HedgeIndex != 1 || info.RetryIndex != 0 || info.Attempt != 1 {
			t.Errorf("hedge info = %+v", info)
		}
		return "hedge", nil
	}, func(v string) { dmu.Lock(); discarded = append(discarded, v); dmu.Unlock() })
	clk.BlockUntil(1) // the hedge timer is armed
	clk.Advance(20 * time.Millisecond)
	res := <-ch
	if res.err != nil || res.v != "hedge" {
		t.Fatalf("got %q, %v", res.v, res.err)
	}
	if err := <-primaryDone; !errors.Is(err, context.Canceled) {
		t.Fatalf("primary ctx err = %v", err)
	}
	tl := res.tl
	if len(tl.Attempts) != 2 {
		t.Fatalf("attempts = %+v", tl.Attempts)
	}
	p, h := tl.Attempts[0], tl.Attempts[1]
	if !p.Cancelled || p.IsHedge || p.HedgeReason != "lost" {
		t.Errorf("primary record = %+v", p)
	}
	if !h.IsHedge || h.HedgeIndex != 1 || h.Outcome.Kind != classify.OutcomeSuccess || h.HedgeReason != "trigger_fixed" {
		t.Errorf("hedge record = %+v", h)
	}
	if got := h.StartTime.Sub(p.StartTime); got != 20*time.Millisecond {
		t.Errorf("hedge launched %v after the primary, want 20ms", got)
	}
	obs.mu.Lock()
	defer obs.mu.Unlock()
	if fmt.Sprint(obs.events) != "[spawn 1 attempt 1 cancel 0 success]" {
		t.Errorf("events = %v", obs.events)
	}
	// The loser's late value goes to the discard hook from its goroutine.
	deadline := time.Now().Add(5 * time.Second)
	for {
		dmu.Lock()
		n := len(discarded)
		dmu.Unlock()
		if n == 1 || time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Millisecond)
	}
	dmu.Lock()
	defer dmu.Unlock()
	if fmt.Sprint(discarded) != "[primary]" {
		t.Errorf("discarded = %v", discarded)
	}
}

func TestPrimaryWinsBeforeHedgeDelay(t *testing.T) {
	clk := regotest.NewClock(time.Time{})
	exec := hedgeExec(clk, hedged(3, 2, 50*time.Millisecond), nil)
	res := <-goCall(exec, context.Background(), func(context.Context) (string, error) { return "fast", nil }, nil)
	if res.err != nil || res.v != "fast" || len(res.tl.Attempts) != 1 {
		t.Fatalf("got %q %v %+v", res.v, res.err, res.tl.Attempts)
	}
	if clk.Pending() != 0 {
		t.Errorf("hedge timer left pending: %d", clk.Pending())
	}
}

func TestHedgesSpreadOutAndCountTowardMaxAttempts(t *testing.T) {
	clk := regotest.NewClock(time.Time{})
	// MaxAttempts 3 allows the primary and two hedges even though
	// MaxHedges is 5.
	exec := hedgeExec(clk, hedged(3, 5, 10*time.Millisecond), nil)
	release := make(chan struct{})
	var launched atomic.Int32
	ch := goCall(exec, context.Background(), func(ctx context.Context) (string, error) {
		launched.Add(1)
		info, _ := observe.AttemptFromContext(ctx)
		if info.Attempt < 2 {
			<-ctx.Done()
			return "", ctx.Err()
		}
		<-release
		return fmt.Sprint("attempt-", info.Attempt), nil
	}, nil)
	for i := 1; i <= 2; i++ {
		clk.BlockUntil(1)
		clk.Advance(10 * time.Millisecond)
		// One launch per trigger firing.
		for launched.Load() != int32(i+1) {
			time.Sleep(100 * time.Microsecond)
		}
	}
	if clk.Pending() != 0 {
		t.Errorf("a fourth attempt was scheduled: %d timers pending", clk.Pending())
	}
	close(release)
	res := <-ch
	if res.err != nil || res.v != "attempt-2" {
		t.Fatalf("got %q, %v", res.v, res.err)
	}
	var starts []time.Duration
	for _, r := range res.tl.Attempts {
		starts = append(starts, r.StartTime.Sub(res.tl.Start))
	}
	if fmt.Sprint(starts) != "[0s 10ms 20ms]" {
		t.Errorf("launch times = %v", starts)
	}
}

func TestHedgeDeniedByBudgetDoesNotAbort(t *testing.T) {
	clk := regotest.NewClock(time.Time{})
	p := hedged(3, 1, 10*time.Millisecond)
	p.Hedge.Budget = policy.BudgetRef{Name: "hedges"}
	exec := hedgeExec(clk, p, func(o *retry.ExecutorOptions) {
		o.Budgets = budget.NewRegistry()
		o.Budgets.Register("hedges", budget.NewTokenBucketBudgetClock(0, 0, clk))
	})
	release := make(chan struct{})
	ch := goCall(exec, context.Background(), func(ctx context.Context) (string, error) {
		<-release
		return "primary", nil
	}, nil)
	clk.BlockUntil(1)
	clk.Advance(10 * time.Millisecond)
	close(release)
	res := <-ch
	if res.err != nil || res.v != "primary" {
		t.Fatalf("got %q, %v", res.v, res.err)
	}
	if len(res.tl.Attempts) != 2 {
		t.Fatalf("attempts = %+v", res.tl.Attempts)
	}
	d := res.tl.Attempts[1]
	if d.BudgetAllowed || !d.IsHedge || d.BudgetKind != budget.KindHedge || !errors.Is(d.Err, budget.ErrDenied) {
		t.Errorf("denied hedge record = %+v", d)
	}
}

func TestHedgeRetryableFailureWaitsForOthersThenRetries(t *testing.T) {
	clk := regotest.NewClock(time.Time{})
	exec := hedgeExec(clk, hedged(4, 1, 10*time.Millisecond), nil)
	hedgeGo := make(chan struct{})
	ch := goCall(exec, context.Background(), func(ctx context.Context) (string, error) {
		info, _ := observe.AttemptFromContext(ctx)
		switch info.Attempt {
		case 0: // the primary waits for the hedge to start, then fails
			<-hedgeGo
			return "", errA
		case 1: // the hedge fails too
			close(hedgeGo)
			return "", errA
		}
		return "step2", nil
	}, nil)
	clk.BlockUntil(1)
	clk.Advance(10 * time.Millisecond) // hedge launches
	clk.BlockUntil(1)                  // the backoff timer of step 1... or its hedge timer
	for {
		// Advance until the call ends: the backoff is 10ms.
		select {
		case res := <-ch:
			if res.err != nil || res.v != "step2" {
				t.Fatalf("got %q, %v", res.v, res.err)
			}
			var steps []int
			for _, r := range res.tl.Attempts {
				steps = append(steps, r.RetryIndex)
			}
			if fmt.Sprint(steps) != "[0 0 1]" {
				t.Fatalf("retry indices = %v", steps)
			}
			if res.tl.Attempts[2].Backoff != 10*time.Millisecond {
				t.Fatalf("backoff = %v", res.tl.Attempts[2].Backoff)
			}
			return
		default:
			clk.Advance(time.Millisecond)
			time.Sleep(100 * time.Microsecond)
		}
	}
}

func TestHedgeNonRetryable(t *testing.T) {
	for _, cancelOnNR := range []bool{false, true} {
		t.Run(fmt.Sprint("cancel=", cancelOnNR), func(t *testing.T) {
			clk := regotest.NewClock(time.Time{})
			p := hedged(3, 1, 10*time.Millisecond)
			p.Hedge.CancelOnNonRetryable = cancelOnNR
			exec := hedgeExec(clk, p, nil)
			primaryGo := make(chan struct{})
			ch := goCall(exec, context.Background(), func(ctx context.Context) (string, error) {
				info, _ := observe.AttemptFromContext(ctx)
				if info.IsHedge {
					defer close(primaryGo)
					return "", classify.Permanent(errA)
				}
				if cancelOnNR {
					// The hedge's non-retryable failure must cancel the
					// primary; were it let go when the hedge returns, its
					// success could reach the call first.
					<-ctx.Done()
					return "", ctx.Err()
				}
				select {
				case <-primaryGo:
				case <-ctx.Done():
					return "", ctx.Err()
				}
				return "primary", nil
			}, nil)
			clk.BlockUntil(1)
			clk.Advance(10 * time.Millisecond)
			res := <-ch
			if cancelOnNR {
				if !errors.Is(res.err, errA) || res.tl.Attributes[observe.AttrStopReason] != retry.StopNonRetryable {
					t.Fatalf("got %q, %v, %v", res.v, res.err, res.tl.Attributes)
				}
				return
			}
			// Without CancelOnNonRetryable the primary may still succeed.
			if res.err != nil || res.v != "primary" {
				t.Fatalf("got %q, %v", res.v, res.err)
			}
		})
	}
}

func TestHedgeSkippedWhenDeadlineTooClose(t *testing.T) {
	clk := regotest.NewClock(time.Time{})
	p := hedged(3, 1, 100*time.Millisecond)
	p.Retry.OverallTimeout = 50 * time.Millisecond
	exec := hedgeExec(clk, p, nil)
	res := <-goCall(exec, context.Background(), func(context.Context) (string, error) { return "ok", nil }, nil)
	if res.err != nil || res.tl.Attributes[observe.AttrHedgeSkipped] != "deadline" {
		t.Fatalf("err %v, attributes %v", res.err, res.tl.Attributes)
	}
}

func TestPanicInHedgeReachesCaller(t *testing.T) {
	clk := regotest.NewClock(time.Time{})
	exec := hedgeExec(clk, hedged(3, 1, 10*time.Millisecond), nil)
	got := make(chan any, 1)
	go func() {
		defer func() { got <- recover() }()
		_, _ = retry.DoValue(context.Background(), exec, key, func(ctx context.Context) (string, error) {
			info, _ := observe.AttemptFromContext(ctx)
			if info.IsHedge {
				panic("boom in hedge")
			}
			<-ctx.Done()
			return "", ctx.Err()
		})
	}()
	clk.BlockUntil(1)
	clk.Advance(10 * time.Millisecond)
	v := <-got
	pe, ok := v.(*retry.PanicError)
	if !ok || pe.Value != "boom in hedge" || pe.Attempt != 1 || len(pe.Stack) == 0 {
		t.Fatalf("recovered %#v", v)
	}
}

func TestPanicInHedgeRecovered(t *testing.T) {
	clk := regotest.NewClock(time.Time{})
	exec := hedgeExec(clk, hedged(3, 1, 10*time.Millisecond), func(o *retry.ExecutorOptions) { o.RecoverPanics = true })
	ch := goCall(exec, context.Background(), func(ctx context.Context) (string, error) {
		info, _ := observe.AttemptFromContext(ctx)
		if info.IsHedge {
			panic(errA)
		}
		<-ctx.Done()
		return "", ctx.Err()
	}, nil)
	clk.BlockUntil(1)
	clk.Advance(10 * time.Millisecond)
	res := <-ch
	var pe *retry.PanicError
	if !errors.As(res.err, &pe) || !errors.Is(res.err, errA) {
		t.Fatalf("err = %v", res.err)
	}
}

// TestHedgeStress runs thousands of concurrent hedged calls on the real
// clock, with random latencies, failures and cancellations, and demands
// that every call returns and every budget decision is released once.
func TestHedgeStress(t *testing.T) {
	calls := 2000
	if testing.Short() {
		calls = 300
	}
	var allowed, released atomic.Int64
	reg := budget.NewRegistry()
	reg.Register("count", countingBudget{allowed: &allowed, released: &released})
	p := policy.EffectivePolicy{
		Retry: policy.RetryPolicy{MaxAttempts: 4, InitialBackoff: time.Millisecond, MaxBackoff: 2 * time.Millisecond, Budget: policy.BudgetRef{Name: "count"}},
		Hedge: policy.HedgePolicy{Enabled: true, MaxHedges: 2, Delay: time.Millisecond, Budget: policy.BudgetRef{Name: "count"}},
	}
	exec := retry.NewExecutor(retry.ExecutorOptions{
		Budgets:  reg,
		Provider: &controlplane.StaticProvider{Policies: map[policy.PolicyKey]policy.EffectivePolicy{key: p}},
	})
	var wg sync.WaitGroup
	var ok, failed atomic.Int64
	for i := 0; i < calls; i++ {
		wg.Add(1)
		go func(seed int64) {
			defer wg.Done()
			r := rand.New(rand.NewSource(seed))
			var rmu sync.Mutex // hedges of one call run concurrently
			ctx, cancel := context.WithTimeout(context.Background(), time.Duration(r.Intn(20)+1)*time.Millisecond)
			defer cancel()
			_, err := retry.DoValue(ctx, exec, key, func(ctx context.Context) (int, error) {
				rmu.Lock()
				lat := time.Duration(r.Intn(3000)) * time.Microsecond
				rmu.Unlock()
				t := time.NewTimer(lat)
				defer t.Stop()
				select {
				case <-t.C:
				case <-ctx.Done():
					return 0, ctx.Err()
				}
				if lat%3 == 0 {
					return 0, errA
				}
				return 1, nil
			})
			if err != nil {
				failed.Add(1)
			} else {
				ok.Add(1)
			}
		}(int64(i))
	}
	wg.Wait()
	if ok.Load()+failed.Load() != int64(calls) {
		t.Fatalf("returned %d of %d calls", ok.Load()+failed.Load(), calls)
	}
	// Losers may still be finishing: their releases come from their own
	// goroutines. Wait for them to drain.
	deadline := time.Now().Add(10 * time.Second)
	for released.Load() != allowed.Load() && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if released.Load() != allowed.Load() {
		t.Fatalf("released %d of %d allowed attempts", released.Load(), allowed.Load())
	}
	t.Logf("%d ok, %d failed, %d attempts", ok.Load(), failed.Load(), allowed.Load())
}

type countingBudget struct {
	allowed, released *atomic.Int64
}

func (c countingBudget) AllowAttempt(context.Context, policy.PolicyKey, int, budget.AttemptKind, policy.BudgetRef) budget.Decision {
	c.allowed.Add(1)
	var once atomic.Bool
	return budget.Decision{Allowed: true, Reason: "counted", Release: func() {
		if !once.CompareAndSwap(false, true) {
			panic("Release called twice")
		}
		c.released.Add(1)
	}}
}

func TestLatencyTriggerUsesTheKeysRecentLatency(t *testing.T) {
	clk := regotest.NewClock(time.Time{})
	p := hedged(3, 1, 50*time.Millisecond)
	p.Hedge.Trigger = policy.TriggerP50
	exec := hedgeExec(clk, p, nil)
	// Warm the key's tracker with 10ms calls.
	for i := 0; i < 40; i++ {
		res := <-goCall(exec, context.Background(), func(context.Context) (string, error) {
			clk.Advance(10 * time.Millisecond)
			return "ok", nil
		}, nil)
		if res.err != nil {
			t.Fatal(res.err)
		}
	}
	ch := goCall(exec, context.Background(), func(ctx context.Context) (string, error) {
		info, _ := observe.AttemptFromContext(ctx)
		if !info.IsHedge {
			<-ctx.Done()
			return "", ctx.Err()
		}
		return "hedge", nil
	}, nil)
	clk.BlockUntil(1)
	clk.Advance(12 * time.Millisecond) // past p50 (10ms), well before the 50ms warm-up delay
	res := <-ch
	if res.err != nil || res.v != "hedge" {
		t.Fatalf("got %q %v", res.v, res.err)
	}
	h := res.tl.Attempts[1]
	gap := h.StartTime.Sub(res.tl.Attempts[0].StartTime)
	if !strings.HasPrefix(h.HedgeReason, "trigger_p50") || gap < 9*time.Millisecond || gap > 12*time.Millisecond {
		t.Fatalf("hedge reason %q launched after %v, want p50 ~10ms", h.HedgeReason, gap)
	}
}

// The documented HedgeReason of an attempt cancelled because the call
// ended: "call_ended" (and "lost" for a loser, "trigger_fixed" for a
// hedge: TestHedgeWinsAndLoserIsCancelled).
func TestCancelledByCallEndRecordsCallEnded(t *testing.T) {
	p := hedged(3, 1, 10*time.Millisecond)
	p.Hedge.CancelOnNonRetryable = true
	exec := hedgeExec(regotest.NewAutoClock(time.Time{}), p, nil)
	res := <-goCall(exec, context.Background(), func(ctx context.Context) (string, error) {
		if info, _ := observe.AttemptFromContext(ctx); info.IsHedge {
			return "", classify.Permanent(errA)
		}
		<-ctx.Done()
		return "", ctx.Err()
	}, nil)
	if !errors.Is(res.err, errA) || len(res.tl.Attempts) != 2 {
		t.Fatalf("err %v records %+v", res.err, res.tl.Attempts)
	}
	if pr := res.tl.Attempts[0]; !pr.Cancelled || pr.HedgeReason != "call_ended" || retry.CancelCallEnded != "call_ended" || retry.CancelLost != "lost" {
		t.Fatalf("primary record %+v", pr)
	}
	if h := res.tl.Attempts[1]; h.HedgeReason != "trigger_fixed" {
		t.Fatalf("hedge record %+v", h)
	}
}

// A trigger's zero delay launches the hedge at once, on the real clock as
// on a virtual one (the goroutine driver arms no timer for it): the hedge
// wins, the primary is cancelled, and so on call after call (the pooled
// hub is reused), with and without a timeline. A second hedge due at once
// after a first that failed launches too.
func TestZeroDelayHedgeLaunchesAtOnce(t *testing.T) {
	reg := hedge.NewRegistry()
	reg.Register("now", hedge.TriggerFunc(func(hedge.TriggerInput) (time.Duration, string, bool) { return 0, "now", true }))
	p := hedged(3, 2, time.Hour)
	p.Hedge.Trigger = "now"
	for _, clk := range []clock.Clock{clock.Real{}, regotest.NewClock(time.Time{})} {
		exec := retry.NewExecutor(retry.ExecutorOptions{
			Clock:         clk,
			HedgeTriggers: reg,
			Provider:      &controlplane.StaticProvider{Policies: map[policy.PolicyKey]policy.EffectivePolicy{key: p}},
		})
		for i := 0; i < 50; i++ {
			timeline := i%2 == 0
			v, tl, err := retry.DoValueWith(context.Background(), exec, key, func(ctx context.Context) (string, error) {
				info, _ := observe.AttemptFromContext(ctx)
				switch info.HedgeIndex {
				case 0:
					<-ctx.Done()
					return "", ctx.Err()
				case 1:
					return "", errA // retryable: the step goes on
				}
				return "hedge2", nil
			}, retry.CallOptions[string]{Timeline: timeline})
			if err != nil || v != "hedge2" {
				t.Fatalf("%T call %d: %q %v", clk, i, v, err)
			}
			if !timeline {
				continue
			}
			if len(tl.Attempts) != 3 || !tl.Attempts[0].Cancelled || tl.Attempts[0].HedgeReason != retry.CancelLost ||
				tl.Attempts[2].HedgeReason != "trigger_now" || tl.Attempts[2].HedgeIndex != 2 {
				t.Fatalf("%T call %d: records %+v", clk, i, tl.Attempts)
			}
		}
	}
}
