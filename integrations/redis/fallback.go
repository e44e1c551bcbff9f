package regoredis

// Fallback says how a gate decides when Redis cannot: it did not answer
// within Options.Timeout, it failed, or the circuit is open after repeated
// failures.
type Fallback int

// The fallbacks.
const (
	// FallbackDefault is the gate's own default: FallbackLocal for the
	// fleet budget, FallbackOpen for the fleet limiter.
	FallbackDefault Fallback = iota
	// FallbackLocal decides with a per-process copy of the algorithm: the
	// budget with a budget.RatioBudget of the same options (so each process
	// stays within its own ratio), the limiter with a local token bucket of
	// Rate and Burst per process (LimiterOptions.LocalRate and LocalBurst
	// override them).
	FallbackLocal
	// FallbackOpen allows what Redis would have been asked about.
	FallbackOpen
	// FallbackClosed refuses what Redis would have been asked about. The
	// budget still allows first attempts: it never refuses those, with or
	// without Redis.
	FallbackClosed
)

func (f Fallback) String() string {
	switch f {
	case FallbackLocal:
		return "local"
	case FallbackOpen:
		return "open"
	case FallbackClosed:
		return "closed"
	}
	return "default"
}

// Reasons recorded when Redis did not decide. They start with
// ReasonUnavailablePrefix so that dashboards can count fallbacks with one
// match.
const (
	ReasonUnavailablePrefix = "redis_unavailable_"
	// ReasonFailOpen: allowed by FallbackOpen.
	ReasonFailOpen = "redis_unavailable_fail_open"
	// ReasonFailClosed: refused by FallbackClosed.
	ReasonFailClosed = "redis_unavailable_fail_closed"
	// ReasonFallbackFirstAttempt: a first attempt the budget allowed
	// without Redis (it always allows them).
	ReasonFallbackFirstAttempt = "redis_unavailable_first_attempt"
	// ReasonLocalWithinRatio and ReasonLocalRatioExceeded: the budget's
	// local decision on a retry or hedge.
	ReasonLocalWithinRatio   = "redis_unavailable_local_within_ratio"
	ReasonLocalRatioExceeded = "redis_unavailable_local_ratio_exceeded"
	// ReasonLocalAdmitted and ReasonLocalRateLimited: the limiter's local
	// decision.
	ReasonLocalAdmitted    = "redis_unavailable_local_admitted"
	ReasonLocalRateLimited = "redis_unavailable_local_rate_limited"
)
