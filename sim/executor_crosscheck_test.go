package sim_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand"
	"testing"
	"time"

	"github.com/aponysus/rego/budget"
	"github.com/aponysus/rego/classify"
	"github.com/aponysus/rego/clock"
	"github.com/aponysus/rego/controlplane"
	"github.com/aponysus/rego/observe"
	"github.com/aponysus/rego/policy"
	"github.com/aponysus/rego/regotest"
	"github.com/aponysus/rego/retry"
	"github.com/aponysus/rego/sim"
)

// The cross-check runs one scenario twice: through the simulation's client
// and through the real retry.Executor, on virtual time from sim.Epoch in
// both, and demands the same result. The published load-safety numbers
// (docs/load-safety.md) come from the simulation, so they are only as good
// as its model of the executor; this is where that model is held to the
// real thing.
//
// A scenario is N calls, one at a time, the i-th starting at i*xcPeriod
// (long enough for any call to end first), against a downstream whose
// answer to an attempt, and the time it takes, are fixed functions of the
// attempt's global index, so both sides see the same failures whatever
// else differs. The latency is the simulated server's, and, for the
// executor, an advance of its clock inside the operation, which, as an
// operation honouring its context must, gives up at the context's
// deadline.
const (
	xcCalls   = 300
	xcPeriod  = 400 * time.Millisecond
	xcLatency = 5 * time.Millisecond
	xcSeed    = 11
)

var xcKey = policy.ParseKey("crosscheck.Call")

// xcTimeouts are a policy's TimeoutPerAttempt and OverallTimeout.
type xcTimeouts struct {
	name             string
	perAttempt, call time.Duration
}

// xcRetry is both sides' policy: at most 4 attempts, 10/20/40ms waits
// before jitter; with latencies of at most 60ms a call ends within 310ms,
// inside xcPeriod.
func xcRetry(j policy.JitterKind, to xcTimeouts, withBudget bool) policy.RetryPolicy {
	rp := policy.RetryPolicy{
		MaxAttempts: 4, InitialBackoff: 10 * time.Millisecond, MaxBackoff: time.Second,
		BackoffMultiplier: 2, Jitter: j, TimeoutPerAttempt: to.perAttempt, OverallTimeout: to.call,
	}
	if withBudget {
		rp.Budget = policy.BudgetRef{Name: "xc"}
	}
	return rp
}

// xcPattern decides the reply to the attempt with global index g, and,
// when latency is not nil, how long it takes (else xcLatency).
type xcPattern struct {
	name    string
	reply   func(g int) sim.Reply
	latency func(g int) time.Duration
}

// xcFails is a pattern of retryable failures at xcLatency.
func xcFails(name string, fails func(g int) bool) xcPattern {
	return xcPattern{name: name, reply: func(g int) sim.Reply {
		if fails(g) {
			return sim.ReplyRetryable
		}
		return sim.ReplyOK
	}}
}

func (p xcPattern) lat(g int) time.Duration {
	if p.latency == nil {
		return xcLatency
	}
	return p.latency(g)
}

// xcMix is a deterministic hash of (seed, g) to [0, 1): a seeded "random"
// failure that both sides compute identically, without sharing a stream.
func xcMix(seed uint64, g int) float64 {
	z := seed + uint64(g)*0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	z ^= z >> 31
	return float64(z>>11) / (1 << 53)
}

var xcPatterns = []xcPattern{
	xcFails("outage", func(int) bool { return true }),
	xcFails("every_3rd", func(g int) bool { return g%3 == 2 }),
	xcFails("partial_40pct", func(g int) bool { return xcMix(7, g) < 0.4 }),
	xcFails("partial_70pct", func(g int) bool { return xcMix(9, g) < 0.7 }),
	// A hard outage over the first 400 attempts, then 20% failing.
	xcFails("outage_then_recovery", func(g int) bool { return g < 400 || xcMix(3, g) < 0.2 }),
	// 40% retryable and 10% non-retryable failures, latencies spread over
	// [0, 60ms) so that timeouts bite.
	{"mixed_slow", func(g int) sim.Reply {
		switch u := xcMix(13, g); {
		case u < 0.4:
			return sim.ReplyRetryable
		case u < 0.5:
			return sim.ReplyNonRetryable
		}
		return sim.ReplyOK
	}, func(g int) time.Duration { return time.Duration(xcMix(17, g) * float64(60*time.Millisecond)) }},
}

