package shed_test

import (
	"context"
	"fmt"
	"time"

	"github.com/aponysus/rego/gate"
	"github.com/aponysus/rego/policy"
	"github.com/aponysus/rego/shed"
)

// With a capacity of 4, sheddable work may fill 2 slots, sheddable_plus
// work 3, critical work 3 (90%, rounded down), and critical_plus work all.
func Example() {
	key := policy.ParseKey("feed.render")
	p := &policy.EffectivePolicy{Key: key, Shed: policy.ShedPolicy{Enabled: true, Capacity: 4}}
	reg := &shed.Registry{}
	var held []gate.Permit
	for _, c := range []gate.Criticality{
		gate.CriticalitySheddable, gate.CriticalitySheddable, gate.CriticalitySheddable,
		gate.CriticalitySheddablePlus, gate.CriticalityCritical, gate.CriticalityCriticalPlus,
	} {
		pm, err := reg.Admit(context.Background(), gate.Attempt{Key: key, Policy: p, Criticality: c}, time.Time{})
		fmt.Printf("%-14s %s\n", c, pm.Reason)
		if err == nil {
			held = append(held, pm)
		}
	}
	for _, pm := range held {
		pm.Done(gate.Result{Verdict: gate.Answered})
	}
	// Output:
	// sheddable      admitted
	// sheddable      admitted
	// sheddable      shed_sheddable
	// sheddable_plus admitted
	// critical       shed_critical
	// critical_plus  admitted
}
