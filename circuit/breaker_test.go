package circuit_test

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/aponysus/rego/circuit"
	"github.com/aponysus/rego/gate"
	"github.com/aponysus/rego/policy"
)

const (
	ms = time.Millisecond
	S  = gate.Answered
	F  = gate.Failed
	C  = gate.Cancelled
	N  = gate.NotRun
)

// step is one attempt: admitted at at, completed lat later with v (when
// admitted); want is the admission's reason.
type step struct {
	at   time.Duration
	v    gate.Verdict
	lat  time.Duration
	want string
}

func TestBreakerRules(t *testing.T) {
	closed, open, probe := circuit.ReasonClosed, circuit.ReasonOpen, circuit.ReasonProbe
	tests := []struct {
		name  string
		cfg   policy.CircuitPolicy
		steps []step
		state circuit.State // after the steps, at the last step's time
	}{
		{"consecutive failures open; a success starts the count again",
			policy.CircuitPolicy{FailureThreshold: 3, Cooldown: time.Second},
			[]step{{0, F, 0, closed}, {1, F, 0, closed}, {2, S, 0, closed}, {3, F, 0, closed}, {4, F, 0, closed}, {5, F, 0, closed}, {6, S, 0, open}},
			circuit.Open},
		{"cancelled and not-run attempts count for nothing",
			policy.CircuitPolicy{FailureThreshold: 2},
			[]step{{0, F, 0, closed}, {1, C, 0, closed}, {2, N, 0, closed}, {3, F, 0, closed}, {4, S, 0, open}},
			circuit.Open},
		{"failure rate opens at the threshold once the window has the minimum throughput",
			policy.CircuitPolicy{FailureThreshold: 100, FailureRateThreshold: 0.5, MinThroughput: 4, Window: time.Second},
			[]step{{0, S, 0, closed}, {10, F, 0, closed}, {20, S, 0, closed}, {30, F, 0, closed}, {40, S, 0, open}},
			circuit.Open},
		{"below the minimum throughput the rate does not open",
			policy.CircuitPolicy{FailureThreshold: 100, FailureRateThreshold: 0.5, MinThroughput: 4, Window: time.Second},
			[]step{{0, F, 0, closed}, {10, F, 0, closed}, {20, F, 0, closed}, {30, S, 0, closed}},
			circuit.Closed},
		{"a success never opens: the rate is checked on a failure",
			policy.CircuitPolicy{FailureThreshold: 100, FailureRateThreshold: 0.5, MinThroughput: 4, Window: time.Second},
			[]step{{0, F, 0, closed}, {10, F, 0, closed}, {20, F, 0, closed}, {30, S, 0, closed}, {40, S, 0, closed}, {50, F, 0, closed}, {60, S, 0, open}},
			circuit.Open},
		{"failures older than the window are forgotten",
			policy.CircuitPolicy{FailureThreshold: 100, FailureRateThreshold: 0.5, MinThroughput: 4, Window: time.Second},
			[]step{{0, F, 0, closed}, {10, F, 0, closed}, {20, F, 0, closed}, {2000, S, 0, closed}, {2010, S, 0, closed}, {2020, S, 0, closed}, {2030, F, 0, closed}, {2040, S, 0, closed}},
			circuit.Closed},
		{"slow answers open on the slow-call rate",
			policy.CircuitPolicy{FailureThreshold: 100, SlowCallDuration: 100 * ms, SlowCallRateThreshold: 0.5, MinThroughput: 2},
			[]step{{0, S, 200, closed}, {300, S, 50, closed}, {400, S, 200, closed}, {700, S, 0, open}},
			circuit.Open},
		{"slow answers count for nothing without the slow-call rule",
			policy.CircuitPolicy{FailureThreshold: 100, SlowCallDuration: 100 * ms, MinThroughput: 2},
			[]step{{0, S, 200, closed}, {300, S, 200, closed}, {600, S, 200, closed}},
			circuit.Closed},
		{"after the cooldown a probe; its success closes",
			policy.CircuitPolicy{FailureThreshold: 1, Cooldown: time.Second},
			[]step{{0, F, 0, closed}, {999, S, 0, open}, {1000, S, 50, probe}, {1100, S, 0, closed}},
			circuit.Closed},
		{"a failed probe opens again for a whole cooldown",
			policy.CircuitPolicy{FailureThreshold: 1, Cooldown: time.Second},
			[]step{{0, F, 0, closed}, {1000, F, 100, probe}, {2000, S, 0, open}, {2099, S, 0, open}, {2100, S, 0, probe}},
			circuit.Closed},
		{"a slow probe fails under the slow-call rule",
			policy.CircuitPolicy{FailureThreshold: 1, Cooldown: time.Second, SlowCallDuration: 100 * ms, SlowCallRateThreshold: 1},
			[]step{{0, F, 0, closed}, {1000, S, 150, probe}, {1200, S, 0, open}},
			circuit.Open},
		{"a cancelled probe gives its slot back without deciding",
			policy.CircuitPolicy{FailureThreshold: 1, Cooldown: time.Second},
			[]step{{0, F, 0, closed}, {1000, C, 10, probe}, {1020, N, 0, probe}, {1030, S, 0, probe}, {1040, S, 0, closed}},
			circuit.Closed},
		{"the zero policy: five consecutive failures, five seconds of cooldown",
			policy.CircuitPolicy{},
			[]step{{0, F, 0, closed}, {1, F, 0, closed}, {2, F, 0, closed}, {3, F, 0, closed}, {4, F, 0, closed}, {4999, S, 0, open}, {5004, S, 0, probe}},
			circuit.Closed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, &circuit.Breaker{}, tt.cfg)
			var last time.Duration
			for i, s := range tt.steps {
				at := s.at * ms
				p, ok := r.admit(at)
				if p.Reason != s.want {
					t.Fatalf("step %d at %v: reason %q, want %q", i, at, p.Reason, s.want)
				}
				if ok {
					end(p, s.v, at+s.lat*ms, s.lat*ms)
				}
				last = at + s.lat*ms
			}
			if got := r.state(last); got != tt.state {
				t.Fatalf("state %v, want %v", got, tt.state)
			}
		})
	}
}

