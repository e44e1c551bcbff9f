package retry_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aponysus/rego/budget"
	"github.com/aponysus/rego/classify"
	"github.com/aponysus/rego/controlplane"
	"github.com/aponysus/rego/observe"
	"github.com/aponysus/rego/policy"
	"github.com/aponysus/rego/regotest"
	"github.com/aponysus/rego/retry"
)

type failingProvider struct {
	p   policy.EffectivePolicy
	err error
}

func (f failingProvider) GetEffectivePolicy(context.Context, policy.PolicyKey) (policy.EffectivePolicy, error) {
	return f.p, f.err
}

func TestMissingPolicyModes(t *testing.T) {
	perr := fmt.Errorf("control plane down: %w", controlplane.ErrProviderUnavailable)
	tests := []struct {
		mode      retry.MissingPolicyMode
		wantCalls int
		wantErr   error
		wantMode  string
	}{
		{retry.FailureFallback, 3, errA, "fallback"},
		{retry.FailureAllow, 1, errA, "allow"},
		{retry.FailureDeny, 0, retry.ErrNoPolicy, "deny"},
	}
	for _, tt := range tests {
		t.Run(tt.wantMode, func(t *testing.T) {
			exec := retry.NewExecutor(retry.ExecutorOptions{
				Provider:          failingProvider{err: perr},
				MissingPolicyMode: tt.mode,
				Clock:             regotest.NewAutoClock(time.Time{}),
			})
			calls := 0
			tl, err := exec.DoWithTimeline(context.Background(), key, func(context.Context) error {
				calls++
				return errA
			})
			if calls != tt.wantCalls || !errors.Is(err, tt.wantErr) {
				t.Fatalf("calls %d err %v", calls, err)
			}
			if tl.Attributes[observe.AttrMissingPolicyMode] != tt.wantMode || !strings.Contains(tl.Attributes[observe.AttrPolicyError], "control plane down") {
				t.Fatalf("attributes %v", tl.Attributes)
			}
			if tt.mode == retry.FailureDeny {
				var npe *retry.NoPolicyError
				if !errors.As(err, &npe) || !errors.Is(err, controlplane.ErrProviderUnavailable) || npe.Key != key {
					t.Fatalf("err %v does not unwrap to the provider error", err)
				}
			}
		})
	}
}

func TestUsablePolicyWithErrorIsRunAndRecorded(t *testing.T) {
	lkg := policy.EffectivePolicy{Retry: policy.RetryPolicy{MaxAttempts: 2}, Meta: policy.Metadata{Source: policy.SourceLKG, Version: "v7"}}
	exec := retry.NewExecutor(retry.ExecutorOptions{
		Provider: failingProvider{p: lkg, err: controlplane.ErrProviderUnavailable},
		Clock:    regotest.NewAutoClock(time.Time{}),
	})
	calls := 0
	tl, _ := exec.DoWithTimeline(context.Background(), key, func(context.Context) error { calls++; return errA })
	if calls != 2 {
		t.Fatalf("calls = %d, want the LKG policy's 2", calls)
	}
	a := tl.Attributes
	if a[observe.AttrPolicySource] != "lkg" || a[observe.AttrPolicyVersion] != "v7" || a[observe.AttrPolicyError] == "" || a[observe.AttrMissingPolicyMode] != "" {
		t.Fatalf("attributes %v", a)
	}
}

func TestClampedPolicyIsRecorded(t *testing.T) {
	exec := retry.NewExecutor(retry.ExecutorOptions{
		Provider: &controlplane.StaticProvider{Policies: map[policy.PolicyKey]policy.EffectivePolicy{
			key: {Retry: policy.RetryPolicy{MaxAttempts: 1000, BackoffMultiplier: -1}},
		}},
		Clock: regotest.NewAutoClock(time.Time{}),
	})
	calls := 0
	tl, _ := exec.DoWithTimeline(context.Background(), key, func(context.Context) error { calls++; return errA })
	if calls != policy.MaxMaxAttempts {
		t.Fatalf("calls = %d", calls)
	}
	if tl.Attributes[observe.AttrPolicyNormalized] != "true" || tl.Attributes[observe.AttrPolicyClampedFields] != "retry.max_attempts,retry.backoff_multiplier" {
		t.Fatalf("attributes %v", tl.Attributes)
	}
}

