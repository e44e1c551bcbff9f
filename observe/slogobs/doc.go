// Package slogobs logs what the executor does through log/slog.
//
// An Observer turns the executor's callbacks and lifecycle events into log
// records, at levels chosen so that a production logger at Info shows what
// needs attention and nothing per attempt:
//
//	what                                      message                  level
//	an attempt that ran                       "rego attempt"           Debug
//	an attempt a gate refused (budget, ...)   "rego attempt denied"    Warn
//	a hedge launched                          "rego hedge"             Debug
//	an attempt the executor cancelled         "rego attempt cancelled" Debug
//	a call that succeeded at its first try    "rego call"              Debug
//	a call that succeeded after a retry/hedge "rego call"              Info
//	a call that failed                        "rego call failed"       Warn
//	a breaker that opened                     "rego breaker"           Warn
//	a breaker that closed or half-opened      "rego breaker"           Info
//	a policy document put in force            "rego policy reload"     Info
//	a policy reload that failed               "rego policy reload"     Warn
//	a budget that began denying               "rego budget exhausted"  Warn
//	a per-key registry that was full          "rego key overflow"      Warn
//	a panic after the call returned           "rego late panic"        Error
//
// Options overrides each level. Records are logged with the context the
// executor passes (the caller's context, or the attempt's), through the
// logger's *Context methods, so a handler that reads trace IDs from the
// context finds them.
//
// Attribute names are fixed and their values low-cardinality, apart from
// the key (a policy key, low-cardinality by design) and the error text:
// key, attempt, kind ("first", "retry", "hedge"), retry, outcome, reason,
// gates, duration, wait, err for attempts; key, policy, source, version,
// attempts, duration, stop_reason, err for calls; event, key, from, to,
// version, detail, err for lifecycle events.
//
// When the logger does not enable a record's level, the callback returns
// after one Enabled check, without allocating.
//
//	logger := slog.New(slog.NewJSONHandler(os.Stderr, nil))
//	exec := retry.NewExecutor(retry.ExecutorOptions{
//		Observer: slogobs.New(slogobs.Options{Logger: logger}),
//	})
package slogobs
