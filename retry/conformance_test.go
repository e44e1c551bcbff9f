package retry_test

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aponysus/rego/budget"
	"github.com/aponysus/rego/circuit"
	"github.com/aponysus/rego/classify"
	"github.com/aponysus/rego/controlplane"
	"github.com/aponysus/rego/observe"
	"github.com/aponysus/rego/policy"
	"github.com/aponysus/rego/regotest"
	"github.com/aponysus/rego/retry"
)

var (
	errA = errors.New("attempt failed")
	key  = policy.ParseKey("svc.Method")
)

// scenario is one executor behaviour, run in both engine modes and through
// a driver of the stepped call API (retry.Begin).
type scenario struct {
	name   string
	policy policy.EffectivePolicy
	opts   func(*retry.ExecutorOptions)
	// setup, when set, configures the executor with state of its own for
	// each run (gates that count what happens to them), on the run's
	// clock; the function it returns checks that state after the call.
	setup func(o *retry.ExecutorOptions, clk *regotest.Clock) func(t *testing.T)
	ctx   func() (context.Context, context.CancelFunc)
	// op gets the attempt index (from AttemptFromContext) and the run's
	// environment.
	op func(ctx context.Context, attempt int, env *env) (int, error)

	wantVal      int
	wantErrIs    []error
	wantNoErr    bool
	wantCalls    int
	wantOutcomes []classify.OutcomeKind
	wantAllowed  []bool
	wantStop     string
	check        func(t *testing.T, tl observe.Timeline, err error)
}

// env is what a scenario's operation may act on.
type env struct {
	cancel context.CancelFunc // cancels the caller's context
	clk    *regotest.Clock
}

func failN(n int, val int) func(context.Context, int, *env) (int, error) {
	return func(_ context.Context, attempt int, _ *env) (int, error) {
		if attempt < n {
			return attempt, errA
		}
		return val, nil
	}
}

type denyAll struct{}

func (denyAll) AllowAttempt(context.Context, policy.PolicyKey, int, budget.AttemptKind, policy.BudgetRef) budget.Decision {
	return budget.Decision{Allowed: false, Reason: "closed"}
}