func TestInvalidStaticPolicyFallsBack(t *testing.T) {
	exec := retry.NewExecutor(retry.ExecutorOptions{
		Provider: &controlplane.StaticProvider{Policies: map[policy.PolicyKey]policy.EffectivePolicy{
			key: {Retry: policy.RetryPolicy{Jitter: "wobbly"}},
		}},
		Clock: regotest.NewAutoClock(time.Time{}),
	})
	tl, err := exec.DoWithTimeline(context.Background(), key, func(context.Context) error { return nil })
	if err != nil || tl.Attributes[observe.AttrMissingPolicyMode] != "fallback" || !strings.Contains(tl.Attributes[observe.AttrPolicyError], "retry.jitter") {
		t.Fatalf("err %v attributes %v", err, tl.Attributes)
	}
}

func TestPanicInlineIsReraisedWithStack(t *testing.T) {
	var allowed, released atomic.Int64
	reg := budget.NewRegistry()
	reg.Register("count", countingBudget{allowed: &allowed, released: &released})
	exec := retry.NewExecutor(retry.ExecutorOptions{
		Budgets: reg,
		Provider: &controlplane.StaticProvider{Default: policy.EffectivePolicy{
			Retry: policy.RetryPolicy{Budget: policy.BudgetRef{Name: "count"}},
		}},
	})
	func() {
		defer func() {
			pe, ok := recover().(*retry.PanicError)
			if !ok || pe.Value != "kaboom" || !strings.Contains(string(pe.Stack), "executor_test") {
				t.Fatalf("recovered %#v", pe)
			}
		}()
		_ = exec.Do(context.Background(), key, func(context.Context) error { panic("kaboom") })
	}()
	if allowed.Load() != 1 || released.Load() != 1 {
		t.Fatalf("allowed %d released %d", allowed.Load(), released.Load())
	}
}

func TestPanicRecovered(t *testing.T) {
	exec := retry.NewExecutor(retry.ExecutorOptions{RecoverPanics: true})
	tl, err := exec.DoWithTimeline(context.Background(), key, func(context.Context) error { panic(errA) })
	var pe *retry.PanicError
	if !errors.As(err, &pe) || !errors.Is(err, errA) || tl.Attributes[observe.AttrStopReason] != retry.StopPanic {
		t.Fatalf("err %v attrs %v", err, tl.Attributes)
	}
}

func TestReleaseExactlyOnceOnEveryPath(t *testing.T) {
	paths := map[string]func(context.Context, context.CancelFunc) error{
		"success":   func(context.Context, context.CancelFunc) error { return nil },
		"failure":   func(context.Context, context.CancelFunc) error { return errA },
		"cancel":    func(_ context.Context, cancel context.CancelFunc) error { cancel(); return errA },
		"permanent": func(context.Context, context.CancelFunc) error { return errors.Join(errA) },
		"recovered": func(context.Context, context.CancelFunc) error { panic("x") },
	}
	for name, op := range paths {
		for _, conc := range []bool{false, true} {
			t.Run(fmt.Sprint(name, "/concurrent=", conc), func(t *testing.T) {
				var allowed, released atomic.Int64
				reg := budget.NewRegistry()
				reg.Register("count", countingBudget{allowed: &allowed, released: &released})
				exec := retry.NewExecutor(retry.ExecutorOptions{
					Budgets:       reg,
					RecoverPanics: true,
					Clock:         regotest.NewAutoClock(time.Time{}),
					Provider: &controlplane.StaticProvider{Default: policy.EffectivePolicy{
						Retry: policy.RetryPolicy{Budget: policy.BudgetRef{Name: "count"}},
					}},
				})
				retry.SetConcurrent(exec, conc)
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				_ = exec.Do(ctx, key, func(ctx context.Context) error { return op(ctx, cancel) })
				if allowed.Load() == 0 || allowed.Load() != released.Load() {
					t.Fatalf("allowed %d released %d", allowed.Load(), released.Load())
				}
			})
		}
	}
}

// orderObserver checks the callback contract: OnStart first, one
// OnAttempt per finished attempt, OnSuccess/OnFailure last.
type orderObserver struct {
	observe.BaseObserver
	mu     sync.Mutex
	events []string
}

