package regogrpc

import (
	"context"
	"errors"
	"io"
	"sync"

	"github.com/aponysus/rego/classify"
	"github.com/aponysus/rego/policy"
	"github.com/aponysus/rego/retry"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// StreamClientInterceptor returns an interceptor that runs streaming calls
// under the policy of their method's key, retrying them only before they
// commit (gRFC A6).
//
// The stream it returns stands in for the attempts until one commits (its
// response headers arrive, or the buffer of sent messages fills up); from
// then on every method goes straight to the committed attempt's stream, so
// its messages and its errors reach the caller unchanged. Until commit,
// RecvMsg and Header wait for the retries to settle; SendMsg buffers each
// message (a copy, for proto messages) and sends it to the live attempt;
// CloseSend is remembered and replayed too.
//
// The policy's TimeoutPerAttempt and OverallTimeout bound the time to
// commit, not the life of the committed stream (a watch stream may run for
// hours); the caller's context bounds everything and its deadline is sent
// to the server. The first attempt is created before the interceptor
// returns, so that a call whose every attempt fails to start fails in
// NewStream, as without the interceptor. Until commit a goroutine per call
// runs the retries.
func StreamClientInterceptor(opts Options) grpc.StreamClientInterceptor {
	cfg := newConfig(opts)
	return func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, callOpts ...grpc.CallOption) (grpc.ClientStream, error) {
		if cfg.filter != nil && !cfg.filter(method) {
			return streamer(ctx, desc, cc, method, callOpts...)
		}
		c := &streamCall{
			cfg: cfg, ctx: ctx, desc: desc, cc: cc, method: method, streamer: streamer,
			ready: make(chan struct{}), done: make(chan struct{}),
		}
		c.splitOptions(callOpts)
		var rctx context.Context
		rctx, c.endRetries = context.WithCancel(ctx)
		go c.run(rctx, cfg.executor(), cfg.keyFor(method))
		<-c.ready
		c.mu.Lock()
		failed := c.finished && c.committed == nil
		last, err := c.last, c.err
		c.mu.Unlock()
		if failed {
			c.rethrow()
			c.deliver(last)
			return nil, err
		}
		return c, nil
	}
}

// errSuperseded ends an attempt whose call has committed to another one.
var errSuperseded = status.Error(codes.Canceled, "regogrpc: attempt superseded by the committed attempt")

// errNotReplayable ends a retry that cannot resend what the caller sent:
// the buffer overflowed while no attempt was live to commit to.
var errNotReplayable = status.Error(codes.Unavailable, "regogrpc: stream not retried: sent messages exceeded the replay buffer")

// streamCall is the stream handed to the caller, and the state of the call.
type streamCall struct {
	cfg      *config
	ctx      context.Context
	desc     *grpc.StreamDesc
	cc       *grpc.ClientConn
	method   string
	streamer grpc.Streamer
	opts     []grpc.CallOption

	callerOutputs

	ready     chan struct{} // closed once an attempt is live, or the call is over
	readyOnce sync.Once
	done      chan struct{} // closed when the retries have settled
	// endRetries cancels the retries' context: an overflow with no live
	// attempt leaves nothing to wait for, not even a pending backoff.
	endRetries context.CancelFunc

	mu        sync.Mutex
	buf       []any // messages sent before commit, for replay
	bufBytes  int
	closeSent bool
	live      []*streamAttempt // attempts started and not yet settled
	committed *streamAttempt
	overflow  bool // a message was neither buffered nor sent: no more attempts
	started   int
	last      *streamAttempt // the last attempt that failed before commit
	finished  bool           // the retries have settled
	err       error          // the call's error when nothing committed
	panicked  any            // a panic from the retries, re-raised to the caller
}

