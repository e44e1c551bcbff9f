package retry_test

import (
	"math"
	"math/rand"
	"testing"
	"time"

	"github.com/aponysus/rego/policy"
	"github.com/aponysus/rego/retry"
)

func rp(j policy.JitterKind) policy.RetryPolicy {
	return policy.RetryPolicy{InitialBackoff: 100 * time.Millisecond, MaxBackoff: time.Second, BackoffMultiplier: 2, Jitter: j}
}

func TestBackoffFormulas(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		name string
		p    policy.RetryPolicy
		n    int
		prev time.Duration
		u    float64
		want time.Duration
	}{
		{"none first", rp(policy.JitterNone), 1, 0, 0.7, 100 * ms},
		{"none third", rp(policy.JitterNone), 3, 0, 0.7, 400 * ms},
		{"none capped", rp(policy.JitterNone), 10, 0, 0.7, time.Second},
		{"full", rp(policy.JitterFull), 2, 0, 0.5, 100 * ms},
		{"full u=0", rp(policy.JitterFull), 2, 0, 0, 0},
		{"equal", rp(policy.JitterEqual), 2, 0, 0.5, 150 * ms},
		{"equal u=0", rp(policy.JitterEqual), 2, 0, 0, 100 * ms},
		{"decorrelated first", rp(policy.JitterDecorrelated), 1, 0, 0.5, 200 * ms},
		{"decorrelated grows from prev", rp(policy.JitterDecorrelated), 2, 300 * ms, 0.5, 500 * ms},
		{"decorrelated capped", rp(policy.JitterDecorrelated), 5, 900 * ms, 0.99, time.Second},
		{"u out of range is zero", rp(policy.JitterFull), 1, 0, 7, 0},
		{"huge n does not overflow", rp(policy.JitterNone), 1 << 30, 0, 0, time.Second},
	}
	for _, tt := range tests {
		if got := retry.Backoff(tt.p, tt.n, tt.prev, tt.u); got != tt.want {
			t.Errorf("%s: Backoff = %v, want %v", tt.name, got, tt.want)
		}
	}
}

// TestJitterDistributions checks mean and range of each jitter kind over
// many draws.
func TestJitterDistributions(t *testing.T) {
	r := rand.New(rand.NewSource(42))
	const n = 20000
	e := 400 * time.Millisecond // the un-jittered wait of retry 3
	tests := []struct {
		j        policy.JitterKind
		lo, hi   time.Duration
		wantMean time.Duration
	}{
		{policy.JitterNone, e, e, e},
		{policy.JitterFull, 0, e, e / 2},
		{policy.JitterEqual, e / 2, e, 3 * e / 4},
	}
	for _, tt := range tests {
		var sum float64
		for i := 0; i < n; i++ {
			d := retry.Backoff(rp(tt.j), 3, 0, r.Float64())
			if d < tt.lo || d > tt.hi {
				t.Fatalf("%s: %v outside [%v, %v]", tt.j, d, tt.lo, tt.hi)
			}
			sum += float64(d)
		}
		mean := sum / n
		if math.Abs(mean-float64(tt.wantMean)) > 0.02*float64(e) {
			t.Errorf("%s: mean %v, want about %v", tt.j, time.Duration(mean), tt.wantMean)
		}
	}
}
