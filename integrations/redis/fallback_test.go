package regoredis_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/aponysus/rego/budget"
	"github.com/aponysus/rego/policy"
	"github.com/aponysus/rego/regotest"

	regoredis "github.com/aponysus/rego/integrations/redis"
)

// deadClient is a client of a loopback port nothing listens on: every
// round trip fails at once with a refused connection.
func deadClient(t *testing.T) *redis.Client {
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:" + itoa(freePort(t)), ContextTimeoutEnabled: true, MaxRetries: -1})
	t.Cleanup(func() { c.Close() })
	return c
}

// Each fallback decides as documented, says so in the reason, and counts.
func TestFallbackModes(t *testing.T) {
	for _, tc := range []struct {
		fb                 regoredis.Fallback
		want               regoredis.Fallback
		retryOK            bool
		retryReason        string
		limitOK            bool
		limitReason        string
		defaultLimiterMode regoredis.Fallback
	}{
		{fb: regoredis.FallbackDefault, want: regoredis.FallbackLocal, retryOK: true, retryReason: regoredis.ReasonLocalWithinRatio, limitOK: true, limitReason: regoredis.ReasonFailOpen},
		{fb: regoredis.FallbackLocal, want: regoredis.FallbackLocal, retryOK: true, retryReason: regoredis.ReasonLocalWithinRatio, limitOK: true, limitReason: regoredis.ReasonLocalAdmitted},
		{fb: regoredis.FallbackOpen, want: regoredis.FallbackOpen, retryOK: true, retryReason: regoredis.ReasonFailOpen, limitOK: true, limitReason: regoredis.ReasonFailOpen},
		{fb: regoredis.FallbackClosed, want: regoredis.FallbackClosed, retryOK: false, retryReason: regoredis.ReasonFailClosed, limitOK: false, limitReason: regoredis.ReasonFailClosed},
	} {
		t.Run(tc.fb.String(), func(t *testing.T) {
			o := regoredis.Options{Client: deadClient(t), Name: "b", Fallback: tc.fb}
			b, err := regoredis.NewFleetBudget(regoredis.BudgetOptions{Options: o})
			if err != nil {
				t.Fatal(err)
			}
			if b.Fallback() != tc.want {
				t.Fatalf("budget fallback %v, want %v", b.Fallback(), tc.want)
			}
			if d := first(b); !d.Allowed || d.Reason != regoredis.ReasonFallbackFirstAttempt {
				t.Fatalf("first attempt without Redis: %+v", d)
			}
			if d := retry(b, 1); d.Allowed != tc.retryOK || d.Reason != tc.retryReason {
				t.Fatalf("retry without Redis: %+v, want allowed=%v %q", d, tc.retryOK, tc.retryReason)
			}
			if st := b.Stats(); st.Fallbacks != 2 || st.Redis != 0 || st.Errors+st.Timeouts != 2 {
				t.Fatalf("budget stats %+v", st)
			}
			l, err := regoredis.NewFleetLimiter(regoredis.LimiterOptions{Options: o, Rate: 10})
			if err != nil {
				t.Fatal(err)
			}
			ok, reason, _ := l.Allow(ctx)
			if ok != tc.limitOK || reason != tc.limitReason {
				t.Fatalf("limiter without Redis: %v %q, want %v %q", ok, reason, tc.limitOK, tc.limitReason)
			}
			if !strings.HasPrefix(reason, regoredis.ReasonUnavailablePrefix) {
				t.Fatalf("reason %q lacks the prefix", reason)
			}
		})
	}
}

