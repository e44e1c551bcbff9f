package retry_test

import (
	"context"
	"errors"
	"fmt"
	"github.com/aponysus/rego/admission"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aponysus/rego/budget"
	"github.com/aponysus/rego/circuit"
	"github.com/aponysus/rego/gate"
	"github.com/aponysus/rego/observe"
	"github.com/aponysus/rego/policy"
	"github.com/aponysus/rego/regotest"
	"github.com/aponysus/rego/retry"
)

// gateLog is what the test gates of one run saw, in order.
type gateLog struct {
	mu      sync.Mutex
	entries []string
}

func (l *gateLog) add(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.entries = append(l.entries, fmt.Sprintf(format, args...))
}

func (l *gateLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.entries, " ")
}

// testGate is a user gate for the conformance scenarios: it logs every
// admission and completion, and may wait, refuse or panic.
type testGate struct {
	name string
	log  *gateLog
	clk  *regotest.Clock
	wait time.Duration // made to wait this long (on clk) before admitting
	// retriesOnly makes only retries wait, and past the call's end: the
	// gate admits them anyway.
	retriesOnly bool
	refuse      func(a gate.Attempt) bool
	panics      bool
}

func (g *testGate) Admit(ctx context.Context, a gate.Attempt, now time.Time) (gate.Permit, error) {
	g.log.add("admit:%s:%d", g.name, a.Index)
	if g.panics {
		panic("gate " + g.name + " panicked")
	}
	if g.retriesOnly {
		if a.Launched > 0 {
			g.clk.Advance(g.wait)
		}
	} else if g.wait > 0 {
		t := g.clk.NewTimer(g.wait)
		select {
		case <-t.C():
		case <-ctx.Done():
			t.Stop()
		}
		if err := ctx.Err(); err != nil { // the call ended first
			return gate.Permit{Reason: "gave_up"}, err
		}
	}
	waited := g.clk.Now().Sub(now)
	if g.refuse != nil && g.refuse(a) {
		return gate.Permit{Reason: "full", Waited: waited}, &gate.RefusedError{Gate: g.name, Reason: "full"}
	}
	return gate.Permit{Reason: "admitted", Completer: g, Waited: waited}, nil
}

func (g *testGate) Complete(_ gate.Permit, r gate.Result) {
	g.log.add("done:%s:%d:%v", g.name, r.Attempt.Index, r.Verdict)
}

// withGates registers the named test gates (configured by mod) and names
// them, in order, in every policy of the run; the returned check compares
// the gates' log with want.
func withGates(names []string, mod func(g *testGate), want string) func(*retry.ExecutorOptions, *regotest.Clock) func(*testing.T) {
	return func(o *retry.ExecutorOptions, clk *regotest.Clock) func(*testing.T) {
		log := &gateLog{}
		o.Gates = gate.NewRegistry()
		for _, n := range names {
			g := &testGate{name: n, log: log, clk: clk}
			if mod != nil {
				mod(g)
			}
			o.Gates.Register(n, g)
		}
		return func(t *testing.T) {
			t.Helper()
			if got := log.String(); got != want {
				t.Errorf("gates saw\n  %s\nwant\n  %s", got, want)
			}
		}
	}
}

func gateRefs(names ...string) []policy.GateRef {
	var refs []policy.GateRef
	for _, n := range names {
		refs = append(refs, policy.GateRef{Name: n})
	}
	return refs
}

