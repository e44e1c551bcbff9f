package regogrpc_test

import (
	"context"
	"strings"
	"testing"
	"time"

	regogrpc "github.com/aponysus/rego/integrations/grpc"
	"github.com/aponysus/rego/policy"
	"google.golang.org/grpc/codes"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/status"
)

// longBackoff is a policy of three attempts whose first backoff (an hour)
// outlasts every deadline the tests below set.
func longBackoff() policy.EffectivePolicy {
	p := retries(3)
	p.Retry.InitialBackoff = time.Hour
	p.Retry.MaxBackoff = time.Hour
	return p
}

// unavailable answers every call UNAVAILABLE at once, without pushback.
func unavailable(context.Context, int, *testgrpc.SimpleRequest) (*testgrpc.SimpleResponse, error) {
	return nil, status.Error(codes.Unavailable, "down for now")
}

// wantBackoffDeadline checks that err is DEADLINE_EXCEEDED naming the last
// attempt's status, and that the server saw one attempt.
func wantBackoffDeadline(t *testing.T, err error, srv *testServer, method string) {
	t.Helper()
	st := status.Convert(err)
	if st.Code() != codes.DeadlineExceeded {
		t.Fatalf("err %v, want DeadlineExceeded: the backoff outlasts the deadline", err)
	}
	if !strings.Contains(st.Message(), "Unavailable") || !strings.Contains(st.Message(), "down for now") {
		t.Fatalf("message %q, want the last attempt's status in it", st.Message())
	}
	if n := srv.count(method); n != 1 {
		t.Fatalf("server saw %d calls, want 1: no retry could start in time", n)
	}
}

func TestUnaryBackoffPastCallerDeadline(t *testing.T) {
	srv := &testServer{unary: unavailable}
	// The wall clock: the caller's deadline is a wall-clock time. The
	// executor stops before the wait, so the test waits for nothing.
	client := dialLoopback(t, srv, regogrpc.Options{Executor: realExecutor(longBackoff())})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err := client.UnaryCall(ctx, &testgrpc.SimpleRequest{})
	wantBackoffDeadline(t, err, srv, "UnaryCall")
}

func TestUnaryBackoffPastOverallTimeout(t *testing.T) {
	// The policy's OverallTimeout is the call's deadline too: had the
	// executor waited, it would have ended the call with DeadlineExceeded.
	// The wall clock, since the attempt's deadline derives from it.
	p := longBackoff()
	p.Retry.OverallTimeout = time.Minute
	srv := &testServer{unary: unavailable}
	client := dialLoopback(t, srv, regogrpc.Options{Executor: realExecutor(p)})
	_, err := client.UnaryCall(context.Background(), &testgrpc.SimpleRequest{})
	wantBackoffDeadline(t, err, srv, "UnaryCall")
}

func TestUnaryBackoffWithoutDeadlineIsWaited(t *testing.T) {
	// Without a deadline the same backoff is waited out (on the virtual
	// clock) and the call ends when its attempts run out, with the last
	// attempt's status as gRPC returned it.
	srv := &testServer{unary: unavailable}
	client := dialLoopback(t, srv, regogrpc.Options{Executor: executor(longBackoff(), nil, nil)})
	_, err := client.UnaryCall(context.Background(), &testgrpc.SimpleRequest{})
	if st := status.Convert(err); st.Code() != codes.Unavailable || st.Message() != "down for now" {
		t.Fatalf("err %v, want the last attempt's Unavailable unchanged", err)
	}
	if n := srv.count("UnaryCall"); n != 3 {
		t.Fatalf("server saw %d calls, want 3", n)
	}
}

func TestUnaryAttemptsExhaustedBeforeDeadline(t *testing.T) {
	// A call whose attempts ran out keeps the last attempt's status even
	// with a deadline: no wait was skipped for it.
	p := longBackoff()
	p.Retry.MaxAttempts = 1
	srv := &testServer{unary: unavailable}
	client := dialLoopback(t, srv, regogrpc.Options{Executor: realExecutor(p)})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err := client.UnaryCall(ctx, &testgrpc.SimpleRequest{})
	if st := status.Convert(err); st.Code() != codes.Unavailable || st.Message() != "down for now" {
		t.Fatalf("err %v, want the last attempt's Unavailable unchanged", err)
	}
}

func TestStreamBackoffPastCallerDeadline(t *testing.T) {
	srv := &testServer{out: func(context.Context, int, *testgrpc.StreamingOutputCallRequest, func(*testgrpc.StreamingOutputCallResponse) error) error {
		return status.Error(codes.Unavailable, "down for now")
	}}
	client := dialLoopback(t, srv, regogrpc.Options{Executor: realExecutor(longBackoff())})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	st, err := client.StreamingOutputCall(ctx, &testgrpc.StreamingOutputCallRequest{})
	if err == nil {
		_, err = st.Recv()
	}
	wantBackoffDeadline(t, err, srv, "StreamingOutputCall")
}
