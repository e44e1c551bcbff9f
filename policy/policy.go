package policy

import "time"

// JitterKind names the randomisation applied to each backoff.
type JitterKind string

// The jitter kinds. See retry.Backoff for their exact formulas.
const (
	// JitterNone waits exactly the exponential backoff.
	JitterNone JitterKind = "none"
	// JitterFull waits a uniform random time in [0, backoff] (the default).
	JitterFull JitterKind = "full"
	// JitterEqual waits backoff/2 plus a uniform random time in [0, backoff/2].
	JitterEqual JitterKind = "equal"
	// JitterDecorrelated waits a uniform random time in
	// [InitialBackoff, 3*previous wait], capped at MaxBackoff.
	JitterDecorrelated JitterKind = "decorrelated"
)

// Valid reports whether j is one of the known kinds (the empty string counts
// as the default and is valid).
func (j JitterKind) Valid() bool {
	switch j {
	case "", JitterNone, JitterFull, JitterEqual, JitterDecorrelated:
		return true
	}
	return false
}

// PolicySource tells where an effective policy came from.
type PolicySource string

// The policy sources.
const (
	SourceUnknown PolicySource = "unknown"
	SourceStatic  PolicySource = "static"
	SourceRemote  PolicySource = "remote"
	SourceLKG     PolicySource = "lkg"
	SourceDefault PolicySource = "default"
)

// BudgetRef names a budget in the executor's budget registry and the cost of
// one attempt against it. An empty Name means "no budget" (every attempt is
// allowed). A zero Cost means 1.
type BudgetRef struct {
	Name string
	Cost int
	// Shadow records what the budget decides without enforcing it: a
	// denial is recorded as one that would have happened, and the attempt
	// runs.
	Shadow bool
}

// RetryPolicy says how many attempts to make and how to wait between them.
// A zero field means its default; Normalize documents the ranges.
type RetryPolicy struct {
	// MaxAttempts bounds the attempts of one call, counting the first call
	// and, when hedging is on, every hedge. Default 3; range [1, 10].
	MaxAttempts int
	// InitialBackoff is the wait (before jitter) before the first retry.
	// Default 100ms; range [1ms, 1m].
	InitialBackoff time.Duration
	// MaxBackoff caps every wait. Default 10s; range [InitialBackoff, 5m].
	MaxBackoff time.Duration
	// BackoffMultiplier grows the wait between retries. Default 2; range
	// [1, 10].
	BackoffMultiplier float64
	// Jitter randomises the waits. Default JitterFull.
	Jitter JitterKind
	// TimeoutPerAttempt bounds each attempt; zero means none. Range
	// [1ms, 1h].
	TimeoutPerAttempt time.Duration
	// OverallTimeout bounds the whole call, waits included; zero means
	// none. Range [1ms, 24h].
	OverallTimeout time.Duration
	// ClassifierName picks a classifier from the executor's registry; empty
	// means the executor's default classifier.
	ClassifierName string
	// Budget gates retries (and first attempts, for budgets that throttle).
	Budget BudgetRef
}

// HedgeTrigger names when a hedge is launched. The built-in triggers are
// TriggerFixed and the latency-aware TriggerP50 ... TriggerP99; package
// hedge holds a registry for user-written ones.
type HedgeTrigger string

// The built-in hedge triggers.
const (
	// TriggerFixed launches hedges every Delay.
	TriggerFixed HedgeTrigger = "fixed"
	// TriggerP50 launches a hedge once an attempt has run longer than the
	// key's recent median latency (Delay until enough samples are seen).
	TriggerP50 HedgeTrigger = "p50"
	TriggerP90 HedgeTrigger = "p90"
	TriggerP95 HedgeTrigger = "p95"
	TriggerP99 HedgeTrigger = "p99"
)

// HedgePolicy says whether and when to send extra concurrent attempts
// (hedges) while an attempt is still running.
type HedgePolicy struct {
	// Enabled turns hedging on. When false, attempts run one at a time.
	Enabled bool
	// MaxHedges bounds the hedges launched per retry step. Default 1;
	// range [1, 5]. Hedges also count toward Retry.MaxAttempts.
	MaxHedges int
	// Trigger picks when to hedge. Default TriggerFixed.
	Trigger HedgeTrigger
	// Delay is the fixed trigger's delay, and the latency triggers'
	// delay until they have enough samples. Default 50ms; range [1ms, 1m].
	Delay time.Duration
	// Budget gates each hedge (kind budget.KindHedge). A denied hedge is
	// not launched.
	Budget BudgetRef
	// CancelOnNonRetryable ends the call as soon as any attempt returns a
	// non-retryable outcome. When false (the default) the call keeps
	// waiting for the attempts still in flight, which may yet succeed.
	CancelOnNonRetryable bool
}

