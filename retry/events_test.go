package retry_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aponysus/rego/admission"
	"github.com/aponysus/rego/budget"
	"github.com/aponysus/rego/bulkhead"
	"github.com/aponysus/rego/circuit"
	"github.com/aponysus/rego/controlplane"
	"github.com/aponysus/rego/hedge"
	"github.com/aponysus/rego/observe"
	"github.com/aponysus/rego/policy"
	"github.com/aponysus/rego/regotest"
	"github.com/aponysus/rego/retry"
)

// eventLog records the lifecycle events of one kind.
type eventLog struct {
	observe.BaseObserver
	kind observe.EventKind
	mu   sync.Mutex
	evs  []observe.Event
}

func (o *eventLog) OnEvent(_ context.Context, ev observe.Event) {
	if ev.Kind != o.kind {
		return
	}
	o.mu.Lock()
	o.evs = append(o.evs, ev)
	o.mu.Unlock()
}

func (o *eventLog) events() []observe.Event {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]observe.Event(nil), o.evs...)
}

// A breaker that trips and recovers is heard as closed, open, half_open,
// closed: through the executor's own registry, and through a given one
// whose OnStateChange is nil.
func TestBreakerStateEvents(t *testing.T) {
	for _, given := range []bool{false, true} {
		t.Run(fmt.Sprint("given=", given), func(t *testing.T) {
			clk := regotest.NewClock(time.Time{})
			obs := &eventLog{kind: observe.EventBreakerState}
			cfg := policy.CircuitPolicy{Enabled: true, FailureThreshold: 2, Cooldown: time.Second}
			opts := retry.ExecutorOptions{
				Clock:    clk,
				Observer: obs,
				Provider: &controlplane.StaticProvider{Policies: map[policy.PolicyKey]policy.EffectivePolicy{key: {
					Retry: policy.RetryPolicy{MaxAttempts: 1}, Circuit: cfg,
				}}},
			}
			if given {
				opts.Breakers = circuit.NewRegistry()
			}
			exec := retry.NewExecutor(opts)
			ctx := context.Background()
			for i := 0; i < 2; i++ {
				if err := exec.Do(ctx, key, func(context.Context) error { return errA }); !errors.Is(err, errA) {
					t.Fatalf("failure %d: %v", i, err)
				}
			}
			if err := exec.Do(ctx, key, func(context.Context) error { return nil }); !errors.Is(err, circuit.ErrOpen) {
				t.Fatalf("not open: %v", err)
			}
			clk.Advance(time.Second)
			if err := exec.Do(ctx, key, func(context.Context) error { return nil }); err != nil {
				t.Fatalf("probe: %v", err)
			}
			var got []string
			for _, ev := range obs.events() {
				if ev.Key != key || ev.Detail == "" {
					t.Fatalf("event %+v", ev)
				}
				got = append(got, ev.From+">"+ev.To)
			}
			if want := "[closed>open open>half_open half_open>closed]"; fmt.Sprint(got) != want {
				t.Fatalf("transitions %v, want %s", got, want)
			}
		})
	}
}

// A registry's own OnStateChange is kept: the executor does not replace it.
func TestBreakerHookOfGivenRegistryKept(t *testing.T) {
	var mine atomic.Int32
	reg := &circuit.Registry{OnStateChange: func(circuit.StateChange) { mine.Add(1) }}
	obs := &eventLog{kind: observe.EventBreakerState}
	exec := retry.NewExecutor(retry.ExecutorOptions{
		Clock:    regotest.NewClock(time.Time{}),
		Observer: obs,
		Breakers: reg,
		Provider: &controlplane.StaticProvider{Policies: map[policy.PolicyKey]policy.EffectivePolicy{key: {
			Retry:   policy.RetryPolicy{MaxAttempts: 1},
			Circuit: policy.CircuitPolicy{Enabled: true, FailureThreshold: 1, Cooldown: time.Second},
		}}},
	})
	if err := exec.Do(context.Background(), key, func(context.Context) error { return errA }); !errors.Is(err, errA) {
		t.Fatal(err)
	}
	if mine.Load() != 1 || len(obs.events()) != 0 {
		t.Fatalf("own hook %d, executor events %d", mine.Load(), len(obs.events()))
	}
}

