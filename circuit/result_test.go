package circuit_test

import (
	"container/heap"
	"context"
	"flag"
	"fmt"
	"math/rand"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aponysus/rego/circuit"
	"github.com/aponysus/rego/gate"
	"github.com/aponysus/rego/policy"
)

var update = flag.Bool("update", false, "rewrite the result table in docs/circuit.md")

// The breaker result: a dependency called 100 times a second, each call
// taking 5 to 15ms, fails with some probability that changes over time.
// Two breakers, the consecutive rule alone and the failure-rate rule
// beside it, watch the same kind of traffic. Everything runs on virtual
// time from a seeded random source: the same seed gives the same run.
const (
	simSpacing = 10 * time.Millisecond // 100 calls a second
	simSeeds   = 100
	// The recovery scenario: an outage from outageFrom to recovery, then
	// health until recoveryEnd.
	outageFrom  = 2 * time.Second
	recovery    = 13500 * time.Millisecond
	recoveryEnd = 20 * time.Second
)

var simConfigs = []struct {
	name string
	cfg  policy.CircuitPolicy
}{
	{"consecutive", policy.CircuitPolicy{FailureThreshold: 5, Cooldown: 5 * time.Second}},
	{"failure rate", policy.CircuitPolicy{FailureThreshold: 5, Cooldown: 5 * time.Second,
		FailureRateThreshold: 0.25, Window: 10 * time.Second, MinThroughput: 20, HalfOpenProbes: 3, SuccessThreshold: 2}},
}

// simRun is what one run saw: the breaker's state changes, and how many
// calls reached the dependency.
type simRun struct {
	changes []circuit.StateChange
	reached int
	sent    []time.Duration // when each call that reached the dependency was sent
}

// reachedIn counts the calls sent in [from, to).
func (r simRun) reachedIn(from, to time.Duration) int {
	n := 0
	for _, at := range r.sent {
		if at >= from && at < to {
			n++
		}
	}
	return n
}

// firstTo returns the offset of the first change to state to at or after
// from, or -1.
func (r simRun) firstTo(to circuit.State, from time.Duration) time.Duration {
	for _, c := range r.changes {
		if at := c.At.Sub(t0); c.To == to && at >= from {
			return at
		}
	}
	return -1
}

type completion struct {
	at time.Duration
	p  gate.Permit
	v  gate.Verdict
	l  time.Duration
}

type completions []completion

func (q completions) Len() int            { return len(q) }
func (q completions) Less(i, j int) bool  { return q[i].at < q[j].at }
func (q completions) Swap(i, j int)       { q[i], q[j] = q[j], q[i] }
func (q *completions) Push(x interface{}) { *q = append(*q, x.(completion)) }
func (q *completions) Pop() interface{} {
	old := *q
	c := old[len(old)-1]
	*q = old[:len(old)-1]
	return c
}

// simulate drives a breaker under cfg for length through its gate API.
// failP gives the dependency's failure probability at a time; a call's
// outcome is drawn when it ends.
func simulate(seed int64, cfg policy.CircuitPolicy, length time.Duration, failP func(time.Duration) float64) simRun {
	var run simRun
	reg := &circuit.Registry{OnStateChange: func(c circuit.StateChange) { run.changes = append(run.changes, c) }}
	cfg.Enabled = true
	pol := &policy.EffectivePolicy{Key: policy.ParseKey("dep.Call"), Circuit: cfg}
	rnd := rand.New(rand.NewSource(seed))
	var q completions
	drain := func(until time.Duration) {
		for len(q) > 0 && q[0].at <= until {
			c := heap.Pop(&q).(completion)
			c.p.Done(gate.Result{Verdict: c.v, Latency: c.l, End: t0.Add(c.at)})
		}
	}
	for at := time.Duration(0); at < length; at += simSpacing {
		drain(at)
		p, err := reg.Admit(context.Background(), gate.Attempt{Key: pol.Key, Policy: pol}, t0.Add(at))
		if err != nil {
			continue
		}
		run.reached++
		run.sent = append(run.sent, at)
		lat := 5*time.Millisecond + time.Duration(rnd.Int63n(int64(10*time.Millisecond)))
		v := gate.Answered
		if rnd.Float64() < failP(at+lat) {
			v = gate.Failed
		}
		heap.Push(&q, completion{at + lat, p, v, lat})
	}
	drain(length + time.Hour)
	return run
}

func constant(p float64) func(time.Duration) float64 {
	return func(time.Duration) float64 { return p }
}

// outage fails every call between from and to.
func outage(from, to time.Duration) func(time.Duration) float64 {
	return func(t time.Duration) float64 {
		if t >= from && t < to {
			return 1
		}
		return 0
	}
}