// streamAttempt is one attempt's stream.
type streamAttempt struct {
	call        *streamCall
	cs          grpc.ClientStream
	cancel      context.CancelFunc
	stop        func() bool // detaches the stream from the attempt's context
	header      metadata.MD
	trailer     metadata.MD
	peer        peer.Peer
	err         error
	ownDeadline bool
	dead        bool // a send failed: the stream is over
	ended       bool // committed as a stream that ended OK without headers
}

// facts is safe on a nil attempt: an attempt that ends before it starts a
// stream (the call committed to another, or cannot be replayed) has no
// value, and the classifier a policy names still judges it.
func (a *streamAttempt) facts() (string, metadata.MD, bool, bool) {
	if a == nil {
		return "", nil, false, false
	}
	return a.call.method, a.trailer, a.ownDeadline, false
}

func (c *streamCall) splitOptions(opts []grpc.CallOption) {
	c.opts = c.callerOutputs.split(opts)
}

func (c *streamCall) markReady() { c.readyOnce.Do(func() { close(c.ready) }) }

// run drives the retries until an attempt commits or the call fails.
func (c *streamCall) run(ctx context.Context, exec *retry.Executor, key policy.PolicyKey) {
	var err error
	defer func() {
		v := recover()
		c.endRetries()
		c.mu.Lock()
		c.panicked = v
		if c.committed == nil {
			c.finished = true
			if c.overflow && c.ctx.Err() == nil {
				// The overflow ended the retries: the call ends with the
				// error it would have ended with on its next attempt.
				err = classify.Permanent(c.notReplayableLocked())
			}
			c.err = callError(err)
			if c.err == nil {
				c.err = status.Error(codes.Internal, "regogrpc: stream call ended without an attempt")
			}
		}
		c.mu.Unlock()
		c.markReady()
		close(c.done)
	}()
	_, _, err = retry.DoValueWith(ctx, exec, key, c.attempt, retry.CallOptions[*streamAttempt]{Discard: c.discard})
}

// notReplayableLocked is the error of a call whose sent messages overflowed
// the replay buffer with no attempt to commit to: the last attempt's
// failure, which the caller would have got without retries.
func (c *streamCall) notReplayableLocked() error {
	if c.last != nil && c.last.err != nil {
		return c.last.err
	}
	return errNotReplayable
}

// rethrow re-raises, in the caller's goroutine, a panic the retries
// recovered (the executor's RecoverPanics is off).
func (c *streamCall) rethrow() {
	if c.panicked != nil {
		panic(c.panicked)
	}
}

// discard releases an attempt the call will not use.
func (c *streamCall) discard(a *streamAttempt) {
	if a == nil {
		return
	}
	c.mu.Lock()
	mine := c.committed == a
	c.mu.Unlock()
	if !mine && a.cancel != nil {
		a.cancel()
	}
}

