package observe_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/aponysus/rego/observe"
	"github.com/aponysus/rego/policy"
	"github.com/aponysus/rego/regotest"
	"github.com/aponysus/rego/retry"
)

type printer struct{ observe.BaseObserver }

func (printer) OnAttempt(ctx context.Context, key policy.PolicyKey, rec observe.AttemptRecord) {
	info, _ := observe.AttemptFromContext(ctx)
	fmt.Printf("%s attempt %d (retry step %d): %s\n", key, rec.Attempt, info.RetryIndex, rec.Outcome.Kind)
}

func ExampleBaseObserver() {
	var o observe.Observer = observe.MultiObserver{Observers: []observe.Observer{printer{}, nil}}
	ctx := observe.WithAttempt(context.Background(), observe.AttemptInfo{Attempt: 1, RetryIndex: 1})
	o.OnAttempt(ctx, policy.ParseKey("svc.Get"), observe.AttemptRecord{Attempt: 1})
	// Output: svc.Get attempt 1 (retry step 1): unknown
}

// attemptCounter uses OnAttempt alone and says so, so that an executor
// builds no timeline for it.
type attemptCounter struct {
	observe.BaseObserver
	attempts, failures int
}

func (c *attemptCounter) OnAttempt(_ context.Context, _ policy.PolicyKey, rec observe.AttemptRecord) {
	c.attempts++
	if rec.Err != nil {
		c.failures++
	}
}

func (*attemptCounter) ObserverHooks() observe.Hooks { return observe.HookAttempt }

func ExampleHookSelector() {
	c := &attemptCounter{}
	exec := retry.NewExecutor(retry.ExecutorOptions{Observer: c, Clock: regotest.InstantClock{}})
	n := 0
	err := exec.Do(context.Background(), policy.ParseKey("svc.Get"), func(context.Context) error {
		if n++; n < 3 {
			return errors.New("unavailable")
		}
		return nil
	})
	fmt.Println(err, c.attempts, "attempts,", c.failures, "failed")
	// Output: <nil> 3 attempts, 2 failed
}
