// Package ratelimit limits the rate of a key's first attempts with a local
// token bucket, so that a caller (or a server, per route) cannot send (or
// accept) more calls than a dependency is sized for.
//
// A key's Limiter holds up to Burst tokens and gains Rate tokens a second.
// Each first attempt (gate.Attempt.First) takes one token. When none is
// left, the attempt waits for the next token if it comes within MaxWait
// (and before the caller's context ends), else it is refused with a
// *gate.RefusedError wrapping ErrLimited whose RetryAfter says when the
// next token comes. Retries and hedges pass: the retry and hedge budgets
// govern them.
//
// Limiter is a pure state machine: its methods take the time as a
// parameter, like golang.org/x/time/rate, so it is tested without a clock.
// A wait that ends early (the context ended) gives its token back. It
// takes no lock: an admission is one compare-and-swap.
//
// Registry is a gate.Gate: it keeps one Limiter per key, reads the key's
// policy.RateLimitPolicy from the attempt's policy on every admission (a
// reloaded policy applies at once), and waits on its Clock. The zero values of the policy's fields
// are the documented defaults: Rate 100 a second, Burst max(1, Rate),
// MaxWait zero (refuse at once).
package ratelimit