// CircuitPolicy configures the key's circuit breaker (package circuit).
// After FailureThreshold consecutive failed attempts the breaker opens and
// the executor fails calls at once, without calling the dependency; after
// Cooldown one probe attempt is let through (half-open): its success closes
// the breaker, its failure opens it again.
type CircuitPolicy struct {
	// Enabled turns the breaker on. Default false.
	Enabled bool
	// FailureThreshold is the number of consecutive failed attempts that
	// opens the breaker. Default 5; range [1, 1000].
	FailureThreshold int
	// Cooldown is how long the breaker stays open before it lets a probe
	// through. Default 5s; range [10ms, 10m].
	Cooldown time.Duration
	// FailureRateThreshold opens the breaker when the share of failed
	// attempts in the last Window reaches it, once at least MinThroughput
	// attempts ended in the window. Zero turns the rule off; range
	// (0, 1].
	FailureRateThreshold float64
	// SlowCallDuration makes an attempt slower than it count as slow; zero
	// turns slow-call counting off. Range [1ms, 1h].
	SlowCallDuration time.Duration
	// SlowCallRateThreshold opens the breaker when the share of slow
	// attempts in the last Window reaches it (with MinThroughput). Zero
	// turns the rule off; range (0, 1].
	SlowCallRateThreshold float64
	// Window is the sliding time window of the rate rules. Default 10s;
	// range [100ms, 10m].
	Window time.Duration
	// MinThroughput is how many attempts must end in the window before a
	// rate rule may open the breaker. Default 10; range [1, 100000].
	MinThroughput int
	// HalfOpenProbes is how many probe attempts a half-open breaker lets
	// through at once. Default 1; range [1, 100].
	HalfOpenProbes int
	// SuccessThreshold is how many probes must succeed to close the
	// breaker; one failed probe opens it again. Default HalfOpenProbes;
	// range [1, HalfOpenProbes].
	SuccessThreshold int
	// Shadow records what the breaker decides without enforcing it.
	Shadow bool
}

// Metadata describes where a policy came from and what normalisation did
// to it.
type Metadata struct {
	// Source is where the policy came from.
	Source PolicySource `json:"source,omitempty"`
	// Version is the version of the document the policy came from, if any.
	Version string `json:"version,omitempty"`
	// Normalized reports that Normalize has run on this policy.
	Normalized bool `json:"normalized,omitempty"`
	// ClampedFields lists the fields Normalize changed, by their JSON
	// paths ("retry.max_attempts").
	ClampedFields []string `json:"clamped_fields,omitempty"`
}

// EffectivePolicy is everything the executor needs to run calls for a key.
type EffectivePolicy struct {
	Key     PolicyKey
	ID      string
	Retry   RetryPolicy
	Hedge   HedgePolicy
	Circuit CircuitPolicy
	// The overload gates (package gate gives their order).
	Bulkhead    BulkheadPolicy
	RateLimit   RateLimitPolicy
	Concurrency ConcurrencyPolicy
	Shed        ShedPolicy
	// Gates names user gates, asked after the built-in ones in this order.
	Gates []GateRef
	Meta  Metadata
}

// DefaultPolicyFor returns the default policy for key: 3 attempts, full
// jitter, exponential backoff from 100ms to 10s, no timeouts; hedging, the
// breaker and the overload gates off (their other fields at their
// defaults), no user gates. The result is already normalised.
func DefaultPolicyFor(key PolicyKey) EffectivePolicy {
	p := defaultPolicy
	p.Key = key
	return p
}

var defaultPolicy = func() EffectivePolicy {
	var p EffectivePolicy
	p.fillDefaults()
	p.Meta = Metadata{Source: SourceDefault, Normalized: true}
	return p
}()

// IsZero reports whether p is the zero policy.
func (p EffectivePolicy) IsZero() bool {
	return p.Key.IsZero() && p.ID == "" && p.Retry == (RetryPolicy{}) &&
		p.Hedge == (HedgePolicy{}) && p.Circuit == (CircuitPolicy{}) &&
		p.Bulkhead == (BulkheadPolicy{}) && p.RateLimit == (RateLimitPolicy{}) &&
		p.Concurrency == (ConcurrencyPolicy{}) && p.Shed == (ShedPolicy{}) && len(p.Gates) == 0 &&
		p.Meta.Source == "" && p.Meta.Version == "" && !p.Meta.Normalized &&
		len(p.Meta.ClampedFields) == 0
}
