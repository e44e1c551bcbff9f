// Package hedge decides when the executor launches hedged requests: extra
// concurrent attempts sent while an attempt is still running, so that one
// slow replica does not make the whole call slow ("The Tail at Scale",
// Dean and Barroso, 2013).
//
// # Semantics
//
// Hedging is on for a key when its policy.HedgePolicy is Enabled. Per
// retry step the executor launches the primary attempt and asks the
// policy's Trigger for a delay; if no attempt of the step has succeeded by
// then, it launches a hedge (after the hedge budget, kind budget.KindHedge,
// allows it) and asks the trigger again for the next delay, up to
// MaxHedges per step: one launch per trigger firing, so hedges spread out.
// Every attempt, primary or hedge, counts toward Retry.MaxAttempts; no
// hedge launches when the call's deadline leaves less time than the
// delay. The first success wins and every other attempt is cancelled at
// once. A hedge denied by its budget is not launched and never aborts a
// call that could still succeed. docs/hedging.md has the full contract.
//
// # Triggers
//
// A Trigger maps a TriggerInput (key, policy, which hedge, the key's
// latency Tracker) to a delay. The Registry holds the built-ins, "fixed"
// (Fixed: every Policy.Delay) and "p50", "p90", "p95", "p99" (Quantile:
// the key's recent quantile, Policy.Delay until MinSamples latencies are
// known), and user-written triggers registered by name. A trigger that
// never reads TriggerInput.Latency says so by implementing LatencyReader
// (ReadsLatency returning false, as Fixed does): an executor keeping its
// own latencies then tracks none for its calls, which spares each call
// two clock readings and a histogram update. ReadsLatency(t) tells whether
// t may read latencies; a TriggerFunc may.
//
// # Latency trackers
//
// A Tracker estimates a key's recent latency quantiles with a log-linear
// histogram (368 buckets, estimates within RelativeError, about 3%) per
// half of a sliding window (DefaultWindow, 10s). Memory is fixed,
// TrackerBytes (about 3 KB); Observe is lock-free, a few atomic operations
// plus a clock reading (ObserveAt skips the reading); Quantile scans the
// buckets without allocating. Latencies keeps one Tracker per key behind a
// key-cardinality guard: after MaxKeys keys (DefaultMaxKeys, 1024), new
// keys share one overflow tracker, counted by Overflowed and listed by
// FoldedKeys.
//
//	lat := hedge.NewLatencies(hedge.LatenciesOptions{})
//	reg := hedge.NewRegistry()
//	trig, _ := reg.Get(policy.TriggerP95)
//	tr := lat.For(key)
//	d, reason, ok := trig.Delay(hedge.TriggerInput{Key: key, Policy: pol.Hedge, HedgeIndex: 1, Latency: tr})
//	// ... launch the primary; hedge after d unless it has answered ...
//	tr.ObserveAt(end, end.Sub(start)) // the step's latency, from the primary's launch
//
// Nothing in the package starts a goroutine; every type is safe for
// concurrent use.
package hedge
