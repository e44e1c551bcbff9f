package circuit_test

import (
	"testing"
	"time"

	"github.com/aponysus/rego/circuit"
	"github.com/aponysus/rego/policy"
)

// TestLateFailureFromBeforeTheOpening is the minimal reproduction: an
// attempt admitted before a threshold-2 breaker opened fails after the
// probe closed it. Its failure belongs to an earlier generation and must
// not count, so one fresh failure leaves the breaker closed.
func TestLateFailureFromBeforeTheOpening(t *testing.T) {
	r := newRig(t, &circuit.Breaker{}, policy.CircuitPolicy{FailureThreshold: 2, Cooldown: time.Second})
	slow := r.must(0, circuit.ReasonClosed) // launched before the opening
	r.call(10*ms, F)
	r.call(20*ms, F) // opens
	r.must(500*ms, circuit.ReasonOpen)
	probe := r.must(1020*ms, circuit.ReasonProbe)
	end(probe, S, 1030*ms, 10*ms) // closes
	end(slow, F, 1040*ms, 1040*ms)
	r.call(1050*ms, F)
	if got := r.state(1050 * ms); got != circuit.Closed {
		t.Fatalf("state %v: a failure from before the opening counted after the close", got)
	}
	if sn := r.b.Snapshot(t0.Add(1050*ms), r.pol.Circuit); sn.ConsecutiveFailures != 1 {
		t.Fatalf("%d consecutive failures, want 1", sn.ConsecutiveFailures)
	}
	r.call(1060*ms, F) // a second fresh failure does open it
	if got := r.state(1060 * ms); got != circuit.Open {
		t.Fatalf("state %v", got)
	}
}

// TestLateResultsOfEveryKind: late results of closed attempts never reach
// a later window or run of failures, and late probes never decide a later
// half-open generation.
func TestLateResultsOfEveryKind(t *testing.T) {
	cfg := policy.CircuitPolicy{FailureThreshold: 3, Cooldown: time.Second, FailureRateThreshold: 0.5, MinThroughput: 4, Window: 10 * time.Second, HalfOpenProbes: 2, SuccessThreshold: 2}
	r := newRig(t, &circuit.Breaker{}, cfg)
	c1 := r.must(0, circuit.ReasonClosed)
	c2 := r.must(0, circuit.ReasonClosed)
	for i := 0; i < 3; i++ {
		r.call(0, F) // opens on the third
	}
	p1 := r.must(time.Second, circuit.ReasonProbe)
	p2 := r.must(time.Second, circuit.ReasonProbe)
	end(p2, F, time.Second, 0) // reopens: p1 belongs to a finished generation
	q1 := r.must(2*time.Second, circuit.ReasonProbe)
	end(p1, S, 2*time.Second, 0) // late: must not count toward q's successes
	if sn := r.b.Snapshot(t0.Add(2*time.Second), r.pol.Circuit); sn.ProbeSuccesses != 0 || sn.ProbesInFlight != 1 {
		t.Fatalf("a late probe counted: %+v", sn)
	}
	q2 := r.must(2*time.Second, circuit.ReasonProbe)
	end(q1, S, 2*time.Second, 0)
	end(q2, S, 2*time.Second, 0) // closes
	// Two late closed failures: neither the run nor the window sees them.
	end(c1, F, 2*time.Second, 0)
	end(c2, F, 2*time.Second, 0)
	r.call(2*time.Second, S)
	r.call(2*time.Second, S)
	r.call(2*time.Second, F)
	sn := r.b.Snapshot(t0.Add(2*time.Second), r.pol.Circuit)
	if sn.State != circuit.Closed || sn.Calls != 3 || sn.Failures != 1 || sn.ConsecutiveFailures != 1 {
		t.Fatalf("late results counted: %+v", sn)
	}
}
