package regohttp_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/aponysus/rego/classify"
	"github.com/aponysus/rego/controlplane"
	"github.com/aponysus/rego/integrations/regohttp"
	"github.com/aponysus/rego/observe"
	"github.com/aponysus/rego/policy"
	"github.com/aponysus/rego/retry"
)

// BenchmarkGet compares a successful GET on loopback through a plain
// transport and through regohttp.Transport over the same transport.
func BenchmarkGet(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
	}))
	defer srv.Close()
	base := &http.Transport{MaxIdleConnsPerHost: 64}
	defer base.CloseIdleConnections()

	cls, _ := regohttp.NewClassifier(regohttp.ClassifierOptions{})
	reg := classify.NewRegistry()
	reg.Register(regohttp.ClassifierName, cls)
	recording := retry.NewExecutor(retry.ExecutorOptions{
		Provider: &controlplane.StaticProvider{Default: policy.EffectivePolicy{
			Retry: policy.RetryPolicy{ClassifierName: regohttp.ClassifierName},
		}},
		Classifiers: reg,
		Observer:    countingObserver{},
	})
	for _, bc := range []struct {
		name string
		rt   http.RoundTripper
	}{
		{"plain", base},
		{"regohttp", regohttp.NewTransport(regohttp.Options{Base: base, Executor: retry.NewExecutor(retry.ExecutorOptions{})})},
		{"regohttp_classifier_observer", regohttp.NewTransport(regohttp.Options{Base: base, Executor: recording, Classifier: cls})},
	} {
		client := &http.Client{Transport: bc.rt}
		for _, cancellable := range []bool{false, true} {
			name := bc.name
			ctx := context.Background()
			if cancellable {
				// A caller's context that can be cancelled, like a server's
				// request context: net/http does more work for it.
				name += "_cancellable_ctx"
				var cancel context.CancelFunc
				ctx, cancel = context.WithCancel(ctx)
				defer cancel()
			}
			b.Run(name, func(b *testing.B) {
				b.ReportAllocs()
				for i := 0; i < b.N; i++ {
					req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
					resp, err := client.Do(req)
					if err != nil {
						b.Fatal(err)
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			})
		}
	}
}

type countingObserver struct{ observe.BaseObserver }

func (countingObserver) OnAttempt(_ context.Context, _ policy.PolicyKey, rec observe.AttemptRecord) {
	_ = rec.Outcome.Attributes[regohttp.AttrStatusCode]
}
