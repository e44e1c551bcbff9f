package sim_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aponysus/rego/policy"
	"github.com/aponysus/rego/sim"
)

// occMean runs the contention experiment for seeds 1..runs and returns the
// mean write calls and completion time, as the original averaged its runs.
func occMean(t *testing.T, clients, runs int, j policy.JitterKind) (calls float64, completion time.Duration) {
	t.Helper()
	var total time.Duration
	for seed := 1; seed <= runs; seed++ {
		r, err := sim.RunOCC(sim.OCCConfig{Seed: int64(seed), Clients: clients, Jitter: j})
		if err != nil {
			t.Fatal(err)
		}
		if r.Succeeded != clients {
			t.Fatalf("%s, seed %d: %d of %d clients succeeded", j, seed, r.Succeeded, clients)
		}
		calls += float64(r.Calls)
		total += r.Completion
	}
	return calls / float64(runs), total / time.Duration(runs)
}

// TestBackoffJitterContention reproduces "Exponential Backoff And Jitter"
// (AWS Architecture Blog, 2015): 100 clients race to update one row with
// optimistic concurrency, network delay N(10ms, 2ms) per message, backoff
// base 5ms, cap 2s, every client retrying until its write lands.
func TestBackoffJitterContention(t *testing.T) {
	t.Parallel()
	const clients, runs = 100, 20
	kinds := []policy.JitterKind{policy.JitterNone, policy.JitterFull, policy.JitterEqual, policy.JitterDecorrelated}
	calls := map[policy.JitterKind]float64{}
	done := map[policy.JitterKind]time.Duration{}
	var b strings.Builder
	fmt.Fprintf(&b, "\n| jitter (%d clients, mean of %d runs) | write calls | completion |\n|---|---:|---:|\n", clients, runs)
	for _, j := range kinds {
		calls[j], done[j] = occMean(t, clients, runs, j)
		fmt.Fprintf(&b, "| %s | %.0f | %.2fs |\n", j, calls[j], done[j].Seconds())
	}
	t.Log(b.String())
	syncDoc(t, "jitter-table", b.String())

	full, equal, decor, none := calls[policy.JitterFull], calls[policy.JitterEqual], calls[policy.JitterDecorrelated], calls[policy.JitterNone]
	if full >= none/2 {
		t.Errorf("full jitter made %.0f calls, want under half of un-jittered exponential's %.0f", full, none)
	}
	if d := equal/full - 1; d < -0.05 || d > 0.05 {
		t.Errorf("full (%.0f) and equal (%.0f) jitter should be within 5%% in calls", full, equal)
	}
	if decor <= 1.05*full || decor <= 1.05*equal {
		t.Errorf("decorrelated jitter (%.0f calls) should do more work than full (%.0f) and equal (%.0f)", decor, full, equal)
	}
	for _, j := range kinds[1:] {
		if done[policy.JitterNone] < 5*done[j] {
			t.Errorf("plain exponential completes in %v, want far behind %s's %v", done[policy.JitterNone], j, done[j])
		}
	}
	// The post's conclusions: equal jitter takes longer than full, and
	// decorrelated trades a little more work for a little less time.
	if done[policy.JitterEqual] <= done[policy.JitterFull] {
		t.Errorf("equal jitter completes in %v, want slower than full's %v", done[policy.JitterEqual], done[policy.JitterFull])
	}
	if done[policy.JitterDecorrelated] >= done[policy.JitterFull] {
		t.Errorf("decorrelated jitter completes in %v, want faster than full's %v", done[policy.JitterDecorrelated], done[policy.JitterFull])
	}
}

func TestRunOCCBadConfig(t *testing.T) {
	t.Parallel()
	if _, err := sim.RunOCC(sim.OCCConfig{}); err == nil || !strings.Contains(err.Error(), "Clients") {
		t.Fatalf("err = %v, want one naming Clients", err)
	}
	if _, err := sim.RunOCC(sim.OCCConfig{Clients: 1, Jitter: "bogus"}); err == nil || !strings.Contains(err.Error(), "jitter") {
		t.Fatalf("err = %v, want one naming the jitter", err)
	}
}

func TestRunOCCMaxAttempts(t *testing.T) {
	t.Parallel()
	r, err := sim.RunOCC(sim.OCCConfig{Seed: 1, Clients: 20, Jitter: policy.JitterNone, MaxAttempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	if r.Calls != 20 || r.Succeeded < 1 || r.Succeeded >= 20 {
		t.Fatalf("one attempt each: %d calls, %d succeeded", r.Calls, r.Succeeded)
	}
}
