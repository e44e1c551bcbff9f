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

	"go.uber.org/goleak"

	"github.com/aponysus/rego/budget"
	"github.com/aponysus/rego/classify"
	"github.com/aponysus/rego/gate"
	"github.com/aponysus/rego/hedge"
	"github.com/aponysus/rego/observe"
	"github.com/aponysus/rego/policy"
	"github.com/aponysus/rego/regotest"
	"github.com/aponysus/rego/retry"
)

// hookKit is the user code of a hooks test: every kind of hook the
// executor calls, each able to panic on its nth call, and the bookkeeping
// that proves values and budget decisions are accounted for.
type hookKit struct {
	t        *testing.T
	panicIn  string // the hook that panics
	nth      int    // on its nth call
	failAll  bool   // every attempt fails (so that OnFailure is called)
	hedging  bool
	mu       sync.Mutex
	calls    map[string]int
	produced map[int]bool
	disc     map[int]int
	nextID   int
	allowed  atomic.Int64
	released atomic.Int64
	granted  atomic.Int64 // gate permits
	done     atomic.Int64
	running  sync.WaitGroup
	started  [2]chan struct{} // closed by the hedge of step i
	late     atomic.Int64     // EventLatePanic events seen
}

func newHookKit(t *testing.T, panicIn string, nth int, failAll, hedging bool) *hookKit {
	return &hookKit{
		t: t, panicIn: panicIn, nth: nth, failAll: failAll, hedging: hedging,
		calls: map[string]int{}, produced: map[int]bool{}, disc: map[int]int{},
		started: [2]chan struct{}{make(chan struct{}), make(chan struct{})},
	}
}

// maybePanic counts a call to hook and panics if it is the one chosen.
func (k *hookKit) maybePanic(hook string) {
	k.mu.Lock()
	k.calls[hook]++
	n := k.calls[hook]
	k.mu.Unlock()
	if hook == k.panicIn && n == k.nth {
		panic("injected in " + hook)
	}
}

func (k *hookKit) produce() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.nextID++
	k.produced[k.nextID] = true
	return k.nextID
}

func (k *hookKit) discard(v int) {
	k.mu.Lock()
	k.disc[v]++
	k.mu.Unlock()
	k.maybePanic("discard")
}

func (k *hookKit) op(ctx context.Context) (int, error) {
	k.running.Add(1)
	defer k.running.Done()
	info, _ := observe.AttemptFromContext(ctx)
	step := info.RetryIndex
	if k.hedging && step < 2 {
		if info.IsHedge {
			close(k.started[step])
			if step == 1 && !k.failAll {
				<-ctx.Done() // the loser of step 1
				return k.produce(), ctx.Err()
			}
			return k.produce(), errA
		}
		select {
		case <-k.started[step]:
		case <-ctx.Done():
			return k.produce(), ctx.Err()
		}
	}
	if step == 0 || k.failAll {
		return k.produce(), errA
	}
	k.maybePanic("operation") // a panicking attempt produces no value
	return k.produce(), nil
}

type hookBudget struct{ k *hookKit }

func (b hookBudget) AllowAttempt(context.Context, policy.PolicyKey, int, budget.AttemptKind, policy.BudgetRef) budget.Decision {
	b.k.maybePanic("budget.allow")
	b.k.allowed.Add(1)
	var once atomic.Bool
	return budget.Decision{Allowed: true, Reason: "ok", Release: func() {
		if !once.CompareAndSwap(false, true) {
			b.k.t.Error("a budget decision was released twice")
		}
		b.k.released.Add(1)
		b.k.maybePanic("budget.release")
	}}
}

func (b hookBudget) RecordOutcome(policy.PolicyKey, budget.AttemptKind, bool) {
	b.k.maybePanic("budget.record")
}

type hookObserver struct{ k *hookKit }

