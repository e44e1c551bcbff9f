package observe_test

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/aponysus/rego/classify"
	"github.com/aponysus/rego/observe"
	"github.com/aponysus/rego/policy"
)

// chargeTimeline is a call that failed twice, was refused a second retry
// by its budget, and ended with the last error. docs/timeline.md shows its
// table.
func chargeTimeline() observe.Timeline {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	errUnavailable := errors.New("503 service unavailable")
	tl := observe.Timeline{
		Key: policy.ParseKey("payments.Charge"), PolicyID: "charge-v1",
		Start: at(0), End: at(15),
		Attributes: map[string]string{observe.AttrPolicySource: "static", observe.AttrStopReason: "budget_denied"},
		Attempts: []observe.AttemptRecord{
			{Attempt: 0, StartTime: at(0), EndTime: at(2), Outcome: classify.Outcome{Kind: classify.OutcomeRetryable},
				Err: errUnavailable, BudgetAllowed: true, BudgetReason: "first_attempt"},
			{Attempt: 1, RetryIndex: 1, StartTime: at(6), EndTime: at(8), Backoff: 4 * time.Millisecond,
				Outcome: classify.Outcome{Kind: classify.OutcomeRetryable}, Err: errUnavailable,
				BudgetAllowed: true, BudgetReason: "tokens_available"},
			{Attempt: 2, RetryIndex: 2, StartTime: at(15), EndTime: at(15), Backoff: 7 * time.Millisecond,
				Err: errors.New("budget: retry attempt denied"), BudgetReason: "tokens_exhausted"},
		},
		FinalErr: errUnavailable,
	}
	return tl
}

func ExampleTimeline_WriteTo() {
	tl := chargeTimeline()
	tl.WriteTo(os.Stdout)
	// Output:
	// key=payments.Charge policy=charge-v1 took=15ms err=503 service unavailable
	// policy_source=static stop_reason=budget_denied
	// attempt  kind     start  wait  took  outcome    gates                                error
	// 0        first    +0s    -     2ms   retryable  first_attempt                        503 service unavailable
	// 1        retry 1  +6ms   4ms   2ms   retryable  tokens_available                     503 service unavailable
	// 2        retry 2  +15ms  -     -     denied     refused by budget: tokens_exhausted  budget: retry attempt denied
}

// A hedged call: the hedge started 30ms into the call and won; the first
// attempt was cancelled. No budget is configured.
func ExampleTimeline_String() {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	tl := observe.Timeline{
		Key: policy.ParseKey("search.Query"), PolicyID: "query-hedged",
		Start: at(0), End: at(36),
		Attempts: []observe.AttemptRecord{
			{Attempt: 0, StartTime: at(0), EndTime: at(36), Outcome: classify.Outcome{Kind: classify.OutcomeAbort},
				Err: errors.New("context canceled"), BudgetAllowed: true, BudgetReason: "no_budget",
				Cancelled: true, HedgeReason: "lost"},
			{Attempt: 1, IsHedge: true, HedgeIndex: 1, StartTime: at(30), EndTime: at(35),
				Outcome: classify.Outcome{Kind: classify.OutcomeSuccess}, BudgetAllowed: true, BudgetReason: "no_budget",
				HedgeReason: "trigger_fixed"},
		},
	}
	fmt.Print(tl)
	// Output:
	// key=search.Query policy=query-hedged took=36ms ok
	// attempt  kind     start  wait  took  outcome           gates                 error
	// 0        first    +0s    -     36ms  cancelled (lost)  no budget configured  context canceled
	// 1        hedge 1  +30ms  -     5ms   success           no budget configured  -
}
