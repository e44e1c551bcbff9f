package regohttp_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"time"

	"github.com/aponysus/rego/controlplane"
	"github.com/aponysus/rego/integrations/regohttp"
	"github.com/aponysus/rego/observe"
	"github.com/aponysus/rego/policy"
	"github.com/aponysus/rego/retry"
)

func ExampleTransport() {
	// A server that is busy twice, then answers.
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) <= 2 {
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprint(w, "hello")
	}))
	defer srv.Close()

	// A policy for the transport's key. It names no classifier, so the
	// executor judges attempts with the transport's HTTP classifier and
	// the records carry status codes.
	key := policy.ParseKey("greeter.http")
	exec := retry.NewExecutor(retry.ExecutorOptions{
		Provider: &controlplane.StaticProvider{Policies: map[policy.PolicyKey]policy.EffectivePolicy{
			key: {Retry: policy.RetryPolicy{MaxAttempts: 3, InitialBackoff: time.Millisecond}},
		}},
	})

	base := &http.Transport{}
	defer base.CloseIdleConnections()
	client := &http.Client{Transport: regohttp.NewTransport(regohttp.Options{
		Base: base, Executor: exec, Key: key,
	})}

	var tl observe.Timeline
	req, _ := http.NewRequestWithContext(regohttp.CaptureTimeline(context.Background(), &tl), http.MethodGet, srv.URL, nil)
	resp, err := client.Do(req)
	if err != nil {
		fmt.Println(err)
		return
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Println(resp.StatusCode, string(body))
	for _, a := range tl.Attempts {
		fmt.Println("attempt", a.Attempt, a.Outcome.Attributes[regohttp.AttrMethod], a.Outcome.Attributes[regohttp.AttrStatusCode], a.Outcome.Kind)
	}
	// Output:
	// 200 hello
	// attempt 0 GET 503 retryable
	// attempt 1 GET 503 retryable
	// attempt 2 GET 200 success
}

func ExampleWithIdempotent() {
	// A server that fails the first attempt and echoes the body.
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if calls.Add(1) == 1 {
			http.Error(w, "upstream failed", http.StatusBadGateway)
			return
		}
		fmt.Fprintf(w, "stored %s\n", b)
	}))
	defer srv.Close()
	base := &http.Transport{}
	defer base.CloseIdleConnections()
	exec := retry.NewExecutor(retry.ExecutorOptions{Provider: &controlplane.StaticProvider{
		Default: policy.EffectivePolicy{Retry: policy.RetryPolicy{InitialBackoff: time.Millisecond}},
	}})
	client := &http.Client{Transport: regohttp.NewTransport(regohttp.Options{Base: base, Executor: exec})}

	send := func(ctx context.Context) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL, strings.NewReader(`{"n":1}`))
		resp, err := client.Do(req)
		if err != nil {
			fmt.Println(err)
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Println(resp.StatusCode, strings.TrimSpace(string(b)))
	}
	// A plain POST is sent once: the 502 comes back.
	send(context.Background())
	// Marked idempotent, it is retried, its body replayed.
	calls.Store(0)
	send(regohttp.WithIdempotent(context.Background(), true))
	// Output:
	// 502 upstream failed
	// 200 stored {"n":1}
}

func ExampleParseRetryAfter() {
	now := time.Date(2015, 10, 21, 7, 28, 0, 0, time.UTC)
	for _, v := range []string{"120", "Wed, 21 Oct 2015 07:28:30 GMT", "soon"} {
		d, err := regohttp.ParseRetryAfter(v, now)
		fmt.Println(d, err)
	}
	// Output:
	// 2m0s <nil>
	// 30s <nil>
	// 0s regohttp: malformed Retry-After: "soon" is neither delta-seconds nor an HTTP-date
}

func ExampleClassifier() {
	cls, _ := regohttp.NewClassifier(regohttp.ClassifierOptions{MaxRetryAfter: 30 * time.Second})
	resp := &http.Response{
		StatusCode: http.StatusTooManyRequests,
		Header:     http.Header{"Retry-After": {"3600"}},
		Request:    &http.Request{Method: http.MethodGet},
	}
	out := cls.Classify(resp, nil)
	fmt.Println(out.Kind, out.Reason, out.BackoffOverride, out.Attributes[regohttp.AttrRetryAfterIgnored])
	// Output:
	// retryable status_429 0s exceeds_max
}
