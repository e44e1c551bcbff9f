package inspect_test

import (
	"context"
	"testing"
	"time"

	"github.com/aponysus/rego/inspect"
	"github.com/aponysus/rego/observe"
	"github.com/aponysus/rego/policy"
)

// BenchmarkObserveCall is what the Inspector adds to a two-attempt call
// of a tracked key.
func BenchmarkObserveCall(b *testing.B) {
	insp := inspect.New(inspect.Options{})
	ctx := context.Background()
	key := policy.ParseKey("svc.Get")
	p := policy.DefaultPolicyFor(key)
	t0 := time.Now()
	recs := []observe.AttemptRecord{
		{Attempt: 0, StartTime: t0, EndTime: t0.Add(time.Millisecond), BudgetAllowed: true, BudgetReason: "no_budget", Err: errUnavailable},
		{Attempt: 1, RetryIndex: 1, StartTime: t0.Add(2 * time.Millisecond), EndTime: t0.Add(3 * time.Millisecond), BudgetAllowed: true, BudgetReason: "no_budget"},
	}
	tl := observe.Timeline{Key: key, Start: t0, End: t0.Add(3 * time.Millisecond), Attempts: recs,
		Attributes: map[string]string{observe.AttrPolicySource: "default"}}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		insp.OnStart(ctx, key, p)
		insp.OnAttempt(ctx, key, recs[0])
		insp.OnAttempt(ctx, key, recs[1])
		insp.OnSuccess(ctx, key, tl)
	}
}