// decisions renders an attempt's gate decisions.
func decisions(rec observe.AttemptRecord) string {
	var parts []string
	for _, d := range rec.Gates {
		s := d.Gate + "=" + d.Reason
		if !d.Admitted {
			s += "!"
		}
		if d.Shadow {
			s += "(shadow)"
		}
		if d.Waited > 0 {
			s += "@" + d.Waited.String()
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, ",")
}

func wantDecisions(want ...string) func(*testing.T, observe.Timeline, error) {
	return func(t *testing.T, tl observe.Timeline, _ error) {
		t.Helper()
		var got []string
		for _, r := range tl.Attempts {
			got = append(got, decisions(r))
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("decisions %q, want %q", got, want)
		}
	}
}

func init() { scenarios = append(scenarios, gateScenarios...) }

var gateScenarios = []scenario{
	{
		name: "gates are asked in order (breaker, budget, user gates as listed) and completed in reverse",
		policy: policy.EffectivePolicy{
			Retry:   policy.RetryPolicy{Budget: policy.BudgetRef{Name: "unlimited"}},
			Circuit: policy.CircuitPolicy{Enabled: true},
			Gates:   gateRefs("second", "first"),
		},
		opts: func(o *retry.ExecutorOptions) {
			o.Budgets = budget.NewRegistry()
			o.Budgets.Register("unlimited", budget.UnlimitedBudget{})
		},
		setup:     withGates([]string{"first", "second"}, nil, "admit:second:0 admit:first:0 done:first:0:failed done:second:0:failed admit:second:1 admit:first:1 done:first:1:answered done:second:1:answered"),
		op:        failN(1, 5),
		wantVal:   5,
		wantNoErr: true, wantCalls: 2, wantAllowed: []bool{true, true},
		check: wantDecisions(
			"circuit=closed,budget=unlimited,second=admitted,first=admitted",
			"circuit=closed,budget=unlimited,second=admitted,first=admitted"),
	},
	{
		name:      "a gate may make an attempt wait, bounded by the call",
		policy:    policy.EffectivePolicy{Gates: gateRefs("queue")},
		setup:     withGates([]string{"queue"}, func(g *testGate) { g.wait = 30 * time.Millisecond }, "admit:queue:0 done:queue:0:answered"),
		op:        failN(0, 1),
		wantVal:   1,
		wantNoErr: true, wantCalls: 1,
		check: func(t *testing.T, tl observe.Timeline, err error) {
			wantDecisions("queue=admitted@30ms")(t, tl, err)
			if got := tl.Attempts[0].StartTime.Sub(tl.Start); got != 30*time.Millisecond {
				t.Fatalf("the attempt started %v after the call, want after the 30ms wait", got)
			}
		},
	},
	{
		name:   "a waiting gate ends with the call's deadline",
		policy: policy.EffectivePolicy{Retry: policy.RetryPolicy{OverallTimeout: 10 * time.Millisecond}, Gates: gateRefs("queue")},
		setup:  withGates([]string{"queue"}, func(g *testGate) { g.wait = time.Minute }, "admit:queue:0"),
		op:     failN(0, 1), wantErrIs: []error{context.DeadlineExceeded}, wantCalls: 0,
		wantAllowed: []bool{false}, wantStop: retry.StopContextDone,
		check: wantDecisions("queue=gave_up!"),
	},
	{
		name: "a backoff wait cut short completes the retry's permits, not run",
		policy: policy.EffectivePolicy{
			Retry: policy.RetryPolicy{OverallTimeout: 100 * time.Millisecond, Jitter: policy.JitterNone, InitialBackoff: 10 * time.Millisecond},
			Gates: gateRefs("slow"),
		},
		setup: withGates([]string{"slow"}, func(g *testGate) { g.wait, g.retriesOnly = time.Second, true },
			"admit:slow:0 done:slow:0:failed admit:slow:1 done:slow:1:not_run"),
		op:        failN(5, 0),
		wantErrIs: []error{errA, context.DeadlineExceeded},
		wantCalls: 1,
		wantStop:  retry.StopContextDone,
	},
	{
		name:   "a gate refusing after an earlier one admitted: the earlier permit is completed, not run",
		policy: policy.EffectivePolicy{Gates: gateRefs("open", "full")},
		setup: withGates([]string{"open", "full"}, func(g *testGate) {
			if g.name == "full" {
				g.refuse = func(gate.Attempt) bool { return true }
			}
		}, "admit:open:0 admit:full:0 done:open:0:not_run"),
		op:          failN(0, 1),
		wantErrIs:   []error{gate.ErrRefused},
		wantCalls:   0,
		wantAllowed: []bool{false},
		wantStop:    retry.StopGateRefused,
		check: func(t *testing.T, tl observe.Timeline, err error) {
			wantDecisions("open=admitted,full=full!")(t, tl, err)
			var re *gate.RefusedError
			if !errors.As(err, &re) || re.Gate != "full" {
				t.Fatalf("err = %v, want the gate's refusal", err)
			}
			if tl.Attempts[0].RefusedBy() != "full" || tl.Attempts[0].BudgetReason != budget.ReasonNoBudget {
				t.Fatalf("record %+v", tl.Attempts[0])
			}
		},
	},
	{
		name:   "a gate refusing a retry ends the call with the last error, matching the refusal",
		policy: policy.EffectivePolicy{Gates: gateRefs("second_only")},
		setup: withGates([]string{"second_only"}, func(g *testGate) {
			g.refuse = func(a gate.Attempt) bool { return a.Launched > 0 }
		}, "admit:second_only:0 done:second_only:0:failed admit:second_only:1"),
		op:          failN(5, 0),
		wantErrIs:   []error{errA, gate.ErrRefused},
		wantCalls:   1,
		wantAllowed: []bool{true, false},
		wantStop:    retry.StopGateRefused,
		check:       wantStopError(retry.StopGateRefused, 1),
	},
	{
		name:   "a gate that panics: a PanicError from the gate, earlier permits completed",
		policy: policy.EffectivePolicy{Gates: gateRefs("open", "boom")},
		opts:   func(o *retry.ExecutorOptions) { o.RecoverPanics = true },
		setup: withGates([]string{"open", "boom"}, func(g *testGate) { g.panics = g.name == "boom" },
			"admit:open:0 admit:boom:0 done:open:0:not_run"),
		op:        failN(0, 1),
		wantCalls: 0,
		wantStop:  retry.StopPanic,
		check: func(t *testing.T, _ observe.Timeline, err error) {
			var pe *retry.PanicError
			if !errors.As(err, &pe) || pe.Source != retry.SourceGate || pe.Attempt != 0 || pe.Value != "gate boom panicked" {
				t.Fatalf("err = %v", err)
			}
		},
	},
	{
		name:   "a gate in shadow mode is asked and recorded, and its refusal not enforced",
		policy: policy.EffectivePolicy{Gates: []policy.GateRef{{Name: "never", Shadow: true}}},
		setup: withGates([]string{"never"}, func(g *testGate) {
			g.refuse = func(gate.Attempt) bool { return true }
		}, "admit:never:0"),
		op:        failN(0, 1),
		wantVal:   1,
		wantNoErr: true, wantCalls: 1, wantAllowed: []bool{true},
		check: func(t *testing.T, tl observe.Timeline, err error) {
			wantDecisions("never=full!(shadow)")(t, tl, err)
			if tl.Attempts[0].RefusedBy() != "" {
				t.Fatalf("a shadow refusal counted as a refusal: %+v", tl.Attempts[0])
			}
		},
	},
	{
		name: "an open breaker in shadow mode lets the attempt run, recorded as a refusal it would have made",
		policy: policy.EffectivePolicy{Circuit: policy.CircuitPolicy{
			Enabled: true, FailureThreshold: 1, Cooldown: time.Minute, Shadow: true,
		}},
		opts: func(o *retry.ExecutorOptions) {
			o.Breakers = circuit.NewRegistry()
			o.Breakers.For(key).Done(regotest.NewClock(time.Time{}).Now(), policy.CircuitPolicy{FailureThreshold: 1, Cooldown: time.Minute}, false, false)
		},
		op:        failN(0, 1),
		wantVal:   1,
		wantNoErr: true, wantCalls: 1, wantAllowed: []bool{true},
		check: wantDecisions("circuit=open!(shadow)"),
	},
	{
		name:   "a budget in shadow mode: its denial is recorded, the retry runs",
		policy: policy.EffectivePolicy{Retry: policy.RetryPolicy{Budget: policy.BudgetRef{Name: "empty", Shadow: true}}},
		opts: func(o *retry.ExecutorOptions) {
			o.Budgets = budget.NewRegistry()
			o.Budgets.Register("empty", budget.NewTokenBucketBudget(0, 0))
		},
		op:        failN(1, 2),
		wantVal:   2,
		wantNoErr: true, wantCalls: 2, wantAllowed: []bool{true, true},
		check: func(t *testing.T, tl observe.Timeline, err error) {
			wantDecisions("budget=first_attempt(shadow)", "budget=tokens_exhausted!(shadow)")(t, tl, err)
			if tl.Attempts[1].BudgetReason != "tokens_exhausted" {
				t.Fatalf("record %+v", tl.Attempts[1])
			}
		},
	},
	{
		name:      "a gate the registry lacks is fail-open and recorded",
		policy:    policy.EffectivePolicy{Gates: gateRefs("ghost"), Bulkhead: policy.BulkheadPolicy{Enabled: true}},
		opts:      func(o *retry.ExecutorOptions) { o.Overload = &admission.Gates{} },
		op:        failN(0, 1),
		wantVal:   1,
		wantNoErr: true, wantCalls: 1, wantAllowed: []bool{true},
		check: wantDecisions("bulkhead=gate_not_configured,ghost=gate_not_found"),
	},
	{
		name: "the breaker's refusal is its own, not a budget denial",
		policy: policy.EffectivePolicy{
			Retry:   policy.RetryPolicy{Budget: policy.BudgetRef{Name: "unlimited"}},
			Circuit: policy.CircuitPolicy{Enabled: true, FailureThreshold: 1, Cooldown: time.Minute},
		},
		opts: func(o *retry.ExecutorOptions) {
			o.Budgets = budget.NewRegistry()
			o.Budgets.Register("unlimited", budget.UnlimitedBudget{})
		},
		op:          failN(5, 0),
		wantVal:     0,
		wantErrIs:   []error{errA, circuit.ErrOpen},
		wantCalls:   1,
		wantAllowed: []bool{true, false},
		wantStop:    retry.StopCircuitOpen,
		check: func(t *testing.T, tl observe.Timeline, err error) {
			wantDecisions("circuit=closed,budget=unlimited", "circuit=open!")(t, tl, err)
			r := tl.Attempts[1]
			if r.BudgetReason != "" || r.CircuitReason != circuit.ReasonOpen || r.RefusedBy() != gate.NameCircuit {
				t.Fatalf("refused record %+v", r)
			}
		},
	},
}

// The permits of hedges go through the same seam: a hedge's gates are
// asked (the hedge budget in place of the retry budget), and a losing
// hedge's permits are completed as cancelled.
func TestHedgeGoesThroughTheGates(t *testing.T) {
	clk := regotest.NewAutoClock(time.Time{})
	log := &gateLog{}
	reg := gate.NewRegistry()
	reg.Register("g", &testGate{name: "g", log: log, clk: clk})
	p := hedged(3, 1, 10*time.Millisecond)
	p.Gates = gateRefs("g")
	exec := hedgeExec(clk, p, func(o *retry.ExecutorOptions) { o.Gates = reg })
	hedgeStarted := make(chan struct{})
	res := <-goCall(exec, context.Background(), func(ctx context.Context) (string, error) {
		if info, _ := observe.AttemptFromContext(ctx); info.IsHedge {
			close(hedgeStarted)
			return "hedge", nil
		}
		<-hedgeStarted
		<-ctx.Done()
		return "", ctx.Err()
	}, nil)
	if res.err != nil || res.v != "hedge" {
		t.Fatalf("v %q err %v", res.v, res.err)
	}
	// The loser's permit may be completed after the call returned, from
	// its goroutine.
	want := "admit:g:0 admit:g:1 done:g:1:answered done:g:0:cancelled"
	deadline := time.Now().Add(10 * time.Second)
	for log.String() != want && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if got := log.String(); got != want {
		t.Fatalf("gates saw %s, want %s", got, want)
	}
	if d := decisions(res.tl.Attempts[1]); d != "g=admitted" {
		t.Fatalf("hedge decisions %q", d)
	}
}

// The criticality a caller puts in its context reaches the gates.
func TestGateSeesCriticality(t *testing.T) {
	var got gate.Criticality
	reg := gate.NewRegistry()
	reg.Register("crit", gate.Func(func(_ context.Context, a gate.Attempt, _ time.Time) (gate.Permit, error) {
		got = a.Criticality
		return gate.Permit{Reason: "admitted"}, nil
	}))
	exec := withPolicy(policy.EffectivePolicy{Gates: gateRefs("crit")}, retry.ExecutorOptions{Gates: reg})
	ctx := gate.WithCriticality(context.Background(), gate.CriticalitySheddable)
	if err := exec.Do(ctx, benchKey, func(context.Context) error { return nil }); err != nil || got != gate.CriticalitySheddable {
		t.Fatalf("err %v criticality %v", err, got)
	}
}

// A gate's uncontended admission, through the executor, costs no
// allocation: a call through one user gate (and through a breaker and a
// budget) allocates what a call without gates does.
func TestGatesAddNoAllocation(t *testing.T) {
	ctx := context.Background()
	allocs := func(exec *retry.Executor) float64 {
		return testing.AllocsPerRun(200, func() {
			if err := exec.Do(ctx, benchKey, succeed); err != nil {
				t.Fatal(err)
			}
		})
	}
	reg := budget.NewRegistry()
	reg.Register("retries", budget.NewTokenBucketBudget(100, 10))
	plain := allocs(withPolicy(policy.EffectivePolicy{}, retry.ExecutorOptions{}))
	user := allocs(userGateExec())
	builtin := allocs(withPolicy(policy.EffectivePolicy{
		Retry:   policy.RetryPolicy{Budget: policy.BudgetRef{Name: "retries"}},
		Circuit: policy.CircuitPolicy{Enabled: true},
	}, retry.ExecutorOptions{Budgets: reg}))
	if user != plain || builtin != plain {
		t.Fatalf("allocations per call: %v without gates, %v with a user gate, %v with a breaker and a budget", plain, user, builtin)
	}
}