func TestHalfOpenProbesAndSuccessThreshold(t *testing.T) {
	r := newRig(t, &circuit.Breaker{}, policy.CircuitPolicy{FailureThreshold: 1, Cooldown: time.Second, HalfOpenProbes: 3, SuccessThreshold: 2})
	r.call(0, F)
	p1 := r.must(time.Second, circuit.ReasonProbe)
	p2 := r.must(time.Second, circuit.ReasonProbe)
	p3 := r.must(time.Second, circuit.ReasonProbe)
	r.must(time.Second, circuit.ReasonProbeBusy)
	end(p3, gate.Cancelled, time.Second, 0) // a slot back, no verdict
	p4 := r.must(time.Second, circuit.ReasonProbe)
	end(p1, S, time.Second, 0)
	if sn := r.b.Snapshot(t0.Add(time.Second), r.pol.Circuit); sn.State != circuit.HalfOpen || sn.ProbesInFlight != 2 || sn.ProbeSuccesses != 1 {
		t.Fatalf("after one success: %+v", sn)
	}
	end(p2, S, time.Second, 0) // the second success closes
	if s := r.state(time.Second); s != circuit.Closed {
		t.Fatal(s)
	}
	end(p4, F, time.Second, 0) // a probe of the finished half-open generation
	if s := r.state(time.Second); s != circuit.Closed {
		t.Fatalf("a late probe failure reopened the breaker: %v", s)
	}

	// One failed probe reopens, whatever the others do.
	r.call(2*time.Second, F)
	q1 := r.must(3*time.Second, circuit.ReasonProbe)
	q2 := r.must(3*time.Second, circuit.ReasonProbe)
	end(q1, S, 3*time.Second, 0)
	end(q2, F, 3*time.Second, 0)
	r.must(3*time.Second, circuit.ReasonOpen)
}

func TestDisabledPolicy(t *testing.T) {
	var b circuit.Breaker
	for _, pol := range []*policy.EffectivePolicy{nil, {Circuit: policy.CircuitPolicy{FailureThreshold: 1}}} {
		for i := 0; i < 3; i++ {
			p, err := b.Admit(context.Background(), gate.Attempt{Policy: pol}, t0)
			if err != nil || p.Reason != circuit.ReasonDisabled || p.Completer != nil {
				t.Fatalf("%+v %v", p, err)
			}
		}
	}
}