// attempt runs one attempt up to commit or failure.
func (c *streamCall) attempt(actx context.Context) (*streamAttempt, error) {
	c.mu.Lock()
	if c.committed != nil {
		c.mu.Unlock()
		return nil, errSuperseded
	}
	if c.overflow {
		err := c.notReplayableLocked()
		c.mu.Unlock()
		return nil, classify.Permanent(err)
	}
	n := c.started
	c.started++
	c.mu.Unlock()

	// The stream lives on the caller's context: a committed stream must
	// outlive the attempt. Until commit the attempt's context (its
	// timeout, a lost hedge, the call ending) cancels it.
	sctx, cancel := context.WithCancel(c.ctx)
	a := &streamAttempt{call: c, cancel: cancel}
	a.stop = context.AfterFunc(actx, cancel)
	opts := c.opts
	if c.peerAddr != nil {
		opts = append(opts[:len(opts):len(opts)], grpc.Peer(&a.peer))
	}
	cs, err := c.streamer(withPreviousAttempts(sctx, n), c.desc, c.cc, c.method, opts...)
	if err != nil {
		return c.fail(actx, a, err)
	}
	a.cs = cs

	c.mu.Lock()
	if c.committed != nil || c.overflow {
		c.mu.Unlock()
		a.stop()
		cancel()
		return a, errSuperseded
	}
	for _, m := range c.buf {
		if cs.SendMsg(m) != nil {
			a.dead = true // Header below reports how the stream ended
			break
		}
	}
	if c.closeSent && !a.dead {
		_ = cs.CloseSend()
	}
	c.live = append(c.live, a)
	c.mu.Unlock()
	c.markReady()

	// Header blocks until the response headers arrive (commit) or the
	// stream ends without them.
	md, _ := cs.Header()

	c.mu.Lock()
	c.removeLive(a)
	switch {
	case c.committed == a: // the buffer filled up and committed to a
		c.mu.Unlock()
		return a, nil
	case c.committed != nil:
		c.mu.Unlock()
		cancel()
		return a, errSuperseded
	case md != nil:
		if !a.stop() {
			// The attempt's context ended as the headers came.
			c.mu.Unlock()
			return c.fail(actx, a, status.FromContextError(actx.Err()).Err())
		}
		a.header = md
		c.commitLocked(a)
		c.mu.Unlock()
		return a, nil
	}
	c.mu.Unlock()

	// No headers: the stream is over and RecvMsg reports its status
	// without touching a message.
	err = cs.RecvMsg(nil)
	if err == io.EOF {
		// A trailers-only OK: the call succeeded without a response.
		c.mu.Lock()
		if c.committed != nil {
			c.mu.Unlock()
			return a, errSuperseded
		}
		a.stop()
		a.ended = true
		c.commitLocked(a)
		c.mu.Unlock()
		return a, nil
	}
	return c.fail(actx, a, err)
}

// fail settles an attempt that ended before commit.
func (c *streamCall) fail(actx context.Context, a *streamAttempt, err error) (*streamAttempt, error) {
	a.stop()
	a.cancel()
	if a.cs != nil {
		a.trailer = a.cs.Trailer()
	}
	code := status.Code(err)
	if (code == codes.Canceled || code == codes.DeadlineExceeded) && c.ctx.Err() == nil &&
		errors.Is(actx.Err(), context.DeadlineExceeded) {
		// The attempt's own timeout cancelled the stream: report it as the
		// deadline it was, which the classifier may retry.
		err = status.Error(codes.DeadlineExceeded, "regogrpc: attempt timed out before the stream committed")
		a.ownDeadline = true
	}
	a.err = err
	c.mu.Lock()
	c.last = a
	c.mu.Unlock()
	v, _ := c.cfg.cls.judge(a.trailer, a.ownDeadline, err)
	return a, mark(v, err)
}

func (c *streamCall) removeLive(a *streamAttempt) {
	for i, l := range c.live {
		if l == a {
			c.live = append(c.live[:i], c.live[i+1:]...)
			return
		}
	}
}

// commitLocked makes a the call's stream and cancels every other attempt.
func (c *streamCall) commitLocked(a *streamAttempt) {
	c.committed = a
	c.buf, c.bufBytes = nil, 0
	for _, l := range c.live {
		if l != a {
			l.cancel()
		}
	}
	c.live = nil
}

// wait blocks until the retries have settled and returns the committed
// attempt, or the call's error.
func (c *streamCall) wait() (*streamAttempt, error) {
	<-c.done
	c.rethrow()
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.committed, c.err
}

// deliver fills the caller's Header, Trailer and Peer call options from a
// finished attempt, as gRPC does when a stream finishes.
func (c *streamCall) deliver(a *streamAttempt) {
	if a == nil {
		return
	}
	if c.headerAddr != nil {
		*c.headerAddr = a.header
	}
	if c.trailerAddr != nil {
		if a.cs != nil {
			*c.trailerAddr = a.cs.Trailer()
		} else {
			*c.trailerAddr = a.trailer
		}
	}
	if c.peerAddr != nil {
		*c.peerAddr = a.peer
	}
}

