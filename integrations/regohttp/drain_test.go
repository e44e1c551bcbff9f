package regohttp_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aponysus/rego/clock"
	"github.com/aponysus/rego/controlplane"
	"github.com/aponysus/rego/integrations/regohttp"
	"github.com/aponysus/rego/policy"
	"github.com/aponysus/rego/regotest"
	"github.com/aponysus/rego/retry"
)

// stalledServer serves a 503 that announces a body of 1000 bytes, sends
// 10 and then stalls until its connection is closed, which it reports on
// cut; with more set, it sends the rest of the body once more is closed.
type stalledServer struct {
	requests atomic.Int64
	cut      chan struct{} // a token per request whose connection closed
	more     chan struct{} // nil: stall until the connection closes
}

func (s *stalledServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.requests.Add(1)
	w.Header().Set("Content-Length", strconv.Itoa(1000))
	w.WriteHeader(http.StatusServiceUnavailable)
	io.WriteString(w, "0123456789")
	w.(http.Flusher).Flush()
	select {
	case <-s.more:
		io.WriteString(w, strings.Repeat("x", 990))
	case <-r.Context().Done():
		s.cut <- struct{}{}
	}
}

// stalledClient serves s on loopback and returns a client whose Transport,
// configured by opts, times its drain on a virtual clock (returned) and
// runs under p on execClock (nil: a clock whose backoffs are instant).
func stalledClient(t *testing.T, s *stalledServer, p policy.EffectivePolicy, opts regohttp.Options, execClock clock.Clock) (*http.Client, *regotest.Clock, *testServer) {
	t.Helper()
	s.cut = make(chan struct{}, 16)
	srv := newServer(t, s.ServeHTTP)
	base := &http.Transport{}
	t.Cleanup(func() {
		base.CloseIdleConnections()
		srv.Close()
	})
	clk := regotest.NewClock(time.Time{})
	opts.Base = base
	opts.Clock = clk
	if execClock == nil {
		execClock = regotest.NewAutoClock(time.Time{})
	}
	opts.Executor = retry.NewExecutor(retry.ExecutorOptions{
		Provider: &controlplane.StaticProvider{Default: p},
		Clock:    execClock,
	})
	return &http.Client{Transport: regohttp.NewTransport(opts)}, clk, srv
}

// pastDrainTimeout is how long the watchdog may take to close a body that
// stalls: the drain timeout and a quarter.
func pastDrainTimeout(d time.Duration) time.Duration { return d + d/4 }

// roundTripAsync runs rt on a goroutine of its own and returns a channel
// that gets its result.
func roundTripAsync(rt func() (*http.Response, error)) <-chan roundTripResult {
	done := make(chan roundTripResult, 1)
	go func() {
		resp, err := rt()
		done <- roundTripResult{resp, err}
	}()
	return done
}

type roundTripResult struct {
	resp *http.Response
	err  error
}

// waitCut waits for n requests of s to see their connection closed. The
// bound guards against a drain that never closes a stalled body.
func waitCut(t *testing.T, s *stalledServer, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		select {
		case <-s.cut:
		case <-time.After(30 * time.Second):
			t.Fatalf("%d of %d stalled bodies were not closed", i, n)
		}
	}
}

// A failed response whose body stalls: when the drain timeout expires,
// the Transport closes the body, which ends the blocked read and the
// connection, and the retries go on; the final response reaches the
// caller, its body yielding what arrived, then ErrDrainTimeout.
func TestStalledFailedBody(t *testing.T) {
	s := &stalledServer{}
	// The default drain options, under a policy of three attempts.
	client, clk, srv := stalledClient(t, s, fastPolicy(), regohttp.Options{}, nil)
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, srv.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	done := roundTripAsync(func() (*http.Response, error) { return client.Do(req) })
	for i := 0; i < 3; i++ {
		clk.BlockUntil(1) // the attempt's drain has set the watchdog's timer
		clk.Advance(pastDrainTimeout(regohttp.DefaultDrainTimeout))
		waitCut(t, s, 1)
	}
	r := <-done
	if r.err != nil {
		t.Fatalf("err %v, want the final 503 with a nil error", r.err)
	}
	defer r.resp.Body.Close()
	if r.resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("status %d, want 503", r.resp.StatusCode)
	}
	if n := s.requests.Load(); n != 3 {
		t.Fatalf("%d requests, want 3: a stalled body stopped the retries", n)
	}
	got, err := io.ReadAll(r.resp.Body)
	if string(got) != "0123456789" || !errors.Is(err, regohttp.ErrDrainTimeout) {
		t.Fatalf("body %q, %v; want the 10 bytes sent, then ErrDrainTimeout", got, err)
	}
}

