package benchmarks

import (
	"context"
	"testing"
	"time"

	"github.com/aponysus/rego/budget"
	"github.com/aponysus/rego/policy"
	"github.com/aponysus/rego/retry"
)

// Library names of the engine's optional features: each is rego with one
// feature on, beside rego without it (lib=rego) and, for hedging, a
// hand-written hedge (lib=handwritten).
const (
	libRegoBreaker       = "lib=rego-breaker"
	libRegoTokenBucket   = "lib=rego-tokenbucket"
	libRegoRatio         = "lib=rego-ratio"
	libRegoBreakerBudget = "lib=rego-breaker-budget"
	libHandwritten       = "lib=handwritten"
)

// loopDo runs exec.Do b.N times on op, measuring CPU time, and checks that
// every call succeeded with one attempt.
func loopDo(b *testing.B, exec *retry.Executor, op func(context.Context) error) {
	ctx := context.Background()
	s := &script{}
	call := func(ctx context.Context) error { s.attempts++; return op(ctx) }
	b.ReportAllocs()
	b.ResetTimer()
	m := startCPU()
	for i := 0; i < b.N; i++ {
		if err := exec.Do(ctx, benchKey, call); err != nil {
			b.Fatal(err)
		}
	}
	m.report(b)
	b.StopTimer()
	expect(b, "attempts", s.attempts, int64(b.N))
}

func succeedOp(context.Context) error { return nil }

// gatedExec returns an executor for a successful call through the gates of
// p, with the budgets of reg.
func gatedExec(p policy.EffectivePolicy, reg *budget.Registry) *retry.Executor {
	p.Retry.MaxAttempts = attempts
	return retry.NewExecutor(retry.ExecutorOptions{Provider: staticPolicy(p), Budgets: reg})
}

// closedBreaker is the breaker of the gated scenarios: five consecutive
// failures open it; the calls succeed, so it stays closed.
var closedBreaker = policy.CircuitPolicy{Enabled: true, FailureThreshold: 5, Cooldown: 30 * time.Second}

// gateBudgets returns a registry with the budgets of the gated scenarios:
// a token bucket ("bucket") and a ratio budget ("ratio").
func gateBudgets(b *testing.B) *budget.Registry {
	reg := budget.NewRegistry()
	reg.Register("bucket", budget.NewTokenBucketBudget(100, 10))
	ratio, err := budget.NewRatioBudget(budget.RatioOptions{})
	if err != nil {
		b.Fatal(err)
	}
	reg.Register("ratio", ratio)
	return reg
}

// BenchmarkGated is a call that succeeds at once through rego's built-in
// gates: none, a closed breaker, a token-bucket budget, a ratio budget, a
// breaker and a token bucket. Each checks every call made one attempt.
func BenchmarkGated(b *testing.B) {
	reg := gateBudgets(b)
	breaker := closedBreaker
	withBudget := func(name string) policy.RetryPolicy {
		return policy.RetryPolicy{Budget: policy.BudgetRef{Name: name}}
	}
	run := func(p policy.EffectivePolicy) func(*testing.B) {
		return func(b *testing.B) { loopDo(b, gatedExec(p, reg), succeedOp) }
	}
	runSubsRotated(b, []sub{
		{libRego, run(policy.EffectivePolicy{})},
		{libRegoBreaker, run(policy.EffectivePolicy{Circuit: breaker})},
		{libRegoTokenBucket, run(policy.EffectivePolicy{Retry: withBudget("bucket")})},
		{libRegoRatio, run(policy.EffectivePolicy{Retry: withBudget("ratio")})},
		{libRegoBreakerBudget, run(policy.EffectivePolicy{Retry: withBudget("bucket"), Circuit: breaker})},
	})
}

// handHedge runs op, and a second op if the first has not answered after
// delay; the first answer wins and the other attempt is cancelled.
func handHedge(ctx context.Context, op func(context.Context) error, delay time.Duration) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	results := make(chan error, 2)
	attempt := func() { results <- op(ctx) }
	go attempt()
	t := time.NewTimer(delay)
	defer t.Stop()
	select {
	case err := <-results:
		return err
	case <-t.C:
		go attempt()
		return <-results
	}
}
