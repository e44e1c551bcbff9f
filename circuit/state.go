package circuit

import (
	"errors"
	"fmt"
	"time"

	"github.com/aponysus/rego/gate"
	"github.com/aponysus/rego/policy"
)

// State is a breaker's state.
type State int

// The states.
const (
	Closed State = iota
	Open
	HalfOpen
)

// String returns the state's name as recorded in events and metrics:
// "closed", "open" or "half_open".
func (s State) String() string {
	switch s {
	case Open:
		return "open"
	case HalfOpen:
		return "half_open"
	}
	return "closed"
}

// Reasons recorded in AttemptRecord.CircuitReason and in Permit.Reason.
const (
	// ReasonClosed: a closed breaker admitted the attempt.
	ReasonClosed = "closed"
	// ReasonProbe: a half-open breaker admitted the attempt as a probe.
	ReasonProbe = "half_open_probe"
	// ReasonOpen: an open breaker refused the attempt.
	ReasonOpen = "open"
	// ReasonProbeBusy: a half-open breaker refused the attempt because
	// all its probe slots were taken.
	ReasonProbeBusy = "half_open_busy"
	// ReasonForcedOpen: a breaker forced open (ForceOpen) refused the
	// attempt.
	ReasonForcedOpen = "forced_open"
	// ReasonForcedClosed: a breaker forced closed (ForceClose) admitted the
	// attempt without counting its result.
	ReasonForcedClosed = "forced_closed"
	// ReasonDisabled: the attempt's policy does not enable the breaker.
	ReasonDisabled = "disabled"
	// ReasonUntracked: the registry was full, so the key has no breaker
	// and its attempts pass (see Registry.Overflowed).
	ReasonUntracked = "untracked"
)

// Why a breaker changed state, in StateChange.Reason.
const (
	CauseConsecutiveFailures = "consecutive_failures"
	CauseFailureRate         = "failure_rate"
	CauseSlowCallRate        = "slow_call_rate"
	CauseCooldown            = "cooldown"
	CauseProbeFailed         = "probe_failed"
	CauseProbesSucceeded     = "probes_succeeded"
	CauseForceOpen           = "force_open"
	CauseForceClose          = "force_close"
	CauseReset               = "reset"
)

// ErrOpen is matched (errors.Is) by every OpenError.
var ErrOpen = errors.New("circuit: breaker open")

// ErrFull is returned by Registry.ForceOpen and Registry.ForceClose for a
// key that has no breaker because the registry is full.
var ErrFull = errors.New("circuit: registry full")

// OpenError is a breaker's refusal of an attempt. It matches ErrOpen and
// gate.ErrRefused with errors.Is; errors.As finds it as a *OpenError (not
// as a *gate.RefusedError).
type OpenError struct {
	Key policy.PolicyKey
	// Reason is ReasonOpen, ReasonProbeBusy or ReasonForcedOpen.
	Reason string
	// RetryAfter is how long until the breaker lets a probe through: zero
	// when a probe is already running or the breaker is forced open.
	RetryAfter time.Duration
}

func (e *OpenError) Error() string {
	return fmt.Sprintf("circuit: breaker for %q is %s (probe in %v)", e.Key.String(), e.Reason, e.RetryAfter.Round(time.Millisecond))
}

// Unwrap returns ErrOpen.
func (e *OpenError) Unwrap() error { return ErrOpen }

// Is reports whether target is gate.ErrRefused, so that code handling
// refusals of any gate handles the breaker's too.
func (e *OpenError) Is(target error) bool { return target == gate.ErrRefused }
