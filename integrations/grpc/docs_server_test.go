package regogrpc_test

import (
	"context"
	"errors"
	"io"
	"strconv"
	"testing"

	"github.com/aponysus/rego/admission"
	"github.com/aponysus/rego/controlplane"
	"github.com/aponysus/rego/gate"
	regogrpc "github.com/aponysus/rego/integrations/grpc"
	"github.com/aponysus/rego/policy"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// TestDocsServerSnippet mirrors the server snippet of docs/grpc.md and
// checks what its section says: calls are keyed by MethodKey, the rate
// limiter's refusal is RESOURCE_EXHAUSTED with grpc-retry-pushback-ms, and
// the criticality the client interceptor sends reaches the handler's
// context.
func TestDocsServerSnippet(t *testing.T) {
	// As in the docs, but only for UnaryCall and with a token every 100s
	// and a burst of one, so that its second call is refused.
	unaryKey := regogrpc.MethodKey("/grpc.testing.TestService/UnaryCall")
	provider := &controlplane.StaticProvider{Policies: map[policy.PolicyKey]policy.EffectivePolicy{
		unaryKey: {
			RateLimit: policy.RateLimitPolicy{Enabled: true, Rate: 0.01, Burst: 1},
			Bulkhead:  policy.BulkheadPolicy{Enabled: true, MaxConcurrent: 64},
		},
	}}
	sopts := regogrpc.ServerOptions{
		Provider: provider,                // required; keys are MethodKey's
		Gates:    admission.NewGates(nil), // one set for both interceptors
	}
	srv := grpc.NewServer(
		grpc.ChainUnaryInterceptor(regogrpc.UnaryServerInterceptor(sopts)),
		grpc.ChainStreamInterceptor(regogrpc.StreamServerInterceptor(sopts)),
	)

	seen := make(chan gate.Criticality, 10)
	testgrpc.RegisterTestServiceServer(srv, &testServer{
		unary: func(ctx context.Context, _ int, _ *testgrpc.SimpleRequest) (*testgrpc.SimpleResponse, error) {
			seen <- gate.CriticalityFrom(ctx)
			return &testgrpc.SimpleResponse{}, nil
		},
		out: func(ctx context.Context, _ int, _ *testgrpc.StreamingOutputCallRequest, _ func(*testgrpc.StreamingOutputCallResponse) error) error {
			seen <- gate.CriticalityFrom(ctx)
			return nil
		},
	})
	addr := serveTCP(t, srv)
	// One attempt per call, so that the refusal reaches the test.
	opts := regogrpc.Options{Executor: executor(retries(1), nil, nil)}
	cc, err := grpc.NewClient(addr,
		grpc.WithTransportCredentials(insecureCreds()),
		grpc.WithChainUnaryInterceptor(regogrpc.CriticalityUnaryClientInterceptor(), regogrpc.UnaryClientInterceptor(opts)),
		grpc.WithChainStreamInterceptor(regogrpc.CriticalityStreamClientInterceptor(), regogrpc.StreamClientInterceptor(opts)),
	)
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	c := testgrpc.NewTestServiceClient(cc)
	ctx := gate.WithCriticality(context.Background(), gate.CriticalitySheddable)

	if _, err := c.UnaryCall(ctx, &testgrpc.SimpleRequest{}); err != nil {
		t.Fatal(err)
	}
	if got := <-seen; got != gate.CriticalitySheddable {
		t.Fatalf("unary handler saw %v, want the client's sheddable", got)
	}
	var trailer metadata.MD
	_, err = c.UnaryCall(ctx, &testgrpc.SimpleRequest{}, grpc.Trailer(&trailer))
	if status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("second call: err %v, want RESOURCE_EXHAUSTED", err)
	}
	// The limiter's time to its next token: 100s less the time since the
	// first call.
	if v := trailer.Get(regogrpc.PushbackKey); len(v) != 1 {
		t.Fatalf("trailer %v, want one pushback", trailer)
	} else if ms, err := strconv.Atoi(v[0]); err != nil || ms <= 50000 || ms > 100000 {
		t.Fatalf("pushback %q, want the limiter's wait, up to 100000 ms", v[0])
	}
	// Another method has its own key (here without a policy: no gates),
	// and a stream carries the criticality too.
	st, err := c.StreamingOutputCall(ctx, &testgrpc.StreamingOutputCallRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Recv(); !errors.Is(err, io.EOF) {
		t.Fatalf("stream: %v, want it served (io.EOF: no messages)", err)
	}
	if got := <-seen; got != gate.CriticalitySheddable {
		t.Fatalf("stream handler saw %v, want the client's sheddable", got)
	}
}
