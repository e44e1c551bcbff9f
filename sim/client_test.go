package sim_test

import (
	"context"
	"errors"
	"math/rand"
	"testing"
	"time"

	"github.com/aponysus/rego/budget"
	"github.com/aponysus/rego/observe"
	"github.com/aponysus/rego/policy"
	"github.com/aponysus/rego/retry"
	"github.com/aponysus/rego/sim"
)

// recBudget records what the client asks and tells it.
type recBudget struct {
	allow    func(idx int) bool
	asked    []int
	releases int
	outcomes []bool
}

func (b *recBudget) AllowAttempt(_ context.Context, _ policy.PolicyKey, idx int, kind budget.AttemptKind, ref policy.BudgetRef) budget.Decision {
	if kind != budget.KindRetry || ref.Cost != 1 {
		panic("unexpected kind or unnormalised ref")
	}
	b.asked = append(b.asked, idx)
	if b.allow != nil && !b.allow(idx) {
		return budget.Decision{Allowed: false, Reason: "test_denied", Release: func() { b.releases++ }}
	}
	return budget.Decision{Allowed: true, Reason: "ok", Release: func() { b.releases++ }}
}

func (b *recBudget) RecordOutcome(_ policy.PolicyKey, _ budget.AttemptKind, accepted bool) {
	b.outcomes = append(b.outcomes, accepted)
}

func oneCall(t *testing.T, srv sim.ServerConfig, rp policy.RetryPolicy, b budget.Budget) (sim.Result, *sim.Server) {
	t.Helper()
	s := sim.New(1)
	sv := sim.NewServer(s, srv)
	c, err := sim.NewClient(s, sv, sim.ClientConfig{Retry: rp, Budget: b})
	if err != nil {
		t.Fatal(err)
	}
	var res sim.Result
	ran := false
	c.Call(func(r sim.Result) { res, ran = r, true })
	s.Run()
	if !ran {
		t.Fatal("the call never ended")
	}
	return res, sv
}

func TestClientAsksBudgetForEveryAttempt(t *testing.T) {
	b := &recBudget{}
	res, sv := oneCall(t, sim.ServerConfig{Latency: sim.Constant(time.Millisecond), Failure: sim.FailureRate(1)},
		policy.RetryPolicy{MaxAttempts: 4, InitialBackoff: 10 * time.Millisecond, Jitter: policy.JitterNone}, b)
	if want := []int{0, 1, 2, 3}; len(b.asked) != 4 || b.asked[0] != 0 || b.asked[3] != 3 {
		t.Fatalf("budget asked for attempts %v, want %v", b.asked, want)
	}
	if b.releases != 4 || len(b.outcomes) != 4 || b.outcomes[0] {
		t.Fatalf("releases %d, outcomes %v: want 4 and 4 not accepted", b.releases, b.outcomes)
	}
	if res.Attempts != 4 || sv.Received() != 4 || !errors.Is(res.Err, sim.ErrRetryable) {
		t.Fatalf("result %+v, server received %d", res, sv.Received())
	}
	// Waits 10, 20, 40ms without jitter, attempts 1ms each.
	if got := res.End.Sub(res.Start); got != 74*time.Millisecond || res.Waited != 70*time.Millisecond {
		t.Fatalf("call took %v, waited %v; want 74ms, 70ms", got, res.Waited)
	}
}

func TestClientDeniedFirstAttempt(t *testing.T) {
	b := &recBudget{allow: func(int) bool { return false }}
	res, sv := oneCall(t, sim.ServerConfig{}, policy.RetryPolicy{Budget: policy.BudgetRef{Name: "gate"}}, b)
	var de *budget.DeniedError
	if !errors.As(res.Err, &de) || de.Budget != "gate" || de.Reason != "test_denied" || !res.Denied {
		t.Fatalf("err = %v, want a DeniedError from gate", res.Err)
	}
	if sv.Received() != 0 || b.releases != 1 || len(b.outcomes) != 0 {
		t.Fatalf("received %d, releases %d, outcomes %v", sv.Received(), b.releases, b.outcomes)
	}
}

func TestClientDeniedRetryReturnsLastError(t *testing.T) {
	b := &recBudget{allow: func(idx int) bool { return idx < 2 }}
	res, _ := oneCall(t, sim.ServerConfig{Failure: sim.FailureRate(1)}, policy.RetryPolicy{MaxAttempts: 5}, b)
	if !errors.Is(res.Err, sim.ErrRetryable) || res.Attempts != 2 || !res.Denied || len(b.asked) != 3 {
		t.Fatalf("result %+v, asked %v", res, b.asked)
	}
}

