package regoredis_test

import (
	"context"
	"fmt"
	"net"

	"github.com/redis/go-redis/v9"

	"github.com/aponysus/rego/budget"
	"github.com/aponysus/rego/policy"

	regoredis "github.com/aponysus/rego/integrations/redis"
)

// A fleet budget registered under the name a policy's retry budget gives.
// It needs a Redis server, so the example has no output to check.
func ExampleNewFleetBudget() {
	rdb := redis.NewClient(&redis.Options{Addr: "localhost:6379", ContextTimeoutEnabled: true})
	defer rdb.Close()
	fleet, err := regoredis.NewFleetBudget(regoredis.BudgetOptions{
		Options: regoredis.Options{Client: rdb, Name: "payments"},
		Ratio:   budget.RatioOptions{Ratio: 0.1},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	budgets := budget.NewRegistry()
	budgets.Register("payments-fleet", fleet)
}

// Without Redis the budget decides locally within its timeout, and the
// reasons say so. Here the client points at a port nothing listens on.
func Example_fallback() {
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := l.Addr().String()
	l.Close()
	rdb := redis.NewClient(&redis.Options{Addr: addr, ContextTimeoutEnabled: true})
	defer rdb.Close()

	fleet, err := regoredis.NewFleetBudget(regoredis.BudgetOptions{
		Options: regoredis.Options{Client: rdb, Name: "payments"},
		Ratio:   budget.RatioOptions{Ratio: 0.1, MinRetriesPerSecond: -1},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx, key := context.Background(), policy.PolicyKey{Name: "charge"}
	for i := 0; i < 10; i++ {
		fleet.AllowAttempt(ctx, key, 0, budget.KindRetry, policy.BudgetRef{})
	}
	for i := 1; i <= 2; i++ {
		d := fleet.AllowAttempt(ctx, key, i, budget.KindRetry, policy.BudgetRef{})
		fmt.Println(d.Allowed, d.Reason)
	}
	st := fleet.Stats()
	fmt.Println("fallbacks:", st.Fallbacks, "circuit open:", st.CircuitOpen)
	// Output:
	// true redis_unavailable_local_within_ratio
	// false redis_unavailable_local_ratio_exceeded
	// fallbacks: 12 circuit open: true
}
