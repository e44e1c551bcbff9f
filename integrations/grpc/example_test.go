package regogrpc_test

import (
	"context"
	"fmt"
	"net"
	"sync/atomic"
	"time"

	"github.com/aponysus/rego/classify"
	"github.com/aponysus/rego/controlplane"
	regogrpc "github.com/aponysus/rego/integrations/grpc"
	"github.com/aponysus/rego/observe"
	"github.com/aponysus/rego/policy"
	"github.com/aponysus/rego/regotest"
	"github.com/aponysus/rego/retry"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"
)

// flakyServer turns away its first call with UNAVAILABLE and asks the
// client, through gRFC A6 pushback, to wait 250ms before retrying.
type flakyServer struct {
	testgrpc.UnimplementedTestServiceServer
	calls atomic.Int32
}

func (s *flakyServer) UnaryCall(ctx context.Context, req *testgrpc.SimpleRequest) (*testgrpc.SimpleResponse, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	fmt.Printf("server: call %d, previous attempts %v\n", s.calls.Add(1), md.Get(regogrpc.PreviousAttemptsKey))
	if s.calls.Load() == 1 {
		_ = grpc.SetTrailer(ctx, metadata.Pairs(regogrpc.PushbackKey, "250"))
		return nil, status.Error(codes.Unavailable, "warming up")
	}
	return &testgrpc.SimpleResponse{Payload: req.GetPayload()}, nil
}

func Example() {
	// A server on an in-memory listener.
	lis := bufconn.Listen(1 << 20)
	srv := grpc.NewServer()
	testgrpc.RegisterTestServiceServer(srv, &flakyServer{})
	go func() { _ = srv.Serve(lis) }()
	defer srv.Stop()

	// The executor: three attempts for UnaryCall, judged by the gRPC
	// classifier (registered so that attempt records carry grpc.code). The
	// virtual clock makes the pushback wait cost no real time; use the
	// default (wall) clock in production.
	classifiers := classify.NewRegistry()
	classifiers.Register(regogrpc.ClassifierName, regogrpc.NewClassifier(regogrpc.ClassifierOptions{}))
	key := regogrpc.MethodKey("/grpc.testing.TestService/UnaryCall")
	clk := regotest.NewAutoClock(time.Time{})
	exec := retry.NewExecutor(retry.ExecutorOptions{
		Provider: &controlplane.StaticProvider{Policies: map[policy.PolicyKey]policy.EffectivePolicy{
			key: {Retry: policy.RetryPolicy{MaxAttempts: 3, ClassifierName: regogrpc.ClassifierName}},
		}},
		Classifiers: classifiers,
		Clock:       clk,
		Observer:    printAttempts{},
	})

	opts := regogrpc.Options{Executor: exec}
	cc, err := grpc.NewClient("passthrough:///bufnet",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithChainUnaryInterceptor(regogrpc.UnaryClientInterceptor(opts)),
		grpc.WithChainStreamInterceptor(regogrpc.StreamClientInterceptor(opts)),
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer cc.Close()

	start := clk.Now()
	resp, err := testgrpc.NewTestServiceClient(cc).UnaryCall(context.Background(),
		&testgrpc.SimpleRequest{Payload: &testgrpc.Payload{Body: []byte("hello")}})
	fmt.Printf("client: %q, err %v, waited %v\n", resp.GetPayload().GetBody(), err, clk.Now().Sub(start))
	// Output:
	// server: call 1, previous attempts []
	// attempt 0: retryable pushback grpc.code=Unavailable
	// server: call 2, previous attempts [1]
	// attempt 1: success  grpc.code=
	// client: "hello", err <nil>, waited 250ms
}

// printAttempts prints each attempt's outcome.
type printAttempts struct{ observe.BaseObserver }

func (printAttempts) OnAttempt(_ context.Context, _ policy.PolicyKey, rec observe.AttemptRecord) {
	fmt.Printf("attempt %d: %v %s grpc.code=%s\n", rec.Attempt, rec.Outcome.Kind, rec.Outcome.Reason, rec.Outcome.Attributes[regogrpc.AttrCode])
}
