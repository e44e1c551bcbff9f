// Package retry is rego's executor: it runs an operation under the policy
// of its key and records, attempt by attempt, what it did and why.
//
//	exec := retry.NewExecutor(retry.ExecutorOptions{Provider: provider, Budgets: budgets})
//	user, tl, err := retry.DoValueWithTimeline(ctx, exec, policy.ParseKey("users.Get"), getUser)
//
// # A call
//
// The executor resolves the key's policy (falling back as
// ExecutorOptions.MissingPolicyMode says when the provider fails), then runs
// retry steps. Each step asks the policy's gates (see Gates), waits its
// backoff (none before the first), launches an attempt, classifies the
// result and decides: success ends the call; a retryable failure leads to
// the next step while attempts remain; a non-retryable failure, an abort, a
// refusal by a gate or the end of the caller's context ends it. Every
// attempt, refused ones included, is an observe.AttemptRecord.
// docs/architecture.md draws the flow.
//
//   - If ctx is done before the first attempt, the operation is not called
//     and ctx.Err() is returned.
//   - TimeoutPerAttempt bounds each attempt with a context deadline; an
//     attempt that times out is an ordinary retryable failure.
//   - OverallTimeout bounds the whole call, waits included. A retry whose
//     wait would end after the deadline is not attempted.
//   - Backoff waits end early when ctx is done.
//   - The gates are asked before the wait, so a refused retry costs no
//     time (and a permit is held during the wait).
//   - A call returns after the attempts it waits for have returned: the
//     operation must honour its context, as any function taking one should.
//
// On failure the caller gets the last operation's error (a *OutcomeError
// when the classifier judged a value a failure without an error), as
// errors.Is and errors.As see it:
//
//   - a non-retryable outcome or an abort: that error itself;
//   - a retryable failure after which the call stopped (the attempts ran
//     out, a budget, the breaker or another gate refused the retry, the
//     deadline left no room for the next wait): a *StopError, whose
//     message is the last error's and which unwraps both to it and to the
//     cause, so that errors.Is(err, ErrAttemptsExhausted), errors.Is(err,
//     budget.ErrDenied), errors.Is(err, circuit.ErrOpen), errors.Is(err,
//     gate.ErrRefused) or errors.Is(err, ErrDeadline) says why;
//   - the caller's context ending the call: an error matching both
//     ctx.Err() and the last operation's error.
//
// When nothing ran, the error is rego's own: ErrNoPolicy/*NoPolicyError,
// budget.ErrDenied/*budget.DeniedError, circuit.ErrOpen/*circuit.OpenError,
// gate.ErrRefused/*gate.RefusedError (an overload gate or a user gate), or
// ctx.Err(). A panic is a *PanicError (see Panics).
//
// # Hedging
//
// With policy.HedgePolicy.Enabled the same engine runs attempts on their own
// goroutines. Per retry step the primary attempt launches; the hedge
// trigger (a fixed delay, or the key's recent latency quantile) gives the
// delay after which, if nothing has succeeded, a hedge launches, once its
// budget (kind budget.KindHedge) allows; hedges spread out, one per trigger
// firing, up to MaxHedges per step. Every launched attempt counts toward
// Retry.MaxAttempts. No hedge launches when the overall deadline leaves less
// time than the trigger's delay (the timeline's hedge_skipped attribute is
// then "deadline"). The first success wins: the other attempts' contexts
// are cancelled at once, OnHedgeCancel fires for each (reason CancelLost,
// "lost"), and their results, whenever they arrive, go to
// CallOptions.Discard. A retryable failure waits for the rest of its step; when every attempt of the step
// has failed, the executor backs off and starts the next step. A
// non-retryable outcome ends the call at once when CancelOnNonRetryable is
// set, else the attempts in flight may still succeed and no new step
// starts. A hedge denied by its budget is not launched, is recorded, and
// never aborts the call. No goroutine outlives the call except an attempt
// whose operation ignores its cancelled context.
//
// The sequential and the concurrent mode share every decision: both drive
// one decision core, a state machine with no goroutines, channels, timers
// or sleeps inside, which asks its driver for steps and reads time only
// through the executor's clock. Begin exposes that core to a driver of the
// caller's own (an event loop on virtual time, such as package sim's): see
// Call. The package tests run each scenario through the three drivers and
// demand identical results.
//
// # Gates
//
// Every check before an attempt (first attempts, retries and hedges) is a
// gate.Gate, asked in gate.Order from one table (gates.go): the circuit
// breaker (policy.CircuitPolicy), load shedding, the rate limiter, the
// budget (the retry budget, or the hedge budget for hedges, through
// budget.Registry.Gate), the bulkhead, the adaptive concurrency limit; then
// the user gates the policy names (policy.EffectivePolicy.Gates, looked up
// in ExecutorOptions.Gates), in the list's order. Load shedding, the rate
// limiter, the bulkhead and the concurrency limit keep their per-key state
// in ExecutorOptions.Overload (an admission.Gates; the executor keeps its
// own when it is nil); a gate whose registry is nil there is not
// configured: a policy enabling it is admitted and recorded as
// gate_not_configured. A name missing from a registry fails open, recorded
// as budget_not_found or gate_not_found.
// Gates run only when the policy enables them: a call without gates pays
// nothing for the seam.
//
// A gate admits with a gate.Permit or refuses with an error. On a refusal
// the permits already granted are completed with gate.NotRun, the attempt
// does not run, and a refused retry ends the call: with the last
// operation's error as a *StopError matching the refusal (stop reasons
// circuit_open, budget_denied, gate_refused), or with the refusal itself
// when nothing ran (a *circuit.OpenError, a *budget.DeniedError, a
// *gate.RefusedError). A refused hedge is recorded and ends hedging for the
// step. A gate may wait (Admit blocks), bounded by the call's context and
// its own maximum; a wait the call's end cuts short stops the call with
// stop reason context_done. Each permit is completed exactly once, in the
// reverse of the order the permits were granted, with the attempt's
// gate.Result: when the attempt's result is judged; as cancelled for a
// losing hedge or an attempt running when the call ended (when it
// returns, from its goroutine if the call has returned by then); as not
// run when the backoff wait is cut short or a later gate refuses; on a
// panic too.
//
// A gate in shadow mode (CircuitPolicy.Shadow, BudgetRef.Shadow,
// GateRef.Shadow, and the Shadow flag of the other sections) is asked and
// recorded (GateDecision.Shadow; Admitted false means it would have
// refused) and not enforced. Each attempt record lists every decision in
// order (AttemptRecord.Gates); BudgetReason and CircuitReason keep the
// budget's and the breaker's. Gates see the call's criticality
// (gate.WithCriticality on the caller's context) in gate.Attempt.
//
// # Circuit breakers
//
// With policy.CircuitPolicy.Enabled the key's breaker (package circuit) is
// the first gate of every attempt, hedges included. An open breaker refuses
// the attempt (a record with BudgetAllowed false, CircuitReason "open" and
// RefusedBy "circuit"; the budget is not asked); a refused retry ends the
// call with a *StopError matching circuit.ErrOpen, or a *circuit.OpenError
// when nothing ran. Each attempt's outcome is reported to the breaker
// through its gate API (circuit.Breaker.Admit, Permit.Done), with the
// attempt's latency and end time when a rate rule needs them; it counts
// only in the generation that admitted the attempt, so a failure that
// arrives after the breaker opened and closed again counts for nothing. An
// attempt cut short by the caller's context, aborted or panicked reports
// nothing and gives back a half-open probe slot.
//
// # Panics
//
// A panic in code the user supplied, in either mode, is contained the same
// way: the operation (any attempt, hedges included), a classifier, a
// budget (AllowAttempt, Release, RecordOutcome), an observer callback, a
// hedge trigger, the Discard hook, a gate, the policy provider. It is
// carried to the caller's goroutine and re-raised there as a *PanicError
// holding the value, the stack where it was raised and its Source
// ("operation", "classifier", ...); with ExecutorOptions.RecoverPanics it
// is returned as the call's error instead, with the zero value.
//
// Before it re-raises (or returns) the panic, the call cancels the attempts
// still running and waits for them to return, up to PanicDrainTimeout (100
// ms of real time), so that every budget decision and gate permit of an
// attempt that honours its context has been released when the caller sees
// the panic; an attempt that ignores its context longer releases its own
// when it returns. Every value an attempt produced reaches the caller or
// CallOptions.Discard exactly once, panics included: a call ending in a
// panic hands its last value to Discard.
//
// A panic that can no longer reach the caller (an attempt that panics
// after its call returned, or after another attempt had won; a second
// panic during the same call) is never dropped silently: it is counted
// (Executor.LatePanics) and delivered as an observe.EventLatePanic to an
// observer that implements observe.EventObserver. A library goroutine
// never panics.
//
// # Observers
//
// Observer callbacks run synchronously in the caller's goroutine: OnStart
// first, OnAttempt for each attempt that returned (its ctx is the
// attempt's, so observe.AttemptFromContext works), OnHedgeSpawn and
// OnHedgeCancel for hedging, and OnSuccess or OnFailure last.
//
// # Lifecycle events
//
// An Observer that implements observe.EventObserver also hears the
// executor's lifecycle events, synchronously on the goroutine that saw
// them; a panic in OnEvent is recovered and dropped. None comes with
// every call:
//
//   - observe.EventBreakerState for every state change of a breaker, through
//     the OnStateChange hook the executor sets on its breaker registry (its
//     own, or ExecutorOptions.Breakers when that hook is nil).
//   - observe.EventBudgetExhausted (Detail: the budget's name) when a
//     budget denies an attempt of a key for the first time, or for the first
//     time since it last allowed a retry or hedge of that key; a call's first
//     attempt does not count as allowing. Shadow budgets count too. At most
//     256 (budget, key) pairs are held as exhausted at once; further pairs
//     go unreported until one recovers.
//   - observe.EventKeyOverflow (Detail: the registry, Key: the key) for the
//     1st, 2nd, 4th, 8th, ... overflow the executor sees in each per-key
//     registry: the breakers ("circuit"), the overload gates ("shed",
//     "rate_limit", "bulkhead", "concurrency") and the hedge latencies
//     (OverflowLatencies). The registries' Overflowed methods count them
//     all.
//   - observe.EventLatePanic, as above.
//
// Policy reloads are the providers' to report (their Observer options).
//
// # Time
//
// ExecutorOptions.Clock and Rand make the executor deterministic in tests:
// regotest.NewAutoClock runs backoffs in no real time and regotest.NewRand
// seeds the jitter. Backoff is a pure function of the policy, the retry
// number and a uniform random number.
package retry
