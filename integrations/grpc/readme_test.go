package regogrpc_test

import (
	"context"
	"net"
	"testing"

	regogrpc "github.com/aponysus/rego/integrations/grpc"
	"github.com/aponysus/rego/retry"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/test/bufconn"
)

// TestReadmeSnippet mirrors the README's gRPC snippet.
func TestReadmeSnippet(t *testing.T) {
	lis := bufconn.Listen(1 << 20)
	srv := grpc.NewServer()
	testgrpc.RegisterTestServiceServer(srv, &flakyServer{})
	go func() { _ = srv.Serve(lis) }()
	defer srv.Stop()
	target := "passthrough:///bufnet"
	exec := retry.NewExecutor(retry.ExecutorOptions{})

	conn, err := grpc.NewClient(target,
		grpc.WithUnaryInterceptor(regogrpc.UnaryClientInterceptor(regogrpc.Options{Executor: exec})),
		grpc.WithStreamInterceptor(regogrpc.StreamClientInterceptor(regogrpc.Options{Executor: exec})),
		// (not in the README: the in-memory listener of this test)
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
	)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// The flaky server turns the first call away with UNAVAILABLE; the
	// interceptor retries it.
	if _, err := testgrpc.NewTestServiceClient(conn).UnaryCall(context.Background(), &testgrpc.SimpleRequest{}); err != nil {
		t.Fatal(err)
	}
}
