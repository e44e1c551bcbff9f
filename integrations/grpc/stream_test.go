package regogrpc_test

import (
	"context"
	"io"
	"reflect"
	"testing"
	"time"

	regogrpc "github.com/aponysus/rego/integrations/grpc"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// outReq asks StreamingOutputCall for n responses echoing body.
func outReq(body string, n int) *testgrpc.StreamingOutputCallRequest {
	r := &testgrpc.StreamingOutputCallRequest{Payload: payload(body)}
	for i := 0; i < n; i++ {
		r.ResponseParameters = append(r.ResponseParameters, &testgrpc.ResponseParameters{Size: 1})
	}
	return r
}

// recvAll reads a stream to its end.
func recvAll[T any](recv func() (*T, error)) ([]*T, error) {
	var got []*T
	for {
		m, err := recv()
		if err != nil {
			if err == io.EOF {
				err = nil
			}
			return got, err
		}
		got = append(got, m)
	}
}

func TestServerStreamRetriedBeforeCommit(t *testing.T) {
	srv := &testServer{out: func(_ context.Context, n int, req *testgrpc.StreamingOutputCallRequest, send func(*testgrpc.StreamingOutputCallResponse) error) error {
		if n < 2 {
			return status.Error(codes.Unavailable, "not yet") // before any header: not committed
		}
		for range req.GetResponseParameters() {
			if err := send(&testgrpc.StreamingOutputCallResponse{Payload: req.GetPayload()}); err != nil {
				return err
			}
		}
		return nil
	}}
	obs := &timelines{}
	client := dial(t, srv, regogrpc.Options{Executor: executor(retries(3), obs, nil)})
	st, err := client.StreamingOutputCall(context.Background(), outReq("abc", 3))
	if err != nil {
		t.Fatalf("StreamingOutputCall: %v", err)
	}
	got, err := recvAll(st.Recv)
	if err != nil {
		t.Fatalf("Recv: %v", err)
	}
	if len(got) != 3 || string(got[2].GetPayload().GetBody()) != "abc" {
		t.Fatalf("got %v, want 3 echoes of the replayed request", got)
	}
	if got, want := srv.seenAttempts(), []string{"", "1", "2"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("grpc-previous-rpc-attempts %q, want %q", got, want)
	}
	if tl := obs.last(t); len(tl.Attempts) != 3 {
		t.Fatalf("%d attempt records, want 3", len(tl.Attempts))
	}
}

func TestServerStreamNotRetriedAfterCommit(t *testing.T) {
	for _, tc := range []struct {
		name string
		out  func(context.Context, int, *testgrpc.StreamingOutputCallRequest, func(*testgrpc.StreamingOutputCallResponse) error) error
		msgs int
	}{
		{"after a message", func(_ context.Context, _ int, req *testgrpc.StreamingOutputCallRequest, send func(*testgrpc.StreamingOutputCallResponse) error) error {
			if err := send(&testgrpc.StreamingOutputCallResponse{Payload: req.GetPayload()}); err != nil {
				return err
			}
			return status.Error(codes.Unavailable, "broke mid-stream")
		}, 1},
		{"after headers", func(ctx context.Context, _ int, _ *testgrpc.StreamingOutputCallRequest, _ func(*testgrpc.StreamingOutputCallResponse) error) error {
			if err := grpc.SendHeader(ctx, metadata.Pairs("x-commit", "1")); err != nil {
				return err
			}
			return status.Error(codes.Unavailable, "broke after headers")
		}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := &testServer{out: tc.out}
			client := dial(t, srv, regogrpc.Options{Executor: executor(retries(3), nil, nil)})
			st, err := client.StreamingOutputCall(context.Background(), outReq("abc", 3))
			if err != nil {
				t.Fatalf("StreamingOutputCall: %v", err)
			}
			got, err := recvAll(st.Recv)
			if len(got) != tc.msgs {
				t.Fatalf("got %d messages, want %d", len(got), tc.msgs)
			}
			if st := status.Convert(err); st.Code() != codes.Unavailable || st.Message() == "" {
				t.Fatalf("err %v, want the committed attempt's Unavailable unchanged", err)
			}
			if n := srv.count("StreamingOutputCall"); n != 1 {
				t.Fatalf("server saw %d calls, want 1: committed streams are not retried", n)
			}
		})
	}
}

