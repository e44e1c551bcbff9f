package regohttp

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/aponysus/rego/classify"
)

// ClassifierName is the conventional name of the HTTP classifier in a
// classify.Registry, for policies to name in RetryPolicy.ClassifierName.
const ClassifierName = "http"

// Attribute names the Classifier sets in Outcome.Attributes, and so in
// the attempt records of the timeline.
const (
	// AttrStatusCode is the response's status code ("503"). Absent when
	// the attempt got no response.
	AttrStatusCode = "http.status_code"
	// AttrMethod is the request's method ("GET").
	AttrMethod = "http.method"
	// AttrRetryAfter is the Retry-After wait honoured, as a Go duration
	// ("7s"). A zero wait leaves the policy's backoff in force.
	AttrRetryAfter = "http.retry_after"
	// AttrRetryAfterIgnored says why a Retry-After header was not
	// honoured: one of the RetryAfterIgnored... values.
	AttrRetryAfterIgnored = "http.retry_after_ignored"
)

// The values of AttrRetryAfterIgnored.
const (
	// RetryAfterIgnoredInvalid: the value is neither delta-seconds nor an
	// HTTP-date.
	RetryAfterIgnoredInvalid = "invalid"
	// RetryAfterIgnoredNegative: the HTTP-date is in the past.
	RetryAfterIgnoredNegative = "negative"
	// RetryAfterIgnoredExceedsMax: the wait is longer than MaxRetryAfter.
	RetryAfterIgnoredExceedsMax = "exceeds_max"
	// RetryAfterIgnoredDisabled: ClassifierOptions.IgnoreRetryAfter is set.
	RetryAfterIgnoredDisabled = "disabled"
)

// Outcome reasons set by the Classifier besides "status_NNN".
const (
	ReasonTransportError       = "transport_error"
	ReasonTimeout              = "timeout"
	ReasonCanceled             = "canceled"
	ReasonPermanent            = "permanent"
	ReasonRetryAfter           = "retry_after"
	ReasonRetryAfterExceedsMax = "retry_after_exceeds_max"
	ReasonBodyNotReplayable    = "body_not_replayable"
)

// DefaultRetryableStatuses are the statuses retried when
// ClassifierOptions.RetryableStatuses is nil: request timeout, too many
// requests, and the server errors that usually pass (internal error, bad
// gateway, unavailable, gateway timeout).
var DefaultRetryableStatuses = []int{
	http.StatusRequestTimeout,
	http.StatusTooManyRequests,
	http.StatusInternalServerError,
	http.StatusBadGateway,
	http.StatusServiceUnavailable,
	http.StatusGatewayTimeout,
}

// DefaultMaxRetryAfter is the longest Retry-After honoured when
// ClassifierOptions.MaxRetryAfter is zero.
const DefaultMaxRetryAfter = time.Minute

// ErrInvalidOptions is matched (errors.Is) by the errors of NewClassifier;
// their messages name the offending field.
var ErrInvalidOptions = errors.New("regohttp: invalid options")

// ClassifierOptions configures a Classifier. The zero value retries
// transport errors and DefaultRetryableStatuses, and honours Retry-After
// up to DefaultMaxRetryAfter.
type ClassifierOptions struct {
	// RetryableStatuses lists the statuses worth retrying; every other
	// status is a success as far as retrying goes (the caller still sees
	// it). If nil, DefaultRetryableStatuses. An empty, non-nil slice
	// retries no status, only transport errors. Entries must lie in
	// [100, 599].
	RetryableStatuses []int
	// MaxRetryAfter is the longest wait a Retry-After header may impose.
	// If zero, DefaultMaxRetryAfter. A longer wait is not honoured (see
	// StopBeyondMaxRetryAfter). It must not be negative.
	MaxRetryAfter time.Duration
	// StopBeyondMaxRetryAfter says what a Retry-After longer than
	// MaxRetryAfter does. If false, the header is ignored: the next wait
	// is the policy's backoff, and the record notes
	// http.retry_after_ignored=exceeds_max. If true, the response is not
	// retried (reason retry_after_exceeds_max) and goes back to the
	// caller, so a server that asked for a long pause is not called again
	// sooner than it asked.
	StopBeyondMaxRetryAfter bool
	// IgnoreRetryAfter makes every wait the policy's backoff, whatever
	// the server asks (noted as http.retry_after_ignored=disabled).
	IgnoreRetryAfter bool
	// Now is the time HTTP-date Retry-After values are measured from. If
	// nil, time.Now. Tests on virtual time pass the virtual clock's Now.
	Now func() time.Time
}

