package regootel

import (
	"context"
	"sync/atomic"

	"github.com/aponysus/rego/budget"
	"github.com/aponysus/rego/observe"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// Lifecycle instrument name suffixes.
const (
	SuffixBreakerState    = ".breaker.state"
	SuffixPolicyInfo      = ".policy.info"
	SuffixReloadFailures  = ".policy.reload_failures"
	SuffixBudgetNotFound  = ".budget.not_found"
	SuffixBudgetExhausted = ".budget.exhausted"
	SuffixKeyOverflow     = ".key.overflow"
)

// Lifecycle attribute keys.
const (
	AttrPolicyVersion = attribute.Key("rego.policy_version")
	AttrRegistry      = attribute.Key("rego.registry")
)

// Breaker state values of the breaker state gauge.
const (
	BreakerClosed   = observe.BreakerClosedValue
	BreakerHalfOpen = observe.BreakerHalfOpenValue
	BreakerOpen     = observe.BreakerOpenValue
)

// lifecycle holds the instruments fed by lifecycle events and by the
// record fields that report configuration rather than traffic.
type lifecycle struct {
	breakerState    metric.Int64Gauge
	reloadFailures  metric.Int64Counter
	budgetNotFound  metric.Int64Counter
	budgetExhausted metric.Int64Counter
	keyOverflow     metric.Int64Counter
	// version is the policy version the info gauge reports; its callback
	// reads it at collection time.
	version atomic.Pointer[string]
}

func newLifecycle(m metric.Meter, prefix string) (*lifecycle, error) {
	l := &lifecycle{}
	var err error
	if l.breakerState, err = m.Int64Gauge(prefix+SuffixBreakerState,
		metric.WithUnit("1"),
		metric.WithDescription("Circuit breaker state by key: 0 closed, 1 half-open, 2 open.")); err != nil {
		return nil, err
	}
	if _, err = m.Int64ObservableGauge(prefix+SuffixPolicyInfo,
		metric.WithUnit("1"),
		metric.WithDescription("The version of the policy document in force: one point, value 1."),
		metric.WithInt64Callback(func(_ context.Context, o metric.Int64Observer) error {
			if v := l.version.Load(); v != nil {
				o.Observe(1, metric.WithAttributes(AttrPolicyVersion.String(*v)))
			}
			return nil
		})); err != nil {
		return nil, err
	}
	if l.reloadFailures, err = m.Int64Counter(prefix+SuffixReloadFailures,
		metric.WithUnit("{reload}"),
		metric.WithDescription("Policy document loads that failed (the last good document stayed in force).")); err != nil {
		return nil, err
	}
	if l.budgetNotFound, err = m.Int64Counter(prefix+SuffixBudgetNotFound,
		metric.WithUnit("{attempt}"),
		metric.WithDescription("Attempts whose policy names a budget the executor's registry lacks (allowed, ungated), by key.")); err != nil {
		return nil, err
	}
	if l.budgetExhausted, err = m.Int64Counter(prefix+SuffixBudgetExhausted,
		metric.WithUnit("{event}"),
		metric.WithDescription("Times a budget began denying attempts, by key.")); err != nil {
		return nil, err
	}
	if l.keyOverflow, err = m.Int64Counter(prefix+SuffixKeyOverflow,
		metric.WithUnit("{event}"),
		metric.WithDescription("Key overflow events by registry: the executor reports the 1st, 2nd, 4th, ... key each per-key registry had no room for.")); err != nil {
		return nil, err
	}
	return l, nil
}

// setVersion makes v the version the info gauge reports.
func (l *lifecycle) setVersion(v string) {
	if v == "" {
		return
	}
	if p := l.version.Load(); p != nil && *p == v {
		return
	}
	stored := v // only this copy escapes, so the common case does not allocate
	l.version.Store(&stored)
}

// attempt counts what an attempt record reports about configuration.
func (l *lifecycle) attempt(ctx context.Context, k attribute.KeyValue, rec *observe.AttemptRecord) {
	if rec.BudgetReason == budget.ReasonBudgetMissing {
		l.budgetNotFound.Add(ctx, 1, metric.WithAttributes(k))
	}
}

// OnEvent updates the lifecycle instruments: the breaker state gauge, the
// policy info gauge, and the reload failure, budget exhaustion and key
// overflow counters. Events need metrics enabled; they make no spans.
func (o *Observer) OnEvent(ctx context.Context, ev observe.Event) {
	if o.inst == nil {
		return
	}
	l := o.inst.life
	switch ev.Kind {
	case observe.EventBreakerState:
		if v, ok := breakerValue(ev.To); ok {
			l.breakerState.Record(ctx, v, metric.WithAttributes(AttrKey.String(ev.Key.String())))
		}
	case observe.EventPolicyReload:
		l.setVersion(ev.Version)
	case observe.EventPolicyReloadFailed:
		l.reloadFailures.Add(ctx, 1)
	case observe.EventBudgetExhausted:
		l.budgetExhausted.Add(ctx, 1, metric.WithAttributes(AttrKey.String(ev.Key.String())))
	case observe.EventKeyOverflow:
		reg := ev.Detail
		if reg == "" {
			reg = "unknown"
		}
		l.keyOverflow.Add(ctx, 1, metric.WithAttributes(AttrRegistry.String(reg)))
	}
}

func breakerValue(state string) (int64, bool) {
	v, ok := observe.BreakerStateValue(state)
	return int64(v), ok
}