// With one key per registry, the other keys overflow: each registry
// reports its 1st, 2nd, 4th and 8th overflow, naming itself and the key.
func TestKeyOverflowEvents(t *testing.T) {
	clk := regotest.NewClock(time.Time{})
	obs := &eventLog{kind: observe.EventKeyOverflow}
	exec := retry.NewExecutor(retry.ExecutorOptions{
		Clock:    clk,
		Observer: obs,
		Provider: &controlplane.StaticProvider{Default: policy.EffectivePolicy{
			Retry:    policy.RetryPolicy{MaxAttempts: 1},
			Circuit:  policy.CircuitPolicy{Enabled: true, FailureThreshold: 5, Cooldown: time.Second},
			Bulkhead: policy.BulkheadPolicy{Enabled: true, MaxConcurrent: 10},
			Hedge:    policy.HedgePolicy{Enabled: true, MaxHedges: 1, Delay: time.Second, Trigger: "p99"},
		}},
		Breakers:  &circuit.Registry{MaxKeys: 1},
		Overload:  &admission.Gates{Bulkhead: &bulkhead.Registry{MaxKeys: 1, Clock: clk}},
		Latencies: hedge.NewLatencies(hedge.LatenciesOptions{MaxKeys: 1, Tracker: hedge.TrackerOptions{Clock: clk}}),
	})
	for i := 0; i < 10; i++ {
		k := policy.PolicyKey{Namespace: "svc", Name: fmt.Sprint("k", i)}
		if err := exec.Do(context.Background(), k, func(context.Context) error { return nil }); err != nil {
			t.Fatal(err)
		}
	}
	got := map[string][]string{}
	for _, ev := range obs.events() {
		got[ev.Detail] = append(got[ev.Detail], ev.Key.Name)
	}
	want := "[k1 k2 k4 k8]"
	for _, reg := range []string{"circuit", "bulkhead", retry.OverflowLatencies} {
		if fmt.Sprint(got[reg]) != want {
			t.Errorf("%s: overflows of %v, want %s", reg, got[reg], want)
		}
	}
	if len(got) != 3 {
		t.Errorf("events of registries %v", got)
	}
}

// budgetEventExec is an executor on clk whose key makes maxAttempts
// attempts under budget b, registered as name; obs hears its exhaustion
// events.
func budgetEventExec(clk *regotest.Clock, obs *eventLog, name string, b budget.Budget, maxAttempts int) *retry.Executor {
	budgets := budget.NewRegistry()
	budgets.Register(name, b)
	return retry.NewExecutor(retry.ExecutorOptions{
		Clock:    clk,
		Observer: obs,
		Budgets:  budgets,
		Provider: &controlplane.StaticProvider{Policies: map[policy.PolicyKey]policy.EffectivePolicy{key: {
			Retry: policy.RetryPolicy{MaxAttempts: maxAttempts, InitialBackoff: time.Millisecond, MaxBackoff: time.Millisecond, Budget: policy.BudgetRef{Name: name}},
		}}},
	})
}

// A token bucket running dry is heard once, not on every denial.
func TestBudgetExhaustedOnce(t *testing.T) {
	clk := regotest.NewAutoClock(time.Time{})
	obs := &eventLog{kind: observe.EventBudgetExhausted}
	exec := budgetEventExec(clk, obs, "retries", budget.NewTokenBucketBudgetClock(1, 0, clk), 3)
	fail := func(context.Context) error { return errA }
	// The first retry takes the token, the second is denied; the next
	// call's first retry is denied again.
	for i := 0; i < 2; i++ {
		if err := exec.Do(context.Background(), key, fail); !errors.Is(err, errA) {
			t.Fatalf("call %d: %v", i, err)
		}
		if evs := obs.events(); len(evs) != 1 || evs[0].Key != key || evs[0].Detail != "retries" {
			t.Fatalf("after call %d: events %+v", i, evs)
		}
	}
}

