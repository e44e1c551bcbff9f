package sim_test

import (
	"context"
	"errors"
	"math/rand"
	"strings"
	"testing"
	"time"

	"github.com/aponysus/rego/budget"
	"github.com/aponysus/rego/circuit"
	"github.com/aponysus/rego/classify"
	"github.com/aponysus/rego/clock"
	"github.com/aponysus/rego/controlplane"
	"github.com/aponysus/rego/policy"
	"github.com/aponysus/rego/retry"
	"github.com/aponysus/rego/sim"
)

// calls makes n calls of c, one every gap, and returns their results.
func calls(t *testing.T, s *sim.Sim, c *sim.Client, n int, gap time.Duration) []sim.Result {
	t.Helper()
	var out []sim.Result
	for i := 0; i < n; i++ {
		s.After(time.Duration(i)*gap, func() { c.Call(func(r sim.Result) { out = append(out, r) }) })
	}
	s.Run()
	if len(out) != n {
		t.Fatalf("%d calls ended, want %d", len(out), n)
	}
	return out
}

func TestClientHedges(t *testing.T) {
	s := sim.New(1)
	srv := sim.NewServer(s, sim.ServerConfig{Latency: sim.Constant(50 * time.Millisecond)})
	p := policy.EffectivePolicy{
		Retry: policy.RetryPolicy{MaxAttempts: 3},
		Hedge: policy.HedgePolicy{Enabled: true, MaxHedges: 2, Delay: 20 * time.Millisecond},
	}
	c, err := sim.NewClient(s, srv, sim.ClientConfig{Policy: &p})
	if err != nil {
		t.Fatal(err)
	}
	res := calls(t, s, c, 1, 0)[0]
	// The primary answers at 50ms, before the hedges of 20ms and 40ms;
	// both are cancelled, and the server still sees three attempts.
	if res.Err != nil || res.Attempts != 3 || res.Hedges != 2 || res.End.Sub(res.Start) != 50*time.Millisecond {
		t.Fatalf("result %+v", res)
	}
	tl := res.Timeline
	if len(tl.Attempts) != 3 || !tl.Attempts[1].IsHedge || !tl.Attempts[1].Cancelled || tl.Attempts[1].HedgeReason != retry.CancelLost ||
		tl.Attempts[2].StartTime.Sub(tl.Start) != 40*time.Millisecond {
		t.Fatalf("timeline:\n%v", tl)
	}
	if st := c.Stats(); st.Attempts != 3 || st.Hedges != 2 || st.Retries != 0 || srv.Received() != 3 {
		t.Fatalf("stats %+v, received %d", st, srv.Received())
	}
}

func TestClientBreakerOpens(t *testing.T) {
	s := sim.New(1)
	srv := sim.NewServer(s, sim.ServerConfig{Latency: sim.Constant(time.Millisecond), Failure: sim.FailureRate(1)})
	p := policy.EffectivePolicy{
		Retry:   policy.RetryPolicy{MaxAttempts: 1},
		Circuit: policy.CircuitPolicy{Enabled: true, FailureThreshold: 3, Cooldown: time.Second},
	}
	c, err := sim.NewClient(s, srv, sim.ClientConfig{Policy: &p})
	if err != nil {
		t.Fatal(err)
	}
	rs := calls(t, s, c, 5, 10*time.Millisecond)
	for i, r := range rs {
		open := errors.Is(r.Err, circuit.ErrOpen)
		if open != (i >= 3) || (i < 3 && !errors.Is(r.Err, sim.ErrRetryable)) {
			t.Fatalf("call %d: %v", i, r.Err)
		}
	}
	if st := c.Stats(); st.Attempts != 3 || st.Denied != 2 || st.Failed != 3 || st.Rejections != 2 || st.CircuitRefusals != 2 || st.BudgetRefusals != 0 || srv.Received() != 3 {
		t.Fatalf("stats %+v", st)
	}
}