var scenarios = []scenario{
	{
		name:         "success first attempt",
		op:           failN(0, 7),
		wantVal:      7,
		wantNoErr:    true,
		wantCalls:    1,
		wantOutcomes: []classify.OutcomeKind{classify.OutcomeSuccess},
	},
	{
		name:         "two failures then success",
		op:           failN(2, 9),
		wantVal:      9,
		wantNoErr:    true,
		wantCalls:    3,
		wantOutcomes: []classify.OutcomeKind{classify.OutcomeRetryable, classify.OutcomeRetryable, classify.OutcomeSuccess},
	},
	{
		name:         "attempts exhausted returns last error and last value",
		policy:       policy.EffectivePolicy{Retry: policy.RetryPolicy{MaxAttempts: 4}},
		op:           failN(100, 0),
		wantVal:      3,
		wantErrIs:    []error{errA, retry.ErrAttemptsExhausted},
		wantCalls:    4,
		wantOutcomes: []classify.OutcomeKind{classify.OutcomeRetryable, classify.OutcomeRetryable, classify.OutcomeRetryable, classify.OutcomeRetryable},
		wantStop:     retry.StopAttemptsExhausted,
		check:        wantStopError(retry.StopAttemptsExhausted, 4),
	},
	{
		name: "permanent error is not retried",
		op: func(context.Context, int, *env) (int, error) {
			return 0, classify.Permanent(errA)
		},
		wantErrIs:    []error{errA},
		wantCalls:    1,
		wantOutcomes: []classify.OutcomeKind{classify.OutcomeNonRetryable},
		wantStop:     retry.StopNonRetryable,
		check:        wantStopError("", 0),
	},
	{
		name:   "named classifier judges values",
		policy: policy.EffectivePolicy{Retry: policy.RetryPolicy{ClassifierName: "odd-fails"}},
		opts: func(o *retry.ExecutorOptions) {
			o.Classifiers = classify.NewRegistry()
			o.Classifiers.Register("odd-fails", classify.Func(func(v any, err error) classify.Outcome {
				if v.(int)%2 == 1 {
					return classify.Outcome{Kind: classify.OutcomeRetryable, Reason: "odd"}
				}
				return classify.ClassifyError(err)
			}))
		},
		op: func(_ context.Context, attempt int, _ *env) (int, error) {
			return []int{1, 3, 4}[attempt], nil
		},
		wantVal:      4,
		wantNoErr:    true,
		wantCalls:    3,
		wantOutcomes: []classify.OutcomeKind{classify.OutcomeRetryable, classify.OutcomeRetryable, classify.OutcomeSuccess},
	},
	{
		name:   "value judged a failure yields an OutcomeError",
		policy: policy.EffectivePolicy{Retry: policy.RetryPolicy{MaxAttempts: 2, ClassifierName: "never"}},
		opts: func(o *retry.ExecutorOptions) {
			o.Classifiers = classify.NewRegistry()
			o.Classifiers.Register("never", classify.Func(func(any, error) classify.Outcome {
				return classify.Outcome{Kind: classify.OutcomeRetryable, Reason: "status_503"}
			}))
		},
		op:        func(_ context.Context, attempt int, _ *env) (int, error) { return 503, nil },
		wantVal:   503,
		wantCalls: 2,
		wantStop:  retry.StopAttemptsExhausted,
		check: func(t *testing.T, _ observe.Timeline, err error) {
			var oe *retry.OutcomeError
			if !errors.As(err, &oe) || oe.Outcome.Reason != "status_503" {
				t.Fatalf("err = %v, want OutcomeError with reason status_503", err)
			}
		},
	},
	{
		name:   "abort stops at once",
		policy: policy.EffectivePolicy{Retry: policy.RetryPolicy{ClassifierName: "abort"}},
		opts: func(o *retry.ExecutorOptions) {
			o.Classifiers = classify.NewRegistry()
			o.Classifiers.Register("abort", classify.Func(func(_ any, err error) classify.Outcome {
				if err != nil {
					return classify.Outcome{Kind: classify.OutcomeAbort, Reason: "fatal"}
				}
				return classify.Outcome{Kind: classify.OutcomeSuccess}
			}))
		},
		op:           failN(5, 0),
		wantErrIs:    []error{errA},
		wantCalls:    1,
		wantOutcomes: []classify.OutcomeKind{classify.OutcomeAbort},
		wantStop:     retry.StopAbort,
	},
	{
		name:   "missing classifier falls back to the default and says so",
		policy: policy.EffectivePolicy{Retry: policy.RetryPolicy{ClassifierName: "nope"}},
		op:     failN(1, 5), wantVal: 5, wantNoErr: true, wantCalls: 2,
		check: func(t *testing.T, tl observe.Timeline, _ error) {
			if tl.Attributes[observe.AttrClassifierMissing] != "nope" {
				t.Fatalf("attributes = %v", tl.Attributes)
			}
		},
	},
	{
		name:   "retry budget exhausted ends the call with the last operation error",
		policy: policy.EffectivePolicy{Retry: policy.RetryPolicy{Budget: policy.BudgetRef{Name: "empty"}}},
		opts: func(o *retry.ExecutorOptions) {
			o.Budgets = budget.NewRegistry()
			o.Budgets.Register("empty", budget.NewTokenBucketBudget(0, 0))
		},
		op:           failN(5, 0),
		wantErrIs:    []error{errA, budget.ErrDenied},
		wantCalls:    1,
		wantOutcomes: []classify.OutcomeKind{classify.OutcomeRetryable, classify.OutcomeUnknown},
		wantAllowed:  []bool{true, false},
		wantStop:     retry.StopBudgetDenied,
		check: func(t *testing.T, tl observe.Timeline, err error) {
			wantStopError(retry.StopBudgetDenied, 1)(t, tl, err)
			if r := tl.Attempts[1]; r.BudgetReason != "tokens_exhausted" || !errors.Is(r.Err, budget.ErrDenied) || r.Backoff <= 0 {
				t.Fatalf("denied record = %+v", r)
			}
			// The budget is asked before the wait: a denial costs no time.
			if !tl.End.Equal(tl.Start) {
				t.Fatalf("the call waited %v before being denied", tl.End.Sub(tl.Start))
			}
		},
	},
	{
		name:   "budget denying the first attempt returns a DeniedError",
		policy: policy.EffectivePolicy{Retry: policy.RetryPolicy{Budget: policy.BudgetRef{Name: "closed"}}},
		opts: func(o *retry.ExecutorOptions) {
			o.Budgets = budget.NewRegistry()
			o.Budgets.Register("closed", denyAll{})
		},
		op:          failN(0, 1),
		wantErrIs:   []error{budget.ErrDenied},
		wantCalls:   0,
		wantAllowed: []bool{false},
		wantStop:    retry.StopBudgetDenied,
	},
	{
		name: "an open circuit breaker fails the call without calling the operation",
		policy: policy.EffectivePolicy{Circuit: policy.CircuitPolicy{
			Enabled: true, FailureThreshold: 1, Cooldown: time.Minute,
		}},
		opts: func(o *retry.ExecutorOptions) {
			o.Breakers = circuit.NewRegistry()
			o.Breakers.For(key).Done(regotest.NewClock(time.Time{}).Now(),
				policy.CircuitPolicy{FailureThreshold: 1, Cooldown: time.Minute}, false, false)
		},
		op:          failN(0, 1),
		wantErrIs:   []error{circuit.ErrOpen},
		wantCalls:   0,
		wantAllowed: []bool{false},
		wantStop:    retry.StopCircuitOpen,
	},
	{
		name:   "a closed breaker counts every attempt's outcome",
		policy: policy.EffectivePolicy{Circuit: policy.CircuitPolicy{Enabled: true, FailureThreshold: 2, Cooldown: time.Minute}},
		op:     failN(5, 0), wantVal: 1, wantErrIs: []error{errA, circuit.ErrOpen}, wantCalls: 2,
		wantAllowed: []bool{true, true, false}, wantStop: retry.StopCircuitOpen,
		check: wantStopError(retry.StopCircuitOpen, 2),
	},
	{
		name:        "unknown budget fails open and says why",
		policy:      policy.EffectivePolicy{Retry: policy.RetryPolicy{Budget: policy.BudgetRef{Name: "ghost"}}},
		op:          failN(1, 2),
		wantVal:     2,
		wantNoErr:   true,
		wantCalls:   2,
		wantAllowed: []bool{true, true},
		check: func(t *testing.T, tl observe.Timeline, _ error) {
			for _, r := range tl.Attempts {
				if r.BudgetReason != budget.ReasonBudgetMissing {
					t.Fatalf("BudgetReason = %q", r.BudgetReason)
				}
			}
		},
	},
	{
		name: "context done before the first attempt: no call, ctx.Err()",
		ctx: func() (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			return ctx, cancel
		},
		op:        failN(0, 1),
		wantErrIs: []error{context.Canceled},
		wantCalls: 0,
		wantStop:  retry.StopContextDone,
	},
	{
		name: "context cancelled during an attempt stops the call",
		op: func(ctx context.Context, _ int, env *env) (int, error) {
			env.cancel()
			<-ctx.Done()
			return 0, ctx.Err()
		},
		wantErrIs: []error{context.Canceled},
		wantCalls: 1,
		wantStop:  retry.StopContextDone,
	},
	{
		name: "context cancelled after a failure keeps both errors visible",
		op: func(_ context.Context, _ int, env *env) (int, error) {
			env.cancel()
			return 0, errA
		},
		wantErrIs: []error{context.Canceled, errA},
		wantCalls: 1,
		wantStop:  retry.StopContextDone,
	},
	{
		name:   "per-attempt timeout is an ordinary retryable failure",
		policy: policy.EffectivePolicy{Retry: policy.RetryPolicy{TimeoutPerAttempt: 50 * time.Millisecond}},
		op: func(ctx context.Context, attempt int, env *env) (int, error) {
			if attempt < 2 {
				env.clk.Advance(time.Minute) // the attempt runs too long
				<-ctx.Done()
				return 0, ctx.Err()
			}
			return 3, nil
		},
		wantVal:      3,
		wantNoErr:    true,
		wantCalls:    3,
		wantOutcomes: []classify.OutcomeKind{classify.OutcomeRetryable, classify.OutcomeRetryable, classify.OutcomeSuccess},
		check: func(t *testing.T, tl observe.Timeline, _ error) {
			if !errors.Is(tl.Attempts[0].Err, context.DeadlineExceeded) {
				t.Fatalf("attempt 0 err = %v", tl.Attempts[0].Err)
			}
		},
	},
	{
		name:   "overall timeout ends the call",
		policy: policy.EffectivePolicy{Retry: policy.RetryPolicy{OverallTimeout: time.Second}},
		op: func(ctx context.Context, _ int, env *env) (int, error) {
			env.clk.Advance(2 * time.Second)
			<-ctx.Done()
			return 0, ctx.Err()
		},
		wantErrIs: []error{context.DeadlineExceeded},
		wantCalls: 1,
		wantStop:  retry.StopContextDone,
	},
	{
		name: "server-requested delay replaces the backoff",
		policy: policy.EffectivePolicy{Retry: policy.RetryPolicy{
			Jitter: policy.JitterNone, InitialBackoff: 10 * time.Millisecond,
		}},
		op: func(_ context.Context, attempt int, _ *env) (int, error) {
			if attempt == 0 {
				return 0, classify.RetryAfter(errA, 7*time.Second)
			}
			if attempt == 1 {
				return 0, errA
			}
			return 1, nil
		},
		wantVal: 1, wantNoErr: true, wantCalls: 3,
		check: func(t *testing.T, tl observe.Timeline, _ error) {
			got := []time.Duration{tl.Attempts[0].Backoff, tl.Attempts[1].Backoff, tl.Attempts[2].Backoff}
			want := []time.Duration{0, 7 * time.Second, 20 * time.Millisecond}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("backoffs = %v, want %v", got, want)
			}
		},
	},
	{
		name: "exponential backoff without jitter",
		policy: policy.EffectivePolicy{Retry: policy.RetryPolicy{
			MaxAttempts: 5, Jitter: policy.JitterNone, InitialBackoff: 100 * time.Millisecond,
			MaxBackoff: 300 * time.Millisecond,
		}},
		op:        failN(10, 0),
		wantVal:   4,
		wantErrIs: []error{errA},
		wantCalls: 5,
		wantStop:  retry.StopAttemptsExhausted,
		check: func(t *testing.T, tl observe.Timeline, _ error) {
			var got []time.Duration
			for _, r := range tl.Attempts {
				got = append(got, r.Backoff)
			}
			want := []time.Duration{0, 100 * time.Millisecond, 200 * time.Millisecond, 300 * time.Millisecond, 300 * time.Millisecond}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("backoffs = %v, want %v", got, want)
			}
		},
	},
	{
		name:   "a wait past the overall deadline stops the call early",
		policy: policy.EffectivePolicy{Retry: policy.RetryPolicy{OverallTimeout: 150 * time.Millisecond, Jitter: policy.JitterNone, InitialBackoff: time.Second}},
		op:     failN(10, 0), wantErrIs: []error{errA, retry.ErrDeadline}, wantCalls: 1, wantStop: retry.StopDeadline,
		check: wantStopError(retry.StopDeadline, 1),
	},
}