// xcBudgetKind makes a fresh budget on the given clock: each side gets its
// own, with identical configuration (and an identically seeded random
// source for the throttle). A nil make means no budget.
type xcBudgetKind struct {
	name string
	make func(t *testing.T, clk clock.Clock) budget.Budget
}

var xcBudgets = []xcBudgetKind{
	{"none", nil},
	{"unlimited", func(*testing.T, clock.Clock) budget.Budget { return budget.UnlimitedBudget{} }},
	{"token_bucket", func(_ *testing.T, clk clock.Clock) budget.Budget {
		return budget.NewTokenBucketBudgetClock(3, 2, clk)
	}},
	{"ratio", func(t *testing.T, clk clock.Clock) budget.Budget {
		b, err := budget.NewRatioBudget(budget.RatioOptions{
			Ratio: 0.2, MinRetriesPerSecond: 0.5, Window: 5 * time.Second, Buckets: 5, Clock: clk,
		})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}},
	{"throttle", func(t *testing.T, clk clock.Clock) budget.Budget {
		b, err := budget.NewThrottle(budget.ThrottleOptions{
			K: 1.5, Window: 5 * time.Second, Buckets: 5, Clock: clk, Rand: rand.New(rand.NewSource(5)),
		})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}},
}

// xcAsk is one budget decision: when (since sim.Epoch), for which attempt
// index, and the answer.
type xcAsk struct {
	at      time.Duration
	idx     int
	allowed bool
}

// xcSpy logs the decisions of the budget it wraps and passes outcomes on.
type xcSpy struct {
	b    budget.Budget
	clk  clock.Clock
	asks []xcAsk
}

func (s *xcSpy) AllowAttempt(ctx context.Context, key policy.PolicyKey, idx int, kind budget.AttemptKind, ref policy.BudgetRef) budget.Decision {
	d := s.b.AllowAttempt(ctx, key, idx, kind, ref)
	s.asks = append(s.asks, xcAsk{at: s.clk.Now().Sub(sim.Epoch), idx: idx, allowed: d.Allowed})
	return d
}

func (s *xcSpy) RecordOutcome(key policy.PolicyKey, kind budget.AttemptKind, accepted bool) {
	if r, ok := s.b.(budget.OutcomeRecorder); ok {
		r.RecordOutcome(key, kind, accepted)
	}
}

// xcCall is what one call did.
type xcCall struct {
	attempts int    // attempts sent downstream
	denied   int    // attempts a budget denied (0 or 1)
	result   string // see xcSimResult

	took time.Duration // from its start to its end
}

// xcRun is what a whole scenario did on one side.
type xcRun struct {
	calls     []xcCall
	sent      int // attempts the downstream received
	denied    int
	succeeded int
	asks      []xcAsk
}

// xcSimResult names how a simulated call ended: "ok", "denied" (a
// *budget.DeniedError: nothing ran), "failed", "non_retryable", "timeout"
// (the last attempt's own timeout) or "deadline" (the call's).
func xcSimResult(err error) string {
	var de *budget.DeniedError
	switch {
	case err == nil:
		return "ok"
	case errors.As(err, &de):
		return "denied"
	case errors.Is(err, sim.ErrRetryable):
		return "failed"
	case errors.Is(err, sim.ErrNonRetryable):
		return "non_retryable"
	case errors.Is(err, sim.ErrTimeout):
		return "timeout"
	case errors.Is(err, sim.ErrDeadline):
		return "deadline"
	}
	return "unexpected: " + err.Error()
}

// xcExecResult names how an executor call ended, as xcSimResult does.
func xcExecResult(err error, tl observe.Timeline) string {
	var de *budget.DeniedError
	switch {
	case err == nil:
		return "ok"
	case tl.Attributes[observe.AttrStopReason] == retry.StopContextDone && errors.Is(err, context.DeadlineExceeded):
		return "deadline"
	case errors.Is(err, sim.ErrRetryable):
		return "failed"
	case errors.Is(err, sim.ErrNonRetryable):
		return "non_retryable"
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case errors.As(err, &de):
		// Only now: after a failure the error matches the denial too (a
		// *retry.StopError), but the call failed as its last attempt did.
		return "denied"
	}
	return "unexpected: " + err.Error()
}

