package regohttp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/aponysus/rego/classify"
	"github.com/aponysus/rego/clock"
	"github.com/aponysus/rego/internal/attemptctx"
	"github.com/aponysus/rego/observe"
	"github.com/aponysus/rego/policy"
	"github.com/aponysus/rego/rego"
	"github.com/aponysus/rego/retry"
)

// Options configures a Transport. The zero value sends idempotent
// requests through http.DefaultTransport under the policy of DefaultKey on
// rego's default executor, retrying transport errors and
// DefaultRetryableStatuses.
type Options struct {
	// Base sends each attempt. If nil, http.DefaultTransport.
	Base http.RoundTripper
	// Executor runs the calls. If nil, rego.Default() at the time of each
	// request, so that rego.Init applies to transports built earlier.
	Executor *retry.Executor
	// Key is the policy key of every request when KeyFunc is nil. If zero,
	// DefaultKey.
	Key policy.PolicyKey
	// KeyFunc picks the policy key of each request, in place of Key. Keys
	// must be low-cardinality: derive them from the host or the route
	// template, never from the full URL or anything request-specific. See
	// HostKey. A zero key from KeyFunc means Key (or DefaultKey).
	KeyFunc func(*http.Request) policy.PolicyKey
	// Classifier judges responses and transport errors. If nil, the
	// classifier of NewClassifier(ClassifierOptions{}). The executor
	// uses it for every request whose policy names no classifier, so the
	// attempt records carry its HTTP attributes; a classifier the policy
	// names wins (register this one under ClassifierName to name it).
	Classifier *Classifier
	// Idempotent reports whether a request may be sent more than once. If
	// nil, IsIdempotent. A mark left by WithIdempotent on the request's
	// context takes precedence. A request that is not idempotent runs as
	// a single attempt (retry.CallOptions.SingleAttempt): no retries, no
	// hedges, but the policy's timeouts, budgets and observers apply.
	Idempotent func(*http.Request) bool
	// DrainLimit is how much of a failed response's body (a 503's, say)
	// the Transport reads as soon as the response arrives, within the
	// attempt and its timeout. A body that fits is kept in memory and
	// its connection goes back to the pool at once, ready for the retry;
	// the caller, if that response is the one returned, still reads it
	// whole. A longer body keeps its connection until it is closed. If
	// zero, DefaultDrainLimit; if negative, nothing is read early and
	// the connections of superseded failed responses are closed.
	DrainLimit int64
	// DrainTimeout bounds how long the Transport reads a failed
	// response's body early (see DrainLimit). A body that has not
	// arrived by then (a server that stalls mid-body) is closed, and its
	// connection with it, so that the retry goes ahead on another
	// connection; the response, if it is the one the caller gets, yields
	// the bytes that arrived, then an error matching ErrDrainTimeout. One
	// timer per Transport, ticking every quarter of DrainTimeout, closes
	// such bodies: a body is closed once DrainTimeout has passed, and at
	// most a quarter of it later. The bound relies on Close making a
	// blocked Read return, as it does for the bodies of net/http's
	// transports. If zero, DefaultDrainTimeout; if negative, only the
	// attempt's context bounds the reading, so a policy without timeouts
	// may wait for a stalled body for ever.
	DrainTimeout time.Duration
	// Clock times DrainTimeout. If nil, the real clock (clock.Real);
	// tests on virtual time pass their clock (it need not be the
	// executor's).
	Clock clock.Clock
	// FailedResponseError says what RoundTrip returns when the call ends
	// on a response the classifier judged a failure (attempts exhausted
	// on a 503, a budget denial or the deadline after one). If false, it
	// returns that last response with a nil error, as a plain transport
	// would have, body intact: callers check StatusCode as usual. If
	// true, it closes the response and returns a *StatusError, for
	// callers that treat a failed call as an error.
	FailedResponseError bool
}

// Transport is an http.RoundTripper that sends each request through a
// rego executor: retries with backoff, Retry-After, per-attempt and
// overall timeouts, budgets and hedges, as the policy of the request's
// key says. See the package documentation for the contract.
//
// The zero Transport is ready and behaves as NewTransport(Options{}). A
// Transport is safe for concurrent use; its options must not change once
// it is in use.
type Transport struct {
	opts     Options
	watchdog watchdog
}

