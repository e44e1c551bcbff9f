// Package gate is rego's admission seam: every check the executor makes
// before an attempt runs (circuit breaker, load shedding, rate limiter,
// retry and hedge budgets, bulkhead, adaptive concurrency limit, and gates
// users write) implements one small interface, Gate.
//
// For every attempt (first attempts, retries and hedges) the executor asks
// the gates of the key's policy in one fixed order (see Order), each with
// an Attempt describing what is about to run and the executor's clock
// reading. A gate answers with a Permit, or refuses with an error. When a
// gate refuses, the permits of the gates that admitted the attempt before
// it are completed with a NotRun result, the attempt does not run, and
// the refusal lands in the attempt record. When every gate admits, the
// attempt runs, and each permit's Done is called exactly once with the
// attempt's Result: on every path, success, failure, cancellation, panic,
// a losing hedge, the call ending. The executor completes an attempt's
// permits in the reverse of the order it was granted them, and asks the
// gates before the backoff wait that precedes a retry (a wait cut short
// completes them with NotRun).
//
// A gate may wait before it answers (a bulkhead's queue, a limiter's next
// token), bounded by ctx (the call's context, which carries the caller's
// deadline and the policy's overall timeout) and by a maximum the gate
// documents. Gates that never wait must not block.
//
// A gate in shadow mode (the policy section's shadow flag, or
// GateRef.Shadow) is asked as usual and its decision recorded, but a
// refusal is not enforced: the record says it would have refused, the
// attempt runs, and the gate's permit (if it returned one) is completed as
// usual.
//
// Gate implementations must be safe for concurrent use. On the uncontended
// path an admission should cost no allocation: Permit is a small value, and
// a gate keeps what it needs to complete a permit in Permit.Token or in
// itself.
package gate
