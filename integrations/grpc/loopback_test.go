package regogrpc_test

import (
	"net"
	"testing"

	regogrpc "github.com/aponysus/rego/integrations/grpc"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"
)

// dialLoopback starts srv on a TCP port of the loopback interface and
// returns a client whose connection runs through the interceptors built
// from opts: the real network path, HTTP/2 framing included.
func dialLoopback(t testing.TB, srv testgrpc.TestServiceServer, opts regogrpc.Options) testgrpc.TestServiceClient {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return connect(t, srv, lis, lis.Addr().String(), opts)
}

// connect serves srv on lis until the test ends and returns a client of
// target whose connection runs through the interceptors built from opts.
func connect(t testing.TB, srv testgrpc.TestServiceServer, lis net.Listener, target string, opts regogrpc.Options, dialOpts ...grpc.DialOption) testgrpc.TestServiceClient {
	t.Helper()
	s := grpc.NewServer()
	testgrpc.RegisterTestServiceServer(s, srv)
	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = s.Serve(lis)
	}()
	dialOpts = append(dialOpts,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithChainUnaryInterceptor(regogrpc.UnaryClientInterceptor(opts)),
		grpc.WithChainStreamInterceptor(regogrpc.StreamClientInterceptor(opts)),
	)
	cc, err := grpc.NewClient(target, dialOpts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cc.Close()
		s.Stop()
		<-served
	})
	return testgrpc.NewTestServiceClient(cc)
}

// serveTCP serves s on a TCP port of the loopback interface until the test
// ends and returns its address.
func serveTCP(t testing.TB, s *grpc.Server) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = s.Serve(lis)
	}()
	t.Cleanup(func() {
		s.Stop()
		<-served
	})
	return lis.Addr().String()
}