// TestUnnormalisedPolicy: values the normaliser would reject or clamp
// behave as documented defaults (or the nearest valid value), never
// crash, never divide by zero.
func TestUnnormalisedPolicy(t *testing.T) {
	weird := []policy.CircuitPolicy{
		{FailureThreshold: -3, Cooldown: -time.Second, Window: -1, MinThroughput: -1, HalfOpenProbes: -1, SuccessThreshold: -1},
		{FailureRateThreshold: math.NaN(), SlowCallRateThreshold: math.Inf(1), SlowCallDuration: -1},
		{FailureRateThreshold: 7, SlowCallDuration: time.Nanosecond, SlowCallRateThreshold: -2, Window: time.Nanosecond, MinThroughput: 1},
		{HalfOpenProbes: 1, SuccessThreshold: 50},
		{Window: time.Duration(math.MaxInt64), FailureRateThreshold: 0.5},
	}
	for i, cfg := range weird {
		r := newRig(t, &circuit.Breaker{}, cfg)
		for j := 0; j < 50; j++ {
			at := time.Duration(j) * 100 * ms
			v := F
			if j%3 == 0 {
				v = S
			}
			r.call(at, v)
			_ = r.b.Snapshot(t0.Add(at), r.pol.Circuit)
		}
		if i == 3 {
			// SuccessThreshold above HalfOpenProbes means all of them.
			r2 := newRig(t, &circuit.Breaker{}, cfg)
			for j := 0; j < 5; j++ {
				r2.call(0, F)
			}
			r2.call(5*time.Second, S)
			if s := r2.state(5 * time.Second); s != circuit.Closed {
				t.Fatalf("one successful probe of one must close: %v", s)
			}
		}
	}
	// A NaN or infinite rate is off or 1, never a crash; rate 7 is 1: a
	// window of only failures opens once the minimum throughput is met.
	r := newRig(t, &circuit.Breaker{}, policy.CircuitPolicy{FailureThreshold: 1000, FailureRateThreshold: 7, MinThroughput: 3})
	r.call(0, F)
	r.call(1, F)
	if r.call(2, F); r.state(2) != circuit.Open {
		t.Fatal("a rate above 1 must act as 1")
	}
}

func TestSnapshotCounts(t *testing.T) {
	cfg := policy.CircuitPolicy{FailureThreshold: 10, FailureRateThreshold: 0.9, SlowCallDuration: 100 * ms, SlowCallRateThreshold: 0.9, MinThroughput: 100, Window: time.Second}
	r := newRig(t, &circuit.Breaker{}, cfg)
	for _, s := range []step{{0, F, 0, ""}, {10, S, 150, ""}, {200, F, 200, ""}, {500, S, 0, ""}, {600, S, 0, ""}} {
		p := r.must(s.at*ms, circuit.ReasonClosed)
		end(p, s.v, s.at*ms+s.lat*ms, s.lat*ms)
	}
	r.call(600*ms, F)
	sn := r.b.Snapshot(t0.Add(600*ms), r.pol.Circuit)
	want := circuit.Snapshot{State: circuit.Closed, ConsecutiveFailures: 1, Calls: 6, Failures: 3, SlowCalls: 2, FailureRate: 0.5, SlowCallRate: 2.0 / 6}
	if sn != want {
		t.Fatalf("got  %+v\nwant %+v", sn, want)
	}
	// Two seconds later the window is empty.
	if sn := r.b.Snapshot(t0.Add(3*time.Second), r.pol.Circuit); sn.Calls != 0 || sn.FailureRate != 0 {
		t.Fatalf("%+v", sn)
	}
	for i := 0; i < 10; i++ {
		r.call(3*time.Second, F)
	}
	sn = r.b.Snapshot(t0.Add(4*time.Second), r.pol.Circuit)
	if sn.State != circuit.Open || sn.OpenUntil != t0.Add(8*time.Second) || sn.Calls != 0 {
		t.Fatalf("%+v", sn)
	}
}
