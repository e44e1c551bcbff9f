package regoredis

import (
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/aponysus/rego/clock"
)

// Defaults of Options.
const (
	// DefaultTimeout bounds one decision's round trip to Redis. A loopback
	// or same-zone round trip takes well under a millisecond; a few
	// milliseconds leave room for a busy server without letting Redis add
	// more than that to any call.
	DefaultTimeout = 5 * time.Millisecond
	// DefaultFailureThreshold is how many round trips in a row must fail
	// before the circuit opens.
	DefaultFailureThreshold = 3
	// DefaultCooldown is how long an open circuit keeps decisions local
	// before one decision probes Redis again.
	DefaultCooldown = time.Second
	// DefaultPrefix starts every key the gates write.
	DefaultPrefix = "rego:"
	// MaxTimeout caps Options.Timeout: a bound of seconds would defeat the
	// point of deciding locally.
	MaxTimeout = time.Second
)

// ErrInvalidOptions is wrapped by every error a constructor returns for a
// bad option; the message names the field.
var ErrInvalidOptions = errors.New("regoredis: invalid options")

// Options are what the fleet budget and the fleet limiter share: how to
// reach Redis, how long to wait for it, and what to do without it. The
// zero value is not usable: Client and Name are required.
type Options struct {
	// Client runs the scripts: a *redis.Client, *redis.ClusterClient,
	// *redis.Ring or any redis.Scripter. Required. The client must honour
	// context deadlines on the socket, or a hung server could hold a call
	// for the client's read timeout: for go-redis clients, set
	// ContextTimeoutEnabled (the constructors check it).
	Client redis.Scripter
	// Name names the budget or the limiter in Redis: every process that
	// uses the same Name (and Prefix) on the same Redis shares its state.
	// Required.
	Name string
	// Prefix starts the Redis key. Empty means DefaultPrefix ("rego:").
	Prefix string
	// Timeout bounds each decision's round trip; past it, the decision is
	// made locally (see Fallback). Zero means DefaultTimeout (5ms); at most
	// MaxTimeout. The caller's context deadline, when sooner, also bounds
	// it.
	Timeout time.Duration
	// Fallback says how decisions are made when Redis does not answer in
	// time, fails, or the circuit is open. Zero means FallbackDefault: the
	// budget decides locally, the limiter fails open.
	Fallback Fallback
	// FailureThreshold is how many round trips in a row must fail (time
	// out or err) before the circuit opens and decisions stop asking
	// Redis. Zero means DefaultFailureThreshold (3); negative is invalid.
	FailureThreshold int
	// Cooldown is how long the open circuit keeps every decision local;
	// then one decision probes Redis, and the circuit closes when it
	// succeeds. Zero means DefaultCooldown (1s).
	Cooldown time.Duration
	// Clock tells the time of the circuit and of the local fallback, and,
	// with ClientTime, of the shared state. Nil means clock.Real.
	Clock clock.Clock
	// ClientTime sends this process's clock reading (Clock) with every
	// decision instead of letting the script read the Redis server's clock
	// (TIME). False, the default, keeps every process on one clock, so
	// clock skew between processes cannot blur the window; tests and
	// simulations set it to run on virtual time.
	ClientTime bool
}

// settings are Options with the defaults applied.
type settings struct {
	Options
	key string
}

func (o Options) settings(kind string) (settings, error) {
	s := settings{Options: o}
	if o.Client == nil {
		return s, fmt.Errorf("%w: Options.Client is required", ErrInvalidOptions)
	}
	if err := checkContextTimeout(o.Client); err != nil {
		return s, err
	}
	if o.Name == "" {
		return s, fmt.Errorf("%w: Options.Name is required", ErrInvalidOptions)
	}
	if s.Prefix == "" {
		s.Prefix = DefaultPrefix
	}
	switch {
	case o.Timeout == 0:
		s.Timeout = DefaultTimeout
	case o.Timeout < 0 || o.Timeout > MaxTimeout:
		return s, fmt.Errorf("%w: Options.Timeout must be in (0, %v], got %v", ErrInvalidOptions, MaxTimeout, o.Timeout)
	}
	if o.Fallback < FallbackDefault || o.Fallback > FallbackClosed {
		return s, fmt.Errorf("%w: Options.Fallback must be one of the Fallback constants, got %d", ErrInvalidOptions, int(o.Fallback))
	}
	switch {
	case o.FailureThreshold == 0:
		s.FailureThreshold = DefaultFailureThreshold
	case o.FailureThreshold < 0:
		return s, fmt.Errorf("%w: Options.FailureThreshold must not be negative, got %d", ErrInvalidOptions, o.FailureThreshold)
	}
	switch {
	case o.Cooldown == 0:
		s.Cooldown = DefaultCooldown
	case o.Cooldown < 0:
		return s, fmt.Errorf("%w: Options.Cooldown must not be negative, got %v", ErrInvalidOptions, o.Cooldown)
	}
	if s.Clock == nil {
		s.Clock = clock.Real{}
	}
	s.key = s.Prefix + kind + ":" + o.Name
	return s, nil
}

// checkContextTimeout refuses the go-redis clients that would let a hung
// server hold a decision past its timeout.
func checkContextTimeout(c redis.Scripter) error {
	on := true
	switch c := c.(type) {
	case *redis.Client:
		on = c.Options().ContextTimeoutEnabled
	case *redis.ClusterClient:
		on = c.Options().ContextTimeoutEnabled
	case *redis.Ring:
		on = c.Options().ContextTimeoutEnabled
	}
	if !on {
		return fmt.Errorf("%w: Options.Client must have ContextTimeoutEnabled set, or a hung Redis could hold a decision for the client's read timeout", ErrInvalidOptions)
	}
	return nil
}
