package retry_test

// The reasons and errors the docs give for the overload gates and the
// gate seam (README "Gates and overload protection" and "Why a call
// stopped", docs/overload.md, the package docs of bulkhead, ratelimit,
// adaptive and shed), checked as literal strings through the executor.

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aponysus/rego/adaptive"
	"github.com/aponysus/rego/admission"
	"github.com/aponysus/rego/bulkhead"
	"github.com/aponysus/rego/controlplane"
	"github.com/aponysus/rego/gate"
	"github.com/aponysus/rego/observe"
	"github.com/aponysus/rego/policy"
	"github.com/aponysus/rego/ratelimit"
	"github.com/aponysus/rego/regotest"
	"github.com/aponysus/rego/retry"
	"github.com/aponysus/rego/shed"
)

// reasonsExec is an executor whose only key runs under p (one attempt
// unless p says otherwise), on the virtual clock it returns.
func reasonsExec(p policy.EffectivePolicy, opts retry.ExecutorOptions) (*retry.Executor, policy.PolicyKey, *regotest.Clock) {
	key := policy.ParseKey("svc.Call")
	if p.Retry.MaxAttempts == 0 {
		p.Retry.MaxAttempts = 1
	}
	clk := regotest.NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	opts.Provider = &controlplane.StaticProvider{Policies: map[policy.PolicyKey]policy.EffectivePolicy{key: p}}
	opts.Clock = clk
	return retry.NewExecutor(opts), key, clk
}

// refusal checks that a call's error is the documented refusal: a
// *gate.RefusedError of gate name with reason, matching gate.ErrRefused
// and sentinel, recorded as the last decision of the only record.
func refusal(t *testing.T, tl observe.Timeline, err error, name, reason string, sentinel error) {
	t.Helper()
	var re *gate.RefusedError
	if !errors.As(err, &re) || re.Gate != name || re.Reason != reason || !errors.Is(err, gate.ErrRefused) || !errors.Is(err, sentinel) {
		t.Fatalf("err = %#v, want a refusal by %s, reason %q, matching %v", err, name, reason, sentinel)
	}
	if len(tl.Attempts) != 1 {
		t.Fatalf("%d records, want the refused one", len(tl.Attempts))
	}
	gs := tl.Attempts[0].Gates
	if len(gs) == 0 {
		t.Fatal("no gate decision recorded")
	}
	if d := gs[len(gs)-1]; d.Gate != name || d.Reason != reason || d.Admitted {
		t.Fatalf("decision %+v, want %s refusing with %q", d, name, reason)
	}
	if sr := tl.Attributes["stop_reason"]; sr != "gate_refused" {
		t.Fatalf("stop_reason %q, want gate_refused", sr)
	}
}

// docCall is what a call started with startDocCall returned.
type docCall struct {
	tl  observe.Timeline
	err error
}

// startDocCall runs a call of key on its own goroutine; its result arrives on
// the channel.
func startDocCall(ctx context.Context, exec *retry.Executor, key policy.PolicyKey, op func(context.Context) error) <-chan docCall {
	ch := make(chan docCall, 1)
	go func() {
		tl, err := exec.DoWithTimeline(ctx, key, op)
		ch <- docCall{tl, err}
	}()
	return ch
}

