// Command demo shows rego doing its main job, with no external service:
// it calls a flaky in-process "dependency" through an executor under a few
// policies (retries with a per-attempt timeout, a retry budget, a
// permanent error, a circuit breaker, a hedge, a bulkhead that sheds the
// least critical work first) and prints what happened, attempt by attempt.
//
//	go run ./examples/demo
package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aponysus/rego/budget"
	"github.com/aponysus/rego/classify"
	"github.com/aponysus/rego/controlplane"
	"github.com/aponysus/rego/gate"
	"github.com/aponysus/rego/observe"
	"github.com/aponysus/rego/policy"
	"github.com/aponysus/rego/retry"
)

var errUnavailable = errors.New("503 service unavailable")

func main() {
	budgets := budget.NewRegistry()
	budgets.Register("retries", budget.NewTokenBucketBudget(2, 0.5))

	provider := &controlplane.StaticProvider{Policies: map[policy.PolicyKey]policy.EffectivePolicy{
		policy.ParseKey("inventory.Reserve"): {
			ID: "reserve-v1",
			Retry: policy.RetryPolicy{
				MaxAttempts: 4, InitialBackoff: 20 * time.Millisecond, MaxBackoff: 200 * time.Millisecond,
				Jitter: policy.JitterEqual, TimeoutPerAttempt: 80 * time.Millisecond,
			},
		},
		policy.ParseKey("payments.Charge"): {
			ID: "charge-v1",
			Retry: policy.RetryPolicy{
				MaxAttempts: 5, InitialBackoff: 10 * time.Millisecond,
				Budget: policy.BudgetRef{Name: "retries"},
			},
		},
		policy.ParseKey("ledger.Post"): {
			ID:      "post-with-breaker",
			Retry:   policy.RetryPolicy{MaxAttempts: 2, InitialBackoff: 5 * time.Millisecond},
			Circuit: policy.CircuitPolicy{Enabled: true, FailureThreshold: 3, Cooldown: time.Minute},
		},
		policy.ParseKey("search.Query"): {
			ID:    "query-hedged",
			Retry: policy.RetryPolicy{MaxAttempts: 3},
			Hedge: policy.HedgePolicy{Enabled: true, MaxHedges: 1, Delay: 30 * time.Millisecond},
		},
		policy.ParseKey("reports.Render"): {
			ID:       "render-bounded",
			Retry:    policy.RetryPolicy{MaxAttempts: 1},
			Bulkhead: policy.BulkheadPolicy{Enabled: true, MaxConcurrent: 4},
			Shed:     policy.ShedPolicy{Enabled: true}, // sheddable work may fill 2 of the 4 slots, critical work 3
		},
	}}
	exec := retry.NewExecutor(retry.ExecutorOptions{Provider: provider, Budgets: budgets})
	ctx := context.Background()

	// 1. A flaky dependency: two failures, one of them a timeout, then
	// success.
	var n atomic.Int32
	tl, err := exec.DoWithTimeline(ctx, policy.ParseKey("inventory.Reserve"), func(ctx context.Context) error {
		switch n.Add(1) {
		case 1:
			return errUnavailable
		case 2:
			<-ctx.Done() // hangs until the per-attempt timeout fires
			return ctx.Err()
		}
		return nil
	})
	show("flaky dependency, per-attempt timeout", tl, err)

	// 2. A hard outage behind a retry budget: the token bucket lets two
	// retries through, then denies, and the denial is in the timeline.
	for i := 0; i < 2; i++ {
		tl, err = exec.DoWithTimeline(ctx, policy.ParseKey("payments.Charge"), func(ctx context.Context) error {
			return errUnavailable
		})
		show(fmt.Sprintf("outage behind a retry budget (call %d)", i+1), tl, err)
	}

	// 3. A permanent error is not retried.
	tl, err = exec.DoWithTimeline(ctx, policy.ParseKey("inventory.Reserve"), func(ctx context.Context) error {
		return classify.Permanent(errors.New("400 bad request"))
	})
	show("permanent error", tl, err)

	// 4. A circuit breaker: three failed attempts open it; from then on
	// calls fail at once, without calling the dependency.
	for i := 0; i < 3; i++ {
		tl, err = exec.DoWithTimeline(ctx, policy.ParseKey("ledger.Post"), func(ctx context.Context) error {
			return errUnavailable
		})
		show(fmt.Sprintf("circuit breaker (call %d)", i+1), tl, err)
	}

	// 5. Hedging: the first attempt lands on a slow replica; a hedge sent
	// after 30ms wins and the slow attempt is cancelled.
	tl, err = exec.DoWithTimeline(ctx, policy.ParseKey("search.Query"), func(ctx context.Context) error {
		info, _ := observe.AttemptFromContext(ctx)
		latency := 500 * time.Millisecond // a slow replica
		if info.IsHedge {
			latency = 5 * time.Millisecond
		}
		select {
		case <-time.After(latency):
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	})
	show("hedged request", tl, err)

	// 6. Overload: two renders are in flight; a sheddable one is refused
	// at once (its share of the bulkhead is full), a critical one runs.
	release := make(chan struct{})
	running := make(chan struct{}, 2)
	var wg sync.WaitGroup
	for i := 0; i < 2; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = exec.Do(ctx, policy.ParseKey("reports.Render"), func(ctx context.Context) error {
				running <- struct{}{}
				<-release
				return nil
			})
		}()
		<-running
	}
	render := func(context.Context) error { return nil }
	sheddable := gate.WithCriticality(ctx, gate.CriticalitySheddable)
	tl, err = exec.DoWithTimeline(sheddable, policy.ParseKey("reports.Render"), render)
	show("overload, sheddable call", tl, err)
	tl, err = exec.DoWithTimeline(gate.WithCriticality(ctx, gate.CriticalityCritical), policy.ParseKey("reports.Render"), render)
	show("overload, critical call", tl, err)
	close(release)
	wg.Wait()
}

func show(title string, tl observe.Timeline, err error) {
	fmt.Printf("== %s\n", title)
	fmt.Print(tl) // the same table as tl.WriteTo(os.Stdout)
	if err != nil && !errors.Is(err, tl.FinalErr) {
		fmt.Printf("(the call returned %v)\n", err)
	}
	fmt.Println()
}
