package regohttp

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/aponysus/rego/admission"
	"github.com/aponysus/rego/clock"
	"github.com/aponysus/rego/controlplane"
	"github.com/aponysus/rego/gate"
	"github.com/aponysus/rego/policy"
)

// DefaultServerKey is the route key of every request of a Middleware whose
// ServerOptions have no KeyFunc.
var DefaultServerKey = policy.PolicyKey{Namespace: "http", Name: "server"}

// DefaultServerRetryAfter is the Retry-After a refusal carries when the
// refusing gate gives no wait of its own and ServerOptions.RetryAfter is
// zero.
const DefaultServerRetryAfter = time.Second

// ServerOptions configures Middleware.
type ServerOptions struct {
	// Provider gives each route key's policy, whose Shed, RateLimit,
	// Bulkhead and Concurrency sections the middleware applies. Required.
	// A key without a usable policy is served without gates.
	Provider controlplane.PolicyProvider
	// KeyFunc picks the route key of a request. Keys must be
	// low-cardinality: the route template, never the raw path. If nil,
	// every request has DefaultServerKey.
	KeyFunc func(*http.Request) policy.PolicyKey
	// Gates are the overload gates. If nil, admission.NewGates(Clock):
	// one set per middleware. Share one Gates between middlewares to share
	// their per-key state.
	Gates *admission.Gates
	// Clock times the handlers (the adaptive limit's latencies) and the
	// gates' waits when Gates is nil. If nil, clock.Real.
	Clock clock.Clock
	// RetryAfter is the wait a refusal asks for when its gate gives none
	// (a full bulkhead, a shed request). If zero,
	// DefaultServerRetryAfter.
	RetryAfter time.Duration
}

// Middleware returns an http.Handler middleware that applies the overload
// gates of each request's route key before the handler runs: load
// shedding by the request's criticality (the Rego-Criticality header, else
// the request context's), the rate limiter, the bulkhead (whose queue may
// make a request wait, never past the request's context) and the adaptive
// concurrency limit, in that order. A refused request never reaches the
// handler: the rate limiter's refusal is answered 429 Too Many Requests,
// every other one 503 Service Unavailable, both with a Retry-After header
// in whole seconds (at least 1), which a regohttp Transport honours. An
// admitted request runs with its criticality in its context (so the
// handler's own rego calls carry it on); its latency, and whether it
// failed (a 5xx or 429 status), feed the adaptive limit. A handler that
// panics tells the limit nothing (gate.Cancelled): a bug, not a sign of
// overload.
//
// Every request counts as a first attempt, retries included: a server
// limits what it receives.
func Middleware(opts ServerOptions) func(http.Handler) http.Handler {
	if opts.Provider == nil {
		panic("regohttp: Middleware without a Provider")
	}
	if opts.Gates == nil {
		opts.Gates = admission.NewGates(opts.Clock)
	}
	if opts.Clock == nil {
		opts.Clock = clock.Real{}
	}
	if opts.RetryAfter <= 0 {
		opts.RetryAfter = DefaultServerRetryAfter
	}
	return func(next http.Handler) http.Handler {
		return &guarded{opts: opts, next: next}
	}
}

type guarded struct {
	opts ServerOptions
	next http.Handler
}

func (g *guarded) key(r *http.Request) policy.PolicyKey {
	if g.opts.KeyFunc != nil {
		if k := g.opts.KeyFunc(r); k != (policy.PolicyKey{}) {
			return k
		}
	}
	return DefaultServerKey
}

func (g *guarded) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	key := g.key(r)
	p := admission.Policy(ctx, g.opts.Provider, key)
	crit, fromHeader := CriticalityFromHeader(r.Header)
	if !fromHeader {
		crit = gate.CriticalityFrom(ctx)
	}
	start := g.opts.Clock.Now()
	t, err := g.opts.Gates.Admit(ctx, gate.Attempt{Key: key, Policy: p, Criticality: crit}, start)
	if err != nil {
		g.refuse(w, err)
		return
	}
	if fromHeader {
		r = r.WithContext(gate.WithCriticality(ctx, crit))
	}
	sw := &statusWriter{ResponseWriter: w}
	res := gate.Result{Verdict: gate.Cancelled}
	defer func() {
		end := g.opts.Clock.Now()
		res.Latency, res.End = end.Sub(start), end
		t.Done(res)
	}()
	g.next.ServeHTTP(sw, r)
	res.Verdict = gate.Answered
	if sw.status >= 500 || sw.status == http.StatusTooManyRequests {
		res.Verdict = gate.Failed
	}
}

// refuse answers a refused request.
func (g *guarded) refuse(w http.ResponseWriter, err error) {
	status := http.StatusServiceUnavailable
	if admission.RateLimited(err) {
		status = http.StatusTooManyRequests
	}
	w.Header().Set("Retry-After", retryAfterSeconds(admission.RetryAfter(err, g.opts.RetryAfter)))
	msg := "regohttp: request refused"
	var re *gate.RefusedError
	if errors.As(err, &re) {
		msg = fmt.Sprintf("regohttp: request refused by %s: %s", re.Gate, re.Reason)
	}
	http.Error(w, msg, status)
}

// retryAfterSeconds rounds d up to whole seconds, at least one.
func retryAfterSeconds(d time.Duration) string {
	s := int64((d + time.Second - 1) / time.Second)
	if s < 1 {
		s = 1
	}
	return strconv.FormatInt(s, 10)
}

// statusWriter records the status a handler writes.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Flush lets streaming handlers flush through the wrapper.
func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		if w.status == 0 {
			w.status = http.StatusOK
		}
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
