package regoredis_test

import (
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/aponysus/rego/budget"
	"github.com/aponysus/rego/policy"

	regoredis "github.com/aponysus/rego/integrations/redis"
)

// The cost of one decision: a local budget, the fleet budget and limiter
// against a real local redis-server (one loopback round trip), and the
// fleet budget while its circuit is open (Redis down).

func benchClient(b *testing.B, srv *server) *redis.Client {
	c := redis.NewClient(&redis.Options{Addr: srv.Addr(), ContextTimeoutEnabled: true})
	b.Cleanup(func() { c.Close() })
	return c
}

func benchBudget(b *testing.B, c redis.Scripter) *regoredis.FleetBudget {
	fb, err := regoredis.NewFleetBudget(regoredis.BudgetOptions{
		Options: regoredis.Options{Client: c, Name: "bench", Timeout: time.Second},
	})
	if err != nil {
		b.Fatal(err)
	}
	return fb
}

func benchDecisions(b *testing.B, bg budget.Budget, idx int) {
	key, ref := policy.PolicyKey{Name: "k"}, policy.BudgetRef{}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		bg.AllowAttempt(ctx, key, idx, budget.KindRetry, ref)
	}
}

func BenchmarkLocalRatioBudget(b *testing.B) {
	rb, err := budget.NewRatioBudget(budget.RatioOptions{})
	if err != nil {
		b.Fatal(err)
	}
	b.Run("first_attempt", func(b *testing.B) { benchDecisions(b, rb, 0) })
	b.Run("retry", func(b *testing.B) { benchDecisions(b, rb, 1) })
}

func BenchmarkFleetBudget(b *testing.B) {
	srv := startRedis(b)
	fb := benchBudget(b, benchClient(b, srv))
	b.Run("first_attempt", func(b *testing.B) { benchDecisions(b, fb, 0) })
	b.Run("retry", func(b *testing.B) { benchDecisions(b, fb, 1) })
	b.Run("retry_parallel", func(b *testing.B) {
		key, ref := policy.PolicyKey{Name: "k"}, policy.BudgetRef{}
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				fb.AllowAttempt(ctx, key, 1, budget.KindRetry, ref)
			}
		})
	})
	if st := fb.Stats(); st.Fallbacks > 0 {
		b.Logf("%d decisions fell back (a loaded machine): %+v", st.Fallbacks, st)
	}
}

func BenchmarkFleetLimiter(b *testing.B) {
	srv := startRedis(b)
	l, err := regoredis.NewFleetLimiter(regoredis.LimiterOptions{
		Options: regoredis.Options{Client: benchClient(b, srv), Name: "bench", Timeout: time.Second},
		Rate:    1e6,
	})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		l.Allow(ctx)
	}
}

// Redis down and the circuit open: the decision is the local budget's
// plus the circuit check.
func BenchmarkFleetBudgetCircuitOpen(b *testing.B) {
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", ContextTimeoutEnabled: true})
	b.Cleanup(func() { c.Close() })
	fb, err := regoredis.NewFleetBudget(regoredis.BudgetOptions{
		Options: regoredis.Options{Client: c, Name: "bench", FailureThreshold: 1, Cooldown: time.Hour},
	})
	if err != nil {
		b.Fatal(err)
	}
	fb.AllowAttempt(ctx, policy.PolicyKey{}, 1, budget.KindRetry, policy.BudgetRef{})
	if !fb.Stats().CircuitOpen {
		b.Fatal("the circuit should be open")
	}
	benchDecisions(b, fb, 1)
}
