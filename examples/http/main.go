// Command http shows regohttp against a flaky local server: a 503 with
// Retry-After, then reset connections, then success. Every attempt is
// printed as the executor reports it.
//
//	go run ./examples/http
package main

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"time"

	"github.com/aponysus/rego/controlplane"
	"github.com/aponysus/rego/integrations/regohttp"
	"github.com/aponysus/rego/observe"
	"github.com/aponysus/rego/policy"
	"github.com/aponysus/rego/retry"
)

// printer prints every attempt record.
type printer struct{ observe.BaseObserver }

func (printer) OnAttempt(_ context.Context, key policy.PolicyKey, rec observe.AttemptRecord) {
	a := rec.Outcome.Attributes
	fmt.Printf("%s attempt %d: %s %s status=%q wait-before=%v retry-after=%q err=%v\n",
		key, rec.Attempt, rec.Outcome.Kind, a[regohttp.AttrMethod], a[regohttp.AttrStatusCode],
		rec.Backoff, a[regohttp.AttrRetryAfter], rec.Err)
}

func main() {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch calls.Add(1) {
		case 1:
			w.Header().Set("Retry-After", "1")
			http.Error(w, "overloaded", http.StatusServiceUnavailable)
		case 2, 3:
			// A connection reset. net/http itself resends a request
			// that failed this way on a reused connection, once; the
			// second reset reaches rego.
			conn, _, _ := w.(http.Hijacker).Hijack()
			conn.Close()
		default:
			fmt.Fprintln(w, "inventory: 42 books")
		}
	}))
	defer srv.Close()

	cls, err := regohttp.NewClassifier(regohttp.ClassifierOptions{MaxRetryAfter: 5 * time.Second})
	if err != nil {
		log.Fatal(err)
	}
	key := policy.ParseKey("inventory.http")
	exec := retry.NewExecutor(retry.ExecutorOptions{
		Provider: &controlplane.StaticProvider{Policies: map[policy.PolicyKey]policy.EffectivePolicy{
			key: {Retry: policy.RetryPolicy{
				MaxAttempts:       4,
				InitialBackoff:    50 * time.Millisecond,
				TimeoutPerAttempt: 2 * time.Second,
				OverallTimeout:    10 * time.Second,
			}},
		}},
		Observer: printer{},
	})
	base := &http.Transport{}
	defer base.CloseIdleConnections()
	client := &http.Client{Transport: regohttp.NewTransport(regohttp.Options{
		Base: base, Executor: exec, Key: key, Classifier: cls,
	})}

	resp, err := client.Get(srv.URL + "/stock")
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Printf("%d %s", resp.StatusCode, body)
}
