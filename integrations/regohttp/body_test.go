package regohttp_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aponysus/rego/integrations/regohttp"
	"github.com/aponysus/rego/observe"
	"github.com/aponysus/rego/policy"
)

// bodyChecker is a handler that answers 503 until its n-th request and
// records the request bodies it saw.
type bodyChecker struct {
	mu     sync.Mutex
	bodies []string
	failN  int
}

func (b *bodyChecker) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	data, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	b.mu.Lock()
	b.bodies = append(b.bodies, string(data))
	n := len(b.bodies)
	b.mu.Unlock()
	if n <= b.failN {
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	io.WriteString(w, "stored")
}

func (b *bodyChecker) seen() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.bodies...)
}

func post(t *testing.T, s *setup, ctx context.Context, body io.Reader, hdr http.Header, tl *observe.Timeline) *http.Response {
	t.Helper()
	if tl != nil {
		ctx = regohttp.CaptureTimeline(ctx, tl)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.srv.URL+"/orders", body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	resp, err := s.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	readAll(t, resp)
	return resp
}

const payload = `{"item":"book","qty":2}`

func TestPostNotRetried(t *testing.T) {
	h := &bodyChecker{failN: 5}
	s := newSetup(t, h.ServeHTTP, setupOpts{policy: fastPolicy()})
	var tl observe.Timeline
	resp := post(t, s, context.Background(), strings.NewReader(payload), nil, &tl)
	if resp.StatusCode != 503 {
		t.Fatalf("status %d, want the 503", resp.StatusCode)
	}
	if got := h.seen(); len(got) != 1 || got[0] != payload {
		t.Fatalf("server saw %q, want one request with the payload", got)
	}
	if tl.Attributes[observe.AttrSingleAttempt] != "true" {
		t.Fatalf("timeline attributes %v, want single_attempt", tl.Attributes)
	}
}

func TestIdempotentPostRetriedWithItsBody(t *testing.T) {
	for _, tc := range []struct {
		name string
		ctx  context.Context
		hdr  http.Header
		body func() io.Reader
	}{
		{"Idempotency-Key", context.Background(), http.Header{"Idempotency-Key": {"order-42"}}, func() io.Reader { return strings.NewReader(payload) }},
		{"WithIdempotent", regohttp.WithIdempotent(context.Background(), true), nil, func() io.Reader { return bytes.NewBufferString(payload) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := &bodyChecker{failN: 2}
			s := newSetup(t, h.ServeHTTP, setupOpts{policy: fastPolicy()})
			resp := post(t, s, tc.ctx, tc.body(), tc.hdr, nil)
			if resp.StatusCode != 200 {
				t.Fatalf("status %d", resp.StatusCode)
			}
			got := h.seen()
			if len(got) != 3 {
				t.Fatalf("server saw %d requests, want 3", len(got))
			}
			for i, b := range got {
				if b != payload {
					t.Errorf("attempt %d sent %q, want %q", i, b, payload)
				}
			}
			if s.srv.conns.Load() != 1 {
				t.Errorf("%d connections, want 1", s.srv.conns.Load())
			}
		})
	}
}

// closeTracker is a request body without GetBody that records its Close.
type closeTracker struct {
	io.Reader
	closed atomic.Bool
}

func (c *closeTracker) Close() error { c.closed.Store(true); return nil }

func TestBodyWithoutGetBodySentOnce(t *testing.T) {
	h := &bodyChecker{failN: 5}
	s := newSetup(t, h.ServeHTTP, setupOpts{policy: fastPolicy()})
	body := &closeTracker{Reader: strings.NewReader(payload)}
	var tl observe.Timeline
	resp := post(t, s, context.Background(), body, http.Header{"Idempotency-Key": {"k"}}, &tl)
	if resp.StatusCode != 503 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if got := h.seen(); len(got) != 1 || got[0] != payload {
		t.Fatalf("server saw %q, want the payload once", got)
	}
	if !body.closed.Load() {
		t.Error("request body not closed")
	}
	if tl.Attributes[observe.AttrSingleAttempt] != "true" {
		t.Error("not run as a single attempt")
	}
}

func TestGetBodyFailureStopsRetries(t *testing.T) {
	h := &bodyChecker{failN: 5}
	s := newSetup(t, h.ServeHTTP, setupOpts{policy: fastPolicy()})
	req, _ := http.NewRequest(http.MethodPut, s.srv.URL, strings.NewReader(payload))
	boom := errors.New("spooled file gone")
	req.GetBody = func() (io.ReadCloser, error) { return nil, boom }
	var tl observe.Timeline
	req = req.WithContext(regohttp.CaptureTimeline(req.Context(), &tl))
	resp, err := s.trans.RoundTrip(req)
	if resp != nil {
		resp.Body.Close()
	}
	if !errors.Is(err, regohttp.ErrBodyNotReplayable) || !errors.Is(err, boom) {
		t.Fatalf("err = %v, want ErrBodyNotReplayable wrapping the GetBody error", err)
	}
	if len(h.seen()) != 1 || len(tl.Attempts) != 2 || tl.Attempts[1].Outcome.Reason != regohttp.ReasonBodyNotReplayable {
		t.Fatalf("%d requests, %d attempts", len(h.seen()), len(tl.Attempts))
	}
}

func TestIdempotencyRules(t *testing.T) {
	for _, tc := range []struct {
		method string
		hdr    http.Header
		ctx    context.Context
		opt    func(*http.Request) bool
		want   int // requests the server sees when every answer is a 503
	}{
		{method: "GET", want: 3},
		{method: "", want: 3},
		{method: "HEAD", want: 3},
		{method: "OPTIONS", want: 3},
		{method: "TRACE", want: 3},
		{method: "PUT", want: 3},
		{method: "DELETE", want: 3},
		{method: "POST", want: 1},
		{method: "PATCH", want: 1},
		{method: "PATCH", hdr: http.Header{"Idempotency-Key": {"k"}}, want: 3},
		{method: "GET", ctx: regohttp.WithIdempotent(context.Background(), false), want: 1},
		{method: "POST", opt: func(*http.Request) bool { return true }, want: 3},
		{method: "GET", opt: func(*http.Request) bool { return false }, want: 1},
		{method: "POST", ctx: regohttp.WithIdempotent(context.Background(), true), opt: func(*http.Request) bool { return false }, want: 3},
	} {
		var n atomic.Int64
		s := newSetup(t, func(w http.ResponseWriter, r *http.Request) {
			n.Add(1)
			w.WriteHeader(http.StatusServiceUnavailable)
		}, setupOpts{policy: fastPolicy(), transport: regohttp.Options{Idempotent: tc.opt}})
		ctx := tc.ctx
		if ctx == nil {
			ctx = context.Background()
		}
		req, _ := http.NewRequestWithContext(ctx, tc.method, s.srv.URL, nil)
		for k, v := range tc.hdr {
			req.Header[k] = v
		}
		resp, err := s.trans.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got := n.Load(); got != int64(tc.want) {
			t.Errorf("%q %v ctx-mark=%v option=%v: %d requests, want %d", tc.method, tc.hdr, tc.ctx != nil, tc.opt != nil, got, tc.want)
		}
	}
}

// trackedBody records that it was closed.
type trackedBody struct {
	io.ReadCloser
	once   sync.Once
	closed chan struct{}
}

func (b *trackedBody) Close() error {
	err := b.ReadCloser.Close()
	b.once.Do(func() { close(b.closed) })
	return err
}

// slowFirst is a base transport under which attempt 0 gets its response
// at once but holds it until its context is cancelled (or, with
// returnEarly, until the hedge has its response), then returns it: a
// losing hedge with a body to close. Every response body is tracked.
type slowFirst struct {
	base        http.RoundTripper
	returnEarly bool
	hedgeDone   chan struct{}
	firstIn     chan struct{}
	mu          sync.Mutex
	bodies      map[int]*trackedBody
}

func (s *slowFirst) RoundTrip(req *http.Request) (*http.Response, error) {
	info, ok := observe.AttemptFromContext(req.Context())
	if !ok {
		return nil, errors.New("no attempt info in the request context")
	}
	req.Header.Set("X-Attempt", string(rune('0'+info.Attempt)))
	if info.Attempt > 0 {
		<-s.firstIn // attempt 0 is the slow one, not a failed one
	}
	resp, err := s.base.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	tb := &trackedBody{ReadCloser: resp.Body, closed: make(chan struct{})}
	resp.Body = tb
	s.mu.Lock()
	s.bodies[info.Attempt] = tb
	s.mu.Unlock()
	if info.Attempt == 0 {
		close(s.firstIn)
		if s.returnEarly {
			<-s.hedgeDone
		} else {
			<-req.Context().Done()
		}
	} else {
		close(s.hedgeDone)
	}
	return resp, nil
}

func TestHedgeWinsAndLoserBodyClosed(t *testing.T) {
	p := fastPolicy()
	p.Retry.MaxAttempts = 2
	p.Hedge = policy.HedgePolicy{Enabled: true, MaxHedges: 1, Delay: 10 * time.Millisecond}
	for _, early := range []bool{false, true} {
		for i := 0; i < 10; i++ {
			sf := &slowFirst{returnEarly: early, hedgeDone: make(chan struct{}), firstIn: make(chan struct{}), bodies: map[int]*trackedBody{}}
			s := newSetup(t, func(w http.ResponseWriter, r *http.Request) {
				io.WriteString(w, "from attempt "+r.Header.Get("X-Attempt"))
			}, setupOpts{policy: p, autoClock: true, wrapBase: func(b http.RoundTripper) http.RoundTripper {
				sf.base = b
				return sf
			}})
			var tl observe.Timeline
			resp, err := get(t, s, context.Background(), &tl)
			if err != nil {
				t.Fatal(err)
			}
			body := readAll(t, resp)
			winner := "from attempt 1"
			if early && body == "from attempt 0" {
				winner = body // both were in: the first result handled won
			}
			if body != winner {
				t.Fatalf("early=%v: body %q, want %q", early, body, winner)
			}
			loser := 0
			if winner == "from attempt 0" {
				loser = 1
			}
			if !tl.Attempts[1].IsHedge {
				t.Fatalf("attempt 1 is not a hedge: %+v", tl.Attempts[1])
			}
			sf.mu.Lock()
			lb := sf.bodies[loser]
			sf.mu.Unlock()
			if lb == nil {
				t.Fatalf("early=%v body %q: the loser got no response; %+v", early, body, tl.Attempts)
			}
			select {
			case <-lb.closed:
			case <-time.After(5 * time.Second):
				t.Fatalf("early=%v: the losing attempt's body was never closed", early)
			}
		}
	}
}