// maxDrainLimit keeps the drain's limit+1 from overflowing.
const maxDrainLimit = 1 << 40

// NewTransport returns a Transport configured by opts.
func NewTransport(opts Options) *Transport {
	return &Transport{opts: opts}
}

func (t *Transport) base() http.RoundTripper {
	if t.opts.Base != nil {
		return t.opts.Base
	}
	return http.DefaultTransport
}

func (t *Transport) drainLimit() int64 {
	switch {
	case t.opts.DrainLimit == 0:
		return DefaultDrainLimit
	case t.opts.DrainLimit < 0:
		return 0
	case t.opts.DrainLimit > maxDrainLimit:
		return maxDrainLimit
	}
	return t.opts.DrainLimit
}

func (t *Transport) drainTimeout() time.Duration {
	if t.opts.DrainTimeout == 0 {
		return DefaultDrainTimeout
	}
	return t.opts.DrainTimeout
}

func (t *Transport) clock() clock.Clock {
	if t.opts.Clock != nil {
		return t.opts.Clock
	}
	return clock.Real{}
}

func (t *Transport) classifier() *Classifier {
	if t.opts.Classifier != nil {
		return t.opts.Classifier
	}
	return defaultClassifier
}

func (t *Transport) key(req *http.Request) policy.PolicyKey {
	if t.opts.KeyFunc != nil {
		if k := t.opts.KeyFunc(req); !k.IsZero() {
			return k
		}
	}
	if !t.opts.Key.IsZero() {
		return t.opts.Key
	}
	return DefaultKey
}

func (t *Transport) idempotent(req *http.Request) bool {
	if v, ok := idempotentFromContext(req.Context()); ok {
		return v
	}
	if t.opts.Idempotent != nil {
		return t.opts.Idempotent(req)
	}
	return IsIdempotent(req)
}

