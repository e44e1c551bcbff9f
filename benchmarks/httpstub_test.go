package benchmarks

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aponysus/rego/integrations/regohttp"
	"github.com/aponysus/rego/internal/attemptctx"
	"github.com/aponysus/rego/observe"
	"github.com/aponysus/rego/policy"
	"github.com/aponysus/rego/regotest"
	"github.com/aponysus/rego/retry"
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
//
// The pairs with lib=copy and lib=executor split rego's cost above plain
// net/http in three: the least a RoundTripper that honours rego's
// contract does (copyRT: a copy of the request under a context of its
// own), the executor's call around that copy (executorRT), and the rest,
// which is regohttp's own work.
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
	cp := func(base http.RoundTripper) httpDo { return clientDo(&http.Client{Transport: copyRT{base}}, stubURL) }
	executor := func(base http.RoundTripper) httpDo {
		exec := newRego(policy.RetryPolicy{MaxAttempts: attempts}, retry.ExecutorOptions{Clock: regotest.InstantClock{}})
		return clientDo(&http.Client{Transport: executorRT{base: base, exec: exec}}, stubURL)
	}
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
		{"pair=copy-vs-none/GET", false, plain, cp},
		{"pair=executor-vs-copy/GET", false, cp, executor},
		{"pair=rego-vs-executor/GET", false, executor, rego},
		{"pair=executor-vs-go-retryablehttp/503", true, retryable, executor},
		{"pair=rego-vs-executor/503", true, executor, rego},
	} {
		b.Run(pc.name, func(b *testing.B) {
			base, feat := newSide(pc.failOdd, pc.base), newSide(pc.failOdd, pc.feat)
			paired(b, base.call, feat.call)
			expect(b, "requests", feat.stub.requests.Load(), base.stub.requests.Load())
		})
	}
}

type copyKey struct{}

// copyRT sends a copy of each request under a context of its own (one
// value added), as rego sends each attempt: the least any RoundTripper
// costs that gives the base transport a context per attempt.
type copyRT struct{ base http.RoundTripper }

func (c copyRT) RoundTrip(req *http.Request) (*http.Response, error) {
	return c.base.RoundTrip(req.WithContext(context.WithValue(req.Context(), copyKey{}, true)))
}

// errStub503 is executorRT's error for a 503.
var errStub503 = errors.New("benchmarks: 503")

// executorRT runs each request as a call of exec whose operation sends a
// copy of it under the attempt's context, with regohttp's classifier; a
// 503's body is read and closed in the operation, which then fails. It
// is rego's executor around a request without regohttp, called the way
// regohttp calls it: the request's state is the call's context (found by
// the operation through it, so the operation is no closure to allocate)
// and lends the executor room for the first attempt's context.
type executorRT struct {
	base http.RoundTripper
	exec *retry.Executor
}

// executorCall is the state of one request of executorRT.
type executorCall struct {
	context.Context
	base         http.RoundTripper
	req          *http.Request
	firstAttempt attemptctx.Ctx[observe.AttemptInfo]
}

type executorCallKey struct{}

func (c *executorCall) Value(key any) any {
	if _, ok := key.(executorCallKey); ok {
		return c
	}
	return c.Context.Value(key)
}

func (c *executorCall) FirstAttempt() *attemptctx.Ctx[observe.AttemptInfo] { return &c.firstAttempt }

func (e executorRT) RoundTrip(req *http.Request) (*http.Response, error) {
	c := &executorCall{Context: req.Context(), base: e.base, req: req}
	opts := retry.CallOptions[*http.Response]{Classifier: stubClassifier}
	resp, _, err := retry.DoValueWith(c, e.exec, benchKey, executorAttempt, opts)
	return resp, err
}

func executorAttempt(ctx context.Context) (*http.Response, error) {
	c := ctx.Value(executorCallKey{}).(*executorCall)
	resp, err := c.base.RoundTrip(c.req.WithContext(ctx))
	if err == nil && resp.StatusCode == http.StatusServiceUnavailable {
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		return nil, errStub503
	}
	return resp, err
}

var stubClassifier = func() *regohttp.Classifier {
	c, err := regohttp.NewClassifier(regohttp.ClassifierOptions{})
	if err != nil {
		panic(err)
	}
	return c
}()
