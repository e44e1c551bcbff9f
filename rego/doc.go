// Package rego is the facade of the rego resilience library: call a
// dependency through a string policy key and let the policy of that key
// decide retries, backoff, timeouts, budgets and hedges.
//
//	user, err := rego.DoValue[User](ctx, "user-service.GetUser", func(ctx context.Context) (User, error) {
//		return client.GetUser(ctx, id)
//	})
//
// The facade runs calls on a default executor, built lazily with
// retry.ExecutorOptions{} (default policies for every key). Replace it
// with Init, typically once at start-up; Init is safe for concurrent use
// and calls already running finish on the executor they started with.
//
// Keys must be low-cardinality ("payments.Charge"): never put request
// identifiers in them.
package rego
