// Package inspect serves a live page of what the executor is doing: the
// page an operator opens at /debug/rego.
//
// An Inspector is an observer: given to the executor (alone or in an
// observe.MultiObserver), it keeps, for a bounded number of keys, the
// policy each key last ran under, call and attempt counts, recent attempt
// latencies, recent denials, stop reasons and recent timelines, plus the
// lifecycle events it hears (breaker state changes, policy reloads and
// their failures, budget exhaustion, key overflow). References given in
// Options add what only the executor's components know: the policy the
// provider serves now, each breaker's live state, the hedge latency
// trackers, the budgets' levels. Every reference is optional.
//
// The Inspector is also an http.Handler. It answers with HTML, or with
// JSON when the request has ?format=json or an Accept header naming
// application/json; both carry the same Snapshot. PublishExpvar publishes
// that JSON under a name in expvar, for programs that already serve
// /debug/vars.
//
//	insp := inspect.New(inspect.Options{Provider: provider, Budgets: budgets})
//	exec := retry.NewExecutor(retry.ExecutorOptions{
//		Provider: provider, Budgets: budgets, Observer: insp,
//	})
//	http.Handle("/debug/rego", insp)
//
// The page shows policies, keys and error texts: serve it where only
// operators can reach it, as with net/http/pprof.
package inspect
