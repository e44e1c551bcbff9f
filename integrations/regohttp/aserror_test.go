package regohttp

import (
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/aponysus/rego/classify"
)

// claims is an error whose As method claims to be a *StatusError.
type claims struct{ se *StatusError }

func (c claims) Error() string { return "claims" }
func (c claims) As(target any) bool {
	if p, ok := target.(**StatusError); ok {
		*p = c.se
		return true
	}
	return false
}

// asError answers as errors.As does, on every shape of tree.
func TestAsErrorIsErrorsAs(t *testing.T) {
	se := &StatusError{Method: "GET", StatusCode: 503}
	other := &StatusError{Method: "PUT", StatusCode: 502}
	for name, err := range map[string]error{
		"nil":          nil,
		"itself":       se,
		"unrelated":    io.EOF,
		"wrapped":      fmt.Errorf("a: %w", se),
		"marked":       classify.RetryAfter(classify.Permanent(se), 1),
		"joined":       errors.Join(io.EOF, fmt.Errorf("b: %w", se), other),
		"join-miss":    errors.Join(io.EOF, io.ErrUnexpectedEOF),
		"as-method":    fmt.Errorf("c: %w", claims{se: other}),
		"as-in-join":   errors.Join(claims{se: other}, se),
		"multi-wrap":   fmt.Errorf("%w and %w", io.EOF, se),
		"deep-attempt": classify.Permanent(&attemptError{method: "GET", err: se}),
	} {
		var want *StatusError
		wantOK := errors.As(err, &want)
		got, ok := asError[*StatusError](err)
		if ok != wantOK || got != want {
			t.Errorf("%s: asError = %v, %v; errors.As = %v, %v", name, got, ok, want, wantOK)
		}
	}
}