// simTable runs every scenario over simSeeds seeds and returns the result
// table as it appears in docs/circuit.md.
func simTable() string {
	var b strings.Builder
	fmt.Fprintf(&b, "| scenario | breaker | opened (of %d runs) | time to open, median (max) | calls that reached the dependency, median |\n|---|---|---|---|---|\n", simSeeds)
	type scenario struct {
		name   string
		length time.Duration
		failP  func(time.Duration) float64
	}
	for _, sc := range []scenario{
		{"30% failures, first 1s", time.Second, constant(0.3)},
		{"30% failures, first 10s", 10 * time.Second, constant(0.3)},
		{"100% outage, first 1s", time.Second, constant(1)},
	} {
		for _, c := range simConfigs {
			var opened int
			var times []time.Duration
			var reached []int
			for seed := int64(1); seed <= simSeeds; seed++ {
				r := simulate(seed, c.cfg, sc.length, sc.failP)
				if at := r.firstTo(circuit.Open, 0); at >= 0 {
					opened++
					times = append(times, at)
				}
				reached = append(reached, r.reached)
			}
			fmt.Fprintf(&b, "| %s | %s | %d | %s | %d |\n", sc.name, c.name, opened, medianMax(times), medianInt(reached))
		}
	}
	b.WriteString("\n")
	fmt.Fprintf(&b, "| recovery (outage from %v to %v) | breaker | closed (of %d runs) | time from recovery to closed, median (max) | calls that reached the dependency during the outage, median |\n|---|---|---|---|---|\n", outageFrom, recovery, simSeeds)
	for _, c := range simConfigs {
		var closed int
		var times []time.Duration
		var during []int
		for seed := int64(1); seed <= simSeeds; seed++ {
			r := simulate(seed, c.cfg, recoveryEnd, outage(outageFrom, recovery))
			if at := r.firstTo(circuit.Closed, recovery); at >= 0 {
				closed++
				times = append(times, at-recovery)
			}
			during = append(during, r.reachedIn(outageFrom, recovery))
		}
		fmt.Fprintf(&b, "| | %s | %d | %s | %d |\n", c.name, closed, medianMax(times), medianInt(during))
	}
	return b.String()
}

func medianMax(ds []time.Duration) string {
	if len(ds) == 0 {
		return "-"
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	return fmt.Sprintf("%v (%v)", ds[len(ds)/2].Round(time.Millisecond), ds[len(ds)-1].Round(time.Millisecond))
}

func medianInt(ns []int) int {
	sort.Ints(ns)
	return ns[len(ns)/2]
}

// TestBreakerResult checks, for one seed, what docs/circuit.md claims,
// and that the doc's result table is the one the simulation produces.
func TestBreakerResult(t *testing.T) {
	consecutive, rate := simConfigs[0].cfg, simConfigs[1].cfg
	const seed = 1
	// 30% failures: within the first second the failure-rate breaker
	// opens, on its rate; the consecutive rule alone does not.
	if r := simulate(seed, consecutive, time.Second, constant(0.3)); r.firstTo(circuit.Open, 0) >= 0 {
		t.Fatalf("the consecutive rule opened under 30%% failures: %+v", r.changes[0])
	}
	r := simulate(seed, rate, time.Second, constant(0.3))
	if len(r.changes) == 0 || r.changes[0].To != circuit.Open || r.changes[0].Cause != circuit.CauseFailureRate {
		t.Fatalf("the failure-rate breaker did not open on its rate: %+v", r.changes)
	}
	// A full outage: both open, on the fifth failure.
	for _, cfg := range []policy.CircuitPolicy{consecutive, rate} {
		r := simulate(seed, cfg, time.Second, constant(1))
		if len(r.changes) == 0 || r.changes[0].Cause != circuit.CauseConsecutiveFailures || r.reached > 10 {
			t.Fatalf("outage: %+v after %d calls", r.changes, r.reached)
		}
	}
	// Recovery: closed within one cooldown of the recovery, plus the
	// probes' own latency and spacing.
	for _, cfg := range []policy.CircuitPolicy{consecutive, rate} {
		r := simulate(seed, cfg, recoveryEnd, outage(outageFrom, recovery))
		at := r.firstTo(circuit.Closed, recovery)
		if at < 0 || at-recovery > cfg.Cooldown+4*simSpacing {
			t.Fatalf("recovery: closed at %v: %+v", at, r.changes)
		}
	}

	table := simTable()
	const begin, end = "<!-- breaker-results:begin -->\n", "<!-- breaker-results:end -->"
	path := "../docs/circuit.md"
	doc, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	i, j := strings.Index(string(doc), begin), strings.Index(string(doc), end)
	if i < 0 || j < i {
		t.Fatalf("%s lacks the result markers", path)
	}
	if got := string(doc[i+len(begin) : j]); got != table {
		if *update {
			out := string(doc[:i+len(begin)]) + table + string(doc[j:])
			if err := os.WriteFile(path, []byte(out), 0o644); err != nil {
				t.Fatal(err)
			}
			return
		}
		t.Fatalf("%s is out of date (go test ./circuit -run TestBreakerResult -update):\n%s", path, table)
	}
}
