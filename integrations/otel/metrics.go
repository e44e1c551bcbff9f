package regootel

import (
	"context"
	"time"

	"github.com/aponysus/rego/observe"
	"github.com/aponysus/rego/policy"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// instruments are the observer's metrics. Names are prefix + suffix.
type instruments struct {
	calls           metric.Int64Counter
	attempts        metric.Int64Counter
	hedges          metric.Int64Counter
	callDuration    metric.Float64Histogram
	attemptDuration metric.Float64Histogram
	life            *lifecycle
}

// Instrument name suffixes.
const (
	SuffixCalls           = ".calls"
	SuffixAttempts        = ".attempts"
	SuffixHedges          = ".hedges"
	SuffixCallDuration    = ".call.duration"
	SuffixAttemptDuration = ".attempt.duration"
)

func newInstruments(m metric.Meter, prefix string) (*instruments, error) {
	var in instruments
	var err error
	if in.calls, err = m.Int64Counter(prefix+SuffixCalls,
		metric.WithUnit("{call}"),
		metric.WithDescription("Calls through the executor, by key, result and stop reason.")); err != nil {
		return nil, err
	}
	if in.attempts, err = m.Int64Counter(prefix+SuffixAttempts,
		metric.WithUnit("{attempt}"),
		metric.WithDescription("Attempts by key, outcome and admission (allowed, or denied by a budget or circuit breaker).")); err != nil {
		return nil, err
	}
	if in.hedges, err = m.Int64Counter(prefix+SuffixHedges,
		metric.WithUnit("{attempt}"),
		metric.WithDescription("Hedges spawned and attempts cancelled in flight, by key, event and reason.")); err != nil {
		return nil, err
	}
	if in.callDuration, err = m.Float64Histogram(prefix+SuffixCallDuration,
		metric.WithUnit("s"),
		metric.WithDescription("Call duration from the first attempt's launch to the call's end, by key and result.")); err != nil {
		return nil, err
	}
	if in.attemptDuration, err = m.Float64Histogram(prefix+SuffixAttemptDuration,
		metric.WithUnit("s"),
		metric.WithDescription("Duration of the attempts that ran, by key and outcome.")); err != nil {
		return nil, err
	}
	if in.life, err = newLifecycle(m, prefix); err != nil {
		return nil, err
	}
	return &in, nil
}

func (in *instruments) hedgeEvent(ctx context.Context, key policy.PolicyKey, event string, rec observe.AttemptRecord) {
	in.hedges.Add(ctx, 1, metric.WithAttributes(
		AttrKey.String(key.String()),
		AttrHedgeEvent.String(event),
		AttrReason.String(rec.HedgeReason),
		AttrHedge.Bool(rec.IsHedge),
	))
}

func (in *instruments) record(ctx context.Context, key policy.PolicyKey, tl observe.Timeline, ok bool) {
	k := AttrKey.String(key.String())
	result, stop := "failure", tl.Attributes[observe.AttrStopReason]
	if ok {
		result, stop = "success", ""
	}
	callAttrs := metric.WithAttributes(k, AttrResult.String(result), AttrStopReason.String(stop))
	in.calls.Add(ctx, 1, callAttrs)
	in.callDuration.Record(ctx, seconds(tl.End.Sub(tl.Start)),
		metric.WithAttributes(k, AttrResult.String(result)))

	in.life.setVersion(tl.Attributes[observe.AttrPolicyVersion])
	for i := range tl.Attempts {
		rec := &tl.Attempts[i]
		in.life.attempt(ctx, k, rec)
		outcome := AttrOutcome.String(outcomeName(*rec))
		in.attempts.Add(ctx, 1, metric.WithAttributes(k, outcome,
			AttrAdmission.String(admission(*rec)), AttrHedge.Bool(rec.IsHedge)))
		if rec.BudgetAllowed && !rec.EndTime.IsZero() {
			in.attemptDuration.Record(ctx, seconds(rec.EndTime.Sub(rec.StartTime)),
				metric.WithAttributes(k, outcome))
		}
	}
}

// kvs keeps the attribute slice type in one place for callers that build
// sets incrementally.
type kvs = []attribute.KeyValue

func seconds(d time.Duration) float64 {
	if d < 0 {
		return 0
	}
	return d.Seconds()
}
