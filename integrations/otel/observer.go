package regootel

import (
	"context"
	"fmt"

	"github.com/aponysus/rego/observe"
	"github.com/aponysus/rego/policy"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/trace"
)

// ScopeName is the instrumentation scope of the tracer and meter.
const ScopeName = "github.com/aponysus/rego/integrations/otel"

// Observer is an observe.Observer reporting to OpenTelemetry. It is safe
// for concurrent use; share one across executors.
type Observer struct {
	observe.BaseObserver

	prefix string
	tracer trace.Tracer // nil when traces are disabled
	inst   *instruments // nil when metrics are disabled
}

var (
	_ observe.Observer      = (*Observer)(nil)
	_ observe.EventObserver = (*Observer)(nil)
)

// New returns an Observer configured by opts. It fails when
// Options.BudgetNames is set without Options.Budgets, and when the meter
// provider refuses to create an instrument.
func New(opts Options) (*Observer, error) {
	if err := checkBudgetOptions(opts); err != nil {
		return nil, err
	}
	o := &Observer{prefix: opts.Prefix}
	if o.prefix == "" {
		o.prefix = DefaultPrefix
	}
	if !opts.DisableTraces {
		tp := opts.TracerProvider
		if tp == nil {
			tp = otel.GetTracerProvider()
		}
		o.tracer = tp.Tracer(ScopeName)
	}
	if !opts.DisableMetrics {
		mp := opts.MeterProvider
		if mp == nil {
			mp = otel.GetMeterProvider()
		}
		meter := mp.Meter(ScopeName)
		inst, err := newInstruments(meter, o.prefix)
		if err != nil {
			return nil, fmt.Errorf("regootel: %w", err)
		}
		if err := newBudgetGauges(meter, o.prefix, opts); err != nil {
			return nil, fmt.Errorf("regootel: %w", err)
		}
		o.inst = inst
	}
	return o, nil
}

// OnHedgeSpawn counts the hedge.
func (o *Observer) OnHedgeSpawn(ctx context.Context, key policy.PolicyKey, rec observe.AttemptRecord) {
	if o.inst != nil {
		o.inst.hedgeEvent(ctx, key, "spawned", rec)
	}
}

// OnHedgeCancel counts the cancellation of an attempt in flight: a losing
// hedge or primary, or any attempt still running when the call ended.
func (o *Observer) OnHedgeCancel(ctx context.Context, key policy.PolicyKey, rec observe.AttemptRecord, reason string) {
	if o.inst != nil {
		rec.HedgeReason = reason
		o.inst.hedgeEvent(ctx, key, "cancelled", rec)
	}
}

// OnSuccess records the call from its timeline.
func (o *Observer) OnSuccess(ctx context.Context, key policy.PolicyKey, tl observe.Timeline) {
	o.finish(ctx, key, tl, true)
}

// OnFailure records the call from its timeline.
func (o *Observer) OnFailure(ctx context.Context, key policy.PolicyKey, tl observe.Timeline) {
	o.finish(ctx, key, tl, false)
}

// finish does all the per-call work at the end, from the timeline: every
// attempt is in it exactly once, including the cancelled ones OnAttempt
// never sees.
func (o *Observer) finish(ctx context.Context, key policy.PolicyKey, tl observe.Timeline, ok bool) {
	if o.inst != nil {
		o.inst.record(ctx, key, tl, ok)
	}
	if o.tracer != nil {
		o.span(ctx, key, tl, ok)
	}
}