// wantStopError checks that err is a *retry.StopError with the given
// reason and attempt count; an empty reason wants no StopError.
func wantStopError(reason string, attempts int) func(*testing.T, observe.Timeline, error) {
	return func(t *testing.T, _ observe.Timeline, err error) {
		t.Helper()
		var se *retry.StopError
		if !errors.As(err, &se) {
			if reason != "" {
				t.Fatalf("err = %v, want a *retry.StopError", err)
			}
			return
		}
		if reason == "" || se.Reason != reason || se.Attempts != attempts || se.Error() != se.Err.Error() {
			t.Fatalf("StopError %+v, want reason %q after %d attempts", se, reason, attempts)
		}
	}
}

// scenarioExec returns an executor that runs sc in mode on clk (with the
// options mod changes, when not nil), the context of its call, and the
// check of the state its setup gave the executor.
func scenarioExec(sc scenario, mode string, clk *regotest.Clock, mod func(*retry.ExecutorOptions)) (*retry.Executor, context.Context, context.CancelFunc, func(*testing.T)) {
	opts := retry.ExecutorOptions{
		Clock: clk,
		Rand:  regotest.NewRand(1),
		Provider: &controlplane.StaticProvider{Policies: map[policy.PolicyKey]policy.EffectivePolicy{
			key: sc.policy,
		}},
	}
	if sc.opts != nil {
		sc.opts(&opts)
	}
	after := func(*testing.T) {}
	if sc.setup != nil {
		after = sc.setup(&opts, clk)
	}
	if mod != nil {
		mod(&opts)
	}
	exec := retry.NewExecutor(opts)
	retry.SetConcurrent(exec, mode == "concurrent")
	ctx, cancel := context.WithCancel(context.Background())
	if sc.ctx != nil {
		ctx, cancel = sc.ctx()
	}
	return exec, ctx, cancel, after
}

