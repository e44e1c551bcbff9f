package slogobs_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/aponysus/rego/budget"
	"github.com/aponysus/rego/controlplane"
	"github.com/aponysus/rego/observe"
	"github.com/aponysus/rego/observe/slogobs"
	"github.com/aponysus/rego/policy"
	"github.com/aponysus/rego/regotest"
	"github.com/aponysus/rego/retry"
)

type ctxKey struct{}

// traceHandler is what a tracing bridge does: it copies a value of the
// record's context into the record.
type traceHandler struct{ slog.Handler }

func (h traceHandler) Handle(ctx context.Context, r slog.Record) error {
	if v, ok := ctx.Value(ctxKey{}).(string); ok {
		r.AddAttrs(slog.String("trace", v))
	}
	return h.Handler.Handle(ctx, r)
}

func records(t *testing.T, buf *bytes.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		if line == "" {
			continue
		}
		m := map[string]any{}
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("bad JSON line %q: %v", line, err)
		}
		out = append(out, m)
	}
	return out
}

var errUnavailable = errors.New("503")

func newExec(obs observe.Observer) *retry.Executor {
	budgets := budget.NewRegistry()
	budgets.Register("tight", budget.NewTokenBucketBudget(1, 0))
	return retry.NewExecutor(retry.ExecutorOptions{
		Observer: obs,
		Budgets:  budgets,
		Clock:    regotest.NewAutoClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)),
		Provider: &controlplane.StaticProvider{Policies: map[policy.PolicyKey]policy.EffectivePolicy{
			policy.ParseKey("svc.Flaky"): {ID: "flaky", Retry: policy.RetryPolicy{MaxAttempts: 3, InitialBackoff: 10 * time.Millisecond}},
			policy.ParseKey("svc.Down"): {ID: "down", Retry: policy.RetryPolicy{MaxAttempts: 5, InitialBackoff: 10 * time.Millisecond,
				Budget: policy.BudgetRef{Name: "tight"}}},
		}},
	})
}

