package regogrpc_test

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/aponysus/rego/classify"
	"github.com/aponysus/rego/controlplane"
	regogrpc "github.com/aponysus/rego/integrations/grpc"
	"github.com/aponysus/rego/policy"
	"github.com/aponysus/rego/regotest"
	"github.com/aponysus/rego/retry"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

func payload(s string) *testgrpc.Payload { return &testgrpc.Payload{Body: []byte(s)} }

// failFirst fails the first k calls with code.
func failFirst(k int, code codes.Code) func(context.Context, int, *testgrpc.SimpleRequest) (*testgrpc.SimpleResponse, error) {
	return func(_ context.Context, n int, req *testgrpc.SimpleRequest) (*testgrpc.SimpleResponse, error) {
		if n < k {
			return nil, status.Errorf(code, "failure %d", n)
		}
		return &testgrpc.SimpleResponse{Payload: req.GetPayload()}, nil
	}
}

// withPushback fails every call with code and the pushback trailer value.
func withPushback(code codes.Code, value string, k int) func(context.Context, int, *testgrpc.SimpleRequest) (*testgrpc.SimpleResponse, error) {
	return func(ctx context.Context, n int, req *testgrpc.SimpleRequest) (*testgrpc.SimpleResponse, error) {
		if n < k {
			_ = grpc.SetTrailer(ctx, metadata.Pairs(regogrpc.PushbackKey, value))
			return nil, status.Error(code, "push back")
		}
		return &testgrpc.SimpleResponse{Payload: req.GetPayload()}, nil
	}
}

func TestUnaryRetriesUnavailable(t *testing.T) {
	srv := &testServer{unary: failFirst(2, codes.Unavailable)}
	obs := &timelines{}
	client := dial(t, srv, regogrpc.Options{Executor: executor(retries(3), obs, nil)})
	resp, err := client.UnaryCall(context.Background(), &testgrpc.SimpleRequest{Payload: payload("hello")})
	if err != nil {
		t.Fatalf("UnaryCall: %v", err)
	}
	if got := string(resp.GetPayload().GetBody()); got != "hello" {
		t.Fatalf("payload %q, want hello", got)
	}
	if n := srv.count("UnaryCall"); n != 3 {
		t.Fatalf("server saw %d calls, want 3", n)
	}
	if got, want := srv.seenAttempts(), []string{"", "1", "2"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("grpc-previous-rpc-attempts %q, want %q", got, want)
	}
	tl := obs.last(t)
	if want := regogrpc.MethodKey("/grpc.testing.TestService/UnaryCall"); tl.Key != want {
		t.Fatalf("key %v, want %v", tl.Key, want)
	}
	if len(tl.Attempts) != 3 {
		t.Fatalf("%d attempt records, want 3", len(tl.Attempts))
	}
}

func TestUnaryTerminalCodeNotRetried(t *testing.T) {
	srv := &testServer{unary: failFirst(5, codes.InvalidArgument)}
	client := dial(t, srv, regogrpc.Options{Executor: executor(retries(3), nil, nil)})
	_, err := client.UnaryCall(context.Background(), &testgrpc.SimpleRequest{})
	st, ok := status.FromError(err)
	if !ok || st.Code() != codes.InvalidArgument || st.Message() != "failure 0" {
		t.Fatalf("err %v, want the server's InvalidArgument unchanged", err)
	}
	if _, isStatus := err.(interface{ GRPCStatus() *status.Status }); !isStatus {
		t.Fatalf("err %T is not the status error itself", err)
	}
	if n := srv.count("UnaryCall"); n != 1 {
		t.Fatalf("server saw %d calls, want 1", n)
	}
}

func TestUnaryExhaustedReturnsLastStatus(t *testing.T) {
	srv := &testServer{unary: failFirst(5, codes.Unavailable)}
	client := dial(t, srv, regogrpc.Options{Executor: executor(retries(3), nil, nil)})
	var trailer metadata.MD
	_, err := client.UnaryCall(context.Background(), &testgrpc.SimpleRequest{}, grpc.Trailer(&trailer))
	if st := status.Convert(err); st.Code() != codes.Unavailable || st.Message() != "failure 2" {
		t.Fatalf("err %v, want the third attempt's Unavailable", err)
	}
	if n := srv.count("UnaryCall"); n != 3 {
		t.Fatalf("server saw %d calls, want 3", n)
	}
	if trailer == nil {
		t.Fatal("the caller's Trailer option was not filled")
	}
}

