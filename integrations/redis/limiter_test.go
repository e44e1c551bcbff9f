package regoredis_test

import (
	"errors"
	"math/rand"
	"testing"
	"time"

	"github.com/aponysus/rego/budget"
	"github.com/aponysus/rego/gate"
	"github.com/aponysus/rego/policy"
	"github.com/aponysus/rego/regotest"

	regoredis "github.com/aponysus/rego/integrations/redis"
)

// The limiter's script and its local fallback are one algorithm: fed the
// same attempts on the same clock, Redis and a limiter whose Redis is gone
// (FallbackLocal) admit alike and give the same waits.
func TestLimiterScriptIsLocalAlgorithm(t *testing.T) {
	srv := startRedis(t)
	clk := regotest.NewClock(time.Unix(1_700_000_000, 0))
	o := regoredis.LimiterOptions{
		Options: regoredis.Options{Client: srv.client(t), Name: "api", Clock: clk, ClientTime: true, Timeout: time.Second},
		Rate:    7, Burst: 3,
	}
	fleet, err := regoredis.NewFleetLimiter(o)
	if err != nil {
		t.Fatal(err)
	}
	o.Client, o.Fallback, o.Timeout = deadClient(t), regoredis.FallbackLocal, 0
	local, err := regoredis.NewFleetLimiter(o)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewSource(2))
	var admitted, limited int
	for i := 0; i < 800; i++ {
		clk.Advance(time.Duration(rng.Intn(250)) * time.Millisecond)
		ok, reason, wait := fleet.Allow(ctx)
		lok, lreason, lwait := local.Allow(ctx)
		if ok != lok || wait != lwait {
			t.Fatalf("step %d: Redis %v %q %v, local %v %q %v", i, ok, reason, wait, lok, lreason, lwait)
		}
		want, lwant := regoredis.ReasonAdmitted, regoredis.ReasonLocalAdmitted
		if !ok {
			want, lwant = regoredis.ReasonRateLimited, regoredis.ReasonLocalRateLimited
			limited++
			if wait <= 0 {
				t.Fatalf("step %d: a refusal without a wait", i)
			}
		} else {
			admitted++
		}
		if reason != want || lreason != lwant {
			t.Fatalf("step %d: reasons %q and %q", i, reason, lreason)
		}
	}
	if admitted == 0 || limited == 0 {
		t.Fatalf("the run must exercise both answers: %d admitted, %d limited", admitted, limited)
	}
	if st := fleet.Stats(); st.Fallbacks != 0 {
		t.Fatalf("every decision should come from Redis: %+v", st)
	}
}

// Limiters of one name share the rate: over a fixed stretch of virtual
// time the fleet gets Burst + Rate * elapsed attempts, however many
// processes ask.
func TestLimiterIsFleetWide(t *testing.T) {
	srv := startRedis(t)
	clk := regotest.NewClock(time.Unix(1_700_000_000, 0))
	var ls []*regoredis.FleetLimiter
	for i := 0; i < 4; i++ {
		l, err := regoredis.NewFleetLimiter(regoredis.LimiterOptions{
			Options: regoredis.Options{Client: srv.client(t), Name: "api", Clock: clk, ClientTime: true, Timeout: time.Second},
			Rate:    10, Burst: 5,
		})
		if err != nil {
			t.Fatal(err)
		}
		ls = append(ls, l)
	}
	got := 0
	for step := 0; step < 100; step++ { // 10 seconds in steps of 100ms
		for _, l := range ls {
			for k := 0; k < 3; k++ {
				if ok, _, _ := l.Allow(ctx); ok {
					got++
				}
			}
		}
		clk.Advance(100 * time.Millisecond)
	}
	// 5 at once, then one per 100ms for the 99 later steps.
	if got != 5+99 {
		t.Fatalf("the fleet got %d attempts, want %d", got, 5+99)
	}
}

func TestLimiterAsGateAndBudget(t *testing.T) {
	srv := startRedis(t)
	clk := regotest.NewClock(time.Unix(1_700_000_000, 0))
	l, err := regoredis.NewFleetLimiter(regoredis.LimiterOptions{
		Options: regoredis.Options{Client: srv.client(t), Name: "api", Clock: clk, ClientTime: true, Timeout: time.Second},
		Rate:    2, Burst: 1,
	})
	if err != nil {
		t.Fatal(err)
	}
	var g gate.Gate = l
	p, err := g.Admit(ctx, gate.Attempt{}, clk.Now())
	if err != nil || p.Reason != regoredis.ReasonAdmitted {
		t.Fatalf("admit: %+v %v", p, err)
	}
	p, err = g.Admit(ctx, gate.Attempt{}, clk.Now())
	var re *gate.RefusedError
	if !errors.Is(err, gate.ErrRefused) || !errors.As(err, &re) {
		t.Fatalf("refusal: %v", err)
	}
	if re.Gate != regoredis.GateLimiter || re.Reason != regoredis.ReasonRateLimited || re.RetryAfter != 500*time.Millisecond || p.Reason != re.Reason {
		t.Fatalf("refusal: %+v, permit %+v", re, p)
	}
	var b budget.Budget = l
	if d := b.AllowAttempt(ctx, policy.PolicyKey{}, 1, budget.KindRetry, policy.BudgetRef{}); d.Allowed || d.Reason != regoredis.ReasonRateLimited {
		t.Fatalf("as a budget: %+v", d)
	}
}
