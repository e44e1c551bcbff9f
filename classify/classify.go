package classify

import (
	"context"
	"errors"
	"fmt"

	"github.com/aponysus/rego/internal/cow"
	"time"
)

// OutcomeKind is the verdict on one attempt.
type OutcomeKind int

// The outcome kinds.
const (
	// OutcomeUnknown is the zero value; the executor treats it as
	// retryable when the attempt returned an error and as success otherwise.
	OutcomeUnknown OutcomeKind = iota
	// OutcomeSuccess ends the call with the attempt's value.
	OutcomeSuccess
	// OutcomeRetryable lets the executor try again.
	OutcomeRetryable
	// OutcomeNonRetryable ends the call with the attempt's error.
	OutcomeNonRetryable
	// OutcomeAbort ends the call at once, cancelling any attempt in flight.
	OutcomeAbort
)

var kindNames = [...]string{"unknown", "success", "retryable", "non_retryable", "abort"}

// String returns the snake_case name of the kind.
func (k OutcomeKind) String() string {
	if k >= 0 && int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("OutcomeKind(%d)", int(k))
}

// Outcome is a classifier's verdict on one attempt.
type Outcome struct {
	Kind OutcomeKind
	// Reason is a short, low-cardinality explanation ("status_503").
	Reason string
	// Attributes carry protocol details into the attempt record.
	Attributes map[string]string
	// BackoffOverride, when positive, replaces the computed wait before
	// the next attempt (a server's Retry-After, say). It is still bounded
	// by the call's overall timeout.
	BackoffOverride time.Duration
}

// Classifier judges the result of an attempt. value is what the operation
// returned (nil for operations without a value); err its error.
// Implementations must be safe for concurrent use and must use errors.As or
// errors.Is to look inside errors, never a bare type assertion.
type Classifier interface {
	Classify(value any, err error) Outcome
}

// Func adapts a function to the Classifier interface.
type Func func(value any, err error) Outcome

// Classify calls f(value, err).
func (f Func) Classify(value any, err error) Outcome { return f(value, err) }

// Default is the executor's default classifier: nil errors succeed; errors
// marked with Permanent are non-retryable; every other error is retryable,
// with the delay of a RetryAfter mark as the backoff override.
var Default Classifier = defaultClassifier{}

type defaultClassifier struct{}

func (defaultClassifier) Classify(_ any, err error) Outcome { return ClassifyError(err) }

// ClassifyError is Default's rule as a function, for classifiers that only
// need to handle a few cases themselves and defer the rest.
func ClassifyError(err error) Outcome {
	if err == nil {
		return Outcome{Kind: OutcomeSuccess}
	}
	switch m := findMark(err).(type) {
	case *PermanentError:
		return Outcome{Kind: OutcomeNonRetryable, Reason: "permanent"}
	case *RetryAfterError:
		return Outcome{Kind: OutcomeRetryable, Reason: "retry_after", BackoffOverride: m.Delay}
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return Outcome{Kind: OutcomeRetryable, Reason: "timeout"}
	}
	return Outcome{Kind: OutcomeRetryable, Reason: "error"}
}

// IsDefault reports whether c is the Default classifier, which lets the
// executor skip boxing values it would never look at.
func IsDefault(c Classifier) bool {
	_, ok := c.(defaultClassifier)
	return ok
}

// Registry maps classifier names to classifiers. Lookups are lock-free.
// A Registry is safe for concurrent use; the zero value is empty and ready.
type Registry struct {
	m cow.Map[string, Classifier]
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{} }

// Register adds or replaces the classifier for name. It panics if c is nil
// or name is empty: both are programming errors.
func (r *Registry) Register(name string, c Classifier) {
	if name == "" {
		panic("classify: Register with an empty name")
	}
	if c == nil {
		panic("classify: Register of a nil classifier for " + name)
	}
	r.m.Store(name, c)
}

// Get returns the classifier registered under name.
func (r *Registry) Get(name string) (Classifier, bool) {
	if r == nil {
		return nil, false
	}
	return r.m.Load(name)
}

// findMark returns the first *PermanentError or *RetryAfterError in err's
// tree, walked in the order errors.As walks it. It is errors.As for the two
// marks without the allocation errors.As costs (its target escapes).
func findMark(err error) error {
	for err != nil {
		switch e := err.(type) {
		case *PermanentError, *RetryAfterError:
			return e
		case interface{ Unwrap() error }:
			err = e.Unwrap()
		case interface{ Unwrap() []error }:
			for _, inner := range e.Unwrap() {
				if m := findMark(inner); m != nil {
					return m
				}
			}
			return nil
		default:
			return nil
		}
	}
	return nil
}