func TestServerStreamExhausted(t *testing.T) {
	srv := &testServer{out: func(context.Context, int, *testgrpc.StreamingOutputCallRequest, func(*testgrpc.StreamingOutputCallResponse) error) error {
		return status.Error(codes.Unavailable, "down")
	}}
	client := dial(t, srv, regogrpc.Options{Executor: executor(retries(3), nil, nil)})
	st, err := client.StreamingOutputCall(context.Background(), outReq("abc", 1))
	if err != nil {
		t.Fatalf("StreamingOutputCall: %v", err)
	}
	if _, err := st.Recv(); status.Code(err) != codes.Unavailable {
		t.Fatalf("err %v, want Unavailable", err)
	}
	if _, err := st.Header(); err != nil {
		t.Fatalf("Header after failure: %v", err)
	}
	if n := srv.count("StreamingOutputCall"); n != 3 {
		t.Fatalf("server saw %d calls, want 3", n)
	}
}

func TestServerStreamEmptyOK(t *testing.T) {
	srv := &testServer{}
	client := dial(t, srv, regogrpc.Options{Executor: executor(retries(3), nil, nil)})
	st, err := client.StreamingOutputCall(context.Background(), outReq("abc", 0))
	if err != nil {
		t.Fatalf("StreamingOutputCall: %v", err)
	}
	if _, err := st.Recv(); err != io.EOF {
		t.Fatalf("err %v, want io.EOF for a stream that ended OK without messages", err)
	}
	if n := srv.count("StreamingOutputCall"); n != 1 {
		t.Fatalf("server saw %d calls, want 1", n)
	}
}

func TestServerStreamAttemptTimeoutBeforeCommit(t *testing.T) {
	p := retries(3)
	p.Retry.InitialBackoff = time.Millisecond
	p.Retry.TimeoutPerAttempt = 100 * time.Millisecond
	srv := &testServer{out: func(ctx context.Context, n int, req *testgrpc.StreamingOutputCallRequest, send func(*testgrpc.StreamingOutputCallResponse) error) error {
		if n == 0 {
			<-ctx.Done() // never answers: the attempt's timeout cancels it
			return ctx.Err()
		}
		if err := send(&testgrpc.StreamingOutputCallResponse{Payload: req.GetPayload()}); err != nil {
			return err
		}
		// Outlive the attempt timeout: a committed stream is not bound by it.
		time.Sleep(200 * time.Millisecond)
		return send(&testgrpc.StreamingOutputCallResponse{Payload: req.GetPayload()})
	}}
	client := dial(t, srv, regogrpc.Options{Executor: realExecutor(p)})
	st, err := client.StreamingOutputCall(context.Background(), outReq("abc", 1))
	if err != nil {
		t.Fatalf("StreamingOutputCall: %v", err)
	}
	got, err := recvAll(st.Recv)
	if err != nil || len(got) != 2 {
		t.Fatalf("got %d messages, err %v; want 2 and a clean end", len(got), err)
	}
	if n := srv.count("StreamingOutputCall"); n != 2 {
		t.Fatalf("server saw %d calls, want 2", n)
	}
}

func TestBidiRetriedBeforeCommit(t *testing.T) {
	received := make(chan []string, 4)
	srv := &testServer{bidi: func(n int, st grpc.BidiStreamingServer[testgrpc.StreamingOutputCallRequest, testgrpc.StreamingOutputCallResponse]) error {
		var bodies []string
		defer func() { received <- bodies }()
		for {
			req, err := st.Recv()
			if err != nil {
				return nil
			}
			bodies = append(bodies, string(req.GetPayload().GetBody()))
			if n == 0 && len(bodies) == 2 {
				return status.Error(codes.Unavailable, "drop before answering")
			}
			if n > 0 {
				if err := st.Send(&testgrpc.StreamingOutputCallResponse{Payload: req.GetPayload()}); err != nil {
					return err
				}
			}
		}
	}}
	client := dial(t, srv, regogrpc.Options{Executor: executor(retries(3), nil, nil)})
	st, err := client.FullDuplexCall(context.Background())
	if err != nil {
		t.Fatalf("FullDuplexCall: %v", err)
	}
	req := &testgrpc.StreamingOutputCallRequest{Payload: payload("m1")}
	if err := st.Send(req); err != nil {
		t.Fatal(err)
	}
	req.Payload = payload("m2") // reusing the message must not change what is replayed
	if err := st.Send(req); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"m1", "m2"} {
		resp, err := st.Recv()
		if err != nil {
			t.Fatalf("Recv: %v", err)
		}
		if got := string(resp.GetPayload().GetBody()); got != want {
			t.Fatalf("echo %q, want %q", got, want)
		}
	}
	if err := st.Send(&testgrpc.StreamingOutputCallRequest{Payload: payload("m3")}); err != nil {
		t.Fatal(err)
	}
	if resp, err := st.Recv(); err != nil || string(resp.GetPayload().GetBody()) != "m3" {
		t.Fatalf("Recv after commit: %v, %v", resp, err)
	}
	if err := st.CloseSend(); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Recv(); err != io.EOF {
		t.Fatalf("err %v, want io.EOF", err)
	}
	first, second := <-received, <-received
	if !reflect.DeepEqual(first, []string{"m1", "m2"}) || !reflect.DeepEqual(second, []string{"m1", "m2", "m3"}) {
		t.Fatalf("server received %q then %q", first, second)
	}
	if got, want := srv.seenAttempts(), []string{"", "1"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("grpc-previous-rpc-attempts %q, want %q", got, want)
	}
}

