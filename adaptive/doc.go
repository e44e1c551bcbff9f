// Package adaptive holds rego's adaptive concurrency limit: a per-key cap
// on the attempts in flight that moves with the latency the key observes,
// so that a server (or a caller) admits as much work as its dependency can
// serve without queueing, and refuses the rest at once instead of letting
// latency grow.
//
// A key's Limiter counts its attempts in flight and admits one while the
// count is below the current limit. Every completed attempt is a sample:
// its latency (gate.Result.Latency) and whether it failed (a gate.Failed
// verdict counts as a drop, a sign of overload). Attempts that did not run
// or were cancelled are no sample. The limit moves by one of three
// algorithms (policy.ConcurrencyPolicy.Algorithm):
//
//   - "gradient2" (the default), after Netflix's concurrency-limits
//     Gradient2: it compares a short-term latency (the average of the last
//     few samples) with a long-term exponential average; the gradient
//     long*1.5/short, held within [0.5, 1], scales the limit, a queue
//     allowance of 4 is added, and the change is smoothed (20% of it per
//     update). While fewer than half of the limit are in flight the limit
//     does not grow (nothing shows it is too low). When the long-term
//     average drifts above twice the short one it decays, so that the
//     limit recovers after a long spell of high latency. Unlike Gradient2,
//     a rising latency moves the long-term average 50 times slower than a
//     falling one, so that under sustained overload the average does not
//     follow the latency the queue itself causes (and the limit with it).
//     A drop counts as the smallest gradient.
//   - "vegas", after TCP Vegas: the no-load latency is the smallest seen;
//     the queue the limit implies is limit*(1-noLoad/latency); a short
//     queue grows the limit, a long one (more than 6*log10(limit)) or a
//     drop shrinks it by log10(limit).
//   - "aimd": additive increase (one per sample while at least half of the
//     limit is in use), multiplicative decrease (times 0.9) on a drop.
//
// The limit always stays within [MinLimit, MaxLimit], and starts at
// InitialLimit. Over the limit an attempt waits, first in, first out, for
// at most MaxWait (never past its context; at most as many waiters as the
// limit), else it is refused with a *gate.RefusedError wrapping
// ErrLimited.
//
// Registry is a gate.Gate: one Limiter per key, configured from the
// attempt's policy.ConcurrencyPolicy on every admission (a changed section
// resets the key's estimate to the new InitialLimit; attempts in flight
// keep their slots), waiting on its Clock. Registry.Limit reports a key's
// current limit, for metrics and for load shedding (shed.Registry.Limits).
// Zero policy fields are the documented defaults: gradient2, InitialLimit
// 20, MinLimit 1, MaxLimit 1000, MaxWait zero.
package adaptive