// runScenario runs sc on a fresh executor in the given mode and checks
// every expectation; it returns a digest of the results for comparing the
// two modes.
func runScenario(t *testing.T, sc scenario, mode string) string {
	t.Helper()
	clk := regotest.NewAutoClock(time.Time{})
	exec, ctx, cancel, after := scenarioExec(sc, mode, clk, nil)
	defer cancel()
	var calls atomic.Int32
	op := func(ctx context.Context) (int, error) {
		calls.Add(1)
		info, ok := observe.AttemptFromContext(ctx)
		if !ok {
			t.Error("AttemptFromContext: no info inside the attempt")
		}
		return sc.op(ctx, info.Attempt, &env{cancel: cancel, clk: clk})
	}
	var (
		v   int
		tl  observe.Timeline
		err error
	)
	if mode == "stepped" {
		v, tl, err = driveSteps(t, ctx, exec, clk, op)
	} else {
		v, tl, err = retry.DoValueWithTimeline(ctx, exec, key, op)
	}
	if sc.wantNoErr && err != nil {
		t.Fatalf("err = %v, want nil", err)
	}
	for _, target := range sc.wantErrIs {
		if !errors.Is(err, target) {
			t.Fatalf("err = %v, want errors.Is %v", err, target)
		}
	}
	if v != sc.wantVal {
		t.Errorf("value = %d, want %d", v, sc.wantVal)
	}
	if int(calls.Load()) != sc.wantCalls {
		t.Errorf("calls = %d, want %d", calls.Load(), sc.wantCalls)
	}
	if sc.wantOutcomes != nil {
		var got []classify.OutcomeKind
		for _, r := range tl.Attempts {
			got = append(got, r.Outcome.Kind)
		}
		if fmt.Sprint(got) != fmt.Sprint(sc.wantOutcomes) {
			t.Errorf("outcomes = %v, want %v", got, sc.wantOutcomes)
		}
	}
	if sc.wantAllowed != nil {
		var got []bool
		for _, r := range tl.Attempts {
			got = append(got, r.BudgetAllowed)
		}
		if fmt.Sprint(got) != fmt.Sprint(sc.wantAllowed) {
			t.Errorf("budget allowed = %v, want %v", got, sc.wantAllowed)
		}
	}
	if got := tl.Attributes[observe.AttrStopReason]; got != sc.wantStop {
		t.Errorf("stop_reason = %q, want %q", got, sc.wantStop)
	}
	if tl.Attributes[observe.AttrPolicySource] == "" {
		t.Errorf("policy_source missing: %v", tl.Attributes)
	}
	if (err == nil) != (tl.FinalErr == nil) {
		t.Errorf("FinalErr = %v, err = %v", tl.FinalErr, err)
	}
	for i, r := range tl.Attempts {
		if r.Attempt != i {
			t.Errorf("record %d has Attempt %d", i, r.Attempt)
		}
	}
	if sc.check != nil {
		sc.check(t, tl, err)
	}
	after(t)
	errText := fmt.Sprint(err)
	if pe := (*retry.PanicError)(nil); errors.As(err, &pe) {
		errText = fmt.Sprintf("panic in %s: %v", pe.Source, pe.Value) // the stack differs between modes
	}
	digest := fmt.Sprintf("v=%d err=%s calls=%d stop=%s", v, errText, calls.Load(), tl.Attributes[observe.AttrStopReason])
	for _, r := range tl.Attempts {
		digest += fmt.Sprintf(" [%d %v %v %v %v %q %q %+v]", r.Attempt, r.Outcome.Kind, r.Err, r.Backoff, r.BudgetAllowed, r.BudgetReason, r.CircuitReason, r.Gates)
	}
	return digest
}

