package policy

import (
	"errors"
	"fmt"
	"strings"
)

// ErrInvalidDocument is wrapped by every error DecodeDocument returns.
var ErrInvalidDocument = errors.New("policy: invalid document")

// Severity says whether a Problem stops a document from loading.
type Severity string

// The severities.
const (
	// SeverityError: the document is rejected.
	SeverityError Severity = "error"
	// SeverityWarning: the document loads, but a value was clamped into
	// its safe range (and loads clamped), or is most likely a mistake.
	SeverityWarning Severity = "warning"
)

// Problem is one finding of DecodeDocument, located by its path in the
// document: `policies["payments.Charge"].retry.jitter`, `default.hedge.delay`
// or `version`.
type Problem struct {
	Path     string
	Severity Severity
	Msg      string
}

// String returns "path: msg", with "warning: " in front of warnings.
func (p Problem) String() string {
	if p.Severity == SeverityWarning {
		return "warning: " + p.Path + ": " + p.Msg
	}
	return p.Path + ": " + p.Msg
}

// DocumentError lists every error DecodeDocument found in a document (and
// the warnings, for context). It wraps ErrInvalidDocument.
type DocumentError struct {
	// Problems holds the errors first, then the warnings, each group in
	// document order.
	Problems []Problem
}

// maxListed bounds the problems written into the error message; all of
// them stay in Problems.
const maxListed = 10

func (e *DocumentError) Error() string {
	var errs []string
	for _, p := range e.Problems {
		if p.Severity == SeverityError {
			errs = append(errs, p.String())
		}
	}
	var b strings.Builder
	b.WriteString("policy: invalid document: ")
	for i, s := range errs {
		if i == maxListed {
			fmt.Fprintf(&b, "; and %d more", len(errs)-maxListed)
			break
		}
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(s)
	}
	return b.String()
}

// Unwrap returns ErrInvalidDocument.
func (e *DocumentError) Unwrap() error { return ErrInvalidDocument }

// Errors returns the problems of severity error.
func (e *DocumentError) Errors() []Problem {
	var out []Problem
	for _, p := range e.Problems {
		if p.Severity == SeverityError {
			out = append(out, p)
		}
	}
	return out
}
