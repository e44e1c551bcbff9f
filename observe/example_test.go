package observe_test

import (
	"context"
	"fmt"

	"github.com/aponysus/rego/observe"
	"github.com/aponysus/rego/policy"
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
