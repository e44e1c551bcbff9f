package policy_test

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/aponysus/rego/policy"
)

func TestDefaultPolicyFor(t *testing.T) {
	k := policy.ParseKey("svc.M")
	p := policy.DefaultPolicyFor(k)
	r := p.Retry
	if p.Key != k || r.MaxAttempts != 3 || r.Jitter != policy.JitterFull || r.TimeoutPerAttempt != 0 ||
		r.OverallTimeout != 0 || p.Hedge.Enabled || p.Circuit.Enabled || !p.Meta.Normalized || p.Meta.Source != policy.SourceDefault {
		t.Fatalf("%+v", p)
	}
	// Normalising the default changes nothing.
	n, err := p.Normalize()
	if err != nil || len(n.Meta.ClampedFields) != 0 || n.Retry != p.Retry || n.Hedge != p.Hedge {
		t.Fatalf("%+v %v", n, err)
	}
}

func TestNormalizeZeroMeansDefault(t *testing.T) {
	n, err := policy.EffectivePolicy{Retry: policy.RetryPolicy{MaxAttempts: 5}}.Normalize()
	if err != nil {
		t.Fatal(err)
	}
	want := policy.DefaultPolicyFor(policy.PolicyKey{}).Retry
	want.MaxAttempts = 5
	if n.Retry != want || len(n.Meta.ClampedFields) != 0 {
		t.Fatalf("got %+v, want %+v (clamped %v)", n.Retry, want, n.Meta.ClampedFields)
	}
}

func TestNormalizeClamps(t *testing.T) {
	tests := []struct {
		name  string
		in    policy.EffectivePolicy
		field string
		check func(policy.EffectivePolicy) bool
	}{
		{"max attempts high", policy.EffectivePolicy{Retry: policy.RetryPolicy{MaxAttempts: 99}}, "retry.max_attempts",
			func(p policy.EffectivePolicy) bool { return p.Retry.MaxAttempts == policy.MaxMaxAttempts }},
		{"max attempts negative", policy.EffectivePolicy{Retry: policy.RetryPolicy{MaxAttempts: -2}}, "retry.max_attempts",
			func(p policy.EffectivePolicy) bool { return p.Retry.MaxAttempts == 1 }},
		{"initial backoff tiny", policy.EffectivePolicy{Retry: policy.RetryPolicy{InitialBackoff: time.Nanosecond}}, "retry.initial_backoff",
			func(p policy.EffectivePolicy) bool { return p.Retry.InitialBackoff == policy.MinInitialBackoff }},
		{"initial backoff negative", policy.EffectivePolicy{Retry: policy.RetryPolicy{InitialBackoff: -time.Second}}, "retry.initial_backoff",
			func(p policy.EffectivePolicy) bool { return p.Retry.InitialBackoff == policy.MinInitialBackoff }},
		{"max below initial", policy.EffectivePolicy{Retry: policy.RetryPolicy{InitialBackoff: time.Second, MaxBackoff: time.Millisecond}}, "retry.max_backoff",
			func(p policy.EffectivePolicy) bool { return p.Retry.MaxBackoff == time.Second }},
		{"max backoff huge", policy.EffectivePolicy{Retry: policy.RetryPolicy{MaxBackoff: time.Hour}}, "retry.max_backoff",
			func(p policy.EffectivePolicy) bool { return p.Retry.MaxBackoff == policy.MaxMaxBackoff }},
		{"multiplier NaN", policy.EffectivePolicy{Retry: policy.RetryPolicy{BackoffMultiplier: math.NaN()}}, "retry.backoff_multiplier",
			func(p policy.EffectivePolicy) bool { return p.Retry.BackoffMultiplier == 2 }},
		{"multiplier below one", policy.EffectivePolicy{Retry: policy.RetryPolicy{BackoffMultiplier: 0.5}}, "retry.backoff_multiplier",
			func(p policy.EffectivePolicy) bool { return p.Retry.BackoffMultiplier == 1 }},
		{"multiplier inf", policy.EffectivePolicy{Retry: policy.RetryPolicy{BackoffMultiplier: math.Inf(1)}}, "retry.backoff_multiplier",
			func(p policy.EffectivePolicy) bool { return p.Retry.BackoffMultiplier == policy.MaxBackoffMultiplier }},
		{"negative timeout means none", policy.EffectivePolicy{Retry: policy.RetryPolicy{TimeoutPerAttempt: -1}}, "retry.timeout_per_attempt",
			func(p policy.EffectivePolicy) bool { return p.Retry.TimeoutPerAttempt == 0 }},
		{"overall timeout huge", policy.EffectivePolicy{Retry: policy.RetryPolicy{OverallTimeout: 1000 * time.Hour}}, "retry.overall_timeout",
			func(p policy.EffectivePolicy) bool { return p.Retry.OverallTimeout == policy.MaxOverallTimeout }},
		{"budget cost", policy.EffectivePolicy{Retry: policy.RetryPolicy{Budget: policy.BudgetRef{Name: "b", Cost: -3}}}, "retry.budget.cost",
			func(p policy.EffectivePolicy) bool { return p.Retry.Budget.Cost == 1 }},
		{"max hedges", policy.EffectivePolicy{Hedge: policy.HedgePolicy{MaxHedges: 50}}, "hedge.max_hedges",
			func(p policy.EffectivePolicy) bool { return p.Hedge.MaxHedges == policy.MaxMaxHedges }},
		{"hedge delay", policy.EffectivePolicy{Hedge: policy.HedgePolicy{Delay: -time.Second}}, "hedge.delay",
			func(p policy.EffectivePolicy) bool { return p.Hedge.Delay == policy.MinHedgeDelay }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := tt.in.Normalize()
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(n.Meta.ClampedFields, ",") != tt.field {
				t.Fatalf("clamped %v, want [%s]", n.Meta.ClampedFields, tt.field)
			}
			if !tt.check(n) {
				t.Fatalf("bad result %+v", n)
			}
			if !n.Meta.Normalized {
				t.Fatal("Normalized not set")
			}
			// Normalising again is a no-op.
			again, err := n.Normalize()
			if err != nil || again.Retry != n.Retry || len(again.Meta.ClampedFields) != len(n.Meta.ClampedFields) {
				t.Fatalf("second pass changed the policy: %+v", again)
			}
		})
	}
}

