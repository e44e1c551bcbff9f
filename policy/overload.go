package policy

import "time"

// BulkheadPolicy caps the attempts of a key that run at once (package
// bulkhead). An attempt over the cap waits in a bounded queue for at most
// MaxWait (never past the caller's context), then is refused.
type BulkheadPolicy struct {
	// Enabled turns the bulkhead on. Default false.
	Enabled bool
	// MaxConcurrent is how many attempts of the key may run at once.
	// Default 10; range [1, 100000].
	MaxConcurrent int
	// MaxWait is how long an attempt may wait for a free slot; zero means
	// it is refused at once. Range [0, 1m].
	MaxWait time.Duration
	// MaxQueue bounds how many attempts may wait at once; further ones are
	// refused at once. Zero means MaxConcurrent (Normalize sets it); range
	// [1, 100000].
	MaxQueue int
	// Shadow records what the bulkhead decides without enforcing it.
	Shadow bool
}

// RateLimitPolicy limits the rate of a key's first attempts with a local
// token bucket (package ratelimit). Retries and hedges are the budgets'
// business, not the limiter's.
type RateLimitPolicy struct {
	// Enabled turns the limiter on. Default false.
	Enabled bool
	// Rate is the sustained rate, in first attempts per second. Default
	// 100; range (0, 1e6].
	Rate float64
	// Burst is how many first attempts may run at once above the rate.
	// Default max(1, Rate), rounded down; range [1, 1e6].
	Burst int
	// MaxWait is how long a first attempt may wait for a token; zero means
	// it is refused at once. Range [0, 1m].
	MaxWait time.Duration
	// Shadow records what the limiter decides without enforcing it.
	Shadow bool
}

// ConcurrencyPolicy configures a key's adaptive concurrency limit (package
// adaptive): a limit on the attempts in flight that moves with the
// latency the key observes, between MinLimit and MaxLimit.
type ConcurrencyPolicy struct {
	// Enabled turns the adaptive limit on. Default false.
	Enabled bool
	// Algorithm picks how the limit moves: "gradient2" (the default),
	// "vegas" or "aimd".
	Algorithm string
	// InitialLimit is the limit before any latency is seen. Default 20;
	// range [MinLimit, MaxLimit].
	InitialLimit int
	// MinLimit and MaxLimit bound the limit. Defaults 1 and 1000; range
	// [1, 100000].
	MinLimit int
	MaxLimit int
	// MaxWait is how long an attempt may wait when the limit is reached;
	// zero means it is refused at once. Range [0, 1m].
	MaxWait time.Duration
	// Shadow records what the limit decides without enforcing it.
	Shadow bool
}

// ShedPolicy configures load shedding by criticality (package shed): as a
// key's limits fill, attempts of less critical calls are refused first.
// Each criticality below the most critical may use only a fraction of the
// key's concurrency before it is shed.
type ShedPolicy struct {
	// Enabled turns shedding on. Default false.
	Enabled bool
	// Capacity is the concurrency the fractions apply to; zero means the
	// key's bulkhead MaxConcurrent, or its adaptive limit. Range [1,
	// 100000].
	Capacity int
	// SheddableFraction is the share of Capacity that sheddable work may
	// fill before it is shed. Default 0.5; range (0, 1].
	SheddableFraction float64
	// SheddablePlusFraction is the same for sheddable_plus work. Default
	// 0.75; range (0, 1].
	SheddablePlusFraction float64
	// CriticalFraction is the same for critical work (the default
	// criticality). Default 0.9; range (0, 1]. critical_plus work is never
	// shed by this gate.
	CriticalFraction float64
	// Shadow records what shedding decides without enforcing it.
	Shadow bool
}

// GateRef names a user gate in the executor's gate registry (package
// gate). User gates are asked after the built-in ones, in the order of the
// policy's Gates list.
type GateRef struct {
	Name string
	// Shadow records what the gate decides without enforcing it.
	Shadow bool
}
