package regohttp_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aponysus/rego/classify"
	"github.com/aponysus/rego/integrations/regohttp"
	"github.com/aponysus/rego/observe"
	"github.com/aponysus/rego/policy"
	"github.com/aponysus/rego/regotest"
)

func get(t *testing.T, s *setup, ctx context.Context, tl *observe.Timeline) (*http.Response, error) {
	t.Helper()
	if tl != nil {
		ctx = regohttp.CaptureTimeline(ctx, tl)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.srv.URL+"/x", nil)
	if err != nil {
		t.Fatal(err)
	}
	return s.client.Do(req)
}

func readAll(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading body: %v", err)
	}
	return string(b)
}

func attr(rec observe.AttemptRecord, k string) string { return rec.Outcome.Attributes[k] }

func TestRetries503OnOneConnection(t *testing.T) {
	var n atomic.Int64
	s := newSetup(t, func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) <= 2 {
			http.Error(w, "unavailable", http.StatusServiceUnavailable)
			return
		}
		io.WriteString(w, "ok")
	}, setupOpts{policy: fastPolicy()})

	var tl observe.Timeline
	resp, err := get(t, s, context.Background(), &tl)
	if err != nil {
		t.Fatal(err)
	}
	if body := readAll(t, resp); resp.StatusCode != 200 || body != "ok" {
		t.Fatalf("got %d %q", resp.StatusCode, body)
	}
	if got := n.Load(); got != 3 {
		t.Fatalf("server saw %d requests, want 3", got)
	}
	if got := s.srv.conns.Load(); got != 1 {
		t.Fatalf("%d connections for 3 attempts, want 1", got)
	}
	if len(tl.Attempts) != 3 {
		t.Fatalf("%d attempt records, want 3", len(tl.Attempts))
	}
	for i, want := range []string{"503", "503", "200"} {
		rec := tl.Attempts[i]
		if attr(rec, regohttp.AttrStatusCode) != want || attr(rec, regohttp.AttrMethod) != "GET" {
			t.Errorf("attempt %d attributes %v, want status %s method GET", i, rec.Outcome.Attributes, want)
		}
	}
	if r := tl.Attempts[0].Outcome.Reason; r != "status_503" {
		t.Errorf("reason %q, want status_503", r)
	}
	var se *regohttp.StatusError
	if !errors.As(tl.Attempts[0].Err, &se) || se.StatusCode != 503 {
		t.Errorf("attempt 0 error %v, want a *StatusError with 503", tl.Attempts[0].Err)
	}
}

func TestFinalFailedResponseReturnedIntact(t *testing.T) {
	big := strings.Repeat("x", 3*regohttp.DefaultDrainLimit) // longer than the drain limit
	for _, tc := range []struct {
		name, body string
	}{{"small body", "unavailable\n"}, {"large body", big}} {
		t.Run(tc.name, func(t *testing.T) {
			var n atomic.Int64
			s := newSetup(t, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("X-Attempt", strconv.FormatInt(n.Add(1), 10))
				w.WriteHeader(http.StatusBadGateway)
				io.WriteString(w, tc.body)
			}, setupOpts{policy: fastPolicy()})
			for _, cancellable := range []bool{false, true} {
				n.Store(0)
				ctx, cancel := context.WithCancel(context.Background())
				if !cancellable {
					ctx = context.Background()
				}
				resp, err := get(t, s, ctx, nil)
				if err != nil {
					t.Fatal(err)
				}
				checkFinal(t, resp, tc.body)
				cancel()
			}
		})
	}
}

func checkFinal(t *testing.T, resp *http.Response, want string) {
	t.Helper()
	if resp.StatusCode != http.StatusBadGateway || resp.Header.Get("X-Attempt") != "3" {
		t.Fatalf("got %d from attempt %s, want 502 from attempt 3", resp.StatusCode, resp.Header.Get("X-Attempt"))
	}
	if body := readAll(t, resp); body != want {
		t.Fatalf("body of %d bytes, want %d", len(body), len(want))
	}
}