func TestNormalizeRejects(t *testing.T) {
	_, err := policy.EffectivePolicy{Retry: policy.RetryPolicy{Jitter: "wobbly"}}.Normalize()
	var fe *policy.FieldError
	if !errors.As(err, &fe) || fe.Field != "retry.jitter" || !errors.Is(err, policy.ErrInvalidPolicy) {
		t.Fatalf("err = %v", err)
	}
}

func TestNormalizeCircuit(t *testing.T) {
	n, err := policy.EffectivePolicy{Circuit: policy.CircuitPolicy{Enabled: true, FailureThreshold: 5000, Cooldown: time.Microsecond}}.Normalize()
	if err != nil || n.Circuit.FailureThreshold != policy.MaxFailureThreshold || n.Circuit.Cooldown != policy.MinCooldown ||
		strings.Join(n.Meta.ClampedFields, ",") != "circuit.failure_threshold,circuit.cooldown" {
		t.Fatalf("%+v %v", n, err)
	}
	n, _ = policy.EffectivePolicy{Circuit: policy.CircuitPolicy{Enabled: true}}.Normalize()
	if n.Circuit.FailureThreshold != 5 || n.Circuit.Cooldown != 5*time.Second {
		t.Fatalf("defaults %+v", n.Circuit)
	}
}

func FuzzNormalize(f *testing.F) {
	f.Add(3, int64(100), int64(1000), 2.0, "full", int64(0), int64(0), 1, true, 2, int64(10))
	f.Add(-1, int64(-1), int64(-1), math.NaN(), "", int64(-5), int64(-5), -9, false, -1, int64(-1))
	f.Fuzz(func(t *testing.T, attempts int, initial, maxB int64, mult float64, jitter string, tpa, overall int64, cost int, hedge bool, maxHedges int, delay int64) {
		p := policy.EffectivePolicy{
			Retry: policy.RetryPolicy{
				MaxAttempts: attempts, InitialBackoff: time.Duration(initial), MaxBackoff: time.Duration(maxB),
				BackoffMultiplier: mult, Jitter: policy.JitterKind(jitter), TimeoutPerAttempt: time.Duration(tpa),
				OverallTimeout: time.Duration(overall), Budget: policy.BudgetRef{Name: "b", Cost: cost},
			},
			Hedge: policy.HedgePolicy{Enabled: hedge, MaxHedges: maxHedges, Delay: time.Duration(delay)},
		}
		n, err := p.Normalize()
		if err != nil {
			if !errors.Is(err, policy.ErrInvalidPolicy) {
				t.Fatalf("error does not wrap ErrInvalidPolicy: %v", err)
			}
			return
		}
		r := n.Retry
		if r.MaxAttempts < 1 || r.MaxAttempts > policy.MaxMaxAttempts {
			t.Fatalf("max attempts %d", r.MaxAttempts)
		}
		if r.InitialBackoff < policy.MinInitialBackoff || r.InitialBackoff > policy.MaxInitialBackoff {
			t.Fatalf("initial backoff %v", r.InitialBackoff)
		}
		if r.MaxBackoff < r.InitialBackoff || r.MaxBackoff > policy.MaxMaxBackoff {
			t.Fatalf("max backoff %v (initial %v)", r.MaxBackoff, r.InitialBackoff)
		}
		if !(r.BackoffMultiplier >= 1 && r.BackoffMultiplier <= 10) {
			t.Fatalf("multiplier %v", r.BackoffMultiplier)
		}
		if r.TimeoutPerAttempt < 0 || r.TimeoutPerAttempt > policy.MaxTimeoutPerAttempt || r.OverallTimeout < 0 || r.OverallTimeout > policy.MaxOverallTimeout {
			t.Fatalf("timeouts %v %v", r.TimeoutPerAttempt, r.OverallTimeout)
		}
		if r.Budget.Cost < 1 || r.Budget.Cost > policy.MaxBudgetCost {
			t.Fatalf("cost %d", r.Budget.Cost)
		}
		h := n.Hedge
		if h.MaxHedges < 1 || h.MaxHedges > policy.MaxMaxHedges || h.Delay < policy.MinHedgeDelay || h.Delay > policy.MaxHedgeDelay {
			t.Fatalf("hedge %+v", h)
		}
		if !r.Jitter.Valid() || r.Jitter == "" {
			t.Fatalf("jitter %q", r.Jitter)
		}
	})
}
