package regogrpc

import (
	"context"
	"errors"
	"reflect"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aponysus/rego/classify"
	"github.com/aponysus/rego/retry"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// UnaryClientInterceptor returns an interceptor that runs unary calls under
// the policy of their method's key.
//
// Each attempt gets the attempt's context: its deadline is the policy's
// TimeoutPerAttempt when set, bounded by the caller's deadline and the
// policy's OverallTimeout, and gRPC sends it to the server as the call's
// timeout. The caller's grpc.Header, grpc.Trailer and grpc.Peer options get
// the metadata and peer of the attempt whose result the call returns.
// When hedges run concurrently, each decodes into its own reply message and
// the winner's is copied into the caller's reply.
//
// An attempt that received the response headers before it failed is not
// retried: gRFC A6 commits a call when its headers arrive, and so does
// grpc-go's own retry. Only failures without headers (trailers-only
// responses, and calls that never reached a server) are retried.
func UnaryClientInterceptor(opts Options) grpc.UnaryClientInterceptor {
	cfg := newConfig(opts)
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, callOpts ...grpc.CallOption) error {
		if cfg.filter != nil && !cfg.filter(method) {
			return invoker(ctx, method, req, reply, cc, callOpts...)
		}
		u := newUnaryCall()
		u.ctx, u.cfg, u.method, u.req, u.reply, u.cc, u.invoker = ctx, cfg, method, req, reply, cc, invoker
		u.splitOptions(callOpts)
		a, _, err := retry.DoValueWith[*unaryAttempt](ctx, cfg.executor(), cfg.keyFor(method), u.op, retry.CallOptions[*unaryAttempt]{})
		// The caller's reply is the caller's again: no attempt still
		// running (a cancelled hedge, one launched as the call ended) may
		// claim it or be decoding into it once the call returns.
		u.closeReply()
		if a != nil {
			u.deliver(a, err == nil)
			if err != nil && a.outlasts {
				err = pushbackDeadlineError(a.err)
				u.recycle()
				return err
			}
		}
		err = callError(err)
		u.recycle()
		return err
	}
}

// unaryCall is the state of one intercepted unary call. Calls whose
// attempts all ran within the interceptor's call to the executor are
// reused (see recycle): a call then allocates no state of its own.
type unaryCall struct {
	ctx     context.Context // the caller's
	cfg     *config
	method  string
	req     any
	reply   any
	cc      *grpc.ClientConn
	invoker grpc.UnaryInvoker
	opts    []grpc.CallOption // the caller's, without the ones below

	callerOutputs

	// op is the operation the executor runs: u.attempt, made once for the
	// life of the (reused) call state rather than per call.
	op func(context.Context) (*unaryAttempt, error)

	started atomic.Int32 // attempts started
	// inline is set by a first attempt whose context ends exactly when
	// the caller's does (the same Done channel): one the executor cannot
	// cancel alone, so not a hedge, and the call runs its attempts one at
	// a time within DoValueWith. Hedged calls give every attempt a context
	// of its own, which may outlive the call: their state is not reused.
	inline atomic.Bool

	// The caller's reply is decoded into by one attempt at a time; attempts
	// that start while it is in use (hedges) decode into their own. The
	// state is atomic so that a call without hedges takes no lock; mu
	// guards replyFreed, which only a delivery waiting for a hedge needs.
	replyState atomic.Int32
	mu         sync.Mutex
	replyFreed chan struct{} // closed when the reply is released, if awaited

	// inlineAttempts hold the first attempt's state and, in a call whose
	// attempts run inline, those of the later ones, alternately: the
	// executor keeps only the latest value while the next attempt runs (to
	// return should that one produce none), so the slot of the attempt
	// before it is free. Attempts of other calls get states of their own.
	inlineAttempts [2]unaryAttempt
}

// The states of the caller's reply message.
const (
	replyFree    = iota // no attempt decodes into it
	replyBusy           // an attempt decodes into it
	replyAwaited        // an attempt decodes into it and deliver waits
	replyClosed         // the call is returning: no attempt may claim it
)

