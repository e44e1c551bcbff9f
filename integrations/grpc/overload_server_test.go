package regogrpc_test

import (
	"context"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/aponysus/rego/admission"
	"github.com/aponysus/rego/controlplane"
	"github.com/aponysus/rego/gate"
	regogrpc "github.com/aponysus/rego/integrations/grpc"
	"github.com/aponysus/rego/policy"
	"github.com/aponysus/rego/regotest"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// guarded is a TestService on a loopback TCP port behind the overload
// interceptors. Calls with the metadata "hold" block until release closes.
type guarded struct {
	addr    string
	gates   *admission.Gates
	entered chan string // the criticality each held call saw
	release chan struct{}
	// onRefused, when set, runs (in the server) before a refusal is sent.
	onRefused func()
	heldDone  chan struct{}
}

var serviceKey = policy.ParseKey("grpc.testing.TestService")

func isHeld(ctx context.Context) bool {
	md, _ := metadata.FromIncomingContext(ctx)
	return len(md.Get("hold")) > 0
}

func startGuarded(t *testing.T, p policy.EffectivePolicy) *guarded {
	t.Helper()
	g := &guarded{gates: admission.NewGates(nil), entered: make(chan string, 100), release: make(chan struct{}), heldDone: make(chan struct{}, 100)}
	srv := &testServer{unary: func(ctx context.Context, _ int, req *testgrpc.SimpleRequest) (*testgrpc.SimpleResponse, error) {
		if isHeld(ctx) {
			g.entered <- gate.CriticalityFrom(ctx).String()
			<-g.release
		}
		return &testgrpc.SimpleResponse{Payload: payload(gate.CriticalityFrom(ctx).String())}, nil
	}, bidi: func(_ int, st grpc.BidiStreamingServer[testgrpc.StreamingOutputCallRequest, testgrpc.StreamingOutputCallResponse]) error {
		if isHeld(st.Context()) {
			g.entered <- gate.CriticalityFrom(st.Context()).String()
			<-g.release
		}
		return echo(st)
	}}
	// One route key for the whole service, so that unary calls and
	// streams share the gates' state.
	so := regogrpc.ServerOptions{Provider: &controlplane.StaticProvider{Default: p}, Gates: g.gates, KeyFunc: func(string) policy.PolicyKey { return serviceKey }}
	// outer runs around the overload interceptor: it tells the test when a
	// held call has fully ended (its permits completed) and lets a test
	// act before a refusal reaches the client.
	outer := func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		resp, err := h(ctx, req)
		if isHeld(ctx) {
			g.heldDone <- struct{}{}
		} else if err != nil && g.onRefused != nil {
			g.onRefused()
		}
		return resp, err
	}
	s := grpc.NewServer(
		grpc.ChainUnaryInterceptor(outer, regogrpc.UnaryServerInterceptor(so)),
		grpc.ChainStreamInterceptor(regogrpc.StreamServerInterceptor(so)),
	)
	testgrpc.RegisterTestServiceServer(s, srv)
	g.addr = serveTCP(t, s)
	return g
}

func (g *guarded) client(t *testing.T, opts ...grpc.DialOption) testgrpc.TestServiceClient {
	t.Helper()
	cc, err := grpc.NewClient(g.addr, append([]grpc.DialOption{grpc.WithTransportCredentials(insecureCreds())}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cc.Close() })
	return testgrpc.NewTestServiceClient(cc)
}

// hold starts n unary calls that block in the handler and waits until they
// are in.
func (g *guarded) hold(t *testing.T, n int, crit gate.Criticality) *sync.WaitGroup {
	t.Helper()
	c := g.client(t, grpc.WithChainUnaryInterceptor(regogrpc.CriticalityUnaryClientInterceptor()))
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx := metadata.AppendToOutgoingContext(gate.WithCriticality(context.Background(), crit), "hold", "1")
			if _, err := c.UnaryCall(ctx, &testgrpc.SimpleRequest{}); err != nil {
				t.Error(err)
			}
		}()
		<-g.entered
	}
	return &wg
}

func TestServerBulkheadRefusesWithPushback(t *testing.T) {
	g := startGuarded(t, policy.EffectivePolicy{Bulkhead: policy.BulkheadPolicy{Enabled: true, MaxConcurrent: 1}})
	wg := g.hold(t, 1, gate.CriticalityDefault)
	var trailer metadata.MD
	_, err := g.client(t).UnaryCall(context.Background(), &testgrpc.SimpleRequest{}, grpc.Trailer(&trailer))
	if status.Code(err) != codes.Unavailable || len(trailer.Get(regogrpc.PushbackKey)) == 0 || trailer.Get(regogrpc.PushbackKey)[0] != "1000" {
		t.Fatalf("err %v, trailer %v", err, trailer)
	}
	// A stream is refused the same way.
	st, err := g.client(t).FullDuplexCall(context.Background())
	if err == nil {
		_, err = st.Recv()
	}
	if status.Code(err) != codes.Unavailable || st.Trailer().Get(regogrpc.PushbackKey)[0] != "1000" {
		t.Fatalf("stream: %v, trailer %v", err, st.Trailer())
	}
	close(g.release)
	wg.Wait()
	if _, err := g.client(t).UnaryCall(context.Background(), &testgrpc.SimpleRequest{}); err != nil {
		t.Fatalf("after release: %v", err)
	}
}

