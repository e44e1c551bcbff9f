package regogrpc_test

import (
	"context"
	"testing"

	"github.com/aponysus/rego/admission"
	"github.com/aponysus/rego/controlplane"
	regogrpc "github.com/aponysus/rego/integrations/grpc"
	"github.com/aponysus/rego/policy"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// TestReadmeServerSnippet mirrors the README's gRPC server snippet and
// checks what the README says of a refusal: RESOURCE_EXHAUSTED for the
// rate limiter, with the trailer grpc-retry-pushback-ms.
func TestReadmeServerSnippet(t *testing.T) {
	// A token every 100s and a burst of one: the second call is refused.
	provider := &controlplane.StaticProvider{Default: policy.EffectivePolicy{
		RateLimit: policy.RateLimitPolicy{Enabled: true, Rate: 0.01, Burst: 1},
	}}
	gates := admission.NewGates(nil)

	srv := grpc.NewServer(
		grpc.ChainUnaryInterceptor(regogrpc.UnaryServerInterceptor(regogrpc.ServerOptions{Provider: provider, Gates: gates})),
		grpc.ChainStreamInterceptor(regogrpc.StreamServerInterceptor(regogrpc.ServerOptions{Provider: provider, Gates: gates})),
	)

	testgrpc.RegisterTestServiceServer(srv, &testServer{unary: func(context.Context, int, *testgrpc.SimpleRequest) (*testgrpc.SimpleResponse, error) {
		return &testgrpc.SimpleResponse{}, nil
	}})
	addr := serveTCP(t, srv)
	cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecureCreds()))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	c := testgrpc.NewTestServiceClient(cc)
	if _, err := c.UnaryCall(context.Background(), &testgrpc.SimpleRequest{}); err != nil {
		t.Fatal(err)
	}
	var trailer metadata.MD
	_, err = c.UnaryCall(context.Background(), &testgrpc.SimpleRequest{}, grpc.Trailer(&trailer))
	if status.Code(err) != codes.ResourceExhausted || len(trailer.Get("grpc-retry-pushback-ms")) != 1 {
		t.Fatalf("err %v, trailer %v", err, trailer)
	}
}
