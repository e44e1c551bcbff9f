package regogrpc_test

import (
	"context"
	"sync/atomic"
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

// countingClassifier is the gRPC classifier, registered under its name
// for the policy to name, counting the attempts it judges.
type countingClassifier struct {
	inner  *regogrpc.Classifier
	judged chan struct{}
	n      atomic.Int32
}

func newCountingClassifier() *countingClassifier {
	return &countingClassifier{inner: regogrpc.NewClassifier(regogrpc.ClassifierOptions{}), judged: make(chan struct{}, 16)}
}

func (c *countingClassifier) Classify(v any, err error) classify.Outcome {
	c.n.Add(1)
	select {
	case c.judged <- struct{}{}:
	default:
	}
	return c.inner.Classify(v, err)
}

// namedClassifierExecutor runs p, which names the gRPC classifier, on clk.
func namedClassifierExecutor(p policy.EffectivePolicy, cls classify.Classifier, clk *regotest.Clock) *retry.Executor {
	p.Retry.ClassifierName = regogrpc.ClassifierName
	reg := classify.NewRegistry()
	reg.Register(regogrpc.ClassifierName, cls)
	return retry.NewExecutor(retry.ExecutorOptions{
		Provider:    &controlplane.StaticProvider{Default: p},
		Classifiers: reg,
		Clock:       clk,
	})
}

// overflowClient dials srv on loopback with a one-message replay buffer,
// under p (which names the gRPC classifier) on a manual clock.
func overflowClient(t *testing.T, srv testgrpc.TestServiceServer, p policy.EffectivePolicy) (testgrpc.TestServiceClient, *regotest.Clock, *countingClassifier) {
	t.Helper()
	clk := regotest.NewClock(time.Time{})
	cls := newCountingClassifier()
	client := dialLoopback(t, srv, regogrpc.Options{
		Executor:             namedClassifierExecutor(p, cls, clk),
		StreamBufferMessages: 1,
	})
	return client, clk, cls
}

// drainUpload reads a client stream to its end.
func drainUpload(st grpc.ClientStreamingServer[testgrpc.StreamingInputCallRequest, testgrpc.StreamingInputCallResponse]) {
	for {
		if _, err := st.Recv(); err != nil {
			return
		}
	}
}

// recvWithin runs recv and returns its error, failing the test if it does
// not return within a real-time bound far beyond what a correct return
// takes: the bug it guards against is a wait for a virtual-clock timer
// that nobody advances, which never ends.
func recvWithin(t *testing.T, recv func() error) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- recv() }()
	select {
	case err := <-done:
		return err
	case <-time.After(20 * time.Second):
		t.Fatal("Recv is still waiting for the pending retry wait; the call should have ended")
		return nil
	}
}

func TestStreamOverflowWhileWaitingEndsCall(t *testing.T) {
	for _, tc := range []struct {
		name     string
		pushback string // the first attempt's pushback trailer, if any
	}{{"backoff", ""}, {"pushback", "60000"}} {
		t.Run(tc.name, func(t *testing.T) {
			srv := &testServer{in: func(n int, st grpc.ClientStreamingServer[testgrpc.StreamingInputCallRequest, testgrpc.StreamingInputCallResponse]) error {
				if n == 0 {
					if _, err := st.Recv(); err != nil {
						return err
					}
					if tc.pushback != "" {
						st.SetTrailer(metadata.Pairs(regogrpc.PushbackKey, tc.pushback))
					}
					return status.Error(codes.Unavailable, "lost the upload")
				}
				return sum(st)
			}}
			client, clk, _ := overflowClient(t, srv, retries(3))
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			st, err := client.StreamingInputCall(ctx)
			if err != nil {
				t.Fatalf("StreamingInputCall: %v", err)
			}
			if err := st.Send(&testgrpc.StreamingInputCallRequest{Payload: payload("aa")}); err != nil {
				t.Fatal(err)
			}
			// The first attempt fails; the retry waits on the virtual clock.
			clk.BlockUntil(1)
			// The second message overflows the one-message buffer while no
			// attempt is live: the call can no longer be retried.
			_ = st.Send(&testgrpc.StreamingInputCallRequest{Payload: payload("bbb")})
			err = recvWithin(t, func() error { _, err := st.CloseAndRecv(); return err })
			if status.Code(err) != codes.Unavailable {
				t.Fatalf("err %v, want the failed attempt's Unavailable", err)
			}
			clk.Advance(time.Hour) // nothing may be left to run
			if n := srv.count("StreamingInputCall"); n != 1 {
				t.Fatalf("server saw %d calls, want 1: the overflowed call is not retried", n)
			}
		})
	}
}

func TestStreamOverflowCommitBeforeHedge(t *testing.T) {
	p := retries(3)
	p.Hedge.Enabled = true
	p.Hedge.Delay = 10 * time.Millisecond
	p.Hedge.MaxHedges = 1
	srv := &testServer{in: func(n int, st grpc.ClientStreamingServer[testgrpc.StreamingInputCallRequest, testgrpc.StreamingInputCallResponse]) error {
		return sum(st)
	}}
	client, clk, cls := overflowClient(t, srv, p)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st, err := client.StreamingInputCall(ctx)
	if err != nil {
		t.Fatalf("StreamingInputCall: %v", err)
	}
	for _, b := range []string{"aa", "bbb"} { // the second commits the call
		if err := st.Send(&testgrpc.StreamingInputCallRequest{Payload: payload(b)}); err != nil {
			t.Fatal(err)
		}
	}
	// The hedge fires after commit: its attempt has nothing to do, and the
	// classifier named by the policy judges it.
	clk.BlockUntil(1)
	clk.Advance(p.Hedge.Delay)
	<-cls.judged
	resp, err := st.CloseAndRecv()
	if err != nil {
		t.Fatalf("CloseAndRecv: %v", err)
	}
	if resp.GetAggregatedPayloadSize() != 5 {
		t.Fatalf("aggregated %d, want 5", resp.GetAggregatedPayloadSize())
	}
	if n := srv.count("StreamingInputCall"); n != 1 {
		t.Fatalf("server saw %d calls, want 1", n)
	}
}