// TestConformance runs every scenario inline and concurrently and demands
// identical results.
func TestConformance(t *testing.T) {
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			var inline, concurrent, stepped string
			t.Run("inline", func(t *testing.T) { inline = runScenario(t, sc, "inline") })
			t.Run("concurrent", func(t *testing.T) { concurrent = runScenario(t, sc, "concurrent") })
			t.Run("stepped", func(t *testing.T) { stepped = runScenario(t, sc, "stepped") })
			if inline != concurrent || inline != stepped {
				t.Errorf("modes differ:\ninline:     %s\nconcurrent: %s\nstepped:    %s", inline, concurrent, stepped)
			}
		})
	}
}

// driveSteps makes one call through retry.Begin, as a driver of its own
// would: attempts run in this goroutine, waits are timers of clk.
func driveSteps(t *testing.T, ctx context.Context, exec *retry.Executor, clk *regotest.Clock, op func(context.Context) (int, error)) (int, observe.Timeline, error) {
	k := retry.Begin(ctx, exec, key, retry.CallOptions[int]{})
	for {
		st := k.Next()
		switch st.Kind {
		case retry.StepLaunch:
			k.Launched()
			v, err, pv, stack := runAttempt(st.Ctx, op)
			if stack != nil {
				k.Panicked(st.Attempt, pv, stack)
				continue
			}
			k.Result(st.Attempt, v, err)
		case retry.StepSleep:
			timer := clk.NewTimer(st.Wait)
			select {
			case <-timer.C():
			case <-ctx.Done():
				timer.Stop()
			}
			k.Woke()
		case retry.StepAwait:
			// Attempts run to their end in this goroutine, and these
			// scenarios do not hedge: only the caller's end is awaited.
			if ctx.Err() == nil {
				t.Fatalf("StepAwait with nothing to wait for")
			}
			k.ContextDone()
		case retry.StepDone:
			return k.Outcome()
		}
	}
}

func runAttempt(ctx context.Context, op func(context.Context) (int, error)) (v int, err error, pv any, stack []byte) {
	defer func() {
		if r := recover(); r != nil {
			pv, stack = r, debug.Stack()
		}
	}()
	v, err = op(ctx)
	return v, err, nil, nil
}
