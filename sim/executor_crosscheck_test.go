package sim_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aponysus/rego/budget"
	"github.com/aponysus/rego/classify"
	"github.com/aponysus/rego/clock"
	"github.com/aponysus/rego/controlplane"
	"github.com/aponysus/rego/observe"
	"github.com/aponysus/rego/policy"
	"github.com/aponysus/rego/retry"
	"github.com/aponysus/rego/sim"
)

// The cross-check runs one scenario twice, through the blocking executor
// (retry.DoValueWith, on a stepClock) and through the simulator (a
// sim.Client driving retry.Begin on the event queue), and demands the same
// records: every field of every attempt record that is a function of the
// events and their virtual times (index, start, end, backoff, outcome,
// error text, hedge fields, budget and gate decisions, cancellation), each
// call's start, end, stop reason, final error text and value. The
// published results (docs/load-safety.md, docs/hedging.md) come from the
// simulator: this is where it is held to the executor that users run.
//
// A scenario is xcCalls calls, one at a time, the i-th starting at
// i*xcPeriod (long enough for any call to end first), on one executor per
// side configured alike (its breakers, budgets and jitter stream carry
// over from call to call), against a downstream whose answer to an
// attempt, and the time it takes, are fixed functions of the attempt's
// global index, so both sides see the same answers whatever else differs.
// In the simulator the downstream is a Backend that answers after the
// latency; in the executor it is an operation that waits the latency on
// the clock, or returns when its context ends, as an operation honouring
// its context must.
const (
	xcPeriod = 500 * time.Millisecond
	xcSeed   = 11
)

// xcCalls is how many calls a scenario makes; fewer under the race
// detector, which slows the stepClock's waits for quiescence.
var xcCalls = func() int {
	if raceEnabled {
		return 40
	}
	return 150
}()

var xcKey = policy.ParseKey("crosscheck.Call")

// xcMix is a deterministic hash of (seed, g) to [0, 1): a seeded "random"
// choice that both sides compute identically, without sharing a stream.
func xcMix(seed uint64, g int) float64 {
	z := seed + uint64(g)*0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	z ^= z >> 31
	return float64(z>>11) / (1 << 53)
}

// xcDownstream answers the attempt with global index g, after a latency.
type xcDownstream func(g int) (sim.Answer, time.Duration)

// xcFailing fails attempts for which fails says so, retryably, and
// answers after latencies spread over [lo, hi) (nanosecond-grained, so
// that an answer never ties with a timer).
func xcFailing(seed uint64, fails func(g int) bool, lo, hi time.Duration) xcDownstream {
	return func(g int) (sim.Answer, time.Duration) {
		lat := lo + time.Duration(xcMix(seed+1, g)*float64(hi-lo))
		if fails(g) {
			return sim.Answer{Reply: sim.ReplyRetryable}, lat
		}
		return sim.Answer{Reply: sim.ReplyOK}, lat
	}
}

func xcRate(seed uint64, p float64) func(int) bool {
	return func(g int) bool { return xcMix(seed, g) < p }
}

// xcMixed: 40% retryable failures, 10% non-retryable, latencies over
// [0, 60ms).
func xcMixed(g int) (sim.Answer, time.Duration) {
	lat := time.Duration(xcMix(17, g) * float64(60*time.Millisecond))
	switch u := xcMix(13, g); {
	case u < 0.4:
		return sim.Answer{Reply: sim.ReplyRetryable}, lat
	case u < 0.5:
		return sim.Answer{Reply: sim.ReplyNonRetryable}, lat
	}
	return sim.Answer{Reply: sim.ReplyOK}, lat
}

// xcScenario is one cross-checked configuration.
type xcScenario struct {
	name   string
	policy policy.EffectivePolicy
	down   xcDownstream
	// budgets registers the scenario's budgets on the side's clock.
	budgets func(t *testing.T, clk clock.Clock, reg *budget.Registry)
	cls     classify.Classifier // nil: sim.Classifier
}

