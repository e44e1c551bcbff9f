package regogrpc_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aponysus/rego/classify"
	"github.com/aponysus/rego/controlplane"
	regogrpc "github.com/aponysus/rego/integrations/grpc"
	"github.com/aponysus/rego/regotest"
	"github.com/aponysus/rego/retry"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

func TestUnaryNotRetriedAfterHeaders(t *testing.T) {
	for _, tc := range []struct {
		name   string
		named  bool // the policy names the gRPC classifier
		header metadata.MD
	}{
		{"default classifier", false, metadata.Pairs("x-commit", "1")},
		{"named classifier", true, metadata.Pairs("x-commit", "1")},
		{"empty headers", false, metadata.MD{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := &testServer{unary: func(ctx context.Context, n int, req *testgrpc.SimpleRequest) (*testgrpc.SimpleResponse, error) {
				if err := grpc.SendHeader(ctx, tc.header); err != nil {
					return nil, err
				}
				return nil, status.Error(codes.Unavailable, "broke after headers")
			}}
			obs := &timelines{}
			opts := retry.ExecutorOptions{
				Provider: &controlplane.StaticProvider{Default: retries(3)},
				Observer: obs,
				Clock:    regotest.NewAutoClock(time.Time{}),
			}
			if tc.named {
				p := retries(3)
				p.Retry.ClassifierName = regogrpc.ClassifierName
				reg := classify.NewRegistry()
				reg.Register(regogrpc.ClassifierName, regogrpc.NewClassifier(regogrpc.ClassifierOptions{}))
				opts.Provider, opts.Classifiers = &controlplane.StaticProvider{Default: p}, reg
			}
			client := dialLoopback(t, srv, regogrpc.Options{Executor: retry.NewExecutor(opts)})
			var header metadata.MD
			_, err := client.UnaryCall(context.Background(), &testgrpc.SimpleRequest{}, grpc.Header(&header))
			if status.Code(err) != codes.Unavailable {
				t.Fatalf("err %v, want the committed attempt's Unavailable", err)
			}
			if n := srv.count("UnaryCall"); n != 1 {
				t.Fatalf("server saw %d calls, want 1: headers commit a call (gRFC A6)", n)
			}
			if len(tc.header) > 0 && header.Get("x-commit")[0] != "1" {
				t.Fatalf("header %v, want the committed attempt's", header)
			}
			if tc.named {
				if out := obs.last(t).Attempts[0].Outcome; out.Reason != regogrpc.ReasonCommitted || out.Kind != classify.OutcomeNonRetryable {
					t.Fatalf("outcome %+v, want non-retryable %q", out, regogrpc.ReasonCommitted)
				}
			}
		})
	}
}

func TestUnaryTrailersOnlyStillRetried(t *testing.T) {
	srv := &testServer{unary: failFirst(1, codes.Unavailable)}
	client := dialLoopback(t, srv, regogrpc.Options{Executor: executor(retries(3), nil, nil)})
	if _, err := client.UnaryCall(context.Background(), &testgrpc.SimpleRequest{}); err != nil {
		t.Fatalf("UnaryCall: %v", err)
	}
	if n := srv.count("UnaryCall"); n != 2 {
		t.Fatalf("server saw %d calls, want 2", n)
	}
}

func TestUnaryPushbackPastDeadline(t *testing.T) {
	srv := &testServer{unary: withPushback(codes.Unavailable, "60000", 5)}
	// The wall clock: the caller's deadline is a wall-clock time.
	client := dialLoopback(t, srv, regogrpc.Options{Executor: realExecutor(retries(3))})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err := client.UnaryCall(ctx, &testgrpc.SimpleRequest{})
	st := status.Convert(err)
	if st.Code() != codes.DeadlineExceeded {
		t.Fatalf("err %v, want DeadlineExceeded: the pushback outlasts the deadline", err)
	}
	if !strings.Contains(st.Message(), "Unavailable") || !strings.Contains(st.Message(), "push back") {
		t.Fatalf("message %q, want the last attempt's status in it", st.Message())
	}
	if n := srv.count("UnaryCall"); n != 1 {
		t.Fatalf("server saw %d calls, want 1", n)
	}
}

func TestUnaryPushbackWithinDeadlineIsWaited(t *testing.T) {
	// Without a deadline the same pushback is waited out (on the virtual
	// clock) and the call succeeds.
	srv := &testServer{unary: withPushback(codes.Unavailable, "60000", 1)}
	client := dialLoopback(t, srv, regogrpc.Options{Executor: executor(retries(3), nil, nil)})
	if _, err := client.UnaryCall(context.Background(), &testgrpc.SimpleRequest{}); err != nil {
		t.Fatalf("UnaryCall: %v", err)
	}
}

func TestUnaryCancelDuringPushback(t *testing.T) {
	srv := &testServer{unary: withPushback(codes.Unavailable, "1000", 5)}
	clk := regotest.NewClock(time.Time{})
	client := dialLoopback(t, srv, regogrpc.Options{Executor: executor(retries(3), nil, clk)})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		clk.BlockUntil(1) // the retry waits out the pushback
		cancel()
	}()
	_, err := client.UnaryCall(ctx, &testgrpc.SimpleRequest{})
	if status.Code(err) != codes.Canceled {
		t.Fatalf("err %v, want Canceled: the caller's context ended the call", err)
	}
}
