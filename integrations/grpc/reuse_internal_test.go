package regogrpc

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aponysus/rego/controlplane"
	"github.com/aponysus/rego/policy"
	"github.com/aponysus/rego/regotest"
	"github.com/aponysus/rego/retry"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// callStateReused runs one call's attempts as the interceptor does and
// reports whether the call's state would be reused once it returns. The
// invoker gets each attempt's number; wait is called after the call
// returned, before the state is judged, for attempts still running.
func callStateReused(t *testing.T, p policy.EffectivePolicy, clk retry.ExecutorOptions, invoke func(ctx context.Context, n int) error, wait func()) bool {
	t.Helper()
	key := policy.PolicyKey{Name: "reuse"}
	opts := clk
	opts.Provider = &controlplane.StaticProvider{Policies: map[policy.PolicyKey]policy.EffectivePolicy{key: p}}
	exec := retry.NewExecutor(opts)
	u := newUnaryCall()
	var calls atomic.Int32
	u.ctx, u.cfg, u.method, u.reply = context.Background(), newConfig(Options{Executor: exec}), "/s/m", new(int)
	u.invoker = func(ctx context.Context, _ string, _, _ any, _ *grpc.ClientConn, _ ...grpc.CallOption) error {
		return invoke(ctx, int(calls.Add(1))-1)
	}
	if _, _, err := retry.DoValueWith[*unaryAttempt](u.ctx, exec, key, u.op, retry.CallOptions[*unaryAttempt]{}); err != nil {
		t.Fatalf("call: %v", err)
	}
	u.closeReply()
	wait()
	return u.inline.Load()
}

// A call whose attempts ran one at a time within the executor's call is
// reused; one whose attempts may outlive it (hedges, attempts with a
// context of their own) is not, whatever happened in it.
func TestUnaryCallStateReuse(t *testing.T) {
	failOnce := func(_ context.Context, n int) error {
		if n == 0 {
			return status.Error(codes.Unavailable, "down")
		}
		return nil
	}
	instant := retry.ExecutorOptions{Clock: regotest.InstantClock{}}
	if !callStateReused(t, policy.EffectivePolicy{Retry: policy.RetryPolicy{MaxAttempts: 3}}, instant, failOnce, func() {}) {
		t.Error("a sequential call's state was not reused")
	}
	perAttempt := policy.EffectivePolicy{Retry: policy.RetryPolicy{MaxAttempts: 3, TimeoutPerAttempt: time.Hour}}
	if callStateReused(t, perAttempt, instant, failOnce, func() {}) {
		t.Error("a call whose attempts have deadlines of their own was reused")
	}

	hedged := policy.EffectivePolicy{Retry: policy.RetryPolicy{MaxAttempts: 2}}
	hedged.Hedge.Enabled, hedged.Hedge.Delay = true, time.Millisecond
	primaryDone := make(chan struct{})
	slowPrimary := func(ctx context.Context, n int) error {
		if n == 0 {
			defer close(primaryDone)
			<-ctx.Done() // cancelled once the hedge wins
			return status.FromContextError(ctx.Err()).Err()
		}
		return nil
	}
	if callStateReused(t, hedged, retry.ExecutorOptions{}, slowPrimary, func() { <-primaryDone }) {
		t.Error("a hedged call's state was reused")
	}
}
