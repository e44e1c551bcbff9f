package benchmarks

import (
	"context"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	grpcretry "github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/retry"

	"github.com/aponysus/rego/controlplane"
	regogrpc "github.com/aponysus/rego/integrations/grpc"
	"github.com/aponysus/rego/policy"
	"github.com/aponysus/rego/regotest"
	"github.com/aponysus/rego/retry"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"
)

// The gRPC benchmarks call the standard health service, which ships with
// grpc-go, so no generated code is needed. lib=rego wraps a plain unary
// call in retry.DoValue; lib=rego-interceptor installs rego's unary client
// interceptor (module integrations/grpc) on the connection; grpc-go
// retries by itself under this service config. grpc-go requires a positive initial
// backoff; 1ns makes its randomised wait zero, like the other scenarios.
const grpcRetryConfig = `{
  "methodConfig": [{
    "name": [{"service": "grpc.health.v1.Health"}],
    "retryPolicy": {
      "maxAttempts": 3,
      "initialBackoff": "0.000000001s",
      "maxBackoff": "0.000000001s",
      "backoffMultiplier": 1,
      "retryableStatusCodes": ["UNAVAILABLE"]
    }
  }]
}`

// flakyHealth answers Check; with failOdd set it fails every other
// request (the first attempt of each sequential call) with UNAVAILABLE.
type flakyHealth struct {
	healthpb.UnimplementedHealthServer
	failOdd  bool
	requests atomic.Int64
}

var (
	okResponse    = &healthpb.HealthCheckResponse{Status: healthpb.HealthCheckResponse_SERVING}
	errUnavailble = status.Error(codes.Unavailable, "benchmarks: injected unavailability")
)

func (h *flakyHealth) Check(context.Context, *healthpb.HealthCheckRequest) (*healthpb.HealthCheckResponse, error) {
	n := h.requests.Add(1)
	if h.failOdd && n%2 == 1 {
		return nil, errUnavailble
	}
	return okResponse, nil
}

// startGRPC serves h over an in-memory listener until b ends, and returns
// a function that opens client connections to it with extra options.
func startGRPC(b *testing.B, h *flakyHealth) func(opts ...grpc.DialOption) healthpb.HealthClient {
	lis := bufconn.Listen(1 << 20)
	srv := grpc.NewServer()
	healthpb.RegisterHealthServer(srv, h)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		_ = srv.Serve(lis)
	}()
	b.Cleanup(func() {
		srv.Stop()
		wg.Wait()
	})
	dial := func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }
	return func(opts ...grpc.DialOption) healthpb.HealthClient {
		opts = append([]grpc.DialOption{
			grpc.WithContextDialer(dial),
			grpc.WithTransportCredentials(insecure.NewCredentials()),
		}, opts...)
		conn, err := grpc.NewClient("passthrough:///bufnet", opts...)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = conn.Close() })
		return healthpb.NewHealthClient(conn)
	}
}