func TestClientRetryAfter(t *testing.T) {
	s := sim.New(1)
	srv := sim.NewServer(s, sim.ServerConfig{Latency: sim.Constant(time.Millisecond), Failure: sim.FailureRate(1), RetryAfter: 400 * time.Millisecond})
	c, err := sim.NewClient(s, srv, sim.ClientConfig{Retry: policy.RetryPolicy{MaxAttempts: 2, Jitter: policy.JitterNone}})
	if err != nil {
		t.Fatal(err)
	}
	res := calls(t, s, c, 1, 0)[0]
	// The hint replaces the 100ms backoff.
	if res.Waited != 400*time.Millisecond || res.End.Sub(res.Start) != 402*time.Millisecond || !errors.Is(res.Err, retry.ErrAttemptsExhausted) {
		t.Fatalf("result %+v", res)
	}
	if out := res.Timeline.Attempts[0].Outcome; out.Reason != "retry_after" || out.BackoffOverride != 400*time.Millisecond {
		t.Fatalf("outcome %+v", out)
	}
	if a := res.Value; a.Reply != sim.ReplyRetryable || a.RetryAfter != 400*time.Millisecond {
		t.Fatalf("value %+v", a)
	}
}

func TestClientClassifier(t *testing.T) {
	s := sim.New(1)
	srv := sim.NewServer(s, sim.ServerConfig{Failure: sim.FailureRate(1)})
	never := classify.Func(func(_ any, err error) classify.Outcome {
		return classify.Outcome{Kind: classify.OutcomeNonRetryable, Reason: "never"}
	})
	c, err := sim.NewClient(s, srv, sim.ClientConfig{Classifier: never})
	if err != nil {
		t.Fatal(err)
	}
	res := calls(t, s, c, 1, 0)[0]
	if res.Attempts != 1 || !errors.Is(res.Err, sim.ErrRetryable) || res.Timeline.Attempts[0].Outcome.Reason != "never" {
		t.Fatalf("result %+v", res)
	}
}

// Two clients of one process share its executor: one budget, one
// breaker.
func TestClientsShareAnExecutor(t *testing.T) {
	s := sim.New(1)
	srv := sim.NewServer(s, sim.ServerConfig{Latency: sim.Constant(time.Millisecond), Failure: sim.FailureRate(1)})
	key := policy.ParseKey("shared.Call")
	reg := budget.NewRegistry()
	reg.Register("retries", budget.NewTokenBucketBudgetClock(1, 0, s.Clock()))
	exec := retry.NewExecutor(retry.ExecutorOptions{
		Clock: s.Clock(), Rand: rand.New(rand.NewSource(1)), Budgets: reg,
		Provider: &controlplane.StaticProvider{Policies: map[policy.PolicyKey]policy.EffectivePolicy{
			key: {Retry: policy.RetryPolicy{MaxAttempts: 3, Budget: policy.BudgetRef{Name: "retries"}}},
		}},
	})
	var cs [2]*sim.Client
	for i := range cs {
		c, err := sim.NewClient(s, srv, sim.ClientConfig{Key: key, Executor: exec})
		if err != nil {
			t.Fatal(err)
		}
		cs[i] = c
	}
	calls(t, s, cs[0], 1, 0)
	calls(t, s, cs[1], 1, 0)
	// One token between them: one retry in all.
	if a, b := cs[0].Stats(), cs[1].Stats(); a.Retries+b.Retries != 1 || a.Rejections+b.Rejections != 2 || a.BudgetRefusals+b.BudgetRefusals != 2 {
		t.Fatalf("stats %+v and %+v", a, b)
	}
	if _, own := cs[0].EffectivePolicy(); own || cs[0].Executor() != exec {
		t.Fatal("the client does not say it runs on the executor it was given")
	}
}

func TestNewClientRefusesBadConfigs(t *testing.T) {
	s := sim.New(1)
	srv := sim.NewServer(s, sim.ServerConfig{})
	exec := retry.NewExecutor(retry.ExecutorOptions{Clock: s.Clock()})
	wait := policy.EffectivePolicy{Bulkhead: policy.BulkheadPolicy{Enabled: true, MaxConcurrent: 1, MaxWait: time.Second}}
	for _, tc := range []struct {
		cfg  sim.ClientConfig
		want string
	}{
		{sim.ClientConfig{Executor: exec, Retry: policy.RetryPolicy{MaxAttempts: 2}}, "ClientConfig.Retry"},
		{sim.ClientConfig{Executor: exec, Policy: &policy.EffectivePolicy{}}, "ClientConfig.Policy"},
		{sim.ClientConfig{Executor: exec, Budget: budget.UnlimitedBudget{}}, "ClientConfig.Budget"},
		{sim.ClientConfig{Budget: budget.UnlimitedBudget{}, Budgets: budget.NewRegistry()}, "Budget and Budgets"},
		{sim.ClientConfig{Policy: &wait}, "Policy.Bulkhead.MaxWait"},
		{sim.ClientConfig{Retry: policy.RetryPolicy{Jitter: "wild"}}, "wild"},
	} {
		_, err := sim.NewClient(s, srv, tc.cfg)
		if !errors.Is(err, sim.ErrInvalidClient) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: err = %v, want ErrInvalidClient naming %s", tc.cfg, err, tc.want)
		}
	}
}

