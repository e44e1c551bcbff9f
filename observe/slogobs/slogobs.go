package slogobs

import (
	"context"
	"log/slog"

	"github.com/aponysus/rego/observe"
	"github.com/aponysus/rego/policy"
)

// The messages the observer logs; a handler or a log query can match them.
const (
	MsgAttempt          = "rego attempt"
	MsgAttemptDenied    = "rego attempt denied"
	MsgHedge            = "rego hedge"
	MsgAttemptCancelled = "rego attempt cancelled"
	MsgCall             = "rego call"
	MsgCallFailed       = "rego call failed"
	MsgBreaker          = "rego breaker"
	MsgPolicyReload     = "rego policy reload"
	MsgBudgetExhausted  = "rego budget exhausted"
	MsgKeyOverflow      = "rego key overflow"
	MsgLatePanic        = "rego late panic"
	MsgEvent            = "rego event" // an event kind this version does not know
)

// Options configures an Observer. The zero value logs to slog.Default() at
// the levels the package documentation lists.
type Options struct {
	// Logger receives the records. If nil, slog.Default() as it is when
	// each record is logged.
	Logger *slog.Logger
	// AttemptLevel is the level of attempts that ran, hedges launched and
	// attempts cancelled. If nil, slog.LevelDebug.
	AttemptLevel slog.Leveler
	// DeniedLevel is the level of attempts a gate refused. If nil,
	// slog.LevelWarn.
	DeniedLevel slog.Leveler
	// SuccessLevel is the level of calls that succeeded at their first
	// attempt. If nil, slog.LevelDebug.
	SuccessLevel slog.Leveler
	// RecoveredLevel is the level of calls that succeeded after more than
	// one attempt (a retry or a hedge). If nil, slog.LevelInfo.
	RecoveredLevel slog.Leveler
	// FailureLevel is the level of calls that failed. If nil,
	// slog.LevelWarn.
	FailureLevel slog.Leveler
}

// Observer logs the executor's callbacks and lifecycle events. It is safe
// for concurrent use and implements observe.Observer and
// observe.EventObserver.
type Observer struct {
	logger                                     *slog.Logger
	attempt, denied, success, recovered, fails slog.Leveler
}

var (
	_ observe.Observer      = (*Observer)(nil)
	_ observe.EventObserver = (*Observer)(nil)
)

// New returns an Observer configured by opts.
func New(opts Options) *Observer {
	return &Observer{
		logger:    opts.Logger,
		attempt:   orLevel(opts.AttemptLevel, slog.LevelDebug),
		denied:    orLevel(opts.DeniedLevel, slog.LevelWarn),
		success:   orLevel(opts.SuccessLevel, slog.LevelDebug),
		recovered: orLevel(opts.RecoveredLevel, slog.LevelInfo),
		fails:     orLevel(opts.FailureLevel, slog.LevelWarn),
	}
}

func orLevel(l slog.Leveler, def slog.Level) slog.Leveler {
	if l == nil {
		return def
	}
	return l
}

// enabled returns the logger when it logs level in ctx, else nil. It is the
// fast path: one Enabled call, no allocation.
func (o *Observer) enabled(ctx context.Context, level slog.Level) *slog.Logger {
	l := o.logger
	if l == nil {
		l = slog.Default()
	}
	if ctx == nil {
		ctx = context.Background()
	}
	if !l.Enabled(ctx, level) {
		return nil
	}
	return l
}

// OnStart logs nothing: the call's record carries its policy.
func (o *Observer) OnStart(context.Context, policy.PolicyKey, policy.EffectivePolicy) {}

// OnAttempt logs an attempt that ran (at AttemptLevel) or that a gate
// refused (at DeniedLevel). An attempt the executor cancelled is logged by
// OnHedgeCancel instead.
func (o *Observer) OnAttempt(ctx context.Context, key policy.PolicyKey, rec observe.AttemptRecord) {
	switch {
	case !rec.BudgetAllowed:
		o.logAttempt(ctx, o.denied.Level(), MsgAttemptDenied, key, rec, rec.BudgetReason)
	case !rec.Cancelled:
		o.logAttempt(ctx, o.attempt.Level(), MsgAttempt, key, rec, rec.Outcome.Reason)
	}
}

// OnHedgeSpawn logs a launched hedge at AttemptLevel.
func (o *Observer) OnHedgeSpawn(ctx context.Context, key policy.PolicyKey, rec observe.AttemptRecord) {
	o.logAttempt(ctx, o.attempt.Level(), MsgHedge, key, rec, rec.HedgeReason)
}

// OnHedgeCancel logs an attempt the executor cancelled at AttemptLevel.
func (o *Observer) OnHedgeCancel(ctx context.Context, key policy.PolicyKey, rec observe.AttemptRecord, reason string) {
	o.logAttempt(ctx, o.attempt.Level(), MsgAttemptCancelled, key, rec, reason)
}

