package hedge

import (
	"math"
	"math/rand"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/aponysus/rego/regotest"
)

// exactQuantile is the nearest-rank q-quantile of sorted s, the definition
// Tracker uses.
func exactQuantile(sorted []time.Duration, q float64) time.Duration {
	r := int(math.Ceil(q * float64(len(sorted))))
	if r < 1 {
		r = 1
	}
	if r > len(sorted) {
		r = len(sorted)
	}
	return sorted[r-1]
}

func TestTrackerQuantileAccuracy(t *testing.T) {
	ms := float64(time.Millisecond)
	tests := []struct {
		name string
		n    int
		draw func(r *rand.Rand) time.Duration
	}{
		{"uniform 1-100ms", 5000, func(r *rand.Rand) time.Duration {
			return time.Duration((1 + 99*r.Float64()) * ms)
		}},
		{"lognormal median 10ms", 20000, func(r *rand.Rand) time.Duration {
			return time.Duration(10 * ms * math.Exp(0.5*r.NormFloat64()))
		}},
		{"exponential mean 5ms", 20000, func(r *rand.Rand) time.Duration {
			return time.Duration(5 * ms * r.ExpFloat64())
		}},
		{"heavy tail 1% at 1-3s", 50000, func(r *rand.Rand) time.Duration {
			if r.Float64() < 0.01 {
				return time.Duration((1000 + 2000*r.Float64()) * ms)
			}
			return time.Duration(10 * ms * math.Exp(0.3*r.NormFloat64()))
		}},
		{"microseconds", 5000, func(r *rand.Rand) time.Duration {
			return time.Duration(r.Intn(200_000))
		}},
		{"few samples", MinSamples, func(r *rand.Rand) time.Duration {
			return time.Duration(r.Intn(1000)) * time.Millisecond
		}},
	}
	qs := []float64{0, 0.01, 0.5, 0.9, 0.95, 0.99, 0.999, 1}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := rand.New(rand.NewSource(1))
			clk := regotest.NewClock(time.Time{})
			tr := NewTracker(TrackerOptions{Clock: clk})
			s := make([]time.Duration, tt.n)
			for i := range s {
				s[i] = tt.draw(r)
				tr.Observe(s[i])
			}
			sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
			if got := tr.Count(); got != tt.n {
				t.Fatalf("Count = %d, want %d", got, tt.n)
			}
			for _, q := range qs {
				exact := exactQuantile(s, q)
				// Below 32 units buckets are one unit wide: allow half a unit.
				slack := time.Duration(float64(exact)*RelativeError) + 1<<unitShift/2
				got, ok := tr.Quantile(q)
				if !ok {
					t.Fatalf("Quantile(%v) not ok", q)
				}
				if d := got - exact; d > slack || d < -slack {
					t.Errorf("Quantile(%v) = %v, exact %v: error %v > %v", q, got, exact, d, slack)
				}
				b, _ := tr.Bound(q)
				if b < exact || b-exact > 2*slack {
					t.Errorf("Bound(%v) = %v, exact %v: want in [exact, exact+%v]", q, b, exact, 2*slack)
				}
			}
		})
	}
}

func TestTrackerMinSamples(t *testing.T) {
	tr := NewTracker(TrackerOptions{Clock: regotest.NewClock(time.Time{})})
	for i := 0; i < MinSamples-1; i++ {
		tr.Observe(time.Millisecond)
	}
	if _, ok := tr.Quantile(0.5); ok {
		t.Fatalf("Quantile answered with %d samples", MinSamples-1)
	}
	tr.Observe(time.Millisecond)
	if _, ok := tr.Quantile(0.5); !ok {
		t.Fatalf("Quantile did not answer with %d samples", MinSamples)
	}
}

