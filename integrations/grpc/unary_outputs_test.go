package regogrpc_test

import (
	"context"
	"testing"

	regogrpc "github.com/aponysus/rego/integrations/grpc"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
)

// The caller's Header, Trailer and Peer options get the values of the
// attempt whose result the call returns, after retries as on a first try
// (the third attempt's state takes the place of the first's).
func TestUnaryOutputOptionsFromReturnedAttempt(t *testing.T) {
	failed := 0
	srv := &testServer{unary: func(ctx context.Context, n int, req *testgrpc.SimpleRequest) (*testgrpc.SimpleResponse, error) {
		if n < failed {
			_ = grpc.SetTrailer(ctx, metadata.Pairs("attempt", "failed"))
			return nil, status.Error(codes.Unavailable, "try again")
		}
		_ = grpc.SetHeader(ctx, metadata.Pairs("h", "ok"))
		_ = grpc.SetTrailer(ctx, metadata.Pairs("attempt", "ok"))
		return &testgrpc.SimpleResponse{}, nil
	}}
	client := dial(t, srv, regogrpc.Options{Executor: executor(retries(3), nil, nil)})
	for _, fails := range []int{0, 1, 2} {
		failed = srv.count("UnaryCall") + fails
		var (
			header, trailer metadata.MD
			p               peer.Peer
		)
		_, err := client.UnaryCall(context.Background(), &testgrpc.SimpleRequest{}, grpc.Header(&header), grpc.Trailer(&trailer), grpc.Peer(&p))
		if err != nil {
			t.Fatalf("%d failures: UnaryCall: %v", fails, err)
		}
		if got := header.Get("h"); len(got) != 1 || got[0] != "ok" {
			t.Errorf("%d failures: header %v", fails, header)
		}
		if got := trailer.Get("attempt"); len(got) != 1 || got[0] != "ok" {
			t.Errorf("%d failures: trailer %v, want the successful attempt's", fails, trailer)
		}
		if p.Addr == nil {
			t.Errorf("%d failures: the Peer option was not filled", fails)
		}
	}
}

// A call that fails keeps the last attempt's trailer and peer, also when
// that attempt's state took the place of an earlier one's.
func TestUnaryOutputOptionsOnFailure(t *testing.T) {
	srv := &testServer{unary: func(ctx context.Context, n int, req *testgrpc.SimpleRequest) (*testgrpc.SimpleResponse, error) {
		_ = grpc.SetTrailer(ctx, metadata.Pairs("n", string(rune('0'+n))))
		return nil, status.Error(codes.Unavailable, "down")
	}}
	client := dial(t, srv, regogrpc.Options{Executor: executor(retries(4), nil, nil)})
	var (
		trailer metadata.MD
		p       peer.Peer
	)
	_, err := client.UnaryCall(context.Background(), &testgrpc.SimpleRequest{}, grpc.Trailer(&trailer), grpc.Peer(&p))
	if status.Code(err) != codes.Unavailable {
		t.Fatalf("err %v, want Unavailable", err)
	}
	if got := trailer.Get("n"); len(got) != 1 || got[0] != "3" {
		t.Errorf("trailer %v, want the fourth attempt's", trailer)
	}
	if p.Addr == nil {
		t.Error("the Peer option was not filled")
	}
}