func TestFailedResponseError(t *testing.T) {
	s := newSetup(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "1")
		w.WriteHeader(http.StatusTooManyRequests)
	}, setupOpts{policy: fastPolicy(), autoClock: true, transport: regohttp.Options{FailedResponseError: true}})
	resp, err := get(t, s, context.Background(), nil)
	if resp != nil {
		resp.Body.Close()
		t.Fatal("got a response, want none")
	}
	var se *regohttp.StatusError
	if !errors.As(err, &se) || se.StatusCode != 429 || se.Method != "GET" || se.Header.Get("Retry-After") != "1" {
		t.Fatalf("err = %v, want a *StatusError 429 GET with its header", err)
	}
}

func TestRetryAfter(t *testing.T) {
	var clk atomic.Pointer[regotest.Clock] // the running case's clock
	cases := []struct {
		name        string
		header      func(n int64) string
		cls         regohttp.ClassifierOptions
		wantBackoff time.Duration // before attempt 1
		wantAttr    string        // http.retry_after
		wantIgnored string
		wantReqs    int64
	}{
		{name: "seconds", header: func(int64) string { return "7" }, wantBackoff: 7 * time.Second, wantAttr: "7s", wantReqs: 3},
		{
			name: "http-date",
			// Measured from the executor's virtual clock.
			header:      func(int64) string { return clk.Load().Now().Add(5 * time.Second).Format(http.TimeFormat) },
			wantBackoff: 5 * time.Second, wantAttr: "5s", wantReqs: 3,
		},
		{name: "past date", header: func(int64) string { return "Sat, 01 Jan 2000 00:00:00 GMT" }, wantBackoff: time.Millisecond, wantIgnored: "negative", wantReqs: 3},
		{name: "invalid", header: func(int64) string { return "soon" }, wantBackoff: time.Millisecond, wantIgnored: "invalid", wantReqs: 3},
		{name: "negative seconds", header: func(int64) string { return "-5" }, wantBackoff: time.Millisecond, wantIgnored: "invalid", wantReqs: 3},
		{name: "beyond max ignored", header: func(int64) string { return "3600" }, wantBackoff: time.Millisecond, wantIgnored: "exceeds_max", wantReqs: 3},
		{name: "beyond max stops", header: func(int64) string { return "3600" }, cls: regohttp.ClassifierOptions{StopBeyondMaxRetryAfter: true}, wantIgnored: "exceeds_max", wantReqs: 1},
		{name: "disabled", header: func(int64) string { return "7" }, cls: regohttp.ClassifierOptions{IgnoreRetryAfter: true}, wantBackoff: time.Millisecond, wantIgnored: "disabled", wantReqs: 3},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var n atomic.Int64
			s := newSetup(t, func(w http.ResponseWriter, r *http.Request) {
				i := n.Add(1)
				if i <= 2 {
					w.Header().Set("Retry-After", tc.header(i-1))
					http.Error(w, "busy", http.StatusServiceUnavailable)
					return
				}
				io.WriteString(w, "ok")
			}, setupOpts{policy: fastPolicy(), autoClock: true, cls: tc.cls})
			clk.Store(s.clk)
			var tl observe.Timeline
			resp, err := get(t, s, context.Background(), &tl)
			if err != nil {
				t.Fatal(err)
			}
			readAll(t, resp)
			if got := n.Load(); got != tc.wantReqs {
				t.Fatalf("server saw %d requests, want %d", got, tc.wantReqs)
			}
			rec0 := tl.Attempts[0]
			if got := attr(rec0, regohttp.AttrRetryAfter); got != tc.wantAttr {
				t.Errorf("%s = %q, want %q", regohttp.AttrRetryAfter, got, tc.wantAttr)
			}
			if got := attr(rec0, regohttp.AttrRetryAfterIgnored); got != tc.wantIgnored {
				t.Errorf("%s = %q, want %q", regohttp.AttrRetryAfterIgnored, got, tc.wantIgnored)
			}
			if tc.wantReqs == 1 {
				if resp.StatusCode != 503 || rec0.Outcome.Reason != regohttp.ReasonRetryAfterExceedsMax {
					t.Errorf("got %d, reason %q; want the 503 back, reason %s", resp.StatusCode, rec0.Outcome.Reason, regohttp.ReasonRetryAfterExceedsMax)
				}
				return
			}
			if got := tl.Attempts[1].Backoff; got != tc.wantBackoff {
				t.Errorf("wait before attempt 1 = %v, want %v", got, tc.wantBackoff)
			}
		})
	}
}