func TestClientNonRetryableStops(t *testing.T) {
	b := &recBudget{}
	res, _ := oneCall(t, sim.ServerConfig{Failure: nonRetryable{}}, policy.RetryPolicy{}, b)
	if !errors.Is(res.Err, sim.ErrNonRetryable) || res.Attempts != 1 || len(b.outcomes) != 1 || !b.outcomes[0] {
		t.Fatalf("result %+v, outcomes %v: want one accepted attempt", res, b.outcomes)
	}
}

type nonRetryable struct{}

func (nonRetryable) Reply(time.Duration, *rand.Rand) sim.Reply { return sim.ReplyNonRetryable }

func TestClientTimeouts(t *testing.T) {
	b := &recBudget{}
	res, sv := oneCall(t, sim.ServerConfig{Latency: sim.Constant(time.Second)},
		policy.RetryPolicy{MaxAttempts: 2, TimeoutPerAttempt: 100 * time.Millisecond, InitialBackoff: 50 * time.Millisecond, Jitter: policy.JitterNone}, b)
	if !errors.Is(res.Err, sim.ErrTimeout) || res.Attempts != 2 || sv.Received() != 2 {
		t.Fatalf("result %+v", res)
	}
	if got := res.End.Sub(res.Start); got != 250*time.Millisecond {
		t.Fatalf("call took %v, want 100+50+100ms", got)
	}
	if b.releases != 2 || len(b.outcomes) != 2 || b.outcomes[0] || b.outcomes[1] {
		t.Fatalf("releases %d, outcomes %v", b.releases, b.outcomes)
	}

	// The overall deadline cuts an attempt short (the call fails as the
	// executor's does: with the attempt's error, stopped for its
	// context), and a wait that would end past it is not waited.
	res, _ = oneCall(t, sim.ServerConfig{Latency: sim.Constant(time.Second)}, policy.RetryPolicy{OverallTimeout: 300 * time.Millisecond}, nil)
	if !errors.Is(res.Err, sim.ErrTimeout) || !errors.Is(res.Err, context.DeadlineExceeded) || res.End.Sub(res.Start) != 300*time.Millisecond ||
		res.Timeline.Attributes[observe.AttrStopReason] != retry.StopContextDone {
		t.Fatalf("result %+v", res)
	}
	res, _ = oneCall(t, sim.ServerConfig{Latency: sim.Constant(10 * time.Millisecond), Failure: sim.FailureRate(1)},
		policy.RetryPolicy{OverallTimeout: 100 * time.Millisecond, InitialBackoff: 95 * time.Millisecond, Jitter: policy.JitterNone}, nil)
	if !errors.Is(res.Err, sim.ErrRetryable) || !errors.Is(res.Err, retry.ErrDeadline) || res.Attempts != 1 || res.End.Sub(res.Start) != 10*time.Millisecond {
		t.Fatalf("result %+v", res)
	}
}

func TestServerCapacitySheds(t *testing.T) {
	s := sim.New(1)
	sv := sim.NewServer(s, sim.ServerConfig{Latency: sim.Constant(time.Second), Capacity: 2, RejectLatency: time.Millisecond})
	var replies []sim.Reply
	for i := 0; i < 3; i++ {
		sv.Handle(func(r sim.Reply) { replies = append(replies, r) })
	}
	s.Run()
	if sv.Shed() != 1 || len(replies) != 3 || replies[0] != sim.ReplyRetryable || replies[1] != sim.ReplyOK {
		t.Fatalf("shed %d, replies %v", sv.Shed(), replies)
	}
}

func TestNewClientBadPolicy(t *testing.T) {
	s := sim.New(1)
	if _, err := sim.NewClient(s, sim.NewServer(s, sim.ServerConfig{}), sim.ClientConfig{Retry: policy.RetryPolicy{Jitter: "wild"}}); err == nil {
		t.Fatal("no error for an unknown jitter")
	}
	if _, err := sim.Run(sim.Scenario{Rate: 1}); !errors.Is(err, sim.ErrInvalidScenario) {
		t.Fatalf("err = %v", err)
	}
	if _, err := sim.Run(sim.Scenario{Duration: time.Second}); !errors.Is(err, sim.ErrInvalidScenario) {
		t.Fatalf("err = %v", err)
	}
}