// Classifier judges the attempts of HTTP calls. It implements
// classify.Classifier for values of type *http.Response, and puts the
// status code, the method and the Retry-After decision into the attempt
// records. The Transport hands its Classifier to the executor for every
// request whose policy names no classifier; register one in a
// classify.Registry (conventionally as ClassifierName) for policies to
// name, or for calls of your own that return *http.Response.
//
// Responses are judged by status: RetryableStatuses are retryable, with a
// valid Retry-After becoming Outcome.BackoffOverride; every other status
// is a success. Errors are judged as follows: context.Canceled is
// non-retryable (the caller gave up; a per-attempt timeout is
// context.DeadlineExceeded and is retryable); errors marked with
// classify.Permanent or classify.RetryAfter keep their meaning; every other
// error, such as a refused or reset connection, is retryable. Values of
// other types are judged by their error alone, so a Classifier can be the
// default classifier of an executor that also runs non-HTTP calls.
//
// A nil *Classifier behaves as NewClassifier(ClassifierOptions{}). A
// Classifier is immutable and safe for concurrent use.
type Classifier struct {
	retryable  statusSet
	maxRA      time.Duration
	stopBeyond bool
	ignoreRA   bool
	now        func() time.Time
}

// statusSet is a bitset over the status codes 0..639.
type statusSet [10]uint64

func (s *statusSet) add(code int) { s[code>>6] |= 1 << (code & 63) }
func (s *statusSet) has(code int) bool {
	return code >= 0 && code < 640 && s[code>>6]&(1<<(code&63)) != 0
}

var defaultClassifier = func() *Classifier {
	c, err := NewClassifier(ClassifierOptions{})
	if err != nil {
		panic(err) // the defaults are valid
	}
	return c
}()

// NewClassifier returns a classifier configured by opts, or an error
// matching ErrInvalidOptions that names the offending field.
func NewClassifier(opts ClassifierOptions) (*Classifier, error) {
	c := &Classifier{
		maxRA:      opts.MaxRetryAfter,
		stopBeyond: opts.StopBeyondMaxRetryAfter,
		ignoreRA:   opts.IgnoreRetryAfter,
		now:        opts.Now,
	}
	if c.maxRA < 0 {
		return nil, fmt.Errorf("%w: ClassifierOptions.MaxRetryAfter: %v is negative", ErrInvalidOptions, c.maxRA)
	}
	if c.maxRA == 0 {
		c.maxRA = DefaultMaxRetryAfter
	}
	if c.now == nil {
		c.now = time.Now
	}
	codes := opts.RetryableStatuses
	if codes == nil {
		codes = DefaultRetryableStatuses
	}
	for i, code := range codes {
		if code < 100 || code > 599 {
			return nil, fmt.Errorf("%w: ClassifierOptions.RetryableStatuses[%d]: %d is not an HTTP status code (100-599)", ErrInvalidOptions, i, code)
		}
		c.retryable.add(code)
	}
	return c, nil
}

// IsRetryableStatus reports whether the classifier retries responses with
// the status code.
func (c *Classifier) IsRetryableStatus(code int) bool {
	if c == nil {
		c = defaultClassifier
	}
	return c.retryable.has(code)
}

// verdict is the judgement of one response, before it is dressed as an
// Outcome. It allocates nothing, so the Transport can judge every
// response cheaply.
type verdict struct {
	kind       classify.OutcomeKind
	override   time.Duration
	retryAfter bool   // a Retry-After was honoured (override may be 0)
	ignored    string // why a Retry-After was not honoured, if it was not
}

func (c *Classifier) judge(resp *http.Response) verdict {
	if !c.retryable.has(resp.StatusCode) {
		return verdict{kind: classify.OutcomeSuccess}
	}
	v := verdict{kind: classify.OutcomeRetryable}
	raw, ok := resp.Header["Retry-After"]
	if !ok || len(raw) == 0 {
		return v
	}
	if c.ignoreRA {
		v.ignored = RetryAfterIgnoredDisabled
		return v
	}
	d, err := ParseRetryAfter(raw[0], c.now())
	switch {
	case err != nil:
		v.ignored = RetryAfterIgnoredInvalid
	case d < 0:
		v.ignored = RetryAfterIgnoredNegative
	case d > c.maxRA:
		v.ignored = RetryAfterIgnoredExceedsMax
		if c.stopBeyond {
			v.kind = classify.OutcomeNonRetryable
		}
	default:
		v.override, v.retryAfter = d, true
	}
	return v
}