// grpcCase runs sequential Check calls through call, after one warm-up
// call that establishes the connection, and checks the server saw
// perCall requests for each.
func grpcCase(b *testing.B, h *flakyHealth, perCall int64, call func(ctx context.Context) error) {
	ctx := context.Background()
	if err := call(ctx); err != nil {
		b.Fatal(err)
	}
	h.requests.Store(0)
	b.ReportAllocs()
	b.ResetTimer()
	cpu := startCPU()
	for i := 0; i < b.N; i++ {
		if err := call(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	cpu.report(b)
	expect(b, "requests", h.requests.Load(), perCall*int64(b.N))
}

// regoGRPC returns a call running client.Check through a rego executor
// allowing three attempts, on a clock that does not sleep.
func regoGRPC(client healthpb.HealthClient) func(ctx context.Context) error {
	exec := newRego(policy.RetryPolicy{MaxAttempts: attempts}, retry.ExecutorOptions{Clock: regotest.InstantClock{}})
	req := &healthpb.HealthCheckRequest{}
	op := func(ctx context.Context) (*healthpb.HealthCheckResponse, error) { return client.Check(ctx, req) }
	return func(ctx context.Context) error {
		_, err := retry.DoValue(ctx, exec, benchKey, op)
		return err
	}
}

// regoInterceptor returns the dial option installing rego's unary client
// interceptor with its default key (MethodKey, cached per method), the
// health check's key running under a policy of three attempts on a clock
// that does not sleep.
func regoInterceptor() grpc.DialOption {
	return grpc.WithUnaryInterceptor(regoUnaryInterceptor())
}

// regoUnaryInterceptor is the interceptor regoInterceptor installs.
func regoUnaryInterceptor() grpc.UnaryClientInterceptor {
	exec := retry.NewExecutor(retry.ExecutorOptions{
		Provider: &controlplane.StaticProvider{Policies: map[policy.PolicyKey]policy.EffectivePolicy{
			regogrpc.MethodKey(healthpb.Health_Check_FullMethodName): {Retry: policy.RetryPolicy{MaxAttempts: attempts}},
		}},
		Clock: regotest.InstantClock{},
	})
	return regogrpc.UnaryClientInterceptor(regogrpc.Options{Executor: exec})
}

// plainGRPC returns a call running client.Check as it is.
func plainGRPC(client healthpb.HealthClient) func(ctx context.Context) error {
	req := &healthpb.HealthCheckRequest{}
	return func(ctx context.Context) error {
		_, err := client.Check(ctx, req)
		return err
	}
}

// libGRPCMiddleware is go-grpc-middleware v2's retry interceptor.
const libGRPCMiddleware = "lib=go-grpc-middleware"

// middlewareRetry returns the dial option installing go-grpc-middleware's
// retry interceptor: three attempts on UNAVAILABLE, no backoff.
func middlewareRetry() grpc.DialOption {
	return grpc.WithUnaryInterceptor(middlewareInterceptor())
}

// middlewareInterceptor is the interceptor middlewareRetry installs.
func middlewareInterceptor() grpc.UnaryClientInterceptor {
	return grpcretry.UnaryClientInterceptor(
		grpcretry.WithMax(attempts),
		grpcretry.WithCodes(codes.Unavailable),
		grpcretry.WithBackoff(func(context.Context, uint) time.Duration { return 0 }),
	)
}

// grpcLibs returns the gRPC libraries' cases, each call making perCall
// requests; failOdd fails the first attempt of every call.
func grpcLibs(perCall int64, failOdd, withFloor bool) []libCase {
	cases := []libCase{
		{libRego, func(b *testing.B) {
			h := &flakyHealth{failOdd: failOdd}
			client := startGRPC(b, h)(grpc.WithDisableRetry())
			grpcCase(b, h, perCall, regoGRPC(client))
		}},
		{libRegoInterceptor, func(b *testing.B) {
			h := &flakyHealth{failOdd: failOdd}
			client := startGRPC(b, h)(grpc.WithDisableRetry(), regoInterceptor())
			grpcCase(b, h, perCall, plainGRPC(client))
		}},
		{libGRPC, func(b *testing.B) {
			h := &flakyHealth{failOdd: failOdd}
			client := startGRPC(b, h)(grpc.WithDefaultServiceConfig(grpcRetryConfig))
			grpcCase(b, h, perCall, plainGRPC(client))
		}},
		{libGRPCMiddleware, func(b *testing.B) {
			h := &flakyHealth{failOdd: failOdd}
			client := startGRPC(b, h)(grpc.WithDisableRetry(), middlewareRetry())
			grpcCase(b, h, perCall, plainGRPC(client))
		}},
	}
	if withFloor {
		cases = append(cases, libCase{libNone, func(b *testing.B) {
			h := &flakyHealth{}
			client := startGRPC(b, h)(grpc.WithDisableRetry())
			grpcCase(b, h, perCall, plainGRPC(client))
		}})
	}
	return cases
}

// BenchmarkGRPCSuccess is a unary call that succeeds at once. lib=none is
// the bare call with grpc-go's retry disabled: the floor the others add
// to.
func BenchmarkGRPCSuccess(b *testing.B) { runRotated(b, grpcLibs(1, false, true)) }

// BenchmarkGRPCRetry is a unary call whose first attempt fails with
// UNAVAILABLE and whose second succeeds.
func BenchmarkGRPCRetry(b *testing.B) { runRotated(b, grpcLibs(2, true, false)) }

// grpcPairedBlock is how many calls a block of BenchmarkGRPCPairs times:
// a few milliseconds, short enough for the load to change little between
// the two blocks of a pair.
const grpcPairedBlock = 100

// grpcPaired runs blocks of grpcPairedBlock calls of base and of feat
// alternately, the order swapped every round, and reports the medians over
// the rounds of each side's wall time and process CPU time per call
// (base-ns/op, feat-ns/op, base-cpu-ns/op, feat-cpu-ns/op) and of the
// differences within each pair (extra-ns/op, extra-cpu-ns/op). Load from
// other work slows whole blocks, rarely one of a pair more than the
// other, so the differences move far less than separate runs do. b.N
// counts rounds. Both sides call the same server, h, over connections of
// their own: with a server each, the side set up second measured about
// 1 µs slower than the first in an A/A comparison; sharing the server
// removes that. h must have seen perCall requests a call.
func grpcPaired(b *testing.B, h *flakyHealth, perCall int64, base, feat func(ctx context.Context) error) {
	ctx := context.Background()
	for _, call := range []func(context.Context) error{base, feat} {
		if err := call(ctx); err != nil { // connect before timing
			b.Fatal(err)
		}
	}
	h.requests.Store(0)
	type block struct{ wall, cpu float64 }
	run := func(call func(context.Context) error) block {
		t0 := time.Now()
		c0, _ := processCPU()
		for i := 0; i < grpcPairedBlock; i++ {
			if err := call(ctx); err != nil {
				b.Fatal(err)
			}
		}
		c1, _ := processCPU()
		return block{float64(time.Since(t0)) / grpcPairedBlock, float64(c1-c0) / grpcPairedBlock}
	}
	var bw, fw, dw, bc, fc, dc []float64
	b.ResetTimer()
	for r := 0; r < b.N; r++ {
		var tb, tf block
		if r%2 == 0 {
			tb, tf = run(base), run(feat)
		} else {
			tf, tb = run(feat), run(base)
		}
		bw, fw, dw = append(bw, tb.wall), append(fw, tf.wall), append(dw, tf.wall-tb.wall)
		bc, fc, dc = append(bc, tb.cpu), append(fc, tf.cpu), append(dc, tf.cpu-tb.cpu)
	}
	b.StopTimer()
	expect(b, "requests", h.requests.Load(), 2*perCall*grpcPairedBlock*int64(b.N))
	b.ReportMetric(median(bw), "base-ns/op")
	b.ReportMetric(median(fw), "feat-ns/op")
	b.ReportMetric(median(dw), "extra-ns/op")
	b.ReportMetric(median(bc), "base-cpu-ns/op")
	b.ReportMetric(median(fc), "feat-cpu-ns/op")
	b.ReportMetric(median(dc), "extra-cpu-ns/op")
}

// BenchmarkGRPCPairs measures rego's unary client interceptor against
// each peer in alternating blocks (see grpcPaired): extra-cpu-ns/op is
// what the interceptor costs above the peer (negative: below it), in the
// scenarios of GRPCSuccess (against the bare call too) and GRPCRetry.
// Every call of both sides makes the scenario's requests: the server
// fails every other request, the first attempt of each call, in
// GRPCRetry, and calls never overlap.
func BenchmarkGRPCPairs(b *testing.B) {
	peers := []struct {
		name        string
		opts        []grpc.DialOption
		successOnly bool
	}{
		{"none", []grpc.DialOption{grpc.WithDisableRetry()}, true},
		{"grpc-builtin", []grpc.DialOption{grpc.WithDefaultServiceConfig(grpcRetryConfig)}, false},
		{"go-grpc-middleware", []grpc.DialOption{grpc.WithDisableRetry(), middlewareRetry()}, false},
	}
	for _, sc := range []struct {
		name    string
		perCall int64
	}{{"success", 1}, {"retry", 2}} {
		failOdd := sc.perCall == 2
		for _, p := range peers {
			if p.successOnly && failOdd {
				continue
			}
			b.Run("scenario="+sc.name+"/base="+p.name, func(b *testing.B) {
				h := &flakyHealth{failOdd: failOdd}
				dial := startGRPC(b, h)
				base := plainGRPC(dial(p.opts...))
				feat := plainGRPC(dial(grpc.WithDisableRetry(), regoInterceptor()))
				grpcPaired(b, h, sc.perCall, base, feat)
			})
		}
	}
}

// stubInvoker is a unary invoker that answers at once, filling the
// Header, Trailer and Peer call options as gRPC does after a call: with
// copies of the response metadata. With failOdd it fails every other
// call (the first attempt of each sequential call) with UNAVAILABLE as a
// trailers-only response: no header, the content type in the trailer.
type stubInvoker struct {
	failOdd bool
	calls   int64
}

var (
	stubHeader       = metadata.Pairs("content-type", "application/grpc")
	stubPeer         = peer.Peer{Addr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 50051}}
	errStubAvailable = status.Error(codes.Unavailable, "benchmarks: stub unavailability")
)

func (s *stubInvoker) invoke(_ context.Context, _ string, _, _ any, _ *grpc.ClientConn, opts ...grpc.CallOption) error {
	s.calls++
	fail := s.failOdd && s.calls%2 == 1
	for _, o := range opts {
		switch o := o.(type) {
		case grpc.HeaderCallOption:
			if fail {
				*o.HeaderAddr = nil
			} else {
				*o.HeaderAddr = stubHeader.Copy()
			}
		case grpc.TrailerCallOption:
			if fail {
				*o.TrailerAddr = stubHeader.Copy()
			} else {
				*o.TrailerAddr = metadata.MD(nil).Copy()
			}
		case grpc.PeerCallOption:
			*o.PeerAddr = stubPeer
		}
	}
	if fail {
		return errStubAvailable
	}
	return nil
}

// BenchmarkGRPCInvokerPairs measures what the interceptors themselves add
// to a call, without gRPC's transport: each calls an invoker that answers
// at once (stubInvoker), in alternating blocks (see paired). base=none
// calls the invoker directly; feat is rego's interceptor, base the bare
// call or go-grpc-middleware's. In scenario=retry the first attempt of
// every call fails with UNAVAILABLE. Both sides must invoke the stub the
// same number of times.
func BenchmarkGRPCInvokerPairs(b *testing.B) {
	for _, sc := range invokerScenarios {
		for _, p := range []struct {
			name string
			i    grpc.UnaryClientInterceptor
		}{{"none", nil}, {"go-grpc-middleware", middlewareInterceptor()}} {
			if p.i == nil && sc.failOdd {
				continue
			}
			b.Run("scenario="+sc.name+"/base="+p.name, func(b *testing.B) {
				bs, fs := &stubInvoker{failOdd: sc.failOdd}, &stubInvoker{failOdd: sc.failOdd}
				paired(b, throughStub(p.i, bs), throughStub(regoUnaryInterceptor(), fs))
				expect(b, "invocations", fs.calls, bs.calls)
			})
		}
	}
}

// invokerScenarios are the stub invoker's: every call succeeds at once,
// or the first attempt of every call fails with UNAVAILABLE.
var invokerScenarios = []struct {
	name    string
	failOdd bool
}{{"success", false}, {"retry", true}}

// throughStub returns a call of the health check's method through i
// (directly when i is nil) to s, with the options generated clients pass.
func throughStub(i grpc.UnaryClientInterceptor, s *stubInvoker) func() error {
	ctx := context.Background()
	req, reply := &healthpb.HealthCheckRequest{}, &healthpb.HealthCheckResponse{}
	method := healthpb.Health_Check_FullMethodName
	opts := []grpc.CallOption{grpc.StaticMethod()}
	if i == nil {
		return func() error { return s.invoke(ctx, method, req, reply, nil, opts...) }
	}
	invoke := grpc.UnaryInvoker(s.invoke) // one method value, not one per call
	return func() error { return i(ctx, method, req, reply, nil, invoke, opts...) }
}

// BenchmarkGRPCInvoker makes GRPCInvokerPairs' calls one library at a
// time, for their allocations and bytes: what each interceptor allocates
// beside the stub invoker's copies of the metadata (lib=none calls the
// stub directly; in scenario=retry it is not run, having no retry).
func BenchmarkGRPCInvoker(b *testing.B) {
	for _, sc := range invokerScenarios {
		for _, lib := range []struct {
			name string
			i    grpc.UnaryClientInterceptor
		}{{libNone, nil}, {libGRPCMiddleware, middlewareInterceptor()}, {libRegoInterceptor, regoUnaryInterceptor()}} {
			if lib.i == nil && sc.failOdd {
				continue
			}
			b.Run("scenario="+sc.name+"/"+lib.name, func(b *testing.B) {
				s := &stubInvoker{failOdd: sc.failOdd}
				call := throughStub(lib.i, s)
				b.ReportAllocs()
				for i := 0; i < b.N; i++ {
					if err := call(); err != nil {
						b.Fatal(err)
					}
				}
				perCall := int64(1)
				if sc.failOdd {
					perCall = 2
				}
				expect(b, "invocations", s.calls, perCall*int64(b.N))
			})
		}
	}
}