// xcClassifier makes the executor judge the downstream's errors as the
// simulated client judges its server's replies.
var xcClassifier = classify.Func(func(_ any, err error) classify.Outcome {
	if errors.Is(err, sim.ErrNonRetryable) {
		return classify.Outcome{Kind: classify.OutcomeNonRetryable, Reason: "non_retryable"}
	}
	return classify.ClassifyError(err)
})

// xcServer is the simulated server's failure and latency models: the
// pattern applied to the count of attempts the server has received (each
// model is asked once per attempt, so each keeps its own count).
type xcServer struct {
	p          xcPattern
	nRep, nLat *int
}

func (m xcServer) Reply(time.Duration, *rand.Rand) sim.Reply {
	g := *m.nRep
	*m.nRep++
	return m.p.reply(g)
}

type xcServerLatency xcServer

func (m xcServerLatency) Sample(*rand.Rand) time.Duration {
	g := *m.nLat
	*m.nLat++
	return m.p.lat(g)
}

func xcRunSim(t *testing.T, p xcPattern, bk xcBudgetKind, j policy.JitterKind, to xcTimeouts) xcRun {
	t.Helper()
	s := sim.New(xcSeed)
	var nRep, nLat int
	m := xcServer{p: p, nRep: &nRep, nLat: &nLat}
	srv := sim.NewServer(s, sim.ServerConfig{Latency: xcServerLatency(m), Failure: m})
	var spy *xcSpy
	cfg := sim.ClientConfig{Key: xcKey, Retry: xcRetry(j, to, bk.make != nil)}
	if bk.make != nil {
		spy = &xcSpy{b: bk.make(t, s.Clock()), clk: s.Clock()}
		cfg.Budget = spy
	}
	c, err := sim.NewClient(s, srv, cfg)
	if err != nil {
		t.Fatal(err)
	}
	var run xcRun
	for i := 0; i < xcCalls; i++ {
		start := sim.Epoch.Add(time.Duration(i) * xcPeriod)
		s.At(start, func() {
			c.Call(func(r sim.Result) {
				call := xcCall{attempts: r.Attempts, result: xcSimResult(r.Err), took: r.End.Sub(r.Start)}
				if r.Denied {
					call.denied = 1
				}
				run.calls = append(run.calls, call)
			})
		})
	}
	s.Run()
	if len(run.calls) != xcCalls {
		t.Fatalf("sim: %d calls ended, want %d", len(run.calls), xcCalls)
	}
	for i, call := range run.calls {
		if call.took >= xcPeriod {
			t.Fatalf("sim: call %d took %v, overlapping the next", i, call.took)
		}
	}
	st := c.Stats()
	run.sent, run.denied, run.succeeded = int(srv.Received()), int(st.Rejections), int(st.Succeeded)
	if spy != nil {
		run.asks = spy.asks
	}
	return run
}

func xcRunExecutor(t *testing.T, p xcPattern, bk xcBudgetKind, j policy.JitterKind, to xcTimeouts) xcRun {
	t.Helper()
	clk := regotest.NewAutoClock(sim.Epoch)
	reg := budget.NewRegistry()
	var spy *xcSpy
	if bk.make != nil {
		spy = &xcSpy{b: bk.make(t, clk), clk: clk}
		reg.Register("xc", spy)
	}
	// The simulated client's jitter stream is the second split off the
	// Sim's master source (the server takes the first); draw the same.
	master := rand.New(rand.NewSource(xcSeed))
	master.Int63()
	jitter := rand.New(rand.NewSource(master.Int63()))
	exec := retry.NewExecutor(retry.ExecutorOptions{
		Clock: clk, Rand: jitter, Budgets: reg, DefaultClassifier: xcClassifier,
		Provider: &controlplane.StaticProvider{Policies: map[policy.PolicyKey]policy.EffectivePolicy{
			xcKey: {Retry: xcRetry(j, to, bk.make != nil)},
		}},
	})
	var run xcRun
	g := 0
	op := func(ctx context.Context) error {
		rep, lat := p.reply(g), p.lat(g)
		g++
		// The deadline is read, not waited for: an attempt context whose
		// parent expires is cancelled from another goroutine.
		if dl, ok := ctx.Deadline(); ok {
			if left := dl.Sub(clk.Now()); left <= lat {
				clk.Advance(left)
				return context.DeadlineExceeded
			}
		}
		clk.Advance(lat)
		switch rep {
		case sim.ReplyRetryable:
			return sim.ErrRetryable
		case sim.ReplyNonRetryable:
			return sim.ErrNonRetryable
		}
		return nil
	}
	for i := 0; i < xcCalls; i++ {
		start := sim.Epoch.Add(time.Duration(i) * xcPeriod)
		d := start.Sub(clk.Now())
		if d < 0 {
			t.Fatalf("executor: call %d would start %v late, overlapping the previous one", i, -d)
		}
		clk.Advance(d)
		tl, err := exec.DoWithTimeline(context.Background(), xcKey, op)
		call := xcCall{result: xcExecResult(err, tl), took: clk.Now().Sub(start)}
		for _, rec := range tl.Attempts {
			switch {
			case rec.BudgetAllowed:
				call.attempts++
			case rec.Outcome.Reason == retry.StopBudgetDenied:
				call.denied++
			}
		}
		run.calls = append(run.calls, call)
		run.denied += call.denied
		if err == nil {
			run.succeeded++
		}
	}
	run.sent = g
	if spy != nil {
		run.asks = spy.asks
	}
	return run
}

