package sim_test

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aponysus/rego/budget"
	"github.com/aponysus/rego/policy"
	"github.com/aponysus/rego/sim"
)

// The fleet experiment of docs/redis.md: 50 processes retrying against a
// total outage, each process with its own 10% ratio budget or all of them
// sharing one. A shared budget.RatioBudget is how the fleet budget of the
// Redis integration (integrations/redis, FleetBudget) is modelled here: its
// Lua script is RatioBudget's algorithm, and that module's tests check the
// two decide alike, attempt for attempt, on one clock. Processes that come
// and go (churn) start with a fresh budget each.

const (
	fleetProcs    = 50
	fleetRate     = 20.0 // calls per second per process
	fleetDuration = 30 * time.Second
	fleetRatio    = 0.1
	fleetFloor    = 1.0 // retries per second whatever the traffic
	fleetWindow   = 10 * time.Second
)

type fleetResult struct {
	firsts, retries int64
	load            float64
}

// runFleet runs fleetProcs processes sharing fleetProcs*fleetRate calls per
// second, round robin. Each process lives lifetime (zero: the whole run),
// then a fresh one with a fresh budget takes its place; replacements are
// staggered so that churn is steady. shared gives every process, old and
// new, one budget.
func runFleet(t *testing.T, lifetime time.Duration, shared bool) fleetResult {
	t.Helper()
	s := sim.New(5)
	srv := sim.NewServer(s, sim.ServerConfig{Latency: sim.Constant(10 * time.Millisecond), Failure: sim.FailureRate(1)})
	ro := budget.RatioOptions{Ratio: fleetRatio, MinRetriesPerSecond: fleetFloor, Window: fleetWindow, Clock: s.Clock()}
	newBudget := func() budget.Budget {
		b, err := budget.NewRatioBudget(ro)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	var fleet budget.Budget
	if shared {
		fleet = newBudget()
	}
	var all []*sim.Client
	spawn := func() *sim.Client {
		b := fleet
		if b == nil {
			b = newBudget()
		}
		c, err := sim.NewClient(s, srv, sim.ClientConfig{Retry: policy.RetryPolicy{MaxAttempts: 3}, Budget: b})
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, c)
		return c
	}
	procs := make([]*sim.Client, fleetProcs)
	for i := range procs {
		procs[i] = spawn()
		if lifetime <= 0 {
			continue
		}
		i := i
		var replace func()
		replace = func() {
			procs[i] = spawn()
			if s.Elapsed()+lifetime < fleetDuration {
				s.After(lifetime, replace)
			}
		}
		s.After(lifetime*time.Duration(i+1)/fleetProcs, replace)
	}
	var received int64
	s.After(fleetDuration, func() { received = srv.Received() })
	gap := time.Duration(float64(time.Second) / (fleetRate * fleetProcs))
	next := 0
	var arrive func()
	arrive = func() {
		procs[next%fleetProcs].Call(nil)
		next++
		if at := time.Duration(next) * gap; at < fleetDuration {
			s.After(at-s.Elapsed(), arrive)
		}
	}
	s.After(0, arrive)
	s.Run()

	var st sim.Stats
	for _, c := range all {
		st = st.Add(c.Stats())
	}
	return fleetResult{firsts: st.Calls, retries: st.Retries, load: float64(received) / float64(st.Calls)}
}

// TestFleetBudgetTable: per-process budgets hold each process to about
// 1+ratio only while processes live long; with churn every new process
// brings a fresh floor and the fleet's retries have no bound but the
// attempts policy. One budget shared by the fleet keeps retries within the
// ratio of the fleet's first attempts, churn or not. The table is the one
// in docs/redis.md (-update-docs rewrites it).
func TestFleetBudgetTable(t *testing.T) {
	skipTableUnderRace(t)
	t.Parallel()
	var b strings.Builder
	b.WriteString("| budget | process lifetime | first attempts | retries | retries / first attempts | load (attempts/call) |\n|---|---|---:|---:|---:|---:|\n")
	for _, shared := range []bool{false, true} {
		for _, life := range []time.Duration{0, 10 * time.Second, 2 * time.Second, 500 * time.Millisecond, 100 * time.Millisecond} {
			r := runFleet(t, life, shared)
			name, lives := "per process", "whole run"
			if shared {
				name = "fleet (shared)"
			}
			if life > 0 {
				lives = life.String()
			}
			frac := float64(r.retries) / float64(r.firsts)
			fmt.Fprintf(&b, "| %s | %s | %d | %d | %.3f | %.3fx |\n", name, lives, r.firsts, r.retries, frac, r.load)
			switch {
			case shared:
				// The floor adds at most its retries per window to the
				// ratio: fleetFloor*fleetWindow per window of the run.
				windows := float64(fleetDuration/fleetWindow) + 1
				if limit := fleetRatio*float64(r.firsts) + fleetFloor*fleetWindow.Seconds()*windows; float64(r.retries) > limit {
					t.Errorf("fleet budget, lifetime %v: %d retries for %d first attempts, want at most %.0f", life, r.retries, r.firsts, limit)
				}
				if frac > fleetRatio*1.01 {
					t.Errorf("fleet budget, lifetime %v: retries %.4f of first attempts, want within %.0f%%", life, frac, fleetRatio*100)
				}
			case life == 0:
				if r.load < 1.05 || r.load > 1.15 {
					t.Errorf("per-process budgets, no churn: load %.4f, want about 1.1", r.load)
				}
			case life == 500*time.Millisecond:
				// Each half-second process makes 10 calls and gets a floor
				// of 10 retries: the ratio is gone.
				if frac < 0.5 {
					t.Errorf("per-process budgets, lifetime %v: retries %.4f of first attempts, want the floors to dominate (> 0.5)", life, frac)
				}
			}
		}
	}
	t.Log("\n" + b.String())
	for _, doc := range []string{"../docs/redis.md", "../docs/fleet.md"} {
		syncDocBlock(t, doc, "fleet-table", b.String())
	}
}

// syncDocBlock compares the block between the named markers of the doc at
// redisDocPath with table, or writes table there under -update-docs.
func syncDocBlock(t *testing.T, redisDocPath, marker, table string) {
	t.Helper()
	raw, err := os.ReadFile(redisDocPath)
	if err != nil {
		t.Fatalf("reading %s: %v", redisDocPath, err)
	}
	head, rest, ok1 := strings.Cut(string(raw), "<!-- "+marker+":begin -->\n")
	old, tail, ok2 := strings.Cut(rest, "<!-- "+marker+":end -->")
	switch {
	case !ok1 || !ok2:
		t.Fatalf("%s lacks the %s markers", redisDocPath, marker)
	case old == table:
	case *updateDocs:
		doc := head + "<!-- " + marker + ":begin -->\n" + table + "<!-- " + marker + ":end -->" + tail
		if err := os.WriteFile(redisDocPath, []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
	default:
		t.Errorf("%s: the %s block is not what %s measured; rerun it with -update-docs\nmeasured:\n%s", redisDocPath, marker, t.Name(), table)
	}
}
