package retry_test

import (
	"context"
	"errors"
	"testing"

	"github.com/aponysus/rego/bulkhead"
	"github.com/aponysus/rego/gate"
	"github.com/aponysus/rego/policy"
	"github.com/aponysus/rego/ratelimit"
	"github.com/aponysus/rego/retry"
	"github.com/aponysus/rego/shed"
)

// overloadExec returns an executor whose only key runs under p, on a
// virtual clock, with the overload gates the executor builds itself.
func overloadExec(p policy.EffectivePolicy) (*retry.Executor, policy.PolicyKey) {
	exec, key, _ := reasonsExec(p, retry.ExecutorOptions{})
	return exec, key
}

// holdOne starts a call that stays inside its operation until release is
// closed; it returns once the operation is running.
func holdOne(t *testing.T, exec *retry.Executor, key policy.PolicyKey, ctx context.Context) (release chan struct{}, done chan error) {
	t.Helper()
	running, release, done := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	go func() {
		done <- exec.Do(ctx, key, func(context.Context) error {
			close(running)
			<-release
			return nil
		})
	}()
	<-running
	return release, done
}

func TestExecutorBulkheadRefusesOverCapAndReleases(t *testing.T) {
	exec, key := overloadExec(policy.EffectivePolicy{Bulkhead: policy.BulkheadPolicy{Enabled: true, MaxConcurrent: 1}})
	release, done := holdOne(t, exec, key, context.Background())

	tl, err := exec.DoWithTimeline(context.Background(), key, func(context.Context) error {
		t.Error("the operation ran past a full bulkhead")
		return nil
	})
	if !errors.Is(err, bulkhead.ErrFull) || !errors.Is(err, gate.ErrRefused) {
		t.Fatalf("err = %v, want bulkhead.ErrFull and gate.ErrRefused", err)
	}
	if n := len(tl.Attempts); n != 1 {
		t.Fatalf("%d records, want the refused one", n)
	}
	d, ok := tl.Attempts[0].Refusal()
	if !ok || d.Gate != gate.NameBulkhead || d.Admitted {
		t.Fatalf("refusal %+v (%v), want the bulkhead's", d, ok)
	}

	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	// The first call's permit came back: the next call runs.
	if err := exec.Do(context.Background(), key, func(context.Context) error { return nil }); err != nil {
		t.Fatalf("after release: %v", err)
	}
}

func TestExecutorRateLimitCountsFirstAttempts(t *testing.T) {
	exec, key := overloadExec(policy.EffectivePolicy{RateLimit: policy.RateLimitPolicy{Enabled: true, Rate: 1, Burst: 1}})
	ok := func(context.Context) error { return nil }
	if err := exec.Do(context.Background(), key, ok); err != nil {
		t.Fatal(err)
	}
	err := exec.Do(context.Background(), key, ok)
	if !errors.Is(err, ratelimit.ErrLimited) {
		t.Fatalf("err = %v, want ratelimit.ErrLimited", err)
	}
	var re *gate.RefusedError
	if !errors.As(err, &re) || re.RetryAfter <= 0 {
		t.Fatalf("err = %#v, want a RefusedError with a RetryAfter", err)
	}
}

func TestExecutorShedsLessCriticalWorkFirst(t *testing.T) {
	exec, key := overloadExec(policy.EffectivePolicy{Shed: policy.ShedPolicy{
		Enabled: true, Capacity: 2, SheddableFraction: 0.5, SheddablePlusFraction: 0.5, CriticalFraction: 1,
	}})
	release, done := holdOne(t, exec, key, context.Background())
	defer func() {
		close(release)
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()

	sheddable := gate.WithCriticality(context.Background(), gate.CriticalitySheddable)
	err := exec.Do(sheddable, key, func(context.Context) error { return nil })
	if !errors.Is(err, shed.ErrShed) {
		t.Fatalf("sheddable call: err = %v, want shed.ErrShed", err)
	}
	critical := gate.WithCriticality(context.Background(), gate.CriticalityCriticalPlus)
	if err := exec.Do(critical, key, func(context.Context) error { return nil }); err != nil {
		t.Fatalf("critical_plus call: %v", err)
	}
}

func TestExecutorOverloadGateInShadowRuns(t *testing.T) {
	exec, key := overloadExec(policy.EffectivePolicy{Bulkhead: policy.BulkheadPolicy{Enabled: true, MaxConcurrent: 1, Shadow: true}})
	release, done := holdOne(t, exec, key, context.Background())
	ran := false
	tl, err := exec.DoWithTimeline(context.Background(), key, func(context.Context) error { ran = true; return nil })
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err != nil || !ran {
		t.Fatalf("shadow bulkhead: err %v, ran %v; want the call to run", err, ran)
	}
	gs := tl.Attempts[0].Gates
	if len(gs) != 1 || gs[0].Gate != gate.NameBulkhead || gs[0].Admitted || !gs[0].Shadow {
		t.Fatalf("decisions %+v, want the bulkhead's shadow refusal", gs)
	}
}
