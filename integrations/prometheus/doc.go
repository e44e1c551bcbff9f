// Package regoprom exports the events of a rego executor as Prometheus
// metrics. NewObserver registers the collectors and returns an
// observe.Observer to pass as retry.ExecutorOptions.Observer (or to combine
// with others through observe.MultiObserver).
//
// The metrics, with the default namespace "rego":
//
//	rego_attempts_total{key, outcome, kind}          attempts that ran
//	rego_attempts_denied_total{key, gate, reason}    attempts a gate refused
//	rego_calls_total{key, result, stop_reason}       finished calls
//	rego_attempt_duration_seconds{key, outcome}      histogram of attempt durations
//	rego_backoff_seconds{key}                        histogram of waits before retries
//	rego_hedges_total{key, event}                    hedges spawned and attempts cancelled
//	rego_policy_fallbacks_total{key, source}         calls run without their own policy
//	rego_breaker_state{key}                          0 closed, 1 half-open, 2 open
//	rego_policy_info{version}                        the policy version in force (value 1)
//	rego_policy_reload_failures_total                policy loads that failed
//	rego_budget_not_found_total{key}                 attempts naming an unregistered budget
//	rego_budget_exhausted_total{key}                 times a budget began denying
//	rego_key_overflow_total{registry}                key_overflow events (1st, 2nd, 4th, ... overflow)
//	rego_budget_available{budget, type}              tokens or retry units a budget has left
//	rego_budget_reject_probability{budget}           a throttle's refusal probability
//
// The two budget gauges are read at scrape time from Options.Budgets, for
// the names in Options.BudgetNames. The six before them come from
// lifecycle events (the Observer implements observe.EventObserver) and,
// for policy_info and budget_not_found, from the records of every call.
//
// Label values:
//
//   - key is policy.PolicyKey.String(), subject to the cardinality guard
//     below.
//   - outcome is the classifier's outcome kind ("success", "retryable",
//     "non_retryable", "abort", "unknown"), or "cancelled" for an attempt the
//     executor cancelled (a losing hedge, or one in flight when the call
//     ended).
//   - kind is "first" for the call's first attempt, "retry" for the later
//     attempts of the retry sequence and "hedge" for hedges.
//   - gate is "circuit" when the circuit breaker refused the attempt and
//     "budget" otherwise; reason is the gate's reason ("tokens_exhausted",
//     "open", "half_open_busy").
//   - result is "success" or "failure"; stop_reason is the timeline's
//     stop_reason ("attempts_exhausted", "budget_denied", ...) or "none"
//     for a call that succeeded.
//   - event is "spawn" when a hedge is launched and "cancel" when the
//     executor cancels an attempt in flight (a loser of the race, which may
//     be the first attempt itself).
//   - source is the timeline's policy_source ("default", "lkg", ...).
//
// Labels are deliberately low-cardinality: the observer never puts an error
// message, a policy version or a timestamp in a label. Reasons come from
// classifiers, budgets and the breaker, which the rego contracts require to
// be short fixed strings; a custom classifier that builds reasons from
// request data defeats this.
//
// # Key cardinality guard
//
// Keys are the one label whose values the application chooses. To keep a
// bug (a key built from a user ID, say) from exploding the series count,
// the observer admits at most Options.MaxKeys distinct keys (default 1000)
// per observer; events of every later key are counted under the key
// "_other". Admitted keys stay admitted for the life of the observer.
package regoprom
