package regogrpc_test

import (
	"context"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/aponysus/rego/controlplane"
	regogrpc "github.com/aponysus/rego/integrations/grpc"
	"github.com/aponysus/rego/observe"
	"github.com/aponysus/rego/policy"
	"github.com/aponysus/rego/regotest"
	"github.com/aponysus/rego/retry"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/test/bufconn"
)

// noDeadline marks a call that arrived without a deadline.
const noDeadline = time.Duration(1<<63 - 1)

// testServer is a TestService whose handlers run per-test scripts. Each
// handler learns its attempt number n (0 for the first call of that
// method) and records what the client sent.
type testServer struct {
	testgrpc.UnimplementedTestServiceServer

	unary func(ctx context.Context, n int, req *testgrpc.SimpleRequest) (*testgrpc.SimpleResponse, error)
	out   func(ctx context.Context, n int, req *testgrpc.StreamingOutputCallRequest, send func(*testgrpc.StreamingOutputCallResponse) error) error
	bidi  func(n int, st grpc.BidiStreamingServer[testgrpc.StreamingOutputCallRequest, testgrpc.StreamingOutputCallResponse]) error
	in    func(n int, st grpc.ClientStreamingServer[testgrpc.StreamingInputCallRequest, testgrpc.StreamingInputCallResponse]) error

	mu        sync.Mutex
	calls     map[string]int
	attempts  []string        // grpc-previous-rpc-attempts of each call, "" when absent
	deadlines []time.Duration // time left on each call's deadline, noDeadline when none
}

func (s *testServer) record(ctx context.Context, method string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.calls == nil {
		s.calls = map[string]int{}
	}
	n := s.calls[method]
	s.calls[method]++
	md, _ := metadata.FromIncomingContext(ctx)
	v := ""
	if vals := md.Get(regogrpc.PreviousAttemptsKey); len(vals) > 0 {
		v = vals[0]
	}
	s.attempts = append(s.attempts, v)
	left := noDeadline
	if dl, ok := ctx.Deadline(); ok {
		left = time.Until(dl)
	}
	s.deadlines = append(s.deadlines, left)
	return n
}

func (s *testServer) count(method string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[method]
}

func (s *testServer) seenAttempts() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.attempts...)
}

func (s *testServer) seenDeadlines() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.deadlines...)
}

func (s *testServer) UnaryCall(ctx context.Context, req *testgrpc.SimpleRequest) (*testgrpc.SimpleResponse, error) {
	n := s.record(ctx, "UnaryCall")
	if s.unary != nil {
		return s.unary(ctx, n, req)
	}
	return &testgrpc.SimpleResponse{Payload: req.GetPayload()}, nil
}

func (s *testServer) StreamingOutputCall(req *testgrpc.StreamingOutputCallRequest, st grpc.ServerStreamingServer[testgrpc.StreamingOutputCallResponse]) error {
	n := s.record(st.Context(), "StreamingOutputCall")
	if s.out != nil {
		return s.out(st.Context(), n, req, st.Send)
	}
	for range req.GetResponseParameters() {
		if err := st.Send(&testgrpc.StreamingOutputCallResponse{Payload: req.GetPayload()}); err != nil {
			return err
		}
	}
	return nil
}

func (s *testServer) FullDuplexCall(st grpc.BidiStreamingServer[testgrpc.StreamingOutputCallRequest, testgrpc.StreamingOutputCallResponse]) error {
	n := s.record(st.Context(), "FullDuplexCall")
	if s.bidi != nil {
		return s.bidi(n, st)
	}
	return echo(st)
}

func (s *testServer) StreamingInputCall(st grpc.ClientStreamingServer[testgrpc.StreamingInputCallRequest, testgrpc.StreamingInputCallResponse]) error {
	n := s.record(st.Context(), "StreamingInputCall")
	if s.in != nil {
		return s.in(n, st)
	}
	return sum(st)
}

// echo answers every request with its payload.
func echo(st grpc.BidiStreamingServer[testgrpc.StreamingOutputCallRequest, testgrpc.StreamingOutputCallResponse]) error {
	for {
		req, err := st.Recv()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if err := st.Send(&testgrpc.StreamingOutputCallResponse{Payload: req.GetPayload()}); err != nil {
			return err
		}
	}
}

// sum answers with the total size of the payloads received.
func sum(st grpc.ClientStreamingServer[testgrpc.StreamingInputCallRequest, testgrpc.StreamingInputCallResponse]) error {
	total := 0
	for {
		req, err := st.Recv()
		if err == io.EOF {
			return st.SendAndClose(&testgrpc.StreamingInputCallResponse{AggregatedPayloadSize: int32(total)})
		}
		if err != nil {
			return err
		}
		total += len(req.GetPayload().GetBody())
	}
}

// dial starts srv on an in-memory listener and returns a client whose
// connection runs through the interceptors built from opts.
func dial(t testing.TB, srv *testServer, opts regogrpc.Options) testgrpc.TestServiceClient {
	t.Helper()
	lis := bufconn.Listen(1 << 20)
	return connect(t, srv, lis, "passthrough:///bufnet", opts,
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }))
}

// timelines collects the timelines of finished calls.
type timelines struct {
	observe.BaseObserver
	mu  sync.Mutex
	all []observe.Timeline
}

func (o *timelines) OnSuccess(_ context.Context, _ policy.PolicyKey, tl observe.Timeline) {
	o.add(tl)
}

func (o *timelines) OnFailure(_ context.Context, _ policy.PolicyKey, tl observe.Timeline) {
	o.add(tl)
}

func (o *timelines) add(tl observe.Timeline) {
	o.mu.Lock()
	o.all = append(o.all, tl)
	o.mu.Unlock()
}

func (o *timelines) last(t testing.TB) observe.Timeline {
	t.Helper()
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.all) == 0 {
		t.Fatal("no timeline recorded")
	}
	return o.all[len(o.all)-1]
}

// executor returns an executor running every key under p on a virtual
// clock, so that backoffs and pushbacks cost no real time.
func executor(p policy.EffectivePolicy, obs observe.Observer, clk *regotest.Clock) *retry.Executor {
	if clk == nil {
		clk = regotest.NewAutoClock(time.Time{})
	}
	return retry.NewExecutor(retry.ExecutorOptions{
		Provider: &controlplane.StaticProvider{Default: p},
		Observer: obs,
		Clock:    clk,
	})
}

// retries is a policy of n attempts with short backoffs.
func retries(n int) policy.EffectivePolicy {
	var p policy.EffectivePolicy
	p.Retry.MaxAttempts = n
	p.Retry.InitialBackoff = 10 * time.Millisecond
	p.Retry.MaxBackoff = time.Second
	p.Retry.Jitter = policy.JitterNone
	return p
}

func insecureCreds() credentials.TransportCredentials { return insecure.NewCredentials() }