func TestTrackerOddInputs(t *testing.T) {
	tr := NewTracker(TrackerOptions{Clock: regotest.NewClock(time.Time{})})
	for i := 0; i < 50; i++ {
		tr.Observe(-time.Second) // counts as zero
	}
	for i := 0; i < 50; i++ {
		tr.Observe(time.Hour) // beyond the histogram: last bucket
	}
	if d, _ := tr.Quantile(0); d > time.Microsecond {
		t.Errorf("min = %v, want about 0", d)
	}
	if d, _ := tr.Quantile(1); d < time.Minute {
		t.Errorf("max = %v, want the last bucket (over a minute)", d)
	}
	if _, ok := tr.Quantile(math.NaN()); ok {
		t.Error("Quantile(NaN) answered")
	}
	if d, _ := tr.Quantile(-3); d > time.Microsecond {
		t.Errorf("Quantile(-3) = %v, want the minimum", d)
	}
	var nilT *Tracker
	if _, ok := nilT.Quantile(0.5); ok {
		t.Error("nil tracker answered")
	}
}

func TestTrackerZeroValueUsesRealClock(t *testing.T) {
	var tr Tracker
	if tr.Window() != DefaultWindow {
		t.Fatalf("Window = %v, want %v", tr.Window(), DefaultWindow)
	}
	for i := 1; i <= 100; i++ {
		tr.Observe(time.Duration(i) * time.Millisecond)
	}
	d, ok := tr.Quantile(0.5)
	// The test could straddle a half-window boundary; both halves count.
	if !ok || d < 48*time.Millisecond || d > 52*time.Millisecond {
		t.Fatalf("Quantile(0.5) = %v, %v; want about 50ms", d, ok)
	}
}

func TestTrackerOptions(t *testing.T) {
	tests := []struct {
		in, want time.Duration
	}{
		{0, DefaultWindow},
		{-time.Second, DefaultWindow},
		{time.Nanosecond, MinWindow},
		{time.Minute, time.Minute},
	}
	for _, tt := range tests {
		if got := NewTracker(TrackerOptions{Window: tt.in}).Window(); got != tt.want {
			t.Errorf("Window %v: got %v, want %v", tt.in, got, tt.want)
		}
	}
}

// TestTrackerWindowRotation walks a tracker through its halves on virtual
// time: latencies count for Window/2 to Window, then drop out.
func TestTrackerWindowRotation(t *testing.T) {
	clk := regotest.NewClock(time.Time{})
	tr := NewTracker(TrackerOptions{Window: 10 * time.Second, Clock: clk})
	// Align to the start of a half so the steps below are exact.
	now := int64(clk.Now().Sub(procStart)) + sinceBase
	clk.Advance(time.Duration(5e9 - floorMod(now, 5e9)))

	observe := func(n int, d time.Duration) {
		for i := 0; i < n; i++ {
			tr.Observe(d)
		}
	}
	steps := []struct {
		advance   time.Duration
		observe   int
		latency   time.Duration
		wantCount int
		wantP50   time.Duration // 0: Quantile must not answer
	}{
		{0, 100, 10 * time.Millisecond, 100, 10 * time.Millisecond},
		{4 * time.Second, 0, 0, 100, 10 * time.Millisecond},                     // same half
		{time.Second, 300, 100 * time.Millisecond, 400, 100 * time.Millisecond}, // next half; both count
		{5 * time.Second, 0, 0, 300, 100 * time.Millisecond},                    // the 10ms half has expired
		{5 * time.Second, 0, 0, 0, 0},                                           // everything expired
		{time.Hour, 30, time.Second, 30, time.Second},                           // long idle, then traffic
	}
	for i, st := range steps {
		clk.Advance(st.advance)
		observe(st.observe, st.latency)
		if got := tr.Count(); got != st.wantCount {
			t.Fatalf("step %d: Count = %d, want %d", i, got, st.wantCount)
		}
		got, ok := tr.Quantile(0.5)
		if st.wantP50 == 0 {
			if ok {
				t.Fatalf("step %d: Quantile answered %v on an empty window", i, got)
			}
			continue
		}
		if !ok || math.Abs(float64(got-st.wantP50)) > RelativeError*float64(st.wantP50) {
			t.Fatalf("step %d: p50 = %v, %v; want about %v", i, got, ok, st.wantP50)
		}
	}
}

