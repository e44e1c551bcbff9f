// Package regootel reports the rego executor's calls to OpenTelemetry.
//
// New returns an observe.Observer to pass as retry.ExecutorOptions.Observer
// (alone or inside an observe.MultiObserver). It emits:
//
//   - metrics: <prefix>.calls, <prefix>.attempts, <prefix>.call.duration,
//     <prefix>.attempt.duration and <prefix>.hedges, with low-cardinality
//     attributes only (the policy key, outcome kinds, and the fixed reason
//     strings the executor records; never error messages);
//   - traces: one span per call, a child of the span in the context given to
//     the executor, carrying one event per attempt.
//
// # Why one span with events, not a span per attempt
//
// Observer callbacks cannot hand a context back to the executor, so a span
// started in OnStart could not become the parent of the operation's own
// spans, and a span left open between callbacks would leak if a callback
// were skipped. The observer therefore builds the whole span at the end of
// the call (OnSuccess or OnFailure) from the Timeline, stamping it with the
// timeline's start and end times; each attempt becomes a span event at the
// attempt's start time, with its outcome, backoff, duration, hedge, budget
// and circuit breaker decisions as attributes. Spans the operation itself
// starts are children of the caller's span, siblings of the call span.
//
// Timestamps come from the executor's clock. With a fake clock in tests the
// spans carry the fake times; note that OpenTelemetry SDKs treat a zero
// time as "now".
package regootel