// Before its timeout, the drain waits for a body that arrives in parts:
// it reads it whole, and the retry reuses the connection.
func TestDrainWaitsWithinTimeout(t *testing.T) {
	s := &stalledServer{more: make(chan struct{})}
	p := fastPolicy()
	p.Retry.MaxAttempts = 2
	client, clk, srv := stalledClient(t, s, p, regohttp.Options{}, nil)
	req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
	done := roundTripAsync(func() (*http.Response, error) { return client.Do(req) })
	clk.BlockUntil(1)
	close(s.more) // the rest of every body follows the first 10 bytes
	r := <-done
	if r.err != nil {
		t.Fatal(r.err)
	}
	defer r.resp.Body.Close()
	if n := s.requests.Load(); n != 2 {
		t.Fatalf("%d requests, want 2", n)
	}
	if c := srv.conns.Load(); c != 1 {
		t.Fatalf("%d connections, want 1: the drained body's connection was not reused", c)
	}
	// The watchdog's timer, still set, cuts off nothing once it fires.
	clk.Advance(regohttp.DefaultDrainTimeout)
	got, err := io.ReadAll(r.resp.Body)
	if err != nil || len(got) != 1000 {
		t.Fatalf("read %d bytes, %v; want the whole body of 1000", len(got), err)
	}
}

// Closing the final response of a call whose bodies stalled leaves
// nothing running (goleak checks at exit): the watchdog closed them all.
func TestStalledFailedBodyClosedUnread(t *testing.T) {
	s := &stalledServer{}
	client, clk, srv := stalledClient(t, s, fastPolicy(), regohttp.Options{DrainTimeout: time.Millisecond}, nil)
	req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
	done := roundTripAsync(func() (*http.Response, error) { return client.Do(req) })
	for i := 0; i < 3; i++ {
		clk.BlockUntil(1)
		clk.Advance(pastDrainTimeout(time.Millisecond))
	}
	r := <-done
	if r.err != nil {
		t.Fatal(r.err)
	}
	if err := r.resp.Body.Close(); err != nil {
		t.Fatal(err)
	}
	waitCut(t, s, 3)
}

// A negative DrainTimeout leaves the attempt's timeout to bound the
// reading of a stalled body.
func TestNegativeDrainTimeoutAttemptBound(t *testing.T) {
	s := &stalledServer{}
	p := fastPolicy()
	p.Retry.MaxAttempts = 2
	p.Retry.TimeoutPerAttempt = 50 * time.Millisecond
	// The executor's clock is real: the attempt's timeout must fire.
	client, clk, srv := stalledClient(t, s, p, regohttp.Options{DrainTimeout: -1}, clock.Real{})
	req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
	r := <-roundTripAsync(func() (*http.Response, error) { return client.Do(req) })
	if r.resp != nil {
		r.resp.Body.Close()
	}
	if !errors.Is(r.err, context.DeadlineExceeded) {
		t.Fatalf("err %v, want the attempts' deadline", r.err)
	}
	if n := s.requests.Load(); n != 2 {
		t.Fatalf("%d requests, want 2", n)
	}
	if p := clk.Pending(); p != 0 {
		t.Fatalf("%d watchdogs armed, want none", p)
	}
	waitCut(t, s, 2)
}

// The documented default.
func TestDefaultDrainTimeout(t *testing.T) {
	if regohttp.DefaultDrainTimeout != 100*time.Millisecond {
		t.Fatalf("DefaultDrainTimeout %v; docs/http.md and the package doc say 100 ms", regohttp.DefaultDrainTimeout)
	}
}
