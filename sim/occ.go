package sim

import (
	"fmt"
	"time"

	"github.com/aponysus/rego/policy"
	"github.com/aponysus/rego/retry"
)

// OCCConfig is the contention experiment of "Exponential Backoff And
// Jitter" (Marc Brooker, AWS Architecture Blog, 2015): Clients clients
// start together and each must update one shared row with optimistic
// concurrency. An attempt reads the row's version and writes it back; the
// write lands only if no other write landed since the read. A client that
// loses backs off (retry.Backoff under the given jitter) and tries again,
// until it succeeds.
type OCCConfig struct {
	// Seed makes the run reproducible.
	Seed int64
	// Clients is how many clients race; must be positive.
	Clients int
	// Jitter is the backoff's jitter. Empty means policy.JitterFull.
	Jitter policy.JitterKind
	// Delay is the one-way network delay of every message (read request,
	// read reply, write request, write reply). Nil means Normal{10ms, 2ms}.
	Delay Latency
	// Base is the backoff before the first retry. Zero means 5ms.
	Base time.Duration
	// Cap caps every backoff. Zero means 2s.
	Cap time.Duration
	// MaxAttempts bounds each client's attempts. Zero means unbounded, as
	// in the experiment: every client retries until its write lands.
	// (This loop is the simulation's own: the executor caps MaxAttempts at
	// policy.MaxMaxAttempts.)
	MaxAttempts int
}

// OCCResult is what an OCC run measured.
type OCCResult struct {
	// Calls is the number of write calls the clients made, all attempts
	// of all clients (the experiment's measure of work).
	Calls int64
	// Completion is when the last client learnt that its write landed:
	// the experiment's measure of time.
	Completion time.Duration
	// Succeeded is how many clients' writes landed.
	Succeeded int
}

// RunOCC runs the optimistic-concurrency experiment.
func RunOCC(cfg OCCConfig) (OCCResult, error) {
	if cfg.Clients <= 0 {
		return OCCResult{}, fmt.Errorf("%w: OCCConfig.Clients must be positive, got %d", ErrInvalidScenario, cfg.Clients)
	}
	if cfg.MaxAttempts < 0 {
		return OCCResult{}, fmt.Errorf("%w: OCCConfig.MaxAttempts must not be negative, got %d", ErrInvalidScenario, cfg.MaxAttempts)
	}
	if cfg.Delay == nil {
		cfg.Delay = Normal{Mean: 10 * time.Millisecond, SD: 2 * time.Millisecond}
	}
	if cfg.Base == 0 {
		cfg.Base = 5 * time.Millisecond
	}
	if cfg.Cap == 0 {
		cfg.Cap = 2 * time.Second
	}
	p, err := policy.EffectivePolicy{Retry: policy.RetryPolicy{
		InitialBackoff: cfg.Base, MaxBackoff: cfg.Cap, BackoffMultiplier: 2, Jitter: cfg.Jitter,
	}}.Normalize()
	if err != nil {
		return OCCResult{}, fmt.Errorf("%w: %w", ErrInvalidScenario, err)
	}
	rp := p.Retry

	s := New(cfg.Seed)
	net := s.NewRand()
	jit := s.NewRand()
	var version int64
	var res OCCResult
	var last time.Time

	for i := 0; i < cfg.Clients; i++ {
		var (
			attempts int
			prev     time.Duration
			try      func()
		)
		try = func() {
			attempts++
			res.Calls++
			// Read request travels, the server reads the version, the reply
			// travels back, and the client writes at once.
			s.After(cfg.Delay.Sample(net), func() {
				seen := version
				s.After(cfg.Delay.Sample(net)+cfg.Delay.Sample(net), func() {
					landed := version == seen
					if landed {
						version++
					}
					s.After(cfg.Delay.Sample(net), func() {
						if landed {
							res.Succeeded++
							last = s.Now()
							return
						}
						if cfg.MaxAttempts > 0 && attempts >= cfg.MaxAttempts {
							return
						}
						wait := retry.Backoff(rp, attempts, prev, jit.Float64())
						prev = wait
						s.After(wait, try)
					})
				})
			})
		}
		s.After(0, try)
	}
	s.Run()
	if !last.IsZero() {
		res.Completion = last.Sub(Epoch)
	}
	return res, nil
}