// A policy that names a classifier of classify.Default's kind still
// retries what the Transport's Classifier says: the Transport reports
// failed responses as errors that classifier understands.
func TestPolicyClassifierHonoursTransport(t *testing.T) {
	var n atomic.Int64
	p := fastPolicy()
	p.Retry.ClassifierName = "plain"
	s := newSetup(t, func(w http.ResponseWriter, r *http.Request) {
		switch n.Add(1) {
		case 1:
			w.Header().Set("Retry-After", "9")
			w.WriteHeader(http.StatusServiceUnavailable)
		case 2:
			w.WriteHeader(http.StatusNotFound) // not retryable: the call ends
		default:
			t.Error("a third request")
		}
	}, setupOpts{policy: p, autoClock: true, register: map[string]classify.Classifier{"plain": classify.Default}})
	var tl observe.Timeline
	resp, err := get(t, s, context.Background(), &tl)
	if err != nil {
		t.Fatal(err)
	}
	readAll(t, resp)
	if resp.StatusCode != 404 || len(tl.Attempts) != 2 || tl.Attempts[1].Backoff != 9*time.Second {
		t.Fatalf("status %d, %d attempts; want 404 after 2 attempts, waiting 9s", resp.StatusCode, len(tl.Attempts))
	}
	if a := tl.Attempts[0].Outcome.Attributes; a != nil {
		t.Errorf("the policy's classifier was not used: attributes %v", a)
	}
}

// With no classifier registered or named, the executor still judges with
// the Transport's Classifier: the records carry the HTTP attributes.
func TestRecordsWithoutRegistration(t *testing.T) {
	var n atomic.Int64
	p := fastPolicy()
	p.Retry.ClassifierName = ""
	s := newSetup(t, func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 {
			w.WriteHeader(http.StatusGatewayTimeout)
		}
	}, setupOpts{policy: p, noRegistry: true})
	var tl observe.Timeline
	resp, err := get(t, s, context.Background(), &tl)
	if err != nil {
		t.Fatal(err)
	}
	readAll(t, resp)
	if len(tl.Attempts) != 2 || attr(tl.Attempts[0], regohttp.AttrStatusCode) != "504" || attr(tl.Attempts[1], regohttp.AttrStatusCode) != "200" {
		t.Fatalf("records %+v", tl.Attempts)
	}
}

func TestConnectionResetsRetried(t *testing.T) {
	var n atomic.Int64
	s := newSetup(t, func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) <= 2 {
			conn, _, err := w.(http.Hijacker).Hijack()
			if err != nil {
				t.Error(err)
				return
			}
			if tc, ok := conn.(*net.TCPConn); ok {
				tc.SetLinger(0) // close with a RST
			}
			conn.Close()
			return
		}
		io.WriteString(w, "ok")
	}, setupOpts{policy: fastPolicy()})
	var tl observe.Timeline
	resp, err := get(t, s, context.Background(), &tl)
	if err != nil {
		t.Fatal(err)
	}
	if body := readAll(t, resp); body != "ok" || n.Load() != 3 {
		t.Fatalf("body %q after %d requests", body, n.Load())
	}
	for i := 0; i < 2; i++ {
		rec := tl.Attempts[i]
		if rec.Outcome.Reason != regohttp.ReasonTransportError || attr(rec, regohttp.AttrMethod) != "GET" || attr(rec, regohttp.AttrStatusCode) != "" {
			t.Errorf("attempt %d: reason %q attributes %v", i, rec.Outcome.Reason, rec.Outcome.Attributes)
		}
	}
}