// xcBackoff is every scenario's retry policy but for its timeouts: at
// most 4 attempts, 10/20/40ms waits before jitter.
func xcBackoff(j policy.JitterKind, perAttempt, overall time.Duration) policy.RetryPolicy {
	return policy.RetryPolicy{
		MaxAttempts: 4, InitialBackoff: 10 * time.Millisecond, MaxBackoff: time.Second,
		BackoffMultiplier: 2, Jitter: j, TimeoutPerAttempt: perAttempt, OverallTimeout: overall,
	}
}

func xcRetry(rp policy.RetryPolicy) policy.EffectivePolicy { return policy.EffectivePolicy{Retry: rp} }

func xcWithBudget(rp policy.RetryPolicy, name string) policy.EffectivePolicy {
	rp.Budget = policy.BudgetRef{Name: name}
	return xcRetry(rp)
}

var xcBudgetMakers = map[string]func(t *testing.T, clk clock.Clock) budget.Budget{
	"token_bucket": func(_ *testing.T, clk clock.Clock) budget.Budget {
		return budget.NewTokenBucketBudgetClock(3, 2, clk)
	},
	"ratio": func(t *testing.T, clk clock.Clock) budget.Budget {
		b, err := budget.NewRatioBudget(budget.RatioOptions{
			Ratio: 0.2, MinRetriesPerSecond: 0.5, Window: 5 * time.Second, Buckets: 5, Clock: clk,
		})
		if err != nil {
			t.Fatal(err)
		}
		return b
	},
	"throttle": func(t *testing.T, clk clock.Clock) budget.Budget {
		b, err := budget.NewThrottle(budget.ThrottleOptions{
			K: 1.5, Window: 5 * time.Second, Buckets: 5, Clock: clk, Rand: rand.New(rand.NewSource(5)),
		})
		if err != nil {
			t.Fatal(err)
		}
		return b
	},
}

func xcRegister(names ...string) func(*testing.T, clock.Clock, *budget.Registry) {
	return func(t *testing.T, clk clock.Clock, reg *budget.Registry) {
		for _, n := range names {
			reg.Register(n, xcBudgetMakers[n](t, clk))
		}
	}
}

// xcFatal judges every failure but a timeout non-retryable.
var xcFatal = classify.Func(func(_ any, err error) classify.Outcome {
	if err == nil {
		return classify.Outcome{Kind: classify.OutcomeSuccess}
	}
	if errors.Is(err, sim.ErrTimeout) {
		return classify.Outcome{Kind: classify.OutcomeRetryable, Reason: "timeout"}
	}
	return classify.Outcome{Kind: classify.OutcomeNonRetryable, Reason: "fatal"}
})