// A call carries its context's values to the backend.
func TestClientCallContext(t *testing.T) {
	s := sim.New(1)
	var got any
	c, err := sim.NewClient(s, backendFunc(func(ctx context.Context, reply func(sim.Answer)) {
		got = ctx.Value(ctxKey{})
		reply(sim.Answer{})
	}), sim.ClientConfig{})
	if err != nil {
		t.Fatal(err)
	}
	c.CallContext(context.WithValue(context.Background(), ctxKey{}, "v"), nil)
	s.Run()
	if got != "v" {
		t.Fatalf("the backend saw %v", got)
	}
}

type ctxKey struct{}

type backendFunc func(ctx context.Context, reply func(sim.Answer))

func (f backendFunc) Serve(ctx context.Context, reply func(sim.Answer)) { f(ctx, reply) }

// Run gives each client a budget under every name its policy gives one:
// an empty token bucket stops every retry and every hedge.
func TestRunPolicyBudgets(t *testing.T) {
	empty := func(clk clock.Clock, _ *rand.Rand) (budget.Budget, error) {
		return budget.NewTokenBucketBudgetClock(0, 0, clk), nil
	}
	p := policy.EffectivePolicy{
		Retry: policy.RetryPolicy{MaxAttempts: 3, Budget: policy.BudgetRef{Name: "retries"}},
		Hedge: policy.HedgePolicy{Enabled: true, Delay: 5 * time.Millisecond, Budget: policy.BudgetRef{Name: "hedges"}},
	}
	sc := sim.Scenario{
		Seed: 1, Duration: time.Second, Rate: 100, Policy: &p, Budget: empty,
		Server: sim.ServerConfig{Latency: sim.Constant(10 * time.Millisecond), Failure: sim.FailureRate(0.5)},
	}
	rep := run(t, sc)
	if st := rep.Stats; st.Retries != 0 || st.Hedges != 0 || st.BudgetRefusals == 0 || st.Attempts != rep.Offered {
		t.Fatalf("stats %+v", st)
	}
	// Without names, the budget gates the retries under "sim".
	p.Retry.Budget, p.Hedge = policy.BudgetRef{}, policy.HedgePolicy{}
	rep = run(t, sc)
	if st := rep.Stats; st.Retries != 0 || st.BudgetRefusals == 0 {
		t.Fatalf("stats %+v", st)
	}
	// Without a budget, the names are missing and admit every attempt.
	p.Retry.Budget = policy.BudgetRef{Name: "retries"}
	sc.Budget = nil
	rep = run(t, sc)
	if st := rep.Stats; st.Retries == 0 || st.BudgetRefusals != 0 {
		t.Fatalf("stats %+v", st)
	}
}

func TestClassifierReasons(t *testing.T) {
	for _, tc := range []struct {
		v    sim.Answer
		err  error
		kind classify.OutcomeKind
		why  string
		wait time.Duration
	}{
		{sim.Answer{}, nil, classify.OutcomeSuccess, "", 0},
		{sim.Answer{Reply: sim.ReplyNonRetryable}, sim.ErrNonRetryable, classify.OutcomeNonRetryable, "non_retryable", 0},
		{sim.Answer{Reply: sim.ReplyRetryable}, sim.ErrRetryable, classify.OutcomeRetryable, "retryable", 0},
		{sim.Answer{Reply: sim.ReplyRetryable, RetryAfter: time.Second}, sim.ErrRetryable, classify.OutcomeRetryable, "retry_after", time.Second},
		{sim.Answer{}, sim.TimeoutErr(nil), classify.OutcomeRetryable, "timeout", 0},
	} {
		out := sim.Classifier.Classify(tc.v, tc.err)
		if out.Kind != tc.kind || out.Reason != tc.why || out.BackoffOverride != tc.wait {
			t.Errorf("%+v, %v: got %+v", tc.v, tc.err, out)
		}
	}
	if err := sim.TimeoutErr(context.Canceled); !errors.Is(err, sim.ErrTimeout) || !errors.Is(err, context.Canceled) ||
		err.Error() != "sim: attempt timed out: context canceled" {
		t.Errorf("TimeoutErr: %v", err)
	}
}
