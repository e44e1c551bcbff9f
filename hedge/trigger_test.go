package hedge

import (
	"testing"
	"time"

	"github.com/aponysus/rego/internal/doctest"
	"github.com/aponysus/rego/policy"
	"github.com/aponysus/rego/regotest"
)

func filledTracker(d time.Duration, n int) *Tracker {
	tr := NewTracker(TrackerOptions{Clock: regotest.NewClock(time.Time{})})
	for i := 0; i < n; i++ {
		tr.Observe(d)
	}
	return tr
}

func TestTriggers(t *testing.T) {
	pol := policy.HedgePolicy{Enabled: true, Delay: 50 * time.Millisecond}
	// Bucket upper edge of 20ms: what Bound reports for a key at 20ms.
	lo, w := bucketBounds(bucketOf(20 * time.Millisecond))
	tests := []struct {
		name       string
		trig       Trigger
		latency    *Tracker
		wantD      time.Duration
		wantReason string
	}{
		{"fixed", Fixed{}, nil, 50 * time.Millisecond, "fixed"},
		{"fixed ignores latencies", Fixed{}, filledTracker(time.Millisecond, 100), 50 * time.Millisecond, "fixed"},
		{"quantile without tracker", Quantile{Q: 0.95}, nil, 50 * time.Millisecond, "warmup_fixed"},
		{"quantile warming up", Quantile{Q: 0.95}, filledTracker(time.Second, MinSamples-1), 50 * time.Millisecond, "warmup_fixed"},
		{"p95", Quantile{Q: 0.95}, filledTracker(20*time.Millisecond, 100), lo + w, "p95"},
		{"p50", Quantile{Q: 0.5}, filledTracker(20*time.Millisecond, 100), lo + w, "p50"},
		{"p99.9", Quantile{Q: 0.999}, filledTracker(20*time.Millisecond, 100), lo + w, "p99.9"},
		{"odd quantile reason", Quantile{Q: 0.75}, filledTracker(20*time.Millisecond, 100), lo + w, "p75"},
		{"clamped to the minimum", Quantile{Q: 0.9}, filledTracker(100*time.Microsecond, 100), policy.MinHedgeDelay, "p90"},
		{"clamped to the maximum", Quantile{Q: 0.99}, filledTracker(time.Hour, 100), policy.MaxHedgeDelay, "p99"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, reason, ok := tt.trig.Delay(TriggerInput{Key: key("svc.get"), Policy: pol, HedgeIndex: 1, Latency: tt.latency})
			if !ok || d != tt.wantD || reason != tt.wantReason {
				t.Fatalf("Delay = %v, %q, %v; want %v, %q, true", d, reason, ok, tt.wantD, tt.wantReason)
			}
		})
	}
}

func TestRegistry(t *testing.T) {
	r := NewRegistry()
	builtins := map[policy.HedgeTrigger]Trigger{
		policy.TriggerFixed: Fixed{},
		policy.TriggerP50:   Quantile{Q: 0.50},
		policy.TriggerP90:   Quantile{Q: 0.90},
		policy.TriggerP95:   Quantile{Q: 0.95},
		policy.TriggerP99:   Quantile{Q: 0.99},
	}
	for name, want := range builtins {
		got, ok := r.Get(name)
		if !ok || got != want {
			t.Errorf("Get(%q) = %v, %v; want %v", name, got, ok, want)
		}
	}
	if _, ok := r.Get("nope"); ok {
		t.Error("Get of an unknown name succeeded")
	}
	var nilReg *Registry
	if _, ok := nilReg.Get(policy.TriggerFixed); ok {
		t.Error("nil registry answered")
	}

	calls := 0
	r.Register("first-only", TriggerFunc(func(in TriggerInput) (time.Duration, string, bool) {
		calls++
		return 5 * time.Millisecond, "custom", in.HedgeIndex == 1
	}))
	tr, ok := r.Get("first-only")
	if !ok {
		t.Fatal("registered trigger missing")
	}
	if d, reason, ok := tr.Delay(TriggerInput{HedgeIndex: 1}); d != 5*time.Millisecond || reason != "custom" || !ok {
		t.Errorf("custom Delay = %v, %q, %v", d, reason, ok)
	}
	if _, _, ok := tr.Delay(TriggerInput{HedgeIndex: 2}); ok || calls != 2 {
		t.Errorf("custom trigger: ok %v after %d calls, want false after 2", ok, calls)
	}
}

func TestRegisterMisusePanics(t *testing.T) {
	tests := []struct {
		name string
		key  policy.HedgeTrigger
		trig Trigger
	}{
		{"empty name", "", Fixed{}},
		{"nil trigger", "x", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Fatal("Register did not panic")
				}
			}()
			NewRegistry().Register(tt.key, tt.trig)
		})
	}
}

func policyWithDelay() policy.HedgePolicy {
	return policy.HedgePolicy{Enabled: true, Delay: 50 * time.Millisecond}
}

// blind is a user-written trigger that says it reads no latencies.
type blind struct{}

func (blind) Delay(in TriggerInput) (time.Duration, string, bool) {
	return in.Policy.Delay, "blind", true
}
func (blind) ReadsLatency() bool { return false }

func TestReadsLatency(t *testing.T) {
	tf := TriggerFunc(func(TriggerInput) (time.Duration, string, bool) { return 0, "f", true })
	for _, tc := range []struct {
		name string
		trig Trigger
		want bool
	}{
		{"fixed", Fixed{}, false},
		{"quantile", Quantile{Q: 0.95}, true},
		{"TriggerFunc: may read", tf, true},
		{"LatencyReader saying false", blind{}, false},
	} {
		if got := ReadsLatency(tc.trig); got != tc.want {
			t.Errorf("%s: ReadsLatency %v, want %v", tc.name, got, tc.want)
		}
	}
	reg := NewRegistry()
	for _, name := range []policy.HedgeTrigger{policy.TriggerP50, policy.TriggerP90, policy.TriggerP95, policy.TriggerP99} {
		if tr, _ := reg.Get(name); !ReadsLatency(tr) {
			t.Errorf("built-in %s says it reads no latencies", name)
		}
	}
	if tr, _ := reg.Get(policy.TriggerFixed); ReadsLatency(tr) {
		t.Error("the fixed trigger says it reads latencies")
	}
}

// The trigger docs/hedging.md shows is ExampleLatencyReader's.
func TestLatencyReaderSnippet(t *testing.T) {
	doctest.Snippet(t, "../docs/hedging.md", "`hedge.LatencyReader`", "example_test.go", 100)
}
