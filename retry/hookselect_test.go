package retry_test

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/aponysus/rego/classify"
	"github.com/aponysus/rego/observe"
	"github.com/aponysus/rego/policy"
	"github.com/aponysus/rego/regotest"
	"github.com/aponysus/rego/retry"
)

// callLog is an observer that writes down every callback, records in
// full (times included).
type callLog struct {
	mu     sync.Mutex
	events []string
}

func (l *callLog) add(format string, args ...any) {
	l.mu.Lock()
	l.events = append(l.events, fmt.Sprintf(format, args...))
	l.mu.Unlock()
}

func (l *callLog) OnStart(_ context.Context, _ policy.PolicyKey, p policy.EffectivePolicy) {
	l.add("start %s", p.Key)
}
func (l *callLog) OnAttempt(_ context.Context, _ policy.PolicyKey, r observe.AttemptRecord) {
	l.add("attempt %+v", r)
}
func (l *callLog) OnHedgeSpawn(_ context.Context, _ policy.PolicyKey, r observe.AttemptRecord) {
	l.add("spawn %+v", r)
}
func (l *callLog) OnHedgeCancel(_ context.Context, _ policy.PolicyKey, r observe.AttemptRecord, reason string) {
	l.add("cancel %s %+v", reason, r)
}
func (l *callLog) OnSuccess(_ context.Context, _ policy.PolicyKey, tl observe.Timeline) {
	l.add("success %d records", len(tl.Attempts))
}
func (l *callLog) OnFailure(_ context.Context, _ policy.PolicyKey, tl observe.Timeline) {
	l.add("failure %d records", len(tl.Attempts))
}

// selectingCallLog is an callLog that says which callbacks it uses.
type selectingCallLog struct {
	callLog
	hooks observe.Hooks
}

func (l *selectingCallLog) ObserverHooks() observe.Hooks { return l.hooks }

// observedRun runs sc in mode (inline or concurrent) through DoValue, with
// obs as the executor's observer, and returns the sorted events it logged
// (sorted: attempts of the concurrent mode may report in either order).
func observedRun(t *testing.T, sc scenario, mode string, obs observe.Observer, log *callLog) []string {
	t.Helper()
	clk := regotest.NewAutoClock(time.Time{})
	exec, ctx, cancel, _ := scenarioExec(sc, mode, clk, func(o *retry.ExecutorOptions) { o.Observer = obs })
	defer cancel()
	op := func(ctx context.Context) (int, error) {
		info, _ := observe.AttemptFromContext(ctx)
		return sc.op(ctx, info.Attempt, &env{cancel: cancel, clk: clk})
	}
	func() {
		defer func() { _ = recover() }() // scenarios whose panic is re-raised
		_, _ = retry.DoValue(ctx, exec, key, op)
	}()
	log.mu.Lock()
	defer log.mu.Unlock()
	sort.Strings(log.events)
	return log.events
}

// An observer that selects some callbacks gets exactly the records an
// observer of every callback gets from them, on every conformance
// scenario and in both modes, although its calls keep no timeline.
func TestHookSelectorSameRecords(t *testing.T) {
	perAttempt := observe.HookAttempt | observe.HookHedgeSpawn | observe.HookHedgeCancel
	// Hedging: several attempts in flight, and cancelled ones.
	hedgeThen := func(hedgeErr error) func(context.Context, int, *env) (int, error) {
		return func(ctx context.Context, _ int, _ *env) (int, error) {
			if info, _ := observe.AttemptFromContext(ctx); info.IsHedge {
				return 5, hedgeErr
			}
			<-ctx.Done() // a slow primary
			return 0, ctx.Err()
		}
	}
	endOnPermanent := hedged(3, 1, 10*time.Millisecond)
	endOnPermanent.Hedge.CancelOnNonRetryable = true
	all := append([]scenario{
		{name: "hedge wins", policy: hedged(3, 1, 10*time.Millisecond), op: hedgeThen(nil)},
		{name: "hedge ends the call", policy: endOnPermanent, op: hedgeThen(classify.Permanent(errA))},
	}, scenarios...)
	for _, sc := range all {
		for _, mode := range []string{"inline", "concurrent"} {
			t.Run(sc.name+"/"+mode, func(t *testing.T) {
				full := &callLog{}
				want := observedRun(t, sc, mode, full, full)
				if sc.name[:5] == "hedge" && len(want) < 4 {
					t.Fatalf("hedging scenario logged %q", want)
				}
				var wantAttempts []string
				for _, ev := range want {
					if ev[:5] == "attem" || ev[:5] == "spawn" || ev[:5] == "cance" {
						wantAttempts = append(wantAttempts, ev)
					}
				}
				sel := &selectingCallLog{hooks: perAttempt}
				got := observedRun(t, sc, mode, sel, &sel.callLog)
				if fmt.Sprint(got) != fmt.Sprint(wantAttempts) {
					t.Errorf("selecting observer:\n got  %q\n want %q", got, wantAttempts)
				}
				start := &selectingCallLog{hooks: observe.HookStart}
				if got := observedRun(t, sc, mode, start, &start.callLog); len(want) > 0 && want[len(want)-1][:5] == "start" && (len(got) != 1 || got[0] != want[len(want)-1]) {
					t.Errorf("OnStart alone: got %q, want %q", got, want[len(want)-1])
				}
			})
		}
	}
}

// attemptCounter counts OnAttempt calls and nothing else.
type attemptCounter struct {
	observe.BaseObserver
	n int
}

func (c *attemptCounter) OnAttempt(context.Context, policy.PolicyKey, observe.AttemptRecord) { c.n++ }

type attemptCounterSelector struct{ attemptCounter }

func (*attemptCounterSelector) ObserverHooks() observe.Hooks { return observe.HookAttempt }

// A call whose observer selects OnAttempt alone builds no timeline: it
// allocates less than one whose observer may use every callback, and a
// call that asks for its timeline still gets it in full.
func TestHookSelectorSkipsTheTimeline(t *testing.T) {
	ctx := context.Background()
	failTwice := func() func(context.Context) error {
		n := 0
		return func(context.Context) error {
			n++
			if n%3 != 0 {
				return errA
			}
			return nil
		}
	}
	allocs := func(obs observe.Observer) float64 {
		exec := retry.NewExecutor(retry.ExecutorOptions{Clock: regotest.InstantClock{}, Observer: obs})
		op := failTwice()
		return testing.AllocsPerRun(50, func() { _ = exec.Do(ctx, key, op) })
	}
	full, sel := &attemptCounter{}, &attemptCounterSelector{}
	if a, b := allocs(full), allocs(sel); b >= a {
		t.Errorf("allocations: %v with OnAttempt selected, %v without: want fewer", b, a)
	}
	if full.n != sel.n || sel.n == 0 {
		t.Errorf("OnAttempt calls: %d selected, %d not", sel.n, full.n)
	}

	exec := retry.NewExecutor(retry.ExecutorOptions{Clock: regotest.InstantClock{}, Observer: &attemptCounterSelector{}})
	tl, err := exec.DoWithTimeline(ctx, key, failTwice())
	if err != nil || len(tl.Attempts) != 3 || tl.Attributes[observe.AttrPolicySource] == "" {
		t.Fatalf("DoWithTimeline: err %v, %d records, attributes %v", err, len(tl.Attempts), tl.Attributes)
	}
	for i, r := range tl.Attempts {
		if r.Attempt != i || r.StartTime.IsZero() || r.EndTime.Before(r.StartTime) {
			t.Errorf("record %d: %+v", i, r)
		}
	}
}
