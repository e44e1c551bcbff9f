package regohttp

import (
	"errors"
	"net/http"
	"strconv"
)

// ErrBodyNotReplayable is matched (errors.Is) by the error of an attempt
// whose request body could not be produced again: Request.GetBody
// returned an error. Such an attempt is not retried.
var ErrBodyNotReplayable = errors.New("regohttp: request body cannot be replayed")

// StatusError reports a response whose status the classifier judged a
// failure. The Transport hands it to the executor with each failed
// response (so that the attempt records show it), and returns it to the
// caller, in place of the final response, when
// Options.FailedResponseError is set.
type StatusError struct {
	Method     string
	StatusCode int
	// Header is the final response's header (Retry-After, say), set on the
	// error returned to the caller; the response itself has been closed.
	Header http.Header
}

func (e *StatusError) Error() string {
	return "regohttp: " + e.Method + ": status " + strconv.Itoa(e.StatusCode) + " " + http.StatusText(e.StatusCode)
}

// attemptError carries the method of a request whose attempt failed
// without a response, for the classifier's records, and the attempt
// context's error when that context ended the attempt (a per-attempt
// timeout surfaces as context.DeadlineExceeded whatever error the base
// transport chose). Its message is the underlying error's, and the
// Transport strips it before returning when it adds nothing, so callers
// see the base transport's error.
type attemptError struct {
	method string
	err    error
	ctxErr error
}

func (e *attemptError) Error() string {
	if e.ctxErr != nil {
		return e.err.Error() + " (attempt ended: " + e.ctxErr.Error() + ")"
	}
	return e.err.Error()
}

func (e *attemptError) Unwrap() []error {
	if e.ctxErr == nil {
		return []error{e.err}
	}
	return []error{e.err, e.ctxErr}
}

// asError is errors.As for a pointer error type E, without the allocation
// errors.As costs (its target escapes to the heap): the first E in err's
// tree, walked in the order errors.As walks it. An error in the tree with
// an As method hands the rest of the walk to errors.As itself, so the
// answer is always errors.As's.
func asError[E error](err error) (E, bool) {
	var zero E
	for err != nil {
		if e, ok := err.(E); ok {
			return e, true
		}
		switch u := err.(type) {
		case interface{ As(any) bool }:
			var e E
			if errors.As(err, &e) {
				return e, true
			}
			return zero, false
		case interface{ Unwrap() error }:
			err = u.Unwrap()
		case interface{ Unwrap() []error }:
			for _, inner := range u.Unwrap() {
				if e, ok := asError[E](inner); ok {
					return e, true
				}
			}
			return zero, false
		default:
			return zero, false
		}
	}
	return zero, false
}