func (o hookObserver) OnStart(context.Context, policy.PolicyKey, policy.EffectivePolicy) {
	o.k.maybePanic("observer.OnStart")
}
func (o hookObserver) OnAttempt(context.Context, policy.PolicyKey, observe.AttemptRecord) {
	o.k.maybePanic("observer.OnAttempt")
}
func (o hookObserver) OnHedgeSpawn(context.Context, policy.PolicyKey, observe.AttemptRecord) {
	o.k.maybePanic("observer.OnHedgeSpawn")
}
func (o hookObserver) OnHedgeCancel(context.Context, policy.PolicyKey, observe.AttemptRecord, string) {
	o.k.maybePanic("observer.OnHedgeCancel")
}
func (o hookObserver) OnSuccess(context.Context, policy.PolicyKey, observe.Timeline) {
	o.k.maybePanic("observer.OnSuccess")
}
func (o hookObserver) OnFailure(context.Context, policy.PolicyKey, observe.Timeline) {
	o.k.maybePanic("observer.OnFailure")
}
func (o hookObserver) OnEvent(_ context.Context, ev observe.Event) {
	if ev.Kind == observe.EventLatePanic {
		o.k.late.Add(1)
	}
}

type hookGate struct{ k *hookKit }

func (g hookGate) Admit(context.Context, gate.Attempt, time.Time) (gate.Permit, error) {
	g.k.maybePanic("gate.admit")
	g.k.granted.Add(1)
	return gate.Permit{Reason: "admitted", Completer: g}, nil
}

func (g hookGate) Complete(gate.Permit, gate.Result) {
	g.k.done.Add(1)
	g.k.maybePanic("gate.complete")
}

type hookTrigger struct{ k *hookKit }

func (tr hookTrigger) Delay(in hedge.TriggerInput) (time.Duration, string, bool) {
	tr.k.maybePanic("trigger")
	return in.Policy.Delay, "fixed", true
}

type hookProvider struct {
	k *hookKit
	p policy.EffectivePolicy
}

func (p hookProvider) GetEffectivePolicy(context.Context, policy.PolicyKey) (policy.EffectivePolicy, error) {
	p.k.maybePanic("provider")
	return p.p, nil
}

// executor builds an executor whose every hook is the kit's.
func (k *hookKit) executor(recoverPanics bool) *retry.Executor {
	p := policy.EffectivePolicy{Retry: policy.RetryPolicy{
		MaxAttempts: 4, Jitter: policy.JitterNone, InitialBackoff: 10 * time.Millisecond,
		ClassifierName: "cls", Budget: policy.BudgetRef{Name: "b"},
	}, Gates: []policy.GateRef{{Name: "g"}}}
	if k.hedging {
		p.Hedge = policy.HedgePolicy{Enabled: true, MaxHedges: 1, Delay: 10 * time.Millisecond, Trigger: "trig", Budget: policy.BudgetRef{Name: "b"}}
	}
	budgets := budget.NewRegistry()
	budgets.Register("b", hookBudget{k})
	classifiers := classify.NewRegistry()
	classifiers.Register("cls", classify.Func(func(_ any, err error) classify.Outcome {
		k.maybePanic("classifier")
		return classify.ClassifyError(err)
	}))
	gates := gate.NewRegistry()
	gates.Register("g", hookGate{k})
	triggers := hedge.NewRegistry()
	triggers.Register("trig", hookTrigger{k})
	return retry.NewExecutor(retry.ExecutorOptions{
		Provider:      hookProvider{k, p},
		Observer:      hookObserver{k},
		Budgets:       budgets,
		Classifiers:   classifiers,
		HedgeTriggers: triggers,
		Gates:         gates,
		Clock:         regotest.NewAutoClock(time.Time{}),
		Rand:          regotest.NewRand(1),
		RecoverPanics: recoverPanics,
	})
}

// call runs one call and returns its value, error and what it panicked
// with.
func (k *hookKit) call(exec *retry.Executor) (v int, err error, raised any) {
	defer func() { raised = recover() }()
	v, _, err = retry.DoValueWith(context.Background(), exec, key, k.op, retry.CallOptions[int]{Discard: k.discard})
	return v, err, nil
}

// settled reports whether every value produced went to the caller or
// Discard and every budget decision was released.
func (k *hookKit) settled(returned int) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	n := len(k.disc)
	if returned != 0 {
		n++
	}
	return n == len(k.produced) && k.allowed.Load() == k.released.Load() && k.granted.Load() == k.done.Load()
}

