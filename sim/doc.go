// Package sim is a deterministic discrete-event simulation of clients
// calling servers through rego's executor, on virtual time.
//
// A Sim is an event queue, a virtual clock and a seeded random source: the
// same seed gives the same run, event for event, in a few milliseconds of
// real time for minutes of virtual time. Its Clock implements clock.Clock,
// so rego's real parts (budgets, breakers, overload gates, latency
// trackers, the executor itself) run inside the simulation unchanged.
//
// A Client makes every call through the executor's decision core: a
// retry.Call (retry.Begin) driven by the event queue, on a real
// *retry.Executor whose clock is the Sim's. Nothing about what a call does
// is modelled apart from the executor: the attempts, backoff and jitter,
// per-attempt and overall timeouts, Retry-After, hedges and their
// triggers, the circuit breaker, the budgets a policy names, the overload
// gates and user gates, the classifier, the stop reasons, the errors and
// the timeline are the executor's own. The simulation supplies only the
// events the core waits for: an attempt ends when the server answers or
// when its context's deadline passes, whichever comes first (as an
// operation honouring its context does); a backoff ends after its wait; a
// hedge is due when its timer fires. TestExecutorCrossCheck holds the two
// drivers to each other: the same scenarios through the blocking executor
// and through the simulator give the same attempt records.
//
// A Client builds an executor of its own from a ClientConfig (a retry
// policy or a whole policy.EffectivePolicy, a budget, a classifier), or
// runs on one it is given, which several clients of one simulated process
// share with its breakers and budgets. Servers combine a latency model
// (Constant, Normal, Exponential, LogNormal), a failure model
// (FailureRate, Outage), an optional concurrency capacity and a
// Retry-After hint on their failures (Answer.RetryAfter, which Classifier
// turns into the outcome's BackoffOverride); a QueueServer is a server
// with workers and a queue behind rego's overload gates. A call's
// Result.Err is what the executor returned: match it with errors.Is
// against ErrRetryable, ErrNonRetryable, ErrTimeout, budget.ErrDenied,
// circuit.ErrOpen, retry.ErrAttemptsExhausted, retry.ErrDeadline,
// context.DeadlineExceeded.
//
// Run drives an open-loop scenario and reports offered load, load
// amplification and success rate; RunOverload drives a load spike
// against a QueueServer; RunOCC reproduces the optimistic-concurrency
// experiment of "Exponential Backoff And Jitter" (AWS Architecture Blog,
// 2015), whose clients retry until they succeed, beyond any policy's
// MaxAttempts, with waits from retry.Backoff.
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
// A gate that waits (a bulkhead, rate limit or concurrency limit with a
// MaxWait) cannot wait on the event loop: NewClient refuses such policies.
package sim
