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

//go:embed ratio.lua
var ratioLua string

var ratioScript = redis.NewScript(nowLua + ratioLua)

// MaxBudgetBuckets bounds BudgetOptions.Ratio.Buckets: the script reads
// every bucket of the window on each retry decision.
const MaxBudgetBuckets = 100

// BudgetOptions configures a FleetBudget.
type BudgetOptions struct {
	Options
	// Ratio is the budget: its fields mean what they mean for
	// budget.RatioOptions (zero values: 10% of first attempts, a floor of
	// 10 retries per second, over 10 seconds in 10 buckets), but for the
	// whole fleet. Its Clock is ignored: Options.Clock is used. Each bucket
	// must be at least a microsecond, and Buckets at most MaxBudgetBuckets.
	Ratio budget.RatioOptions
}

// FleetBudget is a ratio retry budget shared by every process that uses
// the same name on the same Redis: retries and hedges are allowed while
// the fleet's retries in the window stay within
//
//	max(Ratio * fleet first attempts, MinRetriesPerSecond * Window)
//
// It is the algorithm of budget.RatioBudget, run by a Lua script in Redis
// (ratio.lua) so that checking and counting are one atomic step and one
// round trip: EVALSHA, falling back to EVAL when the server has not cached
// the script. First attempts are always allowed and counted. By default
// the window runs on the Redis server's clock (see Options.ClientTime).
//
// When Redis does not answer within Options.Timeout, fails, or the circuit
// is open, the decision is made locally by Options.Fallback (by default a
// per-process budget.RatioBudget with the same options, which counts this
// process's first attempts all along so that it starts warm) and its
// reason starts with "redis_unavailable_".
//
// A FleetBudget implements budget.Budget (register it in a
// budget.Registry under the name policies give) and gate.Gate. It is safe
// for concurrent use and starts no goroutine.
type FleetBudget struct {
	r     *remote
	fb    Fallback
	local *budget.RatioBudget
	// The script's fixed arguments, converted to interface values once:
	// the bucket width in microseconds, the buckets, the ratio, the floor.
	width, n, ratio, floor any
}

// NewFleetBudget returns a fleet budget configured by opts. The error wraps
// ErrInvalidOptions and names the first invalid field.
func NewFleetBudget(opts BudgetOptions) (*FleetBudget, error) {
	s, err := opts.Options.settings("budget")
	if err != nil {
		return nil, err
	}
	ro := opts.Ratio
	ro.Clock = s.Clock
	if ro.Buckets > MaxBudgetBuckets {
		return nil, fmt.Errorf("%w: BudgetOptions.Ratio.Buckets must be at most %d, got %d", ErrInvalidOptions, MaxBudgetBuckets, ro.Buckets)
	}
	local, err := budget.NewRatioBudget(ro)
	if err != nil {
		return nil, fmt.Errorf("%w: BudgetOptions.Ratio: %w", ErrInvalidOptions, err)
	}
	// The defaults of budget.RatioOptions, as NewRatioBudget applied them.
	win, buckets := ro.Window, ro.Buckets
	if win == 0 {
		win = budget.DefaultRatioWindow
	}
	if buckets == 0 {
		buckets = budget.DefaultRatioBuckets
	}
	width := win / time.Duration(buckets)
	if width < time.Microsecond || width%time.Microsecond != 0 {
		return nil, fmt.Errorf("%w: BudgetOptions.Ratio.Window / Buckets must be a whole number of microseconds, got %v", ErrInvalidOptions, width)
	}
	ratio := ratioOption(ro.Ratio, budget.DefaultRatio)
	perSec := ratioOption(ro.MinRetriesPerSecond, budget.DefaultMinRetriesPerSecond)
	floor := perSec * win.Seconds()
	if math.IsInf(floor, 0) || floor > 1e15 {
		return nil, fmt.Errorf("%w: BudgetOptions.Ratio.MinRetriesPerSecond is too large: %v", ErrInvalidOptions, perSec)
	}
	fb := s.Fallback
	if fb == FallbackDefault {
		fb = FallbackLocal
	}
	return &FleetBudget{
		r:     newRemote(s, ratioScript),
		fb:    fb,
		local: local,
		width: strconv.FormatInt(width.Microseconds(), 10),
		n:     strconv.Itoa(buckets),
		ratio: strconv.FormatFloat(ratio, 'g', -1, 64),
		floor: strconv.FormatFloat(floor, 'g', -1, 64),
	}, nil
}

// ratioOption reads a float field of budget.RatioOptions as NewRatioBudget
// does: zero means def, a negative value means none.
func ratioOption(v, def float64) float64 {
	switch {
	case v == 0:
		return def
	case v < 0:
		return 0
	}
	return v
}

// Fallback returns the fallback in force (never FallbackDefault).
func (b *FleetBudget) Fallback() Fallback { return b.fb }

// Stats returns the budget's counters.
func (b *FleetBudget) Stats() Stats { return b.r.stats() }

// AllowAttempt counts and allows first attempts; it allows a retry or a
// hedge, costing ref.Cost units (1 when unset), while the fleet's window
// allows it. It waits for Redis at most Options.Timeout.
func (b *FleetBudget) AllowAttempt(ctx context.Context, _ policy.PolicyKey, attemptIdx int, kind budget.AttemptKind, ref policy.BudgetRef) budget.Decision {
	first := attemptIdx == 0 && kind == budget.KindRetry
	cost := ref.Cost
	if cost <= 0 {
		cost = 1
	}
	if first {
		if b.fb == FallbackLocal {
			// The local budget counts first attempts all along, so that a
			// fallback starts from this process's recent traffic.
			b.local.RecordRequestAt(b.r.Clock.Now())
		}
		cost = 0
	}
	var v int64
	decided := false
	if ask, probe := b.r.begin(); ask {
		v, decided = b.r.eval(ctx, probe, b.r.nowArg(), b.width, b.n, b.ratio, b.floor, boxCost(cost))
	}
	if decided {
		switch v {
		case 1, 3:
			return budget.Decision{Allowed: true, Reason: budget.ReasonFirstAttempt}
		case 2:
			return budget.Decision{Allowed: true, Reason: budget.ReasonWithinRatio}
		}
		return budget.Decision{Allowed: false, Reason: budget.ReasonRatioExceeded}
	}
	if first {
		return budget.Decision{Allowed: true, Reason: ReasonFallbackFirstAttempt}
	}
	switch b.fb {
	case FallbackOpen:
		return budget.Decision{Allowed: true, Reason: ReasonFailOpen}
	case FallbackClosed:
		return budget.Decision{Allowed: false, Reason: ReasonFailClosed}
	}
	if b.local.TakeRetryAt(b.r.Clock.Now(), cost) {
		return budget.Decision{Allowed: true, Reason: ReasonLocalWithinRatio}
	}
	return budget.Decision{Allowed: false, Reason: ReasonLocalRatioExceeded}
}