func TestResetsExhaustedReturnTheTransportError(t *testing.T) {
	s := newSetup(t, func(w http.ResponseWriter, r *http.Request) {
		conn, _, _ := w.(http.Hijacker).Hijack()
		conn.Close()
	}, setupOpts{policy: fastPolicy()})
	req, _ := http.NewRequest(http.MethodGet, s.srv.URL, nil)
	resp, err := s.trans.RoundTrip(req)
	if resp != nil || err == nil {
		t.Fatalf("got %v, %v; want an error", resp, err)
	}
	if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Logf("error: %v (%T)", err, err)
	}
	if strings.Contains(err.Error(), "regohttp") {
		t.Errorf("error %q: want the base transport's error as is", err)
	}
}

func TestPerAttemptTimeout(t *testing.T) {
	var n atomic.Int64
	p := fastPolicy()
	p.Retry.TimeoutPerAttempt = 50 * time.Millisecond
	s := newSetup(t, func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 {
			<-r.Context().Done() // hang until the client gives up
			return
		}
		io.WriteString(w, "ok")
	}, setupOpts{policy: p})
	var tl observe.Timeline
	resp, err := get(t, s, context.Background(), &tl)
	if err != nil {
		t.Fatal(err)
	}
	if body := readAll(t, resp); body != "ok" {
		t.Fatalf("body %q", body)
	}
	rec := tl.Attempts[0]
	if !errors.Is(rec.Err, context.DeadlineExceeded) || rec.Outcome.Reason != regohttp.ReasonTimeout {
		t.Fatalf("attempt 0: err %v reason %q; want a deadline, reason timeout", rec.Err, rec.Outcome.Reason)
	}
}

// The executor cancels an attempt's context when the attempt returns; the
// body of the response must stay readable after that.
func TestBodyOutlivesAttemptContext(t *testing.T) {
	p := fastPolicy()
	p.Retry.TimeoutPerAttempt = time.Minute // the attempt context is cancelled on return
	p.Retry.OverallTimeout = time.Hour      // and so is the call's
	release := make(chan struct{})
	s := newSetup(t, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "first half,")
		w.(http.Flusher).Flush()
		<-release // the client has the headers and the call has returned
		io.WriteString(w, "second half")
	}, setupOpts{policy: p})
	resp, err := get(t, s, context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	close(release)
	if body := readAll(t, resp); body != "first half,second half" {
		t.Fatalf("body %q", body)
	}
}

// The caller cancelling while the body streams still stops the body.
func TestCallerCancelStopsBody(t *testing.T) {
	release := make(chan struct{})
	s := newSetup(t, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "first,")
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}, setupOpts{policy: fastPolicy()})
	defer close(release)
	ctx, cancel := context.WithCancel(context.Background())
	resp, err := get(t, s, ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	buf := make([]byte, 6)
	if _, err := io.ReadFull(resp.Body, buf); err != nil {
		t.Fatal(err)
	}
	cancel()
	if _, err := io.ReadAll(resp.Body); !errors.Is(err, context.Canceled) {
		t.Fatalf("read after cancel: %v, want context.Canceled", err)
	}
}

func TestCallerCancelDuringBackoff(t *testing.T) {
	p := fastPolicy()
	p.Retry.InitialBackoff = time.Minute
	p.Retry.MaxBackoff = time.Minute
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := newSetup(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	}, setupOpts{policy: p, observer: cancelOnAttempt{cancel: cancel}})
	resp, err := get(t, s, ctx, nil)
	if resp != nil {
		resp.Body.Close()
		t.Fatal("got a response after the caller cancelled")
	}
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

type cancelOnAttempt struct {
	observe.BaseObserver
	cancel context.CancelFunc
}

func (c cancelOnAttempt) OnAttempt(context.Context, policy.PolicyKey, observe.AttemptRecord) {
	c.cancel()
}