// Classify implements classify.Classifier.
//
// The Attributes of the outcomes it returns may be shared between
// outcomes (every 200 to a GET has the same ones): read them, never write
// to them.
func (c *Classifier) Classify(value any, err error) classify.Outcome {
	if c == nil {
		c = defaultClassifier
	}
	resp, _ := value.(*http.Response)
	if resp != nil && (err == nil || isStatusError(err)) {
		return c.classifyResponse(resp)
	}
	return c.classifyError(err)
}

// isStatusError reports whether err carries a *StatusError. It walks the
// tree itself (asError): errors.Is, which reflects on its target, costs
// several times as much, and every failed response is asked twice.
func isStatusError(err error) bool {
	_, ok := asError[*StatusError](err)
	return ok
}

func (c *Classifier) classifyResponse(resp *http.Response) classify.Outcome {
	v := c.judge(resp)
	method := http.MethodGet
	if resp.Request != nil {
		method = methodOf(resp.Request)
	}
	out := classify.Outcome{Kind: v.kind, BackoffOverride: v.override}
	if !v.retryAfter && v.ignored == "" {
		out.Attributes = sharedAttributes(resp.StatusCode, method, resp.Request != nil)
	} else {
		attrs := make(map[string]string, 4)
		attrs[AttrStatusCode] = strconv.Itoa(resp.StatusCode)
		if resp.Request != nil {
			attrs[AttrMethod] = method
		}
		if v.retryAfter {
			attrs[AttrRetryAfter] = v.override.String()
		}
		if v.ignored != "" {
			attrs[AttrRetryAfterIgnored] = v.ignored
		}
		out.Attributes = attrs
	}
	switch {
	case v.kind == classify.OutcomeNonRetryable:
		out.Reason = ReasonRetryAfterExceedsMax
	case v.kind != classify.OutcomeSuccess:
		out.Reason = statusReason(resp.StatusCode)
	}
	return out
}

func (c *Classifier) classifyError(err error) classify.Outcome {
	var out classify.Outcome
	switch {
	case err == nil:
		return classify.Outcome{Kind: classify.OutcomeSuccess}
	case errors.Is(err, ErrBodyNotReplayable):
		out = classify.Outcome{Kind: classify.OutcomeNonRetryable, Reason: ReasonBodyNotReplayable}
	case isPermanent(err):
		out = classify.Outcome{Kind: classify.OutcomeNonRetryable, Reason: ReasonPermanent}
	case errors.Is(err, context.DeadlineExceeded):
		// Before Canceled: when a per-attempt timeout ends a request,
		// some Go versions' transports report context.Canceled, and the
		// attempt error carries the deadline beside it.
		out = classify.Outcome{Kind: classify.OutcomeRetryable, Reason: ReasonTimeout}
	case errors.Is(err, context.Canceled):
		out = classify.Outcome{Kind: classify.OutcomeNonRetryable, Reason: ReasonCanceled}
	case isRetryAfter(err):
		ra, _ := asError[*classify.RetryAfterError](err)
		out = classify.Outcome{Kind: classify.OutcomeRetryable, Reason: ReasonRetryAfter, BackoffOverride: ra.Delay}
	default:
		out = classify.Outcome{Kind: classify.OutcomeRetryable, Reason: ReasonTransportError}
	}
	if ae, ok := asError[*attemptError](err); ok {
		out.Attributes = map[string]string{AttrMethod: ae.method}
	}
	return out
}

func isPermanent(err error) bool {
	_, ok := asError[*classify.PermanentError](err)
	return ok
}

func isRetryAfter(err error) bool {
	_, ok := asError[*classify.RetryAfterError](err)
	return ok
}

// statusReason returns "status_NNN" without allocating for the default
// retryable statuses.
func statusReason(code int) string {
	switch code {
	case 408:
		return "status_408"
	case 429:
		return "status_429"
	case 500:
		return "status_500"
	case 502:
		return "status_502"
	case 503:
		return "status_503"
	case 504:
		return "status_504"
	}
	return "status_" + strconv.Itoa(code)
}

func methodOf(req *http.Request) string {
	if req.Method == "" {
		return http.MethodGet
	}
	return req.Method
}
