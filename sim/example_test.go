package sim_test

import (
	"fmt"
	"math/rand"
	"time"

	"github.com/aponysus/rego/budget"
	"github.com/aponysus/rego/clock"
	"github.com/aponysus/rego/policy"
	"github.com/aponysus/rego/sim"
)

// A minute of total outage at 1000 calls per second, with and without a
// 10% ratio budget, in a fraction of a second of real time.
func ExampleRun() {
	for _, withBudget := range []bool{false, true} {
		sc := sim.Scenario{
			Seed:     1,
			Duration: time.Minute,
			Rate:     1000,
			Server:   sim.ServerConfig{Latency: sim.Constant(10 * time.Millisecond), Failure: sim.FailureRate(1)},
			Retry:    policy.RetryPolicy{MaxAttempts: 3},
		}
		if withBudget {
			sc.Budget = func(clk clock.Clock, _ *rand.Rand) (budget.Budget, error) {
				return budget.NewRatioBudget(budget.RatioOptions{Clock: clk})
			}
		}
		rep, err := sim.Run(sc)
		if err != nil {
			panic(err)
		}
		fmt.Printf("budget %v: %d calls, load %.2fx\n", withBudget, rep.Offered, rep.Load)
	}
	// Output:
	// budget false: 60000 calls, load 3.00x
	// budget true: 60000 calls, load 1.10x
}

// The simulation's clock drives rego's real budgets on virtual time.
func ExampleSim() {
	s := sim.New(1)
	tb := budget.NewTokenBucketBudgetClock(1, 1, s.Clock()) // one token a second
	for i := 0; i < 4; i++ {
		s.After(time.Duration(i)*600*time.Millisecond, func() {
			fmt.Println(s.Elapsed(), tb.TakeAt(s.Now(), 1))
		})
	}
	s.Run()
	// Output:
	// 0s true
	// 600ms false
	// 1.2s true
	// 1.8s false
}

// A client runs a whole policy through the executor's decision core: here
// a hedge after 20ms against a server that takes 50ms, and a breaker.
func ExampleNewClient() {
	s := sim.New(1)
	srv := sim.NewServer(s, sim.ServerConfig{Latency: sim.Constant(50 * time.Millisecond)})
	p := policy.EffectivePolicy{
		Retry:   policy.RetryPolicy{MaxAttempts: 2},
		Hedge:   policy.HedgePolicy{Enabled: true, Delay: 20 * time.Millisecond},
		Circuit: policy.CircuitPolicy{Enabled: true},
	}
	c, err := sim.NewClient(s, srv, sim.ClientConfig{Key: policy.ParseKey("search.Query"), Policy: &p})
	if err != nil {
		panic(err)
	}
	c.Call(func(r sim.Result) {
		fmt.Printf("%v after %v: %d attempts, %d a hedge\n", r.Err, r.End.Sub(r.Start), r.Attempts, r.Hedges)
		for _, a := range r.Timeline.Attempts {
			fmt.Printf("attempt %d at +%v: hedge %v, cancelled %v\n", a.Attempt, a.StartTime.Sub(r.Start), a.IsHedge, a.Cancelled)
		}
	})
	s.Run()
	// Output:
	// <nil> after 50ms: 2 attempts, 1 a hedge
	// attempt 0 at +0s: hedge false, cancelled false
	// attempt 1 at +20ms: hedge true, cancelled true
}