// letGo ends a call held in its operation (holdOne) and checks that it
// succeeded.
func letGo(t *testing.T, release chan struct{}, done chan error) {
	t.Helper()
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func never(t *testing.T) func(context.Context) error {
	return func(context.Context) error {
		t.Error("the operation ran past a refusal")
		return nil
	}
}

func TestDocumentedBulkheadReasons(t *testing.T) {
	// No wait allowed: "full".
	exec, key, _ := reasonsExec(policy.EffectivePolicy{Bulkhead: policy.BulkheadPolicy{Enabled: true, MaxConcurrent: 1}}, retry.ExecutorOptions{})
	release, done := holdOne(t, exec, key, context.Background())
	tl, err := exec.DoWithTimeline(context.Background(), key, never(t))
	refusal(t, tl, err, "bulkhead", "full", bulkhead.ErrFull)
	letGo(t, release, done)

	// A queue of one and a wait of 1s.
	waitReasons(t, policy.EffectivePolicy{Bulkhead: policy.BulkheadPolicy{
		Enabled: true, MaxConcurrent: 1, MaxQueue: 1, MaxWait: time.Second,
	}}, "bulkhead", bulkhead.ErrFull)
}

// waitReasons runs, under p (one slot, one waiter at most, a wait of 1s),
// a call holding the slot, a call waiting for it and one more: the third
// finds the queue full ("queue_full"), the second waits its 1s out
// ("wait_timeout").
func waitReasons(t *testing.T, p policy.EffectivePolicy, name string, sentinel error) {
	t.Helper()
	exec, key, clk := reasonsExec(p, retry.ExecutorOptions{})
	release, done := holdOne(t, exec, key, context.Background())
	waiter := startDocCall(context.Background(), exec, key, never(t))
	clk.BlockUntil(1) // the waiter's timer
	tl, err := exec.DoWithTimeline(context.Background(), key, never(t))
	refusal(t, tl, err, name, "queue_full", sentinel)
	clk.Advance(time.Second)
	r := <-waiter
	refusal(t, r.tl, r.err, name, "wait_timeout", sentinel)
	letGo(t, release, done)
}

func TestDocumentedRateLimitReason(t *testing.T) {
	exec, key, _ := reasonsExec(policy.EffectivePolicy{RateLimit: policy.RateLimitPolicy{Enabled: true, Rate: 1, Burst: 1}}, retry.ExecutorOptions{})
	if err := exec.Do(context.Background(), key, func(context.Context) error { return nil }); err != nil {
		t.Fatal(err)
	}
	tl, err := exec.DoWithTimeline(context.Background(), key, never(t))
	refusal(t, tl, err, "rate_limit", "rate_limited", ratelimit.ErrLimited)
	if !admission.RateLimited(err) || admission.RetryAfter(err, time.Hour) != time.Second {
		t.Fatalf("RateLimited %v, RetryAfter %v; want true and the 1s to the next token", admission.RateLimited(err), admission.RetryAfter(err, time.Hour))
	}
}

func TestDocumentedAdaptiveReason(t *testing.T) {
	exec, key, _ := reasonsExec(policy.EffectivePolicy{Concurrency: policy.ConcurrencyPolicy{
		Enabled: true, InitialLimit: 1, MinLimit: 1, MaxLimit: 1,
	}}, retry.ExecutorOptions{})
	release, done := holdOne(t, exec, key, context.Background())
	tl, err := exec.DoWithTimeline(context.Background(), key, never(t))
	refusal(t, tl, err, "concurrency", "limited", adaptive.ErrLimited)
	letGo(t, release, done)
}

func TestDocumentedShedReasons(t *testing.T) {
	// A capacity of 2 and shares of one slot for every criticality below
	// critical_plus: with one call in flight, each of them is shed, with
	// its wire name in the reason; a call without a criticality is
	// "critical".
	exec, key, _ := reasonsExec(policy.EffectivePolicy{Shed: policy.ShedPolicy{
		Enabled: true, Capacity: 2, SheddableFraction: 0.5, SheddablePlusFraction: 0.5, CriticalFraction: 0.5,
	}}, retry.ExecutorOptions{})
	held := gate.WithCriticality(context.Background(), gate.CriticalityCriticalPlus)
	release, done := holdOne(t, exec, key, held)
	for _, c := range []struct {
		ctx    context.Context
		reason string
	}{
		{gate.WithCriticality(context.Background(), gate.CriticalitySheddable), "shed_sheddable"},
		{gate.WithCriticality(context.Background(), gate.CriticalitySheddablePlus), "shed_sheddable_plus"},
		{gate.WithCriticality(context.Background(), gate.CriticalityCritical), "shed_critical"},
		{context.Background(), "shed_critical"},
	} {
		tl, err := exec.DoWithTimeline(c.ctx, key, never(t))
		refusal(t, tl, err, "shed", c.reason, shed.ErrShed)
	}
	// critical_plus work is never shed by this gate.
	if err := exec.Do(held, key, func(context.Context) error { return nil }); err != nil {
		t.Fatalf("critical_plus: %v", err)
	}
	letGo(t, release, done)
}

func TestDocumentedFailOpenReasons(t *testing.T) {
	// An overload gate left out of ExecutorOptions.Overload, and a user
	// gate missing from ExecutorOptions.Gates: the attempt runs, and the
	// record says why it was not asked.
	exec, key, _ := reasonsExec(policy.EffectivePolicy{
		Bulkhead: policy.BulkheadPolicy{Enabled: true, MaxConcurrent: 1},
		Gates:    []policy.GateRef{{Name: "ghost"}},
	}, retry.ExecutorOptions{Overload: &admission.Gates{}})
	ran := false
	tl, err := exec.DoWithTimeline(context.Background(), key, func(context.Context) error { ran = true; return nil })
	if err != nil || !ran {
		t.Fatalf("err %v, ran %v", err, ran)
	}
	want := []observe.GateDecision{
		{Gate: "bulkhead", Reason: "gate_not_configured", Admitted: true},
		{Gate: "ghost", Reason: "gate_not_found", Admitted: true},
	}
	gs := tl.Attempts[0].Gates
	if len(gs) != len(want) || gs[0] != want[0] || gs[1] != want[1] {
		t.Fatalf("decisions %+v, want %+v", gs, want)
	}
}

func TestDocumentedStopErrorOfAGate(t *testing.T) {
	// A user gate that refuses retries: the call stops with the last
	// attempt's error as a *retry.StopError, reason "gate_refused".
	noRetry := gate.Func(func(ctx context.Context, a gate.Attempt, now time.Time) (gate.Permit, error) {
		if a.Launched > 0 {
			return gate.Permit{Reason: "no_retries"}, &gate.RefusedError{Gate: "no_retry", Reason: "no_retries"}
		}
		return gate.Permit{Reason: "first"}, nil
	})
	gates := gate.NewRegistry()
	gates.Register("no_retry", noRetry)
	exec, key, _ := reasonsExec(policy.EffectivePolicy{
		Retry: policy.RetryPolicy{MaxAttempts: 3},
		Gates: []policy.GateRef{{Name: "no_retry"}},
	}, retry.ExecutorOptions{Gates: gates})
	failure := errors.New("svc: unavailable")
	tl, err := exec.DoWithTimeline(context.Background(), key, func(context.Context) error { return failure })
	var stop *retry.StopError
	if !errors.As(err, &stop) || stop.Reason != "gate_refused" || !errors.Is(err, gate.ErrRefused) || !errors.Is(err, failure) || err.Error() != failure.Error() {
		t.Fatalf("err = %#v, want a StopError gate_refused over the last error", err)
	}
	if errors.Is(err, retry.ErrAttemptsExhausted) {
		t.Fatal("a refused retry matched ErrAttemptsExhausted")
	}
	if tl.Attributes["stop_reason"] != "gate_refused" {
		t.Fatalf("stop_reason %q", tl.Attributes["stop_reason"])
	}
}

func TestDocumentedAdaptiveWaitReasons(t *testing.T) {
	// A limit of one, a wait of 1s: at most as many waiters as the limit.
	waitReasons(t, policy.EffectivePolicy{Concurrency: policy.ConcurrencyPolicy{
		Enabled: true, InitialLimit: 1, MinLimit: 1, MaxLimit: 1, MaxWait: time.Second,
	}}, "concurrency", adaptive.ErrLimited)
}

func TestDocumentedBulkheadCancelledWait(t *testing.T) {
	// The caller gives up while its attempt waits for a slot: the call
	// stops (stop_reason context_done) with the context's error, and the
	// record keeps the bulkhead's "cancelled".
	exec, key, clk := reasonsExec(policy.EffectivePolicy{Bulkhead: policy.BulkheadPolicy{
		Enabled: true, MaxConcurrent: 1, MaxWait: time.Second,
	}}, retry.ExecutorOptions{})
	release, done := holdOne(t, exec, key, context.Background())
	ctx, cancel := context.WithCancel(context.Background())
	waiter := startDocCall(ctx, exec, key, never(t))
	clk.BlockUntil(1)
	cancel()
	r := <-waiter
	if !errors.Is(r.err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", r.err)
	}
	if r.tl.Attributes["stop_reason"] != "context_done" {
		t.Fatalf("stop_reason %q", r.tl.Attributes["stop_reason"])
	}
	if len(r.tl.Attempts) != 1 {
		t.Fatalf("records %+v", r.tl.Attempts)
	}
	gs := r.tl.Attempts[0].Gates
	if len(gs) != 1 || gs[0].Gate != "bulkhead" || gs[0].Reason != "cancelled" || gs[0].Admitted {
		t.Fatalf("decisions %+v, want the bulkhead's cancelled wait", gs)
	}
	letGo(t, release, done)
}

func TestDocumentedStopErrorOfTheBulkhead(t *testing.T) {
	// The first attempt of call B fails; meanwhile call A queued for B's
	// slot gets it, so B's retry waits, then is refused: B stops with a
	// *retry.StopError over its last error, matching bulkhead.ErrFull.
	exec, key, clk := reasonsExec(policy.EffectivePolicy{
		Retry:    policy.RetryPolicy{MaxAttempts: 3},
		Bulkhead: policy.BulkheadPolicy{Enabled: true, MaxConcurrent: 1, MaxQueue: 1, MaxWait: time.Second},
	}, retry.ExecutorOptions{})
	failure := errors.New("svc: unavailable")
	aRunning, aRelease, aDone := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	calls := 0
	b := startDocCall(context.Background(), exec, key, func(context.Context) error {
		calls++
		if calls == 1 {
			go func() {
				aDone <- exec.Do(context.Background(), key, func(context.Context) error {
					close(aRunning)
					<-aRelease
					return nil
				})
			}()
			clk.BlockUntil(1) // A waits for B's slot
		}
		return failure
	})
	<-aRunning        // B's first attempt ended; A has the slot
	clk.BlockUntil(1) // B's retry waits for it
	clk.Advance(time.Second)
	r := <-b
	var stop *retry.StopError
	if !errors.As(r.err, &stop) || stop.Reason != "gate_refused" || !errors.Is(r.err, bulkhead.ErrFull) ||
		!errors.Is(r.err, gate.ErrRefused) || !errors.Is(r.err, failure) {
		t.Fatalf("err = %#v, want a StopError gate_refused matching bulkhead.ErrFull and the last error", r.err)
	}
	if calls != 1 || len(r.tl.Attempts) != 2 || r.tl.Attributes["stop_reason"] != "gate_refused" {
		t.Fatalf("calls %d, records %+v, stop_reason %q", calls, r.tl.Attempts, r.tl.Attributes["stop_reason"])
	}
	if gs := r.tl.Attempts[1].Gates; len(gs) != 1 || gs[0].Reason != "wait_timeout" {
		t.Fatalf("retry's decisions %+v, want the bulkhead's wait_timeout", gs)
	}
	letGo(t, aRelease, aDone)
}
