package regoprom

import "errors"

// ErrRegister is the sentinel every registration failure wraps.
var ErrRegister = errors.New("regoprom: cannot register metric")

// RegisterError reports that a collector could not be registered. It
// unwraps to both ErrRegister and the registerer's own error, so
// errors.As(err, &prometheus.AlreadyRegisteredError{}) works.
type RegisterError struct {
	// Metric is the fully qualified name of the collector.
	Metric string
	Err    error
}

func (e *RegisterError) Error() string {
	return "regoprom: register " + e.Metric + ": " + e.Err.Error()
}

// Unwrap returns ErrRegister and the registerer's error.
func (e *RegisterError) Unwrap() []error { return []error{ErrRegister, e.Err} }
