package regoprom_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aponysus/rego/circuit"
	"github.com/aponysus/rego/controlplane"
	regoprom "github.com/aponysus/rego/integrations/prometheus"
	"github.com/aponysus/rego/policy"
	"github.com/aponysus/rego/regotest"
	"github.com/aponysus/rego/retry"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// scrape returns the registry's exposition, fetched over HTTP as
// Prometheus would.
func scrape(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// An executor whose breaker opens and recovers drives rego_breaker_state
// through its lifecycle events, with no wiring beyond the Observer option.
func TestBreakerStateGaugeFromExecutor(t *testing.T) {
	reg := prometheus.NewRegistry()
	obs, err := regoprom.NewObserver(regoprom.Options{Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	defer srv.Close()

	clk := regotest.NewClock(time.Time{})
	key := policy.ParseKey("ledger.Post")
	exec := retry.NewExecutor(retry.ExecutorOptions{
		Clock:    clk,
		Observer: obs,
		Provider: &controlplane.StaticProvider{Policies: map[policy.PolicyKey]policy.EffectivePolicy{key: {
			Retry:   policy.RetryPolicy{MaxAttempts: 1},
			Circuit: policy.CircuitPolicy{Enabled: true, FailureThreshold: 1, Cooldown: time.Second},
		}}},
	})
	ctx := context.Background()
	boom := errors.New("boom")
	if err := exec.Do(ctx, key, func(context.Context) error { return boom }); !errors.Is(err, boom) {
		t.Fatalf("failure: %v", err)
	}
	if err := exec.Do(ctx, key, func(context.Context) error { return nil }); !errors.Is(err, circuit.ErrOpen) {
		t.Fatalf("breaker not open: %v", err)
	}
	if out := scrape(t, srv.URL); !strings.Contains(out, `rego_breaker_state{key="ledger.Post"} 2`+"\n") {
		t.Fatalf("open breaker not scraped:\n%s", out)
	}
	clk.Advance(time.Second)
	if err := exec.Do(ctx, key, func(context.Context) error { return nil }); err != nil {
		t.Fatalf("probe: %v", err)
	}
	if out := scrape(t, srv.URL); !strings.Contains(out, `rego_breaker_state{key="ledger.Post"} 0`+"\n") {
		t.Fatalf("closed breaker not scraped:\n%s", out)
	}
}
