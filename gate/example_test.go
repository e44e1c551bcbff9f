package gate_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aponysus/rego/gate"
)

// A call's criticality travels in its context and, across processes, by
// its wire name.
func ExampleWithCriticality() {
	ctx := gate.WithCriticality(context.Background(), gate.CriticalitySheddable)
	fmt.Println(gate.CriticalityFrom(ctx))
	fmt.Println(gate.CriticalityFrom(context.Background())) // unset: ranks as critical

	c, ok := gate.ParseCriticality(" Sheddable_Plus ")
	fmt.Println(c, ok, c.Rank())
	_, ok = gate.ParseCriticality("urgent")
	fmt.Println(ok)
	// Output:
	// sheddable
	// critical
	// sheddable_plus true 2
	// false
}

// A refusal names its gate and reason, and matches ErrRefused and the
// gate's own error.
func ExampleRefusedError() {
	errQuota := errors.New("quota: exhausted")
	var err error = &gate.RefusedError{Gate: "quota", Reason: "exhausted", RetryAfter: 1500 * time.Millisecond, Err: errQuota}
	fmt.Println(err)
	fmt.Println(errors.Is(err, gate.ErrRefused), errors.Is(err, errQuota))
	// Output:
	// gate: attempt refused by quota: exhausted (retry after 1.5s)
	// true true
}

// The order in which the executor asks the built-in gates; user gates
// come after them.
func ExampleOrder() {
	fmt.Println(gate.Order)
	// Output:
	// [circuit shed rate_limit budget bulkhead concurrency]
}
