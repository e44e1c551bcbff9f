package regogrpc_test

import (
	"context"
	"testing"
	"time"

	regogrpc "github.com/aponysus/rego/integrations/grpc"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/interop"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// These tests run against grpc-go's own interop test service, the server
// every gRPC implementation is checked against, on loopback.

// echoStatus asks the interop server to fail a unary call with code.
func echoStatus(code codes.Code) *testgrpc.SimpleRequest {
	return &testgrpc.SimpleRequest{ResponseStatus: &testgrpc.EchoStatus{Code: int32(code), Message: "interop"}}
}

func TestInteropUnaryRetriedWithoutHeaders(t *testing.T) {
	obs := &timelines{}
	client := dialLoopback(t, interop.NewTestServer(), regogrpc.Options{Executor: executor(retries(3), obs, nil)})
	_, err := client.UnaryCall(context.Background(), echoStatus(codes.Unavailable))
	if status.Code(err) != codes.Unavailable {
		t.Fatalf("err %v, want Unavailable", err)
	}
	if n := len(obs.last(t).Attempts); n != 3 {
		t.Fatalf("%d attempts, want 3: a trailers-only UNAVAILABLE is retried", n)
	}
}

func TestInteropUnaryCommittedByHeaders(t *testing.T) {
	// The interop server sends the initial metadata it is asked to echo
	// as response headers before it fails the call.
	obs := &timelines{}
	client := dialLoopback(t, interop.NewTestServer(), regogrpc.Options{Executor: executor(retries(3), obs, nil)})
	ctx := metadata.AppendToOutgoingContext(context.Background(), "x-grpc-test-echo-initial", "hello")
	var header metadata.MD
	_, err := client.UnaryCall(ctx, echoStatus(codes.Unavailable), grpc.Header(&header))
	if status.Code(err) != codes.Unavailable {
		t.Fatalf("err %v, want Unavailable", err)
	}
	if n := len(obs.last(t).Attempts); n != 1 {
		t.Fatalf("%d attempts, want 1: the headers committed the call (gRFC A6)", n)
	}
	if got := header.Get("x-grpc-test-echo-initial"); len(got) != 1 || got[0] != "hello" {
		t.Fatalf("header %v, want the echoed initial metadata", header)
	}
}

func TestInteropStreamOverflowWhileWaiting(t *testing.T) {
	// FullDuplexCall fails with the status a request asks for, before any
	// response: not committed, so retried after a backoff, during which
	// the caller overflows the one-message buffer.
	client, clk, _ := overflowClient(t, interop.NewTestServer(), retries(3))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st, err := client.FullDuplexCall(ctx)
	if err != nil {
		t.Fatal(err)
	}
	fail := &testgrpc.StreamingOutputCallRequest{ResponseStatus: &testgrpc.EchoStatus{Code: int32(codes.Unavailable), Message: "interop"}}
	if err := st.Send(fail); err != nil {
		t.Fatal(err)
	}
	clk.BlockUntil(1)
	_ = st.Send(fail)
	err = recvWithin(t, func() error { _, err := st.Recv(); return err })
	if status.Code(err) != codes.Unavailable {
		t.Fatalf("err %v, want the failed attempt's Unavailable", err)
	}
	clk.Advance(time.Hour)
}
