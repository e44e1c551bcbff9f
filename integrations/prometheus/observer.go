package regoprom

import (
	"context"
	"fmt"
	"time"

	"github.com/aponysus/rego/budget"
	"github.com/aponysus/rego/clock"
	"github.com/aponysus/rego/observe"
	"github.com/aponysus/rego/policy"
	"github.com/prometheus/client_golang/prometheus"
)

// DefaultMaxKeys is the key cardinality limit when Options.MaxKeys is zero.
const DefaultMaxKeys = 1000

// Label values the observer itself chooses (the others come from records).
const (
	outcomeCancelled = "cancelled"
	kindFirst        = "first"
	kindRetry        = "retry"
	kindHedge        = "hedge"
	gateBudget       = "budget"
	gateCircuit      = "circuit"
	resultSuccess    = "success"
	resultFailure    = "failure"
	stopNone         = "none"
	eventSpawn       = "spawn"
	eventCancel      = "cancel"
	circuitPrefix    = "circuit_"
)

// Options configures NewObserver. The zero value registers the metrics on
// prometheus.DefaultRegisterer under the namespace "rego".
type Options struct {
	// Registerer receives the collectors. If nil,
	// prometheus.DefaultRegisterer.
	Registerer prometheus.Registerer
	// Namespace prefixes every metric name. If empty, "rego".
	Namespace string
	// MaxKeys bounds the distinct values of the key label; events of later
	// keys are counted under OtherKey. If zero, DefaultMaxKeys. Negative is
	// an error.
	MaxKeys int
	// DurationBuckets are the upper bounds, in seconds, of the attempt
	// duration histogram. If nil, prometheus.DefBuckets (5ms to 10s).
	DurationBuckets []float64
	// BackoffBuckets are the upper bounds, in seconds, of the backoff
	// histogram. If nil, 1ms to about 33s in powers of two, which covers
	// the policy ranges of the default backoff.
	BackoffBuckets []float64
	// Budgets and BudgetNames export the levels of the named budgets of
	// the executor's registry, read at scrape time (budget_available,
	// budget_reject_probability). If BudgetNames is empty, no budget level
	// is exported; BudgetNames without Budgets is an error.
	Budgets     *budget.Registry
	BudgetNames []string
	// Clock reads "now" for budget levels; it must be the budgets' clock.
	// If nil, clock.Real.
	Clock clock.Clock
}

// defaultBackoffBuckets: 1ms * 2^i for i in [0, 15].
var defaultBackoffBuckets = prometheus.ExponentialBuckets(0.001, 2, 16)

// Observer is an observe.Observer that updates Prometheus collectors. It
// is safe for concurrent use; its callbacks never block beyond the
// collectors' own atomics and a short read lock.
type Observer struct {
	observe.BaseObserver

	keys *keyGuard

	attempts   *prometheus.CounterVec
	denied     *prometheus.CounterVec
	calls      *prometheus.CounterVec
	duration   *prometheus.HistogramVec
	backoff    *prometheus.HistogramVec
	hedges     *prometheus.CounterVec
	fallbacks  *prometheus.CounterVec
	life       *lifecycle
	collectors []prometheus.Collector
}

var (
	_ observe.Observer      = (*Observer)(nil)
	_ observe.EventObserver = (*Observer)(nil)
)

// NewObserver builds the collectors and registers them on
// opts.Registerer. If any registration fails (a duplicate, typically), the
// collectors already registered are unregistered again and the error is a
// *RegisterError.
func NewObserver(opts Options) (*Observer, error) {
	if opts.MaxKeys < 0 {
		return nil, fmt.Errorf("regoprom: Options.MaxKeys is negative (%d)", opts.MaxKeys)
	}
	if err := checkBuckets("DurationBuckets", opts.DurationBuckets); err != nil {
		return nil, err
	}
	if err := checkBuckets("BackoffBuckets", opts.BackoffBuckets); err != nil {
		return nil, err
	}
	reg := opts.Registerer
	if reg == nil {
		reg = prometheus.DefaultRegisterer
	}
	ns := opts.Namespace
	if ns == "" {
		ns = "rego"
	}
	maxKeys := opts.MaxKeys
	if maxKeys == 0 {
		maxKeys = DefaultMaxKeys
	}
	durBuckets := opts.DurationBuckets
	if durBuckets == nil {
		durBuckets = prometheus.DefBuckets
	}
	boBuckets := opts.BackoffBuckets
	if boBuckets == nil {
		boBuckets = defaultBackoffBuckets
	}

	o := &Observer{keys: newKeyGuard(maxKeys)}
	o.attempts = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: ns, Name: "attempts_total",
		Help: "Attempts that ran, by outcome kind and by kind (retry or hedge).",
	}, []string{"key", "outcome", "kind"})
	o.denied = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: ns, Name: "attempts_denied_total",
		Help: "Attempts a retry budget or circuit breaker refused; they did not run.",
	}, []string{"key", "gate", "reason"})
	o.calls = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: ns, Name: "calls_total",
		Help: "Finished calls, by result and stop reason.",
	}, []string{"key", "result", "stop_reason"})
	o.duration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: ns, Name: "attempt_duration_seconds",
		Help:    "Duration of the attempts that ran, by outcome kind.",
		Buckets: durBuckets,
	}, []string{"key", "outcome"})
	o.backoff = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: ns, Name: "backoff_seconds",
		Help:    "Computed wait (after jitter) before each retry that ran.",
		Buckets: boBuckets,
	}, []string{"key"})
	o.hedges = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: ns, Name: "hedges_total",
		Help: "Hedges spawned, and attempts cancelled because another won or the call ended.",
	}, []string{"key", "event"})
	o.fallbacks = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: ns, Name: "policy_fallbacks_total",
		Help: "Calls that ran without their own policy because the provider failed, by policy source.",
	}, []string{"key", "source"})

	names := []string{"attempts_total", "attempts_denied_total", "calls_total",
		"attempt_duration_seconds", "backoff_seconds", "hedges_total", "policy_fallbacks_total"}
	cs := []prometheus.Collector{o.attempts, o.denied, o.calls, o.duration, o.backoff, o.hedges, o.fallbacks}
	life, lifeNames, lifeCs := newLifecycle(ns)
	o.life = life
	names = append(names, lifeNames...)
	cs = append(cs, lifeCs...)
	bc, err := newBudgetCollector(ns, opts)
	if err != nil {
		return nil, err
	}
	if bc != nil {
		names = append(names, "budget_available")
		cs = append(cs, bc)
	}
	for i, c := range cs {
		if err := reg.Register(c); err != nil {
			for _, done := range cs[:i] {
				reg.Unregister(done)
			}
			return nil, &RegisterError{Metric: prometheus.BuildFQName(ns, "", names[i]), Err: err}
		}
	}
	o.collectors = cs
	return o, nil
}