func TestUnaryPushbackDelay(t *testing.T) {
	for _, tc := range []struct {
		name string
		cls  bool // the executor uses the gRPC classifier
	}{{"marks on the default classifier", false}, {"grpc classifier", true}} {
		t.Run(tc.name, func(t *testing.T) {
			srv := &testServer{unary: withPushback(codes.Unavailable, "1500", 1)}
			obs := &timelines{}
			clk := regotest.NewAutoClock(time.Time{})
			opts := retry.ExecutorOptions{
				Provider: &controlplane.StaticProvider{Default: retries(3)},
				Observer: obs, Clock: clk,
			}
			if tc.cls {
				opts.DefaultClassifier = regogrpc.NewClassifier(regogrpc.ClassifierOptions{})
			}
			client := dial(t, srv, regogrpc.Options{Executor: retry.NewExecutor(opts)})
			start := clk.Now()
			if _, err := client.UnaryCall(context.Background(), &testgrpc.SimpleRequest{}); err != nil {
				t.Fatalf("UnaryCall: %v", err)
			}
			if waited := clk.Now().Sub(start); waited != 1500*time.Millisecond {
				t.Fatalf("waited %v on the virtual clock, want the 1.5s pushback", waited)
			}
			tl := obs.last(t)
			if len(tl.Attempts) != 2 || tl.Attempts[1].Backoff != 1500*time.Millisecond {
				t.Fatalf("attempts %+v, want a second one after 1.5s", tl.Attempts)
			}
			out := tl.Attempts[0].Outcome
			if tc.cls {
				if out.Reason != "pushback" || out.Attributes[regogrpc.AttrCode] != "Unavailable" ||
					out.Attributes[regogrpc.AttrMethod] != "/grpc.testing.TestService/UnaryCall" ||
					out.Attributes[regogrpc.AttrPushbackMs] != "1500" {
					t.Fatalf("outcome %+v", out)
				}
			} else if out.Reason != "retry_after" {
				t.Fatalf("outcome %+v, want the RetryAfter mark", out)
			}
		})
	}
}

func TestUnaryPushbackDoNotRetry(t *testing.T) {
	for _, v := range []string{"-1", "soon", "", "1.5"} {
		t.Run(v, func(t *testing.T) {
			srv := &testServer{unary: withPushback(codes.Unavailable, v, 5)}
			client := dial(t, srv, regogrpc.Options{Executor: executor(retries(3), nil, nil)})
			_, err := client.UnaryCall(context.Background(), &testgrpc.SimpleRequest{})
			if status.Code(err) != codes.Unavailable {
				t.Fatalf("err %v, want Unavailable", err)
			}
			if n := srv.count("UnaryCall"); n != 1 {
				t.Fatalf("server saw %d calls, want 1: pushback %q means do not retry", n, v)
			}
		})
	}
}

func TestUnaryResourceExhausted(t *testing.T) {
	t.Run("without pushback", func(t *testing.T) {
		srv := &testServer{unary: failFirst(1, codes.ResourceExhausted)}
		client := dial(t, srv, regogrpc.Options{Executor: executor(retries(3), nil, nil)})
		if _, err := client.UnaryCall(context.Background(), &testgrpc.SimpleRequest{}); status.Code(err) != codes.ResourceExhausted {
			t.Fatalf("err %v, want ResourceExhausted", err)
		}
		if n := srv.count("UnaryCall"); n != 1 {
			t.Fatalf("server saw %d calls, want 1", n)
		}
	})
	t.Run("with pushback", func(t *testing.T) {
		srv := &testServer{unary: withPushback(codes.ResourceExhausted, "20", 1)}
		client := dial(t, srv, regogrpc.Options{Executor: executor(retries(3), nil, nil)})
		if _, err := client.UnaryCall(context.Background(), &testgrpc.SimpleRequest{}); err != nil {
			t.Fatalf("UnaryCall: %v", err)
		}
		if n := srv.count("UnaryCall"); n != 2 {
			t.Fatalf("server saw %d calls, want 2", n)
		}
	})
	t.Run("configured retryable", func(t *testing.T) {
		srv := &testServer{unary: failFirst(1, codes.ResourceExhausted)}
		client := dial(t, srv, regogrpc.Options{
			Executor:   executor(retries(3), nil, nil),
			Classifier: regogrpc.ClassifierOptions{RetryableCodes: []codes.Code{codes.Unavailable, codes.ResourceExhausted}},
		})
		if _, err := client.UnaryCall(context.Background(), &testgrpc.SimpleRequest{}); err != nil {
			t.Fatalf("UnaryCall: %v", err)
		}
	})
}

