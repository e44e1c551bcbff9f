package retry_test

import (
	"context"
	"net/http"
	"sort"
	"testing"
	"time"

	"github.com/aponysus/rego/classify"
	"github.com/aponysus/rego/policy"
	"github.com/aponysus/rego/regotest"
	"github.com/aponysus/rego/retry"
)

// The path an integration takes through the executor (regohttp, the gRPC
// interceptor): DoValueWith with a per-call classifier, a pointer value
// and a policy of its own, against the plain Do of BenchmarkSuccess.

var callPathResp = &http.Response{StatusCode: http.StatusOK}

func callPathExec() *retry.Executor {
	return withPolicy(policy.EffectivePolicy{Retry: policy.RetryPolicy{MaxAttempts: 3}},
		retry.ExecutorOptions{Clock: regotest.InstantClock{}})
}

func BenchmarkCallPathDo(b *testing.B) {
	benchDo(b, callPathExec(), succeed, nil)
}

// callPathClassifier judges by the response, as an integration's does.
var callPathClassifier = classify.Func(func(v any, err error) classify.Outcome {
	if r, ok := v.(*http.Response); ok && err == nil && r.StatusCode == http.StatusOK {
		return classify.Outcome{Kind: classify.OutcomeSuccess}
	}
	return classify.ClassifyError(err)
})

// BenchmarkCallPathPaired alternates blocks of Do and of an integration's
// path on the same executor (DoValue; DoValueWith without and with a
// classifier) and reports the median difference per call (extra-ns/op):
// what that path adds to a plain call.
func BenchmarkCallPathPaired(b *testing.B) {
	exec := callPathExec()
	ctx := context.Background()
	op := func(context.Context) (*http.Response, error) { return callPathResp, nil }
	const block = 1000
	plain := func() {
		for i := 0; i < block; i++ {
			if err := exec.Do(ctx, benchKey, succeed); err != nil {
				b.Fatal(err)
			}
		}
	}
	for _, tc := range []struct {
		name string
		call func() error
	}{
		{"path=DoValue", func() error { _, err := retry.DoValue(ctx, exec, benchKey, op); return err }},
		{"path=DoValueWith", func() error {
			_, _, err := retry.DoValueWith(ctx, exec, benchKey, op, retry.CallOptions[*http.Response]{})
			return err
		}},
		{"path=DoValueWith/classifier", func() error {
			_, _, err := retry.DoValueWith(ctx, exec, benchKey, op, retry.CallOptions[*http.Response]{Classifier: callPathClassifier})
			return err
		}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			with := func() {
				for i := 0; i < block; i++ {
					if err := tc.call(); err != nil {
						b.Fatal(err)
					}
				}
			}
			var ds []float64
			for r := 0; r < b.N; r++ {
				t0 := time.Now()
				plain()
				t1 := time.Now()
				with()
				t2 := time.Now()
				ds = append(ds, float64(t2.Sub(t1)-t1.Sub(t0))/block)
			}
			sort.Float64s(ds)
			b.ReportMetric(ds[len(ds)/2], "extra-ns/op")
		})
	}
}
