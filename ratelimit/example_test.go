package ratelimit_test

import (
	"fmt"
	"time"

	"github.com/aponysus/rego/policy"
	"github.com/aponysus/rego/ratelimit"
)

// A Limiter takes the time as a parameter: no clock, no sleeping.
func ExampleLimiter() {
	p := policy.RateLimitPolicy{Enabled: true, Rate: 2, Burst: 2}
	start := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	var l ratelimit.Limiter
	for _, at := range []time.Duration{0, 0, 0, 500 * time.Millisecond} {
		fmt.Println(at, l.Allow(start.Add(at), p))
	}
	wait, ok := l.Reserve(start.Add(500*time.Millisecond), p, 0)
	fmt.Println("next token in", wait, ok)
	// Output:
	// 0s true
	// 0s true
	// 0s false
	// 500ms true
	// next token in 500ms false
}
