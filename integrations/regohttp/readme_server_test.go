package regohttp_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/aponysus/rego/controlplane"
	"github.com/aponysus/rego/gate"
	"github.com/aponysus/rego/integrations/regohttp"
	"github.com/aponysus/rego/policy"
)

// TestDocsServerSnippet mirrors the server snippet of docs/http.md and
// checks what the section says: requests are keyed by their route
// pattern, the rate limiter's refusal is 429 with Retry-After, and the
// criticality a CriticalityTransport sends reaches the handler's context.
func TestDocsServerSnippet(t *testing.T) {
	// As in the docs, but a token every 100s and a burst of one, so the
	// second request of the route is refused.
	routeKey := policy.PolicyKey{Namespace: "orders", Name: "GET /orders/{id}"}
	provider := &controlplane.StaticProvider{Policies: map[policy.PolicyKey]policy.EffectivePolicy{
		routeKey: {
			RateLimit: policy.RateLimitPolicy{Enabled: true, Rate: 0.01, Burst: 1},
			Bulkhead:  policy.BulkheadPolicy{Enabled: true, MaxConcurrent: 64},
		},
	}}
	getOrder := func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, gate.CriticalityFrom(r.Context()).String())
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /orders/{id}", getOrder)
	mux.HandleFunc("GET /health", getOrder)
	handler := regohttp.Middleware(regohttp.ServerOptions{
		Provider: provider, // required
		// The route pattern, never the raw path: keys must be low-cardinality.
		KeyFunc: func(r *http.Request) policy.PolicyKey {
			_, pattern := mux.Handler(r)
			return policy.PolicyKey{Namespace: "orders", Name: pattern}
		},
	})(mux)
	srv := httptest.NewServer(handler)
	defer srv.Close()

	client := &http.Client{Transport: &regohttp.CriticalityTransport{Base: srv.Client().Transport}}
	get := func(path string) (*http.Response, string) {
		t.Helper()
		ctx := gate.WithCriticality(context.Background(), gate.CriticalitySheddable)
		req, err := http.NewRequestWithContext(ctx, "GET", srv.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp, string(body)
	}
	if resp, body := get("/orders/1"); resp.StatusCode != http.StatusOK || body != "sheddable" {
		t.Fatalf("first: %d %q, want 200 with the client's criticality", resp.StatusCode, body)
	}
	// Another order, the same route: the same key, whose token is spent.
	resp, _ := get("/orders/2")
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") != "100" {
		t.Fatalf("second: %d, Retry-After %q; want 429 and the limiter's 100s", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	// Another route has its own key (here without a policy: no gates).
	if resp, _ := get("/health"); resp.StatusCode != http.StatusOK {
		t.Fatalf("other route: %d, want 200", resp.StatusCode)
	}
}
