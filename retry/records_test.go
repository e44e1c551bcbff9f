package retry_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/aponysus/rego/classify"
	"github.com/aponysus/rego/observe"
	"github.com/aponysus/rego/regotest"
	"github.com/aponysus/rego/retry"
)

// A hook that panics after an attempt returned and before its end was
// recorded (here the classifier, on the second attempt) leaves that
// attempt's record in the timeline as its launch knows it, the same in
// both modes: the inline mode, which makes a record when its attempt ends,
// must not lose it.
func TestRecordOfAnAttemptCutShortByAPanic(t *testing.T) {
	run := func(mode string) (observe.Timeline, error) {
		calls := 0
		exec := retry.NewExecutor(retry.ExecutorOptions{
			Clock:         regotest.NewAutoClock(time.Time{}),
			Rand:          regotest.NewRand(1),
			RecoverPanics: true,
			DefaultClassifier: classify.Func(func(_ any, err error) classify.Outcome {
				if calls++; calls == 2 {
					panic("classifier")
				}
				return classify.Outcome{Kind: classify.OutcomeRetryable, Reason: "again"}
			}),
		})
		retry.SetConcurrent(exec, mode == "concurrent")
		return exec.DoWithTimeline(context.Background(), key, func(context.Context) error { return errA })
	}
	inline, err := run("inline")
	var pe *retry.PanicError
	if !errors.As(err, &pe) || pe.Source != retry.SourceClassifier {
		t.Fatalf("err = %v, want the classifier's panic", err)
	}
	concurrent, _ := run("concurrent")
	if len(inline.Attempts) != 2 {
		t.Fatalf("inline records: %+v", inline.Attempts)
	}
	cut := inline.Attempts[1]
	if cut.Attempt != 1 || cut.StartTime.IsZero() || !cut.EndTime.IsZero() || cut.Outcome.Kind != classify.OutcomeUnknown || !cut.BudgetAllowed || cut.Backoff <= 0 {
		t.Errorf("record of the attempt cut short: %+v", cut)
	}
	if got, want := fmt.Sprintf("%+v", inline.Attempts), fmt.Sprintf("%+v", concurrent.Attempts); got != want {
		t.Errorf("modes differ:\ninline:     %s\nconcurrent: %s", got, want)
	}
}