func xcScenarios() []xcScenario {
	var out []xcScenario
	add := func(s xcScenario) { out = append(out, s) }
	outage := xcFailing(1, func(int) bool { return true }, time.Millisecond, 9*time.Millisecond)
	for _, j := range []policy.JitterKind{policy.JitterNone, policy.JitterFull, policy.JitterDecorrelated} {
		add(xcScenario{name: "outage/" + string(j), policy: xcRetry(xcBackoff(j, 0, 0)), down: outage})
		add(xcScenario{name: "partial_40pct/" + string(j), policy: xcRetry(xcBackoff(j, 0, 0)),
			down: xcFailing(7, xcRate(7, 0.4), time.Millisecond, 9*time.Millisecond)})
		add(xcScenario{name: "timeouts/" + string(j), policy: xcRetry(xcBackoff(j, 35*time.Millisecond, 100*time.Millisecond)), down: xcMixed})
	}
	partial70 := xcFailing(9, xcRate(9, 0.7), time.Millisecond, 9*time.Millisecond)
	for _, b := range []string{"token_bucket", "ratio", "throttle"} {
		add(xcScenario{name: "budget/" + b, policy: xcWithBudget(xcBackoff(policy.JitterFull, 0, 0), b), down: partial70, budgets: xcRegister(b)})
		add(xcScenario{name: "budget_timeouts/" + b, policy: xcWithBudget(xcBackoff(policy.JitterFull, 35*time.Millisecond, 100*time.Millisecond), b),
			down: xcMixed, budgets: xcRegister(b)})
	}
	// A breaker through an outage of the first 200 attempts, then 20%
	// failing: it opens, refuses, probes, closes.
	breaker := xcRetry(xcBackoff(policy.JitterFull, 0, 0))
	breaker.Circuit = policy.CircuitPolicy{Enabled: true, FailureThreshold: 5, Cooldown: 700 * time.Millisecond}
	add(xcScenario{name: "breaker", policy: breaker,
		down: xcFailing(3, func(g int) bool { return g < 200 || xcMix(3, g) < 0.2 }, time.Millisecond, 9*time.Millisecond)})
	withBudget := breaker
	withBudget.Retry.Budget = policy.BudgetRef{Name: "ratio"}
	add(xcScenario{name: "breaker_and_budget", policy: withBudget, budgets: xcRegister("ratio"),
		down: xcFailing(3, func(g int) bool { return g < 200 || xcMix(3, g) < 0.2 }, time.Millisecond, 9*time.Millisecond)})
	// Retry-After: a third of the failures carry a hint of 25ms to 75ms.
	add(xcScenario{name: "retry_after", policy: xcRetry(xcBackoff(policy.JitterFull, 0, 0)), down: func(g int) (sim.Answer, time.Duration) {
		a, lat := xcFailing(21, xcRate(21, 0.6), time.Millisecond, 9*time.Millisecond)(g)
		if a.Reply == sim.ReplyRetryable && xcMix(23, g) < 0.33 {
			a.RetryAfter = 25*time.Millisecond + time.Duration(xcMix(25, g)*float64(50*time.Millisecond))
		}
		return a, lat
	}})
	add(xcScenario{name: "retry_after_past_deadline", policy: xcRetry(xcBackoff(policy.JitterFull, 0, 80*time.Millisecond)), down: func(g int) (sim.Answer, time.Duration) {
		a, lat := xcFailing(27, xcRate(27, 0.6), time.Millisecond, 9*time.Millisecond)(g)
		if a.Reply == sim.ReplyRetryable {
			a.RetryAfter = time.Duration(xcMix(29, g) * float64(120*time.Millisecond))
		}
		return a, lat
	}})
	add(xcScenario{name: "non_retryable_classifier", policy: xcRetry(xcBackoff(policy.JitterFull, 35*time.Millisecond, 0)), down: xcMixed, cls: xcFatal})
	// Hedging with a fixed trigger: up to 2 hedges 15ms apart, attempts
	// that take up to 60ms, some failing.
	hedged := func(rp policy.RetryPolicy) policy.EffectivePolicy {
		p := xcRetry(rp)
		p.Hedge = policy.HedgePolicy{Enabled: true, MaxHedges: 2, Delay: 15 * time.Millisecond}
		return p
	}
	add(xcScenario{name: "hedge", policy: hedged(xcBackoff(policy.JitterFull, 0, 0)), down: xcMixed})
	add(xcScenario{name: "hedge_timeouts", policy: hedged(xcBackoff(policy.JitterFull, 40*time.Millisecond, 120*time.Millisecond)), down: xcMixed})
	hb := hedged(xcBackoff(policy.JitterFull, 0, 0))
	hb.Hedge.Budget = policy.BudgetRef{Name: "token_bucket"}
	hb.Retry.Budget = policy.BudgetRef{Name: "ratio"}
	add(xcScenario{name: "hedge_budgets", policy: hb, down: xcMixed, budgets: xcRegister("token_bucket", "ratio")})
	hc := hedged(xcBackoff(policy.JitterFull, 0, 0))
	hc.Hedge.CancelOnNonRetryable = true
	add(xcScenario{name: "hedge_cancel_on_non_retryable", policy: hc, down: xcMixed, cls: xcFatal})
	hbr := hedged(xcBackoff(policy.JitterFull, 0, 0))
	hbr.Circuit = policy.CircuitPolicy{Enabled: true, FailureThreshold: 4, Cooldown: 700 * time.Millisecond}
	add(xcScenario{name: "hedge_breaker", policy: hbr,
		down: xcFailing(31, func(g int) bool { return g < 150 || xcMix(31, g) < 0.3 }, 5*time.Millisecond, 40*time.Millisecond)})
	return out
}

