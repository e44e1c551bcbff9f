// Package circuit holds rego's circuit breakers: per-key gates that stop
// calling a dependency that keeps failing, so that it can recover and so
// that callers fail fast instead of waiting on it.
//
// # The model
//
// A Breaker is closed (attempts pass), open (attempts are refused with an
// error matching ErrOpen, without calling the dependency) or half-open
// (a few probe attempts pass to test the dependency). It is a pure state
// machine: every method takes the time as a parameter, and it owns no
// clock, timer or goroutine. Its configuration is the key's
// policy.CircuitPolicy, read on every admission, so a reloaded policy
// applies at once; zero fields mean their documented defaults.
//
// What an attempt tells the breaker is the classifier's verdict: a
// retryable outcome (an overloaded or unavailable dependency, a
// per-attempt timeout) is a failure; a success or a non-retryable outcome
// (the dependency answered) is a success; an attempt cut short by the
// caller's context or the call's overall timeout, aborted, panicked, or
// never run counts for nothing.
//
// # The rules
//
// A closed breaker opens when any rule is broken:
//
//   - Consecutive failures: FailureThreshold failed attempts in a row
//     (default 5). A success starts the count again.
//   - Failure rate: the share of failed attempts among those that ended in
//     the last Window (default 10s) reaches FailureRateThreshold, once at
//     least MinThroughput attempts (default 10) ended in it. Off when
//     FailureRateThreshold is zero.
//   - Slow-call rate: the share of attempts slower than SlowCallDuration
//     (their gate.Result.Latency), failed or not, reaches
//     SlowCallRateThreshold, with the same window and minimum. Off when
//     either field is zero.
//
// The rates are checked when an attempt fails or is slow (a fast success
// never opens the breaker). The window is counted in time buckets of a
// power-of-two number of nanoseconds, at least Window/16 and at most
// Window/8, so it slides by whole buckets: it covers the last Window
// rounded up to whole buckets.
//
// An open breaker refuses attempts for Cooldown (default 5s); then it is
// half-open and admits up to HalfOpenProbes probes at once (default 1).
// SuccessThreshold successful probes (default HalfOpenProbes, at most
// HalfOpenProbes) close it; one failed probe opens it again for another
// Cooldown. Under the slow-call rule a slow probe is a failed probe. A
// probe that counts for nothing gives its slot back.
//
// # Generations
//
// Every state change starts a new generation, and every admission
// carries the generation that admitted it. A result counts only while its
// generation lasts: an attempt admitted before the breaker opened, whose
// failure arrives after a probe closed it, counts for nothing, and so
// does a probe of an earlier half-open period. The counts of the closed
// state (the run of failures, the window) belong to their generation, so
// a late result can never leak into a later one. A probe slot belongs to
// its half-open generation and goes with it.
//
// # Forced states
//
// ForceOpen keeps a breaker open (refusing with ReasonForcedOpen, no
// cooldown, no probes) and ForceClose keeps it closed (admitting with
// ReasonForcedClosed, counting nothing) until Reset, which returns it to a
// fresh closed state under the rules. Registry has the same three methods
// per key. A forced state survives cooldowns and policy reloads, even to
// a policy that does not enable the breaker; only Reset (or the other
// forcing) ends it.
//
// # The gate contract
//
// Breaker and Registry implement gate.Gate: Admit never waits. A closed
// breaker admits with Reason ReasonClosed, a half-open one a probe with
// ReasonProbe; the Permit's Completer is the Breaker and its Token holds
// the generation and the probe flag. Complete (through Permit.Done, once
// per permit) maps gate.Result verdicts: Answered is a success, Failed a
// failure, Cancelled and NotRun count for nothing and give a probe slot
// back. A refusal is a *OpenError (errors.Is matches ErrOpen and
// gate.ErrRefused) whose reason, also the Permit's, is ReasonOpen,
// ReasonProbeBusy or ReasonForcedOpen. An attempt whose policy does not
// enable the breaker is admitted with ReasonDisabled and nothing to
// complete.
//
// In shadow mode (the policy's Shadow) the executor runs the attempts the
// breaker refused anyway; a refusal carries no Completer, so their
// results never reach the breaker, which goes on deciding as if it were
// enforced.
//
// A closed breaker admits and completes without a lock and without
// allocating: two atomic loads to admit, a few atomic operations to count
// the result (lock-free buckets when a rate rule is on). Locks are taken
// only to change state, on the open and half-open paths, and to take a
// snapshot.
//
// The direct methods Closed, Allow, Done and Release predate the gate
// seam; Done carries no generation and no latency, so results reported
// through it count against the generation in force when they arrive and
// are never slow.
//
// # Registry, events and gauges
//
// Registry keeps one Breaker per key, for at most MaxKeys keys: further
// keys get no breaker (their calls pass), loudly (Overflowed), so that a
// key with an ID in it cannot grow memory without bound. Its
// OnStateChange hook receives every state change (StateChange.Event
// turns it into an observe.Event for event observers); Range and
// Breaker.Snapshot read every key's state, counts, rates and open-until
// time for gauges and debug pages.
package circuit
