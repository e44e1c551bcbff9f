package ratelimit_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aponysus/rego/gate"
	"github.com/aponysus/rego/policy"
	"github.com/aponysus/rego/ratelimit"
	"github.com/aponysus/rego/regotest"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var (
	t0  = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	key = policy.ParseKey("search.query")
)

func TestLimiterTable(t *testing.T) {
	p := policy.RateLimitPolicy{Enabled: true, Rate: 10, Burst: 2}
	var l ratelimit.Limiter
	for i, step := range []struct {
		at      time.Duration
		maxWait time.Duration
		wait    time.Duration
		ok      bool
	}{
		{0, 0, 0, true},                       // full bucket: 2 tokens
		{0, 0, 0, true},                       // the second
		{0, 0, 100 * time.Millisecond, false}, // empty: next token in 100ms
		{50 * time.Millisecond, 0, 50 * time.Millisecond, false},                    // half a token back
		{50 * time.Millisecond, 50 * time.Millisecond, 50 * time.Millisecond, true}, // reserved: in debt
		{100 * time.Millisecond, 0, 100 * time.Millisecond, false},                  // the debt is paid first
		{time.Hour, 0, 0, true}, // a long pause refills to Burst only
		{time.Hour, 0, 0, true},
		{time.Hour, 0, 100 * time.Millisecond, false},
	} {
		wait, ok := l.Reserve(t0.Add(step.at), p, step.maxWait)
		if wait != step.wait || ok != step.ok {
			t.Fatalf("step %d: got %v %v, want %v %v", i, wait, ok, step.wait, step.ok)
		}
	}
}

func TestLimiterDefaultsAndReload(t *testing.T) {
	var l ratelimit.Limiter
	// Zero Rate and Burst: 100 a second, burst 100.
	zero := policy.RateLimitPolicy{Enabled: true}
	if got := l.Tokens(t0, zero); got != 100 {
		t.Fatalf("default burst %v", got)
	}
	n := 0
	for l.Allow(t0, zero) {
		n++
	}
	if n != 100 {
		t.Fatalf("%d tokens", n)
	}
	if !l.Allow(t0.Add(10*time.Millisecond), zero) {
		t.Fatal("no token after 10ms at 100/s")
	}
	// A reload with a smaller burst caps what was saved.
	small := policy.RateLimitPolicy{Enabled: true, Rate: 1, Burst: 3}
	if got := l.Tokens(t0.Add(time.Hour), small); got != 3 {
		t.Fatalf("tokens after reload %v", got)
	}
	// Burst defaults to max(1, Rate) for a rate below one.
	var s ratelimit.Limiter
	slow := policy.RateLimitPolicy{Enabled: true, Rate: 0.5}
	if !s.Allow(t0, slow) || s.Allow(t0, slow) || !s.Allow(t0.Add(2*time.Second), slow) {
		t.Fatal("rate 0.5 with burst 1")
	}
}

func attempt(p policy.RateLimitPolicy, launched int, kind gate.Kind) gate.Attempt {
	return gate.Attempt{Key: key, Policy: &policy.EffectivePolicy{Key: key, RateLimit: p}, Launched: launched, Kind: kind}
}

func TestRegistry(t *testing.T) {
	clk := regotest.NewClock(t0)
	r := &ratelimit.Registry{Clock: clk}
	p := policy.RateLimitPolicy{Enabled: true, Rate: 10, Burst: 1, MaxWait: 200 * time.Millisecond}
	ctx := context.Background()
	if pm, err := r.Admit(ctx, attempt(p, 0, gate.KindRetry), clk.Now()); err != nil || pm.Reason != ratelimit.ReasonAdmitted {
		t.Fatalf("first: %+v %v", pm, err)
	}
	// Retries and hedges are not counted.
	for _, a := range []gate.Attempt{attempt(p, 1, gate.KindRetry), attempt(p, 0, gate.KindHedge)} {
		if pm, err := r.Admit(ctx, a, clk.Now()); err != nil || pm.Reason != ratelimit.ReasonNotFirst {
			t.Fatalf("not first: %+v %v", pm, err)
		}
	}
	// The next first attempt waits 100ms for its token, on the clock.
	done := make(chan gate.Permit, 1)
	go func() {
		pm, err := r.Admit(ctx, attempt(p, 0, gate.KindRetry), clk.Now())
		if err != nil {
			t.Error(err)
		}
		done <- pm
	}()
	clk.BlockUntil(1)
	clk.Advance(100 * time.Millisecond)
	if pm := <-done; pm.Reason != ratelimit.ReasonWaited || pm.Waited != 100*time.Millisecond {
		t.Fatalf("waited: %+v", pm)
	}
	// The next token comes in 100ms; with a MaxWait of 50ms (a reload)
	// the attempt is refused with RetryAfter.
	short := p
	short.MaxWait = 50 * time.Millisecond
	_, err := r.Admit(ctx, attempt(short, 0, gate.KindRetry), clk.Now())
	var re *gate.RefusedError
	if !errors.As(err, &re) || re.Reason != ratelimit.ReasonLimited || re.Gate != gate.NameRateLimit || !errors.Is(err, ratelimit.ErrLimited) {
		t.Fatalf("want a refusal, got %v", err)
	}
	if re.RetryAfter != 100*time.Millisecond {
		t.Fatalf("retry after %v", re.RetryAfter)
	}
	// Disabled: pass.
	if pm, err := r.Admit(ctx, attempt(policy.RateLimitPolicy{}, 0, gate.KindRetry), clk.Now()); err != nil || pm.Reason != ratelimit.ReasonDisabled {
		t.Fatalf("disabled: %+v %v", pm, err)
	}
}