// unaryCalls holds the states of calls that have returned, for reuse.
var unaryCalls sync.Pool

func newUnaryCall() *unaryCall {
	if u, ok := unaryCalls.Get().(*unaryCall); ok {
		return u
	}
	u := &unaryCall{}
	u.op = u.attempt
	return u
}

// recycle hands the state of a call that has returned back for reuse, if
// nothing can still reach it: no attempt of the call runs any longer (it
// ran inline) and nothing the call returned points into it. The executor
// and gRPC forget the attempt's context, options and metadata addresses
// once the attempt returns; the context the attempts ran under is the
// caller's, not this state, so a context kept past the call stays valid.
func (u *unaryCall) recycle() {
	if !u.inline.Load() {
		return
	}
	op := u.op
	*u = unaryCall{}
	u.op = op
	unaryCalls.Put(u)
}

// unaryAttempt is the value of one attempt.
type unaryAttempt struct {
	call    *unaryCall
	reply   any
	header  metadata.MD
	trailer metadata.MD
	peer    *peer.Peer // only when the caller asked for the peer
	err     error      // the attempt's status error, unmarked
	// optBuf holds the options of the common call: one of the caller's
	// (generated clients pass grpc.StaticMethod), the header and the trailer.
	optBuf      [3]grpc.CallOption
	owner       bool // reply is the caller's
	ownDeadline bool
	committed   bool // the response headers had arrived: gRFC A6 commit
	outlasts    bool // its pushback would end after the caller's deadline
}

// facts is safe on a nil attempt, for the classifier's sake.
func (a *unaryAttempt) facts() (string, metadata.MD, bool, bool) {
	if a == nil {
		return "", nil, false, false
	}
	return a.call.method, a.trailer, a.ownDeadline, a.committed
}

// splitOptions takes out the options through which gRPC hands back
// per-attempt results: concurrent attempts would race on them, and the
// caller wants those of the attempt whose result it gets.
func (u *unaryCall) splitOptions(opts []grpc.CallOption) {
	u.opts = u.callerOutputs.split(opts)
}

func (u *unaryCall) attempt(actx context.Context) (*unaryAttempt, error) {
	n := int(u.started.Add(1)) - 1
	var a *unaryAttempt
	switch {
	case n == 0:
		a = &u.inlineAttempts[0]
		if actx.Done() == u.ctx.Done() {
			u.inline.Store(true)
		}
	case u.inline.Load():
		a = &u.inlineAttempts[n%2]
		*a = unaryAttempt{}
	default:
		a = &unaryAttempt{}
	}
	a.call = u
	reply, owner, err := u.claimReply()
	if err != nil {
		a.err = err
		v, _ := u.cfg.cls.judge(nil, false, err)
		return a, mark(v, err)
	}
	a.reply, a.owner = reply, owner
	if owner {
		// Deferred so that a panicking invoker cannot leave deliver waiting.
		defer u.releaseReply()
	}
	// The header tells a committed failure from a retryable one and the
	// trailer holds the pushback, so every attempt asks for both.
	need := len(u.opts) + 2
	if u.peerAddr != nil {
		need++
	}
	opts := a.optBuf[:0]
	if need > len(a.optBuf) {
		opts = make([]grpc.CallOption, 0, need)
	}
	opts = append(opts, u.opts...)
	opts = append(opts, grpc.Header(&a.header), grpc.Trailer(&a.trailer))
	if u.peerAddr != nil {
		a.peer = &peer.Peer{}
		opts = append(opts, grpc.Peer(a.peer))
	}
	err = u.invoker(withPreviousAttempts(actx, n), u.method, u.req, reply, u.cc, opts...)
	if err == nil {
		return a, nil
	}
	a.err = err
	// gRPC hands a trailers-only failure no header (nil); one that came
	// after the headers gets them, empty or not.
	a.committed = a.header != nil
	a.ownDeadline = ownDeadline(u.ctx, actx, err)
	v, _ := u.cfg.cls.judge(a.trailer, a.ownDeadline, err)
	if a.committed && v.kind == classify.OutcomeRetryable {
		v = verdict{kind: classify.OutcomeNonRetryable, reason: ReasonCommitted}
	}
	if v.delay > 0 {
		a.outlasts = outlastsDeadline(u.ctx, v.delay)
	}
	return a, mark(v, err)
}

