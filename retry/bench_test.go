package retry_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aponysus/rego/budget"
	"github.com/aponysus/rego/clock"
	"github.com/aponysus/rego/controlplane"
	"github.com/aponysus/rego/gate"
	"github.com/aponysus/rego/observe"
	"github.com/aponysus/rego/policy"
	"github.com/aponysus/rego/regotest"
	"github.com/aponysus/rego/retry"
)

// The paths of the performance budget; docs/performance.md has the
// numbers. Policy lookups are measured in controlplane.

var (
	benchKey = policy.ParseKey("bench.Call")
	errBench = errors.New("bench: failure")
	sink     int
)

func withPolicy(p policy.EffectivePolicy, opts retry.ExecutorOptions) *retry.Executor {
	opts.Provider = &controlplane.StaticProvider{Policies: map[policy.PolicyKey]policy.EffectivePolicy{benchKey: p}}
	return retry.NewExecutor(opts)
}

// benchDo runs exec.Do(op) b.N times and demands the error want.
func benchDo(b *testing.B, exec *retry.Executor, op func(context.Context) error, want error) {
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := exec.Do(ctx, benchKey, op); err != want && !stoppedWith(err, want) {
			b.Fatal(err)
		}
	}
}

func succeed(context.Context) error { return nil }

// benchStop is stoppedWith's target: a variable of its own would escape
// through errors.As and allocate, and benchmarks measure the executor's
// allocations. (Benchmarks run one at a time; none of them is parallel
// and fails.)
var benchStop *retry.StopError

// stoppedWith reports whether err is a *retry.StopError whose last error
// is want (without errors.Is, whose Unwrap of a StopError allocates).
func stoppedWith(err, want error) bool {
	return errors.As(err, &benchStop) && benchStop.Err == want
}

func BenchmarkSuccess(b *testing.B) {
	benchDo(b, retry.NewExecutor(retry.ExecutorOptions{}), succeed, nil)
}

func BenchmarkSuccessValue(b *testing.B) {
	exec := retry.NewExecutor(retry.ExecutorOptions{})
	ctx := context.Background()
	op := func(context.Context) (int, error) { return 42, nil }
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		v, err := retry.DoValue(ctx, exec, benchKey, op)
		if err != nil {
			b.Fatal(err)
		}
		sink += v
	}
}

func BenchmarkSuccessParallel(b *testing.B) {
	exec := retry.NewExecutor(retry.ExecutorOptions{})
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		ctx := context.Background()
		for pb.Next() {
			if err := exec.Do(ctx, benchKey, succeed); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkThreeFailures runs the default policy's three attempts on a
// clock whose waits end at once.
func BenchmarkThreeFailures(b *testing.B) {
	exec := retry.NewExecutor(retry.ExecutorOptions{Clock: regotest.InstantClock{}})
	benchDo(b, exec, func(context.Context) error { return errBench }, errBench)
}

func BenchmarkTimelineOneAttempt(b *testing.B) {
	exec := retry.NewExecutor(retry.ExecutorOptions{})
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		tl, err := exec.DoWithTimeline(ctx, benchKey, succeed)
		if err != nil || len(tl.Attempts) != 1 {
			b.Fatal(err)
		}
	}
}

func BenchmarkSuccessWithTokenBucket(b *testing.B) {
	reg := budget.NewRegistry()
	reg.Register("retries", budget.NewTokenBucketBudget(100, 10))
	exec := withPolicy(policy.EffectivePolicy{Retry: policy.RetryPolicy{Budget: policy.BudgetRef{Name: "retries"}}},
		retry.ExecutorOptions{Budgets: reg})
	benchDo(b, exec, succeed, nil)
}

func hedgedExec(clk clock.Clock) *retry.Executor {
	return withPolicy(policy.EffectivePolicy{Hedge: policy.HedgePolicy{Enabled: true, MaxHedges: 1, Delay: time.Hour}},
		retry.ExecutorOptions{Clock: clk})
}

// BenchmarkHedgedSuccessBeforeDelay: hedging on, the primary answers
// before the hedge delay (the common case). It measures the price of the
// concurrent mode against BenchmarkSuccess.
func BenchmarkHedgedSuccessBeforeDelay(b *testing.B) {
	benchDo(b, hedgedExec(clock.Real{}), succeed, nil)
}

// BenchmarkHedgeWins: the primary hangs until cancelled; the hedge,
// launched at once (the clock does not wait), wins.
func BenchmarkHedgeWins(b *testing.B) {
	benchDo(b, hedgedExec(regotest.InstantClock{}), func(ctx context.Context) error {
		if info, _ := observe.AttemptFromContext(ctx); !info.IsHedge {
			<-ctx.Done()
			return ctx.Err()
		}
		return nil
	}, nil)
}

type floorKey struct{}

// BenchmarkFloor is the performance budget's reference: a bare function
// call plus a map lookup and one context allocation. The budget puts the
// success path at no more than twice this.
func BenchmarkFloor(b *testing.B) {
	m := map[policy.PolicyKey]int{benchKey: 3}
	ctx := context.Background()
	op := func(ctx context.Context) error {
		if ctx.Value(floorKey{}) == nil {
			return errBench
		}
		return nil
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		sink += m[benchKey]
		if err := op(context.WithValue(ctx, floorKey{}, i)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSuccessWithBreaker: the key's policy enables a circuit breaker
// (its gate: two atomic loads to admit, a few atomic operations to count
// the success; no lock, no clock read).
func BenchmarkSuccessWithBreaker(b *testing.B) {
	exec := withPolicy(policy.EffectivePolicy{Circuit: policy.CircuitPolicy{Enabled: true}}, retry.ExecutorOptions{})
	benchDo(b, exec, succeed, nil)
}

// BenchmarkSuccessWithBreakerAndBudget: a closed breaker and a token
// bucket, the two built-in gates most policies enable.
func BenchmarkSuccessWithBreakerAndBudget(b *testing.B) {
	reg := budget.NewRegistry()
	reg.Register("retries", budget.NewTokenBucketBudget(100, 10))
	exec := withPolicy(policy.EffectivePolicy{
		Retry:   policy.RetryPolicy{Budget: policy.BudgetRef{Name: "retries"}},
		Circuit: policy.CircuitPolicy{Enabled: true},
	}, retry.ExecutorOptions{Budgets: reg})
	benchDo(b, exec, succeed, nil)
}

// counterGate admits every attempt and counts the running ones: a user
// gate whose permits need completing, on its uncontended path.
type counterGate struct{ running atomic.Int64 }

func (g *counterGate) Admit(context.Context, gate.Attempt, time.Time) (gate.Permit, error) {
	g.running.Add(1)
	return gate.Permit{Reason: "admitted", Completer: g}, nil
}

func (g *counterGate) Complete(gate.Permit, gate.Result) { g.running.Add(-1) }

func userGateExec() *retry.Executor {
	reg := gate.NewRegistry()
	reg.Register("count", &counterGate{})
	return withPolicy(policy.EffectivePolicy{Gates: []policy.GateRef{{Name: "count"}}}, retry.ExecutorOptions{Gates: reg})
}

// BenchmarkSuccessWithUserGate: one user gate, admitted and completed.
func BenchmarkSuccessWithUserGate(b *testing.B) {
	benchDo(b, userGateExec(), succeed, nil)
}
