// Package budget gates attempts so that retries and hedges cannot turn a
// slow dependency into an outage.
//
// The executor asks the policy's budget (RetryPolicy.Budget for retries,
// HedgePolicy.Budget for hedges) before every attempt, first attempts
// included, so that budgets can count traffic. A denied attempt is not run;
// it appears in the timeline with BudgetAllowed false and the budget's
// reason, and the call ends with the last operation error (a
// *retry.StopError that also matches ErrDenied), or a *DeniedError when
// nothing ran. The executor asks a budget through its admission seam
// (package gate): Registry.Gate returns a registered budget as a
// gate.Gate, whose permits release the Decision and report outcomes to an
// OutcomeRecorder. A TimedBudget on the executor's clock (or, like the
// executor's, on one telling the wall clock's time) is asked at the
// executor's clock reading when it has one, sparing a reading of its own.
// BudgetRef.Shadow records a budget's decisions without
// enforcing them.
//
// Three budgets are provided:
//
//   - TokenBucketBudget: a bucket of tokens refilled at a steady rate.
//     First attempts are free; retries and hedges take tokens.
//   - RatioBudget: retries allowed while they stay under a fraction of
//     recent first attempts (10% by default), with a floor of retries per
//     second for quiet callers, over a sliding window.
//   - Throttle: client-side adaptive throttling. It gates every attempt,
//     first ones included, rejecting locally with probability
//     max(0, (requests - K*accepts) / (requests + 1)); it learns accepts
//     through OutcomeRecorder. A throttled attempt surfaces as a
//     *DeniedError with Reason "throttled" (see IsThrottled).
//
// Hedges and retries can share a budget: the executor tells it the kind
// of each attempt (KindRetry, KindHedge).
//
// A policy that names no budget, or names one the Registry lacks, is
// allowed (fail-open), and the attempt record says why.
//
// Decision.Release, when non-nil, is called exactly once after the attempt
// ends, on every path (success, failure, cancellation, panic, a losing
// hedge).
package budget
