package regoprom

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/aponysus/rego/budget"
	"github.com/aponysus/rego/observe"
	"github.com/prometheus/client_golang/prometheus"
)

// Breaker state values of the rego_breaker_state gauge.
const (
	BreakerClosed   = observe.BreakerClosedValue
	BreakerHalfOpen = observe.BreakerHalfOpenValue
	BreakerOpen     = observe.BreakerOpenValue
)

// lifecycle holds the collectors fed by lifecycle events and by the few
// record fields that report configuration rather than traffic.
type lifecycle struct {
	breakerState    *prometheus.GaugeVec
	policyInfo      *prometheus.GaugeVec
	reloadFailures  prometheus.Counter
	budgetNotFound  *prometheus.CounterVec
	budgetExhausted *prometheus.CounterVec
	keyOverflow     *prometheus.CounterVec

	// version is the policy version rego_policy_info shows; versionMu
	// serialises changes (reads compare against the atomic copy).
	version   atomic.Pointer[string]
	versionMu sync.Mutex
}

func newLifecycle(ns string) (*lifecycle, []string, []prometheus.Collector) {
	l := &lifecycle{}
	l.breakerState = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: ns, Name: "breaker_state",
		Help: "Circuit breaker state by key: 0 closed, 1 half-open, 2 open.",
	}, []string{"key"})
	l.policyInfo = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: ns, Name: "policy_info",
		Help: "The version of the policy document in force: one series, value 1.",
	}, []string{"version"})
	l.reloadFailures = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: ns, Name: "policy_reload_failures_total",
		Help: "Policy document loads that failed (the last good document stayed in force).",
	})
	l.budgetNotFound = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: ns, Name: "budget_not_found_total",
		Help: "Attempts whose policy names a budget the executor's registry lacks (allowed, ungated).",
	}, []string{"key"})
	l.budgetExhausted = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: ns, Name: "budget_exhausted_total",
		Help: "Times a budget began denying attempts, by key.",
	}, []string{"key"})
	l.keyOverflow = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: ns, Name: "key_overflow_total",
		Help: "Key overflow events by registry: the executor reports the 1st, 2nd, 4th, ... key each per-key registry had no room for.",
	}, []string{"registry"})
	names := []string{"breaker_state", "policy_info", "policy_reload_failures_total",
		"budget_not_found_total", "budget_exhausted_total", "key_overflow_total"}
	cs := []prometheus.Collector{l.breakerState, l.policyInfo, l.reloadFailures,
		l.budgetNotFound, l.budgetExhausted, l.keyOverflow}
	return l, names, cs
}

// setVersion makes v the version rego_policy_info shows. The common case,
// the version in force already, is one atomic load and a string compare.
func (l *lifecycle) setVersion(v string) {
	if v == "" {
		return
	}
	if p := l.version.Load(); p != nil && *p == v {
		return
	}
	l.versionMu.Lock()
	defer l.versionMu.Unlock()
	if p := l.version.Load(); p != nil && *p == v {
		return
	}
	l.policyInfo.Reset()
	l.policyInfo.WithLabelValues(v).Set(1)
	stored := v // only this copy escapes, so the fast path does not allocate
	l.version.Store(&stored)
}

// OnEvent updates the lifecycle metrics: breaker_state from breaker state
// changes, policy_info from reloads, and the reload failure, budget
// exhaustion and key overflow counters.
func (o *Observer) OnEvent(_ context.Context, ev observe.Event) {
	l := o.life
	switch ev.Kind {
	case observe.EventBreakerState:
		if v, ok := breakerValue(ev.To); ok {
			l.breakerState.WithLabelValues(o.key(ev.Key)).Set(v)
		}
	case observe.EventPolicyReload:
		l.setVersion(ev.Version)
	case observe.EventPolicyReloadFailed:
		l.reloadFailures.Inc()
	case observe.EventBudgetExhausted:
		l.budgetExhausted.WithLabelValues(o.key(ev.Key)).Inc()
	case observe.EventKeyOverflow:
		reg := ev.Detail
		if reg == "" {
			reg = "unknown"
		}
		l.keyOverflow.WithLabelValues(reg).Inc()
	}
}

func breakerValue(state string) (float64, bool) {
	v, ok := observe.BreakerStateValue(state)
	return float64(v), ok
}

// budgetReasonNotFound is budget.ReasonBudgetMissing, named here for the
// hot path's comparison.
const budgetReasonNotFound = budget.ReasonBudgetMissing
