package observe

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"
)

// String renders the timeline as the table WriteTo prints.
func (tl Timeline) String() string {
	var b strings.Builder
	_, _ = tl.WriteTo(&b)
	return b.String()
}

// WriteTo prints the timeline for a human: a header line with the key,
// the policy, the call's duration and its result; a line with the
// attributes, sorted by name; then one row per attempt, in record order:
//
//	key=payments.Charge policy=charge-v1 took=15ms err=503 service unavailable
//	policy_source=static stop_reason=budget_denied
//	attempt  kind     start  wait  took  outcome    gates                                error
//	0        first    +0s    -     2ms   retryable  first_attempt                        503 service unavailable
//	1        retry 1  +6ms   4ms   2ms   retryable  tokens_available                     503 service unavailable
//	2        retry 2  +15ms  -     -     denied     refused by budget: tokens_exhausted  budget: retry attempt denied
//
// The columns: "kind" is "first" for the call's first attempt, "retry N"
// for the Nth retry step and "hedge N" for the Nth hedge of a step;
// "start" is when the attempt started (or was refused), relative to the
// call's start, so a hedge shows when it was launched; "wait" is the
// backoff slept before the attempt, "-" where none was slept (the first
// attempt, hedges, and refused attempts, whose wait was computed but
// never slept); "took" is the attempt's duration, "-" for a refused
// attempt; "outcome" is the classification, "denied" for a refused attempt
// and "cancelled (why)" for one the executor cancelled; "gates" is what
// the gates decided, a refusal as "refused by gate: reason", "no_budget" read
// as "no budget configured"; "error" is the attempt's error or "-".
//
// Durations of a millisecond or more are rounded to the millisecond,
// shorter ones to the microsecond. The output ends with a newline. WriteTo
// implements io.WriterTo.
func (tl Timeline) WriteTo(w io.Writer) (int64, error) {
	cw := &countingWriter{w: w}
	fmt.Fprintf(cw, "key=%s policy=%s took=%s %s\n", orDash(tl.Key.String()), orDash(tl.PolicyID),
		fmtDur(tl.End.Sub(tl.Start)), resultText(tl.FinalErr))
	if len(tl.Attributes) > 0 {
		names := make([]string, 0, len(tl.Attributes))
		for k := range tl.Attributes {
			names = append(names, k)
		}
		sort.Strings(names)
		for i, k := range names {
			if i > 0 {
				io.WriteString(cw, " ")
			}
			fmt.Fprintf(cw, "%s=%s", k, tl.Attributes[k])
		}
		io.WriteString(cw, "\n")
	}
	tw := tabwriter.NewWriter(cw, 3, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "attempt\tkind\tstart\twait\ttook\toutcome\tgates\terror")
	for _, a := range tl.Attempts {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", a.Attempt, AttemptKindText(a),
			startText(tl.Start, a.StartTime), waitText(a), tookText(a), OutcomeText(a), GatesText(a), errText(a.Err))
	}
	if err := tw.Flush(); err != nil && cw.err == nil {
		cw.err = err
	}
	return cw.n, cw.err
}

// AttemptKindText names the attempt's place in the call the way the
// timeline table does: "first", "retry N" or "hedge N".
func AttemptKindText(a AttemptRecord) string {
	switch {
	case a.IsHedge:
		return fmt.Sprintf("hedge %d", a.HedgeIndex)
	case a.RetryIndex == 0:
		return "first"
	}
	return fmt.Sprintf("retry %d", a.RetryIndex)
}

// OutcomeText is the table's outcome column: the classification of an
// attempt that ran, "denied" for one a gate refused, and "cancelled (why)"
// for one the executor cancelled.
func OutcomeText(a AttemptRecord) string {
	switch {
	case !a.BudgetAllowed:
		return "denied"
	case a.Cancelled:
		if a.HedgeReason != "" {
			return "cancelled (" + a.HedgeReason + ")"
		}
		return "cancelled"
	}
	return a.Outcome.Kind.String()
}

// GatesText is the table's gates column: each gate's decision, a refusal
// as "refused by gate: reason". Records without Gates are read from
// BudgetReason and CircuitReason.
func GatesText(a AttemptRecord) string {
	if len(a.Gates) > 0 {
		parts := make([]string, 0, len(a.Gates))
		for _, g := range a.Gates {
			name := g.Gate
			if name == "circuit" {
				name = "breaker" // the word the table uses for the circuit breaker
			}
			s := name + " " + ReasonText(g.Reason)
			if !g.Admitted {
				s = "refused by " + name + ": " + ReasonText(g.Reason)
				if g.Shadow {
					s += " (shadow, not enforced)"
				}
			}
			parts = append(parts, s)
		}
		return strings.Join(parts, ", ")
	}
	if !a.BudgetAllowed {
		if r, ok := strings.CutPrefix(a.BudgetReason, "circuit_"); ok {
			return "refused by breaker: " + r
		}
		return "refused by budget: " + ReasonText(a.BudgetReason)
	}
	s := ReasonText(a.BudgetReason)
	if a.CircuitReason != "" {
		s = "breaker " + a.CircuitReason + ", " + s
	}
	return s
}

// ReasonText turns a recorded reason into the words the table prints. The
// recorded strings stay short and stable for metrics; two of them read
// wrongly to a newcomer and are spelled out here.
func ReasonText(reason string) string {
	switch reason {
	case "no_budget":
		return "no budget configured"
	case "budget_not_found":
		return "budget not found (allowed)"
	case "":
		return "-"
	}
	return reason
}

func startText(callStart, t time.Time) string {
	if callStart.IsZero() || t.IsZero() {
		return "-"
	}
	return "+" + fmtDur(t.Sub(callStart))
}

func waitText(a AttemptRecord) string {
	if !a.BudgetAllowed || a.IsHedge || a.RetryIndex == 0 {
		return "-"
	}
	return fmtDur(a.Backoff)
}

func tookText(a AttemptRecord) string {
	if !a.BudgetAllowed || a.StartTime.IsZero() || a.EndTime.IsZero() {
		return "-"
	}
	return fmtDur(a.EndTime.Sub(a.StartTime))
}

func resultText(err error) string {
	if err == nil {
		return "ok"
	}
	return "err=" + err.Error()
}

func errText(err error) string {
	if err == nil {
		return "-"
	}
	return err.Error()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// fmtDur rounds for reading: milliseconds from 1ms up, microseconds below.
func fmtDur(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	if d >= time.Millisecond {
		return d.Round(time.Millisecond).String()
	}
	return d.Round(time.Microsecond).String()
}

// countingWriter counts what WriteTo writes and keeps the first error, so
// that the printing code need not check every call.
type countingWriter struct {
	w   io.Writer
	n   int64
	err error
}

func (c *countingWriter) Write(p []byte) (int, error) {
	if c.err != nil {
		return len(p), nil
	}
	n, err := c.w.Write(p)
	c.n += int64(n)
	c.err = err
	return len(p), nil
}