func TestCancelledWaitGivesTokenBack(t *testing.T) {
	clk := regotest.NewClock(t0)
	r := &ratelimit.Registry{Clock: clk}
	p := policy.RateLimitPolicy{Enabled: true, Rate: 1, Burst: 1, MaxWait: time.Minute}
	if _, err := r.Admit(context.Background(), attempt(p, 0, gate.KindRetry), clk.Now()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := r.Admit(ctx, attempt(p, 0, gate.KindRetry), clk.Now())
		errc <- err
	}()
	clk.BlockUntil(1)
	cancel()
	err := <-errc
	if !errors.Is(err, context.Canceled) || !errors.Is(err, ratelimit.ErrLimited) {
		t.Fatalf("cancelled wait: %v", err)
	}
	if got := r.For(key).Tokens(clk.Now(), p); got != 0 {
		t.Fatalf("tokens %v after the cancelled reservation, want 0", got)
	}
}

func TestOverflow(t *testing.T) {
	r := &ratelimit.Registry{MaxKeys: 1}
	p := policy.RateLimitPolicy{Enabled: true, Rate: 1, Burst: 1}
	r.Admit(context.Background(), attempt(p, 0, gate.KindRetry), t0)
	a := attempt(p, 0, gate.KindRetry)
	a.Key = policy.ParseKey("other")
	if pm, err := r.Admit(context.Background(), a, t0); err != nil || pm.Reason != ratelimit.ReasonOverflow || r.Overflowed() != 1 {
		t.Fatalf("%+v %v", pm, err)
	}
}

func BenchmarkAdmitUncontended(b *testing.B) {
	r := &ratelimit.Registry{}
	a := attempt(policy.RateLimitPolicy{Enabled: true, Rate: 1e6, Burst: 1e6}, 0, gate.KindRetry)
	ctx := context.Background()
	now := t0
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		now = now.Add(time.Microsecond)
		if _, err := r.Admit(ctx, a, now); err != nil {
			b.Fatal(err)
		}
	}
}

// Policies taking turns on one key each apply their own rate, whether the
// attempt carries the policy seen last, another policy with the same
// section, or none (a direct call): the wait a refusal announces is the
// rate's own.
func TestPoliciesTakingTurns(t *testing.T) {
	r := &ratelimit.Registry{}
	ctx := context.Background()
	slow := attempt(policy.RateLimitPolicy{Enabled: true, Rate: 1, Burst: 1}, 0, gate.KindRetry)
	slowAgain := attempt(policy.RateLimitPolicy{Enabled: true, Rate: 1, Burst: 1}, 0, gate.KindRetry)
	fast := attempt(policy.RateLimitPolicy{Enabled: true, Rate: 1000, Burst: 2}, 0, gate.KindRetry)
	if _, err := r.Admit(ctx, slow, t0); err != nil {
		t.Fatal(err)
	}
	// The bucket is empty for 1s: the next token is 1s away at the slow
	// rate, 1s + 1ms - 2ms away at the fast one.
	retryAfter := func(a gate.Attempt) time.Duration {
		t.Helper()
		_, err := r.Admit(ctx, a, t0)
		var re *gate.RefusedError
		if !errors.As(err, &re) {
			t.Fatalf("not refused: %v", err)
		}
		return re.RetryAfter
	}
	for i, c := range []struct {
		a    gate.Attempt
		want time.Duration
	}{{slow, time.Second}, {fast, 999 * time.Millisecond}, {slow, time.Second}, {fast, 999 * time.Millisecond}, {slowAgain, time.Second}} {
		if got := retryAfter(c.a); got != c.want {
			t.Fatalf("turn %d: retry after %v, want %v", i, got, c.want)
		}
	}
	if w, ok := r.For(key).Reserve(t0, fast.Policy.RateLimit, 0); ok || w != 999*time.Millisecond {
		t.Fatalf("direct reserve at the fast rate: %v %v", w, ok)
	}
}
