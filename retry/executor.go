package retry

import (
	"context"
	"github.com/aponysus/rego/admission"
	"math/rand/v2"
	"sync"
	"sync/atomic"

	"github.com/aponysus/rego/budget"
	"github.com/aponysus/rego/circuit"
	"github.com/aponysus/rego/classify"
	"github.com/aponysus/rego/clock"
	"github.com/aponysus/rego/controlplane"
	"github.com/aponysus/rego/gate"
	"github.com/aponysus/rego/hedge"
	"github.com/aponysus/rego/internal/attemptctx"
	"github.com/aponysus/rego/observe"
	"github.com/aponysus/rego/policy"
)

// MissingPolicyMode says what the executor does when the provider cannot
// supply a usable policy.
type MissingPolicyMode int

const (
	// FailureFallback runs the call under policy.DefaultPolicyFor(key).
	// It is the zero value and the default.
	FailureFallback MissingPolicyMode = iota
	// FailureAllow runs a single attempt: no retries, no hedges.
	FailureAllow
	// FailureDeny fails the call with a *NoPolicyError without running it.
	FailureDeny
)

func (m MissingPolicyMode) String() string {
	switch m {
	case FailureAllow:
		return "allow"
	case FailureDeny:
		return "deny"
	}
	return "fallback"
}

// Random is a source of uniform numbers in [0, 1). It must be safe for
// concurrent use when the executor is shared.
type Random interface {
	Float64() float64
}

// ExecutorOptions configures an Executor. The zero value gives a working
// executor: default policies, no observer, no budgets, the default
// classifier, the wall clock.
type ExecutorOptions struct {
	// Provider resolves policies. If nil, every key gets
	// policy.DefaultPolicyFor(key) through an empty StaticProvider.
	Provider controlplane.PolicyProvider
	// Observer receives the executor's events. If nil, NoopObserver. If
	// it implements observe.EventObserver, it also hears the lifecycle
	// events the executor emits (breaker state changes, budget
	// exhaustion, key overflows, late panics; see the package doc). If
	// it implements observe.HookSelector, only the callbacks it selects
	// are called, and calls skip what the others would need (the
	// timeline, when it selects neither OnSuccess nor OnFailure).
	Observer observe.Observer
	// Budgets holds the budgets policies name. If nil, no budget is found
	// and every attempt is allowed (fail-open, recorded as
	// "budget_not_found").
	Budgets *budget.Registry
	// Classifiers holds the classifiers policies name. A name the registry
	// lacks falls back to DefaultClassifier, recorded in the timeline as
	// classifier_missing.
	Classifiers *classify.Registry
	// DefaultClassifier judges attempts of policies that name no
	// classifier. If nil, classify.Default.
	DefaultClassifier classify.Classifier
	// MissingPolicyMode applies when the provider fails. The zero value is
	// FailureFallback.
	MissingPolicyMode MissingPolicyMode
	// Clock drives backoff waits, timeouts and hedge triggers. If nil,
	// clock.Real. Use regotest.Clock in tests.
	Clock clock.Clock
	// Rand draws the jitter. If nil, the math/rand/v2 global source.
	Rand Random
	// RecoverPanics makes a panic in user code come back as a
	// *PanicError instead of being re-raised in the caller's goroutine.
	RecoverPanics bool
	// HedgeTriggers resolves HedgePolicy.Trigger names. If nil,
	// hedge.NewRegistry() (the built-in triggers).
	HedgeTriggers *hedge.Registry
	// Breakers holds the circuit breakers of the keys whose policy
	// enables one. If nil, the executor keeps its own. When Observer
	// implements observe.EventObserver, NewExecutor sets the registry's
	// OnStateChange (if nil) to deliver every state change as an
	// observe.EventBreakerState; a non-nil OnStateChange is left alone.
	// Build the executor before the registry is used elsewhere: the field
	// is set without synchronisation.
	Breakers *circuit.Registry
	// Gates holds the user gates that policies name in their Gates list
	// (policy.GateRef); they are asked after the built-in gates, in the
	// list's order. If nil, every named gate is missing: the attempt is
	// admitted (fail-open) and the decision recorded as gate_not_found.
	Gates *gate.Registry
	// Overload holds the per-key state of the overload gates that policies
	// enable in their bulkhead, rate_limit, concurrency and shed sections
	// (packages bulkhead, ratelimit, adaptive, shed). If nil, the executor
	// keeps its own, waiting on Clock (admission.NewGates(Clock)). A nil
	// field of a given Gates leaves that gate unconfigured: a policy
	// enabling it is admitted and recorded as gate_not_configured.
	Overload *admission.Gates
	// Latencies keeps per-key latencies for the latency-aware hedge
	// triggers. If nil, the executor keeps its own, on Clock, and feeds it
	// only from calls whose trigger may read latencies (see
	// hedge.LatencyReader: not the fixed delay). A Latencies
	// given here must run on the same clock as the executor: observations
	// are stamped with the executor's time.
	Latencies *hedge.Latencies
}

