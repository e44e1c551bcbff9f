package hedge

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aponysus/rego/policy"
	"github.com/aponysus/rego/regotest"
)

var benchSink time.Duration

// benchLatencies cycles through a spread of latencies so that Observe
// touches many buckets, as real traffic does.
var benchLatencies = func() [64]time.Duration {
	var a [64]time.Duration
	for i := range a {
		a[i] = time.Duration(i*i+1) * 37 * time.Microsecond
	}
	return a
}()

func BenchmarkTrackerObserve(b *testing.B) {
	var tr Tracker // real clock: a clock reading per call
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		tr.Observe(benchLatencies[i&63])
	}
}

func BenchmarkTrackerObserveAt(b *testing.B) {
	var tr Tracker
	now := time.Now()
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		tr.ObserveAt(now, benchLatencies[i&63])
	}
}

func BenchmarkTrackerObserveVirtualClock(b *testing.B) {
	tr := NewTracker(TrackerOptions{Clock: regotest.NewClock(time.Time{})})
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		tr.Observe(benchLatencies[i&63])
	}
}

func BenchmarkTrackerObserveParallel(b *testing.B) {
	var tr Tracker
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			tr.Observe(benchLatencies[i&63])
			i++
		}
	})
}

func BenchmarkTrackerObserveAtParallel(b *testing.B) {
	var tr Tracker
	now := time.Now()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			tr.ObserveAt(now, benchLatencies[i&63])
			i++
		}
	})
}

func benchTracker() *Tracker {
	tr := &Tracker{}
	for i := 0; i < 10000; i++ {
		tr.Observe(benchLatencies[i&63])
	}
	return tr
}

func BenchmarkTrackerQuantile(b *testing.B) {
	tr := benchTracker()
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		benchSink, _ = tr.Quantile(0.95)
	}
}

func BenchmarkLatenciesFor(b *testing.B) {
	var l Latencies
	k := policy.ParseKey("svc.get")
	l.For(k)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if l.For(k) == nil {
			b.Fatal("nil")
		}
	}
}

func BenchmarkLatenciesForParallel(b *testing.B) {
	var l Latencies
	keys := make([]policy.PolicyKey, 16)
	for i := range keys {
		keys[i] = policy.ParseKey(fmt.Sprintf("svc.m%d", i))
		l.For(keys[i])
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			l.For(keys[i&15])
			i++
		}
	})
}

func BenchmarkLatenciesForFolded(b *testing.B) {
	l := NewLatencies(LatenciesOptions{MaxKeys: 1})
	l.For(policy.ParseKey("svc.own"))
	k := policy.ParseKey("svc.folded")
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		l.For(k)
	}
}

func BenchmarkTriggerFixed(b *testing.B) {
	var trig Trigger = Fixed{}
	in := TriggerInput{Policy: policy.HedgePolicy{Delay: 50 * time.Millisecond}, HedgeIndex: 1}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		benchSink, _, _ = trig.Delay(in)
	}
}

func BenchmarkTriggerP95(b *testing.B) {
	var trig Trigger = Quantile{Q: 0.95}
	in := TriggerInput{Policy: policy.HedgePolicy{Delay: 50 * time.Millisecond}, HedgeIndex: 1, Latency: benchTracker()}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		benchSink, _, _ = trig.Delay(in)
	}
}

func BenchmarkTriggerP95Parallel(b *testing.B) {
	var trig Trigger = Quantile{Q: 0.95}
	in := TriggerInput{Policy: policy.HedgePolicy{Delay: 50 * time.Millisecond}, HedgeIndex: 1, Latency: benchTracker()}
	var n atomic.Int64
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if d, _, _ := trig.Delay(in); d > 0 {
				n.Add(0)
			}
		}
	})
}

func BenchmarkRegistryGet(b *testing.B) {
	r := NewRegistry()
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, ok := r.Get(policy.TriggerP95); !ok {
			b.Fatal("missing")
		}
	}
}
