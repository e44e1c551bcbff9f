package regoredis

import (
	"context"
	_ "embed"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/aponysus/rego/budget"
	"github.com/aponysus/rego/policy"
)

//go:embed gcra.lua
var gcraLua string

var gcraScript = redis.NewScript(nowLua + gcraLua)

// MaxRate bounds LimiterOptions.Rate and LocalRate: the algorithm counts in
// whole microseconds.
const MaxRate = 1e6

// Reasons recorded by FleetLimiter when Redis decided.
const (
	ReasonAdmitted    = "admitted"
	ReasonRateLimited = "rate_limited"
)

// LimiterOptions configures a FleetLimiter.
type LimiterOptions struct {
	Options
	// Rate is the fleet's sustained rate in attempts per second. Required:
	// in (0, MaxRate].
	Rate float64
	// Burst is how many attempts the fleet may make at once above the
	// rate. Zero means max(1, Rate); negative is invalid.
	Burst int
	// LocalRate and LocalBurst are each process's rate and burst under
	// FallbackLocal. Zero means Rate and Burst: a process alone may then use
	// the whole fleet's rate while Redis is away.
	LocalRate  float64
	LocalBurst int
}

// FleetLimiter is a rate limiter shared by every process that uses the
// same name on the same Redis: a token bucket of Burst attempts refilled
// at Rate per second, kept as one timestamp (the generic cell rate
// algorithm) and updated by a Lua script (gcra.lua) in one atomic round
// trip. Every attempt it is asked about costs one token, first attempts,
// retries and hedges alike; it never waits for a token, it refuses.
//
// When Redis does not answer within Options.Timeout, fails, or the circuit
// is open, the decision is made by Options.Fallback (by default
// FallbackOpen: a limiter that refuses traffic because Redis is away
// would turn a Redis outage into an outage of the service) and its reason
// starts with "redis_unavailable_".
//
// A FleetLimiter implements gate.Gate (register it in a gate.Registry and
// name it in a policy's gates list) and budget.Budget. It is safe for
// concurrent use and starts no goroutine.
type FleetLimiter struct {
	r     *remote
	fb    Fallback
	local localGCRA
	// The script's fixed arguments, converted to interface values once.
	interval, tau any
}

// NewFleetLimiter returns a fleet limiter configured by opts. The error
// wraps ErrInvalidOptions and names the first invalid field.
func NewFleetLimiter(opts LimiterOptions) (*FleetLimiter, error) {
	s, err := opts.Options.settings("limit")
	if err != nil {
		return nil, err
	}
	interval, tau, err := gcraShape("Rate", "Burst", opts.Rate, opts.Burst)
	if err != nil {
		return nil, err
	}
	l := &FleetLimiter{
		r:        newRemote(s, gcraScript),
		fb:       s.Fallback,
		interval: strconv.FormatInt(interval, 10),
		tau:      strconv.FormatInt(tau, 10),
	}
	if l.fb == FallbackDefault {
		l.fb = FallbackOpen
	}
	lr, lb := opts.LocalRate, opts.LocalBurst
	if lr == 0 {
		lr = opts.Rate
		if lb == 0 {
			lb = opts.Burst
		}
	}
	if l.local.interval, l.local.tau, err = gcraShape("LocalRate", "LocalBurst", lr, lb); err != nil {
		return nil, err
	}
	return l, nil
}

// gcraShape turns a rate and a burst into the algorithm's interval and
// tolerance in microseconds; the names are the options' fields.
func gcraShape(rateName, burstName string, rate float64, burst int) (interval, tau int64, err error) {
	if math.IsNaN(rate) || rate <= 0 || rate > MaxRate {
		return 0, 0, fmt.Errorf("%w: LimiterOptions.%s must be in (0, %g], got %v", ErrInvalidOptions, rateName, MaxRate, rate)
	}
	switch {
	case burst < 0:
		return 0, 0, fmt.Errorf("%w: LimiterOptions.%s must not be negative, got %d", ErrInvalidOptions, burstName, burst)
	case burst == 0:
		burst = int(math.Max(1, rate))
	}
	interval = int64(math.Round(float64(time.Second/time.Microsecond) / rate))
	if interval < 1 {
		interval = 1
	}
	return interval, int64(burst) * interval, nil
}

// Fallback returns the fallback in force (never FallbackDefault).
func (l *FleetLimiter) Fallback() Fallback { return l.fb }

// Stats returns the limiter's counters.
func (l *FleetLimiter) Stats() Stats { return l.r.stats() }

// Allow takes one token for an attempt. When it refuses, retryAfter is
// how long until the bucket would hold a token (zero when the refusal is
// FallbackClosed's). reason is ReasonAdmitted, ReasonRateLimited or a
// fallback reason. It waits for Redis at most Options.Timeout.
func (l *FleetLimiter) Allow(ctx context.Context) (ok bool, reason string, retryAfter time.Duration) {
	var v int64
	decided := false
	if ask, probe := l.r.begin(); ask {
		v, decided = l.r.eval(ctx, probe, l.r.nowArg(), l.interval, l.tau, boxedCosts[1])
	}
	if decided {
		if v == 0 {
			return true, ReasonAdmitted, 0
		}
		return false, ReasonRateLimited, time.Duration(v) * time.Microsecond
	}
	switch l.fb {
	case FallbackOpen:
		return true, ReasonFailOpen, 0
	case FallbackClosed:
		return false, ReasonFailClosed, 0
	}
	if ok, wait := l.local.take(l.r.Clock.Now().UnixMicro(), 1); !ok {
		return false, ReasonLocalRateLimited, time.Duration(wait) * time.Microsecond
	}
	return true, ReasonLocalAdmitted, 0
}

// AllowAttempt is Allow as a budget.Budget: every attempt asked about,
// first ones included, takes a token.
func (l *FleetLimiter) AllowAttempt(ctx context.Context, _ policy.PolicyKey, _ int, _ budget.AttemptKind, _ policy.BudgetRef) budget.Decision {
	ok, reason, _ := l.Allow(ctx)
	return budget.Decision{Allowed: ok, Reason: reason}
}