func TestLevelsAndAttributesThroughARealExecutor(t *testing.T) {
	var buf bytes.Buffer
	h := traceHandler{slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})}
	exec := newExec(slogobs.New(slogobs.Options{Logger: slog.New(h)}))
	ctx := context.WithValue(context.Background(), ctxKey{}, "trace-1")

	n := 0
	if err := exec.Do(ctx, policy.ParseKey("svc.Flaky"), func(context.Context) error {
		if n++; n < 2 {
			return errUnavailable
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	_ = exec.Do(ctx, policy.ParseKey("svc.Down"), func(context.Context) error { return errUnavailable })

	got := records(t, &buf)
	type want struct{ msg, level, kind, outcome string }
	wants := []want{
		{slogobs.MsgAttempt, "DEBUG", "first", "retryable"},
		{slogobs.MsgAttempt, "DEBUG", "retry", "success"},
		{slogobs.MsgCall, "INFO", "", ""}, // recovered after a retry
		{slogobs.MsgAttempt, "DEBUG", "first", "retryable"},
		{slogobs.MsgAttempt, "DEBUG", "retry", "retryable"},
		{slogobs.MsgBudgetExhausted, "WARN", "", ""}, // the executor's lifecycle event
		{slogobs.MsgAttemptDenied, "WARN", "retry", "denied"},
		{slogobs.MsgCallFailed, "WARN", "", ""},
	}
	if len(got) != len(wants) {
		t.Fatalf("%d records, want %d:\n%s", len(got), len(wants), buf.String())
	}
	for i, w := range wants {
		r := got[i]
		if r["msg"] != w.msg || r["level"] != w.level {
			t.Errorf("record %d: %v %v, want %s %s", i, r["level"], r["msg"], w.level, w.msg)
		}
		if r["trace"] != "trace-1" && r["msg"] != slogobs.MsgBudgetExhausted { // (events carry no call's context)
			t.Errorf("record %d: context not passed to the handler: %v", i, r)
		}
		if w.kind != "" && (r["kind"] != w.kind || r["outcome"] != w.outcome) {
			t.Errorf("record %d: kind %v outcome %v, want %s %s", i, r["kind"], r["outcome"], w.kind, w.outcome)
		}
	}
	if got[1]["wait"] == nil || got[0]["wait"] != nil {
		t.Errorf("wait belongs to retries only: %v / %v", got[0], got[1])
	}
	if ev := got[5]; ev["key"] != "svc.Down" || ev["detail"] != "tight" {
		t.Errorf("exhaustion record: %v", ev)
	}
	denied := got[6]
	if denied["reason"] != "tokens_exhausted" || denied["gates"] != "refused by budget: tokens_exhausted" || denied["wait"] != nil {
		t.Errorf("denied record: %v", denied)
	}
	failed := got[7]
	if failed["key"] != "svc.Down" || failed["policy"] != "down" || failed["stop_reason"] != "budget_denied" ||
		failed["attempts"] != float64(3) || failed["err"] != "503" || failed["source"] != "static" {
		t.Errorf("failed call record: %v", failed)
	}
}

func TestSuccessAtFirstAttemptIsDebug(t *testing.T) {
	var buf bytes.Buffer
	exec := newExec(slogobs.New(slogobs.Options{Logger: slog.New(slog.NewJSONHandler(&buf, nil))})) // Info
	_ = exec.Do(context.Background(), policy.ParseKey("svc.Flaky"), func(context.Context) error { return nil })
	if buf.Len() != 0 {
		t.Fatalf("a plain success logged at Info: %s", buf.String())
	}
}

func TestOptionsOverrideLevels(t *testing.T) {
	var buf bytes.Buffer
	obs := slogobs.New(slogobs.Options{
		Logger:       slog.New(slog.NewJSONHandler(&buf, nil)),
		AttemptLevel: slog.LevelInfo, SuccessLevel: slog.LevelError,
	})
	exec := newExec(obs)
	_ = exec.Do(context.Background(), policy.ParseKey("svc.Flaky"), func(context.Context) error { return nil })
	got := records(t, &buf)
	if len(got) != 2 || got[0]["level"] != "INFO" || got[1]["level"] != "ERROR" {
		t.Fatalf("got %v", got)
	}
}

func TestEvents(t *testing.T) {
	var buf bytes.Buffer
	obs := slogobs.New(slogobs.Options{Logger: slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	ctx := context.Background()
	key := policy.ParseKey("svc.Get")
	evs := []observe.Event{
		{Kind: observe.EventBreakerState, Key: key, From: "closed", To: "open"},
		{Kind: observe.EventBreakerState, Key: key, From: "half_open", To: "closed"},
		{Kind: observe.EventPolicyReload, Version: "v7"},
		{Kind: observe.EventPolicyReloadFailed, Err: errors.New("bad json")},
		{Kind: observe.EventBudgetExhausted, Key: key, Detail: "retries"},
		{Kind: observe.EventKeyOverflow, Detail: "circuit"},
		{Kind: observe.EventLatePanic, Key: key, Err: errors.New("boom")},
		{Kind: "something_new"},
	}
	for _, ev := range evs {
		obs.OnEvent(ctx, ev)
	}
	want := [][2]string{
		{"WARN", slogobs.MsgBreaker}, {"INFO", slogobs.MsgBreaker}, {"INFO", slogobs.MsgPolicyReload},
		{"WARN", slogobs.MsgPolicyReload}, {"WARN", slogobs.MsgBudgetExhausted}, {"WARN", slogobs.MsgKeyOverflow},
		{"ERROR", slogobs.MsgLatePanic}, {"INFO", slogobs.MsgEvent},
	}
	got := records(t, &buf)
	if len(got) != len(want) {
		t.Fatalf("%d records, want %d", len(got), len(want))
	}
	for i, w := range want {
		if got[i]["level"] != w[0] || got[i]["msg"] != w[1] || got[i]["event"] != string(evs[i].Kind) {
			t.Errorf("event %d: %v, want %v", i, got[i], w)
		}
	}
	if got[0]["key"] != "svc.Get" || got[0]["from"] != "closed" || got[0]["to"] != "open" {
		t.Errorf("breaker record: %v", got[0])
	}
	if got[2]["version"] != "v7" || got[2]["key"] != nil || got[3]["err"] != "bad json" {
		t.Errorf("reload records: %v %v", got[2], got[3])
	}
}

// The fast path: a disabled level costs no allocation.
func TestDisabledLevelDoesNotAllocate(t *testing.T) {
	obs := slogobs.New(slogobs.Options{Logger: slog.New(slog.NewJSONHandler(&bytes.Buffer{}, &slog.HandlerOptions{Level: slog.LevelError}))})
	ctx := context.Background()
	key := policy.ParseKey("svc.Get")
	rec := observe.AttemptRecord{Attempt: 1, RetryIndex: 1, BudgetAllowed: true, Err: errUnavailable, BudgetReason: "no_budget"}
	denied := observe.AttemptRecord{Attempt: 2, RetryIndex: 2, BudgetReason: "tokens_exhausted"}
	tl := observe.Timeline{Key: key, Attempts: []observe.AttemptRecord{rec}, FinalErr: errUnavailable,
		Attributes: map[string]string{observe.AttrStopReason: "attempts_exhausted"}}
	ev := observe.Event{Kind: observe.EventBreakerState, Key: key, From: "closed", To: "open"}
	allocs := testing.AllocsPerRun(100, func() {
		obs.OnAttempt(ctx, key, rec)
		obs.OnAttempt(ctx, key, denied)
		obs.OnHedgeSpawn(ctx, key, rec)
		obs.OnHedgeCancel(ctx, key, rec, "lost")
		obs.OnSuccess(ctx, key, tl)
		obs.OnFailure(ctx, key, tl)
		obs.OnEvent(ctx, ev)
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per disabled run, want 0", allocs)
	}
}

func BenchmarkDisabled(b *testing.B) {
	obs := slogobs.New(slogobs.Options{Logger: slog.New(slog.NewJSONHandler(&bytes.Buffer{}, nil))})
	ctx := context.Background()
	key := policy.ParseKey("svc.Get")
	rec := observe.AttemptRecord{Attempt: 1, RetryIndex: 1, BudgetAllowed: true}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		obs.OnAttempt(ctx, key, rec)
	}
}

func BenchmarkEnabled(b *testing.B) {
	obs := slogobs.New(slogobs.Options{Logger: slog.New(slog.NewJSONHandler(&bytes.Buffer{}, nil))})
	ctx := context.Background()
	key := policy.ParseKey("svc.Get")
	rec := observe.AttemptRecord{Attempt: 1, RetryIndex: 1, BudgetReason: "tokens_exhausted"}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		obs.OnAttempt(ctx, key, rec)
	}
}