// Redis killed mid-run: decisions go local at once, the circuit opens so
// that the outage stops costing round trips, and after a restart and the
// cooldown Redis decides again.
func TestRedisKilled(t *testing.T) {
	srv := startRedis(t)
	clk := regotest.NewClock(time.Now())
	b := newBudget(t, srv, regoredis.BudgetOptions{
		Options: regoredis.Options{Clock: clk, FailureThreshold: 2, Cooldown: 10 * time.Second, Timeout: 250 * time.Millisecond},
		Ratio:   budget.RatioOptions{Ratio: 0.5, MinRetriesPerSecond: -1},
	})
	for i := 0; i < 10; i++ {
		if d := first(b); d.Reason != budget.ReasonFirstAttempt {
			t.Fatalf("Redis up: %+v", d)
		}
	}
	if d := retry(b, 1); d.Reason != budget.ReasonWithinRatio {
		t.Fatalf("Redis up: %+v", d)
	}

	srv.kill()
	start := time.Now()
	if d := first(b); !d.Allowed || d.Reason != regoredis.ReasonFallbackFirstAttempt {
		t.Fatalf("Redis down, first attempt: %+v", d)
	}
	// The local budget counted the 11 first attempts: 5 units at 50%.
	if d := retry(b, 1); !d.Allowed || d.Reason != regoredis.ReasonLocalWithinRatio {
		t.Fatalf("Redis down, retry: %+v", d)
	}
	t.Logf("two decisions against a dead Redis took %v", time.Since(start))
	st := b.Stats()
	if !st.CircuitOpen || st.CircuitOpened != 1 || st.Errors+st.Timeouts != 2 {
		t.Fatalf("after 2 failures the circuit should be open: %+v", st)
	}
	// Open: no round trip at all.
	denied := false
	for i := 0; i < 10; i++ {
		if d := retry(b, 1); !d.Allowed {
			if d.Reason != regoredis.ReasonLocalRatioExceeded {
				t.Fatalf("local denial: %+v", d)
			}
			denied = true
		}
	}
	if !denied {
		t.Fatal("the local budget never ran out")
	}
	st = b.Stats()
	if st.Skipped != 10 || st.Errors+st.Timeouts != 2 {
		t.Fatalf("an open circuit must skip Redis: %+v", st)
	}

	srv.restart()
	if d := first(b); d.Reason != regoredis.ReasonFallbackFirstAttempt {
		t.Fatalf("still within the cooldown, decisions stay local: %+v", d)
	}
	clk.Advance(10 * time.Second)
	if d := first(b); d.Reason != budget.ReasonFirstAttempt {
		t.Fatalf("after the cooldown the probe goes to Redis: %+v", d)
	}
	if st := b.Stats(); st.CircuitOpen {
		t.Fatalf("a successful probe closes the circuit: %+v", st)
	}
	if d := retry(b, 1); d.Reason != budget.ReasonWithinRatio && d.Reason != budget.ReasonRatioExceeded {
		t.Fatalf("Redis decides again: %+v", d)
	}
}