// toggleBudget allows attempts while allow is set.
type toggleBudget struct{ allow atomic.Bool }

func (b *toggleBudget) AllowAttempt(_ context.Context, _ policy.PolicyKey, idx int, kind budget.AttemptKind, _ policy.BudgetRef) budget.Decision {
	if (idx == 0 && kind == budget.KindRetry) || b.allow.Load() {
		return budget.Decision{Allowed: true, Reason: "ok"}
	}
	return budget.Decision{Reason: "dry"}
}

// A budget that allows attempts again and then denies them is exhausted
// again.
func TestBudgetExhaustedAgainAfterAllowing(t *testing.T) {
	clk := regotest.NewAutoClock(time.Time{})
	obs := &eventLog{kind: observe.EventBudgetExhausted}
	b := &toggleBudget{}
	exec := budgetEventExec(clk, obs, "toggle", b, 2)
	fail := func(context.Context) error { return errA }
	for i, allow := range []bool{false, false, true, false, false} {
		b.allow.Store(allow)
		_ = exec.Do(context.Background(), key, fail)
		if want := []int{1, 1, 1, 2, 2}[i]; len(obs.events()) != want {
			t.Fatalf("call %d (allow %v): %d events, want %d", i, allow, len(obs.events()), want)
		}
	}
}

// panicObserver panics on every lifecycle event.
type panicObserver struct {
	observe.BaseObserver
	n atomic.Int32
}

func (o *panicObserver) OnEvent(context.Context, observe.Event) {
	o.n.Add(1)
	panic("observer boom")
}

// An observer that panics on lifecycle events breaks no call: the breaker
// still trips and recovers, overflows and exhaustion still pass.
func TestPanickingEventObserver(t *testing.T) {
	clk := regotest.NewClock(time.Time{})
	obs := &panicObserver{}
	budgets := budget.NewRegistry()
	budgets.Register("none", budget.NewTokenBucketBudgetClock(0, 0, clk))
	exec := retry.NewExecutor(retry.ExecutorOptions{
		Clock:    clk,
		Observer: obs,
		Budgets:  budgets,
		Breakers: &circuit.Registry{MaxKeys: 1},
		Provider: &controlplane.StaticProvider{Default: policy.EffectivePolicy{
			Retry:   policy.RetryPolicy{MaxAttempts: 2, Budget: policy.BudgetRef{Name: "none"}},
			Circuit: policy.CircuitPolicy{Enabled: true, FailureThreshold: 1, Cooldown: time.Second},
		}},
	})
	ctx := context.Background()
	if err := exec.Do(ctx, key, func(context.Context) error { return errA }); !errors.Is(err, errA) {
		t.Fatalf("failure: %v", err)
	}
	if err := exec.Do(ctx, key, func(context.Context) error { return nil }); !errors.Is(err, circuit.ErrOpen) {
		t.Fatalf("not open: %v", err)
	}
	clk.Advance(time.Second)
	if err := exec.Do(ctx, key, func(context.Context) error { return nil }); err != nil {
		t.Fatalf("probe: %v", err)
	}
	other := policy.PolicyKey{Namespace: "svc", Name: "other"}
	// The key without a breaker fails and its retry is denied.
	if err := exec.Do(ctx, other, func(context.Context) error { return errA }); !errors.Is(err, errA) {
		t.Fatalf("overflowed key: %v", err)
	}
	// open, half_open, closed, the budget's exhaustion and the overflow.
	if n := obs.n.Load(); n != 5 {
		t.Fatalf("observer called %d times", n)
	}
}
