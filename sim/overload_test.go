package sim_test

import (
	"fmt"
	"math/rand"
	"strings"
	"testing"
	"time"

	"github.com/aponysus/rego/admission"
	"github.com/aponysus/rego/budget"
	"github.com/aponysus/rego/clock"
	"github.com/aponysus/rego/policy"
	"github.com/aponysus/rego/sim"
)

const overloadDoc = "../docs/overload.md"

// The server of both reproductions: 10 workers, exponential service times
// of mean 10ms, so a capacity of 1000 requests a second.
const (
	workers  = 10
	capacity = 1000.0
)

func overloadServer(gated bool, p policy.EffectivePolicy) sim.QueueConfig {
	cfg := sim.QueueConfig{Workers: workers, Service: sim.Exponential{Mean: 10 * time.Millisecond}, Key: policy.ParseKey("api.work")}
	if gated {
		cfg.Gates = admission.NewGates(nil)
		cfg.Policy = p
	}
	return cfg
}

func runOverload(t *testing.T, sc sim.OverloadScenario) sim.OverloadReport {
	t.Helper()
	rep, err := sim.RunOverload(sc)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func constant(r float64) func(time.Duration) float64 { return func(time.Duration) float64 { return r } }

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond)) }

// TestOverloadAdaptiveLimit reproduces the overload result: offered load
// at 2x the server's capacity for a minute, clients that give up after 1s.
func TestOverloadAdaptiveLimit(t *testing.T) {
	skipTableUnderRace(t)
	const from, to = 20 * time.Second, 60 * time.Second
	type row struct {
		name  string
		rate  float64
		gated bool
		alg   string
	}
	rows := []row{
		{"unloaded (100/s), no limit", 100, false, ""},
		{"2x (2000/s), no limit", 2000, false, ""},
		{"2x, adaptive limit gradient2", 2000, true, "gradient2"},
		{"2x, adaptive limit vegas", 2000, true, "vegas"},
		{"2x, adaptive limit aimd", 2000, true, "aimd"},
	}
	var b strings.Builder
	b.WriteString("| run | goodput/s | admitted p50 | admitted p99 | refused/s | queue at 60s |\n|---|---|---|---|---|---|\n")
	var unloadedP99 time.Duration
	for _, r := range rows {
		p := policy.EffectivePolicy{Concurrency: policy.ConcurrencyPolicy{Enabled: true, Algorithm: r.alg, InitialLimit: 20}}
		rep := runOverload(t, sim.OverloadScenario{
			Seed: 1, Duration: to, Rate: constant(r.rate), Server: overloadServer(r.gated, p),
			Timeout: time.Second, Retry: policy.RetryPolicy{MaxAttempts: 1},
		})
		so := rep.Server.Sojourns(from, to)
		p50, p99 := sim.Quantile(so, 0.5), sim.Quantile(so, 0.99)
		goodput := rep.GoodputBetween(from, to)
		var refused int64
		for _, s := range rep.Seconds[from/time.Second:] {
			refused += s.Refused
		}
		fmt.Fprintf(&b, "| %s | %.0f | %s | %s | %.0f | %d |\n", r.name, goodput, ms(p50), ms(p99),
			float64(refused)/(to-from).Seconds(), rep.Seconds[len(rep.Seconds)-1].Queued)
		switch r.alg {
		case "":
			if r.rate < capacity {
				unloadedP99 = p99
				continue
			}
			// Without a limit the queue grows without bound: the p99 of
			// every ten seconds is seconds above the previous ten's, and
			// what the server serves is too late for its clients.
			var prev time.Duration
			for w := time.Duration(0); w < to; w += 10 * time.Second {
				p := sim.Quantile(rep.Server.Sojourns(w, w+10*time.Second), 0.99)
				if p < prev+2*time.Second {
					t.Errorf("no limit: p99 %v in [%v, %v), after %v: not growing without bound", p, w, w+10*time.Second, prev)
				}
				prev = p
			}
			if goodput > 0.1*capacity {
				t.Errorf("no limit: goodput %.0f/s, want a collapse below 10%% of capacity", goodput)
			}
		case "gradient2":
			if p99 > 2*unloadedP99 {
				t.Errorf("gradient2: admitted p99 %v, want within 2x the unloaded %v", p99, unloadedP99)
			}
			if goodput < 0.9*capacity {
				t.Errorf("gradient2: goodput %.0f/s, want >= 90%% of capacity", goodput)
			}
		}
	}
	t.Log("\n" + b.String())
	syncBlock(t, overloadDoc, "overload-table", b.String())
}

// The metastable scenario: 700 calls a second (70% of capacity), a spike
// to 2000 a second during [10s, 12s), clients that give up on an attempt
// after 300ms and try three times.
const (
	baseRate   = 700.0
	spikeFrom  = 10 * time.Second
	spikeTo    = 12 * time.Second
	metaLength = 60 * time.Second
)

