// Package budget gates attempts so that retries and hedges cannot turn a
// slow dependency into an outage.
//
// The executor asks the policy's budget (RetryPolicy.Budget for retries,
// HedgePolicy.Budget for hedges) before every attempt, first attempts
// included, so that budgets can count traffic; retry budgets such as the
// token bucket let first attempts through for free. A denied attempt is not
// run; it appears in the timeline with BudgetAllowed false and the reason.
//
// A policy that names no budget, or names one the Registry lacks, is
// allowed (fail-open), and the attempt record says why.
//
// Decision.Release, when non-nil, is called exactly once after the attempt
// ends, on every path (success, failure, cancellation, panic).
package budget
