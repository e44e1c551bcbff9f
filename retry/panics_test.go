package retry_test

import (
	"context"
	"errors"
	"runtime"
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

// bothModes runs f with the engine inline and on goroutines.
func bothModes(t *testing.T, f func(t *testing.T, concurrent bool)) {
	t.Run("inline", func(t *testing.T) { f(t, false) })
	t.Run("concurrent", func(t *testing.T) { f(t, true) })
}

// The minimal reproduction: a classifier's panic reached the caller as the
// raw value, not as a *PanicError.
func TestClassifierPanicIsPanicError(t *testing.T) {
	bothModes(t, func(t *testing.T, concurrent bool) {
		cls := classify.NewRegistry()
		cls.Register("boom", classify.Func(func(any, error) classify.Outcome { panic("classifier boom") }))
		exec := retry.NewExecutor(retry.ExecutorOptions{
			Classifiers: cls,
			Provider: &controlplane.StaticProvider{Default: policy.EffectivePolicy{
				Retry: policy.RetryPolicy{ClassifierName: "boom"},
			}},
		})
		retry.SetConcurrent(exec, concurrent)
		defer func() {
			pe, ok := recover().(*retry.PanicError)
			if !ok || pe.Source != retry.SourceClassifier || pe.Attempt != 0 || pe.Value != "classifier boom" || len(pe.Stack) == 0 {
				t.Fatalf("recovered %#v", pe)
			}
		}()
		_ = exec.Do(context.Background(), key, func(context.Context) error { return nil })
	})
}

type panicBudget struct{}

func (panicBudget) AllowAttempt(_ context.Context, _ policy.PolicyKey, _ int, kind budget.AttemptKind, _ policy.BudgetRef) budget.Decision {
	panic("budget boom")
}

// A hedge budget's panic, reached through the concurrent mode only.
func TestHedgeBudgetPanicIsPanicError(t *testing.T) {
	reg := budget.NewRegistry()
	reg.Register("boom", panicBudget{})
	p := hedged(3, 1, 10*time.Millisecond)
	p.Hedge.Budget = policy.BudgetRef{Name: "boom"}
	exec := hedgeExec(regotest.NewAutoClock(time.Time{}), p, func(o *retry.ExecutorOptions) {
		o.Budgets = reg
		o.RecoverPanics = true
	})
	_, err := retry.DoValue(context.Background(), exec, key, func(ctx context.Context) (string, error) {
		<-ctx.Done() // the primary waits for the hedge, which never launches
		return "", ctx.Err()
	})
	var pe *retry.PanicError
	if !errors.As(err, &pe) || pe.Source != retry.SourceBudget || pe.Attempt != 1 {
		t.Fatalf("err = %v", err)
	}
}

// The minimal reproduction: an earlier attempt's value (with its error)
// was neither returned nor discarded when a later hedge panicked.
func TestEarlierValueDiscardedWhenHedgePanics(t *testing.T) {
	var mu sync.Mutex
	var discarded []string
	exec := hedgeExec(regotest.NewAutoClock(time.Time{}), hedged(3, 1, 10*time.Millisecond), nil)
	hedgeStarted := make(chan struct{})
	primaryDone := make(chan struct{})
	func() {
		defer func() {
			if _, ok := recover().(*retry.PanicError); !ok {
				t.Fatal("no *PanicError raised")
			}
		}()
		_, _, _ = retry.DoValueWith(context.Background(), exec, key, func(ctx context.Context) (string, error) {
			info, _ := observe.AttemptFromContext(ctx)
			if info.IsHedge {
				close(hedgeStarted)
				<-primaryDone
				panic("hedge boom")
			}
			<-hedgeStarted
			defer close(primaryDone)
			return "body-0", errA
		}, retry.CallOptions[string]{Discard: func(v string) {
			mu.Lock()
			discarded = append(discarded, v)
			mu.Unlock()
		}})
	}()
	mu.Lock()
	defer mu.Unlock()
	if len(discarded) != 1 || discarded[0] != "body-0" {
		t.Fatalf("discarded %v, want [body-0]", discarded)
	}
}

// The minimal reproduction: a cancelled loser's budget decision was still
// held when the caller recovered the panic, because the loser took a
// moment to honour its cancellation.
func TestPanicRaisedAfterCancelledAttemptsReleased(t *testing.T) {
	for i := 0; i < 10; i++ {
		var allowed, released atomic.Int64
		reg := budget.NewRegistry()
		reg.Register("count", countingBudget{allowed: &allowed, released: &released})
		p := hedged(3, 1, 10*time.Millisecond)
		p.Retry.Budget = policy.BudgetRef{Name: "count"}
		p.Hedge.Budget = policy.BudgetRef{Name: "count"}
		exec := hedgeExec(regotest.NewAutoClock(time.Time{}), p, func(o *retry.ExecutorOptions) { o.Budgets = reg })
		started := make(chan struct{})
		func() {
			defer func() { _ = recover() }()
			_, _ = retry.DoValue(context.Background(), exec, key, func(ctx context.Context) (string, error) {
				info, _ := observe.AttemptFromContext(ctx)
				if info.IsHedge {
					close(started)
					panic("hedge boom")
				}
				<-started
				<-ctx.Done()
				for j := 0; j < 1000; j++ { // slow to honour the cancellation
					runtime.Gosched()
				}
				return "", ctx.Err()
			})
		}()
		if a, r := allowed.Load(), released.Load(); a != 2 || r != 2 {
			t.Fatalf("call %d: when the caller recovered, %d decisions were allowed and %d released", i, a, r)
		}
	}
}

// lateObserver collects late panics.
type lateObserver struct {
	observe.BaseObserver
	ch chan observe.Event
}

func (o *lateObserver) OnEvent(_ context.Context, ev observe.Event) {
	if ev.Kind == observe.EventLatePanic {
		o.ch <- ev
	}
}

// A loser that panics after the call returned, and one that panics as it
// is cancelled for losing (its panic races the winner's success), are
// reported: an EventLatePanic and the executor's LatePanics count.
func TestLatePanicIsReported(t *testing.T) {
	for _, afterReturn := range []bool{true, false} {
		obs := &lateObserver{ch: make(chan observe.Event, 4)}
		exec := hedgeExec(regotest.NewAutoClock(time.Time{}), hedged(3, 1, 10*time.Millisecond), func(o *retry.ExecutorOptions) {
			o.Observer = obs
		})
		returned := make(chan struct{})
		hedgeStarted := make(chan struct{})
		v, err := retry.DoValue(context.Background(), exec, key, func(ctx context.Context) (string, error) {
			info, _ := observe.AttemptFromContext(ctx)
			if info.IsHedge {
				close(hedgeStarted)
				return "hedge", nil
			}
			<-hedgeStarted
			if afterReturn {
				<-returned
			} else {
				<-ctx.Done()
			}
			panic("loser boom")
		})
		close(returned)
		if err != nil || v != "hedge" {
			t.Fatalf("v %q err %v", v, err)
		}
		ev := <-obs.ch
		var pe *retry.PanicError
		if !errors.As(ev.Err, &pe) || pe.Source != retry.SourceOperation || pe.Value != "loser boom" || ev.Key != key || ev.Detail != retry.SourceOperation {
			t.Fatalf("event %+v", ev)
		}
		if n := exec.LatePanics(); n != 1 {
			t.Fatalf("LatePanics = %d", n)
		}
	}
}

// versionedProvider serves policies without a version in their Meta, and
// the document's version through controlplane.Versioned.
type versionedProvider struct{ controlplane.StaticProvider }

func (*versionedProvider) Version() string { return "v42" }

func TestVersionedProviderVersionIsRecorded(t *testing.T) {
	exec := retry.NewExecutor(retry.ExecutorOptions{Provider: &versionedProvider{}})
	tl, err := exec.DoWithTimeline(context.Background(), key, func(context.Context) error { return nil })
	if err != nil || tl.Attributes[observe.AttrPolicyVersion] != "v42" {
		t.Fatalf("err %v attributes %v", err, tl.Attributes)
	}
}

// panicClock panics from its first Now once armed (once: the cleanup
// reads it too): a panic raised by the executor's own code, outside every
// hook.
type panicClock struct {
	*regotest.Clock
	armed atomic.Bool
}

func (c *panicClock) Now() time.Time {
	if c.armed.CompareAndSwap(true, false) {
		panic("clock boom")
	}
	return c.Clock.Now()
}

// A panic between hooks is the executor's: it used to be blamed on the
// last hook the engine had called (the provider, here).
func TestExecutorPanicBetweenHooksIsExecutors(t *testing.T) {
	bothModes(t, func(t *testing.T, concurrent bool) {
		clk := &panicClock{Clock: regotest.NewClock(time.Time{})}
		prov := providerFunc(func(context.Context, policy.PolicyKey) (policy.EffectivePolicy, error) {
			clk.armed.Store(true) // the executor's next clock reading panics
			return policy.EffectivePolicy{Retry: policy.RetryPolicy{MaxAttempts: 1}}, nil
		})
		exec := retry.NewExecutor(retry.ExecutorOptions{Clock: clk, Provider: prov, RecoverPanics: true})
		retry.SetConcurrent(exec, concurrent)
		_, err := exec.DoWithTimeline(context.Background(), key, func(context.Context) error { return nil })
		var pe *retry.PanicError
		if !errors.As(err, &pe) || pe.Source != retry.SourceExecutor || pe.Attempt != -1 || pe.Value != "clock boom" {
			t.Fatalf("err = %v (%#v)", err, pe)
		}
	})
}

type providerFunc func(context.Context, policy.PolicyKey) (policy.EffectivePolicy, error)

func (f providerFunc) GetEffectivePolicy(ctx context.Context, k policy.PolicyKey) (policy.EffectivePolicy, error) {
	return f(ctx, k)
}