// ownDeadline reports whether err is the attempt's own deadline firing:
// DEADLINE_EXCEEDED while the attempt's deadline has passed and the
// caller's has not. The wall-clock comparison covers the moment when gRPC
// (or the server, whose copy of the deadline fires no earlier) has already
// reported the deadline but the context's timer has not yet marked it done.
func ownDeadline(caller, attempt context.Context, err error) bool {
	if status.Code(err) != codes.DeadlineExceeded || caller.Err() != nil {
		return false
	}
	now := time.Now()
	if cdl, ok := caller.Deadline(); ok && !now.Before(cdl) {
		return false
	}
	if errors.Is(attempt.Err(), context.DeadlineExceeded) {
		return true
	}
	dl, ok := attempt.Deadline()
	return ok && !now.Before(dl)
}

var errReplyNotPointer = status.Error(codes.Internal, "regogrpc: concurrent attempts need a pointer reply message")

// claimReply returns the message the attempt decodes into: the caller's
// when no other attempt uses it (owner true), else a new one of its type.
func (u *unaryCall) claimReply() (reply any, owner bool, err error) {
	if u.replyState.CompareAndSwap(replyFree, replyBusy) {
		return u.reply, true, nil
	}
	if m, ok := u.reply.(proto.Message); ok {
		return m.ProtoReflect().New().Interface(), false, nil
	}
	v := reflect.ValueOf(u.reply)
	if v.Kind() != reflect.Pointer || v.IsNil() {
		return nil, false, errReplyNotPointer
	}
	return reflect.New(v.Type().Elem()).Interface(), false, nil
}

// releaseReply hands the caller's reply back, waking a delivery waiting
// for it.
func (u *unaryCall) releaseReply() {
	if u.replyState.CompareAndSwap(replyBusy, replyFree) {
		return
	}
	// Awaited: awaitReply holds mu from marking the state until replyFreed
	// is set, so replyFreed is there once mu is ours.
	u.mu.Lock()
	u.replyState.Store(replyFree)
	close(u.replyFreed)
	u.replyFreed = nil
	u.mu.Unlock()
}

// closeReply returns once no attempt decodes into the caller's reply, and
// keeps any attempt from claiming it from then on.
func (u *unaryCall) closeReply() {
	for !u.replyState.CompareAndSwap(replyFree, replyClosed) {
		if u.replyState.Load() == replyClosed {
			return
		}
		u.awaitReply()
	}
}

// awaitReply returns once no attempt decodes into the caller's reply.
func (u *unaryCall) awaitReply() {
	u.mu.Lock()
	if !u.replyState.CompareAndSwap(replyBusy, replyAwaited) {
		u.mu.Unlock()
		return
	}
	freed := make(chan struct{})
	u.replyFreed = freed
	u.mu.Unlock()
	<-freed
}

// deliver hands the caller what the returned attempt produced, once
// closeReply has made sure no attempt writes the caller's reply: an attempt
// that decoded into its own reply is copied into it.
func (u *unaryCall) deliver(a *unaryAttempt, ok bool) {
	if u.headerAddr != nil {
		*u.headerAddr = a.header
	}
	if u.trailerAddr != nil {
		*u.trailerAddr = a.trailer
	}
	if u.peerAddr != nil {
		if a.peer != nil {
			*u.peerAddr = *a.peer
		} else {
			*u.peerAddr = peer.Peer{} // the attempt never reached gRPC
		}
	}
	if !ok || a.owner || a.reply == nil {
		return
	}
	if dst, isProto := u.reply.(proto.Message); isProto {
		proto.Reset(dst)
		proto.Merge(dst, a.reply.(proto.Message))
		return
	}
	reflect.ValueOf(u.reply).Elem().Set(reflect.ValueOf(a.reply).Elem())
}