// The call's deadline ends the retries: the last 503 goes back.
func TestDeadlineReturnsLastResponse(t *testing.T) {
	p := fastPolicy()
	p.Retry.OverallTimeout = 10 * time.Second
	var n atomic.Int64
	s := newSetup(t, func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		w.Header().Set("Retry-After", "30") // past the deadline
		w.WriteHeader(http.StatusServiceUnavailable)
	}, setupOpts{policy: p, autoClock: true})
	var tl observe.Timeline
	resp, err := get(t, s, context.Background(), &tl)
	if err != nil {
		t.Fatal(err)
	}
	readAll(t, resp)
	if resp.StatusCode != 503 || n.Load() != 1 || tl.Attributes[observe.AttrStopReason] != "deadline" {
		t.Fatalf("status %d after %d requests, stop %q", resp.StatusCode, n.Load(), tl.Attributes[observe.AttrStopReason])
	}
}

func TestAllAttemptsTimeOut(t *testing.T) {
	p := fastPolicy()
	p.Retry.MaxAttempts = 2
	p.Retry.TimeoutPerAttempt = 20 * time.Millisecond
	s := newSetup(t, func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	}, setupOpts{policy: p})
	resp, err := get(t, s, context.Background(), nil)
	if resp != nil {
		resp.Body.Close()
		t.Fatal("got a response")
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want one matching context.DeadlineExceeded", err)
	}
	t.Logf("error: %v", err)
}

// The zero Transport works: default transport, default executor, default
// key and classifier.
func TestZeroTransport(t *testing.T) {
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	defer srv.Close()
	defer http.DefaultTransport.(*http.Transport).CloseIdleConnections()
	client := &http.Client{Transport: &regohttp.Transport{}}
	resp, err := client.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	if body := readAll(t, resp); body != "ok" {
		t.Fatalf("body %q", body)
	}
}

// A failed response whose body breaks off: the retries go on, and the
// final response's body yields what arrived, then the error.
func TestTruncatedFailedBody(t *testing.T) {
	var n atomic.Int64
	s := newSetup(t, func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		w.Header().Set("Content-Length", "100")
		w.WriteHeader(http.StatusServiceUnavailable)
		io.WriteString(w, "partial")
		w.(http.Flusher).Flush()
		conn, _, _ := w.(http.Hijacker).Hijack()
		conn.Close()
	}, setupOpts{policy: fastPolicy()})
	resp, err := get(t, s, context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if string(b) != "partial" || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("read %q, %v; want the prefix, then io.ErrUnexpectedEOF", b, err)
	}
	if n.Load() != 3 || resp.StatusCode != 503 {
		t.Fatalf("%d requests, status %d", n.Load(), resp.StatusCode)
	}
}

// Keys: fixed, per request, and the default.
func TestKeys(t *testing.T) {
	var keys []string
	obs := keyRecorder{keys: &keys}
	for _, tc := range []struct {
		opts regohttp.Options
		want string
	}{
		{regohttp.Options{}, "http.request"},
		{regohttp.Options{Key: policy.ParseKey("svc.http")}, "svc.http"},
		{regohttp.Options{KeyFunc: regohttp.HostKey}, "http.127.0.0.1"},
		{regohttp.Options{Key: policy.ParseKey("svc.http"), KeyFunc: func(*http.Request) policy.PolicyKey { return policy.PolicyKey{} }}, "svc.http"},
	} {
		keys = keys[:0]
		s := newSetup(t, func(w http.ResponseWriter, r *http.Request) {}, setupOpts{policy: fastPolicy(), transport: tc.opts, observer: obs})
		resp, err := get(t, s, context.Background(), nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if len(keys) != 1 || keys[0] != tc.want {
			t.Errorf("keys %v, want [%s]", keys, tc.want)
		}
	}
}

type keyRecorder struct {
	observe.BaseObserver
	keys *[]string
}

func (k keyRecorder) OnStart(_ context.Context, key policy.PolicyKey, _ policy.EffectivePolicy) {
	*k.keys = append(*k.keys, key.String())
}
