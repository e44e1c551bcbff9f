// Package regoredis holds rego's fleet-wide gates on Redis: a ratio retry
// budget (FleetBudget) and a rate limiter (FleetLimiter) whose state lives
// in Redis, so that every process using the same name shares one budget or
// one rate.
//
// Each decision is one round trip: a Lua script (EVALSHA, falling back to
// EVAL when the server has not cached it) checks and counts atomically on
// the server. The budget's script is the algorithm of budget.RatioBudget;
// the limiter's is the generic cell rate algorithm. Both read the Redis
// server's clock by default, so the processes' clocks need not agree.
//
// A decision never waits for Redis longer than Options.Timeout (5ms by
// default, and never past the caller's context). When Redis is slow, down,
// or unreachable, the decision is made locally by Options.Fallback, its
// reason starts with "redis_unavailable_", and Stats counts it; after
// Options.FailureThreshold failed round trips in a row a circuit stops
// asking Redis for Options.Cooldown, so that an outage does not cost the
// timeout on every call. The default fallback is FallbackLocal for the
// budget (a per-process budget.RatioBudget of the same options: each
// process keeps its own ratio, as if Redis had never been there) and
// FallbackOpen for the limiter (refusing traffic because Redis is away
// would turn a Redis outage into an outage of the service). Each named
// budget or limiter carries its own options, so the choice is per name,
// hence per policy.
//
// The gates implement budget.Budget, so that policies name them as they
// name a local budget, and gate.Gate, for a policy's gates list:
//
//	rdb := redis.NewClient(&redis.Options{Addr: "redis:6379", ContextTimeoutEnabled: true})
//	fleet, err := regoredis.NewFleetBudget(regoredis.BudgetOptions{
//		Options: regoredis.Options{Client: rdb, Name: "payments"},
//		Ratio:   budget.RatioOptions{Ratio: 0.1},
//	})
//	if err != nil { ... }
//	budgets := budget.NewRegistry()
//	budgets.Register("payments-fleet", fleet) // retry.budget.name in the policy
//
// The client must honour context deadlines on the socket
// (ContextTimeoutEnabled for go-redis clients; the constructors refuse a
// go-redis client without it). Gates start no goroutine; closing the
// client is the caller's business. docs/redis.md describes the algorithms
// and the failure modes (slow, down, partitioned, clock skew).
package regoredis