func spike(e time.Duration) float64 {
	if e >= spikeFrom && e < spikeTo {
		return 2000
	}
	return baseRate
}

// recovery returns how long after the spike ends the 3-second mean goodput
// reaches 90% of the base load and stays there to the end, and false when
// it never does.
func recovery(rep sim.OverloadReport) (time.Duration, bool) {
	n := len(rep.Seconds)
	ok := func(i int) bool {
		sum := 0.0
		for k := i; k < i+3; k++ {
			sum += float64(rep.Seconds[k].Goodput)
		}
		return sum/3 >= 0.9*baseRate
	}
	start := -1
	for i := int(spikeTo / time.Second); i+3 <= n; i++ {
		if !ok(i) {
			start = -1
			continue
		}
		if start < 0 {
			start = i
		}
	}
	if start < 0 {
		return 0, false
	}
	return time.Duration(start)*time.Second - spikeTo, true
}

// TestMetastableFailure reproduces a metastable failure (Bronson et al.,
// HotOS 2021) and rego's way out of it.
func TestMetastableFailure(t *testing.T) {
	skipTableUnderRace(t)
	ratio := func(clk clock.Clock, _ *rand.Rand) (budget.Budget, error) {
		return budget.NewRatioBudget(budget.RatioOptions{Clock: clk})
	}
	server := policy.EffectivePolicy{
		Concurrency: policy.ConcurrencyPolicy{Enabled: true, InitialLimit: 20},
		Shed:        policy.ShedPolicy{Enabled: true},
	}
	variants := []struct {
		name, color string
		budget      func(clock.Clock, *rand.Rand) (budget.Budget, error)
		gated       bool
	}{
		{"no protection", "#c0392b", nil, false},
		{"client retry budget only", "#e67e22", ratio, false},
		{"server limit and shedding only", "#2980b9", nil, true},
		{"rego on both sides", "#27ae60", ratio, true},
	}
	reps := make([]sim.OverloadReport, len(variants))
	var summary strings.Builder
	summary.WriteString("| variant | goodput/s before the spike | goodput/s in [30s, 60s) | attempts/s in [30s, 60s) | recovered after the spike |\n|---|---|---|---|---|\n")
	var lines []series
	for i, v := range variants {
		rep := runOverload(t, sim.OverloadScenario{
			Seed: 1, Duration: metaLength, Rate: spike, Server: overloadServer(v.gated, server),
			Timeout: 300 * time.Millisecond, Budget: v.budget,
			Retry: policy.RetryPolicy{MaxAttempts: 3, InitialBackoff: 10 * time.Millisecond, MaxBackoff: 100 * time.Millisecond},
		})
		reps[i] = rep
		var att int64
		vals := make([]float64, len(rep.Seconds))
		for k, s := range rep.Seconds {
			vals[k] = float64(s.Goodput)
			if k >= 30 {
				att += s.Attempts
			}
		}
		lines = append(lines, series{name: v.name, color: v.color, values: vals})
		rec := "never"
		d, ok := recovery(rep)
		if ok {
			rec = fmt.Sprintf("%.0fs", d.Seconds())
		}
		fmt.Fprintf(&summary, "| %s | %.0f | %.0f | %.0f | %s |\n", v.name, rep.GoodputBetween(2*time.Second, spikeFrom),
			rep.GoodputBetween(30*time.Second, metaLength), float64(att)/30, rec)
		switch v.name {
		case "no protection":
			if ok || rep.GoodputBetween(30*time.Second, metaLength) > 0.1*baseRate {
				t.Errorf("no protection: recovered (%v, %v): the failure is not metastable", d, ok)
			}
			if rep.GoodputBetween(2*time.Second, spikeFrom) < 0.9*baseRate {
				t.Errorf("no protection: goodput before the spike %.0f, want the system healthy then", rep.GoodputBetween(2*time.Second, spikeFrom))
			}
		case "rego on both sides":
			if !ok || d > 5*time.Second {
				t.Errorf("rego on both sides: recovery %v %v, want within 5s of the spike's end", d, ok)
			}
		}
	}
	var table strings.Builder
	table.WriteString("| second |")
	for _, v := range variants {
		table.WriteString(" " + v.name + " |")
	}
	table.WriteString("\n|---|" + strings.Repeat("---|", len(variants)) + "\n")
	for sec := 0; sec < int(metaLength/time.Second); sec += 2 {
		fmt.Fprintf(&table, "| %d |", sec)
		for _, rep := range reps {
			fmt.Fprintf(&table, " %d |", rep.Seconds[sec].Goodput)
		}
		table.WriteString("\n")
	}
	t.Log("\n" + summary.String())
	syncBlock(t, overloadDoc, "metastable-summary", summary.String())
	syncBlock(t, overloadDoc, "metastable-table", table.String())
	syncFile(t, "../docs/overload-metastable.svg", svgChart(
		"Goodput per second: 700/s offered, a spike to 2000/s in [10s, 12s)", "successful calls per second", lines, 1200, 10, 12))
}