// xcFirstCallDiff describes the first call on which the sides differ, by
// the fields cmp compares, or returns "".
func xcFirstCallDiff(s, e xcRun, cmp func(a, b xcCall) bool) string {
	for i := range s.calls {
		if !cmp(s.calls[i], e.calls[i]) {
			return fmt.Sprintf("call %d (starting at %v): sim %+v, executor %+v", i, time.Duration(i)*xcPeriod, s.calls[i], e.calls[i])
		}
	}
	return ""
}

func xcFirstAskDiff(s, e []xcAsk) string {
	for i := 0; i < len(s) && i < len(e); i++ {
		if s[i] != e[i] {
			return fmt.Sprintf("decision %d: sim %+v, executor %+v", i, s[i], e[i])
		}
	}
	if len(s) != len(e) {
		return fmt.Sprintf("sim asked %d times, executor %d", len(s), len(e))
	}
	return ""
}

// xcTimeoutSets: none; a per-attempt timeout shorter than the slow
// attempts; and both, the call's deadline short enough to end calls
// mid-attempt and to stop retries whose wait would pass it.
var xcTimeoutSets = []xcTimeouts{
	{name: "no_timeouts"},
	{name: "per_attempt", perAttempt: 35 * time.Millisecond},
	{name: "per_attempt_and_call", perAttempt: 35 * time.Millisecond, call: 100 * time.Millisecond},
}

func TestExecutorCrossCheck(t *testing.T) {
	for _, to := range xcTimeoutSets {
		for _, j := range []policy.JitterKind{policy.JitterNone, policy.JitterFull} {
			for _, p := range xcPatterns {
				for _, bk := range xcBudgets {
					to, j, p, bk := to, j, p, bk
					t.Run(fmt.Sprintf("%s/%s/%s/%s", to.name, j, p.name, bk.name), func(t *testing.T) {
						xcCompare(t, xcRunSim(t, p, bk, j, to), xcRunExecutor(t, p, bk, j, to))
					})
				}
			}
		}
	}
}

func xcCompare(t *testing.T, s, e xcRun) {
	// What reached the downstream, what was denied, what succeeded: in
	// total and call by call.
	t.Run("outcomes", func(t *testing.T) {
		if s.sent != e.sent || s.denied != e.denied || s.succeeded != e.succeeded {
			t.Errorf("sim sent %d attempts, %d denied, %d calls succeeded; executor %d, %d, %d",
				s.sent, s.denied, s.succeeded, e.sent, e.denied, e.succeeded)
		}
		if d := xcFirstCallDiff(s, e, func(a, b xcCall) bool {
			return a.attempts == b.attempts && a.denied == b.denied && a.result == b.result
		}); d != "" {
			t.Errorf("first differing %s", d)
		}
	})
	// When each budget decision was taken, for which attempt, and how
	// long each call took.
	t.Run("timing", func(t *testing.T) {
		if d := xcFirstAskDiff(s.asks, e.asks); d != "" {
			t.Errorf("first differing budget %s", d)
		}
		if d := xcFirstCallDiff(s, e, func(a, b xcCall) bool { return a.took == b.took }); d != "" {
			t.Errorf("first differing %s", d)
		}
	})
}