func TestBidiNotRetriedAfterCommit(t *testing.T) {
	srv := &testServer{bidi: func(_ int, st grpc.BidiStreamingServer[testgrpc.StreamingOutputCallRequest, testgrpc.StreamingOutputCallResponse]) error {
		req, err := st.Recv()
		if err != nil {
			return err
		}
		if err := st.Send(&testgrpc.StreamingOutputCallResponse{Payload: req.GetPayload()}); err != nil {
			return err
		}
		return status.Error(codes.Unavailable, "broke after answering")
	}}
	client := dial(t, srv, regogrpc.Options{Executor: executor(retries(3), nil, nil)})
	st, err := client.FullDuplexCall(context.Background())
	if err != nil {
		t.Fatalf("FullDuplexCall: %v", err)
	}
	if err := st.Send(&testgrpc.StreamingOutputCallRequest{Payload: payload("m1")}); err != nil {
		t.Fatal(err)
	}
	if resp, err := st.Recv(); err != nil || string(resp.GetPayload().GetBody()) != "m1" {
		t.Fatalf("Recv: %v, %v", resp, err)
	}
	if _, err := st.Recv(); status.Code(err) != codes.Unavailable {
		t.Fatalf("err %v, want Unavailable from the committed attempt", err)
	}
	if st.Trailer() == nil {
		t.Fatal("no trailer from the committed attempt")
	}
	if n := srv.count("FullDuplexCall"); n != 1 {
		t.Fatalf("server saw %d calls, want 1", n)
	}
}

func TestClientStreamRetriedBeforeCommit(t *testing.T) {
	srv := &testServer{in: func(n int, st grpc.ClientStreamingServer[testgrpc.StreamingInputCallRequest, testgrpc.StreamingInputCallResponse]) error {
		if n == 0 {
			for {
				if _, err := st.Recv(); err != nil {
					break
				}
			}
			return status.Error(codes.Unavailable, "lost the upload")
		}
		return sum(st)
	}}
	client := dial(t, srv, regogrpc.Options{Executor: executor(retries(3), nil, nil)})
	st, err := client.StreamingInputCall(context.Background())
	if err != nil {
		t.Fatalf("StreamingInputCall: %v", err)
	}
	for _, b := range []string{"aa", "bbb", "cccc"} {
		if err := st.Send(&testgrpc.StreamingInputCallRequest{Payload: payload(b)}); err != nil {
			t.Fatal(err)
		}
	}
	resp, err := st.CloseAndRecv()
	if err != nil {
		t.Fatalf("CloseAndRecv: %v", err)
	}
	if resp.GetAggregatedPayloadSize() != 9 {
		t.Fatalf("aggregated %d, want 9: the upload was replayed whole", resp.GetAggregatedPayloadSize())
	}
	if n := srv.count("StreamingInputCall"); n != 2 {
		t.Fatalf("server saw %d calls, want 2", n)
	}
}

