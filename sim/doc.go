// Package sim is a deterministic discrete-event simulation of clients
// calling a server through rego's retry and budget machinery, on virtual
// time.
//
// A Sim is an event queue, a virtual clock and a seeded random source: the
// same seed gives the same run, event for event, in a few milliseconds of
// real time for minutes of virtual time. Its Clock implements clock.Clock,
// so rego's real budgets (budget.TokenBucketBudget, budget.RatioBudget,
// budget.Throttle) run inside the simulation unchanged.
//
// Clients model the executor's semantics: every attempt, the first
// included, asks the policy's budget (attempt index = attempts launched so
// far, kind budget.KindRetry); a denied attempt is not sent and ends the
// call with the last error, or a *budget.DeniedError when nothing ran;
// Decision.Release runs once after each allowed attempt; budgets that
// implement budget.OutcomeRecorder learn each completed attempt's outcome;
// waits come from retry.Backoff, and MaxAttempts counts the first call.
//
// Servers combine a latency model (Constant, Normal, Exponential,
// LogNormal), a failure model (FailureRate, Outage) and an
// optional concurrency capacity. Run drives an open-loop scenario and
// reports offered load, load amplification and success rate; RunOCC
// reproduces the optimistic-concurrency experiment of "Exponential Backoff
// And Jitter" (AWS Architecture Blog, 2015).
//
//	rep, err := sim.Run(sim.Scenario{
//		Seed:     1,
//		Duration: time.Minute,
//		Rate:     1000,
//		Server:   sim.ServerConfig{Latency: sim.Constant(10 * time.Millisecond), Failure: sim.FailureRate(1)},
//		Retry:    policy.RetryPolicy{MaxAttempts: 3},
//	})
//	// rep.Load is about 3: a total outage triples the offered load.
//
// A Sim runs in one goroutine; the simulated world is single-threaded, so
// nothing in it needs locks, but its Clock is safe to read from anywhere.
package sim
