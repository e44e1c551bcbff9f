package regohttp_test

import (
	"context"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aponysus/rego/observe"
)

// attemptContexts is a base transport that keeps the context of every
// request it sends.
type attemptContexts struct {
	base http.RoundTripper
	mu   sync.Mutex
	ctxs []context.Context
}

func (a *attemptContexts) RoundTrip(req *http.Request) (*http.Response, error) {
	a.mu.Lock()
	a.ctxs = append(a.ctxs, req.Context())
	a.mu.Unlock()
	return a.base.RoundTrip(req)
}

// Every attempt's request carries its own observe.AttemptInfo, and keeps
// it after later attempts ran (the first attempt's context lives in the
// call's allocation), with and without a per-attempt timeout.
func TestAttemptInfoOfEveryAttempt(t *testing.T) {
	for _, tpa := range []time.Duration{0, time.Minute} {
		var n atomic.Int64
		ac := &attemptContexts{}
		p := fastPolicy()
		p.ID = "p1"
		p.Retry.TimeoutPerAttempt = tpa
		s := newSetup(t, func(w http.ResponseWriter, r *http.Request) {
			if n.Add(1) <= 2 {
				http.Error(w, "unavailable", http.StatusServiceUnavailable)
				return
			}
			io.WriteString(w, "ok")
		}, setupOpts{policy: p, wrapBase: func(b http.RoundTripper) http.RoundTripper { ac.base = b; return ac }})
		resp, err := get(t, s, context.Background(), nil)
		if err != nil {
			t.Fatal(err)
		}
		if body := readAll(t, resp); body != "ok" {
			t.Fatalf("body %q", body)
		}
		if len(ac.ctxs) != 3 {
			t.Fatalf("timeout %v: %d requests sent, want 3", tpa, len(ac.ctxs))
		}
		for i, ctx := range ac.ctxs {
			info, ok := observe.AttemptFromContext(ctx)
			if !ok || info.Attempt != i || info.RetryIndex != i || info.IsHedge || info.PolicyID != "p1" {
				t.Errorf("timeout %v: request %d: attempt info %+v, %v", tpa, i, info, ok)
			}
		}
		if info, _ := observe.AttemptFromContext(resp.Request.Context()); info.Attempt != 2 {
			t.Errorf("timeout %v: the response's request is of attempt %d, want 2", tpa, info.Attempt)
		}
	}
}
