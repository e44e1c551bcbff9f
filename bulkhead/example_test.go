package bulkhead_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aponysus/rego/bulkhead"
	"github.com/aponysus/rego/gate"
	"github.com/aponysus/rego/policy"
)

func Example() {
	key := policy.ParseKey("reports.render")
	p := &policy.EffectivePolicy{Key: key, Bulkhead: policy.BulkheadPolicy{Enabled: true, MaxConcurrent: 2}}
	reg := &bulkhead.Registry{}
	a := gate.Attempt{Key: key, Policy: p}

	first, _ := reg.Admit(context.Background(), a, time.Now())
	second, _ := reg.Admit(context.Background(), a, time.Now())
	_, err := reg.Admit(context.Background(), a, time.Now())
	fmt.Println(first.Reason, second.Reason)
	fmt.Println(err, errors.Is(err, bulkhead.ErrFull))

	first.Done(gate.Result{Verdict: gate.Answered})
	third, err := reg.Admit(context.Background(), a, time.Now())
	fmt.Println(third.Reason, err, reg.For(key).InFlight())
	second.Done(gate.Result{Verdict: gate.Answered})
	third.Done(gate.Result{Verdict: gate.Answered})
	// Output:
	// admitted admitted
	// gate: attempt refused by bulkhead: full true
	// admitted <nil> 2
}
