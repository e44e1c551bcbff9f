package regogrpc_test

import (
	"context"
	"net"
	"testing"

	"github.com/aponysus/rego/controlplane"
	regogrpc "github.com/aponysus/rego/integrations/grpc"
	"github.com/aponysus/rego/retry"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/test/bufconn"
)

// benchClient dials a fresh echo server, with or without the interceptors.
func benchClient(b *testing.B, intercept bool) testgrpc.TestServiceClient {
	b.Helper()
	lis := bufconn.Listen(1 << 20)
	s := grpc.NewServer()
	testgrpc.RegisterTestServiceServer(s, &testServer{})
	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = s.Serve(lis)
	}()
	dialOpts := []grpc.DialOption{
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
	}
	if intercept {
		opts := regogrpc.Options{Executor: retry.NewExecutor(retry.ExecutorOptions{Provider: &controlplane.StaticProvider{}})}
		dialOpts = append(dialOpts,
			grpc.WithChainUnaryInterceptor(regogrpc.UnaryClientInterceptor(opts)),
			grpc.WithChainStreamInterceptor(regogrpc.StreamClientInterceptor(opts)))
	}
	cc, err := grpc.NewClient("passthrough:///bufnet", dialOpts...)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		_ = cc.Close()
		s.Stop()
		<-served
	})
	client := testgrpc.NewTestServiceClient(cc)
	if _, err := client.UnaryCall(context.Background(), &testgrpc.SimpleRequest{}); err != nil {
		b.Fatal(err) // connect before timing
	}
	return client
}

func benchUnary(b *testing.B, intercept bool) {
	client := benchClient(b, intercept)
	req := &testgrpc.SimpleRequest{Payload: payload("0123456789")}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := client.UnaryCall(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkUnary compares a successful unary call on bufconn with and
// without the interceptor (default policy, first attempt succeeds).
func BenchmarkUnary(b *testing.B) {
	b.Run("plain", func(b *testing.B) { benchUnary(b, false) })
	b.Run("rego", func(b *testing.B) { benchUnary(b, true) })
}

func benchServerStream(b *testing.B, intercept bool) {
	client := benchClient(b, intercept)
	req := outReq("0123456789", 3)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		st, err := client.StreamingOutputCall(ctx, req)
		if err != nil {
			b.Fatal(err)
		}
		got, err := recvAll(st.Recv)
		if err != nil || len(got) != 3 {
			b.Fatal(len(got), err)
		}
	}
}

// BenchmarkServerStream compares a three-message server stream with and
// without the interceptor.
func BenchmarkServerStream(b *testing.B) {
	b.Run("plain", func(b *testing.B) { benchServerStream(b, false) })
	b.Run("rego", func(b *testing.B) { benchServerStream(b, true) })
}