// Executor runs operations under the policies of their keys. It is safe
// for concurrent use; build one per process (or per dependency) and share
// it.
type Executor struct {
	provider      controlplane.PolicyProvider
	refProvider   controlplane.PolicyRefProvider // provider, when it serves by reference
	obs           observe.Observer
	hooks         observe.Hooks // the observer's callbacks the executor calls
	budgets       *budget.Registry
	classifiers   *classify.Registry
	defClassifier classify.Classifier
	defIsDefault  bool
	mode          MissingPolicyMode
	clk           clock.Clock
	realClock     bool
	wallNow       bool // clk's Now is the wall clock (clock.WallNow)
	rnd           Random
	recoverPanics bool
	triggers      *hedge.Registry
	latencies     *hedge.Latencies
	ownLatencies  bool // latencies is the executor's own: only its triggers read it
	breakers      *circuit.Registry
	gates         *gate.Registry
	// The built-in gates that arrive with their packages (see builtins);
	// nil until an option supplies them.
	shed, rateLimit, bulkhead, concurrency gate.Gate
	events                                 observe.EventObserver  // obs, when it wants lifecycle events
	versioned                              controlplane.Versioned // provider, when it serves versions
	latePanics                             atomic.Uint64
	hubs                                   sync.Pool                              // of *hub[T], for hedged calls
	noGates                                atomic.Pointer[policy.EffectivePolicy] // the last policy seen to enable no gate
	plans                                  planCache                              // the gate plans of the policies in force
	life                                   lifecycle                              // the state of the lifecycle events (events.go)

	// forceConcurrent runs every call's attempts on goroutines even
	// without hedging; the conformance tests use it to run the same
	// scenarios through both modes of the engine.
	forceConcurrent bool
}

// NewExecutor returns an executor configured by opts.
func NewExecutor(opts ExecutorOptions) *Executor {
	e := &Executor{
		provider:      opts.Provider,
		obs:           opts.Observer,
		budgets:       opts.Budgets,
		classifiers:   opts.Classifiers,
		defClassifier: opts.DefaultClassifier,
		mode:          opts.MissingPolicyMode,
		clk:           opts.Clock,
		rnd:           opts.Rand,
		recoverPanics: opts.RecoverPanics,
		triggers:      opts.HedgeTriggers,
		latencies:     opts.Latencies,
		gates:         opts.Gates,
	}
	if e.provider == nil {
		e.provider = &controlplane.StaticProvider{}
	}
	e.refProvider, _ = e.provider.(controlplane.PolicyRefProvider)
	if e.obs == nil {
		e.obs = observe.NoopObserver{}
	}
	e.hooks = observe.HooksOf(e.obs)
	e.events, _ = e.obs.(observe.EventObserver)
	e.versioned, _ = e.provider.(controlplane.Versioned)
	if e.defClassifier == nil {
		e.defClassifier = classify.Default
	}
	e.defIsDefault = classify.IsDefault(e.defClassifier)
	if e.clk == nil {
		e.clk = clock.Real{}
	}
	e.realClock = clock.IsReal(e.clk)
	e.wallNow = clock.WallNow(e.clk)
	e.useBreakers(opts.Breakers)
	if e.triggers == nil {
		e.triggers = hedge.NewRegistry()
	}
	e.useOverload(opts.Overload)
	if e.latencies == nil {
		e.latencies = hedge.NewLatencies(hedge.LatenciesOptions{Tracker: hedge.TrackerOptions{Clock: e.clk}})
		e.ownLatencies = true
	}
	return e
}

// useOverload installs the overload gates of ov (its own when nil),
// leaving a gate unconfigured when its registry is nil (never a typed nil
// inside the gate.Gate interface).
func (e *Executor) useOverload(ov *admission.Gates) {
	if ov == nil {
		ov = admission.NewGates(e.clk)
	}
	if ov.Shed != nil {
		e.shed = ov.Shed
	}
	if ov.RateLimit != nil {
		e.rateLimit = ov.RateLimit
	}
	if ov.Bulkhead != nil {
		e.bulkhead = ov.Bulkhead
	}
	if ov.Concurrency != nil {
		e.concurrency = ov.Concurrency
	}
}