// CloseIdleConnections closes the idle connections of the base transport,
// when it has such a method.
func (t *Transport) CloseIdleConnections() {
	if c, ok := t.base().(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

// call is the state of one RoundTrip shared by its attempts. It is also
// the context the call runs under: the caller's context, through which
// each attempt finds the call (callFrom). One allocation thus holds the
// state, the context, the first attempt's copy of the request and, with
// the static attemptOp, the operation. Its size is kept to a size class
// of the allocator (352 bytes with today's http.Request): a field more
// costs every request 32 bytes.
type call struct {
	// Context is the caller's context, read from req once, by RoundTrip:
	// a late attempt must not read req after RoundTrip has returned.
	context.Context
	t   *Transport
	req *http.Request
	// getBody is read from req once, by RoundTrip, for the same reason.
	getBody func() (io.ReadCloser, error)
	// first is the copy of req sent by the first attempt to claim it
	// (callFirst); later attempts, and hedges running alongside it, get
	// a copy of their own. Being part of the call's allocation, it costs
	// a request that succeeds at once no allocation of its own.
	first http.Request
	// firstAttempt is the first attempt's context, lent to the executor
	// (FirstAttempt), for the same reason.
	firstAttempt attemptctx.Ctx[observe.AttemptInfo]
	// state holds the call* bits.
	state atomic.Uint32
}

// FirstAttempt gives the executor room for the first attempt's context
// (attemptctx.Host): the call is the context of one executor call.
func (c *call) FirstAttempt() *attemptctx.Ctx[observe.AttemptInfo] { return &c.firstAttempt }

// The bits of call.state.
const (
	// callHasBody: the request has a body to send with every attempt.
	// Set before the call starts, never cleared.
	callHasBody uint32 = 1 << iota
	// callBodyTaken is set by the first attempt to send req.Body itself;
	// later attempts, and hedges running alongside it, send a copy from
	// GetBody. RoundTrip closes req.Body when no attempt took it.
	callBodyTaken
	// callFirst is set by the attempt that uses call.first.
	callFirst
)

func (c *call) has(bit uint32) bool { return c.state.Load()&bit != 0 }

// take sets bit and reports whether it was this call of take that set it.
func (c *call) take(bit uint32) bool {
	for {
		s := c.state.Load()
		if s&bit != 0 {
			return false
		}
		if c.state.CompareAndSwap(s, s|bit) {
			return true
		}
	}
}

type callKey struct{}

// Value makes the call findable from its attempts' contexts.
func (c *call) Value(key any) any {
	if _, ok := key.(callKey); ok {
		return c
	}
	return c.Context.Value(key)
}

// attemptOp is the operation the executor runs: it finds its call in the
// attempt's context, which derives from the call.
func attemptOp(actx context.Context) (*http.Response, error) {
	return actx.Value(callKey{}).(*call).attempt(actx)
}

// RoundTrip implements http.RoundTripper. It runs the request as one call
// of the executor, each attempt a copy of req sent through the base
// transport, and returns the response of the attempt that succeeded, the
// final failed response (see Options.FailedResponseError), or the error
// that ended the call. Like every RoundTripper it closes req.Body, even on
// errors, and does not modify req.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	exec := t.opts.Executor
	if exec == nil {
		exec = rego.Default()
	}
	c := &call{Context: ctx, t: t, req: req, getBody: req.GetBody}
	hasBody := req.Body != nil && req.Body != http.NoBody
	if hasBody {
		c.state.Store(callHasBody)
	}
	opts := retry.CallOptions[*http.Response]{
		Discard:    discardResponse,
		Classifier: t.classifier(), // unless the policy names one
		// A body that cannot be produced again goes out once rather than
		// empty on a retry.
		SingleAttempt: !t.idempotent(req) || (hasBody && req.GetBody == nil),
	}
	dst, _ := ctx.Value(timelineKey{}).(*observe.Timeline)
	opts.Timeline = dst != nil

	resp, tl, err := retry.DoValueWith[*http.Response](c, exec, t.key(req), attemptOp, opts)
	if dst != nil {
		*dst = tl
	}
	if hasBody && c.take(callBodyTaken) {
		_ = req.Body.Close()
	}
	if err == nil {
		return resp, nil
	}
	if resp != nil {
		if ctx.Err() == nil && isFailedResponse(err) {
			if !t.opts.FailedResponseError {
				return resp, nil
			}
			se := &StatusError{Method: methodOf(req), StatusCode: resp.StatusCode, Header: resp.Header}
			discardResponse(resp)
			return nil, se
		}
		discardResponse(resp)
	}
	if se, ok := asError[*retry.StopError](err); ok {
		err = se.Err // the last attempt's error, as before retry.StopError
	}
	// An attempt's error that reaches the caller as it is (not wrapped by
	// the executor with more to say) gives way to the base transport's
	// error, as callers expect it.
	if ae, ok := err.(*attemptError); ok && ae.ctxErr == nil {
		err = ae.err
	}
	return nil, err
}

// isFailedResponse reports whether err says that the call's last response
// was judged a failure, as opposed to an error that ended the call.
func isFailedResponse(err error) bool {
	if isStatusError(err) {
		return true
	}
	_, ok := asError[*retry.OutcomeError](err)
	return ok
}

// attempt sends one copy of the request through the base transport.
//
// The request runs under a context of its own, rctx: it carries the
// values of the attempt's context actx (the attempt info included), and
// is cancelled when actx is done while the attempt runs, which is how
// per-attempt timeouts and hedge cancellation stop it. Once the attempt
// returns, rctx follows only the caller's context: the executor cancels
// actx as soon as the attempt returns, and the caller must still be able
// to read the body. Closing the body releases rctx.
func (c *call) attempt(actx context.Context) (*http.Response, error) {
	// A hedge may start after the call has returned (it was launched and
	// cancelled at once). The caller owns req again by then: touch
	// nothing. Once RoundTrip has returned, actx is cancelled.
	if err := actx.Err(); err != nil {
		return nil, err
	}
	req := c.req
	// An attempt context that only the caller can cancel (no timeouts,
	// no hedging: the executor cancels nothing of its own) needs no
	// context of its own: the caller's cancellation ends the request and
	// its body, as with a plain transport, and nothing else can.
	rctx := actx
	var cc context.CancelCauseFunc // nil: rctx is actx
	stopAttempt := alwaysStopped
	if done := actx.Done(); done != nil && done != c.Context.Done() {
		rctx, cc = context.WithCancelCause(context.WithoutCancel(actx))
		stopAttempt = context.AfterFunc(actx, func() { cc(actx.Err()) })
	}
	bodyOwnsCtx := false
	defer func() {
		if cc != nil && !bodyOwnsCtx {
			stopAttempt()
			cc(nil)
		}
	}()
	// A shallow copy: the base transport must not modify the request (the
	// http.RoundTripper contract). Attempts that may run alongside others
	// (any attempt whose context the executor can cancel: hedges,
	// timeouts) get a header of their own all the same, so that a base
	// transport that sets headers anyway does not race with them.
	var r *http.Request
	if c.take(callFirst) {
		// WithContext's copy does not escape: it is made in place.
		c.first = *req.WithContext(rctx)
		r = &c.first
	} else {
		r = req.WithContext(rctx)
	}
	if cc != nil {
		r.Header = req.Header.Clone()
	}
	if c.has(callHasBody) && !c.take(callBodyTaken) {
		b, err := c.getBody()
		if err != nil {
			return nil, classify.Permanent(&attemptError{method: methodOf(r), err: fmt.Errorf("%w: GetBody: %w", ErrBodyNotReplayable, err)})
		}
		r.Body = b
	}
	resp, err := c.t.base().RoundTrip(r)
	if err != nil {
		ae := &attemptError{method: methodOf(r), err: err}
		if aerr := actx.Err(); aerr != nil && !errors.Is(err, aerr) {
			ae.ctxErr = aerr
		}
		return nil, ae
	}
	if resp.Body == nil {
		resp.Body = http.NoBody
	}

	v := c.t.classifier().judge(resp)
	var rest io.Reader
	var se *StatusError // the attempt's error, if v is a failure
	inMemory := false
	if v.kind != classify.OutcomeSuccess && resp.ContentLength != 0 && resp.Body != http.NoBody && c.t.drainLimit() > 0 {
		// Read a failed response's body now, bounded by the drain
		// timeout and the attempt's: a body that fits in the limit frees
		// its connection for the next attempt, which would otherwise
		// open a new one, since the executor keeps the last failed
		// response (to return it if every attempt fails) until a later
		// attempt has finished.
		d := newDrain(resp.Body, c.t.drainLimit(), resp.ContentLength)
		se = &d.se
		switch {
		case d.fill(&c.t.watchdog, c.t.clock(), c.t.drainTimeout()):
			if !d.closedByWatchdog {
				_ = resp.Body.Close()
			}
			resp.Body = d
			inMemory = true
		case d.cut():
			// The watchdog closed the body: d serves what it read, then
			// ErrDrainTimeout.
			resp.Body = d
			inMemory = true
		default:
			// Past the limit, or broken off: d serves what it read, then
			// the rest of the body or the error.
			rest = d
		}
	}
	if !stopAttempt() {
		// The attempt timed out or lost while it ran: its request
		// context is cancelled, so the body is cut off.
		_ = resp.Body.Close()
		return nil, &attemptError{method: methodOf(r), err: actx.Err()}
	}
	switch {
	case cc != nil && !inMemory:
		// From here on rctx follows the caller's context, until the
		// body is closed.
		callerCtx := c.Context
		stopCaller := context.AfterFunc(callerCtx, func() { cc(callerCtx.Err()) })
		wrapBody(resp, rest, releaser(cc, stopCaller))
		bodyOwnsCtx = true
	case rest != nil:
		wrapBody(resp, rest, noCancel)
	}

	if v.kind == classify.OutcomeSuccess {
		return resp, nil
	}
	if se == nil {
		se = new(StatusError)
	}
	*se = StatusError{Method: methodOf(r), StatusCode: resp.StatusCode}
	if v.kind == classify.OutcomeNonRetryable {
		return resp, classify.Permanent(se)
	}
	if v.override > 0 {
		return resp, classify.RetryAfter(se, v.override)
	}
	return resp, se
}

func noCancel()           {}
func alwaysStopped() bool { return true }

type timelineKey struct{}

// CaptureTimeline returns a context that makes the Transport store the
// timeline of a request made with it in *dst: the attempts with their
// outcomes, waits and (with the HTTP classifier) status codes. The
// Transport writes *dst before RoundTrip returns.
func CaptureTimeline(ctx context.Context, dst *observe.Timeline) context.Context {
	return context.WithValue(ctx, timelineKey{}, dst)
}
