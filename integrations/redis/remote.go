package regoredis

import (
	"context"
	_ "embed"
	"errors"
	"net"
	"sync/atomic"

	"github.com/redis/go-redis/v9"
)

// remote runs one gate's script against Redis, bounded by the timeout and
// guarded by the circuit, and counts how decisions were made.
type remote struct {
	settings
	script *redis.Script
	keys   []string
	brk    circuit
	n      counters
}

type counters struct {
	redis, fallback, timeouts, errors, skipped atomic.Int64
}

func newRemote(s settings, script *redis.Script) *remote {
	return &remote{
		settings: s,
		script:   script,
		keys:     []string{s.key},
		brk:      circuit{threshold: int32(s.FailureThreshold), cooldown: int64(s.Cooldown)},
	}
}

// nowArg is the script's first argument: the client's clock in
// microseconds with ClientTime, else empty for the server's clock.
func (r *remote) nowArg() any {
	if r.ClientTime {
		return r.Clock.Now().UnixMicro()
	}
	return ""
}

// begin reports whether a decision may ask Redis (the circuit is closed,
// or this decision is the open circuit's probe); when it may not, the
// decision has been counted as a fallback. Callers check it before
// building the script's arguments, so that an outage costs them nothing.
func (r *remote) begin() (ask, probe bool) {
	ask, probe = r.brk.allow(r.Clock.Now)
	if !ask {
		r.n.skipped.Add(1)
		r.n.fallback.Add(1)
	}
	return ask, probe
}

// eval runs the script with args (the first being nowArg) after begin
// allowed it, and returns its integer answer. ok is false when Redis did
// not decide (the round trip timed out or failed, or ctx ended): the
// caller decides locally and has been counted as a fallback.
func (r *remote) eval(ctx context.Context, probe bool, args ...any) (v int64, ok bool) {
	tctx, cancel := context.WithTimeout(ctx, r.Timeout)
	v, err := r.script.Run(tctx, r.Client, r.keys, args...).Int64()
	// A round trip that used up its time is a timeout, whatever error the
	// client made of it (a refused dial retried until the deadline, a read
	// cut short).
	timedOut := tctx.Err() != nil
	cancel()
	if err == nil {
		r.brk.success(probe)
		r.n.redis.Add(1)
		return v, true
	}
	r.n.fallback.Add(1)
	if ctx.Err() != nil {
		// The caller gave up: that says nothing about Redis.
		if probe {
			r.brk.probing.Store(false)
		}
		return 0, false
	}
	if timedOut || isTimeout(err) {
		r.n.timeouts.Add(1)
	} else {
		r.n.errors.Add(1)
	}
	r.brk.failure(probe, r.Clock.Now())
	return 0, false
}

// boxedCosts are the costs most attempts have, converted to interface
// values once instead of on every decision.
var boxedCosts = func() (b [8]any) {
	for i := range b {
		b[i] = i
	}
	return b
}()

func boxCost(n int) any {
	if n >= 0 && n < len(boxedCosts) {
		return boxedCosts[n]
	}
	return n
}

func isTimeout(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// Stats counts a gate's decisions since it was made.
type Stats struct {
	// Redis is how many decisions Redis made.
	Redis int64
	// Fallbacks is how many decisions were made without Redis, for any of
	// the reasons below (and the caller's context ending first).
	Fallbacks int64
	// Timeouts is how many round trips ran out of Options.Timeout (a slow
	// or hung server, or a dead one that the client kept redialling until
	// the deadline).
	Timeouts int64
	// Errors is how many round trips failed within it (a refused
	// connection, a script error, a read-only replica).
	Errors int64
	// Skipped is how many decisions did not ask Redis because the circuit
	// was open.
	Skipped int64
	// CircuitOpened is how many times the circuit opened.
	CircuitOpened int64
	// CircuitOpen reports whether the circuit is open now.
	CircuitOpen bool
}

func (r *remote) stats() Stats {
	return Stats{
		Redis:         r.n.redis.Load(),
		Fallbacks:     r.n.fallback.Load(),
		Timeouts:      r.n.timeouts.Load(),
		Errors:        r.n.errors.Load(),
		Skipped:       r.n.skipped.Load(),
		CircuitOpened: r.brk.opened.Load(),
		CircuitOpen:   !r.brk.closed(),
	}
}

// nowLua starts every script: it reads the decision's time into now.
//
//go:embed now.lua
var nowLua string
