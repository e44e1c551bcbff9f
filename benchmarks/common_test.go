package benchmarks

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aponysus/rego/controlplane"
	"github.com/aponysus/rego/policy"
	"github.com/aponysus/rego/retry"
)

// Library names, used as the lib= part of every sub-benchmark name.
const (
	libRego         = "lib=rego"
	libRegoTimeline = "lib=rego-timeline"
	// libRegoInterceptor is rego's gRPC unary client interceptor.
	libRegoInterceptor = "lib=rego-interceptor"
	libFailsafe        = "lib=failsafe-go"
	libBackoff         = "lib=backoff-v5"
	libRetryGo         = "lib=retry-go"
	libGoRetry         = "lib=go-retry"
	libGRPC            = "lib=grpc-builtin"
	libNone            = "lib=none"
)

const (
	// attempts is the attempt count of every multi-attempt scenario.
	attempts = 3
	// attemptTimeout is the per-attempt timeout of AttemptTimeout: the
	// smallest rego accepts, so the scenario stays cheap.
	attemptTimeout = time.Millisecond
)

var (
	benchKey = policy.ParseKey("bench.Call")
	errBench = errors.New("benchmarks: injected failure")
)

// zeroRand makes every full-jitter backoff zero, so that rego on the real
// clock (needed for real timeouts) does not wait between attempts, as the
// peers configured with a zero delay do not.
type zeroRand struct{}

func (zeroRand) Float64() float64 { return 0 }

// staticPolicy returns a provider serving p for benchKey.
func staticPolicy(p policy.EffectivePolicy) *controlplane.StaticProvider {
	return &controlplane.StaticProvider{Policies: map[policy.PolicyKey]policy.EffectivePolicy{benchKey: p}}
}

// newRego returns an executor running benchKey under rp, with the other
// options from opts.
func newRego(rp policy.RetryPolicy, opts retry.ExecutorOptions) *retry.Executor {
	opts.Provider = staticPolicy(policy.EffectivePolicy{Retry: rp})
	return retry.NewExecutor(opts)
}

// expect fails b unless got equals want; what says what was counted. Every
// benchmark checks its libraries did the same work, so that no ratio
// compares a library that silently did less.
func expect(b *testing.B, what string, got, want int64) {
	b.Helper()
	if got != want {
		b.Fatalf("%s: got %d, want %d (b.N=%d)", what, got, want, b.N)
	}
}

// script is an operation that fails the first fails attempts of every
// call and then succeeds, counting attempts. Call reset before each call.
// It is not safe for concurrent use: give each goroutine its own.
type script struct {
	fails    int
	seen     int
	attempts int64
}

func (s *script) reset() { s.seen = 0 }

func (s *script) call() error {
	s.attempts++
	s.seen++
	if s.seen <= s.fails {
		return errBench
	}
	return nil
}

// waitCtx is an operation that never finishes on its own: it returns when
// its context is done.
func waitCtx(ctx context.Context) error {
	<-ctx.Done()
	return ctx.Err()
}
