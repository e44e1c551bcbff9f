package policy_test

import (
	"testing"
	"time"

	"github.com/aponysus/rego/policy"
)

// BenchmarkNormalize measures Normalize on a policy with a few fields set,
// the case of a provider that serves policies not yet normalised (the
// executor then normalises each call's policy).
func BenchmarkNormalize(b *testing.B) {
	p := policy.EffectivePolicy{Retry: policy.RetryPolicy{MaxAttempts: 4, InitialBackoff: 20 * time.Millisecond}}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := p.Normalize(); err != nil {
			b.Fatal(err)
		}
	}
}