// xcExecutor builds one side's executor on clk: the same configuration,
// and an identically seeded jitter stream, on both sides.
func xcExecutor(t *testing.T, sc xcScenario, clk clock.Clock) *retry.Executor {
	reg := budget.NewRegistry()
	if sc.budgets != nil {
		sc.budgets(t, clk, reg)
	}
	return retry.NewExecutor(retry.ExecutorOptions{
		Clock: clk, Rand: rand.New(rand.NewSource(xcSeed)), Budgets: reg,
		Provider: &controlplane.StaticProvider{Policies: map[policy.PolicyKey]policy.EffectivePolicy{xcKey: sc.policy}},
	})
}

func (sc xcScenario) classifier() classify.Classifier {
	if sc.cls == nil {
		return sim.Classifier
	}
	return sc.cls
}

// xcBackend is the simulator's downstream.
type xcBackend struct {
	s    *sim.Sim
	down xcDownstream
	g    int
}

func (b *xcBackend) Serve(_ context.Context, reply func(sim.Answer)) {
	a, lat := b.down(b.g)
	b.g++
	b.s.After(lat, func() { reply(a) })
}

func xcRunSim(t *testing.T, sc xcScenario) []string {
	t.Helper()
	s := sim.New(xcSeed)
	c, err := sim.NewClient(s, &xcBackend{s: s, down: sc.down}, sim.ClientConfig{
		Key: xcKey, Executor: xcExecutor(t, sc, s.Clock()), Classifier: sc.cls,
	})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for i := 0; i < xcCalls; i++ {
		s.At(sim.Epoch.Add(time.Duration(i)*xcPeriod), func() {
			c.Call(func(r sim.Result) { out = append(out, xcRender(r.Timeline, r.Value, r.Err)) })
		})
	}
	s.Run()
	if len(out) != xcCalls {
		t.Fatalf("sim: %d calls ended, want %d", len(out), xcCalls)
	}
	return out
}

func xcRunExecutor(t *testing.T, sc xcScenario) []string {
	t.Helper()
	clk := newStepClock(sim.Epoch)
	exec := xcExecutor(t, sc, clk)
	var (
		mu sync.Mutex
		g  int
	)
	op := func(ctx context.Context) (sim.Answer, error) {
		mu.Lock()
		a, lat := sc.down(g)
		g++
		mu.Unlock()
		tm := clk.NewTimer(lat)
		select {
		case <-tm.C():
			return a, a.Err()
		case <-ctx.Done():
			tm.Stop()
			if err := ctx.Err(); !errors.Is(err, context.DeadlineExceeded) {
				return sim.Answer{}, err // cancelled: the call no longer waits for it
			}
			return sim.Answer{}, sim.TimeoutErr(ctx.Err())
		}
	}
	opts := retry.CallOptions[sim.Answer]{Timeline: true, Classifier: sc.classifier()}
	var out []string
	for i := 0; i < xcCalls; i++ {
		start := sim.Epoch.Add(time.Duration(i) * xcPeriod)
		clk.settle(start, nil)
		if now := clk.Now(); !now.Equal(start) {
			t.Fatalf("executor: call %d would start %v late, overlapping the previous one", i, now.Sub(start))
		}
		type res struct {
			v   sim.Answer
			tl  observe.Timeline
			err error
		}
		ch := make(chan res, 1)
		go func() {
			v, tl, err := retry.DoValueWith(context.Background(), exec, xcKey, op, opts)
			ch <- res{v, tl, err}
		}()
		var r res
		if !clk.settle(start.Add(xcPeriod), func() bool {
			select {
			case r = <-ch:
				return true
			default:
				return false
			}
		}) {
			buf := make([]byte, 1<<20)
			t.Fatalf("executor: call %d did not end within %v of virtual time (clock %v, timers %d, attempts %d); the goroutines:\n%s", i, xcPeriod, clk.Now().Sub(sim.Epoch), len(clk.timers), g, buf[:runtime.Stack(buf, true)])
		}
		out = append(out, xcRender(r.tl, r.v, r.err))
	}
	// Let what the calls left behind (a cancelled attempt's goroutine)
	// end.
	clk.settle(sim.Epoch.Add(time.Duration(xcCalls+1)*xcPeriod), nil)
	return out
}

