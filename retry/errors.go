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

// PanicError carries a panic raised by user code (an operation, classifier,
// budget or observer) during a call. The executor re-panics with it in the
// caller's goroutine, or returns it when ExecutorOptions.RecoverPanics is
// set.
type PanicError struct {
	// Value is the value passed to panic.
	Value any
	// Stack is the stack of the goroutine that panicked.
	Stack []byte
	// Attempt is the index of the attempt whose operation panicked.
	Attempt int
}

func (e *PanicError) Error() string {
	return fmt.Sprintf("retry: panic in attempt %d: %v\n%s", e.Attempt, e.Value, e.Stack)
}

// Unwrap returns Value when it is an error.
func (e *PanicError) Unwrap() error {
	if err, ok := e.Value.(error); ok {
		return err
	}
	return nil
}

// stopError is returned when the caller's context (or the overall timeout)
// ended the call after an attempt had failed: both errors stay visible to
// errors.Is and errors.As.
type stopError struct {
	ctxErr, last error
}

func (e *stopError) Error() string {
	return fmt.Sprintf("retry: %v; last attempt: %v", e.ctxErr, e.last)
}

func (e *stopError) Unwrap() []error { return []error{e.ctxErr, e.last} }

func ctxStopError(ctxErr, last error) error {
	switch {
	case last == nil:
		return ctxErr
	case errors.Is(last, ctxErr):
		return last
	}
	return &stopError{ctxErr: ctxErr, last: last}
}
