package retry

import (
	"errors"
	"fmt"

	"github.com/aponysus/rego/policy"
)

// ErrNoPolicy is matched (errors.Is) by every NoPolicyError.
var ErrNoPolicy = errors.New("retry: no policy")

// NoPolicyError is returned under FailureDeny when the provider could not
// supply a policy. It unwraps to the provider's error.
type NoPolicyError struct {
	Key policy.PolicyKey
	Err error
}

func (e *NoPolicyError) Error() string {
	return fmt.Sprintf("retry: no policy for %q: %v", e.Key.String(), e.Err)
}

// Unwrap returns the provider's error.
func (e *NoPolicyError) Unwrap() error { return e.Err }

// Is reports whether target is ErrNoPolicy.
func (e *NoPolicyError) Is(target error) bool { return target == ErrNoPolicy }

// Where a panic came from: PanicError.Source.
const (
	SourceOperation  = "operation"  // the operation passed to Do
	SourceClassifier = "classifier" // a classify.Classifier
	SourceBudget     = "budget"     // a budget's AllowAttempt, Release or RecordOutcome
	SourceObserver   = "observer"   // an observe.Observer callback
	SourceTrigger    = "trigger"    // a hedge.Trigger
	SourceDiscard    = "discard"    // CallOptions.Discard
	SourceGate       = "gate"       // a user gate's Admit, or its permit's completion
	SourceProvider   = "provider"   // the policy provider
	SourceExecutor   = "executor"   // the executor's own code between hooks, its Clock included
)

// PanicError carries a panic raised during a call by code a user supplied:
// the operation, a classifier, a budget, an observer, a hedge trigger, a
// Discard hook, a gate or the policy provider (Source says which). The
// executor re-panics with it in the caller's goroutine, or returns it when
// ExecutorOptions.RecoverPanics is set.
type PanicError struct {
	// Value is the value passed to panic.
	Value any
	// Stack is the stack of the goroutine that panicked, taken where it
	// panicked.
	Stack []byte
	// Attempt is the index of the attempt whose operation panicked, or
	// that the panicking hook was called about (the attempt being
	// classified, gated, recorded or discarded); -1 when the hook was not
	// called about one attempt (the provider, OnStart, OnSuccess,
	// OnFailure).
	Attempt int
	// Source is where the panic came from: SourceOperation,
	// SourceClassifier, SourceBudget, SourceObserver, SourceTrigger,
	// SourceDiscard, SourceGate, SourceProvider, or SourceExecutor for a
	// panic raised outside every hook (the executor itself, or the Clock
	// it was given).
	Source string
}

func (e *PanicError) Error() string {
	return fmt.Sprintf("retry: panic in %s (attempt %d): %v\n%s", e.Source, e.Attempt, e.Value, e.Stack)
}

// Unwrap returns Value when it is an error.
func (e *PanicError) Unwrap() error {
	if err, ok := e.Value.(error); ok {
		return err
	}
	return nil
}

// ErrAttemptsExhausted is matched (errors.Is) by a StopError whose call
// ran every attempt its policy allows.
var ErrAttemptsExhausted = errors.New("retry: attempts exhausted")

// ErrDeadline is matched (errors.Is) by a StopError whose call stopped
// because the wait before the next attempt would end past the call's
// deadline (the caller's, or the policy's overall timeout).
var ErrDeadline = errors.New("retry: no time left for another attempt")

// StopError is the error of a call that stopped after a failed attempt
// although the failure was worth retrying: the attempts ran out
// (StopAttemptsExhausted), a budget denied the retry (StopBudgetDenied),
// the deadline left no room for the next wait (StopDeadline), the circuit
// breaker refused the retry (StopCircuitOpen), or another gate did
// (StopGateRefused).
//
// It unwraps to the last attempt's error, so errors.Is(err, lastErr) and
// errors.As still find what the operation returned, and to Cause, so that
// errors.Is(err, budget.ErrDenied), errors.Is(err, circuit.ErrOpen),
// errors.Is(err, gate.ErrRefused), errors.Is(err, ErrAttemptsExhausted)
// and errors.Is(err, ErrDeadline) say why the call stopped.
//
// A call that nothing ran in (a budget or breaker refused its first
// attempt) returns the refusal itself, not a StopError; a call stopped by
// a non-retryable outcome or an abort returns the attempt's error as it
// is.
type StopError struct {
	// Reason is the stop reason, as recorded in the timeline attribute
	// stop_reason.
	Reason string
	// Attempts is how many attempts ran.
	Attempts int
	// Err is the last attempt's error.
	Err error
	// Cause is why the call stopped: ErrAttemptsExhausted, ErrDeadline, or
	// the refusal of the gate that refused the next attempt (a
	// *budget.DeniedError, a *circuit.OpenError, a *gate.RefusedError).
	Cause error
}

// Error returns the last attempt's error message unchanged: a StopError
// adds to what errors.Is and errors.As find, not to what a caller prints
// (the timeline's stop_reason and Reason say why the call stopped).
func (e *StopError) Error() string { return e.Err.Error() }

// Unwrap returns the last attempt's error and the cause.
func (e *StopError) Unwrap() []error { return []error{e.Err, e.Cause} }

// ctxStop is returned when the caller's context (or the overall timeout)
// ended the call after an attempt had failed: both errors stay visible to
// errors.Is and errors.As.
type ctxStop struct {
	ctxErr, last error
}

func (e *ctxStop) Error() string {
	return fmt.Sprintf("retry: %v; last attempt: %v", e.ctxErr, e.last)
}

func (e *ctxStop) Unwrap() []error { return []error{e.ctxErr, e.last} }

func ctxStopError(ctxErr, last error) error {
	switch {
	case last == nil:
		return ctxErr
	case errors.Is(last, ctxErr):
		return last
	}
	return &ctxStop{ctxErr: ctxErr, last: last}
}
