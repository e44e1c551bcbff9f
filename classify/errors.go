package classify

import (
	"fmt"
	"time"
)

// PermanentError marks an error that must not be retried. Create one with
// Permanent.
type PermanentError struct{ Err error }

func (e *PermanentError) Error() string {
	if e.Err == nil {
		return "classify: permanent error"
	}
	return e.Err.Error()
}

// Unwrap returns the marked error.
func (e *PermanentError) Unwrap() error { return e.Err }

// Permanent marks err as not retryable. Permanent(nil) is nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &PermanentError{Err: err}
}

// RetryAfterError carries a delay requested by the server (an HTTP
// Retry-After, a gRPC pushback). Create one with RetryAfter.
type RetryAfterError struct {
	Err   error
	Delay time.Duration
}

func (e *RetryAfterError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("classify: retry after %v", e.Delay)
	}
	return e.Err.Error()
}

// Unwrap returns the marked error.
func (e *RetryAfterError) Unwrap() error { return e.Err }

// RetryAfter marks err as retryable after delay d, which replaces the
// policy's backoff for the next wait. RetryAfter(nil, d) is nil; a negative
// d is treated as zero (no override).
func RetryAfter(err error, d time.Duration) error {
	if err == nil {
		return nil
	}
	if d < 0 {
		d = 0
	}
	return &RetryAfterError{Err: err, Delay: d}
}