// checkBuckets rejects bounds that the histogram constructor would panic on.
func checkBuckets(field string, b []float64) error {
	if b != nil && len(b) == 0 {
		return fmt.Errorf("regoprom: Options.%s is empty; leave it nil for the default", field)
	}
	for i := 1; i < len(b); i++ {
		if !(b[i] > b[i-1]) {
			return fmt.Errorf("regoprom: Options.%s is not strictly increasing at index %d", field, i)
		}
	}
	return nil
}

// Unregister removes the observer's collectors from reg (which should be
// the registerer it was built with), so that a new observer can take their
// names.
func (o *Observer) Unregister(reg prometheus.Registerer) {
	if reg == nil {
		reg = prometheus.DefaultRegisterer
	}
	for _, c := range o.collectors {
		reg.Unregister(c)
	}
}

func (o *Observer) key(k policy.PolicyKey) string { return o.keys.label(k) }

// OnAttempt counts a finished or a refused attempt.
func (o *Observer) OnAttempt(_ context.Context, key policy.PolicyKey, rec observe.AttemptRecord) {
	k := o.key(key)
	if !rec.BudgetAllowed {
		gate, reason := gateBudget, rec.BudgetReason
		if d, ok := rec.Refusal(); ok {
			gate, reason = d.Gate, d.Reason
		}
		o.denied.WithLabelValues(k, gate, reason).Inc()
		return
	}
	if rec.BudgetReason == budgetReasonNotFound {
		o.life.budgetNotFound.WithLabelValues(k).Inc()
	}
	if rec.Cancelled {
		// Counted by OnHedgeCancel, which the executor calls for every
		// attempt it cancels.
		return
	}
	o.ran(k, rec, rec.Outcome.Kind.String())
}

// OnHedgeSpawn counts a launched hedge.
func (o *Observer) OnHedgeSpawn(_ context.Context, key policy.PolicyKey, _ observe.AttemptRecord) {
	o.hedges.WithLabelValues(o.key(key), eventSpawn).Inc()
}

// OnHedgeCancel counts an attempt the executor cancelled, as an attempt
// with outcome "cancelled" and as a hedge "cancel" event. The reason
// ("lost", "call_ended") is not a label: OnAttempt-level detail is what
// timelines are for.
func (o *Observer) OnHedgeCancel(_ context.Context, key policy.PolicyKey, rec observe.AttemptRecord, _ string) {
	k := o.key(key)
	o.hedges.WithLabelValues(k, eventCancel).Inc()
	o.ran(k, rec, outcomeCancelled)
}

// ran records an attempt that ran (to the end or until cancelled).
func (o *Observer) ran(k string, rec observe.AttemptRecord, outcome string) {
	kind := kindRetry
	switch {
	case rec.IsHedge:
		kind = kindHedge
	case rec.RetryIndex == 0:
		kind = kindFirst
	}
	o.attempts.WithLabelValues(k, outcome, kind).Inc()
	if !rec.StartTime.IsZero() && !rec.EndTime.IsZero() {
		o.duration.WithLabelValues(k, outcome).Observe(seconds(rec.EndTime.Sub(rec.StartTime)))
	}
	if !rec.IsHedge && rec.RetryIndex > 0 {
		o.backoff.WithLabelValues(k).Observe(seconds(rec.Backoff))
	}
}

// OnSuccess counts a call that succeeded.
func (o *Observer) OnSuccess(_ context.Context, key policy.PolicyKey, tl observe.Timeline) {
	o.call(o.key(key), resultSuccess, tl)
}

// OnFailure counts a call that failed.
func (o *Observer) OnFailure(_ context.Context, key policy.PolicyKey, tl observe.Timeline) {
	o.call(o.key(key), resultFailure, tl)
}

func (o *Observer) call(k, result string, tl observe.Timeline) {
	stop := tl.Attributes[observe.AttrStopReason]
	if stop == "" {
		stop = stopNone
	}
	o.calls.WithLabelValues(k, result, stop).Inc()
	o.life.setVersion(tl.Attributes[observe.AttrPolicyVersion])
	_, polErr := tl.Attributes[observe.AttrPolicyError]
	_, mode := tl.Attributes[observe.AttrMissingPolicyMode]
	if polErr || mode {
		src := tl.Attributes[observe.AttrPolicySource]
		if src == "" {
			src = string(policy.SourceUnknown)
		}
		o.fallbacks.WithLabelValues(k, src).Inc()
	}
}

func seconds(d time.Duration) float64 {
	if d < 0 {
		return 0
	}
	return d.Seconds()
}