func TestClientStreamBufferOverflowCommits(t *testing.T) {
	srv := &testServer{in: func(n int, st grpc.ClientStreamingServer[testgrpc.StreamingInputCallRequest, testgrpc.StreamingInputCallResponse]) error {
		for {
			if _, err := st.Recv(); err != nil {
				break
			}
		}
		return status.Error(codes.Unavailable, "lost the upload")
	}}
	client := dial(t, srv, regogrpc.Options{
		Executor:             executor(retries(3), nil, nil),
		StreamBufferMessages: 2,
	})
	st, err := client.StreamingInputCall(context.Background())
	if err != nil {
		t.Fatalf("StreamingInputCall: %v", err)
	}
	for _, b := range []string{"aa", "bbb", "cccc"} {
		if err := st.Send(&testgrpc.StreamingInputCallRequest{Payload: payload(b)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := st.CloseAndRecv(); status.Code(err) != codes.Unavailable {
		t.Fatalf("err %v, want Unavailable", err)
	}
	if n := srv.count("StreamingInputCall"); n != 1 {
		t.Fatalf("server saw %d calls, want 1: the third message committed the call", n)
	}
}

func TestStreamByteBufferOverflowCommits(t *testing.T) {
	srv := &testServer{in: func(n int, st grpc.ClientStreamingServer[testgrpc.StreamingInputCallRequest, testgrpc.StreamingInputCallResponse]) error {
		for {
			if _, err := st.Recv(); err != nil {
				break
			}
		}
		return status.Error(codes.Unavailable, "lost the upload")
	}}
	client := dial(t, srv, regogrpc.Options{
		Executor:          executor(retries(3), nil, nil),
		StreamBufferBytes: 10,
	})
	st, err := client.StreamingInputCall(context.Background())
	if err != nil {
		t.Fatalf("StreamingInputCall: %v", err)
	}
	if err := st.Send(&testgrpc.StreamingInputCallRequest{Payload: payload("0123456789abcdef")}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.CloseAndRecv(); status.Code(err) != codes.Unavailable {
		t.Fatalf("err %v, want Unavailable", err)
	}
	if n := srv.count("StreamingInputCall"); n != 1 {
		t.Fatalf("server saw %d calls, want 1", n)
	}
}

func TestStreamTerminalCodeNotRetried(t *testing.T) {
	srv := &testServer{out: func(context.Context, int, *testgrpc.StreamingOutputCallRequest, func(*testgrpc.StreamingOutputCallResponse) error) error {
		return status.Error(codes.PermissionDenied, "no")
	}}
	client := dial(t, srv, regogrpc.Options{Executor: executor(retries(3), nil, nil)})
	var trailer metadata.MD
	st, err := client.StreamingOutputCall(context.Background(), outReq("abc", 1), grpc.Trailer(&trailer))
	if err != nil {
		t.Fatalf("StreamingOutputCall: %v", err)
	}
	if _, err := st.Recv(); status.Code(err) != codes.PermissionDenied {
		t.Fatalf("err %v, want PermissionDenied", err)
	}
	if n := srv.count("StreamingOutputCall"); n != 1 {
		t.Fatalf("server saw %d calls, want 1", n)
	}
}

func TestStreamCallerCancelBeforeCommit(t *testing.T) {
	srv := &testServer{out: func(ctx context.Context, _ int, _ *testgrpc.StreamingOutputCallRequest, _ func(*testgrpc.StreamingOutputCallResponse) error) error {
		<-ctx.Done()
		return ctx.Err()
	}}
	client := dial(t, srv, regogrpc.Options{Executor: executor(retries(3), nil, nil)})
	ctx, cancel := context.WithCancel(context.Background())
	st, err := client.StreamingOutputCall(ctx, outReq("abc", 1))
	if err != nil {
		t.Fatalf("StreamingOutputCall: %v", err)
	}
	go func() {
		for srv.count("StreamingOutputCall") == 0 {
			time.Sleep(time.Millisecond)
		}
		cancel()
	}()
	if _, err := st.Recv(); status.Code(err) != codes.Canceled {
		t.Fatalf("err %v, want Canceled", err)
	}
}

func TestStreamNewStreamFails(t *testing.T) {
	// A closed connection fails every attempt as it starts: the error
	// comes back from NewStream, as without the interceptor.
	cc, err := grpc.NewClient("passthrough:///nowhere",
		grpc.WithTransportCredentials(insecureCreds()),
		grpc.WithChainStreamInterceptor(regogrpc.StreamClientInterceptor(regogrpc.Options{Executor: executor(retries(3), nil, nil)})))
	if err != nil {
		t.Fatal(err)
	}
	_ = cc.Close()
	_, err = testgrpc.NewTestServiceClient(cc).StreamingOutputCall(context.Background(), outReq("x", 1))
	if status.Code(err) != codes.Canceled {
		t.Fatalf("err %v, want Canceled from the closed connection", err)
	}
}

func TestServerStreamHedged(t *testing.T) {
	p := retries(3)
	p.Hedge.Enabled = true
	p.Hedge.Delay = 10 * time.Millisecond
	srv := &testServer{out: func(ctx context.Context, n int, req *testgrpc.StreamingOutputCallRequest, send func(*testgrpc.StreamingOutputCallResponse) error) error {
		if n == 0 {
			<-ctx.Done() // the slow primary: cancelled when the hedge commits
			return ctx.Err()
		}
		for i := 0; i < 2; i++ {
			if err := send(&testgrpc.StreamingOutputCallResponse{Payload: req.GetPayload()}); err != nil {
				return err
			}
		}
		return nil
	}}
	client := dial(t, srv, regogrpc.Options{Executor: executor(p, nil, nil)})
	st, err := client.StreamingOutputCall(context.Background(), outReq("abc", 2))
	if err != nil {
		t.Fatalf("StreamingOutputCall: %v", err)
	}
	got, err := recvAll(st.Recv)
	if err != nil || len(got) != 2 {
		t.Fatalf("got %d messages, err %v; want the hedge's 2", len(got), err)
	}
	if n := srv.count("StreamingOutputCall"); n != 2 {
		t.Fatalf("server saw %d calls, want 2", n)
	}
}
