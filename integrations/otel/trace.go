package regootel

import (
	"context"
	"time"

	"github.com/aponysus/rego/observe"
	"github.com/aponysus/rego/policy"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// AttemptEventName names the span event of each attempt.
const AttemptEventName = "rego.attempt"

// span emits the call's span after the fact: started and ended at the
// timeline's times, as a child of the span in ctx.
func (o *Observer) span(ctx context.Context, key policy.PolicyKey, tl observe.Timeline, ok bool) {
	attrs := make(kvs, 0, 3+len(tl.Attributes))
	attrs = append(attrs, AttrKey.String(key.String()), AttrAttempts.Int(len(tl.Attempts)))
	if tl.PolicyID != "" {
		attrs = append(attrs, AttrPolicyID.String(tl.PolicyID))
	}
	// The executor's timeline attributes (policy_source, stop_reason, ...)
	// keep their names under the rego. prefix.
	for name, v := range tl.Attributes {
		attrs = append(attrs, attribute.String(timelineAttrPrefix+name, v))
	}
	_, sp := o.tracer.Start(ctx, o.prefix+" "+key.String(),
		trace.WithTimestamp(tl.Start),
		trace.WithSpanKind(trace.SpanKindInternal),
		trace.WithAttributes(attrs...))
	if sp.IsRecording() {
		for i := range tl.Attempts {
			addAttemptEvent(sp, &tl.Attempts[i])
		}
		if !ok {
			if tl.FinalErr != nil {
				sp.RecordError(tl.FinalErr, trace.WithTimestamp(tl.End))
				sp.SetStatus(codes.Error, tl.FinalErr.Error())
			} else {
				sp.SetStatus(codes.Error, "call failed")
			}
		}
	}
	sp.End(trace.WithTimestamp(tl.End))
}

func addAttemptEvent(sp trace.Span, rec *observe.AttemptRecord) {
	attrs := make(kvs, 0, 14)
	attrs = append(attrs,
		AttrAttempt.Int(rec.Attempt),
		AttrRetryIndex.Int(rec.RetryIndex),
		AttrOutcome.String(outcomeName(*rec)),
		AttrBackoffMS.Float64(millis(rec.Backoff)),
		AttrHedge.Bool(rec.IsHedge),
		AttrBudgetAllowed.Bool(rec.BudgetAllowed),
		AttrAdmission.String(admission(*rec)),
	)
	if rec.Outcome.Reason != "" {
		attrs = append(attrs, AttrOutcomeReason.String(rec.Outcome.Reason))
	}
	if !rec.EndTime.IsZero() {
		attrs = append(attrs, AttrDurationMS.Float64(millis(rec.EndTime.Sub(rec.StartTime))))
	}
	if rec.IsHedge {
		attrs = append(attrs, AttrHedgeIndex.Int(rec.HedgeIndex))
	}
	if rec.HedgeReason != "" {
		attrs = append(attrs, AttrHedgeReason.String(rec.HedgeReason))
	}
	if rec.Cancelled {
		attrs = append(attrs, AttrCancelled.Bool(true))
	}
	if rec.BudgetReason != "" {
		attrs = append(attrs, AttrBudgetReason.String(rec.BudgetReason))
	}
	if rec.CircuitReason != "" {
		attrs = append(attrs, AttrCircuit.String(rec.CircuitReason))
	}
	// Traces are per call, not aggregated, so the error text is fine
	// here, unlike on metrics.
	if rec.Err != nil {
		attrs = append(attrs, AttrAttemptError.String(rec.Err.Error()))
	}
	sp.AddEvent(AttemptEventName, trace.WithTimestamp(rec.StartTime), trace.WithAttributes(attrs...))
}

func millis(d time.Duration) float64 {
	return float64(d) / float64(time.Millisecond)
}
