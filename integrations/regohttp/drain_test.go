package regohttp_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aponysus/rego/controlplane"
	"github.com/aponysus/rego/integrations/regohttp"
	"github.com/aponysus/rego/policy"
	"github.com/aponysus/rego/regotest"
	"github.com/aponysus/rego/retry"
)

// stalledBody serves a 503 that announces a body of 1000 bytes, sends 10
// and then stalls until release is closed, when it cuts the connection.
func stalledBody(n *atomic.Int64, release chan struct{}) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		w.Header().Set("Content-Length", strconv.Itoa(1000))
		w.WriteHeader(http.StatusServiceUnavailable)
		io.WriteString(w, "0123456789")
		w.(http.Flusher).Flush()
		select {
		case <-release:
			conn, _, _ := w.(http.Hijacker).Hijack()
			conn.Close()
		case <-r.Context().Done():
		}
	}
}

// stalledClient serves stalledBody on loopback and returns a client whose
// Transport, configured by opts, runs under p on a clock whose backoffs
// are instant.
func stalledClient(t *testing.T, n *atomic.Int64, release chan struct{}, p policy.EffectivePolicy, opts regohttp.Options) (*http.Client, string) {
	t.Helper()
	srv := newServer(t, stalledBody(n, release))
	base := &http.Transport{}
	t.Cleanup(func() {
		base.CloseIdleConnections()
		srv.Close()
	})
	opts.Base = base
	opts.Executor = retry.NewExecutor(retry.ExecutorOptions{
		Provider: &controlplane.StaticProvider{Default: p},
		Clock:    regotest.NewAutoClock(time.Time{}),
	})
	return &http.Client{Transport: regohttp.NewTransport(opts)}, srv.URL
}

// roundTripWithin runs rt and fails the test if it has not returned long
// after a bounded drain would have let it: the bug it guards against is a
// RoundTrip that never returns.
func roundTripWithin(t *testing.T, rt func() (*http.Response, error)) (*http.Response, error) {
	t.Helper()
	type result struct {
		resp *http.Response
		err  error
	}
	done := make(chan result, 1)
	go func() {
		resp, err := rt()
		done <- result{resp, err}
	}()
	select {
	case r := <-done:
		return r.resp, r.err
	case <-time.After(30 * time.Second):
		t.Fatal("RoundTrip is still draining a stalled error body")
		return nil, nil
	}
}

// A failed response whose body stalls: the drain gives up after its time
// bound, the retries go on, and the final response reaches the caller
// intact, its body yielding what arrived and then what follows.
func TestStalledFailedBody(t *testing.T) {
	var n atomic.Int64
	release := make(chan struct{})
	// The default policy (no timeouts) and the default drain options.
	client, url := stalledClient(t, &n, release, policy.EffectivePolicy{}, regohttp.Options{})
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := roundTripWithin(t, func() (*http.Response, error) { return client.Do(req) })
	if err != nil {
		close(release)
		t.Fatalf("err %v, want the final 503 with a nil error", err)
	}
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("status %d, want 503", resp.StatusCode)
	}
	if n.Load() < 2 {
		t.Fatalf("%d requests: the stalled body stopped the retries", n.Load())
	}
	// The caller reads the body as a plain transport would give it: the
	// prefix, then the rest of the stream (here: cut short by the server).
	buf := make([]byte, 10)
	if _, err := io.ReadFull(resp.Body, buf); err != nil || string(buf) != "0123456789" {
		t.Fatalf("read %q, %v; want the 10 bytes sent", buf, err)
	}
	close(release)
	rest, err := io.ReadAll(resp.Body)
	if len(rest) != 0 || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("rest %q, %v; want io.ErrUnexpectedEOF from the cut-off body", rest, err)
	}
	resp.Body.Close()
}

// Closing a response whose drain is still waiting for its body ends the
// drain: nothing is left reading (goleak checks at exit).
func TestStalledFailedBodyClosedUnread(t *testing.T) {
	var n atomic.Int64
	release := make(chan struct{})
	defer close(release)
	client, url := stalledClient(t, &n, release, fastPolicy(), regohttp.Options{DrainTimeout: time.Millisecond})
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	resp, err := roundTripWithin(t, func() (*http.Response, error) { return client.Do(req) })
	if err != nil {
		t.Fatal(err)
	}
	if err := resp.Body.Close(); err != nil {
		t.Fatal(err)
	}
	if n.Load() != 3 {
		t.Fatalf("%d requests, want 3", n.Load())
	}
}

// The documented default.
func TestDefaultDrainTimeout(t *testing.T) {
	if regohttp.DefaultDrainTimeout != 100*time.Millisecond {
		t.Fatalf("DefaultDrainTimeout %v; docs/http.md and the package doc say 100 ms", regohttp.DefaultDrainTimeout)
	}
}