func (o *orderObserver) add(s string) { o.mu.Lock(); o.events = append(o.events, s); o.mu.Unlock() }
func (o *orderObserver) OnStart(context.Context, policy.PolicyKey, policy.EffectivePolicy) {
	o.add("start")
}
func (o *orderObserver) OnAttempt(ctx context.Context, _ policy.PolicyKey, rec observe.AttemptRecord) {
	info, ok := observe.AttemptFromContext(ctx)
	if !ok || info.Attempt != rec.Attempt {
		o.add("bad-context")
	}
	o.add(fmt.Sprintf("attempt%d:%v", rec.Attempt, rec.Outcome.Kind))
}
func (o *orderObserver) OnSuccess(context.Context, policy.PolicyKey, observe.Timeline) {
	o.add("success")
}
func (o *orderObserver) OnFailure(context.Context, policy.PolicyKey, observe.Timeline) {
	o.add("failure")
}

func TestObserverOrder(t *testing.T) {
	obs := &orderObserver{}
	exec := retry.NewExecutor(retry.ExecutorOptions{
		Observer: observe.MultiObserver{Observers: []observe.Observer{nil, obs}},
		Clock:    regotest.NewAutoClock(time.Time{}),
	})
	n := 0
	_ = exec.Do(context.Background(), key, func(context.Context) error {
		n++
		if n < 2 {
			return errA
		}
		return nil
	})
	_ = exec.Do(context.Background(), key, func(context.Context) error { return errA })
	want := "[start attempt0:retryable attempt1:success success start attempt0:retryable attempt1:retryable attempt2:retryable failure]"
	if fmt.Sprint(obs.events) != want {
		t.Fatalf("events\n got %v\nwant %s", obs.events, want)
	}
}

func TestDiscardReceivesSupersededValues(t *testing.T) {
	exec := retry.NewExecutor(retry.ExecutorOptions{Clock: regotest.NewAutoClock(time.Time{})})
	var discarded []int
	n := 0
	v, _, err := retry.DoValueWith(context.Background(), exec, key, func(context.Context) (int, error) {
		n++
		if n < 3 {
			return n, errA
		}
		return 100, nil
	}, retry.CallOptions[int]{Discard: func(v int) { discarded = append(discarded, v) }})
	if err != nil || v != 100 || fmt.Sprint(discarded) != "[1 2]" {
		t.Fatalf("v %d err %v discarded %v", v, err, discarded)
	}
	discarded = nil
	v, _, err = retry.DoValueWith(context.Background(), exec, key, func(context.Context) (int, error) {
		n++
		return n, errA
	}, retry.CallOptions[int]{Discard: func(v int) { discarded = append(discarded, v) }})
	// On failure the last value is returned, the others discarded.
	if !errors.Is(err, errA) || v != 6 || fmt.Sprint(discarded) != "[4 5]" {
		t.Fatalf("v %d err %v discarded %v", v, err, discarded)
	}
}

func TestSingleAttempt(t *testing.T) {
	exec := retry.NewExecutor(retry.ExecutorOptions{Clock: regotest.NewAutoClock(time.Time{})})
	calls := 0
	_, tl, err := retry.DoValueWith(context.Background(), exec, key, func(context.Context) (int, error) {
		calls++
		return 0, errA
	}, retry.CallOptions[int]{SingleAttempt: true, Timeline: true})
	if calls != 1 || !errors.Is(err, errA) || tl.Attributes[observe.AttrSingleAttempt] != "true" {
		t.Fatalf("calls %d err %v attrs %v", calls, err, tl.Attributes)
	}
}

func TestDefaultExecutorZeroOptions(t *testing.T) {
	exec := retry.NewExecutor(retry.ExecutorOptions{})
	v, tl, err := retry.DoValueWithTimeline(context.Background(), exec, key, func(context.Context) (string, error) { return "ok", nil })
	if err != nil || v != "ok" || tl.Attributes[observe.AttrPolicySource] != "default" || tl.Key != key {
		t.Fatalf("v %q err %v tl %+v", v, err, tl)
	}
	if tl.End.Before(tl.Start) || tl.Attempts[0].EndTime.Before(tl.Attempts[0].StartTime) {
		t.Fatalf("times out of order: %+v", tl)
	}
}