// SendMsg sends m. Before commit it buffers m for replay and sends it to
// the live attempts; the message that overflows the buffer commits the
// call to the oldest live attempt.
func (c *streamCall) SendMsg(m any) error {
	c.mu.Lock()
	if a := c.committed; a != nil {
		c.mu.Unlock()
		return a.cs.SendMsg(m)
	}
	if c.finished || c.overflow {
		// The call is over (or can no longer be retried and has no live
		// attempt): RecvMsg reports how it ended.
		c.mu.Unlock()
		return io.EOF
	}
	size := 0
	pm, isProto := m.(proto.Message)
	if isProto {
		size = proto.Size(pm)
	}
	if len(c.buf) >= c.cfg.bufMsgs || c.bufBytes+size > c.cfg.bufBytes {
		// gRFC A6: what the buffer cannot hold commits the call.
		for _, a := range c.live {
			if a.stop() {
				c.commitLocked(a)
				c.mu.Unlock()
				return a.cs.SendMsg(m)
			}
		}
		// No attempt is live to commit to (the retries are waiting out a
		// backoff or a pushback, or starting an attempt): the call cannot
		// be retried and ends now, with the last attempt's error.
		c.overflow = true
		c.mu.Unlock()
		c.endRetries()
		return io.EOF
	}
	kept := m
	if isProto {
		// The caller may reuse m once SendMsg returns.
		kept = proto.Clone(pm)
	}
	c.buf = append(c.buf, kept)
	c.bufBytes += size
	for _, a := range c.live {
		if !a.dead && a.cs.SendMsg(m) != nil {
			// The attempt is over; the message stays buffered for the
			// next one, if the failure is retried.
			a.dead = true
		}
	}
	c.mu.Unlock()
	return nil
}

// CloseSend closes the send direction, now on the committed attempt or
// later on each attempt, after its replay.
func (c *streamCall) CloseSend() error {
	c.mu.Lock()
	if a := c.committed; a != nil {
		c.mu.Unlock()
		return a.cs.CloseSend()
	}
	c.closeSent = true
	for _, a := range c.live {
		if !a.dead {
			_ = a.cs.CloseSend()
		}
	}
	c.mu.Unlock()
	return nil
}

// RecvMsg waits for commit and then receives from the committed stream.
// A call that failed before commit returns its error here.
func (c *streamCall) RecvMsg(m any) error {
	a, err := c.wait()
	if a == nil {
		c.mu.Lock()
		last := c.last
		c.mu.Unlock()
		c.deliver(last)
		return err
	}
	if a.ended {
		c.deliver(a)
		return io.EOF
	}
	err = a.cs.RecvMsg(m)
	if err != nil || !c.desc.ServerStreams {
		// The stream is over (a single-response stream ends with its
		// message): release its context.
		a.cancel()
		c.deliver(a)
	}
	return err
}

// Header waits for commit and returns the committed attempt's headers.
// As with gRPC's own streams, nil headers and a nil error mean the stream
// ended without headers; RecvMsg reports its status.
func (c *streamCall) Header() (metadata.MD, error) {
	a, _ := c.wait()
	if a == nil || a.header == nil {
		return nil, nil
	}
	return a.header.Copy(), nil
}

// Trailer returns the trailer of the committed attempt, or of the last
// attempt when the call failed before commit. Like gRPC's, it is only
// meaningful once RecvMsg has returned an error.
func (c *streamCall) Trailer() metadata.MD {
	c.mu.Lock()
	a, last := c.committed, c.last
	c.mu.Unlock()
	switch {
	case a != nil:
		return a.cs.Trailer()
	case last != nil:
		return last.trailer
	}
	return nil
}

// Context returns the committed attempt's stream context, or the caller's
// context before commit.
func (c *streamCall) Context() context.Context {
	c.mu.Lock()
	a := c.committed
	c.mu.Unlock()
	if a != nil {
		return a.cs.Context()
	}
	return c.ctx
}
