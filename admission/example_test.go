package admission_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aponysus/rego/admission"
	"github.com/aponysus/rego/bulkhead"
	"github.com/aponysus/rego/gate"
	"github.com/aponysus/rego/policy"
)

// A server admits each request of a route key through the overload gates
// its policy enables, and answers a refusal with a wait.
func Example() {
	gates := admission.NewGates(nil)
	key := policy.ParseKey("api.GetUser")
	p := &policy.EffectivePolicy{Bulkhead: policy.BulkheadPolicy{Enabled: true, MaxConcurrent: 1}}
	ctx := context.Background()

	first, err := gates.Admit(ctx, gate.Attempt{Key: key, Policy: p}, time.Now())
	fmt.Println("first request:", err)

	_, err = gates.Admit(ctx, gate.Attempt{Key: key, Policy: p}, time.Now())
	fmt.Println("second request:", err)
	fmt.Println("full bulkhead:", errors.Is(err, bulkhead.ErrFull), "rate limited:", admission.RateLimited(err))
	fmt.Println("retry after:", admission.RetryAfter(err, time.Second))

	first.Done(gate.Result{Verdict: gate.Answered, Latency: 5 * time.Millisecond, End: time.Now()})
	third, err := gates.Admit(ctx, gate.Attempt{Key: key, Policy: p}, time.Now())
	fmt.Println("after the first ended:", err)
	third.Done(gate.Result{Verdict: gate.Answered})
	// Output:
	// first request: <nil>
	// second request: gate: attempt refused by bulkhead: full
	// full bulkhead: true rate limited: false
	// retry after: 1s
	// after the first ended: <nil>
}
