package adaptive_test

import (
	"context"
	"fmt"
	"time"

	"github.com/aponysus/rego/adaptive"
	"github.com/aponysus/rego/gate"
	"github.com/aponysus/rego/policy"
)

// The limit moves with what completed attempts report: with "aimd" it
// grows by one per completed attempt while at least half of it is in use
// (the attempt itself included), and shrinks by 10% per failure.
func Example() {
	key := policy.ParseKey("search.query")
	p := &policy.EffectivePolicy{Key: key, Concurrency: policy.ConcurrencyPolicy{
		Enabled: true, Algorithm: adaptive.AIMD, InitialLimit: 4, MinLimit: 2, MaxLimit: 8,
	}}
	reg := &adaptive.Registry{}
	a := gate.Attempt{Key: key, Policy: p}
	run := func(v gate.Verdict) {
		var held []gate.Permit
		for {
			pm, err := reg.Admit(context.Background(), a, time.Time{})
			if err != nil {
				break // the limit is reached
			}
			held = append(held, pm)
		}
		for _, pm := range held {
			pm.Done(gate.Result{Verdict: v, Latency: 10 * time.Millisecond})
		}
		limit, _ := reg.Limit(key)
		fmt.Println(len(held), "admitted, limit now", limit)
	}
	run(gate.Answered)
	run(gate.Answered)
	run(gate.Failed)
	// Output:
	// 4 admitted, limit now 6
	// 6 admitted, limit now 8
	// 8 admitted, limit now 3
}