// A probe that fails opens the circuit for another cooldown.
func TestProbeFailureReopens(t *testing.T) {
	clk := regotest.NewClock(time.Now())
	b, err := regoredis.NewFleetBudget(regoredis.BudgetOptions{Options: regoredis.Options{
		Client: deadClient(t), Name: "b", Clock: clk, FailureThreshold: 1, Cooldown: time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	first(b)
	if st := b.Stats(); !st.CircuitOpen || st.Errors+st.Timeouts != 1 {
		t.Fatalf("%+v", st)
	}
	first(b)
	clk.Advance(time.Second)
	first(b) // the probe, refused again
	first(b) // open again: skipped
	if st := b.Stats(); !st.CircuitOpen || st.CircuitOpened != 2 || st.Errors+st.Timeouts != 2 || st.Skipped != 2 {
		t.Fatalf("%+v", st)
	}
}

// Redis slow (a server stuck in DEBUG SLEEP): a decision gives up after
// its timeout and decides locally while the server is still asleep, and
// the circuit opens after FailureThreshold timeouts.
func TestRedisSlow(t *testing.T) {
	srv := startRedis(t, "--enable-debug-command", "local")
	clk := regotest.NewClock(time.Now())
	b := newBudget(t, srv, regoredis.BudgetOptions{Options: regoredis.Options{
		Timeout: 50 * time.Millisecond, Clock: clk, FailureThreshold: 3, Cooldown: time.Hour,
		Fallback: regoredis.FallbackClosed,
	}})
	if d := first(b); d.Reason != budget.ReasonFirstAttempt {
		t.Fatalf("Redis up: %+v", d)
	}

	sleeper := redis.NewClient(&redis.Options{Addr: srv.Addr(), ReadTimeout: -1})
	slept := make(chan error, 1)
	go func() { slept <- sleeper.Do(ctx, "DEBUG", "SLEEP", "60").Err() }()
	defer func() {
		srv.kill() // wakes the sleeper with an error
		<-slept
		sleeper.Close()
	}()

	// Until the server reads the DEBUG SLEEP, decisions may still succeed.
	var d budget.Decision
	for i := 0; ; i++ {
		d = retry(b, 1)
		if d.Reason == regoredis.ReasonFailClosed {
			break
		}
		if i > 1000 {
			t.Fatalf("the server never seemed asleep: %+v, %+v", d, b.Stats())
		}
	}
	select {
	case err := <-slept:
		t.Fatalf("the decision waited for the server to wake up (%v)", err)
	default:
	}
	for b.Stats().Timeouts < 3 {
		if d := retry(b, 1); d.Allowed || d.Reason != regoredis.ReasonFailClosed {
			t.Fatalf("fail-closed retry: %+v", d)
		}
	}
	st := b.Stats()
	if !st.CircuitOpen {
		t.Fatalf("3 timeouts open the circuit: %+v", st)
	}
	if d := first(b); !d.Allowed || d.Reason != regoredis.ReasonFallbackFirstAttempt {
		t.Fatalf("first attempts pass even fail-closed: %+v", d)
	}
	if got := b.Stats(); got.Skipped != st.Skipped+1 || got.Timeouts != st.Timeouts {
		t.Fatalf("an open circuit must not wait on the server: %+v", got)
	}
}

// Many goroutines deciding while Redis is gone: every decision is counted
// once, as Redis's or as a fallback, and the circuit opens exactly once.
func TestFallbackConcurrent(t *testing.T) {
	b, err := regoredis.NewFleetBudget(regoredis.BudgetOptions{Options: regoredis.Options{
		Client: deadClient(t), Name: "b", Cooldown: time.Hour}})
	if err != nil {
		t.Fatal(err)
	}
	const workers, each = 8, 50
	done := make(chan struct{})
	for w := 0; w < workers; w++ {
		go func() {
			defer func() { done <- struct{}{} }()
			for i := 0; i < each; i++ {
				if d := b.AllowAttempt(ctx, policy.PolicyKey{}, i%3, budget.KindRetry, policy.BudgetRef{}); !strings.HasPrefix(d.Reason, regoredis.ReasonUnavailablePrefix) {
					t.Errorf("decision without Redis: %+v", d)
				}
			}
		}()
	}
	for w := 0; w < workers; w++ {
		<-done
	}
	st := b.Stats()
	if st.Fallbacks != workers*each || st.Redis != 0 || st.Errors+st.Timeouts+st.Skipped != workers*each {
		t.Fatalf("%+v", st)
	}
	if !st.CircuitOpen || st.CircuitOpened != 1 {
		t.Fatalf("the circuit should have opened once: %+v", st)
	}
}

// A caller whose context has ended gets a local decision, and Redis is not
// blamed for it.
func TestCallerCancelledIsNotRedisFailure(t *testing.T) {
	b, err := regoredis.NewFleetBudget(regoredis.BudgetOptions{Options: regoredis.Options{
		Client: deadClient(t), Name: "b", FailureThreshold: 1}})
	if err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	for i := 0; i < 3; i++ {
		if d := b.AllowAttempt(cctx, policy.PolicyKey{}, 0, budget.KindRetry, policy.BudgetRef{}); d.Reason != regoredis.ReasonFallbackFirstAttempt {
			t.Fatalf("%+v", d)
		}
	}
	if st := b.Stats(); st.CircuitOpen || st.Errors+st.Timeouts != 0 || st.Fallbacks != 3 {
		t.Fatalf("%+v", st)
	}
}

// A server that lost its script cache (SCRIPT FLUSH, a restart) gets the
// script again by EVAL, within the same decision.
func TestScriptFlushed(t *testing.T) {
	srv := startRedis(t)
	b := newBudget(t, srv, regoredis.BudgetOptions{})
	if d := first(b); d.Reason != budget.ReasonFirstAttempt {
		t.Fatalf("%+v", d)
	}
	if err := srv.client(t).ScriptFlush(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	if d := retry(b, 1); d.Reason != budget.ReasonWithinRatio {
		t.Fatalf("after SCRIPT FLUSH: %+v", d)
	}
	if st := b.Stats(); st.Fallbacks != 0 || st.Redis != 2 {
		t.Fatalf("%+v", st)
	}
}
