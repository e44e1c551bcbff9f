package retry_test

import (
	"context"
	"net/http"
	"testing"

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

func BenchmarkCallPathDoValueWith(b *testing.B) {
	exec := callPathExec()
	ctx := context.Background()
	op := func(context.Context) (*http.Response, error) { return callPathResp, nil }
	opts := retry.CallOptions[*http.Response]{Classifier: callPathClassifier}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		v, _, err := retry.DoValueWith(ctx, exec, benchKey, op, opts)
		if err != nil || v != callPathResp {
			b.Fatal(err)
		}
	}
}

// callPathClassifier judges by the response, as an integration's does.
var callPathClassifier = classify.Func(func(v any, err error) classify.Outcome {
	if r, ok := v.(*http.Response); ok && err == nil && r.StatusCode == http.StatusOK {
		return classify.Outcome{Kind: classify.OutcomeSuccess}
	}
	return classify.ClassifyError(err)
})

func BenchmarkCallPathDoValueWithNoClassifier(b *testing.B) {
	exec := callPathExec()
	ctx := context.Background()
	op := func(context.Context) (*http.Response, error) { return callPathResp, nil }
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		v, _, err := retry.DoValueWith(ctx, exec, benchKey, op, retry.CallOptions[*http.Response]{})
		if err != nil || v != callPathResp {
			b.Fatal(err)
		}
	}
}

func BenchmarkCallPathDoValue(b *testing.B) {
	exec := callPathExec()
	ctx := context.Background()
	op := func(context.Context) (*http.Response, error) { return callPathResp, nil }
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		v, err := retry.DoValue(ctx, exec, benchKey, op)
		if err != nil || v != callPathResp {
			b.Fatal(err)
		}
	}
}