// TestPanicInEveryHook makes each kind of user hook panic, in both engine
// modes, with and without RecoverPanics, and checks that the caller gets a
// *PanicError naming the hook, with the stack of the panic; that every
// value an attempt produced went to the caller or to Discard exactly once;
// that every budget decision was released and every gate permit
// completed, once; and that no goroutine is left.
func TestPanicInEveryHook(t *testing.T) {
	hooks := []struct {
		hook, source string
		nth          int
		failAll      bool
		hedgeOnly    bool
	}{
		{hook: "operation", source: retry.SourceOperation, nth: 1},
		{hook: "classifier", source: retry.SourceClassifier, nth: 2},
		{hook: "budget.allow", source: retry.SourceBudget, nth: 2},
		{hook: "budget.release", source: retry.SourceBudget, nth: 1},
		{hook: "budget.record", source: retry.SourceBudget, nth: 1},
		{hook: "observer.OnStart", source: retry.SourceObserver, nth: 1},
		{hook: "observer.OnAttempt", source: retry.SourceObserver, nth: 2},
		{hook: "observer.OnSuccess", source: retry.SourceObserver, nth: 1},
		{hook: "observer.OnFailure", source: retry.SourceObserver, nth: 1, failAll: true},
		{hook: "observer.OnHedgeSpawn", source: retry.SourceObserver, nth: 1, hedgeOnly: true},
		{hook: "observer.OnHedgeCancel", source: retry.SourceObserver, nth: 1, hedgeOnly: true},
		{hook: "trigger", source: retry.SourceTrigger, nth: 1, hedgeOnly: true},
		{hook: "discard", source: retry.SourceDiscard, nth: 1},
		{hook: "provider", source: retry.SourceProvider, nth: 1},
		{hook: "gate.admit", source: retry.SourceGate, nth: 2},
		{hook: "gate.complete", source: retry.SourceGate, nth: 1},
	}
	for _, h := range hooks {
		for _, hedging := range []bool{false, true} {
			if h.hedgeOnly && !hedging {
				continue
			}
			for _, rec := range []bool{false, true} {
				name := fmt.Sprintf("%s/hedging=%v/recover=%v", h.hook, hedging, rec)
				t.Run(name, func(t *testing.T) {
					k := newHookKit(t, h.hook, h.nth, h.failAll, hedging)
					v, err, raised := k.call(k.executor(rec))
					var pe *retry.PanicError
					if rec {
						if raised != nil {
							t.Fatalf("RecoverPanics: the call panicked with %v", raised)
						}
						if !errors.As(err, &pe) {
							t.Fatalf("err = %v, want a *PanicError", err)
						}
						if v != 0 {
							t.Errorf("a call ending in a panic returned value %d", v)
						}
					} else {
						var ok bool
						if pe, ok = raised.(*retry.PanicError); !ok {
							t.Fatalf("raised %#v (err %v), want a *PanicError", raised, err)
						}
					}
					if pe.Source != h.source || pe.Value != "injected in "+h.hook {
						t.Errorf("PanicError source %q value %v, want %q, %q", pe.Source, pe.Value, h.source, "injected in "+h.hook)
					}
					if !strings.Contains(string(pe.Stack), "maybePanic") {
						t.Errorf("the stack is not the panic's:\n%s", pe.Stack)
					}
					// Cancelled attempts return on their own; their values and
					// decisions may be settled from their goroutines.
					k.running.Wait()
					deadline := time.Now().Add(10 * time.Second)
					for !k.settled(v) && time.Now().Before(deadline) {
						time.Sleep(time.Millisecond)
					}
					k.mu.Lock()
					for id := range k.produced {
						n := k.disc[id]
						if id == v {
							n++
						}
						if n != 1 {
							t.Errorf("value %d reached the caller or Discard %d times, want once (discarded %v, returned %d, produced %d)", id, n, k.disc, v, len(k.produced))
						}
					}
					k.mu.Unlock()
					if a, r := k.allowed.Load(), k.released.Load(); a != r {
						t.Errorf("budget decisions: %d allowed, %d released", a, r)
					}
					if g, d := k.granted.Load(), k.done.Load(); g != d {
						t.Errorf("gate permits: %d granted, %d completed", g, d)
					}
					goleak.VerifyNone(t)
				})
			}
		}
	}
}
