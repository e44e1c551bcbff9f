package hedge_test

import (
	"fmt"
	"time"

	"github.com/aponysus/rego/hedge"
	"github.com/aponysus/rego/policy"
	"github.com/aponysus/rego/regotest"
)

func ExampleTracker() {
	clk := regotest.NewClock(time.Time{})
	tr := hedge.NewTracker(hedge.TrackerOptions{Window: 10 * time.Second, Clock: clk})
	for i := 1; i <= 100; i++ {
		tr.Observe(time.Duration(i) * time.Millisecond)
	}
	p95, _ := tr.Quantile(0.95)
	fmt.Println("p95 within 3.2%:", p95 >= 92*time.Millisecond && p95 <= 98*time.Millisecond)

	clk.Advance(10 * time.Second) // the window has passed
	_, ok := tr.Quantile(0.95)
	fmt.Println("answers after the window:", ok)
	// Output:
	// p95 within 3.2%: true
	// answers after the window: false
}

func ExampleLatencies() {
	lat := hedge.NewLatencies(hedge.LatenciesOptions{MaxKeys: 2})
	lat.For(policy.ParseKey("users.get"))
	lat.For(policy.ParseKey("users.list"))
	// A key with an ID in it: folded into the shared overflow tracker.
	t := lat.For(policy.ParseKey("users.get-42"))
	fmt.Println(t == lat.Overflow(), lat.Len(), lat.Overflowed(), lat.FoldedKeys())
	// Output:
	// true 2 1 [users.get-42]
}

func ExampleQuantile() {
	tr := hedge.NewTracker(hedge.TrackerOptions{Clock: regotest.NewClock(time.Time{})})
	in := hedge.TriggerInput{
		Key:        policy.ParseKey("users.get"),
		Policy:     policy.HedgePolicy{Enabled: true, Trigger: policy.TriggerP95, Delay: 50 * time.Millisecond},
		HedgeIndex: 1,
		Latency:    tr,
	}
	p95 := hedge.Quantile{Q: 0.95}
	d, reason, _ := p95.Delay(in)
	fmt.Println(d, reason)

	for i := 0; i < 100; i++ {
		tr.Observe(10 * time.Millisecond)
	}
	d, reason, _ = p95.Delay(in)
	fmt.Println(d.Round(100*time.Microsecond), reason) // the bucket edge above 10ms
	// Output:
	// 50ms warmup_fixed
	// 10.5ms p95
}

func ExampleRegistry_Register() {
	reg := hedge.NewRegistry()
	// Hedge at twice the key's median, and launch one hedge only.
	reg.Register("twice-p50", hedge.TriggerFunc(func(in hedge.TriggerInput) (time.Duration, string, bool) {
		if in.HedgeIndex > 1 {
			return 0, "", false
		}
		if d, ok := in.Latency.Quantile(0.5); ok {
			return 2 * d, "twice_p50", true
		}
		return in.Policy.Delay, "warmup_fixed", true
	}))
	trig, _ := reg.Get("twice-p50")
	d, reason, ok := trig.Delay(hedge.TriggerInput{Policy: policy.HedgePolicy{Delay: 20 * time.Millisecond}, HedgeIndex: 1})
	fmt.Println(d, reason, ok)
	// Output:
	// 20ms warmup_fixed true
}

// now hedges at once: it reads no latencies, and says so.
type now struct{}

func (now) Delay(hedge.TriggerInput) (time.Duration, string, bool) { return 0, "now", true }
func (now) ReadsLatency() bool                                     { return false }

// A trigger that reads no latencies says so: an executor keeping its own
// latencies then tracks none for its calls.
func ExampleLatencyReader() {
	reg := hedge.NewRegistry()
	reg.Register("now", now{})
	trig, _ := reg.Get("now")
	fmt.Println(hedge.ReadsLatency(trig), hedge.ReadsLatency(hedge.Quantile{Q: 0.95}))
	// Output:
	// false true
}