func TestServerRateLimitIsResourceExhausted(t *testing.T) {
	g := startGuarded(t, policy.EffectivePolicy{RateLimit: policy.RateLimitPolicy{Enabled: true, Rate: 0.5, Burst: 1}})
	c := g.client(t)
	if _, err := c.UnaryCall(context.Background(), &testgrpc.SimpleRequest{}); err != nil {
		t.Fatal(err)
	}
	var trailer metadata.MD
	_, err := c.UnaryCall(context.Background(), &testgrpc.SimpleRequest{}, grpc.Trailer(&trailer))
	if status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("err %v", err)
	}
	// The next token is about 2s away.
	if v := trailer.Get(regogrpc.PushbackKey); len(v) == 0 || v[0] < "1900" || len(v[0]) != 4 {
		t.Fatalf("pushback %v", v)
	}
}

func TestServerShedsByCriticality(t *testing.T) {
	g := startGuarded(t, policy.EffectivePolicy{Shed: policy.ShedPolicy{Enabled: true, Capacity: 4}})
	wg := g.hold(t, 2, gate.CriticalityCriticalPlus)
	c := g.client(t, grpc.WithChainUnaryInterceptor(regogrpc.CriticalityUnaryClientInterceptor()),
		grpc.WithChainStreamInterceptor(regogrpc.CriticalityStreamClientInterceptor()))
	// Capacity 4: sheddable may fill 2 (full), sheddable_plus 3.
	_, err := c.UnaryCall(gate.WithCriticality(context.Background(), gate.CriticalitySheddable), &testgrpc.SimpleRequest{})
	if status.Code(err) != codes.Unavailable {
		t.Fatalf("sheddable: %v", err)
	}
	resp, err := c.UnaryCall(gate.WithCriticality(context.Background(), gate.CriticalitySheddablePlus), &testgrpc.SimpleRequest{})
	if err != nil || string(resp.GetPayload().GetBody()) != "sheddable_plus" {
		t.Fatalf("sheddable_plus: %v %v", resp, err)
	}
	// A stream of the same criticality is admitted too.
	st, err := c.FullDuplexCall(gate.WithCriticality(context.Background(), gate.CriticalitySheddablePlus))
	if err != nil {
		t.Fatal(err)
	}
	if err := st.CloseSend(); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Recv(); err != io.EOF {
		t.Fatalf("stream: %v", err)
	}
	close(g.release)
	wg.Wait()
	if n := g.gates.Shed.For(serviceKey).InFlight(); n != 0 {
		t.Fatalf("%d in flight", n)
	}
}

// TestServerEndToEndBackoff: a rego client (the client interceptor) meets
// a rego server whose bulkhead is full; it waits the server's pushback and
// its retry is served.
func TestServerEndToEndBackoff(t *testing.T) {
	g := startGuarded(t, policy.EffectivePolicy{Bulkhead: policy.BulkheadPolicy{Enabled: true, MaxConcurrent: 1}})
	// The held call ends, and gives its slot back, before the refusal
	// reaches the client: the client's retry finds the slot free.
	g.onRefused = func() {
		close(g.release)
		<-g.heldDone
	}
	wg := g.hold(t, 1, gate.CriticalityDefault)
	clk := regotest.NewAutoClock(time.Time{})
	obs := &timelines{}
	exec := executor(retries(3), obs, clk)
	c := g.client(t, grpc.WithChainUnaryInterceptor(regogrpc.UnaryClientInterceptor(regogrpc.Options{Executor: exec})))
	start := clk.Now()
	if _, err := c.UnaryCall(context.Background(), &testgrpc.SimpleRequest{}); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	tl := obs.last(t)
	if len(tl.Attempts) != 2 || tl.Attempts[1].Backoff != time.Second {
		t.Fatalf("attempts %+v, want a retry after the 1s pushback", tl.Attempts)
	}
	if waited := clk.Now().Sub(start); waited != time.Second {
		t.Fatalf("waited %v", waited)
	}
}

func TestOutgoingCriticality(t *testing.T) {
	if regogrpc.CriticalityKey != "rego-criticality" {
		t.Fatal(regogrpc.CriticalityKey)
	}
	ctx := regogrpc.WithOutgoingCriticality(gate.WithCriticality(context.Background(), gate.CriticalitySheddable))
	md, _ := metadata.FromOutgoingContext(ctx)
	if c, ok := regogrpc.CriticalityFromMetadata(md); !ok || c != gate.CriticalitySheddable {
		t.Fatalf("%v %v", c, ok)
	}
	// A value already in the metadata wins; the default sends nothing.
	ctx2 := regogrpc.WithOutgoingCriticality(gate.WithCriticality(ctx, gate.CriticalityCriticalPlus))
	md, _ = metadata.FromOutgoingContext(ctx2)
	if v := md.Get(regogrpc.CriticalityKey); len(v) != 1 || v[0] != "sheddable" {
		t.Fatalf("%v", v)
	}
	if _, ok := metadata.FromOutgoingContext(regogrpc.WithOutgoingCriticality(context.Background())); ok {
		t.Fatal("metadata for the default criticality")
	}
}

// FuzzCriticalityMetadata: any metadata value parses without panicking, to
// a criticality whose wire name parses back to it.
func FuzzCriticalityMetadata(f *testing.F) {
	for _, s := range []string{"critical", "sheddable", " Sheddable_Plus", "", "?"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		c, ok := regogrpc.CriticalityFromMetadata(metadata.Pairs(regogrpc.CriticalityKey, v))
		if !ok {
			if c != gate.CriticalityDefault {
				t.Fatalf("%q gave %v", v, c)
			}
			return
		}
		if back, ok := gate.ParseCriticality(c.String()); !ok || back != c {
			t.Fatalf("%v does not round-trip", c)
		}
	})
}
