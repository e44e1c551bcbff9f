package regogrpc

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/aponysus/rego/admission"
	"github.com/aponysus/rego/clock"
	"github.com/aponysus/rego/controlplane"
	"github.com/aponysus/rego/gate"
	"github.com/aponysus/rego/policy"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// DefaultServerPushback is the pushback a refusal carries when the refusing
// gate gives no wait of its own and ServerOptions.RetryAfter is zero.
const DefaultServerPushback = time.Second

// ServerOptions configures UnaryServerInterceptor and
// StreamServerInterceptor.
type ServerOptions struct {
	// Provider gives each method key's policy, whose Shed, RateLimit,
	// Bulkhead and Concurrency sections the interceptors apply. Required.
	// A key without a usable policy is served without gates.
	Provider controlplane.PolicyProvider
	// KeyFunc maps the full method name to the policy key. If nil,
	// MethodKey.
	KeyFunc func(fullMethod string) policy.PolicyKey
	// Gates are the overload gates. If nil, admission.NewGates(Clock):
	// one set per interceptor. Give the unary and stream interceptors the
	// same Gates to share per-key state.
	Gates *admission.Gates
	// Clock times the handlers (the adaptive limit's latencies) and the
	// gates' waits when Gates is nil. If nil, clock.Real.
	Clock clock.Clock
	// RetryAfter is the pushback a refusal asks for when its gate gives
	// none. If zero, DefaultServerPushback.
	RetryAfter time.Duration
}

type serverGuard struct {
	opts ServerOptions
	key  func(string) policy.PolicyKey
}

func newServerGuard(opts ServerOptions) *serverGuard {
	if opts.Provider == nil {
		panic("regogrpc: server interceptor without a Provider")
	}
	if opts.Gates == nil {
		opts.Gates = admission.NewGates(opts.Clock)
	}
	if opts.Clock == nil {
		opts.Clock = clock.Real{}
	}
	if opts.RetryAfter <= 0 {
		opts.RetryAfter = DefaultServerPushback
	}
	g := &serverGuard{opts: opts, key: opts.KeyFunc}
	if g.key == nil {
		g.key = MethodKey
	}
	return g
}

// admit runs the gates for a call of method. On refusal it returns the
// status error to answer with and the pushback trailer to send.
func (g *serverGuard) admit(ctx context.Context, method string) (context.Context, admission.Ticket, time.Time, metadata.MD, error) {
	key := g.key(method)
	p := admission.Policy(ctx, g.opts.Provider, key)
	crit, fromMD := IncomingCriticality(ctx)
	if !fromMD {
		crit = gate.CriticalityFrom(ctx)
	}
	start := g.opts.Clock.Now()
	t, err := g.opts.Gates.Admit(ctx, gate.Attempt{Key: key, Policy: p, Criticality: crit}, start)
	if err != nil {
		code := codes.Unavailable
		if admission.RateLimited(err) {
			code = codes.ResourceExhausted
		}
		ms := admission.RetryAfter(err, g.opts.RetryAfter).Milliseconds()
		if ms < 1 {
			ms = 1
		}
		return ctx, t, start, metadata.Pairs(PushbackKey, strconv.FormatInt(ms, 10)),
			status.Error(code, fmt.Sprintf("regogrpc: call refused: %v", err))
	}
	if fromMD {
		ctx = gate.WithCriticality(ctx, crit)
	}
	return ctx, t, start, nil, nil
}

// done completes the call's permits with its result.
func (g *serverGuard) done(t *admission.Ticket, start time.Time, v gate.Verdict) {
	end := g.opts.Clock.Now()
	t.Done(gate.Result{Verdict: v, Latency: end.Sub(start), End: end})
}

// serverVerdict says what a handler's error tells the adaptive limit:
// overload and unavailability are drops, cancellation says nothing.
func serverVerdict(err error) gate.Verdict {
	if err == nil {
		return gate.Answered
	}
	switch status.Code(err) {
	case codes.Unavailable, codes.ResourceExhausted, codes.DeadlineExceeded, codes.Internal, codes.Unknown:
		return gate.Failed
	case codes.Canceled:
		return gate.Cancelled
	}
	return gate.Answered
}

// UnaryServerInterceptor applies the overload gates of each call's method
// key before its handler runs: load shedding by the call's criticality
// (the rego-criticality metadata, else the context's), the rate limiter,
// the bulkhead (whose queue may make a call wait, never past its
// deadline) and the adaptive concurrency limit. A refused call never
// reaches the handler: it ends with RESOURCE_EXHAUSTED (the rate limiter)
// or UNAVAILABLE (every other gate) and the trailer
// grpc-retry-pushback-ms, which a regogrpc client honours as its next
// wait. The handler's latency and error (UNAVAILABLE, RESOURCE_EXHAUSTED,
// DEADLINE_EXCEEDED, INTERNAL and UNKNOWN count as drops) feed the
// adaptive limit. Every call counts as a first attempt, retries included.
func UnaryServerInterceptor(opts ServerOptions) grpc.UnaryServerInterceptor {
	g := newServerGuard(opts)
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (resp any, err error) {
		ctx, t, start, trailer, err := g.admit(ctx, info.FullMethod)
		if err != nil {
			_ = grpc.SetTrailer(ctx, trailer)
			return nil, err
		}
		v := gate.Cancelled // a panic
		defer func() { g.done(&t, start, v) }()
		resp, err = handler(ctx, req)
		v = serverVerdict(err)
		return resp, err
	}
}

// StreamServerInterceptor is UnaryServerInterceptor for streams: the gates
// admit a stream when it opens, and its permits are held until the
// handler returns.
func StreamServerInterceptor(opts ServerOptions) grpc.StreamServerInterceptor {
	g := newServerGuard(opts)
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) (err error) {
		ctx, t, start, trailer, err := g.admit(ss.Context(), info.FullMethod)
		if err != nil {
			ss.SetTrailer(trailer)
			return err
		}
		if ctx != ss.Context() {
			ss = &ctxStream{ServerStream: ss, ctx: ctx}
		}
		v := gate.Cancelled
		defer func() { g.done(&t, start, v) }()
		err = handler(srv, ss)
		v = serverVerdict(err)
		return err
	}
}

// ctxStream is a server stream whose context carries the criticality.
type ctxStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *ctxStream) Context() context.Context { return s.ctx }