// OnSuccess logs a call that succeeded: at SuccessLevel after one attempt,
// at RecoveredLevel after more.
func (o *Observer) OnSuccess(ctx context.Context, key policy.PolicyKey, tl observe.Timeline) {
	level := o.success.Level()
	if len(tl.Attempts) > 1 {
		level = o.recovered.Level()
	}
	o.logCall(ctx, level, MsgCall, key, tl)
}

// OnFailure logs a call that failed at FailureLevel.
func (o *Observer) OnFailure(ctx context.Context, key policy.PolicyKey, tl observe.Timeline) {
	o.logCall(ctx, o.fails.Level(), MsgCallFailed, key, tl)
}

func (o *Observer) logAttempt(ctx context.Context, level slog.Level, msg string, key policy.PolicyKey, rec observe.AttemptRecord, reason string) {
	l := o.enabled(ctx, level)
	if l == nil {
		return
	}
	kind := "retry"
	switch {
	case rec.IsHedge:
		kind = "hedge"
	case rec.RetryIndex == 0:
		kind = "first"
	}
	outcome := rec.Outcome.Kind.String()
	switch {
	case !rec.BudgetAllowed:
		outcome = "denied"
	case msg == MsgAttemptCancelled:
		outcome = "cancelled"
	case msg == MsgHedge:
		outcome = "started"
	}
	attrs := make([]slog.Attr, 0, 11)
	attrs = append(attrs,
		slog.String("key", key.String()),
		slog.Int("attempt", rec.Attempt),
		slog.String("kind", kind),
		slog.Int("retry", rec.RetryIndex),
		slog.String("outcome", outcome))
	if reason != "" {
		attrs = append(attrs, slog.String("reason", reason))
	}
	attrs = append(attrs, slog.String("gates", observe.GatesText(rec)))
	if rec.BudgetAllowed && !rec.EndTime.IsZero() && msg != MsgHedge {
		attrs = append(attrs, slog.Duration("duration", rec.EndTime.Sub(rec.StartTime)))
	}
	if rec.BudgetAllowed && !rec.IsHedge && rec.RetryIndex > 0 {
		attrs = append(attrs, slog.Duration("wait", rec.Backoff))
	}
	if rec.Err != nil {
		attrs = append(attrs, slog.Any("err", rec.Err))
	}
	l.LogAttrs(ctx, level, msg, attrs...)
}

func (o *Observer) logCall(ctx context.Context, level slog.Level, msg string, key policy.PolicyKey, tl observe.Timeline) {
	l := o.enabled(ctx, level)
	if l == nil {
		return
	}
	attrs := make([]slog.Attr, 0, 8)
	attrs = append(attrs, slog.String("key", key.String()), slog.String("policy", tl.PolicyID))
	if v := tl.Attributes[observe.AttrPolicySource]; v != "" {
		attrs = append(attrs, slog.String("source", v))
	}
	if v := tl.Attributes[observe.AttrPolicyVersion]; v != "" {
		attrs = append(attrs, slog.String("version", v))
	}
	attrs = append(attrs, slog.Int("attempts", len(tl.Attempts)), slog.Duration("duration", tl.End.Sub(tl.Start)))
	if v := tl.Attributes[observe.AttrStopReason]; v != "" {
		attrs = append(attrs, slog.String("stop_reason", v))
	}
	if tl.FinalErr != nil {
		attrs = append(attrs, slog.Any("err", tl.FinalErr))
	}
	l.LogAttrs(ctx, level, msg, attrs...)
}

// OnEvent logs a lifecycle event at the level the package documentation
// gives for its kind.
func (o *Observer) OnEvent(ctx context.Context, ev observe.Event) {
	msg, level := eventLevel(ev)
	l := o.enabled(ctx, level)
	if l == nil {
		return
	}
	attrs := make([]slog.Attr, 0, 7)
	attrs = append(attrs, slog.String("event", string(ev.Kind)))
	if !ev.Key.IsZero() {
		attrs = append(attrs, slog.String("key", ev.Key.String()))
	}
	for _, f := range [...]struct{ name, v string }{{"from", ev.From}, {"to", ev.To}, {"version", ev.Version}, {"detail", ev.Detail}} {
		if f.v != "" {
			attrs = append(attrs, slog.String(f.name, f.v))
		}
	}
	if ev.Err != nil {
		attrs = append(attrs, slog.Any("err", ev.Err))
	}
	l.LogAttrs(ctx, level, msg, attrs...)
}

func eventLevel(ev observe.Event) (string, slog.Level) {
	switch ev.Kind {
	case observe.EventBreakerState:
		if ev.To == "open" {
			return MsgBreaker, slog.LevelWarn
		}
		return MsgBreaker, slog.LevelInfo
	case observe.EventPolicyReload:
		return MsgPolicyReload, slog.LevelInfo
	case observe.EventPolicyReloadFailed:
		return MsgPolicyReload, slog.LevelWarn
	case observe.EventBudgetExhausted:
		return MsgBudgetExhausted, slog.LevelWarn
	case observe.EventKeyOverflow:
		return MsgKeyOverflow, slog.LevelWarn
	case observe.EventLatePanic:
		return MsgLatePanic, slog.LevelError
	}
	return MsgEvent, slog.LevelInfo
}
