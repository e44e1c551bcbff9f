package regohttp_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/aponysus/rego/admission"
	"github.com/aponysus/rego/controlplane"
	"github.com/aponysus/rego/gate"
	"github.com/aponysus/rego/integrations/regohttp"
	"github.com/aponysus/rego/observe"
	"github.com/aponysus/rego/policy"
)

// guardedServer is a loopback server whose handler, behind the
// middleware, blocks requests marked "hold" until release is closed.
type guardedServer struct {
	*httptest.Server
	entered chan struct{}
	release chan struct{}
	gates   *admission.Gates
}

func newGuardedServer(t *testing.T, p policy.EffectivePolicy, wrap func(http.Handler) http.Handler) *guardedServer {
	t.Helper()
	g := &guardedServer{entered: make(chan struct{}, 100), release: make(chan struct{}), gates: admission.NewGates(nil)}
	inner := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("hold") != "" {
			g.entered <- struct{}{}
			<-g.release
		}
		w.Write([]byte(gate.CriticalityFrom(r.Context()).String()))
	})
	h := regohttp.Middleware(regohttp.ServerOptions{
		Provider: &controlplane.StaticProvider{Default: p},
		Gates:    g.gates,
	})(inner)
	if wrap != nil {
		h = wrap(h)
	}
	g.Server = httptest.NewServer(h)
	t.Cleanup(g.Close)
	return g
}

// hold starts n requests that block in the handler, and waits until they
// are in.
func (g *guardedServer) hold(t *testing.T, n int, crit string) *sync.WaitGroup {
	t.Helper()
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest("GET", g.URL+"/?hold=1", nil)
			if crit != "" {
				req.Header.Set(regohttp.CriticalityHeader, crit)
			}
			resp, err := g.Client().Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
		}()
		<-g.entered
	}
	return &wg
}

func doReq(t *testing.T, c *http.Client, req *http.Request) *http.Response {
	t.Helper()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

func TestMiddlewareBulkheadAnswers503(t *testing.T) {
	g := newGuardedServer(t, policy.EffectivePolicy{Bulkhead: policy.BulkheadPolicy{Enabled: true, MaxConcurrent: 1}}, nil)
	wg := g.hold(t, 1, "")
	req, _ := http.NewRequest("GET", g.URL, nil)
	resp := doReq(t, g.Client(), req)
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") != "1" {
		t.Fatalf("status %d, Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	close(g.release)
	wg.Wait()
	if resp := doReq(t, g.Client(), req); resp.StatusCode != http.StatusOK {
		t.Fatalf("after release: %d", resp.StatusCode)
	}
}

func TestMiddlewareRateLimitAnswers429(t *testing.T) {
	g := newGuardedServer(t, policy.EffectivePolicy{RateLimit: policy.RateLimitPolicy{Enabled: true, Rate: 0.5, Burst: 1}}, nil)
	close(g.release)
	req, _ := http.NewRequest("GET", g.URL, nil)
	if resp := doReq(t, g.Client(), req); resp.StatusCode != http.StatusOK {
		t.Fatalf("first: %d", resp.StatusCode)
	}
	resp := doReq(t, g.Client(), req)
	// The next token comes in about 2s: Retry-After rounds up.
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") != "2" {
		t.Fatalf("status %d, Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
}

func TestMiddlewareShedsByCriticality(t *testing.T) {
	p := policy.EffectivePolicy{Shed: policy.ShedPolicy{Enabled: true, Capacity: 10}}
	g := newGuardedServer(t, p, nil)
	wg := g.hold(t, 5, "critical_plus")
	client := &http.Client{Transport: &regohttp.CriticalityTransport{Base: g.Client().Transport}}
	for _, tc := range []struct {
		crit gate.Criticality
		want int
	}{
		{gate.CriticalitySheddable, http.StatusServiceUnavailable}, // share 5: full
		{gate.CriticalitySheddablePlus, http.StatusOK},             // share 7
		{gate.CriticalityDefault, http.StatusOK},
	} {
		req, _ := http.NewRequestWithContext(gate.WithCriticality(context.Background(), tc.crit), "GET", g.URL, nil)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body := make([]byte, 64)
		n, _ := resp.Body.Read(body)
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Fatalf("%v: status %d (%s)", tc.crit, resp.StatusCode, body[:n])
		}
		// An admitted request's handler sees the criticality in its context.
		if tc.want == http.StatusOK && string(body[:n]) != tc.crit.String() {
			t.Fatalf("%v: handler saw %q", tc.crit, body[:n])
		}
	}
	close(g.release)
	wg.Wait()
	if n := g.gates.Shed.For(policy.PolicyKey{Namespace: "http", Name: "server"}).InFlight(); n != 0 {
		t.Fatalf("%d in flight after every request ended", n)
	}
}

// TestEndToEndBackoff: a rego client (regohttp Transport) meets a rego
// server whose bulkhead is full; it honours the 503's Retry-After and its
// retry is served.
func TestEndToEndBackoff(t *testing.T) {
	release := make(chan struct{})
	heldDone := make(chan struct{})
	var srv *guardedServer
	srv = newGuardedServer(t, policy.EffectivePolicy{Bulkhead: policy.BulkheadPolicy{Enabled: true, MaxConcurrent: 1}}, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Query().Get("hold") != "" {
				h.ServeHTTP(w, r)
				close(heldDone)
				return
			}
			// When the server refuses, the held request ends (and gives its
			// slot back) before the refusal reaches the client, so the
			// client's retry finds the slot free.
			h.ServeHTTP(&onStatus{ResponseWriter: w, f: func(code int) {
				if code == http.StatusServiceUnavailable {
					close(release)
					<-heldDone
				}
			}}, r)
		})
	})
	go func() { <-release; close(srv.release) }()
	wg := srv.hold(t, 1, "")
	p := fastPolicy()
	p.Retry.MaxAttempts = 2
	s := newSetup(t, nil, setupOpts{policy: p, autoClock: true})
	var tl observe.Timeline
	req, _ := http.NewRequestWithContext(regohttp.CaptureTimeline(context.Background(), &tl), "GET", srv.URL, nil)
	start := s.clk.Now()
	resp := doReq(t, s.client, req)
	wg.Wait()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if len(tl.Attempts) != 2 || tl.Attempts[0].Outcome.Attributes[regohttp.AttrStatusCode] != "503" || tl.Attempts[0].Outcome.Attributes[regohttp.AttrRetryAfter] != "1s" {
		t.Fatalf("attempts %+v", tl.Attempts)
	}
	if waited := s.clk.Now().Sub(start); waited < time.Second {
		t.Fatalf("the client waited %v, not the server's Retry-After", waited)
	}
}

type onStatus struct {
	http.ResponseWriter
	f    func(int)
	once sync.Once
}

func (w *onStatus) WriteHeader(code int) {
	w.once.Do(func() { w.f(code) })
	w.ResponseWriter.WriteHeader(code)
}
