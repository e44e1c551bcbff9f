package benchmarks

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aponysus/rego/integrations/regohttp"
	"github.com/aponysus/rego/policy"
	"github.com/aponysus/rego/regotest"
	"github.com/aponysus/rego/retry"
	"github.com/failsafe-go/failsafe-go"
	"github.com/failsafe-go/failsafe-go/failsafehttp"
	retryablehttp "github.com/hashicorp/go-retryablehttp"
)

// The HTTP benchmarks send GET requests to a real net/http server on
// loopback. Each library gets a base transport of its own (so that no
// library inherits another's warm connections) and is configured for up
// to three attempts without waiting between them. lib=none is a plain
// http.Client on the same kind of transport: the floor.
const (
	libRetryableHTTP = "lib=go-retryablehttp"
	libFailsafeHTTP  = "lib=failsafehttp"
)

// httpServer answers GET with 200 "ok"; with failOdd set it answers every
// other request (the first attempt of each sequential call) with 503 and a
// short body, as an overloaded server does.
type httpServer struct {
	*httptest.Server
	failOdd  bool
	requests atomic.Int64
}

func startHTTP(b *testing.B, failOdd bool) *httpServer {
	s := &httpServer{failOdd: failOdd}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := s.requests.Add(1)
		if s.failOdd && n%2 == 1 {
			http.Error(w, "unavailable", http.StatusServiceUnavailable)
			return
		}
		io.WriteString(w, "ok")
	}))
	b.Cleanup(s.Close)
	return s
}

// newBase returns a fresh base transport, closed when b ends.
func newBase(b *testing.B) *http.Transport {
	t := &http.Transport{MaxIdleConnsPerHost: 16}
	b.Cleanup(t.CloseIdleConnections)
	return t
}

// httpDo sends one GET request.
type httpDo func(ctx context.Context) (*http.Response, error)

// httpCase runs sequential GETs through do, after a warm-up call that
// opens the connection, and checks that every call ended with a 200 whose
// body was read, and that the server saw perCall requests for each.
func httpCase(b *testing.B, s *httpServer, perCall int64, do httpDo) {
	httpCaseCounted(b, &s.requests, perCall, do)
}

// httpCaseCounted is httpCase for a server counting its requests in
// requests.
func httpCaseCounted(b *testing.B, requests *atomic.Int64, perCall int64, do httpDo) {
	ctx := context.Background()
	call := func() {
		resp, err := do(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.Copy(io.Discard, resp.Body); err != nil {
			b.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("status %d, want 200", resp.StatusCode)
		}
	}
	call()
	requests.Store(0)
	b.ReportAllocs()
	b.ResetTimer()
	cpu := startCPU()
	for i := 0; i < b.N; i++ {
		call()
	}
	b.StopTimer()
	cpu.report(b)
	expect(b, "requests", requests.Load(), perCall*int64(b.N))
}

// clientDo returns a call sending a new GET request through client.
func clientDo(client *http.Client, url string) httpDo {
	return func(ctx context.Context) (*http.Response, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return nil, err
		}
		return client.Do(req)
	}
}

// regoHTTP is rego's Transport over base: three attempts, on a clock that
// does not sleep.
func regoHTTP(base http.RoundTripper) *http.Client {
	exec := newRego(policy.RetryPolicy{MaxAttempts: attempts}, retry.ExecutorOptions{Clock: regotest.InstantClock{}})
	return &http.Client{Transport: regohttp.NewTransport(regohttp.Options{Base: base, Executor: exec, Key: benchKey})}
}

// retryableHTTP is go-retryablehttp over base: three attempts, no wait, no
// logging.
func retryableHTTP(base http.RoundTripper, url string) httpDo {
	c := retryablehttp.NewClient()
	c.HTTPClient = &http.Client{Transport: base}
	c.Logger = nil
	c.RetryMax = attempts - 1
	c.RetryWaitMin, c.RetryWaitMax = 0, 0
	c.Backoff = func(time.Duration, time.Duration, int, *http.Response) time.Duration { return 0 }
	return func(ctx context.Context) (*http.Response, error) {
		req, err := retryablehttp.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return nil, err
		}
		return c.Do(req)
	}
}

// failsafeHTTP is failsafe-go's RoundTripper over base with its HTTP retry
// policy: three attempts, no delay. failsafehttp leaves a retried
// response's body open; the OnRetry listener closes it, as its users must
// to keep the connection.
func failsafeHTTP(base http.RoundTripper) *http.Client {
	rp := failsafehttp.NewRetryPolicyBuilder().
		WithMaxAttempts(attempts).
		OnRetry(func(e failsafe.ExecutionEvent[*http.Response]) {
			if r := e.LastResult(); r != nil {
				_, _ = io.Copy(io.Discard, r.Body)
				_ = r.Body.Close()
			}
		}).
		Build()
	return &http.Client{Transport: failsafehttp.NewRoundTripper(base, rp)}
}

// httpLibs returns the HTTP libraries' cases for a server built by start,
// each call making perCall requests.
func httpLibs(perCall int64, failOdd bool, withFloor bool) []libCase {
	cases := []libCase{
		{libRego, func(b *testing.B) {
			s := startHTTP(b, failOdd)
			httpCase(b, s, perCall, clientDo(regoHTTP(newBase(b)), s.URL))
		}},
		{libRetryableHTTP, func(b *testing.B) {
			s := startHTTP(b, failOdd)
			httpCase(b, s, perCall, retryableHTTP(newBase(b), s.URL))
		}},
		{libFailsafeHTTP, func(b *testing.B) {
			s := startHTTP(b, failOdd)
			httpCase(b, s, perCall, clientDo(failsafeHTTP(newBase(b)), s.URL))
		}},
	}
	if withFloor {
		cases = append(cases, libCase{libNone, func(b *testing.B) {
			s := startHTTP(b, failOdd)
			httpCase(b, s, perCall, clientDo(&http.Client{Transport: newBase(b)}, s.URL))
		}})
	}
	return cases
}

// BenchmarkHTTPGet is a GET answered 200 at once. lib=none is plain
// net/http: the floor.
func BenchmarkHTTPGet(b *testing.B) { runRotated(b, httpLibs(1, false, true)) }

// BenchmarkHTTP503 is a GET whose first attempt gets a 503 (with a short
// body, which every library reads before retrying) and whose second gets
// a 200.
func BenchmarkHTTP503(b *testing.B) { runRotated(b, httpLibs(2, true, false)) }
