package benchmarks

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
)

// stubHTTP is a base transport that answers in memory: 200 "ok", or, with
// failOdd, 503 to every other request. Over it the HTTP libraries are
// measured without the network, whose tens of microseconds (and their
// noise on a busy machine) would hide what each library itself costs.
type stubHTTP struct {
	failOdd  bool
	requests atomic.Int64
}

const stubURL = "http://stub.invalid/"

func (s *stubHTTP) RoundTrip(req *http.Request) (*http.Response, error) {
	n := s.requests.Add(1)
	code, body := http.StatusOK, "ok"
	if s.failOdd && n%2 == 1 {
		code, body = http.StatusServiceUnavailable, "unavailable\n"
	}
	if req.Body != nil {
		_ = req.Body.Close()
	}
	return &http.Response{
		StatusCode: code, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: http.Header{}, Body: io.NopCloser(strings.NewReader(body)),
		ContentLength: int64(len(body)), Request: req,
	}, nil
}

// stubLibs returns the HTTP libraries' cases over a stub base transport.
func stubLibs(perCall int64, failOdd, withFloor bool) []libCase {
	run := func(b *testing.B, build func(base http.RoundTripper) httpDo) {
		s := &stubHTTP{failOdd: failOdd}
		httpCaseCounted(b, &s.requests, perCall, build(s))
	}
	cases := []libCase{
		{libRego, func(b *testing.B) {
			run(b, func(base http.RoundTripper) httpDo { return clientDo(regoHTTP(base), stubURL) })
		}},
		{libRetryableHTTP, func(b *testing.B) {
			run(b, func(base http.RoundTripper) httpDo { return retryableHTTP(base, stubURL) })
		}},
		{libFailsafeHTTP, func(b *testing.B) {
			run(b, func(base http.RoundTripper) httpDo { return clientDo(failsafeHTTP(base), stubURL) })
		}},
	}
	if withFloor {
		cases = append(cases, libCase{libNone, func(b *testing.B) {
			run(b, func(base http.RoundTripper) httpDo { return clientDo(&http.Client{Transport: base}, stubURL) })
		}})
	}
	return cases
}

// BenchmarkHTTPStubGet is HTTPGet over an in-memory base transport: each
// library's own cost above a plain http.Client (lib=none).
func BenchmarkHTTPStubGet(b *testing.B) { runRotated(b, stubLibs(1, false, true)) }

// BenchmarkHTTPStub503 is HTTP503 over an in-memory base transport.
func BenchmarkHTTPStub503(b *testing.B) { runRotated(b, stubLibs(2, true, false)) }

// BenchmarkHTTPStubPaired measures what a library adds to an HTTP call
// over an in-memory base transport against another library making the
// same call, in alternating blocks (see paired), which cancels most of
// the load of a shared machine: extra-ns/op is the median of feat's time
// per call minus base's. Every pair checks that both sides sent the same
// number of requests.
func BenchmarkHTTPStubPaired(b *testing.B) {
	type side struct {
		stub *stubHTTP
		call func() error
	}
	ctx := context.Background()
	newSide := func(failOdd bool, build func(base http.RoundTripper) httpDo) side {
		s := &stubHTTP{failOdd: failOdd}
		do := build(s)
		return side{stub: s, call: func() error {
			resp, err := do(ctx)
			if err != nil {
				return err
			}
			if _, err := io.Copy(io.Discard, resp.Body); err != nil {
				return err
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				return fmt.Errorf("status %d, want 200", resp.StatusCode)
			}
			return nil
		}}
	}
	rego := func(base http.RoundTripper) httpDo { return clientDo(regoHTTP(base), stubURL) }
	plain := func(base http.RoundTripper) httpDo { return clientDo(&http.Client{Transport: base}, stubURL) }
	retryable := func(base http.RoundTripper) httpDo { return retryableHTTP(base, stubURL) }
	for _, pc := range []struct {
		name       string
		failOdd    bool
		base, feat func(http.RoundTripper) httpDo
	}{
		{"pair=rego-vs-none/GET", false, plain, rego},
		{"pair=go-retryablehttp-vs-none/GET", false, plain, retryable},
		{"pair=rego-vs-go-retryablehttp/503", true, retryable, rego},
	} {
		b.Run(pc.name, func(b *testing.B) {
			base, feat := newSide(pc.failOdd, pc.base), newSide(pc.failOdd, pc.feat)
			paired(b, base.call, feat.call)
			expect(b, "requests", feat.stub.requests.Load(), base.stub.requests.Load())
		})
	}
}