func floorMod(a, b int64) int64 { return a - floorDiv(a, b)*b }

func TestTrackerObserveAtDropsStaleLatencies(t *testing.T) {
	clk := regotest.NewClock(time.Time{})
	tr := NewTracker(TrackerOptions{Window: 10 * time.Second, Clock: clk})
	start := clk.Now()
	clk.Advance(time.Minute)
	tr.Observe(time.Millisecond)
	tr.ObserveAt(clk.Now(), time.Millisecond)
	// Ended a minute ago, in a half the tracker has since recycled.
	tr.ObserveAt(start, time.Millisecond)
	if got := tr.Count(); got != 2 {
		t.Fatalf("Count = %d, want 2 (the stale latency dropped)", got)
	}
}

func TestFloorDiv(t *testing.T) {
	tests := []struct{ a, b, want int64 }{
		{7, 5, 1}, {5, 5, 1}, {0, 5, 0}, {-1, 5, -1}, {-5, 5, -1}, {-6, 5, -2},
	}
	for _, tt := range tests {
		if got := floorDiv(tt.a, tt.b); got != tt.want {
			t.Errorf("floorDiv(%d, %d) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}

// TestTrackerConcurrent hammers one tracker from many goroutines while
// others read it; run with -race. On a still virtual clock no observation
// may be lost.
func TestTrackerConcurrent(t *testing.T) {
	clk := regotest.NewClock(time.Time{})
	tr := NewTracker(TrackerOptions{Clock: clk})
	const writers, perWriter = 32, 2000
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
					tr.Quantile(0.95)
				}
			}
		}()
	}
	var ww sync.WaitGroup
	for i := 0; i < writers; i++ {
		ww.Add(1)
		go func(i int) {
			defer ww.Done()
			for j := 0; j < perWriter; j++ {
				tr.Observe(time.Duration(i*perWriter+j) * time.Microsecond)
			}
		}(i)
	}
	ww.Wait()
	close(stop)
	wg.Wait()
	if got := tr.Count(); got != writers*perWriter {
		t.Fatalf("Count = %d, want %d", got, writers*perWriter)
	}
}

// TestTrackerConcurrentRotation observes while the virtual clock moves
// through many half-windows; run with -race.
func TestTrackerConcurrentRotation(t *testing.T) {
	clk := regotest.NewClock(time.Time{})
	tr := NewTracker(TrackerOptions{Window: time.Second, Clock: clk})
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
					tr.Observe(time.Millisecond)
					tr.Quantile(0.5)
				}
			}
		}()
	}
	for i := 0; i < 200; i++ {
		clk.Advance(100 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	clk.Advance(time.Second)
	if got := tr.Count(); got != 0 {
		t.Fatalf("Count = %d after the window passed, want 0", got)
	}
}

func TestTrackerDoesNotAllocate(t *testing.T) {
	tr := NewTracker(TrackerOptions{Clock: regotest.NewClock(time.Time{})})
	now := time.Now()
	var trig Trigger = Quantile{Q: 0.95}
	in := TriggerInput{Policy: policyWithDelay(), HedgeIndex: 1, Latency: tr}
	for i := 0; i < 100; i++ {
		tr.Observe(time.Millisecond)
	}
	tests := []struct {
		name string
		f    func()
	}{
		{"Observe", func() { tr.Observe(3 * time.Millisecond) }},
		{"ObserveAt", func() { tr.ObserveAt(now, 3*time.Millisecond) }},
		{"Quantile", func() { tr.Quantile(0.99) }},
		{"Bound", func() { tr.Bound(0.5) }},
		{"p95 trigger", func() { trig.Delay(in) }},
	}
	for _, tt := range tests {
		if n := testing.AllocsPerRun(100, tt.f); n != 0 {
			t.Errorf("%s: %v allocations, want 0", tt.name, n)
		}
	}
}