// blockFirst makes the first call wait for its context to end.
func blockFirst(ctx context.Context, n int, req *testgrpc.SimpleRequest) (*testgrpc.SimpleResponse, error) {
	if n == 0 {
		<-ctx.Done()
		return nil, status.FromContextError(ctx.Err()).Err()
	}
	return &testgrpc.SimpleResponse{Payload: req.GetPayload()}, nil
}

// realExecutor runs p on the wall clock: deadlines sent to a server must be
// real ones.
func realExecutor(p policy.EffectivePolicy) *retry.Executor {
	return retry.NewExecutor(retry.ExecutorOptions{Provider: &controlplane.StaticProvider{Default: p}})
}

func TestUnaryPerAttemptDeadline(t *testing.T) {
	p := retries(3)
	p.Retry.InitialBackoff = time.Millisecond
	p.Retry.TimeoutPerAttempt = 100 * time.Millisecond
	srv := &testServer{unary: func(ctx context.Context, n int, req *testgrpc.SimpleRequest) (*testgrpc.SimpleResponse, error) {
		if n == 1 {
			<-ctx.Done() // the attempt's timeout ends it
			return nil, status.FromContextError(ctx.Err()).Err()
		}
		return &testgrpc.SimpleResponse{Payload: req.GetPayload()}, nil
	}}
	client := dial(t, srv, regogrpc.Options{Executor: realExecutor(p)})
	// The first call connects, so that dialling does not eat into the
	// attempt timeout measured below.
	if _, err := client.UnaryCall(context.Background(), &testgrpc.SimpleRequest{}); err != nil {
		t.Fatal(err)
	}
	resp, err := client.UnaryCall(context.Background(), &testgrpc.SimpleRequest{Payload: payload("x")})
	if err != nil {
		t.Fatalf("UnaryCall: %v (the attempt's own timeout should be retried)", err)
	}
	if string(resp.GetPayload().GetBody()) != "x" {
		t.Fatalf("resp %v", resp)
	}
	dls := srv.seenDeadlines()
	if len(dls) != 3 {
		t.Fatalf("server saw %d calls, want 3", len(dls))
	}
	for i, d := range dls {
		if d == noDeadline || d > 100*time.Millisecond {
			t.Fatalf("call %d had %v left, want at most the 100ms attempt timeout", i, d)
		}
	}
}