// xcRender writes down everything about a call that is a function of its
// events and their virtual times.
func xcRender(tl observe.Timeline, v sim.Answer, err error) string {
	at := func(t time.Time) time.Duration { return t.Sub(sim.Epoch) }
	var b strings.Builder
	fmt.Fprintf(&b, "call %v..%v value %+v err %q attrs %s\n", at(tl.Start), at(tl.End), v, errText(err), attrs(tl.Attributes))
	if errText(tl.FinalErr) != errText(err) && err != nil {
		fmt.Fprintf(&b, "  timeline final error %q\n", errText(tl.FinalErr))
	}
	for _, r := range tl.Attempts {
		fmt.Fprintf(&b, "  #%d %v..%v backoff %v retry %d hedge %v/%d %q cancelled %v outcome %v/%q/%v attrs %s err %q budget %v/%q/%v circuit %q gates %+v\n",
			r.Attempt, at(r.StartTime), at(r.EndTime), r.Backoff, r.RetryIndex, r.IsHedge, r.HedgeIndex, r.HedgeReason, r.Cancelled,
			r.Outcome.Kind, r.Outcome.Reason, r.Outcome.BackoffOverride, attrs(r.Outcome.Attributes), errText(r.Err),
			r.BudgetAllowed, r.BudgetReason, r.BudgetKind, r.CircuitReason, r.Gates)
	}
	return b.String()
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func attrs(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%s=%s;", k, m[k])
	}
	return b.String()
}

// TestExecutorCrossCheck must not run in parallel: the stepClock waits for
// every goroutine of the process to block.
func TestExecutorCrossCheck(t *testing.T) {
	for _, sc := range xcScenarios() {
		sc := sc
		t.Run(sc.name, func(t *testing.T) {
			s, e := xcRunSim(t, sc), xcRunExecutor(t, sc)
			for i := range s {
				if s[i] != e[i] {
					t.Fatalf("call %d (starting at %v) differs:\nsim:\n%s\nexecutor:\n%s", i, time.Duration(i)*xcPeriod, s[i], e[i])
				}
			}
			xcCovered(t, sc, s)
		})
	}
}

// xcCovered checks that a scenario exercised what it is named for, so
// that a cross-check of calls that never hedge, say, cannot pass for one
// of hedging.
func xcCovered(t *testing.T, sc xcScenario, calls []string) {
	all := strings.Join(calls, "")
	want := map[string]string{
		"hedge":       "hedge true/1",
		"timeouts":    "sim: attempt timed out",
		"budget/":     "budget false/",
		"breaker":     "circuit_open",
		"retry_after": `"retry_after"`,
		"non_retry":   "non_retryable/",
	}
	for part, s := range want {
		if strings.Contains(sc.name, part) && !strings.Contains(all, s) {
			t.Errorf("scenario %s never shows %q", sc.name, s)
		}
	}
	if sc.name == "retry_after_past_deadline" && !strings.Contains(all, "stop_reason=deadline") {
		t.Errorf("scenario %s never stops for its deadline", sc.name)
	}
}
