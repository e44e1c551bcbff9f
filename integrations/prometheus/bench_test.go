package regoprom

import (
	"context"
	"testing"

	"github.com/aponysus/rego/classify"
	"github.com/aponysus/rego/observe"
	"github.com/aponysus/rego/policy"
	"github.com/prometheus/client_golang/prometheus"
)

// BenchmarkObserverCall is the observer's cost for one successful
// single-attempt call (OnAttempt and OnSuccess), the common case.
func BenchmarkObserverCall(b *testing.B) {
	o, err := NewObserver(Options{Registerer: prometheus.NewRegistry()})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	key := policy.ParseKey("svc.Method")
	rec := observe.AttemptRecord{BudgetAllowed: true, Outcome: classify.Outcome{Kind: classify.OutcomeSuccess}}
	tl := observe.Timeline{Key: key, Attributes: map[string]string{observe.AttrPolicySource: "static"}}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			o.OnAttempt(ctx, key, rec)
			o.OnSuccess(ctx, key, tl)
		}
	})
}