func TestUnaryCallerDeadlineBoundsAttempts(t *testing.T) {
	p := retries(3)
	p.Retry.TimeoutPerAttempt = time.Hour
	srv := &testServer{unary: func(ctx context.Context, n int, req *testgrpc.SimpleRequest) (*testgrpc.SimpleResponse, error) {
		if n == 0 {
			return &testgrpc.SimpleResponse{}, nil // warms the connection up
		}
		<-ctx.Done()
		return nil, status.FromContextError(ctx.Err()).Err()
	}}
	client := dial(t, srv, regogrpc.Options{Executor: realExecutor(p)})
	if _, err := client.UnaryCall(context.Background(), &testgrpc.SimpleRequest{}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := client.UnaryCall(ctx, &testgrpc.SimpleRequest{})
	if status.Code(err) != codes.DeadlineExceeded {
		t.Fatalf("err %v, want DeadlineExceeded", err)
	}
	dls := srv.seenDeadlines()
	if len(dls) != 2 {
		t.Fatalf("server saw %d calls, want 2: the caller's deadline is not retried", len(dls))
	}
	if dls[1] == noDeadline || dls[1] > 100*time.Millisecond {
		t.Fatalf("server had %v left, want the caller's 100ms, not the policy's hour", dls[1])
	}
}

func TestUnaryServerDeadlineExceededIsTerminal(t *testing.T) {
	srv := &testServer{unary: failFirst(1, codes.DeadlineExceeded)}
	client := dial(t, srv, regogrpc.Options{Executor: executor(retries(3), nil, nil)})
	if _, err := client.UnaryCall(context.Background(), &testgrpc.SimpleRequest{}); status.Code(err) != codes.DeadlineExceeded {
		t.Fatalf("err %v, want DeadlineExceeded", err)
	}
	if n := srv.count("UnaryCall"); n != 1 {
		t.Fatalf("server saw %d calls, want 1: a deadline the attempt did not set is not retried", n)
	}
}

func TestUnaryHedgeCopiesWinnerReply(t *testing.T) {
	p := retries(2)
	p.Hedge.Enabled = true
	p.Hedge.Delay = 10 * time.Millisecond
	srv := &testServer{unary: func(ctx context.Context, n int, req *testgrpc.SimpleRequest) (*testgrpc.SimpleResponse, error) {
		if n == 0 {
			<-ctx.Done() // the slow primary, cancelled once the hedge wins
			return nil, ctx.Err()
		}
		return &testgrpc.SimpleResponse{Payload: payload("hedge")}, nil
	}}
	obs := &timelines{}
	client := dial(t, srv, regogrpc.Options{Executor: executor(p, obs, nil)})
	var header metadata.MD
	resp, err := client.UnaryCall(context.Background(), &testgrpc.SimpleRequest{}, grpc.Header(&header))
	if err != nil {
		t.Fatalf("UnaryCall: %v", err)
	}
	if got := string(resp.GetPayload().GetBody()); got != "hedge" {
		t.Fatalf("payload %q, want the hedge's", got)
	}
	if header == nil {
		t.Fatal("the caller's Header option was not filled from the winner")
	}
	tl := obs.last(t)
	if len(tl.Attempts) != 2 || !tl.Attempts[1].IsHedge {
		t.Fatalf("attempts %+v, want a primary and a hedge", tl.Attempts)
	}
}

func TestUnaryCallerCancelStops(t *testing.T) {
	srv := &testServer{unary: blockFirst}
	client := dial(t, srv, regogrpc.Options{Executor: executor(retries(3), nil, nil)})
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		for srv.count("UnaryCall") == 0 {
			time.Sleep(time.Millisecond)
		}
		cancel()
	}()
	_, err := client.UnaryCall(ctx, &testgrpc.SimpleRequest{})
	if status.Code(err) != codes.Canceled {
		t.Fatalf("err %v, want Canceled", err)
	}
	if n := srv.count("UnaryCall"); n != 1 {
		t.Fatalf("server saw %d calls, want 1", n)
	}
}

func TestUnaryFilterBypasses(t *testing.T) {
	srv := &testServer{unary: failFirst(1, codes.Unavailable)}
	client := dial(t, srv, regogrpc.Options{
		Executor: executor(retries(3), nil, nil),
		Filter:   func(string) bool { return false },
	})
	if _, err := client.UnaryCall(context.Background(), &testgrpc.SimpleRequest{}); status.Code(err) != codes.Unavailable {
		t.Fatalf("err %v, want the unretried Unavailable", err)
	}
	if n := srv.count("UnaryCall"); n != 1 {
		t.Fatalf("server saw %d calls, want 1", n)
	}
}

func TestUnaryBudgetDenialIsRegoError(t *testing.T) {
	// A rego error that is not a status (here: no policy under
	// FailureDeny) reaches the caller intact for errors.As.
	exec := retry.NewExecutor(retry.ExecutorOptions{
		Provider:          failingProvider{},
		MissingPolicyMode: retry.FailureDeny,
	})
	srv := &testServer{}
	client := dial(t, srv, regogrpc.Options{Executor: exec})
	_, err := client.UnaryCall(context.Background(), &testgrpc.SimpleRequest{})
	var npe *retry.NoPolicyError
	if !errors.As(err, &npe) {
		t.Fatalf("err %v, want a *retry.NoPolicyError", err)
	}
	if srv.count("UnaryCall") != 0 {
		t.Fatal("the call ran without a policy")
	}
}

type failingProvider struct{}

func (failingProvider) GetEffectivePolicy(context.Context, policy.PolicyKey) (policy.EffectivePolicy, error) {
	return policy.EffectivePolicy{}, controlplane.ErrProviderUnavailable
}

var _ classify.Classifier = (*regogrpc.Classifier)(nil)
