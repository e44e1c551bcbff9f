package classify_test

import (
	"errors"
	"fmt"
	"time"

	"github.com/aponysus/rego/classify"
)

func ExamplePermanent() {
	err := classify.Permanent(errors.New("400 bad request"))
	out := classify.Default.Classify(nil, err)
	fmt.Println(out.Kind, out.Reason)
	// Output: non_retryable permanent
}

func ExampleRetryAfter() {
	err := classify.RetryAfter(errors.New("429 too many requests"), 2*time.Second)
	out := classify.Default.Classify(nil, fmt.Errorf("charge: %w", err))
	fmt.Println(out.Kind, out.BackoffOverride)
	// Output: retryable 2s
}

func ExampleFunc() {
	byValue := classify.Func(func(v any, err error) classify.Outcome {
		if code, ok := v.(int); ok && code >= 500 {
			return classify.Outcome{Kind: classify.OutcomeRetryable, Reason: fmt.Sprint("status_", code)}
		}
		return classify.ClassifyError(err)
	})
	reg := classify.NewRegistry()
	reg.Register("status", byValue)
	c, _ := reg.Get("status")
	fmt.Println(c.Classify(503, nil).Reason, c.Classify(200, nil).Kind)
	// Output: status_503 success
}