func (e *Executor) float64() float64 {
	if e.rnd != nil {
		return e.rnd.Float64()
	}
	return rand.Float64()
}

// Do runs op under the policy of key and returns nil on success or the
// error that ended the call.
func (e *Executor) Do(ctx context.Context, key policy.PolicyKey, op func(context.Context) error) error {
	_, err := run[struct{}](ctx, e, key, errOp(op), CallOptions[struct{}]{}, nil, nil)
	return err
}

// DoWithTimeline is Do, also returning the call's timeline.
func (e *Executor) DoWithTimeline(ctx context.Context, key policy.PolicyKey, op func(context.Context) error) (observe.Timeline, error) {
	var tl observe.Timeline
	_, err := run[struct{}](ctx, e, key, errOp(op), CallOptions[struct{}]{}, nil, &tl)
	return tl, err
}

// DoValue runs op under the policy of key and returns the value of the
// attempt that succeeded. On failure it returns the value of the last
// attempt that ran (often the zero value) with the error.
func DoValue[T any](ctx context.Context, exec *Executor, key policy.PolicyKey, op func(context.Context) (T, error)) (T, error) {
	v, err := run[T](ctx, exec, key, valueOp[T](op), CallOptions[T]{}, nil, nil)
	return v, err
}

// DoValueWithTimeline is DoValue, also returning the call's timeline.
func DoValueWithTimeline[T any](ctx context.Context, exec *Executor, key policy.PolicyKey, op func(context.Context) (T, error)) (T, observe.Timeline, error) {
	var tl observe.Timeline
	v, err := run[T](ctx, exec, key, valueOp[T](op), CallOptions[T]{}, nil, &tl)
	return v, tl, err
}

// CallOptions are per-call options for DoValueWith.
type CallOptions[T any] struct {
	// Timeline makes DoValueWith build and return the call's timeline.
	Timeline bool
	// Discard receives every value an attempt produced that the call does
	// not return: values of failed attempts superseded by a later one, and
	// values of cancelled attempts (losing hedges), including those that
	// arrive after the call has returned, which are discarded from the
	// attempt's goroutine. Use it to release resources such as HTTP
	// response bodies. If nil, such values are dropped.
	Discard func(T)
	// SingleAttempt runs at most one attempt and no hedges, whatever the
	// policy says; everything else about the policy (timeouts, budgets,
	// classifier, observers) applies. Use it for calls that are not safe
	// to repeat, such as a non-idempotent HTTP request. The timeline
	// records it as the attribute single_attempt=true.
	SingleAttempt bool
	// NoHedge runs the call without hedging even when its policy enables
	// it: attempts run one at a time. Use it for calls whose attempts
	// must not overlap, such as a stream whose messages cannot be sent
	// to two servers.
	NoHedge bool
	// Classifier judges this call's attempts when its policy names no
	// classifier, in place of ExecutorOptions.DefaultClassifier. An
	// integration uses it to classify by protocol (HTTP status, gRPC
	// code) without asking users to register a classifier. A classifier
	// the policy names still wins.
	Classifier classify.Classifier
}

// DoValueWith is DoValue with per-call options.
func DoValueWith[T any](ctx context.Context, exec *Executor, key policy.PolicyKey, op func(context.Context) (T, error), opts CallOptions[T]) (T, observe.Timeline, error) {
	// An integration's call that is its own context may lend the first
	// attempt's context room in its allocation (regohttp's does).
	host, _ := ctx.(attemptctx.Host[observe.AttemptInfo])
	if !opts.Timeline {
		v, err := run[T](ctx, exec, key, valueOp[T](op), opts, host, nil)
		return v, observe.Timeline{}, err
	}
	var tl observe.Timeline
	v, err := run[T](ctx, exec, key, valueOp[T](op), opts, host, &tl)
	return v, tl, err
}

// invoker hides the shape of the caller's function. Func values are
// pointer-shaped, so converting one to an invoker does not allocate.
type invoker[T any] interface {
	invoke(ctx context.Context) (T, error)
}

type errOp func(context.Context) error

func (f errOp) invoke(ctx context.Context) (struct{}, error) { return struct{}{}, f(ctx) }

type valueOp[T any] func(context.Context) (T, error)

func (f valueOp[T]) invoke(ctx context.Context) (T, error) { return f(ctx) }
