package regogrpc

import (
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/aponysus/rego/classify"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// Attribute names the classifier sets on Outcome.Attributes.
const (
	AttrCode       = "grpc.code"        // the status code name, "Unavailable"
	AttrMethod     = "grpc.method"      // the full method name
	AttrPushbackMs = "grpc.pushback_ms" // the raw pushback value, when sent
)

// ClassifierName is the name under which to register NewClassifier's
// classifier in a classify.Registry, for policies to name it.
const ClassifierName = "grpc"

// DefaultMaxPushback is the longest pushback honoured when
// ClassifierOptions.MaxPushback is zero.
const DefaultMaxPushback = 5 * time.Minute

// ClassifierOptions configures how attempts are judged. The zero value
// gives the gRFC A6 defaults: UNAVAILABLE retried; RESOURCE_EXHAUSTED
// retried only with pushback; DEADLINE_EXCEEDED retried only when the
// attempt's own deadline fired; everything else terminal.
type ClassifierOptions struct {
	// RetryableCodes are the codes always retried. nil means
	// {codes.Unavailable}; an empty non-nil slice means none. codes.OK is
	// ignored. Listing codes.ResourceExhausted retries it even without
	// pushback; listing codes.DeadlineExceeded retries it whoever's
	// deadline fired (including a deadline the server enforced on its own
	// downstream calls).
	RetryableCodes []codes.Code
	// NoAttemptTimeoutRetry stops DEADLINE_EXCEEDED from being retried
	// when the attempt's own deadline (policy TimeoutPerAttempt) fired.
	// The zero value retries it: the caller's time is not yet up.
	NoAttemptTimeoutRetry bool
	// MaxPushback is the longest server pushback honoured; a longer one
	// ends the call (reason pushback_too_long) rather than being shortened
	// against the server's wish. Zero means DefaultMaxPushback; negative
	// means no limit but the call's deadline.
	MaxPushback time.Duration
}

// Classifier judges gRPC attempts by status code and pushback. It
// implements classify.Classifier; the zero value is not usable, build one
// with NewClassifier. It is safe for concurrent use.
type Classifier struct {
	retryable   [numCodes]bool
	timeoutOK   bool
	maxPushback time.Duration // < 0: no limit
	attrs       attrCache     // shared attribute maps, see attributes
}

// numCodes bounds the code table: gRPC defines codes 0..16.
const numCodes = 17

// NewClassifier returns a classifier configured by opts.
func NewClassifier(opts ClassifierOptions) *Classifier {
	c := &Classifier{timeoutOK: !opts.NoAttemptTimeoutRetry, maxPushback: opts.MaxPushback}
	if c.maxPushback == 0 {
		c.maxPushback = DefaultMaxPushback
	}
	rc := opts.RetryableCodes
	if rc == nil {
		rc = []codes.Code{codes.Unavailable}
	}
	for _, code := range rc {
		if code != codes.OK && code < numCodes {
			c.retryable[code] = true
		}
	}
	return c
}

// attemptFacts is what an attempt tells the classifier beyond its error.
// Both the unary and the stream attempts implement it, on nil receivers
// too (an attempt that ended before it started has no value).
type attemptFacts interface {
	facts() (method string, trailer metadata.MD, ownDeadline, committed bool)
}

// Classify implements classify.Classifier. value is the attempt's value as
// the interceptors produce it; for any other value only err is looked at.
//
// The Attributes of failed attempts without pushback are one map per
// method and code, shared by every attempt record they describe (the
// classifier keeps up to 1024 of them): read them, do not modify them.
func (c *Classifier) Classify(value any, err error) classify.Outcome {
	var (
		method    string
		trailer   metadata.MD
		own       bool
		committed bool
	)
	if f, ok := value.(attemptFacts); ok {
		method, trailer, own, committed = f.facts()
	}
	out := c.classify(method, trailer, own, err)
	if committed && out.Kind == classify.OutcomeRetryable {
		out.Kind, out.Reason, out.BackoffOverride = classify.OutcomeNonRetryable, ReasonCommitted, 0
	}
	return out
}

// ReasonCommitted is the outcome reason of a failed unary attempt that had
// received the response headers: gRFC A6 commits a call at its headers, so
// it is not retried whatever its status.
const ReasonCommitted = "committed"

func (c *Classifier) classify(method string, trailer metadata.MD, ownDeadline bool, err error) classify.Outcome {
	if err == nil {
		return classify.Outcome{Kind: classify.OutcomeSuccess}
	}
	v, raw := c.judge(trailer, ownDeadline, err)
	return classify.Outcome{Kind: v.kind, Reason: v.reason, BackoffOverride: v.delay, Attributes: c.attributes(method, status.Code(err), raw)}
}

// verdict is the classifier's judgement of a failed attempt without the
// attributes, which the interceptors' own marks do not need.
type verdict struct {
	kind   classify.OutcomeKind
	reason string
	delay  time.Duration // the backoff override (pushback), if any
}

// judge rules on a failed attempt. raw is the pushback trailer's value
// when the server sent one.
func (c *Classifier) judge(trailer metadata.MD, ownDeadline bool, err error) (v verdict, raw string) {
	code := status.Code(err)
	delay, pb := parsePushback(trailer)
	if pb == pushbackNone {
		// An error marked by an interceptor carries its pushback delay
		// even when the classifier sees no trailer.
		if ra, ok := findRetryAfter(err); ok {
			delay, pb = ra.Delay, pushbackDelay
		}
	} else {
		raw = trailer.Get(PushbackKey)[0]
	}
	switch pb {
	case pushbackStop:
		return verdict{kind: classify.OutcomeNonRetryable, reason: "pushback_stop"}, raw
	case pushbackMalformed:
		return verdict{kind: classify.OutcomeNonRetryable, reason: "pushback_malformed"}, raw
	}
	retry := code < numCodes && c.retryable[code]
	reason := codeReason(code)
	switch {
	case retry:
	case code == codes.ResourceExhausted && pb == pushbackDelay:
		// The server says when it can take the call again.
		retry = true
	case code == codes.DeadlineExceeded && ownDeadline && c.timeoutOK:
		retry, reason = true, "attempt_timeout"
	}
	if !retry {
		return verdict{kind: classify.OutcomeNonRetryable, reason: reason}, raw
	}
	if pb != pushbackDelay {
		return verdict{kind: classify.OutcomeRetryable, reason: reason}, raw
	}
	if c.maxPushback >= 0 && delay > c.maxPushback {
		return verdict{kind: classify.OutcomeNonRetryable, reason: "pushback_too_long"}, raw
	}
	// gRFC A6: pushback replaces the backoff. The engine reads a zero
	// override as "none", so "retry now" is the smallest positive one.
	if delay <= 0 {
		delay = time.Nanosecond
	}
	return verdict{kind: classify.OutcomeRetryable, reason: "pushback", delay: delay}, raw
}

// findRetryAfter finds a RetryAfter mark in err's chain. Only errors that
// can carry one are searched, so that the common status error costs no
// errors.As (whose target would escape).
func findRetryAfter(err error) (*classify.RetryAfterError, bool) {
	if _, plain := err.(interface{ GRPCStatus() *status.Status }); plain {
		return nil, false
	}
	var ra *classify.RetryAfterError
	ok := errors.As(err, &ra)
	return ra, ok
}

var codeReasons = func() (r [numCodes]string) {
	for i := range r {
		r[i] = "grpc_" + snake(codes.Code(i).String())
	}
	return r
}()

// codeReason returns a low-cardinality reason such as "grpc_unavailable".
func codeReason(code codes.Code) string {
	if code < numCodes {
		return codeReasons[code]
	}
	return "grpc_code_" + strconv.Itoa(int(code))
}

// snake turns "DeadlineExceeded" into "deadline_exceeded".
func snake(s string) string {
	var b strings.Builder
	lower := false // the previous letter was lower case
	for _, r := range s {
		if r >= 'A' && r <= 'Z' {
			if lower {
				b.WriteByte('_')
			}
			r += 'a' - 'A'
			lower = false
		} else {
			lower = true
		}
		b.WriteRune(r)
	}
	return b.String()
}

// mark returns err marked so that classify.Default reaches the verdict v:
// Permanent for outcomes that end the call, RetryAfter for pushback.
func mark(v verdict, err error) error {
	switch v.kind {
	case classify.OutcomeNonRetryable, classify.OutcomeAbort:
		return classify.Permanent(err)
	case classify.OutcomeRetryable:
		if v.delay > 0 {
			return classify.RetryAfter(err, v.delay)
		}
	}
	return err
}

// unmark returns the status error inside the error that ended a call,
// without the marks the interceptors put on it or anything the executor
// wrapped around it, so that callers get the status error gRPC returned.
// An error with no status inside is returned as it is.
func unmark(err error) error {
	var st interface{ GRPCStatus() *status.Status }
	if errors.As(err, &st) {
		if e, ok := st.(error); ok {
			return e
		}
	}
	return err
}
