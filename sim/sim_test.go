package sim_test

import (
	"testing"
	"time"

	"github.com/aponysus/rego/sim"
)

func TestEventOrder(t *testing.T) {
	s := sim.New(1)
	var got []string
	s.After(2*time.Millisecond, func() { got = append(got, "b") })
	s.After(time.Millisecond, func() {
		got = append(got, "a")
		s.After(0, func() { got = append(got, "a2") }) // after events already due at 1ms
	})
	s.After(time.Millisecond, func() { got = append(got, "a1") })
	ev := s.After(time.Millisecond, func() { got = append(got, "cancelled") })
	if !ev.Cancel() || ev.Cancel() {
		t.Fatal("Cancel should succeed once")
	}
	s.At(sim.Epoch.Add(-time.Hour), func() { got = append(got, "past") })
	s.Run()
	want := []string{"past", "a", "a1", "a2", "b"}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("got %v, want %v", got, want)
		}
	}
	if s.Elapsed() != 2*time.Millisecond || s.Events() != 5 {
		t.Fatalf("elapsed %v, events %d", s.Elapsed(), s.Events())
	}
}

func TestRunUntilAndClock(t *testing.T) {
	s := sim.New(1)
	clk := s.Clock()
	fired := 0
	clk.AfterFunc(time.Second, func() { fired++ })
	tm := clk.NewTimer(3 * time.Second)
	stopped := clk.NewTimer(2 * time.Second)
	s.RunUntil(sim.Epoch.Add(1500 * time.Millisecond))
	if fired != 1 || clk.Now() != sim.Epoch.Add(1500*time.Millisecond) {
		t.Fatalf("fired %d at %v", fired, clk.Now())
	}
	if !stopped.Stop() || stopped.Stop() {
		t.Fatal("Stop should succeed once")
	}
	s.RunFor(2 * time.Second)
	select {
	case at := <-tm.C():
		if at != sim.Epoch.Add(3*time.Second) {
			t.Fatalf("timer fired at %v", at)
		}
	default:
		t.Fatal("timer did not fire")
	}
	if s.Elapsed() != 3500*time.Millisecond || s.Step() {
		t.Fatalf("elapsed %v, or events left", s.Elapsed())
	}
}

func TestLatencyModels(t *testing.T) {
	s := sim.New(3)
	r := s.NewRand()
	for _, m := range []sim.Latency{
		sim.Constant(5 * time.Millisecond), sim.Normal{Mean: 10 * time.Millisecond, SD: 2 * time.Millisecond},
		sim.Exponential{Mean: 10 * time.Millisecond}, sim.LogNormal{Median: 10 * time.Millisecond, Sigma: 1},
	} {
		var sum time.Duration
		const n = 20000
		for i := 0; i < n; i++ {
			d := m.Sample(r)
			if d < 0 {
				t.Fatalf("%T: negative latency", m)
			}
			sum += d
		}
		mean := sum / n
		if mean < 4*time.Millisecond || mean > 18*time.Millisecond {
			t.Fatalf("%T: mean %v", m, mean)
		}
	}
	if sim.Constant(-1).Sample(r) != 0 {
		t.Fatal("negative constant not clamped")
	}
}

func TestOutageWindow(t *testing.T) {
	o := sim.Outage{From: time.Second, To: 2 * time.Second}
	r := sim.New(1).NewRand()
	if o.Reply(0, r) != sim.ReplyOK || o.Reply(time.Second, r) != sim.ReplyRetryable || o.Reply(2*time.Second, r) != sim.ReplyOK {
		t.Fatal("outage window")
	}
	if (sim.Outage{Else: sim.FailureRate(1)}).Reply(0, r) != sim.ReplyRetryable {
		t.Fatal("outage fallback")
	}
	if sim.ReplyNonRetryable.String() != "non_retryable" || sim.Reply(9).String() != "unknown" {
		t.Fatal("Reply.String")
	}
}
