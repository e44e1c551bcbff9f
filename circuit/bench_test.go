package circuit_test

import (
	"context"
	"sort"
	"testing"
	"time"

	"github.com/aponysus/rego/circuit"
	"github.com/aponysus/rego/controlplane"
	"github.com/aponysus/rego/gate"
	"github.com/aponysus/rego/policy"
	"github.com/aponysus/rego/retry"
)

// benchPolicies are the breaker configurations the benchmarks measure.
var benchPolicies = []struct {
	name string
	cfg  policy.CircuitPolicy
}{
	{"rule=consecutive", policy.CircuitPolicy{Enabled: true, FailureThreshold: 5, Cooldown: time.Second}},
	{"rule=rate", policy.CircuitPolicy{Enabled: true, FailureThreshold: 5, Cooldown: time.Second,
		FailureRateThreshold: 0.5, Window: 10 * time.Second, MinThroughput: 10}},
	{"rule=all", policy.CircuitPolicy{Enabled: true, FailureThreshold: 5, Cooldown: time.Second,
		FailureRateThreshold: 0.5, SlowCallDuration: time.Second, SlowCallRateThreshold: 0.5,
		Window: 10 * time.Second, MinThroughput: 10}},
}

// closedSuccess admits an attempt and completes it with a success.
func closedSuccess(br *circuit.Breaker, pol *policy.EffectivePolicy, now time.Time) {
	p, err := br.Admit(context.Background(), gate.Attempt{Policy: pol}, now)
	if err != nil {
		panic(err)
	}
	p.Done(gate.Result{Verdict: gate.Answered, Latency: time.Millisecond, End: now})
}

// BenchmarkClosedSuccess is the path nearly every attempt takes: a closed
// breaker admits it and counts its success, through the gate API; serially,
// and from GOMAXPROCS goroutines sharing one breaker (no lock, so no
// goroutine waits for another).
func BenchmarkClosedSuccess(b *testing.B) {
	for _, bp := range benchPolicies {
		for _, mode := range []string{"serial", "parallel"} {
			b.Run(bp.name+"/"+mode, func(b *testing.B) {
				var br circuit.Breaker
				pol := &policy.EffectivePolicy{Circuit: bp.cfg}
				now := time.Now()
				b.ReportAllocs()
				if mode == "parallel" {
					b.RunParallel(func(pb *testing.PB) {
						for pb.Next() {
							closedSuccess(&br, pol, now)
						}
					})
					return
				}
				for i := 0; i < b.N; i++ {
					closedSuccess(&br, pol, now)
				}
			})
		}
	}
}

// BenchmarkOpenRefusal is an open breaker refusing (the error it returns
// is the one allocation).
func BenchmarkOpenRefusal(b *testing.B) {
	var br circuit.Breaker
	pol := &policy.EffectivePolicy{Circuit: benchPolicies[0].cfg}
	now := time.Now()
	br.ForceOpen(now)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := br.Admit(context.Background(), gate.Attempt{Policy: pol}, now); err == nil {
			b.Fatal("admitted")
		}
	}
}

// BenchmarkExecutorSuccess is a successful call through the executor
// without a breaker (the plain path) and with one: the difference is what
// a closed breaker costs a call. The paired sub-benchmarks measure that
// difference directly, robust to a loaded machine: they alternate blocks of
// calls with and without the breaker and report the median difference per
// call (ns-above-plain) beside the mean time of a call with the breaker.
func BenchmarkExecutorSuccess(b *testing.B) {
	key := policy.ParseKey("bench.Call")
	newExec := func(cfg policy.CircuitPolicy) *retry.Executor {
		return retry.NewExecutor(retry.ExecutorOptions{Provider: &controlplane.StaticProvider{
			Policies: map[policy.PolicyKey]policy.EffectivePolicy{key: {Retry: policy.RetryPolicy{MaxAttempts: 3}, Circuit: cfg}},
		}})
	}
	op := func(context.Context) error { return nil }
	ctx := context.Background()
	calls := func(exec *retry.Executor, n int) {
		for i := 0; i < n; i++ {
			if err := exec.Do(ctx, key, op); err != nil {
				panic(err)
			}
		}
	}
	b.Run("breaker=none", func(b *testing.B) {
		exec := newExec(policy.CircuitPolicy{})
		b.ReportAllocs()
		b.ResetTimer()
		calls(exec, b.N)
	})
	for _, bp := range benchPolicies {
		b.Run("breaker="+bp.name[len("rule="):], func(b *testing.B) {
			exec := newExec(bp.cfg)
			b.ReportAllocs()
			b.ResetTimer()
			calls(exec, b.N)
		})
		b.Run("paired/breaker="+bp.name[len("rule="):], func(b *testing.B) {
			const block = 1000
			plain, with := newExec(policy.CircuitPolicy{}), newExec(bp.cfg)
			var diffs []float64
			b.ReportAllocs()
			b.ResetTimer()
			for done := 0; done < b.N; done += block {
				t0 := time.Now()
				calls(plain, block)
				t1 := time.Now()
				calls(with, block)
				t2 := time.Now()
				diffs = append(diffs, float64(t2.Sub(t1)-t1.Sub(t0))/block)
			}
			sort.Float64s(diffs)
			b.ReportMetric(diffs[len(diffs)/2], "ns-above-plain")
		})
	}
}

// TestClosedPathAllocatesNothing: admitting and completing on a closed
// breaker allocates nothing, under every rule.
func TestClosedPathAllocatesNothing(t *testing.T) {
	for _, bp := range benchPolicies {
		var br circuit.Breaker
		pol := &policy.EffectivePolicy{Circuit: bp.cfg}
		now := time.Now()
		closedSuccess(&br, pol, now) // the first sees the policy and the window's base
		if n := testing.AllocsPerRun(100, func() { closedSuccess(&br, pol, now) }); n != 0 {
			t.Errorf("%s: %v allocations per attempt", bp.name, n)
		}
	}
}
