// Package benchmarks measures rego beside the Go libraries people use
// instead: failsafe-go, cenkalti/backoff v5, avast/retry-go v4,
// sethvargo/go-retry and grpc-go's built-in retry.
//
// It is a module of its own so that the core module keeps no third-party
// dependencies. The package holds no library code: everything is in the
// _test.go files, one file per scenario.
//
// Every scenario is a benchmark whose sub-benchmarks are named lib=NAME,
// so benchstat can put the libraries side by side:
//
//	go test -run '^$' -bench . -benchmem -count 6 | tee new.txt
//	benchstat -col /lib new.txt
//
// The scenarios, each run by every library that supports it:
//
//   - Success: the operation succeeds on its first attempt.
//   - ThreeFailures: three attempts, all failing, with no wait between them.
//     rego runs on regotest.InstantClock; the peers are configured with a
//     zero delay.
//   - AttemptTimeout: three attempts that each time out after 1ms; the
//     operation waits for its context. Libraries without a per-attempt
//     timeout get one written by hand inside the operation
//     (context.WithTimeout), as their users would.
//   - Events: two failures then a success, with per-attempt callbacks on
//     (rego observer or timeline, failsafe-go listeners, retry-go OnRetry,
//     backoff's Notify).
//   - BudgetParallel: every call fails once and succeeds on its retry,
//     from GOMAXPROCS goroutines sharing one retry budget (rego
//     TokenBucketBudget, failsafe-go budget).
//   - GRPCSuccess, GRPCRetry: a unary call over an in-memory connection
//     (bufconn) with rego wrapping the call (retry.DoValue) or installed
//     as its unary client interceptor (module integrations/grpc), against
//     grpc-go's retry configured by service config.
//
// Each benchmark checks that every library made the same number of
// attempts, so a ratio never compares different amounts of work. Shared,
// stateless configuration (executors, option slices) is built once
// outside the timed loop for every library: the peers are measured at
// their best, not at their most naive.
//
// run.sh runs everything with -count repeats, summarises the results with
// benchstat and, through cmd/benchtable, writes docs/benchmarks.md with
// each library's ratio to rego.
package benchmarks