func TestJitterIsDrawnFromTheInjectedSource(t *testing.T) {
	run := func(seed int64) []time.Duration {
		exec := retry.NewExecutor(retry.ExecutorOptions{Clock: regotest.NewAutoClock(time.Time{}), Rand: regotest.NewRand(seed)})
		tl, _ := exec.DoWithTimeline(context.Background(), key, func(context.Context) error { return errA })
		var out []time.Duration
		for _, r := range tl.Attempts {
			out = append(out, r.Backoff)
		}
		return out
	}
	a, b, c := run(1), run(1), run(2)
	if fmt.Sprint(a) != fmt.Sprint(b) || fmt.Sprint(a) == fmt.Sprint(c) {
		t.Fatalf("seed 1: %v, %v; seed 2: %v", a, b, c)
	}
	for _, d := range a[1:] {
		if d < 0 || d > policy.DefaultInitialBackoff*2 {
			t.Fatalf("full jitter wait %v out of range", d)
		}
	}
}

// refProvider serves one policy by reference, deliberately not normalised.
type refProvider struct{ p policy.EffectivePolicy }

func (r *refProvider) GetEffectivePolicy(context.Context, policy.PolicyKey) (policy.EffectivePolicy, error) {
	return r.p, nil
}

func (r *refProvider) GetEffectivePolicyRef(context.Context, policy.PolicyKey) (*policy.EffectivePolicy, error) {
	return &r.p, nil
}

func TestRefProviderPolicyIsNormalisedAndNeverModified(t *testing.T) {
	rp := &refProvider{p: policy.EffectivePolicy{Retry: policy.RetryPolicy{MaxAttempts: 99}, Meta: policy.Metadata{Source: policy.SourceStatic}}}
	exec := retry.NewExecutor(retry.ExecutorOptions{Provider: rp, Clock: regotest.NewAutoClock(time.Time{})})
	calls := 0
	_, tl, _ := retry.DoValueWith(context.Background(), exec, key, func(context.Context) (int, error) {
		calls++
		return 0, errA
	}, retry.CallOptions[int]{Timeline: true, SingleAttempt: true})
	if calls != 1 || rp.p.Retry.MaxAttempts != 99 || rp.p.Meta.Normalized {
		t.Fatalf("calls %d, provider's policy now %+v", calls, rp.p.Retry)
	}
	calls = 0
	tl, _ = exec.DoWithTimeline(context.Background(), key, func(context.Context) error { calls++; return errA })
	if calls != policy.MaxMaxAttempts || tl.Attributes[observe.AttrPolicyClampedFields] != "retry.max_attempts" {
		t.Fatalf("calls %d attrs %v", calls, tl.Attributes)
	}
}

func TestCallClassifierAndNoHedge(t *testing.T) {
	p := policy.EffectivePolicy{Hedge: policy.HedgePolicy{Enabled: true, Delay: time.Millisecond}}
	exec := retry.NewExecutor(retry.ExecutorOptions{
		Clock:    regotest.NewAutoClock(time.Time{}),
		Provider: &controlplane.StaticProvider{Default: p},
	})
	var concurrent atomic.Int32
	var maxConcurrent atomic.Int32
	calls := 0
	v, tl, err := retry.DoValueWith(context.Background(), exec, key, func(context.Context) (int, error) {
		n := concurrent.Add(1)
		defer concurrent.Add(-1)
		if n > maxConcurrent.Load() {
			maxConcurrent.Store(n)
		}
		calls++
		return calls, nil
	}, retry.CallOptions[int]{
		Timeline: true,
		NoHedge:  true,
		Classifier: classify.Func(func(v any, err error) classify.Outcome {
			if v.(int) < 2 {
				return classify.Outcome{Kind: classify.OutcomeRetryable, Reason: "too_small"}
			}
			return classify.Outcome{Kind: classify.OutcomeSuccess}
		}),
	})
	if err != nil || v != 2 || tl.Attempts[0].Outcome.Reason != "too_small" || maxConcurrent.Load() != 1 {
		t.Fatalf("v %d err %v records %+v max concurrent %d", v, err, tl.Attempts, maxConcurrent.Load())
	}
}
